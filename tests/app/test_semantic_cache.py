"""The semantic cache behind the exact one: real embeddings (the local all-MiniLM-L6-v2 provider), real pgvector."""

import asyncio
import json
import time
import uuid
from collections.abc import Callable

import asyncpg
import httpx
import pytest

from app.providers.base import ChatRequest
from app.retrieval.semantic_cache import Probe, SemanticCache
from app.settings import Settings
from tests.app.support import OTHER_KEY, AppProcess, RedisServer, StartApp, Upstream, routing_table, run_app

QUESTION = "How do I reset my password?"
PARAPHRASE = "What are the steps to reset my password?"  # cosine similarity 0.94 with QUESTION
NEAR_MISS = "How do I reset my router?"  # 0.53: shares words, asks something else
UNRELATED = "What is the capital of France?"  # 0.07


@pytest.fixture(scope="module")
def semantic_app(
    start_app: StartApp, upstream: Upstream, postgres: Callable[[str], str], redis_server: RedisServer
) -> AppProcess:
    routing = routing_table(upstream.url)
    routing["providers"]["local"] = {"type": "local"}
    routing["models"]["embed"] = [{"provider": "local", "model": "all-MiniLM-L6-v2"}]
    env = {
        "APP_DATABASE_URL": postgres("semantic"),
        "APP_EMBEDDING_MODEL": "embed",
        "APP_EMBEDDING_DIM": "384",
        "APP_REDIS_URL": redis_server.url,
        "APP_SEMANTIC_CACHE": "true",
        "APP_SEMANTIC_CACHE_THRESHOLD": "0.9",
        "HF_HUB_OFFLINE": "1",
    }
    return start_app(env, routing)


def patient(app: AppProcess, headers: dict[str, str] | None = None) -> httpx.Client:
    """A client that waits for the first request, which loads the model (seconds, once per process)."""
    return httpx.Client(base_url=app.url, headers=headers or app.headers, timeout=120)


def ask(client: httpx.Client, prompt: str, **extra: object) -> httpx.Response:
    r = client.post("/generate", json={"prompt": prompt, "model": "plain", "temperature": 0, **extra})
    assert r.status_code == 200, r.text
    return r


def test_a_paraphrase_hits_and_a_different_question_misses(semantic_app: AppProcess, upstream: Upstream) -> None:
    with patient(semantic_app) as c:  # the first request loads the model
        first = ask(c, QUESTION)
        assert first.json()["cached"] is False and "x-cache" not in first.headers
        exact = ask(c, QUESTION)
        assert exact.json()["cached"] is True and exact.headers["x-cache"] == "exact"
        calls = len(upstream.requests("plain"))
        paraphrased = ask(c, PARAPHRASE)
        assert paraphrased.json()["cached"] is True and paraphrased.headers["x-cache"] == "semantic"
        assert paraphrased.json()["text"] == first.json()["text"]
        assert len(upstream.requests("plain")) == calls  # answered without the upstream
        for other in (NEAR_MISS, UNRELATED):
            r = ask(c, other)
            assert r.json()["cached"] is False, other
        metrics = c.get("/metrics").text
    assert 'ai_cache_requests_total{kind="semantic",result="hit"} 1.0' in metrics
    assert 'ai_cache_requests_total{kind="semantic",result="miss"}' in metrics
    assert 'ai_cache_requests_total{kind="exact",result="hit"}' in metrics


def test_never_across_keys_models_or_parameters(semantic_app: AppProcess) -> None:
    question = f"How do I rotate the signing key of project {uuid.uuid4().hex[:8]}?"
    with patient(semantic_app) as c:
        ask(c, question)
        assert ask(c, question + " ").headers.get("x-cache") == "semantic"  # not exact, same meaning
        assert ask(c, question + " ", max_tokens=7).json()["cached"] is False  # other parameters
        assert ask(c, question + " ", model="tier-small").json()["cached"] is False  # another model alias
        sampled = c.post("/generate", json={"prompt": question + "  ", "model": "plain", "temperature": 0.7})
        assert sampled.json()["cached"] is False  # not deterministic: not cached by meaning either
    with patient(semantic_app, {"x-api-key": OTHER_KEY}) as other:
        assert ask(other, question).json()["cached"] is False  # another caller's entry is never used


