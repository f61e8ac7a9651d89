"""The semantic response cache in pgvector, behind the exact cache: a paraphrased question gets the stored answer.

An entry belongs to one caller and one model alias and is found only by them. Only the last user
message (the question) is compared by meaning; everything else (earlier messages, retrieved
sources, generation fields) must match exactly, through a hash, so a question asked in another
conversation or with other parameters never hits. Only deterministic requests (temperature 0) are
cached unless APP_SEMANTIC_CACHE_ANY_TEMPERATURE is set. Entries expire after a TTL and each caller keeps
at most a bounded number (oldest dropped first). Questions longer than a bound are not cached,
because small embedding models read only their first few hundred tokens.
"""

import hashlib
import json
import logging
from dataclasses import dataclass
from typing import Any

from app.cache import cacheable
from app.observability import CACHE
from app.providers.base import ChatRequest
from app.retrieval.store import check_dim, similarity, vector_literal
from app.settings import Settings

log = logging.getLogger("app.retrieval.semantic_cache")

SCHEMA = """
CREATE TABLE IF NOT EXISTS rag_semantic_cache (
  id bigserial PRIMARY KEY,
  owner text NOT NULL,
  alias text NOT NULL,
  context text NOT NULL,
  embedding vector({dim}) NOT NULL,
  answer jsonb NOT NULL,
  expires_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS rag_semantic_cache_key ON rag_semantic_cache (owner, alias, context);
CREATE INDEX IF NOT EXISTS rag_semantic_cache_owner ON rag_semantic_cache (owner, id);
"""


@dataclass(slots=True)
class Probe:
    """What a request is looked up and stored by: its question, the hash of the rest, the question's vector."""

    question: str
    context: str
    vector: list[float] | None = None


class SemanticCache:
    def __init__(self, pool: Any, dim: int, settings: Settings) -> None:
        self.pool = pool
        self.dim = dim
        self.threshold = settings.semantic_cache_threshold
        self.ttl_s = settings.semantic_cache_ttl_s
        self.max_entries = settings.semantic_cache_max_entries
        self.max_chars = settings.semantic_cache_max_chars
        self.any_temperature = settings.semantic_cache_any_temperature

    def probe(self, request: ChatRequest) -> Probe | None:
        """The request's question and context, or None when it is not cached by meaning."""
        if not (self.any_temperature or cacheable(request)):
            return None
        if not request.messages or request.messages[-1]["role"] != "user":
            return None
        question = request.messages[-1]["content"]
        if not question.strip() or len(question) > self.max_chars:
            return None
        fields = request.cache_fields()
        fields["messages"] = request.messages[:-1]
        material = json.dumps(fields, sort_keys=True, separators=(",", ":"))
        return Probe(question, hashlib.sha256(material.encode()).hexdigest())

    async def create(self) -> None:
        async with self.pool.acquire() as conn:
            await check_dim(conn, "rag_semantic_cache", self.dim)
            await conn.execute(SCHEMA.format(dim=int(self.dim)))

    async def get(self, owner: str, alias: str, key: Probe) -> dict[str, Any] | None:
        """The stored answer of the nearest live entry with the same caller, alias and context, if near enough."""
        assert key.vector is not None
        row = await self.pool.fetchrow(
            "SELECT answer, 1 - (embedding <=> $4::vector) AS score FROM rag_semantic_cache "
            "WHERE owner = $1 AND alias = $2 AND context = $3 AND expires_at > now() "
            "ORDER BY embedding <=> $4::vector LIMIT 1",
            owner,
            alias,
            key.context,
            vector_literal(key.vector),
        )
        hit = row is not None and similarity(row["score"]) >= self.threshold
        CACHE.labels("semantic", "hit" if hit else "miss").inc()
        return json.loads(row["answer"]) if hit and row is not None else None

    async def put(self, owner: str, alias: str, key: Probe, answer: dict[str, Any]) -> None:
        """Store an answer, then drop the caller's expired entries and any beyond the size bound."""
        assert key.vector is not None
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute(
                "INSERT INTO rag_semantic_cache (owner, alias, context, embedding, answer, expires_at) "
                "VALUES ($1, $2, $3, $4::vector, $5::jsonb, now() + make_interval(secs => $6))",
                owner,
                alias,
                key.context,
                vector_literal(key.vector),
                json.dumps(answer),
                float(self.ttl_s),
            )
            await conn.execute(
                "DELETE FROM rag_semantic_cache WHERE owner = $1 AND (expires_at <= now() OR id <= "
                "(SELECT id FROM rag_semantic_cache WHERE owner = $1 ORDER BY id DESC OFFSET $2 LIMIT 1))",
                owner,
                self.max_entries,
            )
