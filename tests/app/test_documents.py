"""The vector DB: documents embedded through the providers and searched in real PostgreSQL + pgvector (pgserver)."""

from collections.abc import Callable

import httpx
import pytest

from tests.app.support import OTHER_KEY, AppProcess, StartApp, Upstream, routing_table

DOCS = [
    "The quick brown fox jumps over the lazy dog.",
    "Rain is expected tomorrow with strong wind.",
    "Invoices are due at the end of the month.",
]


@pytest.fixture(scope="module")
def doc_app(start_app: StartApp, upstream: Upstream, postgres: Callable[[str], str]) -> AppProcess:
    routing = routing_table(upstream.url)
    routing["models"]["embed"] = [
        {"provider": "primary", "model": "emb-a;dim=16"},
        {"provider": "backup", "model": "emb-b;dim=16"},
    ]
    env = {
        "APP_DATABASE_URL": postgres("docs"),
        "APP_EMBEDDING_MODEL": "embed",
        "APP_EMBEDDING_DIM": "16",
    }
    return start_app(env, routing)


def test_documents_are_stored_and_found_by_meaning(doc_app: AppProcess) -> None:
    with doc_app.client() as c:
        r = c.post("/v1/documents", json={"texts": DOCS})
        assert r.status_code == 200, r.text
        ids = r.json()["ids"]
        assert len(ids) == 3
        for query, expected in [
            ("lazy fox", 0),
            ("wind and rain", 1),
            ("invoices due", 2),
        ]:
            hits = c.post("/v1/search", json={"query": query, "k": 2}).json()["results"]
            assert hits[0]["id"] == ids[expected], (query, hits)
            assert hits[0]["text"] == DOCS[expected]
            assert hits[0]["score"] > hits[1]["score"]


def test_callers_only_see_their_own_documents(doc_app: AppProcess) -> None:
    with httpx.Client(base_url=doc_app.url, headers={"x-api-key": OTHER_KEY}) as other:
        assert other.post("/v1/search", json={"query": "fox"}).json() == {"results": []}


def test_embedding_calls_fall_back_like_chat(doc_app: AppProcess, upstream: Upstream) -> None:
    upstream.script("emb-a;dim=16", ["status=503", "status=503"])
    with doc_app.client() as c:
        r = c.post("/v1/search", json={"query": "fox"})
    assert r.status_code == 200
    assert upstream.requests("emb-b;dim=16")


def test_ready_checks_postgres_and_bad_input_is_422(doc_app: AppProcess) -> None:
    with doc_app.client() as c:
        assert c.get("/ready").json()["checks"]["postgres"] == "ok"
        r = c.post("/v1/documents", json={"texts": []})
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == [
            "body",
            "texts",
        ]
        r = c.post("/v1/search", json={"query": "x", "k": 51})
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "k"]


def test_documents_routes_exist_only_with_a_database(app_server: AppProcess) -> None:
    with app_server.client() as c:
        assert c.post("/v1/search", json={"query": "x"}).status_code == 404
