"""OpenAI and any OpenAI-compatible server (vLLM, Ollama, llama.cpp) by base URL."""

from collections.abc import AsyncIterator
from typing import Any

import aiohttp

from app.providers.base import ChatRequest, Completion, Delta, HTTPProvider, ProviderError, Usage


def openai_payload(request: ChatRequest, model: str | None, stream: bool, stream_usage: bool) -> dict[str, Any]:
    payload: dict[str, Any] = {"messages": request.messages}
    if model is not None:
        payload["model"] = model
    for key in ("max_tokens", "temperature", "top_p", "stop", "seed", "presence_penalty", "frequency_penalty"):
        value = getattr(request, key)
        if value is not None:
            payload[key] = value
    if stream:
        payload["stream"] = True
        if stream_usage:
            payload["stream_options"] = {"include_usage": True}
    return payload


def _usage(data: Any) -> Usage | None:
    if not isinstance(data, dict):
        return None
    return Usage(int(data.get("prompt_tokens") or 0), int(data.get("completion_tokens") or 0))


class OpenAIProvider(HTTPProvider):
    """Chat Completions over HTTP; `stream_usage` asks for the final usage chunk."""

    kind = "openai"

    def __init__(
        self,
        name: str,
        client: aiohttp.ClientSession,
        base_url: str,
        api_key: str | None,
        *,
        stream_usage: bool = True,
        require_key: bool = True,
    ) -> None:
        super().__init__(name, client)
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.stream_usage = stream_usage
        self.require_key = require_key

    def usable(self) -> str | None:
        if self.require_key and not self.api_key:
            return "no API key configured"
        return None

    async def auth_headers(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.api_key}"} if self.api_key else {}

    def url(self, model: str, operation: str = "chat/completions") -> str:
        return f"{self.base_url}/{operation}"

    def body_model(self, model: str) -> str | None:
        return model

    async def complete(self, request: ChatRequest, model: str) -> Completion:
        data = await self.post_json(self.url(model), openai_payload(request, self.body_model(model), False, False))
        try:
            choice = data["choices"][0]
            text = choice["message"].get("content") or ""
        except (KeyError, IndexError, TypeError, AttributeError) as exc:
            raise ProviderError(self.name, "protocol", "response has no choices[0].message") from exc
        return Completion(str(text), choice.get("finish_reason") or "stop", _usage(data.get("usage")))

    async def embed(self, texts: list[str], model: str) -> list[list[float]]:
        """The Embeddings API (OpenAI, Azure, vLLM, Ollama), vectors in input order."""
        payload: dict[str, Any] = {"input": texts}
        body_model = self.body_model(model)
        if body_model is not None:
            payload["model"] = body_model
        data = await self.post_json(self.url(model, "embeddings"), payload)
        try:
            rows = sorted(data["data"], key=lambda row: row["index"])
            vectors = [[float(x) for x in row["embedding"]] for row in rows]
        except (KeyError, TypeError, ValueError) as exc:
            raise ProviderError(self.name, "protocol", "embeddings response has no data[].embedding") from exc
        if len(vectors) != len(texts):
            raise ProviderError(self.name, "protocol", f"{len(vectors)} embeddings for {len(texts)} inputs")
        return vectors

    async def stream(self, request: ChatRequest, model: str) -> AsyncIterator[Delta]:
        payload = openai_payload(request, self.body_model(model), True, self.stream_usage)
        done = False
        async for _event, data in self.sse_events(self.url(model), payload):
            if data.strip() == "[DONE]":
                done = True
                break
            chunk = self.decode(data)
            if "error" in chunk:
                raise ProviderError(self.name, "stream", str(chunk["error"])[:300])
            usage = _usage(chunk.get("usage"))
            choices = chunk.get("choices") or []
            if not isinstance(choices, list):
                raise ProviderError(self.name, "stream", "malformed stream chunk: choices is not a list")
            delta = Delta(usage=usage)
            if choices:
                choice = choices[0] if isinstance(choices[0], dict) else {}
                content = (choice.get("delta") or {}).get("content")
                delta.text = content if isinstance(content, str) else ""
                delta.finish_reason = choice.get("finish_reason")
            if delta.text or delta.finish_reason or delta.usage:
                yield delta
        if not done:
            raise ProviderError(self.name, "stream", "stream ended without [DONE]")
