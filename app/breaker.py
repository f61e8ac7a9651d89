"""The circuit breaker of one upstream target: below routing (which gives each target one) and
resilience (which consults it), so neither imports the other."""

import logging
import time

from app.observability import CIRCUIT_STATE

log = logging.getLogger("app.resilience")

CLOSED, HALF_OPEN, OPEN = 0, 1, 2


class CircuitBreaker:
    """Opens after `threshold` consecutive failures; after `reset_s` lets one probe through (half-open)."""

    def __init__(self, provider: str, model: str, threshold: int, reset_s: float) -> None:
        self.provider, self.model = provider, model
        self.threshold, self.reset_s = threshold, reset_s
        self.failures = 0
        self.state = CLOSED
        self.opened_at = 0.0
        self.probing = False
        self._gauge = CIRCUIT_STATE.labels(provider, model)
        self._gauge.set(CLOSED)

    def _set(self, state: int) -> None:
        if state != self.state:
            log.warning("circuit %s/%s: %s", self.provider, self.model, ("closed", "half-open", "open")[state])
        self.state = state
        self._gauge.set(state)

    def allow(self) -> bool:
        if self.state == CLOSED:
            return True
        if self.state == OPEN and time.monotonic() - self.opened_at >= self.reset_s:
            self._set(HALF_OPEN)
        if self.state == HALF_OPEN and not self.probing:
            self.probing = True
            return True
        return False

    def success(self) -> None:
        self.failures = 0
        self.probing = False
        self._set(CLOSED)

    def failure(self) -> None:
        self.failures += 1
        self.probing = False
        if self.state == HALF_OPEN or self.failures >= self.threshold:
            self.opened_at = time.monotonic()
            self._set(OPEN)

    def release(self) -> None:
        """A probe that ended without a verdict (e.g. the client went away) frees the slot."""
        self.probing = False
