"""POST /v1/chat/completions and GET /v1/models, compatible with OpenAI clients (streaming included)."""

import time
import uuid
from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from app.api.body_route import BodyRoute
from app.api.deps import (
    ERROR_RESPONSES,
    JSON_OR_SSE,
    CallerDep,
    Frames,
    GatewayDep,
    PrincipalDep,
    event_stream,
    json_response,
    require_streaming,
    sse,
    usage_dict,
)
from app.api.sources import SourcedFrames, cite, source_dicts
from app.memory.conversation import begin
from app.providers.base import Usage
from app.schemas import ChatCompletion, ChatCompletionRequest, Choice, ChoiceMessage, ModelCard, ModelList, UsageOut

router = APIRouter(prefix="/v1", tags=["openai"], route_class=BodyRoute)


class ChunkFrames(Frames):
    """chat.completion.chunk objects; the usage chunk (empty choices) only when asked for; then [DONE]."""

    def __init__(self, alias: str, include_usage: bool) -> None:
        self.include_usage = include_usage
        self.base: dict[str, Any] = {
            "id": f"chatcmpl-{uuid.uuid4().hex}",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": alias,
        }

    def _chunk(self, delta: dict[str, str], finish: str | None) -> bytes:
        return sse({**self.base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})

    def start(self) -> list[bytes]:
        return [self._chunk({"role": "assistant", "content": ""}, None)]

    def text(self, text: str) -> bytes:
        return self._chunk({"content": text}, None)

    def error(self, message: str) -> bytes:
        return sse({"error": {"message": message, "type": "upstream_error", "code": 502}})

    def end(self, finish: str, usage: Usage | None) -> list[bytes]:
        frames = [self._chunk({}, finish)]
        if self.include_usage:
            counts = usage_dict(usage.prompt_tokens, usage.completion_tokens) if usage else usage_dict(0, 0)
            frames.append(sse({**self.base, "choices": [], "usage": counts}))
        return frames


@router.post(
    "/chat/completions",
    response_model=ChatCompletion,
    responses=JSON_OR_SSE,
)
async def chat_completions(body: ChatCompletionRequest, caller: CallerDep) -> Response:
    """OpenAI Chat Completions; `model` is an alias from the routing table, a tier name, or `auto`.

    With `session_id` (an extension field) the conversation is kept: send only the new messages.
    With `retrieval` the answer is grounded in the caller's documents and cites them in `sources`.
    """
    gw = caller.gateway
    if body.stream:
        require_streaming(caller.request)
    turn = await begin(caller.memory, caller.principal, caller.ip, body.session_id, body.to_chat(), "messages")
    call = await gw.admit(caller.principal, caller.ip, body.model, turn.request, "model")
    sources = await gw.retrieve(call, body.retrieval, "retrieval") if body.retrieval else None
    if body.stream:
        start = turn.watch(await gw.open_stream(call))
        include_usage = bool(body.stream_options and body.stream_options.include_usage)
        chunks = ChunkFrames(call.alias, include_usage)
        frames: Frames = chunks
        if sources is not None:  # shaped like the usage chunk (empty choices), so OpenAI clients take it
            frames = SourcedFrames(chunks, {**chunks.base, "choices": [], "sources": source_dicts(sources)})
        return cite(event_stream(gw, call, start, frames), sources)
    result = await gw.complete(call)
    await turn.record(result.text)
    out = ChatCompletion(
        id=f"chatcmpl-{uuid.uuid4().hex}",
        created=int(time.time()),
        model=call.alias,
        choices=[Choice(message=ChoiceMessage(content=result.text), finish_reason=result.finish_reason)],
        usage=UsageOut(**usage_dict(result.usage.prompt_tokens, result.usage.completion_tokens)),
        sources=sources,
    )
    return cite(json_response(out, call, result), sources)


@router.get("/models", response_model=ModelList, responses={401: ERROR_RESPONSES[401]})
async def list_models(gw: GatewayDep, who: PrincipalDep) -> ModelList:
    """The aliases clients may ask for (plus `auto` when tiers are configured)."""
    return ModelList(data=[ModelCard(id=name, owned_by="ai-platform") for name in gw.router.model_names()])
