"""BodyRoute answers every request as FastAPI's own route would, and refuses what it would skip.

Two apps declare the same endpoint, one as an ordinary APIRoute with separate dependencies, one as a
BodyRoute with `CallerDep`; every body below (good, malformed, wrong type, hostile, missing, not JSON)
must get the same status and the same JSON from both.
"""

from typing import Annotated

import pytest
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request
from fastapi.responses import Response
from fastapi.testclient import TestClient
from pydantic import BaseModel, Field

from app.api import native, openai_compat
from app.api.body_route import BodyRoute, fast_lanes, is_json
from app.api.deps import CallerDep, PrincipalDep, client_ip
from app.auth import Principal
from app.errors import install_error_handlers, strict_json_body
from app.middleware import wrap


class Body(BaseModel):
    prompt: str = Field(min_length=1)
    max_tokens: int = Field(16, ge=1, le=100)
    temperature: float | None = None


async def authenticate(request: Request) -> Principal:
    if request.headers.get("authorization") != "Bearer good":
        raise HTTPException(401, "invalid API key")
    return Principal("key:k", "api_key")


class Refused(Exception):
    """An exception the app has its own handler for."""


async def refused(request: Request, exc: Exception) -> Response:
    return Response("refused by its own handler", status_code=409)


def make_app(body_route: bool, lanes: bool = False) -> FastAPI:
    """The endpoint as an ordinary route, as a BodyRoute, or as a BodyRoute served from its lane."""
    app = FastAPI(dependencies=[Depends(strict_json_body)])
    app.state.authenticator = authenticate
    app.state.gateway = "the gateway"
    if body_route:
        router = APIRouter(route_class=BodyRoute)

        @router.post("/echo")
        async def echo(body: Body, caller: CallerDep) -> Response:
            if body.prompt.startswith("raise "):
                raise_for(body.prompt)
            return Response(f"{body.model_dump_json()} {caller.principal.id} {caller.ip} {caller.gateway}")
    else:
        router = APIRouter()

        @router.post("/echo")
        async def echo_plain(body: Body, who: PrincipalDep, ip: Annotated[str, Depends(client_ip)]) -> Response:
            if body.prompt.startswith("raise "):
                raise_for(body.prompt)
            return Response(f"{body.model_dump_json()} {who.id} {ip} the gateway")

    app.include_router(router)
    install_error_handlers(app)
    app.add_exception_handler(Refused, refused)
    wrap(app, False, 4096, (lambda: fast_lanes(app, [router])) if lanes else None)
    return app


def raise_for(prompt: str) -> None:
    kind = prompt.removeprefix("raise ")
    if kind == "429":
        raise HTTPException(429, "rate limit exceeded: key requests", headers={"retry-after": "7"})
    if kind == "refused":
        raise Refused()
    raise RuntimeError("a bug")


GOOD = {"authorization": "Bearer good", "content-type": "application/json"}
CASES = [
    ("valid", b'{"prompt": "hi", "max_tokens": 5}', GOOD),
    ("valid +json type", b'{"prompt": "hi"}', {**GOOD, "content-type": "application/vnd.api+json; charset=utf-8"}),
    ("unknown fields ignored", b'{"prompt": "hi", "extra": [1, 2]}', GOOD),
    ("malformed JSON", b'{"prompt": "hi",', GOOD),
    ("not UTF-8", b'{"prompt": "\xff"}', GOOD),
    ("wrong type", b'{"prompt": 5, "max_tokens": "many"}', GOOD),
    ("out of range", b'{"prompt": "", "max_tokens": 1000}', GOOD),
    ("a list, not an object", b"[1, 2]", GOOD),
    ("JSON null", b"null", GOOD),
    ("NaN in a model field", b'{"prompt": "hi", "temperature": NaN}', GOOD),
    ("1e400 in an ignored field", b'{"prompt": "hi", "other": 1e400}', GOOD),
    ("lone surrogate", b'{"prompt": "\\ud800"}', GOOD),
    ("no body", b"", GOOD),
    ("text/plain body", b'{"prompt": "hi"}', {**GOOD, "content-type": "text/plain"}),
    ("no content type", b'{"prompt": "hi"}', {"authorization": "Bearer good"}),
    ("no key", b'{"prompt": "hi"}', {"content-type": "application/json"}),
    ("no key and a bad body", b'{"prompt": 5}', {"content-type": "application/json"}),
    ("no key and hostile JSON", b'{"x": NaN}', {"content-type": "application/json"}),
    ("too large", b'{"prompt": "' + b"x" * 5000 + b'"}', GOOD),
    ("an HTTP error with headers", b'{"prompt": "raise 429"}', GOOD),
    ("an exception with its own handler", b'{"prompt": "raise refused"}', GOOD),
    ("a bug", b'{"prompt": "raise bug"}', GOOD),
]


