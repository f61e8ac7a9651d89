"""Exact-match response cache in Redis for deterministic requests (temperature 0), per caller."""

import hashlib
import json
import logging
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from app.observability import CACHE
from app.providers.base import ChatRequest

log = logging.getLogger("app.cache")


def cacheable(request: ChatRequest) -> bool:
    return request.temperature == 0


class ResponseCache:
    """Entries are keyed by caller, model alias and every generation field, so tenants never share."""

    def __init__(self, redis: Redis, ttl_s: int) -> None:
        self.redis = redis
        self.ttl_s = ttl_s

    @staticmethod
    def key(principal_id: str, alias: str, request: ChatRequest) -> str:
        material = json.dumps([principal_id, alias, request.cache_fields()], sort_keys=True, separators=(",", ":"))
        return "cache:" + hashlib.sha256(material.encode()).hexdigest()

    async def get(self, key: str) -> dict[str, Any] | None:
        try:
            raw = await self.redis.get(key)
        except RedisError as exc:  # a cache outage must not fail the request
            log.warning("cache read failed: %s", exc)
            return None
        CACHE.labels("exact", "hit" if raw else "miss").inc()
        return json.loads(raw) if raw else None

    async def put(self, key: str, value: dict[str, Any]) -> None:
        try:
            await self.redis.set(key, json.dumps(value), ex=self.ttl_s)
        except RedisError as exc:
            log.warning("cache write failed: %s", exc)
