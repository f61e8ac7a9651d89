"""Documents and retrieval-augmented answers against real PostgreSQL + pgvector (pgserver) and real Redis."""

import itertools
import json
from collections.abc import Callable, Iterator

import httpx
import openai
import pytest

from tests.app.support import (
    API_KEY,
    OTHER_KEY,
    AppProcess,
    RedisServer,
    StartApp,
    Upstream,
    routing_table,
    sse_events,
)

DOCS = [
    {"text": "The quick brown fox jumps over the lazy dog.", "metadata": {"topic": "animals", "year": 2024}},
    {"text": "Rain is expected tomorrow with strong wind.", "metadata": {"topic": "weather", "public": True}},
    {"text": "Invoices are due at the end of the month.", "metadata": {"topic": "billing", "year": 2023}},
]
EMBED = "emb-a;dim=16"


@pytest.fixture(scope="module")
def doc_app(
    start_app: StartApp, upstream: Upstream, postgres: Callable[[str], str], redis_server: RedisServer
) -> AppProcess:
    routing = routing_table(upstream.url)
    routing["models"]["embed"] = [
        {"provider": "primary", "model": EMBED},
        {"provider": "backup", "model": "emb-b;dim=16"},
    ]
    env = {
        "APP_DATABASE_URL": postgres("docs"),
        "APP_EMBEDDING_MODEL": "embed",
        "APP_EMBEDDING_DIM": "16",
        "APP_REDIS_URL": redis_server.url,
        "APP_CHUNK_SIZE": "120",
        "APP_CHUNK_OVERLAP": "30",
        "APP_MAX_CHUNKS_PER_REQUEST": "40",
    }
    return start_app(env, routing)


@pytest.fixture(scope="module")
def doc_ids(doc_app: AppProcess) -> list[str]:
    with doc_app.client() as c:
        r = c.post("/v1/documents", json={"documents": DOCS})
    assert r.status_code == 200, r.text
    added = r.json()["documents"]
    assert [len(d["chunk_ids"]) for d in added] == [1, 1, 1]
    assert all(d["chunk_ids"] == [f"{d['id']}:0"] for d in added)
    return [d["id"] for d in added]


@pytest.fixture
def other(doc_app: AppProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=doc_app.url, headers={"x-api-key": OTHER_KEY}, timeout=30) as c:
        yield c


def embedding_calls(upstream: Upstream) -> int:
    return len(upstream.requests(EMBED))


def test_documents_are_found_by_meaning_with_their_metadata(doc_app: AppProcess, doc_ids: list[str]) -> None:
    with doc_app.client() as c:
        for query, expected in [("lazy fox", 0), ("wind and rain", 1), ("invoices due", 2)]:
            hits = c.post("/v1/search", json={"query": query, "k": 2}).json()["results"]
            assert hits[0]["document_id"] == doc_ids[expected], (query, hits)
            assert hits[0]["id"] == f"{doc_ids[expected]}:0"
            assert hits[0]["text"] == DOCS[expected]["text"]
            assert hits[0]["metadata"] == DOCS[expected]["metadata"]
            assert hits[0]["score"] > hits[1]["score"]


def test_search_filters_by_metadata_and_minimum_score(doc_app: AppProcess, doc_ids: list[str]) -> None:
    with doc_app.client() as c:
        hits = c.post("/v1/search", json={"query": "fox", "filter": {"topic": "billing"}, "min_score": -1})
        assert [h["document_id"] for h in hits.json()["results"]] == [doc_ids[2]]
        hits = c.post("/v1/search", json={"query": "lazy fox", "filter": {"year": 2024, "topic": "animals"}}).json()
        assert [h["document_id"] for h in hits["results"]] == [doc_ids[0]]
        assert c.post("/v1/search", json={"query": "fox", "filter": {"year": 1999}}).json() == {"results": []}
        every = c.post("/v1/search", json={"query": "lazy fox", "k": 3, "min_score": -1}).json()["results"]
        best = every[0]["score"]
        above = c.post("/v1/search", json={"query": "lazy fox", "k": 3, "min_score": best - 1e-6}).json()["results"]
        assert [h["id"] for h in above] == [every[0]["id"]]


