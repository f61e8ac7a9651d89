"""Anthropic translation (requests, answers, stream events, usage) and Azure OpenAI (API key, Entra ID)."""

import json

import httpx

from tests.app.support import StartApp, Upstream, sse_events


def test_anthropic_request_translation_and_answer(client: httpx.Client, upstream: Upstream) -> None:
    messages = [
        {"role": "system", "content": "Be terse."},
        {"role": "user", "content": "part one"},
        {"role": "user", "content": [{"type": "text", "text": "part two"}]},
        {"role": "assistant", "content": "ok"},
        {"role": "user", "content": "go"},
    ]
    r = client.post(
        "/v1/chat/completions",
        json={
            "model": "claude",
            "messages": messages,
            "temperature": 1.7,
            "stop": "END",
        },
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["choices"][0]["message"]["content"] == "The quick brown fox jumps over the"
    assert body["choices"][0]["finish_reason"] == "stop"
    sent = upstream.requests("claude-x;chunks=7")[-1]
    assert sent["headers"]["x-api-key"] == "sk-ant-000000000000"
    assert sent["headers"]["anthropic-version"] == "2023-06-01"
    assert sent["body"]["system"] == "Be terse."
    assert sent["body"]["messages"] == [
        {"role": "user", "content": "part one\n\npart two"},
        {"role": "assistant", "content": "ok"},
        {"role": "user", "content": "go"},
    ]
    assert sent["body"]["temperature"] == 1.0
    assert sent["body"]["stop_sequences"] == ["END"]
    assert sent["body"]["max_tokens"] == 1024
    input_tokens = (len("part one") + len("part two") + 2 + len("ok") + len("go") + len("Be terse.")) // 4 + 1
    assert body["usage"] == {
        "prompt_tokens": input_tokens,
        "completion_tokens": 7,
        "total_tokens": input_tokens + 7,
    }


def test_anthropic_stream_translation_with_usage(client: httpx.Client) -> None:
    r = client.post(
        "/v1/chat/completions",
        json={
            "model": "claude",
            "stream": True,
            "stream_options": {"include_usage": True},
            "messages": [{"role": "user", "content": "x" * 40}],
        },
    )
    assert r.status_code == 200
    events = sse_events(r.text)
    assert events[-1][1] == "[DONE]"
    chunks = [json.loads(d) for _, d in events[:-1]]
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"])
    assert text == "The quick brown fox jumps over the"
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"
    # input tokens from message_start (40 // 4 + 1), output tokens from message_delta (7)
    assert chunks[-1]["usage"] == {
        "prompt_tokens": 11,
        "completion_tokens": 7,
        "total_tokens": 18,
    }


def test_anthropic_error_event_mid_stream_ends_with_error(client: httpx.Client) -> None:
    r = client.post("/generate", json={"prompt": "hi", "model": "claude-error", "stream": True})
    events = sse_events(r.text)
    assert events[-1][0] == "error"
    assert "Overloaded" in json.loads(events[-1][1])["error"]["message"]
    assert "data: [DONE]" not in r.text


def test_azure_with_api_key(client: httpx.Client, upstream: Upstream) -> None:
    r = client.post("/generate", json={"prompt": "hi", "model": "azure"})
    assert r.status_code == 200, r.text
    sent = upstream.requests("dep-1")[-1]
    assert sent["kind"] == "azure"
    assert sent["headers"]["api-key"] == "azure-key-000000000000"
    assert "model" not in sent["body"]


def test_azure_with_entra_id_managed_identity(start_app: StartApp, upstream: Upstream) -> None:
    routing = {
        "providers": {"az": {"type": "azure_openai", "endpoint": upstream.url, "auth": "entra"}},
        "models": {"gpt": [{"provider": "az", "model": "dep-entra"}]},
    }
    app = start_app(
        {
            "IDENTITY_ENDPOINT": f"{upstream.url}/msi/token",
            "IDENTITY_HEADER": "fake-identity-header",
        },
        routing,
    )
    with app.client() as c:
        for _ in range(2):
            assert c.post("/generate", json={"prompt": "hi", "model": "gpt"}).status_code == 200
    sent = upstream.requests("dep-entra")
    assert [s["headers"]["authorization"] for s in sent[-2:]] == ["Bearer entra-token-1"] * 2
    assert "api-key" not in sent[-1]["headers"]
