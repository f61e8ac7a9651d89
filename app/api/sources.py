"""How retrieval-augmented answers cite their sources: the X-Sources header and one SSE event before [DONE]."""

from typing import Any

from fastapi.responses import Response

from app.api.deps import Frames, sse
from app.providers.base import Usage
from app.schemas import Source


def source_dicts(sources: list[Source]) -> list[dict[str, Any]]:
    return [s.model_dump() for s in sources]


class SourcedFrames(Frames):
    """Another API's frames, plus `event` (carrying the sources) after its last frame, just before [DONE]."""

    def __init__(self, inner: Frames, event: dict[str, Any]) -> None:
        self.inner = inner
        self.event = event

    def start(self) -> list[bytes]:
        return self.inner.start()

    def text(self, text: str) -> bytes:
        return self.inner.text(text)

    def error(self, message: str) -> bytes:
        return self.inner.error(message)

    def end(self, finish: str, usage: Usage | None) -> list[bytes]:
        return [*self.inner.end(finish, usage), sse(self.event)]


def cite(response: Response, sources: list[Source] | None) -> Response:
    """X-Sources: the cited chunk ids, comma-separated (empty when nothing was found); only with retrieval."""
    if sources is not None:
        response.headers["x-sources"] = ",".join(s.id for s in sources)
    return response
