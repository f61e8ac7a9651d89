"""The deterministic dev provider: offline runs and load tests only, off unless APP_DEV_PROVIDER=true.

It answers from the prompt itself (no model), so the same request always gets the same text.
"""

import hashlib
from collections.abc import AsyncIterator

from app.providers.base import ChatRequest, Completion, Delta, Provider, Usage, estimate_tokens

WORDS = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet", "kilo", "lima"]


class DevProvider(Provider):
    kind = "dev"

    def __init__(self, name: str = "dev") -> None:
        self.name = name

    def _text(self, request: ChatRequest) -> str:
        """Three bullet lines of max(3, min(max_tokens, 24)) words picked by the prompt's hash."""
        seed = hashlib.sha256(request.messages[-1]["content"].encode()).digest()
        count = max(3, min(request.max_tokens or 24, 24))
        words = [WORDS[b % len(WORDS)] for b in seed[:count]]
        per = count // 3
        lines = [words[:per], words[per : 2 * per], words[2 * per :]]
        return "\n".join("- " + " ".join(line) for line in lines)

    def _usage(self, request: ChatRequest, text: str) -> Usage:
        return Usage(estimate_tokens(request.prompt_chars()), estimate_tokens(len(text)))

    async def complete(self, request: ChatRequest, model: str) -> Completion:
        text = self._text(request)
        return Completion(text, "stop", self._usage(request, text))

    async def stream(self, request: ChatRequest, model: str) -> AsyncIterator[Delta]:
        text = self._text(request)
        pieces = text.split(" ")
        for i, piece in enumerate(pieces):
            yield Delta(text=piece if i == 0 else " " + piece)
        yield Delta(finish_reason="stop", usage=self._usage(request, text))
