"""Run the dataset against an app URL with bounded concurrency: answer, latency, cost, scores per item."""

import asyncio
import json
import re
import time
import uuid
from collections.abc import AsyncIterable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import yaml
from pydantic import ValidationError

from app.evals.dataset import Item
from app.evals.scorers import (
    Score,
    Verdict,
    blend,
    format_score,
    groundedness_checks,
    judge_messages,
    parse_verdict,
    relevance_checks,
)
from app.routing import Price

UNSAFE_ID = re.compile(r"[^A-Za-z0-9._:-]")


class EvalError(ValueError):
    """A run that cannot start (bad options, price table); the message says what to fix."""


@dataclass(frozen=True, slots=True)
class Options:
    url: str
    api_key: str | None = None
    model: str | None = None  # for items that name none
    judge_model: str | None = None
    judge_weight: float = 0.5
    concurrency: int = 4
    timeout_s: float = 60.0
    prices: dict[str, Price] = field(default_factory=dict)


@dataclass(slots=True)
class Answer:
    """What the app said to one request."""

    status: int
    latency_s: float
    ttft_s: float | None = None  # streamed answers: time to the first text
    text: str = ""
    sources: list[dict[str, Any]] = field(default_factory=list)
    usage: dict[str, int] | None = None
    provider: str | None = None
    model: str | None = None  # the upstream model that answered (X-Upstream-Model)
    cached: bool = False
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(slots=True)
class Outcome:
    item: Item
    answer: Answer
    scores: dict[str, Score]
    judge: str  # "off", "verdict", "unparseable: ...", "failed: ..."
    cost_usd: float | None
    judge_cost_usd: float | None = None


def load_prices(text: str, source: str) -> dict[str, Price]:
    """The `prices` of a routing table (USD per million tokens, by upstream model name)."""
    try:
        raw = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise EvalError(f"{source}: not YAML: {exc}") from None
    table = raw.get("prices", {}) if isinstance(raw, dict) else None
    if not isinstance(table, dict):
        raise EvalError(f"{source}: `prices` must map upstream model names to {{input, output}}")
    prices: dict[str, Price] = {}
    for name, value in table.items():
        try:
            prices[str(name)] = Price.model_validate(value)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise EvalError(f"{source}: prices.{name}{'.' + where if where else ''}: {first['msg']}") from None
    return prices


def cost_usd(prices: dict[str, Price], answer: Answer) -> float | None:
    """What the answer cost by the price table; 0 for cache hits; None when its model has no price."""
    if answer.cached:
        return 0.0
    if answer.usage is None or answer.model is None:
        return None
    price = prices.get(answer.model)
    if price is None:
        return None
    return (
        answer.usage.get("prompt_tokens", 0) * price.input + answer.usage.get("completion_tokens", 0) * price.output
    ) / 1e6


def _text(endpoint: str, payload: dict[str, Any], part: str) -> object:
    """The answer text of a JSON body (`part` "message") or of a stream chunk (`part` "delta")."""
    if endpoint == "generate":
        return payload.get("text")
    choices = payload.get("choices")
    first = choices[0] if isinstance(choices, list) and choices and isinstance(choices[0], dict) else {}
    return (first.get(part) or {}).get("content")


def _sources(payload: dict[str, Any]) -> list[dict[str, Any]] | None:
    found = payload.get("sources")
    return [s for s in found if isinstance(s, dict)] if isinstance(found, list) else None


def _usage(payload: dict[str, Any]) -> dict[str, int] | None:
    found = payload.get("usage")
    return {k: v for k, v in found.items() if isinstance(v, int)} if isinstance(found, dict) else None


def parse_answer(endpoint: str, body: object) -> tuple[str, list[dict[str, Any]], dict[str, int] | None]:
    """Text, sources and usage of a /generate or /v1/chat/completions JSON body; ValueError if it is neither."""
    if not isinstance(body, dict):
        raise ValueError("the body is not a JSON object")
    text = _text(endpoint, body, "message")
    if not isinstance(text, str):
        raise ValueError(f"no answer text in {sorted(body)}")
    return text, _sources(body) or [], _usage(body)


async def read_stream(lines: AsyncIterable[bytes], endpoint: str, answer: Answer, started: float) -> None:
    """Collect an SSE answer: text chunks, usage, a `sources` event; an error event or no [DONE] is an error."""
    parts: list[str] = []
    event: str | None = None
    async for raw in lines:
        line = raw.decode(errors="replace").rstrip("\r\n")
        if line.startswith("event:"):
            event = line[6:].strip()
            continue
        if not line.startswith("data:"):
            event = None if not line else event
            continue
        data = line[5:].strip()
        if data == "[DONE]":
            answer.text = "".join(parts)
            return
        try:
            payload = json.loads(data)
        except ValueError:
            answer.error = f"malformed stream chunk: {data[:100]!r}"
            return
        if not isinstance(payload, dict):
            continue
        if event == "error" or "error" in payload:
            answer.error = f"the stream failed: {json.dumps(payload.get('error', payload))[:300]}"
            return
        answer.sources = _sources(payload) or answer.sources
        answer.usage = _usage(payload) or answer.usage
        if (text := _text(endpoint, payload, "delta")) and isinstance(text, str):
            if answer.ttft_s is None:
                answer.ttft_s = time.perf_counter() - started
            parts.append(text)
    answer.error = "the stream ended without [DONE]"


