"""The provider contract and the HTTP plumbing (errors, SSE) that every HTTP provider shares."""

import email.utils
import json
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from multidict import CIMultiDictProxy

from app.observability import current_request_id, inject_trace_headers


@dataclass(slots=True)
class ChatRequest:
    """A provider-neutral chat request in the OpenAI shape (content flattened to text)."""

    messages: list[dict[str, str]]
    max_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    stop: list[str] | None = None
    seed: int | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None

    def prompt_chars(self) -> int:
        return sum(len(m["content"]) for m in self.messages)

    def cache_fields(self) -> dict[str, Any]:
        return {
            "messages": self.messages,
            "max_tokens": self.max_tokens,
            "temperature": self.temperature,
            "top_p": self.top_p,
            "stop": self.stop,
            "seed": self.seed,
            "presence_penalty": self.presence_penalty,
            "frequency_penalty": self.frequency_penalty,
        }


@dataclass(slots=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass(slots=True)
class Completion:
    text: str
    finish_reason: str = "stop"
    usage: Usage | None = None


@dataclass(slots=True)
class Delta:
    """One streamed piece: text, and on the last pieces the finish reason and usage."""

    text: str = ""
    finish_reason: str | None = None
    usage: Usage | None = None


@dataclass(slots=True)
class ProviderError(Exception):
    """An upstream failure, classified for the retry and fallback policy."""

    provider: str
    kind: str  # timeout, connect, status_429, status_5xx, status_4xx, auth, protocol, stream
    message: str
    status: int | None = None
    retry_after: float | None = None
    retryable: bool = True
    client_error: bool = False  # the request itself is bad: no fallback, tell the client
    extra: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.provider}: {self.kind}: {self.message}"


def parse_retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds to wait from retry-after-ms, or Retry-After as seconds or an HTTP date."""
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return max(0.0, float(ms) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        when = email.utils.parsedate_to_datetime(value) if value else None
        return None if when is None else max(0.0, when.timestamp() - time.time())


def status_error(provider: str, status: int, headers: "CIMultiDictProxy[str]", body: bytes) -> ProviderError:
    """Map an upstream status to a ProviderError (429/5xx retryable, 401/403 fall back, 4xx client)."""
    detail = body[:500].decode("utf-8", "replace")
    retry_after = parse_retry_after(headers) if status in (429, 503) else None
    if status == 429:
        return ProviderError(provider, "status_429", detail, status, retry_after)
    if status >= 500:
        return ProviderError(provider, "status_5xx", detail, status, retry_after)
    if status in (401, 403):
        return ProviderError(provider, "auth", detail, status, retryable=False)
    return ProviderError(provider, "status_4xx", detail, status, retryable=False, client_error=True)


def transport_error(provider: str, exc: Exception) -> ProviderError:
    """Timeouts, refused or reset connections, and cut bodies (e.g. an incomplete chunked stream)."""
    if isinstance(exc, TimeoutError):  # aiohttp's ServerTimeoutError is one too
        return ProviderError(provider, "timeout", type(exc).__name__)
    if isinstance(exc, aiohttp.ClientConnectorError):
        return ProviderError(provider, "connect", str(exc) or type(exc).__name__)
    return ProviderError(provider, "protocol", f"{type(exc).__name__}: {exc}")


def estimate_tokens(chars: int) -> int:
    """Rough token count (4 characters a token) for when an upstream reports no usage."""
    return max(1, (chars + 3) // 4)


class Provider:
    """Base class: a named upstream that completes and streams ChatRequests."""

    name: str
    kind: str

    async def complete(self, request: ChatRequest, model: str) -> Completion:
        raise NotImplementedError

    def stream(self, request: ChatRequest, model: str) -> AsyncIterator[Delta]:
        raise NotImplementedError

    async def embed(self, texts: list[str], model: str) -> list[list[float]]:
        raise ProviderError(
            self.name, "status_4xx", f"{self.kind} has no embeddings API here", 400, retryable=False, client_error=True
        )

    def usable(self) -> str | None:
        """None when the provider can be called; otherwise why not (e.g. a missing credential)."""
        return None

    async def aclose(self) -> None:
        return None


class HTTPProvider(Provider):
    """Shared HTTP behaviour: one pooled client, request-ID and trace propagation, SSE parsing."""

    def __init__(self, name: str, client: aiohttp.ClientSession) -> None:
        self.name = name
        self.client = client

    async def auth_headers(self) -> dict[str, str]:
        return {}

    async def _headers(self) -> dict[str, str]:
        headers = {"content-type": "application/json", **await self.auth_headers()}
        request_id = current_request_id()
        if request_id:
            headers["x-request-id"] = request_id
        inject_trace_headers(headers)
        return headers

    async def post_json(self, url: str, payload: dict[str, Any]) -> dict[str, Any]:
        headers = await self._headers()
        try:
            async with self.client.post(url, data=json.dumps(payload), headers=headers) as response:
                body = await response.read()
                if response.status >= 400:
                    raise status_error(self.name, response.status, response.headers, body)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise transport_error(self.name, exc) from exc
        try:
            data = json.loads(body)
        except ValueError as exc:
            raise ProviderError(self.name, "protocol", "upstream returned invalid JSON") from exc
        if not isinstance(data, dict):
            raise ProviderError(self.name, "protocol", "upstream returned a non-object JSON body")
        return data

    async def sse_events(self, url: str, payload: dict[str, Any]) -> AsyncIterator[tuple[str, str]]:
        """Yield (event, data) pairs of an upstream Server-Sent Events response."""
        headers = await self._headers()
        headers["accept"] = "text/event-stream"
        try:
            async with self.client.post(url, data=json.dumps(payload), headers=headers) as response:
                if response.status >= 400:
                    raise status_error(self.name, response.status, response.headers, await response.read())
                event, data = "", []
                async for raw in response.content:
                    line = raw.decode("utf-8", "replace").rstrip("\r\n")
                    if not line:
                        if data:
                            yield event or "message", "\n".join(data)
                        event, data = "", []
                    elif line.startswith(":"):
                        continue
                    elif line.startswith("data:"):
                        data.append(line[5:].lstrip(" "))
                    elif line.startswith("event:"):
                        event = line[6:].strip()
                if data:
                    yield event or "message", "\n".join(data)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise transport_error(self.name, exc) from exc

    def decode(self, data: str) -> dict[str, Any]:
        try:
            obj = json.loads(data)
        except ValueError as exc:
            raise ProviderError(self.name, "stream", f"malformed stream chunk: {data[:80]!r}") from exc
        if not isinstance(obj, dict):
            raise ProviderError(self.name, "stream", f"malformed stream chunk: {data[:80]!r}")
        return obj
