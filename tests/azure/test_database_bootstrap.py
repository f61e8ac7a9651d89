"""The database step the PostgreSQL administrator runs after the first ``pulumi up``
(:func:`components.azure.vector_store.bootstrap_sql`), run with psql against a real PostgreSQL
with pgvector (pgserver): afterwards the app's role, not a superuser nor an admin, starts the
app's document store (the app's own start-up code). Azure's ``pgaadauth_create_principal_with_oid``
does not exist outside Azure: a stand-in makes a plain login role, which is all the rest needs."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from pgserver.postgres_server import PostgresServer, get_server

from app.retrieval.store import DocumentStore
from components.azure.vector_store import DATABASE, bootstrap_sql

ROLE = "ai-platform-identity-identity"
OBJECT_ID = "11111111-2222-3333-4444-555555555555"

STAND_IN = """
CREATE FUNCTION pgaadauth_create_principal_with_oid(name text, oid text, kind text, admin bool, mfa bool)
RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE format('CREATE ROLE %I LOGIN', name);
  RETURN 'Created role for ' || name;
END $$;
"""


@pytest.fixture
def server(tmp_path: Path) -> Iterator[PostgresServer]:
    pg = get_server(tmp_path / "pg", cleanup_mode="stop")
    pg.psql(f"CREATE DATABASE {DATABASE};")
    pg.psql(STAND_IN)
    yield pg
    pg.cleanup()


def as_role(pg: PostgresServer, role: str) -> str:
    """The server's URI for ``DATABASE``, signed in as ``role`` (local trust: no password)."""
    parts = urlsplit(pg.get_uri(DATABASE))
    return urlunsplit(parts._replace(netloc=f"{role}@{parts.netloc.rsplit('@', 1)[-1]}"))


def start_store(dsn: str) -> None:
    async def start() -> None:
        store = await DocumentStore.connect(dsn, dim=16, max_size=1)
        await store.pool.close()

    asyncio.run(start())


def test_the_app_role_starts_the_document_store_after_the_bootstrap(server: PostgresServer) -> None:
    script = bootstrap_sql(ROLE, OBJECT_ID)
    server.psql(script)
    server.psql(script)  # a second run changes nothing and does not fail
    start_store(as_role(server, ROLE))
    found = server.psql(
        f"\\connect {DATABASE}\nSELECT rolsuper, rolcreaterole FROM pg_roles WHERE rolname = '{ROLE}';\n"
        "SELECT tableowner FROM pg_tables WHERE tablename = 'rag_chunks';\n"
    )
    assert "f        | f" in found and ROLE in found  # an ordinary role, owner of the app's tables


def test_without_the_bootstrap_the_app_role_cannot_start(server: PostgresServer) -> None:
    server.psql(f'CREATE ROLE "{ROLE}" LOGIN;')
    with pytest.raises(Exception, match="permission denied"):
        start_store(as_role(server, ROLE))


def test_the_script_quotes_the_role_name() -> None:
    script = bootstrap_sql("odd\"name's", OBJECT_ID)
    assert "'odd\"name''s'" in script and '"odd""name\'s"' in script
