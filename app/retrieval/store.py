"""Documents and their chunks in PostgreSQL with pgvector, each caller's apart.

`rag_documents` holds a document's id, owner and metadata; `rag_chunks` its chunks, each with its
own id (`<document id>:<position>`), text and embedding, and a copy of the document's metadata so
a filter needs no join. Both tables are created at start-up if missing.

Search is exact within the caller's chunks (a btree on owner, then cosine distance): an HNSW index
on a table shared by many callers would return the globally nearest candidates and filter them
afterwards, so a caller could get fewer than k results (pgvector before 0.8 has no iterative scans).
"""

import json
import logging
import math
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import asyncpg
from fastapi import HTTPException

from app.schemas import DocumentInfo, RetrievalOptions, Source

log = logging.getLogger("app.retrieval.store")

SCHEMA = """
CREATE TABLE IF NOT EXISTS rag_documents (
  seq bigserial PRIMARY KEY,
  id text NOT NULL UNIQUE,
  owner text NOT NULL,
  metadata jsonb NOT NULL,
  chunks integer NOT NULL,
  chars integer NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS rag_documents_owner ON rag_documents (owner, seq);
CREATE TABLE IF NOT EXISTS rag_chunks (
  id text PRIMARY KEY,
  document_id text NOT NULL REFERENCES rag_documents (id) ON DELETE CASCADE,
  owner text NOT NULL,
  position integer NOT NULL,
  content text NOT NULL,
  metadata jsonb NOT NULL,
  embedding vector({dim}) NOT NULL
);
CREATE INDEX IF NOT EXISTS rag_chunks_owner ON rag_chunks (owner);
CREATE INDEX IF NOT EXISTS rag_chunks_document ON rag_chunks (document_id);
"""


@contextmanager
def database_errors() -> Iterator[None]:
    """A dimension mismatch is the embedding model's fault (502); a database failure is a 503."""
    try:
        yield
    except ValueError as exc:
        raise HTTPException(502, str(exc)) from None
    except (asyncpg.PostgresError, OSError) as exc:
        log.error("vector DB failed: %s", exc)
        raise HTTPException(503, "the vector DB is unavailable", headers={"retry-after": "1"}) from None


def vector_literal(vector: list[float]) -> str:
    return "[" + ",".join(repr(float(x)) for x in vector) + "]"


def similarity(value: float) -> float:
    """A zero vector has no direction: pgvector gives NaN, which means "no similarity"."""
    return 0.0 if math.isnan(value) else float(value)


async def column_dim(conn: Any, table: str) -> int | None:
    """The declared dimension of `table`.embedding, or None when the table does not exist."""
    return await conn.fetchval(
        "SELECT atttypmod FROM pg_attribute WHERE attrelid = to_regclass($1) AND attname = 'embedding'", table
    )


async def check_dim(conn: Any, table: str, dim: int) -> None:
    """Fail at start-up, naming the setting, when an existing table was made for another dimension."""
    found = await column_dim(conn, table)
    if found is not None and found != dim:
        raise ValueError(
            f"table {table} stores {found}-dimensional embeddings but APP_EMBEDDING_DIM is {dim}: "
            f"set APP_EMBEDDING_DIM={found} or migrate the table"
        )


class DocumentStore:
    def __init__(self, pool: Any, dim: int) -> None:
        self.pool = pool
        self.dim = dim

    @classmethod
    async def connect(cls, dsn: str, dim: int, max_size: int, **connect_args: Any) -> "DocumentStore":
        """`connect_args` go to every connection, e.g. a `password` callable asked once per new connection."""
        pool = await asyncpg.create_pool(dsn, min_size=1, max_size=max_size, command_timeout=10, **connect_args)
        try:
            async with pool.acquire() as conn:
                await conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
                await check_dim(conn, "rag_chunks", dim)
                await conn.execute(SCHEMA.format(dim=int(dim)))
        except BaseException:
            await pool.close()
            raise
        return cls(pool, dim)

    def check(self, vectors: list[list[float]]) -> None:
        for vector in vectors:
            if len(vector) != self.dim:
                raise ValueError(
                    f"the embedding model returned {len(vector)} dimensions; APP_EMBEDDING_DIM is {self.dim}"
                )

    async def add(
        self, owner: str, documents: list[tuple[dict[str, Any], int, list[str]]], vectors: list[list[float]]
    ) -> list[tuple[str, list[str]]]:
        """Store (metadata, characters, chunks) documents with their chunks' vectors, in one transaction."""
        self.check(vectors)
        added: list[tuple[str, list[str]]] = []
        chunk_rows: list[tuple[Any, ...]] = []
        document_rows: list[tuple[Any, ...]] = []
        position = 0
        for metadata, chars, chunks in documents:
            document_id = uuid.uuid4().hex
            meta = json.dumps(metadata)
            document_rows.append((document_id, owner, meta, len(chunks), chars))
            ids = [f"{document_id}:{n}" for n in range(len(chunks))]
            for n, (chunk_id, text) in enumerate(zip(ids, chunks, strict=True)):
                chunk_rows.append((chunk_id, document_id, owner, n, text, meta, vector_literal(vectors[position])))
                position += 1
            added.append((document_id, ids))
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.executemany(
                "INSERT INTO rag_documents (id, owner, metadata, chunks, chars) VALUES ($1, $2, $3::jsonb, $4, $5)",
                document_rows,
            )
            await conn.executemany(
                "INSERT INTO rag_chunks (id, document_id, owner, position, content, metadata, embedding) "
                "VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7::vector)",
                chunk_rows,
            )
        return added

    async def search(self, owner: str, vector: list[float], options: RetrievalOptions) -> list[Source]:
        """The caller's k nearest chunks with at least `min_score` cosine similarity, matching the filter."""
        self.check([vector])
        records = await self.pool.fetch(
            "SELECT id, document_id, content, metadata, 1 - (embedding <=> $2::vector) AS score FROM rag_chunks "
            "WHERE owner = $1 AND metadata @> $3::jsonb ORDER BY embedding <=> $2::vector LIMIT $4",
            owner,
            vector_literal(vector),
            json.dumps(options.filter),
            options.k,
        )
        sources = [
            Source(
                id=r["id"],
                document_id=r["document_id"],
                score=similarity(r["score"]),
                text=r["content"],
                metadata=json.loads(r["metadata"]),
            )
            for r in records
        ]
        return [s for s in sources if s.score >= options.min_score]

    async def page(self, owner: str, limit: int, cursor: int) -> tuple[list[DocumentInfo], int | None]:
        """One page of the caller's documents, oldest first; the cursor for the next page or None."""
        records = await self.pool.fetch(
            "SELECT seq, id, metadata, chunks, chars, created_at FROM rag_documents "
            "WHERE owner = $1 AND seq > $2 ORDER BY seq LIMIT $3",
            owner,
            cursor,
            limit + 1,
        )
        page = [
            DocumentInfo(
                id=r["id"],
                metadata=json.loads(r["metadata"]),
                chunks=r["chunks"],
                chars=r["chars"],
                created_at=r["created_at"],
            )
            for r in records[:limit]
        ]
        return page, records[limit - 1]["seq"] if len(records) > limit else None

    async def delete(self, owner: str, document_id: str) -> bool:
        """Delete the caller's document and its chunks; False when the caller has no such document."""
        deleted = await self.pool.fetchval(
            "DELETE FROM rag_documents WHERE owner = $1 AND id = $2 RETURNING id", owner, document_id
        )
        return deleted is not None

    async def ping(self) -> None:
        await self.pool.fetchval("SELECT 1")

    async def close(self) -> None:
        await self.pool.close()
