"""Every error is JSON with X-Request-ID and keeps the connection, whatever the body holds.

The fuzz test walks every operation of the live OpenAPI schema (so routes added later are covered
without listing them) and sends near-valid and hostile bodies, including what strict JSON cannot
hold (NaN, Infinity, 1e400, lone surrogates), over one keep-alive connection.
"""

import http.client
import json
import math
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import jsonschema
import pytest
import uvicorn
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.main import create_app
from app.settings import Settings
from tests.app.support import API_KEY, AppProcess, free_port

CHAT = b'{"model":"plain","messages":[{"role":"user","content":"x"}],'
AUTH = {"authorization": f"Bearer {API_KEY}", "content-type": "application/json"}


class Big:
    """A number literal JSON allows but a double cannot hold: Python's parser turns it into inf."""

    def __init__(self, literal: str) -> None:
        self.literal = literal


def dumps(value: Any) -> bytes:
    """JSON text as a hostile client writes it: NaN/Infinity literals, overflowing numbers, and
    lone surrogates as \\u escapes."""
    literals: list[str] = []

    def encode(v: Any) -> Any:
        if isinstance(v, Big):
            literals.append(v.literal)
            return f"__big{len(literals) - 1}__"
        if isinstance(v, dict):
            return {k: encode(x) for k, x in v.items()}
        if isinstance(v, list):
            return [encode(x) for x in v]
        return v

    text = json.dumps(encode(value), allow_nan=True)
    for i, literal in enumerate(literals):
        text = text.replace(f'"__big{i}__"', literal)
    return text.encode()


def strict_json(value: Any) -> bool:
    """Whether the value is JSON at all: finite numbers and strings UTF-8 can encode."""
    if isinstance(value, Big):
        return False
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, str):
        try:
            value.encode()
        except UnicodeEncodeError:
            return False
        return True
    if isinstance(value, dict):
        return all(strict_json(k) and strict_json(v) for k, v in value.items())
    if isinstance(value, list):
        return all(strict_json(v) for v in value)
    return True


