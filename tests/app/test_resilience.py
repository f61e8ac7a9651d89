"""Retries, Retry-After, timeouts, fallback, circuit breaking, streaming failures and graceful shutdown."""

import json
import re
import signal
import threading
import time

import httpx
import openai
import pytest

from tests.app.support import API_KEY, AppProcess, StartApp, Upstream, sse_events

CHAT = [{"role": "user", "content": "hi"}]


def circuit_state(client: httpx.Client, model: str) -> float:
    metrics = client.get("/metrics").text
    match = re.search(
        rf'ai_circuit_state\{{model="{re.escape(model)}",provider="primary"\}} (\S+)',
        metrics,
    )
    assert match, f"no circuit gauge for {model}"
    return float(match.group(1))


def test_falls_back_to_next_target_after_retrying_5xx(client: httpx.Client, upstream: Upstream) -> None:
    upstream.script("fb-a", ["status=500", "status=503"])
    before_a, before_b = len(upstream.requests("fb-a")), len(upstream.requests("fb-b"))
    r = client.post("/generate", json={"prompt": "hi", "model": "fallback"})
    assert r.status_code == 200, r.text
    assert r.headers["x-upstream-provider"] == "backup"
    assert len(upstream.requests("fb-a")) == before_a + 2  # the first try and one retry
    assert len(upstream.requests("fb-b")) == before_b + 1
    assert 'ai_fallbacks_total{model="fb-a",provider="primary",reason="status_5xx"}' in client.get("/metrics").text


def test_retry_after_is_honoured_before_retrying_the_same_target(client: httpx.Client, upstream: Upstream) -> None:
    upstream.script("r429-a", ["status=429;retry_after=1"])
    r = client.post("/generate", json={"prompt": "hi", "model": "retry429"})
    assert r.status_code == 200
    assert r.headers["x-upstream-provider"] == "primary"
    first, second = upstream.requests("r429-a")[-2:]
    assert second["t"] - first["t"] >= 0.95


def test_long_retry_after_falls_back_at_once(client: httpx.Client, upstream: Upstream) -> None:
    before = len(upstream.requests("r429-a"))
    upstream.script("r429-a", ["status=429;retry_after=30"])
    r = client.post("/generate", json={"prompt": "hi", "model": "retry429"})
    assert r.status_code == 200
    assert r.headers["x-upstream-provider"] == "backup"
    assert len(upstream.requests("r429-a")) == before + 1


def test_read_timeout_falls_back(client: httpx.Client, upstream: Upstream) -> None:
    r = client.post("/generate", json={"prompt": "hi", "model": "slow"})
    assert r.status_code == 200
    assert r.headers["x-upstream-model"] == "slow-b"


def test_connection_reset_falls_back(client: httpx.Client, upstream: Upstream) -> None:
    r = client.post("/v1/chat/completions", json={"model": "reset", "messages": CHAT})
    assert r.status_code == 200
    assert r.headers["x-upstream-model"] == "reset-b"


def test_circuit_opens_skips_target_then_half_opens(client: httpx.Client, upstream: Upstream) -> None:
    upstream.script("br-a", ["status=500"] * 4)
    for _ in range(2):  # 2 + 1 failures reach the threshold of 3
        assert client.post("/generate", json={"prompt": "hi", "model": "breaker"}).status_code == 200
    assert len(upstream.requests("br-a")) == 3
    assert circuit_state(client, "br-a") == 2
    r = client.post("/generate", json={"prompt": "hi", "model": "breaker"})
    assert r.headers["x-upstream-model"] == "br-b"
    assert len(upstream.requests("br-a")) == 3  # open: not called
    time.sleep(1.6)
    client.post("/generate", json={"prompt": "hi", "model": "breaker"})  # half-open probe fails
    assert len(upstream.requests("br-a")) == 4
    assert circuit_state(client, "br-a") == 2
    time.sleep(1.6)
    r = client.post("/generate", json={"prompt": "hi", "model": "breaker"})  # probe succeeds
    assert r.headers["x-upstream-model"] == "br-a"
    assert circuit_state(client, "br-a") == 0


