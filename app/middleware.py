"""One pure-ASGI middleware around the whole app: request ID, server span, latency metric, access log.

It wraps the complete Starlette stack (see `wrap`), so every response, the 500 of an unexpected failure
included, carries `X-Request-ID`; it also enforces APP_MAX_BODY_BYTES (413). Pure ASGI (not BaseHTTPMiddleware) so
streaming responses pass through untouched and cheaply.
"""

import logging
import time
from collections.abc import Callable, Mapping

from fastapi import FastAPI
from opentelemetry import propagate
from opentelemetry.trace import SpanKind
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import StrictJSONResponse
from app.observability import HTTP_LATENCY, bind_request_id, tracer

log = logging.getLogger("app.access")
_QUIET = {"/health", "/ready", "/metrics"}


class RequestContextMiddleware:
    def __init__(
        self, app: ASGIApp, tracing: bool, max_body_bytes: int, lanes: Mapping[tuple[str, str], ASGIApp] | None = None
    ) -> None:
        self.app = app
        self.tracing = tracing
        self.max_body_bytes = max_body_bytes
        self.lanes = lanes or {}  # (method, path) -> a route served without the inner stack (app.api.body_route)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming, length = None, None
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                incoming = value.decode("latin-1")
            elif name == b"content-length":
                length = value
        request_id = bind_request_id(incoming)
        id_header = (b"x-request-id", request_id.encode())
        started = time.perf_counter()
        status = 500
        complete = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, complete
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), id_header]
            elif message["type"] == "http.response.body" and not message.get("more_body", False):
                complete = True
            await send(message)

        try:
            if length is not None and length.isdigit() and int(length) > self.max_body_bytes:
                too_large = f"the body has {int(length)} bytes; at most {self.max_body_bytes} are allowed"
                await StrictJSONResponse({"detail": too_large}, status_code=413)(scope, receive, send_with_id)
                return
            if length is None:  # a chunked body: count it as it comes (a Content-Length body cannot outgrow it)
                receive = self._limited(receive)
            inner = self.lanes.get((scope["method"], scope["path"]), self.app)
            if self.tracing:
                await self._traced(inner, scope, receive, send_with_id, request_id, lambda: status)
            else:
                await inner(scope, receive, send_with_id)
        except Exception:
            # The inner ServerErrorMiddleware has already answered with a JSON 500 (app.errors).
            # Swallowing the exception once that answer is complete keeps the connection open;
            # a stream that broke half-way is re-raised so the server cuts it rather than end it cleanly.
            log.exception("unhandled error in %s %s", scope["method"], scope["path"])
            if not complete:
                raise
        finally:
            elapsed = time.perf_counter() - started
            path = getattr(scope.get("route"), "path", "unmatched")
            HTTP_LATENCY.labels(path, scope["method"], str(status)).observe(elapsed)
            if (path not in _QUIET or status >= 400) and log.isEnabledFor(logging.INFO):
                # makeRecord + handle: Logger.info would also walk the stack for a file and line not logged
                extra = {"status": status, "duration_ms": round(elapsed * 1000, 2), "route": path}
                args = (scope["method"], scope["path"], status)
                log.handle(log.makeRecord(log.name, logging.INFO, "", 0, "%s %s %d", args, None, extra=extra))

    def _limited(self, receive: Receive) -> Receive:
        """APP_MAX_BODY_BYTES for bodies without Content-Length: a 413 (app.errors renders it) once exceeded.

        The app enforces the limit here rather than through FastAPI's max_body_size, whose three extra
        middleware layers every request would cross."""
        seen = 0

        async def receive_limited() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.max_body_bytes:
                raise HTTPException(413, f"the body has more than {self.max_body_bytes} bytes, the limit")
            return message

        return receive_limited

    async def _traced(
        self, app: ASGIApp, scope: Scope, receive: Receive, send: Send, request_id: str, status: Callable[[], int]
    ) -> None:
        """The server span, joining an incoming `traceparent` (only when APP_OTLP_ENDPOINT is set)."""
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        with tracer.start_as_current_span(
            f"{scope['method']} {scope['path']}",
            context=propagate.extract(headers),
            kind=SpanKind.SERVER,
            attributes={"http.request.method": scope["method"], "url.path": scope["path"], "request.id": request_id},
        ) as span:
            try:
                await app(scope, receive, send)
            finally:
                span.set_attribute("http.response.status_code", status())


def wrap(
    app: FastAPI,
    tracing: bool,
    max_body_bytes: int,
    lanes: Callable[[], Mapping[tuple[str, str], ASGIApp]] | None = None,
) -> None:
    """Put RequestContextMiddleware outside Starlette's whole stack (add_middleware would nest it inside
    the error and body-limit layers, whose answers would then lack the request ID). `lanes` is called
    when the stack is built (the first request), once every route and exception handler is in place."""
    build = app.build_middleware_stack

    def build_with_context() -> ASGIApp:
        return RequestContextMiddleware(build(), tracing, max_body_bytes, lanes() if lanes else None)

    app.build_middleware_stack = build_with_context  # type: ignore[method-assign]
