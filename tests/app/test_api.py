"""The HTTP API: shapes, validation (422 naming the field), size limit (413), auth, request IDs."""

import json
from collections.abc import Iterator

import httpx
import openai
import pytest

from tests.app.support import API_KEY, AppProcess, StartApp, Upstream, routing_table, sse_events


def test_generate_returns_text_and_usage(client: httpx.Client) -> None:
    r = client.post("/generate", json={"prompt": "Say hello", "max_tokens": 50, "model": "plain"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["text"] == "The quick brown fox jumps"
    assert body["usage"] == {
        "prompt_tokens": 3,
        "completion_tokens": 5,
        "total_tokens": 8,
    }
    assert body["finish_reason"] == "stop"
    assert r.headers["x-upstream-provider"] == "primary"


def test_generate_uses_default_model(client: httpx.Client) -> None:
    r = client.post("/generate", json={"prompt": "hi"})
    assert r.status_code == 200
    assert r.json()["model"] == "plain"


@pytest.mark.parametrize(
    ("payload", "field", "fragment"),
    [
        ({"prompt": ""}, "prompt", "at least 1 character"),
        ({"prompt": "x" * 10_001}, "prompt", "at most 10000 characters"),
        ({"prompt": "hi", "max_tokens": 0}, "max_tokens", "greater than or equal to 1"),
        (
            {"prompt": "hi", "max_tokens": 4001},
            "max_tokens",
            "less than or equal to 4000",
        ),
        (
            {"prompt": "hi", "temperature": 2.5},
            "temperature",
            "less than or equal to 2",
        ),
        (
            {"prompt": "hi", "temperature": -0.1},
            "temperature",
            "greater than or equal to 0",
        ),
        ({"prompt": "hi", "stream": "maybe"}, "stream", "valid boolean"),
        ({"prompt": "hi", "colour": "red"}, "colour", "Extra inputs are not permitted"),
        ({"prompt": "hi", "model": "nope"}, "model", "unknown model 'nope'; allowed:"),
    ],
)
def test_generate_rejects_bad_input_naming_the_field(
    client: httpx.Client, payload: dict, field: str, fragment: str
) -> None:
    r = client.post("/generate", json=payload)
    assert r.status_code == 422
    errors = r.json()["detail"]
    assert any(e["loc"][-1] == field and fragment in e["msg"] for e in errors), errors


def test_generate_streams_sse_ending_with_done(client: httpx.Client) -> None:
    r = client.post("/generate", json={"prompt": "hi", "stream": True, "model": "plain"})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/event-stream")
    events = sse_events(r.text)
    assert events[-1] == (None, "[DONE]")
    texts = [json.loads(d)["text"] for _, d in events[:-2]]
    assert "".join(texts) == "The quick brown fox jumps"
    final = json.loads(events[-2][1])
    assert final["finish_reason"] == "stop"
    assert final["usage"]["completion_tokens"] == 5


def test_summarize_returns_three_bullets(client: httpx.Client, upstream: Upstream) -> None:
    upstream.script("plain", ["chunks=12;bullets"])
    r = client.post("/summarize", json={"text": "A long text about foxes and dogs."})
    assert r.status_code == 200, r.text
    assert r.json()["bullets"] == [
        "The quick brown fox",
        "jumps over the lazy",
        "dog again and again",
    ]
    sent = upstream.requests("plain")[-1]["body"]["messages"][0]["content"]
    assert "three bullet points" in sent and "A long text about foxes" in sent


def test_summarize_is_502_when_the_model_gives_no_three_points(client: httpx.Client, upstream: Upstream) -> None:
    upstream.script("plain", ["chunks=4"])
    r = client.post("/summarize", json={"text": "Some text."})
    assert r.status_code == 502
    assert "1 bullet points instead of 3" in r.json()["detail"]


def test_summarize_rejects_empty_text(client: httpx.Client) -> None:
    r = client.post("/summarize", json={"text": ""})
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "text"]


def test_body_over_limit_is_413(start_app, redis_server) -> None:
    app = start_app({"APP_MAX_BODY_BYTES": "2048"})

    def chunked(body: bytes) -> Iterator[bytes]:  # no Content-Length: the limit counts what arrives
        yield from (body[i : i + 500] for i in range(0, len(body), 500))

    big = json.dumps({"prompt": "x" * 5000}).encode()
    fits = json.dumps({"prompt": "x" * 1900}).encode()
    app.headers["content-type"] = "application/json"
    with app.client() as c:
        for r in (c.post("/generate", content=big), c.post("/generate", content=chunked(big))):
            assert r.status_code == 413, r.text
            assert "2048" in r.json()["detail"] and r.headers["x-request-id"]
        assert c.post("/generate", content=chunked(fits)).status_code == 200
        assert c.post("/generate", content=fits).status_code == 200


def test_missing_or_wrong_key_is_401(app_server: AppProcess) -> None:
    with httpx.Client(base_url=app_server.url) as c:
        assert c.post("/generate", json={"prompt": "hi"}).status_code == 401
        r = c.post(
            "/generate",
            json={"prompt": "hi"},
            headers={"authorization": "Bearer wrong-key-123456"},
        )
        assert r.status_code == 401
        assert r.headers["www-authenticate"] == "Bearer"
        r = c.post("/generate", json={"prompt": "hi"}, headers={"x-api-key": API_KEY})
        assert r.status_code == 200


def test_request_id_is_taken_passed_upstream_and_returned(client: httpx.Client, upstream: Upstream) -> None:
    r = client.post(
        "/generate",
        json={"prompt": "hi", "model": "plain"},
        headers={"x-request-id": "req-abc.123"},
    )
    assert r.headers["x-request-id"] == "req-abc.123"
    assert upstream.requests("plain")[-1]["headers"]["x-request-id"] == "req-abc.123"
    made = client.get("/health", headers={"x-request-id": "bad id with spaces"}).headers["x-request-id"]
    assert made != "bad id with spaces" and len(made) == 32


def test_cookies_an_upstream_sets_are_never_sent_back(start_app: StartApp, upstream: Upstream) -> None:
    """One pooled client serves every caller: a cookie one answer sets (a CDN's session cookie) must not
    ride on the next caller's request. The upstream is named by host name: cookies from IP addresses are
    dropped anyway."""
    app = start_app(routing=routing_table(upstream.url.replace("127.0.0.1", "localhost")))
    upstream.script("plain", ["set_cookie"])
    with app.client() as client:
        for _ in range(2):
            assert client.post("/generate", json={"prompt": "hi", "model": "plain"}).status_code == 200
    assert [r["headers"].get("cookie") for r in upstream.requests("plain")[-2:]] == [None, None]


def test_openai_client_non_streaming(app_server: AppProcess) -> None:
    oa = openai.OpenAI(base_url=f"{app_server.url}/v1", api_key=API_KEY)
    completion = oa.chat.completions.create(
        model="plain",
        messages=[
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": "hi"},
        ],
    )
    assert completion.choices[0].message.content == "The quick brown fox jumps"
    assert completion.usage is not None and completion.usage.completion_tokens == 5
    assert completion.model == "plain"


def test_openai_client_streaming_with_usage(app_server: AppProcess) -> None:
    oa = openai.OpenAI(base_url=f"{app_server.url}/v1", api_key=API_KEY)
    stream = oa.chat.completions.create(
        model="plain",
        messages=[{"role": "user", "content": "hi"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "The quick brown fox jumps"
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens == 5
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"


def test_openai_stream_without_usage_request_has_no_usage_chunk(
    client: httpx.Client,
) -> None:
    r = client.post(
        "/v1/chat/completions",
        json={
            "model": "plain",
            "stream": True,
            "messages": [{"role": "user", "content": "hi"}],
        },
    )
    events = [json.loads(d) for _, d in sse_events(r.text) if d != "[DONE]"]
    assert all(e["choices"] for e in events)
    assert r.text.rstrip().endswith("data: [DONE]")


def test_models_lists_aliases_and_auto(client: httpx.Client) -> None:
    ids = [m["id"] for m in client.get("/v1/models").json()["data"]]
    assert "plain" in ids and "claude" in ids and "auto" in ids


def test_chat_rejects_n_above_one(client: httpx.Client) -> None:
    r = client.post(
        "/v1/chat/completions",
        json={"model": "plain", "n": 2, "messages": [{"role": "user", "content": "x"}]},
    )
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "n"]


@pytest.mark.parametrize(
    ("messages", "max_tokens", "expected"),
    [
        ([{"role": "user", "content": "short question"}], 100, "small-model"),
        ([{"role": "user", "content": "x" * 4000}], 100, "medium-model"),
        ([{"role": "user", "content": "x" * 13_000}], 100, "large-model"),
        (
            [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}] * 4,
            50,
            "large-model",
        ),
    ],
)
def test_auto_picks_tier_by_documented_rule(client: httpx.Client, messages, max_tokens, expected) -> None:
    r = client.post(
        "/v1/chat/completions",
        json={"model": "auto", "messages": messages, "max_tokens": max_tokens},
    )
    assert r.status_code == 200, r.text
    assert r.headers["x-upstream-model"] == expected


def test_health_ready_metrics(client: httpx.Client) -> None:
    assert client.get("/health").json() == {"status": "ok"}
    ready = client.get("/ready")
    assert ready.status_code == 200
    assert ready.json()["checks"]["redis"] == "ok"
    client.post("/generate", json={"prompt": "hi"})
    metrics = client.get("/metrics").text
    for name in (
        "ai_http_request_duration_seconds_bucket",
        "ai_tokens_total",
        "ai_upstream_request_duration_seconds",
        "ai_circuit_state",
        "ai_cost_usd_total",
    ):
        assert name in metrics, name


def test_ready_is_503_when_redis_is_unreachable(start_app) -> None:
    app = start_app({"APP_REDIS_URL": "redis://127.0.0.1:1/0"})
    with app.client() as c:
        r = c.get("/ready")
    assert r.status_code == 503
    assert r.json()["checks"]["redis"].startswith("failed")
    assert r.json()["checks"]["providers"].startswith("ok")


def test_ready_is_503_when_no_provider_is_usable(start_app, upstream: Upstream) -> None:
    routing = {
        "providers": {
            "o": {
                "type": "openai",
                "base_url": f"{upstream.url}/v1",
                "api_key_env": "NOT_SET_KEY",
            }
        },
        "models": {"m": [{"provider": "o", "model": "m"}]},
    }
    app = start_app(routing=routing)
    with app.client() as c:
        r = c.get("/ready")
    assert r.status_code == 503
    assert "no API key configured" in r.json()["checks"]["providers"]


def test_openapi_schema_documents_the_limits(client: httpx.Client) -> None:
    schema = client.get("/openapi.json").json()
    generate = schema["components"]["schemas"]["GenerateRequest"]["properties"]
    assert generate["prompt"]["maxLength"] == 10_000
    assert generate["max_tokens"]["maximum"] == 4000
    assert generate["temperature"]["maximum"] == 2
    assert "/v1/chat/completions" in schema["paths"]
