"""Documents and their embeddings in PostgreSQL with pgvector: storage and nearest-neighbour search.

Each caller sees only its own documents. The table and an HNSW cosine index are created at
start-up if missing, sized by APP_EMBEDDING_DIM.
"""

import math
from dataclasses import dataclass
from typing import Any

import asyncpg


def _literal(vector: list[float]) -> str:
    return "[" + ",".join(repr(float(x)) for x in vector) + "]"


@dataclass(slots=True)
class Hit:
    id: int
    text: str
    score: float  # cosine similarity, 1 is identical


class VectorStore:
    def __init__(self, pool: Any, dim: int) -> None:
        self.pool = pool
        self.dim = dim

    @classmethod
    async def connect(cls, dsn: str, dim: int, max_size: int, **connect_args: Any) -> "VectorStore":
        """`connect_args` go to every connection, e.g. a `password` callable asked once per new connection."""
        pool = await asyncpg.create_pool(dsn, min_size=1, max_size=max_size, command_timeout=10, **connect_args)
        store = cls(pool, dim)
        async with pool.acquire() as conn:
            await conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
            await conn.execute(
                f"CREATE TABLE IF NOT EXISTS ai_documents ("
                f" id bigserial PRIMARY KEY, owner text NOT NULL, content text NOT NULL,"
                f" embedding vector({int(dim)}) NOT NULL, created_at timestamptz NOT NULL DEFAULT now())"
            )
            await conn.execute("CREATE INDEX IF NOT EXISTS ai_documents_owner ON ai_documents (owner)")
            await conn.execute(
                "CREATE INDEX IF NOT EXISTS ai_documents_embedding ON ai_documents "
                "USING hnsw (embedding vector_cosine_ops)"
            )
        return store

    def check(self, vectors: list[list[float]]) -> None:
        for vector in vectors:
            if len(vector) != self.dim:
                raise ValueError(
                    f"the embedding model returned {len(vector)} dimensions; APP_EMBEDDING_DIM is {self.dim}"
                )

    async def add(self, owner: str, texts: list[str], vectors: list[list[float]]) -> list[int]:
        self.check(vectors)
        rows = [(owner, text, _literal(v)) for text, v in zip(texts, vectors, strict=True)]
        async with self.pool.acquire() as conn, conn.transaction():
            ids = []
            for row in rows:
                ids.append(
                    await conn.fetchval(
                        "INSERT INTO ai_documents (owner, content, embedding) VALUES ($1, $2, $3::vector) RETURNING id",
                        *row,
                    )
                )
            return ids

    async def search(self, owner: str, vector: list[float], k: int) -> list[Hit]:
        self.check([vector])
        records = await self.pool.fetch(
            "SELECT id, content, 1 - (embedding <=> $2::vector) AS score FROM ai_documents "
            "WHERE owner = $1 ORDER BY embedding <=> $2::vector LIMIT $3",
            owner,
            _literal(vector),
            k,
        )
        # a zero vector has no direction: pgvector gives NaN, which means "no similarity"
        return [Hit(r["id"], r["content"], 0.0 if math.isnan(r["score"]) else float(r["score"])) for r in records]

    async def ping(self) -> None:
        await self.pool.fetchval("SELECT 1")

    async def close(self) -> None:
        await self.pool.close()