HOSTILE = st.sampled_from(
    [
        math.nan,
        math.inf,
        -math.inf,
        Big("1e400"),
        Big("-1e999"),
        "\ud800",
        "ok \udfff",
        "\x00",
        None,
        True,
        0,
        -1,
        1.5,
        10**30,
        "",
        "5",
        [],
        {},
        [math.nan],
        {"\ud800": 1},
    ]
)
ATOMS = st.one_of(
    HOSTILE,
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(st.characters(codec=None), max_size=20),  # surrogates included
    st.booleans(),
    st.none(),
)
ANY_JSON = st.recursive(
    ATOMS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


def resolve(schema: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        node: Any = spec
        for part in schema["$ref"].removeprefix("#/").split("/"):
            node = node[part]
        schema = node
    return schema


def example(schema: dict[str, Any], spec: dict[str, Any]) -> Any:
    """A small value the schema accepts, so that one mutated field reaches the field's own validation."""
    schema = resolve(schema, spec)
    for key in ("anyOf", "oneOf"):
        if key in schema:
            options = [o for o in schema[key] if resolve(o, spec).get("type") != "null"] or schema[key]
            return example(options[0], spec)
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object":
        required = schema.get("required", [])
        return {name: example(sub, spec) for name, sub in schema.get("properties", {}).items() if name in required}
    if kind == "array":
        return [example(schema.get("items", {}), spec)] * max(1, schema.get("minItems", 1))
    if kind == "integer":
        return int(schema.get("minimum", 1))
    if kind == "number":
        return float(schema.get("minimum", 0.5))
    if kind == "boolean":
        return False
    return "hi" * max(1, schema.get("minLength", 1))


def paths_of(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every place in a JSON value a mutation can go (dict keys and list items, nested)."""
    yield prefix
    if isinstance(value, dict):
        for k, v in value.items():
            yield from paths_of(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from paths_of(v, (*prefix, i))


def replaced(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    copy = dict(value) if isinstance(value, dict) else list(value)
    copy[path[0]] = replaced(value[path[0]], path[1:], new)
    return copy


@st.composite
def bodies(draw: st.DrawFn, base: Any) -> Any:
    """A valid body with one place (or a new field) set to a hostile or arbitrary value, or junk."""
    choice = draw(st.integers(0, 3))
    if choice == 0:
        return draw(ANY_JSON)
    if choice == 1 and isinstance(base, dict):
        return {**base, draw(st.text(max_size=8)): draw(ANY_JSON)}
    path = draw(st.sampled_from(list(paths_of(base))))
    return replaced(base, path, draw(HOSTILE if choice == 2 else ANY_JSON))


class Connection:
    """One keep-alive connection; every answer must leave it open."""

    def __init__(self, port: int) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.conn.connect()
        assert self.conn.sock is not None
        self.local = self.conn.sock.getsockname()

    def send(self, method: str, path: str, body: bytes | None) -> tuple[int, dict[str, str], bytes]:
        self.conn.request(method, path, body, AUTH)
        response = self.conn.getresponse()
        data = response.read()
        headers = {k.lower(): v for k, v in response.getheaders()}
        what = f"{method} {path} {body!r:.300} -> {response.status} {data!r:.300}"
        assert headers.get("connection") != "close", what
        assert self.conn.sock is not None and self.conn.sock.getsockname() == self.local, f"dropped: {what}"
        assert headers.get("x-request-id"), what
        if response.status >= 400:
            assert headers.get("content-type", "").startswith("application/json"), what
            json.loads(data)  # strict: the standard parser, no NaN needed
        return response.status, headers, data

    def close(self) -> None:
        self.conn.close()


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/generate", b'{"prompt":"hi","max_tokens":1e400}', "max_tokens"),
        ("/generate", b'{"prompt":"hi","temperature": NaN}', "temperature"),
        ("/generate", b"1e999", None),
        ("/generate", b'{"prompt":"\\ud800"}', "prompt"),
        ("/summarize", b'{"text":"hi","model":Infinity}', "model"),
        ("/v1/chat/completions", CHAT + b'"user":"\\ud800"}', "user"),
        ("/v1/chat/completions", CHAT + b'"top_p":-Infinity}', "top_p"),
        ("/v1/chat/completions", CHAT + b'"seed":1e400}', "seed"),
        ("/v1/chat/completions", CHAT + b'"unknown":[NaN]}', "unknown"),
        ("/v1/chat/completions", CHAT + b'"ignored":"low \\udfff"}', "ignored"),
    ],
)
def test_unencodable_input_is_a_json_422_naming_the_field(
    full_app: AppProcess, path: str, body: bytes, field: str | None
) -> None:
    conn = Connection(full_app.port)
    try:
        for _ in range(2):  # the second request on the same connection proves it was kept
            status, _, data = conn.send("POST", path, body)
            assert status == 422
            detail = json.loads(data)["detail"]
            locs = [tuple(d["loc"][:2]) for d in detail]
            assert (("body", field) if field else ("body",)) in locs, detail
    finally:
        conn.close()


def fuzz(conn: Connection, method: str, path: str, op: dict[str, Any], spec: dict[str, Any]) -> None:
    """Hypothesis over one operation: a body the schema refuses is a 4xx; nothing is an undocumented 5xx."""
    content = op.get("requestBody", {}).get("content", {}).get("application/json")
    schema = {**content["schema"], "components": spec["components"]} if content else None
    validator = jsonschema.Draft202012Validator(schema) if schema else None
    documented = {int(code) for code in op["responses"] if code.isdigit()}

    @settings(
        max_examples=60,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(body=bodies(example(schema, spec) if schema else {}))
    def check(body: Any) -> None:
        status, _, data = conn.send(method, path, dumps(body))
        what = f"{method} {path} {dumps(body)!r:.300} -> {status} {data!r:.300}"
        if validator is not None and (not strict_json(body) or not validator.is_valid(body)):
            assert 400 <= status < 500, what
        else:
            assert status < 500 or status in documented, what

    check()


def test_fuzz_every_route_refused_bodies_are_4xx(full_app: AppProcess) -> None:
    conn = Connection(full_app.port)
    try:
        spec = json.loads(conn.send("GET", "/openapi.json", None)[2])
        assert {"/generate", "/summarize", "/v1/chat/completions", "/v1/documents", "/v1/search"} <= set(spec["paths"])
        for path, operations in spec["paths"].items():
            for method, op in operations.items():
                fuzz(conn, method.upper(), path, op, spec)
    finally:
        conn.close()


def test_an_unexpected_failure_is_a_json_500_that_keeps_the_connection() -> None:
    """A bug in a route (here one added for the test) still answers JSON with the request ID."""
    app = create_app(Settings(dev_provider=True, auth_required=False, log_level="error"))  # pyright: ignore[reportCallIssue]

    @app.post("/boom")
    async def boom() -> None:
        raise RuntimeError("a bug")

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while not server.started:
            assert time.monotonic() < deadline, "the test server did not start"
            time.sleep(0.05)
        conn = Connection(port)
        for _ in range(2):
            status, headers, data = conn.send("POST", "/boom", b"{}")
            assert status == 500
            assert json.loads(data) == {"detail": "internal error"}
            assert len(headers["x-request-id"]) == 32
        assert conn.send("GET", "/health", None)[0] == 200
        conn.close()
    finally:
        server.should_exit = True
        thread.join(20)
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
