"""The FastAPI application factory; `uvicorn app.main:app` serves it."""

import gc
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
from fastapi import Depends, FastAPI
from redis.asyncio import Redis

from app.api import documents, jobs, native, openai_compat, ops, sessions
from app.api.body_route import fast_lanes
from app.auth import Authenticator
from app.cache import ResponseCache
from app.errors import install_error_handlers, strict_json_body
from app.jobs import open_jobs
from app.jobs.models import JOB_REQUESTS
from app.limits import Limiter, MemoryStore, RedisStore, Store
from app.memory.conversation import Memory, summary_alias
from app.middleware import wrap
from app.observability import setup_logging, setup_tracing, shutdown_tracing
from app.resilience import Executor
from app.retrieval import setup as retrieval_setup
from app.routing import Router, build_provider, load_routing
from app.service import Gateway
from app.settings import Settings, SettingsError, get_settings

log = logging.getLogger("app")


def create_app(settings: Settings | None = None) -> FastAPI:
    """Validate everything that can be validated before serving, then wire the app."""
    settings = settings or get_settings()
    setup_logging(settings)
    setup_tracing(settings)
    routing = load_routing(settings)
    authenticator = Authenticator(settings)
    if settings.embedding_model is not None and settings.embedding_model not in routing.models:
        raise SettingsError(
            f"APP_EMBEDDING_MODEL={settings.embedding_model!r} is not a model alias of the routing table "
            f"({', '.join(routing.models) or 'none'})"
        )
    memory_on = settings.memory_enabled and settings.redis_url is not None  # conversation memory (app/memory/)
    if memory_on:
        summary_alias(routing, settings.memory_summary_model)  # a bad APP_MEMORY_SUMMARY_MODEL stops start-up
    retrieval_setup.check(settings, routing)
    database_args: dict[str, Any] = {}
    if settings.database_instance is not None:
        from app.cloudsql import cloudsql_connect_args

        database_args = cloudsql_connect_args(settings)
    elif settings.database_iam_auth:
        from app.rds_iam import iam_connect_args

        database_args = iam_connect_args(settings)
    elif settings.database_entra_auth:
        from app.entra import entra_connect_args

        database_args = entra_connect_args(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # One pooled session for every provider: keep-alive connections, bounded in number.
        client = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(
                total=None, connect=settings.connect_timeout_s, sock_read=settings.read_timeout_s
            ),
            connector=aiohttp.TCPConnector(limit=settings.max_connections, keepalive_timeout=30),
            auto_decompress=True,
            # every caller shares this client: a cookie one answer sets must not ride on the next request
            cookie_jar=aiohttp.DummyCookieJar(),
            raise_for_status=False,
        )
        providers = {name: build_provider(name, config, client) for name, config in routing.providers.items()}
        router = Router(routing, providers, settings)
        checks: dict[str, Callable[[], Awaitable[Any]]] = {}
        redis: Redis | None = None
        limits_redis: Redis | None = None
        store: Store = MemoryStore()
        cache: ResponseCache | None = None
        if settings.redis_url is not None:
            redis = _connect_redis(settings, socket_timeout=2)
            # the limiter bounds each batch itself: redis-py's per-command timeout costs a task per command
            limits_redis = _connect_redis(settings, socket_timeout=None)
            store = RedisStore(limits_redis, timeout_s=2)
            checks["redis"] = redis.ping
            if settings.cache_ttl_s > 0:
                cache = ResponseCache(redis, settings.cache_ttl_s)
        retriever = await retrieval_setup.connect(settings, redis, database_args)
        if retriever is not None:
            checks["postgres"] = retriever.store.ping
        app.state.retriever = retriever
        limiter = Limiter(settings, store)
        app.state.gateway = Gateway(router, Executor(settings), limiter, cache, settings.embedding_model, retriever)
        app.state.memory = (
            await Memory.start(settings, redis, retriever and retriever.store.pool, app.state.gateway, routing)
            if memory_on and redis is not None
            else None
        )
        app.state.authenticator = authenticator
        app.state.jobs = open_jobs(settings, redis)  # async jobs: None unless APP_QUEUE_BACKEND is set
        app.state.dependency_checks = checks
        app.state.response_streaming = settings.response_streaming
        gc.freeze()  # start-up objects never need collecting: shorter GC pauses on the request path
        log.info("ready to serve", extra={"providers": sorted(providers), "models": router.model_names()})
        try:
            yield
        finally:
            # uvicorn has already drained in-flight requests and streams (APP_GRACEFUL_SHUTDOWN_S)
            if app.state.memory is not None:
                await app.state.memory.close()  # pending summaries still need the providers and Redis
            for provider in providers.values():
                await provider.aclose()
            await client.close()
            await limiter.aclose()  # queued settlements reach Redis before its pool closes
            for connection in (redis, limits_redis):
                if connection is not None:
                    await connection.aclose()
            if retriever is not None:
                await retriever.store.close()
            connector = database_args.get("connect")
            if connector is not None:
                await connector.close()  # the Cloud SQL connector's certificate refresh tasks
            if app.state.jobs is not None:
                await app.state.jobs.close()
            shutdown_tracing()

    app = FastAPI(
        title="AI API gateway",
        version="1.0.0",
        description="Generation, summaries and an OpenAI-compatible API in front of several LLM providers.",
        lifespan=lifespan,
        dependencies=[Depends(strict_json_body)],  # NaN, 1e400, lone surrogates: 422 even in ignored fields
        # The app makes its own server span, Prometheus metrics and access log (app/middleware.py);
        # FastAPI's native OpenTelemetry layer would do the same work a second time per request.
        telemetry={"tracing": False, "metrics": False, "logs": False, "operation_spans": False},
    )
    app.include_router(native.router)
    app.include_router(openai_compat.router)
    app.include_router(ops.router)
    if settings.database_url is not None:
        app.include_router(documents.router)
    if memory_on:
        app.include_router(sessions.router)
    if settings.queue_backend is not None:
        app.include_router(jobs.router)
    install_error_handlers(app)
    # the generation routes skip the inner stack (app/api/body_route.py); every other route goes through it
    routers = [native.router, openai_compat.router]
    wrap(app, bool(settings.otlp_endpoint), settings.max_body_bytes, lambda: fast_lanes(app, routers))
    _document_models(app, [*routing.models, *(["auto", *routing.tiers] if routing.tiers else [])])
    return app


