"""BodyRoute: the generation routes without FastAPI's general dependency solver on every request.

FastAPI resolves a route's parameters by walking its dependency tree per request (sub-dependencies,
exit stacks, endpoint context); for `/generate`, `/summarize` and `/v1/chat/completions` that walk cost
more CPU than the limiter's Redis call (measured side by side with benchmarks/app_benchmark.py, app/README.md
"Benchmark"). A route declared `async def endpoint(body: SomeModel, caller: CallerDep) -> Response`
with `route_class=BodyRoute` is documented by FastAPI from its signature as before; each request runs
the same steps in the same order, written out once here:

1. the body is read and parsed as FastAPI does (JSON for `application/json` and `*+json`, a 422
   `json_invalid` at the error's position, a 400 for a body that cannot be read);
2. the strict-JSON check (app.errors), the app's one global dependency;
3. `caller` (app.api.deps): authentication (401), the client address, the gateway, memory;
4. the body is validated by FastAPI's own function, so a 422 names the same fields.

Anything else on the route (another dependency, a query parameter, a second body) is refused when the
route is declared, so nothing FastAPI would have done is silently skipped. The routes ignore
`app.dependency_overrides`: replace `app.state.authenticator` instead (app/worker.py does).

Having nothing else to do, such a route also needs none of the layers between the request-context
middleware and itself; `fast_lanes` serves it from there (the second step of the same measurement).
"""

import email.message
import functools
import json
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from fastapi import APIRouter, FastAPI, HTTPException, Request, Response
from fastapi.dependencies.utils import request_body_to_args
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic_core import PydanticUndefined
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.errors import ServerErrorMiddleware
from starlette.middleware.exceptions import ExceptionMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from app.api.deps import caller
from app.errors import check_strict_json, strict_json_body

Handler = Callable[[Request], Coroutine[Any, Any, Response]]


@functools.lru_cache(maxsize=64)
def is_json(content_type: str) -> bool:
    """FastAPI's rule for parsing a body as JSON: `application/json` or `application/*+json`."""
    message = email.message.Message()
    message["content-type"] = content_type
    subtype = message.get_content_subtype()
    return message.get_content_maintype() == "application" and (subtype == "json" or subtype.endswith("+json"))


class BodyRoute(APIRoute):
    """An APIRoute for `(body: Model, caller: CallerDep) -> Response` endpoints; routes without a body
    are ordinary APIRoutes."""

    def get_route_handler(self) -> Handler:
        if not self.dependant.body_params:
            return super().get_route_handler()
        return self._body_handler()

    def _body_handler(self) -> Handler:
        dependant = self.dependant
        where = f"{sorted(self.methods or ())} {self.path}"
        if len(dependant.body_params) != 1 or dependant.path_params or dependant.query_params:
            raise TypeError(f"BodyRoute {where}: one body, no path or query parameters")
        if dependant.header_params or dependant.cookie_params or dependant.request_param_name:
            raise TypeError(f"BodyRoute {where}: take the request from the caller (CallerDep), not as a parameter")
        if self.strict_content_type is False:
            raise TypeError(f"BodyRoute {where}: strict_content_type=False is not supported")
        calls = [sub.call for sub in dependant.dependencies]
        callers = [sub for sub in dependant.dependencies if sub.call is caller]
        unknown = [call for call in calls if call not in (caller, strict_json_body)]
        if unknown or len(callers) != 1:
            raise TypeError(
                f"BodyRoute {where}: the only dependencies allowed are one CallerDep and the strict-JSON check; "
                f"got {[getattr(call, '__name__', call) for call in calls]}"
            )
        body_params = dependant.body_params
        body_name, caller_name = body_params[0].name, callers[0].name
        assert caller_name is not None
        endpoint = self.endpoint

        async def handle(request: Request) -> Response:
            raw = await _read(request)
            body: Any = PydanticUndefined  # no body: the validation below reports the missing field
            if raw:
                content_type = request.headers.get("content-type")
                body = _parse(raw) if content_type and is_json(content_type) else raw
            check_strict_json(raw)
            who = await caller(request)
            values, errors = await request_body_to_args(body_params, body, False)
            if errors:
                raise RequestValidationError(errors, body=body)
            response = await endpoint(**{body_name: values[body_name], caller_name: who})
            if not isinstance(response, Response):
                raise TypeError(f"BodyRoute {where}: the endpoint must return a Response, not {type(response)}")
            return response

        return handle


def _unreadable() -> HTTPException:
    """FastAPI's answer to a body it cannot read or decode."""
    return HTTPException(400, detail="There was an error parsing the body")


async def _read(request: Request) -> bytes:
    try:
        return await request.body()
    except StarletteHTTPException:
        raise  # the body-size limit's 413 (app/middleware.py)
    except Exception as exc:
        raise _unreadable() from exc


def _parse(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        error = {"type": "json_invalid", "loc": ("body", exc.pos), "msg": "JSON decode error", "input": {}}
        raise RequestValidationError([{**error, "ctx": {"error": exc.msg}}], body=exc.doc) from exc
    except ValueError as exc:  # bytes that are not UTF-8
        raise _unreadable() from exc


Lanes = dict[tuple[str, str], ASGIApp]


def fast_lanes(app: FastAPI, routers: Sequence[APIRouter]) -> Lanes:
    """(method, path) -> an ASGI app that serves that BodyRoute straight from the request-context
    middleware (app/middleware.py), past FastAPI's body limit, telemetry and exit stacks, the router
    and the route's own wrapper, which it needs none of: it declares no dependency with `yield` and no
    path parameter. Errors go through Starlette's own two layers, given the app's handlers as Starlette
    splits them: the exception handlers, then the 500 (raised again, to be logged). Requests for other
    paths, other methods, or under a root path go through the whole stack as before.
    Call it once the exception handlers are installed; `routers` must be included without a prefix.
    """
    on_error = None
    handlers: dict[Any, Any] = {}
    for key, value in app.exception_handlers.items():
        if key in (500, Exception):
            on_error = value
        else:
            handlers[key] = value
    lanes: Lanes = {}
    for router in routers:
        for route in router.routes:
            if isinstance(route, BodyRoute) and route.dependant.body_params:
                served = _served(route, route.get_route_handler())
                caught = ExceptionMiddleware(served, handlers=handlers, debug=app.debug)
                lane = ServerErrorMiddleware(caught, handler=on_error, debug=app.debug)
                lanes.update({(method, route.path): lane for method in route.methods or ()})
    return lanes


def _served(route: BodyRoute, handler: Handler) -> ASGIApp:
    async def serve(scope: Scope, receive: Receive, send: Send) -> None:
        scope.update(route=route, endpoint=route.endpoint, path_params={})
        response = await handler(Request(scope, receive, send))
        await response(scope, receive, send)

    return serve
