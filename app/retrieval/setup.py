"""Start-up for retrieval: check the embedding setup before serving, then connect the store and caches."""

from typing import Any

from redis.asyncio import Redis

from app.providers.local import BUNDLED_DIM, BUNDLED_MODEL, model_path
from app.retrieval.cache import RetrievalCache
from app.retrieval.retriever import Retriever
from app.retrieval.semantic_cache import SemanticCache
from app.retrieval.store import DocumentStore
from app.routing import LocalConfig, RoutingConfig
from app.settings import Settings, SettingsError


def check(settings: Settings, routing: RoutingConfig) -> None:
    """Local embedding targets must name a model that exists, with the dimension APP_EMBEDDING_DIM says."""
    alias = settings.embedding_model
    if alias is None or alias not in routing.models:
        return
    for target in routing.models[alias]:
        if not isinstance(routing.providers[target.provider], LocalConfig):
            continue
        try:
            model_path(target.model)
        except ValueError as exc:
            raise SettingsError(f"APP_EMBEDDING_MODEL={alias!r}: models.{alias}: {exc}") from None
        if target.model == BUNDLED_MODEL and settings.embedding_dim != BUNDLED_DIM:
            raise SettingsError(
                f"APP_EMBEDDING_DIM (got {settings.embedding_dim}): {BUNDLED_MODEL} makes {BUNDLED_DIM}-dimensional "
                f"vectors; set APP_EMBEDDING_DIM={BUNDLED_DIM}"
            )


async def connect(settings: Settings, redis: Redis | None, database_args: dict[str, Any]) -> Retriever | None:
    """The retriever when APP_DATABASE_URL is set: tables created if missing, caches as configured."""
    if settings.database_url is None or settings.embedding_model is None:
        return None
    try:
        store = await DocumentStore.connect(
            settings.database_url.get_secret_value(),
            settings.embedding_dim,
            min(settings.max_connections, 20),
            **database_args,
        )
    except ValueError as exc:
        raise SettingsError(str(exc)) from None
    semantic = None
    try:
        if settings.semantic_cache:
            semantic = SemanticCache(store.pool, settings.embedding_dim, settings)
            await semantic.create()
    except ValueError as exc:
        await store.close()
        raise SettingsError(str(exc)) from None
    cache = None
    if redis is not None and settings.retrieval_cache_ttl_s > 0:
        cache = RetrievalCache(redis, settings.retrieval_cache_ttl_s, settings.embedding_model)
    return Retriever(
        store, settings.chunk_size, settings.chunk_overlap, settings.max_chunks_per_request, cache, semantic
    )
