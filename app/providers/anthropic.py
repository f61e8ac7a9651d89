"""Anthropic Messages API, translated to and from the OpenAI chat shape (streaming included)."""

from collections.abc import AsyncIterator
from typing import Any

import aiohttp

from app.providers.base import ChatRequest, Completion, Delta, HTTPProvider, ProviderError, Usage

API_VERSION = "2023-06-01"
DEFAULT_MAX_TOKENS = 1024
STOP_REASONS = {"end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length", "tool_use": "tool_calls"}


def to_messages_payload(request: ChatRequest, model: str, stream: bool) -> dict[str, Any]:
    """System and developer messages become `system`; consecutive same-role turns are merged."""
    system: list[str] = []
    messages: list[dict[str, str]] = []
    for message in request.messages:
        role = message["role"]
        if role in ("system", "developer"):
            system.append(message["content"])
            continue
        role = "assistant" if role == "assistant" else "user"
        if messages and messages[-1]["role"] == role:
            messages[-1]["content"] += "\n\n" + message["content"]
        else:
            messages.append({"role": role, "content": message["content"]})
    if not messages or messages[0]["role"] != "user":
        messages.insert(0, {"role": "user", "content": "(continue)"})
    payload: dict[str, Any] = {
        "model": model,
        "messages": messages,
        "max_tokens": request.max_tokens or DEFAULT_MAX_TOKENS,
    }
    if system:
        payload["system"] = "\n\n".join(system)
    if request.temperature is not None:
        payload["temperature"] = min(request.temperature, 1.0)  # Anthropic allows 0..1
    if request.top_p is not None:
        payload["top_p"] = request.top_p
    if request.stop:
        payload["stop_sequences"] = request.stop
    if stream:
        payload["stream"] = True
    return payload


class AnthropicProvider(HTTPProvider):
    kind = "anthropic"

    def __init__(self, name: str, client: aiohttp.ClientSession, base_url: str, api_key: str | None) -> None:
        super().__init__(name, client)
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key

    def usable(self) -> str | None:
        return None if self.api_key else "no API key configured"

    async def auth_headers(self) -> dict[str, str]:
        return {"x-api-key": self.api_key or "", "anthropic-version": API_VERSION}

    async def complete(self, request: ChatRequest, model: str) -> Completion:
        data = await self.post_json(f"{self.base_url}/messages", to_messages_payload(request, model, False))
        blocks = data.get("content")
        if not isinstance(blocks, list):
            raise ProviderError(self.name, "protocol", "response has no content list")
        text = "".join(b.get("text", "") for b in blocks if isinstance(b, dict) and b.get("type") == "text")
        usage = data.get("usage") or {}
        return Completion(
            text,
            STOP_REASONS.get(str(data.get("stop_reason")), "stop"),
            Usage(int(usage.get("input_tokens") or 0), int(usage.get("output_tokens") or 0)),
        )

    async def stream(self, request: ChatRequest, model: str) -> AsyncIterator[Delta]:
        """Text from content_block_delta; input tokens from message_start, output from message_delta."""
        usage = Usage()
        stopped = False
        finish: str | None = None
        payload = to_messages_payload(request, model, True)
        async for event, data in self.sse_events(f"{self.base_url}/messages", payload):
            body = self.decode(data)
            kind = body.get("type", event)
            if kind == "message_start":
                start_usage = (body.get("message") or {}).get("usage") or {}
                usage.prompt_tokens = int(start_usage.get("input_tokens") or 0)
                usage.completion_tokens = int(start_usage.get("output_tokens") or 0)
            elif kind == "content_block_delta":
                delta = body.get("delta") or {}
                if delta.get("type") == "text_delta" and delta.get("text"):
                    yield Delta(text=str(delta["text"]))
            elif kind == "message_delta":
                finish = STOP_REASONS.get(str((body.get("delta") or {}).get("stop_reason")), "stop")
                out = (body.get("usage") or {}).get("output_tokens")
                if out is not None:
                    usage.completion_tokens = int(out)
            elif kind == "message_stop":
                stopped = True
                break
            elif kind == "error":
                error = body.get("error") or {}
                retryable = error.get("type") in ("overloaded_error", "api_error", "rate_limit_error")
                raise ProviderError(self.name, "stream", str(error.get("message", error))[:300], retryable=retryable)
        if not stopped:
            raise ProviderError(self.name, "stream", "stream ended without message_stop")
        yield Delta(finish_reason=finish or "stop", usage=usage)
