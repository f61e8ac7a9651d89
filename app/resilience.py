"""Retries with backoff, a circuit breaker per target, and fallback across targets (streaming included)."""

import asyncio
import logging
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

from app.observability import FALLBACKS, UPSTREAM_ERRORS, UPSTREAM_LATENCY, tracer
from app.providers.base import ChatRequest, Completion, Delta, ProviderError
from app.routing import Target
from app.settings import Settings

log = logging.getLogger("app.resilience")

T = TypeVar("T")
Operation = Callable[[Target, float], Awaitable[T]]


@dataclass(slots=True)
class AllTargetsFailed(Exception):
    errors: list[ProviderError] = field(default_factory=list)
    all_open: bool = False
    deadline: bool = False

    def __str__(self) -> str:
        if self.all_open and not self.errors:
            return "every upstream target has an open circuit"
        return "; ".join(str(e) for e in self.errors[-3:]) or "no upstream target answered"


@dataclass(slots=True)
class StreamStart:
    """A stream whose first piece arrived: from here on the target is committed."""

    target: "Target"
    first: Delta
    rest: AsyncIterator[Delta]
    started: float


class Executor:
    """Runs a request against ordered targets with retries, deadlines and circuit breakers."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def backoff(self, attempt: int, retry_after: float | None) -> float:
        """Full-jitter exponential backoff, never shorter than the upstream's Retry-After."""
        cap = min(self.settings.backoff_max_s, self.settings.backoff_base_s * (2**attempt))
        delay = random.uniform(0, cap)  # noqa: S311 - jitter, not cryptography
        return max(delay, retry_after or 0.0)

    async def _run(self, targets: list["Target"], operation: str, call: Operation[T]) -> tuple["Target", T]:
        """Try `call` on each target in order, retrying and falling back by the policy in app/README.md."""
        deadline = time.monotonic() + self.settings.request_timeout_s
        errors: list[ProviderError] = []
        tried = False
        for index, target in enumerate(targets):
            last = index == len(targets) - 1
            for attempt in range(self.settings.max_retries + 1):
                if not target.breaker.allow():
                    FALLBACKS.labels(target.provider.name, target.model, "circuit_open").inc()
                    break
                tried = True
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AllTargetsFailed(errors, deadline=True)
                try:
                    result = await self._attempt(target, operation, call, remaining, attempt)
                except ProviderError as error:
                    errors.append(error)
                    if error.client_error:
                        target.breaker.success()  # the upstream is healthy; the request is not
                        raise
                    target.breaker.failure()
                    delay = self.backoff(attempt, error.retry_after)
                    can_retry = error.retryable and attempt < self.settings.max_retries
                    too_long = delay > self.settings.max_retry_wait_s or time.monotonic() + delay >= deadline
                    if not can_retry or too_long:
                        if not last:
                            FALLBACKS.labels(target.provider.name, target.model, error.kind).inc()
                        break
                    await asyncio.sleep(delay)
                    continue
                except BaseException:  # cancelled (client gone) or a bug: no verdict on the target
                    target.breaker.release()
                    raise
                target.breaker.success()
                return target, result
        raise AllTargetsFailed(errors, all_open=not tried)

    async def _attempt(self, target: "Target", operation: str, call: Operation[T], remaining: float, attempt: int) -> T:
        """One upstream call under the remaining deadline, as its own span."""
        provider, model = target.provider, target.model
        started = time.perf_counter()
        with tracer.start_as_current_span(
            f"upstream {provider.name}",
            attributes={
                "llm.provider": provider.name,
                "llm.model": model,
                "llm.attempt": attempt,
                "llm.operation": operation,
            },
        ) as span:
            try:
                async with asyncio.timeout(remaining):
                    result = await call(target, started)
            except TimeoutError:
                error = ProviderError(provider.name, "timeout", f"no answer within the {remaining:.1f}s left")
                self._record_error(target, span, error, started)
                raise error from None
            except ProviderError as error:
                self._record_error(target, span, error, started)
                raise
            UPSTREAM_LATENCY.labels(provider.name, model, "ok").observe(time.perf_counter() - started)
            return result

    @staticmethod
    def _record_error(target: "Target", span: object, error: ProviderError, started: float) -> None:
        UPSTREAM_LATENCY.labels(target.provider.name, target.model, "error").observe(time.perf_counter() - started)
        UPSTREAM_ERRORS.labels(target.provider.name, target.model, error.kind).inc()
        record = getattr(span, "set_attribute", None)
        if record is not None:
            record("error.type", error.kind)
        log.warning("upstream %s/%s failed: %s", target.provider.name, target.model, error)

    async def complete(self, targets: list["Target"], request: ChatRequest) -> tuple["Target", Completion]:
        async def call(target: "Target", _started: float) -> Completion:
            return await target.provider.complete(request, target.model)

        return await self._run(targets, "chat", call)

    async def open_stream(self, targets: list["Target"], request: ChatRequest) -> StreamStart:
        """Fallback happens here, before the first byte goes to the client."""

        async def call(target: "Target", started: float) -> StreamStart:
            iterator = aiter(target.provider.stream(request, target.model))
            try:
                first = await anext(iterator)
            except StopAsyncIteration:
                raise ProviderError(target.provider.name, "stream", "stream ended before any data") from None
            except BaseException:
                await _close(iterator)
                raise
            return StreamStart(target, first, iterator, started)

        return (await self._run(targets, "chat_stream", call))[1]

    async def embed(self, targets: list["Target"], texts: list[str]) -> tuple["Target", list[list[float]]]:
        async def call(target: "Target", _started: float) -> list[list[float]]:
            return await target.provider.embed(texts, target.model)

        return await self._run(targets, "embeddings", call)


async def _close(iterator: AsyncIterator[Delta]) -> None:
    aclose = getattr(iterator, "aclose", None)
    if aclose is not None:
        await aclose()
