"""The caller's documents in the vector DB (only when configured): add, list, delete, search."""

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, Request, Response
from fastapi.responses import JSONResponse

from app.api.deps import ERROR_RESPONSES, ClientIP, GatewayDep, PrincipalDep
from app.retrieval.retriever import Retriever
from app.retrieval.store import database_errors
from app.schemas import (
    DocumentAdded,
    DocumentList,
    DocumentsRequest,
    DocumentsResponse,
    RetrievalOptions,
    SearchRequest,
    SearchResponse,
)

router = APIRouter(prefix="/v1", tags=["documents"])

DocumentId = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$", description="A document id from POST /v1/documents.")]
NOT_FOUND: dict[int | str, dict[str, str]] = {404: {"description": "The caller has no document with this id"}}


def _retriever(request: Request) -> Retriever:
    return request.app.state.retriever


@router.post("/documents", response_model=DocumentsResponse, responses=ERROR_RESPONSES)
async def add_documents(
    body: DocumentsRequest, request: Request, gw: GatewayDep, who: PrincipalDep, ip: ClientIP
) -> DocumentsResponse:
    """Chunk, embed and store documents with their metadata; only the same caller can see them."""
    retriever = _retriever(request)
    prepared = retriever.prepare(body.documents)
    vectors = await gw.embed(who, ip, [text for _, _, chunks in prepared for text in chunks])
    with database_errors():
        added = await retriever.add(who.id, prepared, vectors)
    return DocumentsResponse(documents=[DocumentAdded(id=i, chunk_ids=c) for i, c in added])


@router.api_route("/documents", methods=["PUT", "PATCH", "DELETE", "OPTIONS"], include_in_schema=False)
async def other_methods() -> Response:
    """405 listing both methods: Starlette would name only the first route's (POST)."""
    return JSONResponse({"detail": "Method Not Allowed"}, status_code=405, headers={"allow": "GET, POST"})


@router.get("/documents", response_model=DocumentList, responses={401: ERROR_RESPONSES[401], 503: ERROR_RESPONSES[503]})
async def list_documents(
    request: Request,
    who: PrincipalDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[int, Query(ge=0, le=2**62, description="next_cursor of the previous page")] = 0,
) -> DocumentList:
    """The caller's documents, oldest first, a page at a time."""
    with database_errors():
        page, next_cursor = await _retriever(request).page(who.id, limit, cursor)
    return DocumentList(documents=page, next_cursor=next_cursor)


@router.delete(
    "/documents/{document_id}",
    status_code=204,
    responses={401: ERROR_RESPONSES[401], 503: ERROR_RESPONSES[503], **NOT_FOUND},
)
async def delete_document(document_id: DocumentId, request: Request, who: PrincipalDep) -> Response:
    """Delete one of the caller's documents and its chunks; another caller's id is a 404 like an unknown one."""
    with database_errors():
        deleted = await _retriever(request).delete(who.id, document_id)
    if not deleted:
        raise HTTPException(404, f"no document {document_id}")
    return Response(status_code=204)


@router.post("/search", response_model=SearchResponse, responses=ERROR_RESPONSES)
async def search(
    body: SearchRequest, request: Request, gw: GatewayDep, who: PrincipalDep, ip: ClientIP
) -> SearchResponse:
    """The caller's chunks nearest to the query (cosine similarity), with their documents' metadata."""
    retriever = _retriever(request)

    async def embed(texts: list[str]) -> list[list[float]]:
        return await gw.embed(who, ip, texts)

    options = RetrievalOptions.model_validate(body.model_dump(exclude={"query"}))
    with database_errors():
        results = await retriever.retrieve(who.id, body.query, options, embed)
    return SearchResponse(results=results)
