"""One request's path through the gateway: route, admit (limits), cache, call with fallback, account.

The HTTP routes only translate bodies; everything they share lives here.
"""

import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import anyio
from fastapi import HTTPException
from fastapi.exceptions import RequestValidationError
from redis.exceptions import RedisError

from app.auth import Principal
from app.cache import ResponseCache, cacheable
from app.limits import Decision, Limiter
from app.observability import COST, TOKENS
from app.providers.base import ChatRequest, Delta, ProviderError, Usage, estimate_tokens
from app.resilience import AllTargetsFailed, Executor, StreamStart
from app.routing import Router, Target, UnknownModel

log = logging.getLogger("app.service")


@dataclass(slots=True)
class Call:
    """An admitted request: where it may go and what it reserved."""

    principal: Principal
    alias: str
    targets: list[Target]
    request: ChatRequest
    decision: Decision
    cache_key: str | None = None


@dataclass(slots=True)
class Result:
    text: str
    finish_reason: str
    usage: Usage
    provider: str
    model: str
    cached: bool = False


class StreamBroken(Exception):
    """The upstream failed after the first byte went out: end with an error event, never [DONE]."""


class Gateway:
    def __init__(
        self,
        router: Router,
        executor: Executor,
        limiter: Limiter,
        cache: ResponseCache | None,
        embedding_model: str | None = None,
    ) -> None:
        self.router = router
        self.executor = executor
        self.limiter = limiter
        self.cache = cache
        self.embedding_model = embedding_model

    async def embed(self, principal: Principal, ip: str, texts: list[str]) -> list[list[float]]:
        """Embeddings with the same limits, fallback and accounting as chat (usage estimated)."""
        request = ChatRequest([{"role": "user", "content": t} for t in texts], max_tokens=1)
        call = await self.admit(principal, ip, self.embedding_model, request, "model")
        try:
            target, vectors = await self.executor.embed(call.targets, texts)
        except (AllTargetsFailed, ProviderError) as exc:
            await self._account(call, None, Usage())
            raise upstream_http_error(exc) from None
        await self._account(call, target, Usage(estimate_tokens(request.prompt_chars()), 0))
        return vectors

    async def admit(self, principal: Principal, ip: str, model: str | None, request: ChatRequest, field: str) -> Call:
        try:
            alias, targets = self.router.resolve(model, request)
        except UnknownModel as exc:
            raise RequestValidationError(
                [
                    {
                        "type": "value_error",
                        "loc": ("body", field),
                        "msg": f"unknown model {exc.model!r}; allowed: {', '.join(exc.known) or 'none configured'}",
                        "input": model,
                    }
                ]
            ) from None
        reserve = estimate_tokens(request.prompt_chars()) + (request.max_tokens or 256)
        key_id = principal.id if principal.kind != "anonymous" else None
        try:
            decision = await self.limiter.admit(key_id, ip, reserve)
        except RedisError as exc:
            log.error("rate limiter unavailable: %s", exc)
            raise HTTPException(503, "rate limiter unavailable", headers={"retry-after": "1"}) from None
        if not decision.allowed:
            raise HTTPException(429, f"rate limit exceeded: {decision.failed}", headers=decision.headers())
        call = Call(principal, alias, targets, request, decision)
        if self.cache is not None and cacheable(request):
            call.cache_key = self.cache.key(principal.id, alias, request)
        return call

    async def _account(self, call: Call, target: Target | None, usage: Usage) -> None:
        cost = 0.0
        if target is not None:
            name, model = target.provider.name, target.model
            TOKENS.labels(name, model, "in").inc(usage.prompt_tokens)
            TOKENS.labels(name, model, "out").inc(usage.completion_tokens)
            cost = self.router.cost(model, usage.prompt_tokens, usage.completion_tokens)
            if cost:
                COST.labels(name, model).inc(cost)
        try:
            await self.limiter.settle(call.decision, usage.total_tokens, cost)
        except RedisError as exc:
            log.error("could not settle usage: %s", exc)

    async def complete(self, call: Call) -> Result:
        if self.cache is not None and call.cache_key is not None:
            hit = await self.cache.get(call.cache_key)
            if hit is not None:
                await self._account(call, None, Usage())
                return Result(
                    hit["text"], hit["finish_reason"], Usage(**hit["usage"]), hit["provider"], hit["model"], True
                )
        try:
            target, completion = await self.executor.complete(call.targets, call.request)
        except (AllTargetsFailed, ProviderError) as exc:
            await self._account(call, None, Usage())
            raise upstream_http_error(exc) from None
        usage = completion.usage or Usage(
            estimate_tokens(call.request.prompt_chars()), estimate_tokens(len(completion.text))
        )
        await self._account(call, target, usage)
        result = Result(completion.text, completion.finish_reason, usage, target.provider.name, target.model)
        if self.cache is not None and call.cache_key is not None:
            await self.cache.put(
                call.cache_key,
                {
                    "text": result.text,
                    "finish_reason": result.finish_reason,
                    "provider": result.provider,
                    "model": result.model,
                    "usage": {"prompt_tokens": usage.prompt_tokens, "completion_tokens": usage.completion_tokens},
                },
            )
        return result

    async def open_stream(self, call: Call) -> StreamStart:
        """Every fallback happens here; an error raised here is still an ordinary HTTP error."""
        try:
            return await self.executor.open_stream(call.targets, call.request)
        except (AllTargetsFailed, ProviderError) as exc:
            await self._account(call, None, Usage())
            raise upstream_http_error(exc) from None

    async def deltas(self, call: Call, start: StreamStart) -> AsyncIterator[Delta]:
        """Yield the committed stream; account real (or estimated) usage however it ends."""
        target, chars, usage = start.target, 0, None
        try:
            delta = start.first
            while True:
                chars += len(delta.text)
                usage = delta.usage or usage
                yield delta
                try:
                    delta = await anext(start.rest)
                except StopAsyncIteration:
                    break
                except ProviderError as exc:
                    target.breaker.failure()
                    log.warning(
                        "stream from %s/%s broke after the first byte: %s", target.provider.name, target.model, exc
                    )
                    raise StreamBroken(str(exc)) from None
        finally:
            # shielded: when the client goes away the stream is cancelled, yet the upstream
            # connection must still be released and the usage seen so far accounted
            with anyio.CancelScope(shield=True):
                aclose = getattr(start.rest, "aclose", None)
                if aclose is not None:
                    await aclose()
                if usage is None:
                    usage = Usage(estimate_tokens(call.request.prompt_chars()), estimate_tokens(chars))
                await self._account(call, target, usage)


def upstream_http_error(exc: AllTargetsFailed | ProviderError) -> HTTPException:
    """400 for a request the upstream rejected; 503 when circuits are open or rate-limited; 504, else 502."""
    if isinstance(exc, ProviderError):
        return HTTPException(400, f"upstream rejected the request: {exc.message}")
    if exc.deadline:
        return HTTPException(504, f"no upstream answered within the request timeout: {exc}")
    limited = [e.retry_after for e in exc.errors if e.kind == "status_429"]
    if exc.all_open or (exc.errors and exc.errors[-1].kind == "status_429"):
        wait = max(1, int(min([w for w in limited if w is not None] or [5])))
        return HTTPException(503, f"upstream unavailable: {exc}", headers={"retry-after": str(wait)})
    return HTTPException(502, f"upstream failed: {exc}")


def now() -> int:
    return int(time.time())