def source_texts(answer: Answer) -> list[str]:
    return [s["text"] for s in answer.sources if isinstance(s.get("text"), str) and s["text"]]


class Runner:
    """One run: a pooled HTTP session, at most `concurrency` items in flight, the judge after each answer."""

    def __init__(self, options: Options) -> None:
        self.options = options
        self.run_id = uuid.uuid4().hex[:12]
        self.base = options.url.rstrip("/")

    def _headers(self, item_id: str, suffix: str = "") -> dict[str, str]:
        headers = {"x-request-id": f"eval-{self.run_id}-{UNSAFE_ID.sub('_', item_id)[:80]}{suffix}"}
        if self.options.api_key:
            headers["authorization"] = f"Bearer {self.options.api_key}"
        return headers

    async def _post(
        self, session: aiohttp.ClientSession, endpoint: str, body: dict[str, Any], headers: dict[str, str]
    ) -> Answer:
        """One request; latency to the last byte (and, streamed, to the first text)."""
        path = "/generate" if endpoint == "generate" else "/v1/chat/completions"
        started = time.perf_counter()
        answer = Answer(0, 0.0)
        try:
            async with session.post(self.base + path, json=body, headers=headers) as response:
                answer.status = response.status
                answer.provider = response.headers.get("x-upstream-provider")
                answer.model = response.headers.get("x-upstream-model")
                if response.status != 200:
                    raw = await response.read()
                    answer.error = f"HTTP {response.status}: {raw[:300].decode(errors='replace')}"
                elif body.get("stream"):
                    await read_stream(response.content, endpoint, answer, started)
                else:
                    try:
                        data = await response.json(content_type=None)
                        answer.text, answer.sources, answer.usage = parse_answer(endpoint, data)
                        answer.cached = data.get("cached") is True
                    except ValueError as exc:  # json's decode errors are ValueErrors too
                        answer.error = f"malformed answer: {exc}"
        except (aiohttp.ClientError, TimeoutError) as exc:
            answer.error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        answer.latency_s = time.perf_counter() - started
        return answer

    def _body(self, item: Item) -> dict[str, Any]:
        body: dict[str, Any] = {**item.params, "max_tokens": item.max_tokens, "temperature": item.temperature}
        model = item.model or self.options.model
        if item.prompt is not None:
            body["prompt"] = item.prompt
            if model is not None:
                body["model"] = model
        else:
            body["messages"] = [m.model_dump() for m in item.messages or []]
            body["model"] = model or "auto"
        if item.stream:
            body["stream"] = True
            if item.endpoint == "chat":
                body["stream_options"] = {"include_usage": True}
        return body

    async def _judge(
        self, session: aiohttp.ClientSession, item: Item, answer: Answer
    ) -> tuple[str, Verdict | None, float | None]:
        assert self.options.judge_model is not None
        body = {
            "model": self.options.judge_model,
            "messages": judge_messages(item, answer.text, source_texts(answer)),
            "temperature": 0,
            "max_tokens": 300,
        }
        judged = await self._post(session, "chat", body, self._headers(item.id, ":judge"))
        cost = cost_usd(self.options.prices, judged)
        if not judged.ok:
            return f"failed: {judged.error}", None, cost
        verdict = parse_verdict(judged.text)
        if verdict is None:
            return f"unparseable: {judged.text[:80]!r}", None, cost
        return "verdict", verdict, cost

    async def evaluate(self, session: aiohttp.ClientSession, item: Item) -> Outcome:
        answer = await self._post(session, item.endpoint, self._body(item), self._headers(item.id))
        if not answer.ok:
            failed = Score(0.0, "deterministic", [f"no answer: {answer.error}"])
            grounded = failed if item.expect_sources else Score(None, "n/a", ["no answer"])
            return Outcome(item, answer, {"format": failed, "relevance": failed, "groundedness": grounded}, "off", None)
        sources = source_texts(answer)
        scores = {
            "format": format_score(item, answer.text),
            "relevance": relevance_checks(item, answer.text),
            "groundedness": groundedness_checks(item, answer.text, sources),
        }
        judge, judge_cost = "off", None
        if self.options.judge_model is not None:
            judge, verdict, judge_cost = await self._judge(session, item, answer)
            if verdict is not None:
                w = self.options.judge_weight
                scores["relevance"] = blend(scores["relevance"], verdict.scale(verdict.relevance), w)
                if sources and verdict.groundedness is not None:
                    scores["groundedness"] = blend(scores["groundedness"], verdict.scale(verdict.groundedness), w)
        return Outcome(item, answer, scores, judge, cost_usd(self.options.prices, answer), judge_cost)

    async def run(self, items: list[Item]) -> list[Outcome]:
        limit = asyncio.Semaphore(self.options.concurrency)
        timeout = aiohttp.ClientTimeout(total=self.options.timeout_s)
        connector = aiohttp.TCPConnector(limit=self.options.concurrency * 2)

        async def bounded(item: Item) -> Outcome:
            async with limit:
                return await self.evaluate(session, item)

        async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
            return list(await asyncio.gather(*(bounded(item) for item in items)))