def test_chat_completions_use_it_with_the_conversation_as_context(semantic_app: AppProcess) -> None:
    def chat(c: httpx.Client, history: str, q: str) -> httpx.Response:
        messages = [{"role": "system", "content": history}, {"role": "user", "content": q}]
        return c.post("/v1/chat/completions", json={"model": "plain", "messages": messages, "temperature": 0})

    with patient(semantic_app) as c:
        assert "x-cache" not in chat(c, "You help with accounts.", QUESTION + " (chat)").headers
        assert chat(c, "You help with accounts.", PARAPHRASE + " (chat)").headers.get("x-cache") == "semantic"
        assert "x-cache" not in chat(c, "You are a pirate.", PARAPHRASE + " (chat)").headers


def settings(**values: object) -> Settings:
    base = {"auth_required": False, "database_url": "postgresql://unused/db", "embedding_model": "embed"}
    return Settings.model_validate({**base, "semantic_cache": True, **values})


def unit(n: int) -> list[float]:
    vector = [0.0] * 4
    vector[n] = 1.0
    return vector


def test_entries_expire_and_each_caller_keeps_a_bounded_number(postgres: Callable[[str], str]) -> None:
    async def run() -> None:
        pool = await asyncpg.create_pool(postgres("semantic_bounds"), min_size=1, max_size=2)
        try:
            await pool.execute("CREATE EXTENSION IF NOT EXISTS vector")
            cache = SemanticCache(pool, 4, settings(semantic_cache_ttl_s=1, semantic_cache_max_entries=2))
            await cache.create()

            def key(n: int) -> Probe:
                probe = cache.probe(ChatRequest([{"role": "user", "content": f"q{n}"}], temperature=0))
                assert probe is not None
                probe.vector = unit(n)
                return probe

            for n in range(3):
                await cache.put("alice", "plain", key(n), {"n": n})
            assert await cache.get("alice", "plain", key(0)) is None  # dropped: only 2 kept per caller
            assert await cache.get("alice", "plain", key(2)) == {"n": 2}
            assert await cache.get("bob", "plain", key(2)) is None
            await asyncio.sleep(1.2)
            assert await cache.get("alice", "plain", key(2)) is None  # expired
            start = time.monotonic()
            await cache.put("alice", "plain", key(3), {"n": 3})
            assert time.monotonic() - start < 5
            rows = await pool.fetchval("SELECT count(*) FROM rag_semantic_cache WHERE owner = 'alice'")
            assert rows == 1  # expired entries are swept when the caller writes
        finally:
            await pool.close()

    asyncio.run(run())


def test_what_is_not_cached_by_meaning() -> None:
    cache = SemanticCache(None, 4, settings(semantic_cache_max_chars=20))
    assert cache.probe(ChatRequest([{"role": "user", "content": "short"}], temperature=0)) is not None
    assert cache.probe(ChatRequest([{"role": "user", "content": "x" * 21}], temperature=0)) is None
    assert cache.probe(ChatRequest([{"role": "user", "content": "short"}], temperature=0.5)) is None
    assert cache.probe(ChatRequest([{"role": "assistant", "content": "short"}], temperature=0)) is None
    anything = SemanticCache(None, 4, settings(semantic_cache_any_temperature=True))
    assert anything.probe(ChatRequest([{"role": "user", "content": "short"}], temperature=0.5)) is not None


LOCAL_ROUTING = json.dumps(
    {
        "providers": {"local": {"type": "local"}},
        "models": {"embed": [{"provider": "local", "model": "all-MiniLM-L6-v2"}]},
    }
)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"APP_SEMANTIC_CACHE": "true"}, "APP_SEMANTIC_CACHE=true needs APP_DATABASE_URL"),
        ({"APP_CHUNK_SIZE": "200", "APP_CHUNK_OVERLAP": "200"}, "APP_CHUNK_OVERLAP (200) must be below APP_CHUNK_SIZE"),
        (
            {"APP_ROUTING": LOCAL_ROUTING, "APP_EMBEDDING_MODEL": "embed", "APP_EMBEDDING_DIM": "1536"},
            "APP_EMBEDDING_DIM (got 1536): all-MiniLM-L6-v2 makes 384-dimensional vectors",
        ),
        (
            {"APP_ROUTING": LOCAL_ROUTING.replace("all-MiniLM-L6-v2", "no-such-model"), "APP_EMBEDDING_MODEL": "embed"},
            "local model 'no-such-model'",
        ),
    ],
)
def test_bad_retrieval_settings_stop_start_up_naming_the_variable(env: dict[str, str], message: str) -> None:
    result = run_app({"APP_AUTH_REQUIRED": "false", **env})
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
