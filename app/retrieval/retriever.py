"""Retrieval for one caller: ingest (chunk, embed, store), list, delete, and retrieve with the caches.

Embedding is passed in as a function, so the gateway keeps the limits, fallback and accounting
of every upstream call; this module never talks to a provider itself.
"""

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi.exceptions import RequestValidationError

from app.providers.base import ChatRequest
from app.retrieval.cache import RetrievalCache
from app.retrieval.chunking import chunk
from app.retrieval.semantic_cache import SemanticCache
from app.retrieval.store import DocumentStore
from app.schemas import DocumentIn, DocumentInfo, RetrievalOptions, Source

log = logging.getLogger("app.retrieval")

Embed = Callable[[list[str]], Awaitable[list[list[float]]]]
Prepared = list[tuple[dict[str, Any], int, list[str]]]  # per document: metadata, characters, chunks

CONTEXT_PROMPT = (
    "Answer from the numbered sources below when they are relevant and cite them by number, e.g. [1]. "
    "If they do not hold the answer, say so.\n\n"
)


def context_message(sources: list[Source]) -> dict[str, str]:
    """The system message that puts the retrieved chunks in front of the conversation."""
    listed = "\n\n".join(f"[{n}] {source.text}" for n, source in enumerate(sources, start=1))
    return {"role": "system", "content": CONTEXT_PROMPT + listed}


def question(request: ChatRequest) -> str | None:
    """The text to retrieve for: the last non-empty user message, if there is one."""
    for message in reversed(request.messages):
        if message["role"] == "user" and message["content"].strip():
            return message["content"]
    return None


class Retriever:
    def __init__(
        self,
        store: DocumentStore,
        chunk_size: int,
        chunk_overlap: int,
        max_chunks: int,
        cache: RetrievalCache | None = None,
        semantic: SemanticCache | None = None,
    ) -> None:
        self.store = store
        self.chunk_size, self.chunk_overlap, self.max_chunks = chunk_size, chunk_overlap, max_chunks
        self.cache = cache
        self.semantic = semantic

    def prepare(self, documents: list[DocumentIn]) -> Prepared:
        """Chunk the documents; too many chunks for one request is a 422 naming `documents`."""
        prepared = [(d.metadata, len(d.text), chunk(d.text, self.chunk_size, self.chunk_overlap)) for d in documents]
        total = sum(len(chunks) for _, _, chunks in prepared)
        if total > self.max_chunks:
            raise RequestValidationError(
                [
                    {
                        "type": "value_error",
                        "loc": ("body", "documents"),
                        "msg": f"the documents make {total} chunks of up to {self.chunk_size} characters; at most "
                        f"{self.max_chunks} are allowed per request (APP_MAX_CHUNKS_PER_REQUEST): send fewer",
                        "input": None,
                    }
                ]
            )
        return prepared

    async def add(self, owner: str, prepared: Prepared, vectors: list[list[float]]) -> list[tuple[str, list[str]]]:
        added = await self.store.add(owner, prepared, vectors)
        if self.cache is not None:
            await self.cache.invalidate(owner)
        return added

    async def delete(self, owner: str, document_id: str) -> bool:
        deleted = await self.store.delete(owner, document_id)
        if deleted and self.cache is not None:
            await self.cache.invalidate(owner)
        return deleted

    async def page(self, owner: str, limit: int, cursor: int) -> tuple[list[DocumentInfo], int | None]:
        return await self.store.page(owner, limit, cursor)

    async def vector(self, owner: str, text: str, embed: Embed) -> list[float]:
        """One query's embedding, from the cache when it was embedded recently."""
        if self.cache is not None:
            cached = await self.cache.embedding(owner, text)
            if cached is not None:
                return cached
        (vector,) = await embed([text])
        if self.cache is not None:
            await self.cache.put_embedding(owner, text, vector)
        return vector

    async def retrieve(self, owner: str, query: str, options: RetrievalOptions, embed: Embed) -> list[Source]:
        generation = ""
        if self.cache is not None:
            generation, cached = await self.cache.results(owner, query, options)
            if cached is not None:
                return cached
        sources = await self.store.search(owner, await self.vector(owner, query, embed), options)
        if self.cache is not None:
            await self.cache.put_results(owner, generation, query, options, sources)
        return sources
