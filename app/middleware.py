"""One pure-ASGI middleware for every request: request ID, server span, latency metric, access log.

Pure ASGI (not BaseHTTPMiddleware) so streaming responses pass through untouched and cheaply.
"""

import logging
import time

from opentelemetry import propagate
from opentelemetry.trace import SpanKind
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.observability import HTTP_LATENCY, bind_request_id, tracer

log = logging.getLogger("app.access")
_QUIET = {"/health", "/ready", "/metrics"}


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        request_id = bind_request_id(headers.get("x-request-id"))
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

        with tracer.start_as_current_span(
            f"{scope['method']} {scope['path']}",
            context=propagate.extract(headers),
            kind=SpanKind.SERVER,
            attributes={"http.request.method": scope["method"], "url.path": scope["path"], "request.id": request_id},
        ) as span:
            try:
                await self.app(scope, receive, send_with_id)
            finally:
                elapsed = time.perf_counter() - started
                route = scope.get("route")
                path = getattr(route, "path", "unmatched")
                HTTP_LATENCY.labels(path, scope["method"], str(status)).observe(elapsed)
                span.set_attribute("http.response.status_code", status)
                if path not in _QUIET or status >= 400:
                    log.info(
                        "%s %s %d",
                        scope["method"],
                        scope["path"],
                        status,
                        extra={"status": status, "duration_ms": round(elapsed * 1000, 2), "route": path},
                    )