def test_long_documents_are_chunked_with_overlap(doc_app: AppProcess) -> None:
    sentences = [f"Sentence number {n} talks about topic {n} in some detail." for n in range(12)]
    text = " ".join(sentences)
    with doc_app.client() as c:
        r = c.post("/v1/documents", json={"documents": [{"text": text, "metadata": {"kind": "long"}}]})
        assert r.status_code == 200, r.text
        (added,) = r.json()["documents"]
        chunks = c.post("/v1/search", json={"query": "sentence", "k": 50, "min_score": -1, "filter": {"kind": "long"}})
        texts = {h["id"]: h["text"] for h in chunks.json()["results"]}
        c.delete(f"/v1/documents/{added['id']}")
    assert len(added["chunk_ids"]) >= 5 and set(texts) == set(added["chunk_ids"])
    ordered = [texts[i] for i in added["chunk_ids"]]
    assert all(len(t) <= 120 for t in ordered)
    for first, second in itertools.pairwise(ordered):
        assert first.split()[-1] in second  # neighbours share the overlap
    assert all(s in " ".join(ordered) for s in sentences)  # nothing is lost between chunks


def test_listing_is_paginated_and_per_caller(doc_app: AppProcess, doc_ids: list[str], other: httpx.Client) -> None:
    with doc_app.client() as c:
        first = c.get("/v1/documents", params={"limit": 2}).json()
        assert [d["id"] for d in first["documents"]] == doc_ids[:2]
        assert first["documents"][0]["metadata"] == DOCS[0]["metadata"]
        assert first["documents"][0]["chunks"] == 1 and first["documents"][0]["chars"] == len(DOCS[0]["text"])
        rest = c.get("/v1/documents", params={"limit": 2, "cursor": first["next_cursor"]}).json()
        assert doc_ids[2] in [d["id"] for d in rest["documents"]]
        r = c.get("/v1/documents", params={"limit": 0})
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", "limit"]
    assert other.get("/v1/documents").json() == {"documents": [], "next_cursor": None}
    assert other.post("/v1/search", json={"query": "fox"}).json() == {"results": []}


def test_deleting_is_per_caller_and_refreshes_cached_results(
    doc_app: AppProcess, other: httpx.Client, upstream: Upstream
) -> None:
    with doc_app.client() as c:
        doc = c.post("/v1/documents", json={"documents": [{"text": "Zebras graze on the savanna grass."}]}).json()
        doc_id = doc["documents"][0]["id"]
        query = {"query": "zebras savanna", "k": 1}
        assert c.post("/v1/search", json=query).json()["results"][0]["document_id"] == doc_id
        calls = embedding_calls(upstream)
        assert c.post("/v1/search", json=query).json()["results"][0]["document_id"] == doc_id
        assert embedding_calls(upstream) == calls  # the results came from the cache: no embedding call
        r = other.delete(f"/v1/documents/{doc_id}")
        assert r.status_code == 404 and doc_id in r.json()["detail"]
        assert r.headers["x-request-id"]
        assert c.post("/v1/search", json=query).json()["results"][0]["document_id"] == doc_id
        assert c.delete(f"/v1/documents/{doc_id}").status_code == 204
        after = c.post("/v1/search", json=query).json()["results"]
        assert doc_id not in [h["document_id"] for h in after]  # the cached result was dropped
        assert c.delete(f"/v1/documents/{doc_id}").status_code == 404
        r = c.delete("/v1/documents/not-an-id")
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["path", "document_id"]


def test_generate_cites_its_sources(doc_app: AppProcess, doc_ids: list[str], upstream: Upstream) -> None:
    with doc_app.client() as c:
        r = c.post("/generate", json={"prompt": "When are invoices due?", "model": "plain", "retrieval": {"k": 1}})
    assert r.status_code == 200, r.text
    sources = r.json()["sources"]
    assert [s["document_id"] for s in sources] == [doc_ids[2]]
    assert set(sources[0]) == {"id", "document_id", "score", "text", "metadata"}
    assert r.headers["x-sources"] == sources[0]["id"]
    sent = [q for q in upstream.requests("plain") if q["body"]["messages"][-1]["content"] == "When are invoices due?"]
    system = sent[-1]["body"]["messages"][0]
    assert system["role"] == "system" and DOCS[2]["text"] in system["content"]


def test_answers_without_retrieval_have_no_sources(doc_app: AppProcess) -> None:
    with doc_app.client() as c:
        r = c.post("/generate", json={"prompt": "When are invoices due?", "model": "plain"})
    assert "sources" not in r.json() and "x-sources" not in r.headers