def answers(app: FastAPI, body: bytes, headers: dict[str, str]) -> tuple[int, str, dict[str, str]]:
    """Status, body and the headers that should match (not the request ID, which is new each time)."""
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.post("/echo", content=body, headers=headers)
    assert response.headers.get("x-request-id")  # every answer, the 500 included, carries one
    kept = {k: v for k, v in response.headers.items() if k not in ("x-request-id", "date")}
    return response.status_code, response.text, kept


@pytest.mark.parametrize(("body", "headers"), [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_a_body_route_and_its_lane_answer_as_fastapi_does(body: bytes, headers: dict[str, str]) -> None:
    expected = answers(make_app(False), body, headers)
    assert answers(make_app(True), body, headers) == expected
    assert answers(make_app(True, lanes=True), body, headers) == expected


def test_the_cases_reach_every_outcome() -> None:
    """The parity above means something only if the cases cover every kind of answer."""
    app = make_app(True, lanes=True)
    statuses = {answers(app, body, headers)[0] for _, body, headers in CASES}
    assert statuses == {200, 400, 401, 409, 413, 422, 429, 500}


def test_the_app_serves_every_body_route_from_a_lane_and_only_those() -> None:
    """The lanes' (method, path) pairs are exactly the documented generation operations."""
    from app.main import create_app
    from app.settings import Settings

    app = create_app(Settings(dev_provider=True, auth_required=False, log_level="error"))  # pyright: ignore[reportCallIssue]
    lanes = fast_lanes(app, [native.router, openai_compat.router])
    documented = {
        (method.upper(), path) for path, operations in app.openapi()["paths"].items() for method in operations
    }
    body_routes = {("POST", "/generate"), ("POST", "/summarize"), ("POST", "/v1/chat/completions")}
    assert set(lanes) == body_routes and body_routes <= documented


async def extra(request: Request) -> str:
    return "x"


def test_a_body_route_refuses_what_it_would_skip() -> None:
    router = APIRouter(route_class=BodyRoute)

    async def with_request(body: Body, caller: CallerDep, request: Request) -> Response:
        return Response()

    async def with_dependency(body: Body, caller: CallerDep, x: Annotated[str, Depends(extra)]) -> Response:
        return Response()

    async def with_query(body: Body, caller: CallerDep, page: int = 1) -> Response:
        return Response()

    async def without_caller(body: Body) -> Response:
        return Response()

    for endpoint, why in [
        (with_request, "take the request from the caller"),
        (with_dependency, "only dependencies allowed"),
        (with_query, "no path or query parameters"),
        (without_caller, "only dependencies allowed"),
    ]:
        with pytest.raises(TypeError, match=why):
            router.add_api_route("/x", endpoint, methods=["POST"])


def test_a_route_without_a_body_is_an_ordinary_route() -> None:
    router = APIRouter(route_class=BodyRoute)

    @router.get("/models")
    async def models(who: PrincipalDep, page: int = 1) -> dict[str, object]:
        return {"who": who.id, "page": page}

    app = FastAPI()
    app.state.authenticator = authenticate
    app.include_router(router)
    with TestClient(app) as client:
        assert client.get("/models?page=2", headers=GOOD).json() == {"who": "key:k", "page": 2}


def test_json_content_types() -> None:
    assert is_json("application/json") and is_json("Application/JSON; charset=utf-8")
    assert is_json("application/problem+json")
    assert not is_json("text/json") and not is_json("application/jsonx") and not is_json("json")


def test_a_lane_labels_its_metrics_and_log_with_the_route() -> None:
    from prometheus_client import REGISTRY

    labels = {"route": "/echo", "method": "POST", "status": "200"}
    before = REGISTRY.get_sample_value("ai_http_request_duration_seconds_count", labels) or 0
    with TestClient(make_app(True, lanes=True)) as client:
        assert client.post("/echo", content=b'{"prompt": "hi"}', headers=GOOD).status_code == 200
    assert REGISTRY.get_sample_value("ai_http_request_duration_seconds_count", labels) == before + 1
