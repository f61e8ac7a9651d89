"""Query embeddings and retrieval results cached in Redis, per caller (seed: "cache embeddings and retrieval results").

Embeddings are keyed by caller, embedding alias and text. Results are keyed by caller and the query
with its options, in one hash per caller and generation: adding or deleting a document bumps the
caller's generation, and a result is written under the generation read before its search, so a
search that raced a change never serves stale results. Keys start with `rag:`. A Redis failure is
a miss.
"""

import hashlib
import json
import logging
from array import array
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from app.observability import CACHE
from app.schemas import RetrievalOptions, Source

log = logging.getLogger("app.retrieval.cache")

# KEYS[1]: the caller's generation counter; ARGV[1]: the results hash prefix; ARGV[2]: the query's field
RESULTS_LUA = """
local generation = redis.call('GET', KEYS[1]) or '0'
return {generation, redis.call('HGET', ARGV[1] .. generation, ARGV[2])}
"""


def digest(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


class RetrievalCache:
    def __init__(self, redis: Redis, ttl_s: int, embedding_alias: str) -> None:
        self.redis = redis
        self.ttl_s = ttl_s
        self.alias = embedding_alias
        self._results: Any = redis.register_script(RESULTS_LUA)

    @staticmethod
    def _generation_key(owner: str) -> str:
        return "rag:gen:" + digest(owner)

    async def _get(self, kind: str, read: Any) -> Any:
        try:
            raw = await read
        except RedisError as exc:
            log.warning("%s cache read failed: %s", kind, exc)
            return None
        hit = raw[1] if isinstance(raw, list) else raw
        CACHE.labels(kind, "hit" if hit else "miss").inc()
        return raw

    async def embedding(self, owner: str, text: str) -> list[float] | None:
        raw = await self._get("embedding", self.redis.get("rag:emb:" + digest(owner, self.alias, text)))
        return array("f", raw).tolist() if raw else None

    async def put_embedding(self, owner: str, text: str, vector: list[float]) -> None:
        try:
            key = "rag:emb:" + digest(owner, self.alias, text)
            await self.redis.set(key, array("f", vector).tobytes(), ex=self.ttl_s)
        except RedisError as exc:
            log.warning("embedding cache write failed: %s", exc)

    async def results(self, owner: str, query: str, options: RetrievalOptions) -> tuple[str, list[Source] | None]:
        """The caller's current generation (to pass to put_results) and the cached sources, if any."""
        prefix, field = "rag:ret:" + digest(owner) + ":", digest(query, options.model_dump())
        found = await self._get("retrieval", self._results(keys=[self._generation_key(owner)], args=[prefix, field]))
        if not found:  # Redis failed: no generation, so nothing is written either
            return "", None
        generation, raw = found
        return generation.decode(), [Source.model_validate(s) for s in json.loads(raw)] if raw else None

    async def put_results(
        self, owner: str, generation: str, query: str, options: RetrievalOptions, sources: list[Source]
    ) -> None:
        if not generation:
            return
        key, field = "rag:ret:" + digest(owner) + ":" + generation, digest(query, options.model_dump())
        value = json.dumps([s.model_dump() for s in sources])
        try:
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.hset(key, field, value)
                pipe.expire(key, self.ttl_s, nx=True)  # the hash lives at most the TTL from its first entry
                await pipe.execute()
        except RedisError as exc:
            log.warning("retrieval cache write failed: %s", exc)

    async def invalidate(self, owner: str) -> None:
        """The caller's documents changed: move to a new generation (old results expire unread)."""
        try:
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.incr(self._generation_key(owner))
                pipe.expire(self._generation_key(owner), max(self.ttl_s * 2, 86_400))
                await pipe.execute()
        except RedisError as exc:
            log.warning("retrieval cache invalidation failed: %s", exc)