def test_all_targets_failing_is_502(client: httpx.Client) -> None:
    r = client.post("/generate", json={"prompt": "hi", "model": "broken"})
    assert r.status_code == 502
    assert "status_5xx" in r.json()["detail"]
    r = client.post("/generate", json={"prompt": "hi", "model": "broken", "stream": True})
    assert r.status_code in (502, 503)
    assert r.headers["content-type"].startswith("application/json")


def test_upstream_400_is_returned_without_fallback(client: httpx.Client, upstream: Upstream) -> None:
    upstream.script("fb-a", ["status=400"])
    before = len(upstream.requests("fb-b"))
    r = client.post("/generate", json={"prompt": "hi", "model": "fallback"})
    assert r.status_code == 400
    assert len(upstream.requests("fb-b")) == before


def test_stream_falls_back_before_the_first_byte(client: httpx.Client, upstream: Upstream) -> None:
    upstream.script("sf-a", ["status=503", "reset"])
    r = client.post(
        "/v1/chat/completions",
        json={"model": "stream-fallback", "messages": CHAT, "stream": True},
    )
    assert r.status_code == 200
    assert r.headers["x-upstream-model"] == "sf-b"
    events = sse_events(r.text)
    assert events[-1][1] == "[DONE]"
    text = "".join(json.loads(d)["choices"][0]["delta"].get("content", "") for _, d in events[:-1])
    assert text == "The quick brown fox jumps"


def test_malformed_first_chunk_falls_back(client: httpx.Client) -> None:
    r = client.post("/generate", json={"prompt": "hi", "model": "malformed", "stream": True})
    assert r.status_code == 200
    assert r.headers["x-upstream-model"] == "mf-b"
    assert r.text.endswith("data: [DONE]\n\n")


def test_midstream_disconnect_ends_with_error_and_no_done(client: httpx.Client, upstream: Upstream) -> None:
    before = len(upstream.requests("ms-b"))
    r = client.post("/generate", json={"prompt": "hi", "model": "midstream", "stream": True})
    assert r.status_code == 200
    events = sse_events(r.text)
    assert [json.loads(d)["text"] for _, d in events[:2]] == ["The", " quick"]
    assert events[-1][0] == "error"
    assert "upstream stream failed" in json.loads(events[-1][1])["error"]["message"]
    assert "data: [DONE]" not in r.text
    assert len(upstream.requests("ms-b")) == before  # no fallback after the first byte


def test_stream_without_done_is_an_error_not_a_false_done(client: httpx.Client) -> None:
    r = client.post(
        "/v1/chat/completions",
        json={"model": "no-done", "messages": CHAT, "stream": True},
    )
    assert "data: [DONE]" not in r.text
    last = json.loads(sse_events(r.text)[-1][1])
    assert "without [DONE]" in last["error"]["message"]


def test_openai_client_sees_midstream_failure_as_an_error(
    app_server: AppProcess,
) -> None:
    oa = openai.OpenAI(base_url=f"{app_server.url}/v1", api_key=API_KEY, max_retries=0)
    stream = oa.chat.completions.create(model="midstream", messages=CHAT, stream=True)  # type: ignore[arg-type]
    with pytest.raises(openai.APIError):
        for _ in stream:
            pass


def test_graceful_shutdown_drains_inflight_stream(start_app: StartApp) -> None:
    app = start_app()
    body: dict[str, str] = {}
    first_chunk = threading.Event()

    def consume() -> None:
        with (
            app.client() as c,
            c.stream(
                "POST",
                "/generate",
                json={"prompt": "hi", "model": "slow-stream", "stream": True},
            ) as r,
        ):
            parts = []
            for piece in r.iter_text():
                parts.append(piece)
                first_chunk.set()
            body["text"] = "".join(parts)

    worker = threading.Thread(target=consume)
    worker.start()
    assert first_chunk.wait(10)
    app.proc.send_signal(signal.SIGTERM)
    worker.join(30)
    assert body["text"].endswith("data: [DONE]\n\n")
    assert len([e for e in sse_events(body["text"]) if e[1].startswith('{"text"')]) == 10
    # uvicorn re-raises SIGTERM after a clean shutdown, so the exit status is the signal's
    assert app.proc.wait(30) in (0, -signal.SIGTERM)
    assert any("Finished server process" in e.get("message", "") for e in app.logs())
