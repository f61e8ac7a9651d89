"""Dependencies the routes share: the gateway, the caller, the client address, SSE framing."""

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel

from app.auth import Principal
from app.memory.conversation import Memory
from app.providers.base import Usage
from app.resilience import StreamStart
from app.service import Call, Gateway, Result, StreamBroken


async def gateway(request: Request) -> Gateway:
    return request.app.state.gateway


async def principal(request: Request) -> Principal:
    return await request.app.state.authenticator(request)


async def client_ip(request: Request) -> str:
    """The peer address (uvicorn rewrites it from X-Forwarded-For for APP_FORWARDED_ALLOW_IPS).

    Every dependency here is async so FastAPI never hops to its thread pool.
    """
    return request.client.host if request.client else "unknown"


async def memory(request: Request) -> Memory | None:
    """The app's conversation memory, or None when it is off (no Redis, or APP_MEMORY_ENABLED=false)."""
    return getattr(request.app.state, "memory", None)


#: the 400 for ``stream: true`` where the runtime cannot stream (APP_RESPONSE_STREAMING=false)
STREAMING_UNAVAILABLE = (
    "stream=true is not available on this deployment: it runs on AWS Lambda behind API Gateway, which "
    "returns whole (buffered) responses; send stream=false, or use the deployment on the container runtime "
    "(ECS Fargate, ai-platform:aws app.runtime: container) for streaming"
)


def require_streaming(request: Request) -> None:
    """Refuse a streamed answer before any upstream call when the runtime would buffer it."""
    if not request.app.state.response_streaming:
        raise HTTPException(400, detail=STREAMING_UNAVAILABLE)


@dataclass(slots=True)
class Caller:
    """What a generation route needs besides its body, resolved in one step (see app/api/body_route.py)."""

    gateway: Gateway
    principal: Principal
    ip: str
    memory: Memory | None
    request: Request


async def caller(request: Request) -> Caller:
    """The four dependencies above in one: the gateway, the authenticated caller (401 otherwise), the
    client address and conversation memory."""
    who = await principal(request)
    return Caller(await gateway(request), who, await client_ip(request), await memory(request), request)


GatewayDep = Annotated[Gateway, Depends(gateway)]
PrincipalDep = Annotated[Principal, Depends(principal)]
ClientIP = Annotated[str, Depends(client_ip)]
MemoryDep = Annotated[Memory | None, Depends(memory)]
CallerDep = Annotated[Caller, Depends(caller)]

ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"description": "The body is not valid JSON, or the upstream rejected the request"},
    401: {"description": "Missing or invalid credentials"},
    413: {"description": "Body larger than APP_MAX_BODY_BYTES"},
    429: {"description": "A rate limit or budget was exceeded; see Retry-After"},
    502: {"description": "Every upstream target failed"},
    503: {"description": "Upstreams unavailable (circuits open)"},
    504: {"description": "No upstream answered in time"},
}
JSON_OR_SSE: dict[int | str, dict[str, Any]] = {
    **ERROR_RESPONSES,
    200: {"content": {"text/event-stream": {}}, "description": "JSON, or SSE when stream=true"},
}
SSE_HEADERS = {"cache-control": "no-cache", "x-accel-buffering": "no"}
DONE = b"data: [DONE]\n\n"


def sse(data: dict[str, Any], event: str | None = None) -> bytes:
    prefix = f"event: {event}\n" if event else ""
    return f"{prefix}data: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


def usage_dict(prompt: int, completion: int) -> dict[str, int]:
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def call_headers(call: Call, provider: str, model: str) -> dict[str, str]:
    """Rate-limit headers plus which upstream target answered."""
    return {**call.decision.headers(), "x-upstream-provider": provider, "x-upstream-model": model}


class Frames:
    """How one API frames a stream as SSE; subclasses override the parts that differ."""

    def start(self) -> list[bytes]:
        return []

    def text(self, text: str) -> bytes:
        raise NotImplementedError

    def error(self, message: str) -> bytes:
        raise NotImplementedError

    def end(self, finish: str, usage: Usage | None) -> list[bytes]:
        raise NotImplementedError


async def relay(gw: Gateway, call: Call, start: StreamStart, frames: Frames) -> AsyncIterator[bytes]:
    """Frame the committed stream; after the first byte a failure ends it with an error, never [DONE]."""
    for frame in frames.start():
        yield frame
    finish, usage = "stop", None
    try:
        async for delta in gw.deltas(call, start):
            if delta.text:
                yield frames.text(delta.text)
            finish = delta.finish_reason or finish
            usage = delta.usage or usage
    except StreamBroken as exc:
        yield frames.error(f"upstream stream failed: {exc}")
        return
    for frame in frames.end(finish, usage):
        yield frame
    yield DONE


def event_stream(gw: Gateway, call: Call, start: StreamStart, frames: Frames) -> StreamingResponse:
    headers = {**SSE_HEADERS, **call_headers(call, start.target.provider.name, start.target.model)}
    return StreamingResponse(relay(gw, call, start, frames), media_type="text/event-stream", headers=headers)


def json_response(body: BaseModel, call: Call, result: Result) -> Response:
    """Serialise with pydantic's fast path rather than FastAPI's generic encoder."""
    headers = call_headers(call, result.provider, result.model)
    if result.cache_kind is not None:
        headers["x-cache"] = result.cache_kind  # which cache answered: exact or semantic
    return Response(body.model_dump_json(), media_type="application/json", headers=headers)