def test_chat_completions_cite_sources_and_openai_clients_ignore_them(doc_app: AppProcess, doc_ids: list[str]) -> None:
    client = openai.OpenAI(base_url=f"{doc_app.url}/v1", api_key=API_KEY, max_retries=0)
    raw = client.chat.completions.with_raw_response.create(
        model="plain",
        messages=[{"role": "user", "content": "Will there be wind tomorrow?"}],
        extra_body={"retrieval": {"k": 1, "filter": {"topic": "weather"}}},
    )
    completion = raw.parse()
    assert completion.choices[0].message.content
    sources = (completion.model_extra or {})["sources"]
    assert [s["document_id"] for s in sources] == [doc_ids[1]]
    assert raw.headers["x-sources"] == sources[0]["id"]
    stream = client.chat.completions.create(
        model="plain",
        messages=[{"role": "user", "content": "Will there be wind tomorrow?"}],
        stream=True,
        extra_body={"retrieval": {"k": 1}},
    )
    chunks = list(stream)
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    cited = [c.model_extra["sources"] for c in chunks if c.model_extra and "sources" in c.model_extra]
    assert [[s["document_id"] for s in found] for found in cited] == [[doc_ids[1]]]
    assert chunks[-1].choices == [] and "sources" in (chunks[-1].model_extra or {})


def test_streamed_generate_sends_sources_just_before_done(doc_app: AppProcess, doc_ids: list[str]) -> None:
    body = {"prompt": "lazy fox", "model": "plain", "stream": True, "retrieval": {"k": 2}}
    with doc_app.client() as c:
        r = c.post("/generate", json=body)
    events = sse_events(r.text)
    assert events[-1] == (None, "[DONE]")
    last = json.loads(events[-2][1])
    assert next(s["document_id"] for s in last["sources"]) == doc_ids[0]
    assert r.headers["x-sources"] == ",".join(s["id"] for s in last["sources"])
    assert sum(1 for _, data in events if '"sources"' in data) == 1


def test_retrieval_options_are_validated(doc_app: AppProcess) -> None:
    cases = [
        ({"k": 0}, ["body", "retrieval", "k"]),
        ({"min_score": 2}, ["body", "retrieval", "min_score"]),
        ({"filter": {"a": [1]}}, ["body", "retrieval", "filter", "a"]),
        ({"unknown": 1}, ["body", "retrieval", "unknown"]),
    ]
    with doc_app.client() as c:
        for retrieval, loc in cases:
            r = c.post("/generate", json={"prompt": "x", "retrieval": retrieval})
            assert r.status_code == 422, r.text
            assert r.json()["detail"][0]["loc"][: len(loc)] == loc
        only_system = {"model": "plain", "messages": [{"role": "system", "content": "hi"}], "retrieval": {}}
        r = c.post("/v1/chat/completions", json=only_system)
        assert r.json()["sources"] == [] and r.headers["x-sources"] == ""  # no question, nothing looked up
        r = c.post("/v1/documents", json={"documents": [{"text": "x", "metadata": {"a\u0000": 1}}]})
        assert r.status_code == 422 and r.json()["detail"][0]["loc"][:4] == ["body", "documents", 0, "metadata"]
        r = c.options("/v1/documents")
        assert r.status_code == 405 and r.headers["allow"] == "GET, POST"


def test_too_many_chunks_is_a_422_naming_documents(doc_app: AppProcess) -> None:
    with doc_app.client() as c:
        r = c.post("/v1/documents", json={"documents": [{"text": "word " * 2000}]})
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "documents"]
    assert "APP_MAX_CHUNKS_PER_REQUEST" in r.json()["detail"][0]["msg"]


def test_embedding_calls_fall_back_like_chat(doc_app: AppProcess, upstream: Upstream) -> None:
    upstream.script(EMBED, ["status=503", "status=503"])
    with doc_app.client() as c:
        r = c.post("/v1/search", json={"query": "a query never seen before"})
    assert r.status_code == 200
    assert upstream.requests("emb-b;dim=16")


def test_ready_checks_postgres_and_bad_input_is_422(doc_app: AppProcess) -> None:
    with doc_app.client() as c:
        assert c.get("/ready").json()["checks"]["postgres"] == "ok"
        r = c.post("/v1/documents", json={"documents": []})
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "documents"]
        r = c.post("/v1/documents", json={"texts": ["old shape"]})
        assert r.status_code == 422
        r = c.post("/v1/search", json={"query": "x", "k": 51})
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "k"]


def test_without_a_database_there_are_no_document_routes_and_no_retrieval(app_server: AppProcess) -> None:
    with app_server.client() as c:
        assert c.post("/v1/search", json={"query": "x"}).status_code == 404
        assert c.get("/v1/documents").status_code == 404
        r = c.post("/generate", json={"prompt": "x", "retrieval": {"k": 1}})
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "retrieval"]
        assert "APP_DATABASE_URL" in r.json()["detail"][0]["msg"]
