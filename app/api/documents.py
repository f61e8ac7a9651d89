"""POST /v1/documents and POST /v1/search: each caller's documents in the vector DB (only when configured)."""

from fastapi import APIRouter, HTTPException, Request

from app.api.deps import ERROR_RESPONSES, ClientIP, GatewayDep, PrincipalDep
from app.schemas import DocumentsRequest, DocumentsResponse, SearchHit, SearchRequest, SearchResponse
from app.vectors import VectorStore

router = APIRouter(prefix="/v1", tags=["documents"])


def _store(request: Request) -> VectorStore:
    return request.app.state.vectors


@router.post("/documents", response_model=DocumentsResponse, responses=ERROR_RESPONSES)
async def add_documents(
    body: DocumentsRequest, request: Request, gw: GatewayDep, who: PrincipalDep, ip: ClientIP
) -> DocumentsResponse:
    """Embed and store texts; only the same caller can search them."""
    vectors = await gw.embed(who, ip, body.texts)
    try:
        ids = await _store(request).add(who.id, body.texts, vectors)
    except ValueError as exc:
        raise HTTPException(502, str(exc)) from None
    return DocumentsResponse(ids=ids)


@router.post("/search", response_model=SearchResponse, responses=ERROR_RESPONSES)
async def search(
    body: SearchRequest, request: Request, gw: GatewayDep, who: PrincipalDep, ip: ClientIP
) -> SearchResponse:
    """The caller's k documents nearest to the query (cosine similarity)."""
    (vector,) = await gw.embed(who, ip, [body.query])
    try:
        hits = await _store(request).search(who.id, vector, body.k)
    except ValueError as exc:
        raise HTTPException(502, str(exc)) from None
    return SearchResponse(results=[SearchHit(id=h.id, text=h.text, score=h.score) for h in hits])
