"""One request's path through the gateway: route, admit (limits), cache, call with fallback, account.

The HTTP routes only translate bodies; everything they share lives here.
"""

import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import anyio
import asyncpg
from fastapi import HTTPException
from fastapi.exceptions import RequestValidationError
from redis.exceptions import RedisError

from app.auth import Principal
from app.cache import ResponseCache, cacheable
from app.limits import Decision, Limiter
from app.observability import COST, TOKENS
from app.providers.base import ChatRequest, Delta, ProviderError, Usage, estimate_tokens
from app.resilience import AllTargetsFailed, Executor, StreamStart
from app.retrieval.retriever import Retriever, context_message, question
from app.retrieval.semantic_cache import Probe
from app.retrieval.store import database_errors
from app.routing import Router, Target, UnknownModel
from app.schemas import RetrievalOptions, Source

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
    embedding_tokens: int = 0  # embeddings made for this call (retrieval, semantic cache), settled with it
    embedding_cost: float = 0.0
    semantic: Probe | None = None


@dataclass(slots=True)
class Result:
    text: str
    finish_reason: str
    usage: Usage
    provider: str
    model: str
    cached: bool = False
    cache_kind: str | None = None  # "exact" or "semantic" when cached


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
        retriever: Retriever | None = None,
    ) -> None:
        self.router = router
        self.executor = executor
        self.limiter = limiter
        self.cache = cache
        self.embedding_model = embedding_model
        self.retriever = retriever

    async def embed(self, principal: Principal, ip: str, texts: list[str]) -> list[list[float]]:
        """Embeddings with the same limits, fallback and accounting as chat (usage estimated)."""
        request = ChatRequest([{"role": "user", "content": t} for t in texts], max_tokens=1)
        call = await self.admit(principal, ip, self.embedding_model, request, "model")
        try:
            vectors = await self.embed_within(call, texts)
        except (AllTargetsFailed, ProviderError) as exc:
            await self._account(call, None, Usage())
            raise upstream_http_error(exc) from None
        await self._account(call, None, Usage())
        return vectors

    async def embed_within(self, call: Call, texts: list[str]) -> list[list[float]]:
        """Embed for an admitted call: metered now, settled with the call (usage estimated)."""
        assert self.embedding_model is not None
        target, vectors = await self.executor.embed(self.router.routes[self.embedding_model], texts)
        usage = Usage(estimate_tokens(sum(len(t) for t in texts)), 0)
        call.embedding_tokens += usage.total_tokens
        call.embedding_cost += self._meter(target, usage)
        return vectors

    async def retrieve(self, call: Call, options: RetrievalOptions, field: str) -> list[Source]:
        """Find the caller's chunks for the question and put them in front of the request, as a system message."""
        if self.retriever is None:
            raise RequestValidationError(
                [
                    {
                        "type": "value_error",
                        "loc": ("body", field),
                        "msg": "retrieval needs the vector DB, which is not configured (APP_DATABASE_URL)",
                        "input": options.model_dump(),
                    }
                ]
            )
        query = question(call.request)
        if query is None:
            return []  # nothing asked, nothing to look up
        try:
            with database_errors():
                sources = await self.retriever.retrieve(
                    call.principal.id, query, options, lambda texts: self.embed_within(call, texts)
                )
        except (AllTargetsFailed, ProviderError) as exc:
            await self._account(call, None, Usage())
            raise upstream_http_error(exc) from None
        except HTTPException:
            await self._account(call, None, Usage())
            raise
        if sources:
            call.request.messages.insert(0, context_message(sources))
            if call.cache_key is not None and self.cache is not None:
                call.cache_key = self.cache.key(call.principal.id, call.alias, call.request)
        return sources

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

    def _meter(self, target: Target, usage: Usage) -> float:
        """Count a target's tokens and cost in the metrics; return the cost."""
        name, model = target.provider.name, target.model
        TOKENS.labels(name, model, "in").inc(usage.prompt_tokens)
        TOKENS.labels(name, model, "out").inc(usage.completion_tokens)
        cost = self.router.cost(model, usage.prompt_tokens, usage.completion_tokens)
        if cost:
            COST.labels(name, model).inc(cost)
        return cost

    async def _account(self, call: Call, target: Target | None, usage: Usage) -> None:
        cost = call.embedding_cost + (self._meter(target, usage) if target is not None else 0.0)
        try:
            await self.limiter.settle(call.decision, usage.total_tokens + call.embedding_tokens, cost)
        except RedisError as exc:
            log.error("could not settle usage: %s", exc)

    async def complete(self, call: Call) -> Result:
        # the exact cache first, then the semantic one; a hit of either is accounted the same way
        kind, hit = "exact", None
        if self.cache is not None and call.cache_key is not None:
            hit = await self.cache.get(call.cache_key)
        if hit is None:
            kind, hit = "semantic", await self._semantic_get(call)
        if hit is not None:
            await self._account(call, None, Usage())
            usage = Usage(**hit["usage"])
            return Result(hit["text"], hit["finish_reason"], usage, hit["provider"], hit["model"], True, kind)
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
        answer = {
            "text": result.text,
            "finish_reason": result.finish_reason,
            "provider": result.provider,
            "model": result.model,
            "usage": {"prompt_tokens": usage.prompt_tokens, "completion_tokens": usage.completion_tokens},
        }
        if self.cache is not None and call.cache_key is not None:
            await self.cache.put(call.cache_key, answer)
        await self._semantic_put(call, answer)
        return result

    async def _semantic_get(self, call: Call) -> dict[str, Any] | None:
        """The semantic cache's answer, after an exact miss; any failure of the cache is a miss."""
        semantic = self.retriever.semantic if self.retriever is not None else None
        call.semantic = semantic.probe(call.request) if semantic is not None else None
        if semantic is None or call.semantic is None:
            return None
        assert self.retriever is not None
        try:
            call.semantic.vector = await self.retriever.vector(
                call.principal.id, call.semantic.question, lambda texts: self.embed_within(call, texts)
            )
            return await semantic.get(call.principal.id, call.alias, call.semantic)
        except (AllTargetsFailed, ProviderError, ValueError, asyncpg.PostgresError, OSError) as exc:
            log.warning("semantic cache lookup failed: %s", exc)
            call.semantic = None
            return None

    async def _semantic_put(self, call: Call, answer: dict[str, Any]) -> None:
        if self.retriever is None or self.retriever.semantic is None or call.semantic is None:
            return
        try:
            await self.retriever.semantic.put(call.principal.id, call.alias, call.semantic, answer)
        except (ValueError, asyncpg.PostgresError, OSError) as exc:
            log.warning("semantic cache write failed: %s", exc)

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
