"""GET and DELETE /v1/sessions/{session_id}: the caller's own conversations (only with memory on)."""

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path
from fastapi.responses import Response
from fastapi.routing import APIRoute
from starlette.types import Receive, Scope, Send

from app.api.deps import ERROR_RESPONSES, MemoryDep, PrincipalDep
from app.memory.conversation import Memory, owner
from app.memory.schemas import SESSION_ID_PATTERN, SessionOut, SessionTurn


class SessionRoute(APIRoute):
    """A 405 here lists both methods of the path in `Allow` (Starlette would list only the first route's)."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.methods and scope["method"] not in self.methods:
            raise HTTPException(405, headers={"allow": "DELETE, GET"})
        await super().handle(scope, receive, send)


router = APIRouter(prefix="/v1", tags=["sessions"], route_class=SessionRoute)


SessionPath = Annotated[str, Path(min_length=1, max_length=128, pattern=SESSION_ID_PATTERN)]
RESPONSES: dict[int | str, dict[str, Any]] = {
    401: ERROR_RESPONSES[401],
    404: {"description": "No such session for this caller (another caller's sessions are never visible)"},
    503: {"description": "Redis or PostgreSQL is unavailable"},
}


def _memory(memory: Memory | None) -> Memory:
    if memory is None:  # the router is only included with memory on; this keeps the types honest
        raise HTTPException(404, "conversation memory is off")
    return memory


@router.get("/sessions/{session_id}", response_model=SessionOut, responses=RESPONSES)
async def get_session(session_id: SessionPath, who: PrincipalDep, mem: MemoryDep) -> SessionOut:
    """The caller's session: the summary of older turns and the recent turns verbatim."""
    found = await _memory(mem).get(owner(who), session_id)
    if found is None:
        raise HTTPException(404, f"no session {session_id!r}")
    session, tier = found
    return SessionOut(
        id=session_id,
        tier=tier,
        summary=session.summary,
        summarized_turns=session.folded,
        dropped_turns=session.dropped,
        turns=[SessionTurn(role=t["role"], content=t["content"], at=t["at"]) for t in session.turns],
        created_at=session.created,
        updated_at=session.updated,
    )


@router.delete("/sessions/{session_id}", status_code=204, response_class=Response, responses=RESPONSES)
async def delete_session(session_id: SessionPath, who: PrincipalDep, mem: MemoryDep) -> Response:
    """Forget the caller's session in every tier."""
    if not await _memory(mem).delete(owner(who), session_id):
        raise HTTPException(404, f"no session {session_id!r}")
    return Response(status_code=204)