def _connect_redis(settings: Settings, socket_timeout: float | None) -> Redis:
    assert settings.redis_url is not None
    credentials = None
    if settings.redis_entra_auth:
        from app.entra import redis_credentials

        credentials = redis_credentials(settings)
    # a server signed by a private CA (Memorystore: one per instance) is verified against that CA
    tls: dict[str, Any] = {"ssl_ca_data": settings.redis_ca_cert} if settings.redis_ca_cert else {}
    return Redis.from_url(
        settings.redis_url.get_secret_value(),
        password=settings.redis_password.get_secret_value() if settings.redis_password else None,
        credential_provider=credentials,
        socket_timeout=socket_timeout,
        socket_connect_timeout=2,
        health_check_interval=30,
        max_connections=settings.max_connections,
        **tls,
    )


def _document_models(app: FastAPI, names: list[str]) -> None:
    """Put the configured model names into the OpenAPI schema as an enum, so it says what is accepted."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()
            components = schema["components"]["schemas"]
            for component in ("GenerateRequest", "SummarizeRequest", "ChatCompletionRequest", *JOB_REQUESTS):
                if component not in components:  # the job bodies exist only with a queue configured
                    continue
                prop = components[component]["properties"]["model"]
                options = prop.get("anyOf", [prop])
                for option in options:
                    if option.get("type") == "string":
                        option["enum"] = sorted(set(names))
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def __getattr__(name: str) -> FastAPI:
    """`app.main:app` is built on first access, so importing the module never reads the environment."""
    if name == "app":
        application = create_app()
        globals()["app"] = application
        return application
    raise AttributeError(name)
