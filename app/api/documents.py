"""POST /v1/documents and POST /v1/search: each caller's documents in the vector DB (only when configured)."""

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import asyncpg
from fastapi import APIRouter, HTTPException, Request

from app.api.deps import ERROR_RESPONSES, ClientIP, GatewayDep, PrincipalDep
from app.schemas import DocumentsRequest, DocumentsResponse, SearchHit, SearchRequest, SearchResponse
from app.vectors import VectorStore

router = APIRouter(prefix="/v1", tags=["documents"])
log = logging.getLogger("app.documents")


def _store(request: Request) -> VectorStore:
    return request.app.state.vectors


@contextmanager
def _database_errors() -> Iterator[None]:
    """A dimension mismatch is the embedding model's fault (502); a database failure is a 503."""
    try:
        yield
    except ValueError as exc:
        raise HTTPException(502, str(exc)) from None
    except (asyncpg.PostgresError, OSError) as exc:
        log.error("vector DB failed: %s", exc)
        raise HTTPException(503, "the vector DB is unavailable", headers={"retry-after": "1"}) from None


@router.post("/documents", response_model=DocumentsResponse, responses=ERROR_RESPONSES)
async def add_documents(
    body: DocumentsRequest, request: Request, gw: GatewayDep, who: PrincipalDep, ip: ClientIP
) -> DocumentsResponse:
    """Embed and store texts; only the same caller can search them."""
    vectors = await gw.embed(who, ip, body.texts)
    with _database_errors():
        ids = await _store(request).add(who.id, body.texts, vectors)
    return DocumentsResponse(ids=ids)


@router.post("/search", response_model=SearchResponse, responses=ERROR_RESPONSES)
async def search(
    body: SearchRequest, request: Request, gw: GatewayDep, who: PrincipalDep, ip: ClientIP
) -> SearchResponse:
    """The caller's k documents nearest to the query (cosine similarity)."""
    (vector,) = await gw.embed(who, ip, [body.query])
    with _database_errors():
        hits = await _store(request).search(who.id, vector, body.k)
    return SearchResponse(results=[SearchHit(id=h.id, text=h.text, score=h.score) for h in hits])
