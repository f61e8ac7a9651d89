"""POST /generate and POST /summarize: the service's own API."""

import re
import uuid

from fastapi import APIRouter, HTTPException
from fastapi.responses import Response

from app.api.body_route import BodyRoute
from app.api.deps import (
    ERROR_RESPONSES,
    JSON_OR_SSE,
    CallerDep,
    Frames,
    event_stream,
    json_response,
    require_streaming,
    sse,
    usage_dict,
)
from app.api.sources import SourcedFrames, cite, source_dicts
from app.memory.conversation import begin
from app.providers.base import Usage
from app.schemas import GenerateRequest, GenerateResponse, SummarizeRequest, SummarizeResponse, UsageOut
from app.service import Result

router = APIRouter(tags=["native"], route_class=BodyRoute)

_BULLET = re.compile(r"^\s*(?:[-*\u2022]|\d+[.)])\s+(.*\S)\s*$")


def _usage(result: Result) -> UsageOut:
    return UsageOut(**usage_dict(result.usage.prompt_tokens, result.usage.completion_tokens))


class GenerateFrames(Frames):
    """`data: {"text": ...}` chunks, a final finish/usage chunk, then [DONE]; errors as `event: error`."""

    def text(self, text: str) -> bytes:
        return sse({"text": text})

    def error(self, message: str) -> bytes:
        return sse({"error": {"message": message, "type": "upstream_error"}}, "error")

    def end(self, finish: str, usage: Usage | None) -> list[bytes]:
        final: dict[str, object] = {"finish_reason": finish}
        if usage is not None:
            final["usage"] = usage_dict(usage.prompt_tokens, usage.completion_tokens)
        return [sse(final)]


@router.post(
    "/generate",
    response_model=GenerateResponse,
    responses=JSON_OR_SSE,
)
async def generate(body: GenerateRequest, caller: CallerDep) -> Response:
    """Generate text. With `stream: true` the answer is SSE `data:` chunks ending with `data: [DONE]`.

    With `session_id` the prompt continues that conversation (see /v1/sessions); with `retrieval`
    the caller's documents ground the answer, which cites them in `sources`.
    """
    gw = caller.gateway
    if body.stream:
        require_streaming(caller.request)
    turn = await begin(caller.memory, caller.principal, caller.ip, body.session_id, body.to_chat(), "prompt")
    call = await gw.admit(caller.principal, caller.ip, body.model, turn.request, "model")
    sources = await gw.retrieve(call, body.retrieval, "retrieval") if body.retrieval else None
    if body.stream:
        start = turn.watch(await gw.open_stream(call))
        frames = (
            GenerateFrames() if sources is None else SourcedFrames(GenerateFrames(), {"sources": source_dicts(sources)})
        )
        return cite(event_stream(gw, call, start, frames), sources)
    result = await gw.complete(call)
    await turn.record(result.text)
    out = GenerateResponse(
        id=f"gen-{uuid.uuid4().hex}",
        model=call.alias,
        text=result.text,
        finish_reason=result.finish_reason,
        usage=_usage(result),
        cached=result.cached,
        sources=sources,
    )
    return cite(json_response(out, call, result), sources)


def bullets(text: str) -> list[str]:
    """Three bullet points from a model's answer: marked lines first, else its first non-empty lines."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    marked = [m.group(1) for line in lines if (m := _BULLET.match(line))]
    chosen = marked if len(marked) >= 3 else lines
    return chosen[:3]


@router.post("/summarize", response_model=SummarizeResponse, responses=ERROR_RESPONSES)
async def summarize(body: SummarizeRequest, caller: CallerDep) -> Response:
    """Summarize `text` as exactly three bullet points."""
    gw = caller.gateway
    call = await gw.admit(caller.principal, caller.ip, body.model, body.to_chat(), "model")
    result = await gw.complete(call)
    points = bullets(result.text)
    if len(points) < 3:
        raise HTTPException(502, f"the model answered with {len(points)} bullet points instead of 3")
    out = SummarizeResponse(
        id=f"sum-{uuid.uuid4().hex}", model=call.alias, bullets=points, usage=_usage(result), cached=result.cached
    )
    return json_response(out, call, result)
