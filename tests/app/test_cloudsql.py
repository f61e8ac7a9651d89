"""Cloud SQL through the Cloud SQL Python connector (APP_DATABASE_INSTANCE): the settings the GCP
platform hands the app, and the real connector driven against a local stand-in for the Cloud SQL
Admin API (what a real instance would add: its certificates and the IAM login, not run here)."""

from __future__ import annotations

import asyncio
import datetime
from collections.abc import Iterator
from typing import Any

import pytest
from aiohttp import web
from google.oauth2.credentials import Credentials

from app.cloudsql import CloudSqlConnect, cloudsql_connect_args
from app.settings import Settings, load_settings

INSTANCE = "ai-platform-prod:europe-west1:vectors"
URL = "postgresql://ai-api-gcp-prod%40ai-platform-prod.iam@/ai"


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    for name in list(Settings.model_fields):
        monkeypatch.delenv(f"APP_{name.upper()}", raising=False)
    monkeypatch.setenv("APP_AUTH_REQUIRED", "false")
    monkeypatch.setenv("APP_EMBEDDING_MODEL", "embed")
    monkeypatch.setenv("APP_DATABASE_URL", URL)
    monkeypatch.setenv("APP_DATABASE_INSTANCE", INSTANCE)
    monkeypatch.setenv("APP_DATABASE_IAM_AUTH", "true")
    yield monkeypatch


def test_the_platforms_settings_give_the_connector_the_iam_user_and_database(env: pytest.MonkeyPatch) -> None:
    args = cloudsql_connect_args(load_settings())
    connect = args["connect"]
    assert isinstance(connect, CloudSqlConnect)
    assert (connect.instance, connect.user, connect.database, connect.iam_auth) == (
        INSTANCE,
        "ai-api-gcp-prod@ai-platform-prod.iam",
        "ai",
        True,
    )


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("APP_DATABASE_INSTANCE", "vectors", "APP_DATABASE_INSTANCE='vectors' is not a Cloud SQL connection name"),
        ("APP_DATABASE_URL", "postgresql://u:pw@/ai", "must name no host, password or options"),
        ("APP_DATABASE_URL", "postgresql://u@10.0.0.3/ai", "must name no host, password or options"),
        ("APP_DATABASE_URL", "postgresql://u@/", "postgresql://USER@/DATABASE"),
    ],
)
def test_bad_cloudsql_settings_name_the_variable(env: pytest.MonkeyPatch, name: str, value: str, message: str) -> None:
    env.setenv(name, value)
    with pytest.raises(Exception, match=message.replace("(", r"\(").replace(".", r"\.")):
        load_settings()


def test_the_connector_asks_the_admin_api_for_the_instance_with_the_services_token() -> None:
    """The real connector against a local HTTP server standing in for sqladmin.googleapis.com,
    which refuses: the pool's connect fails with the API's answer, after the request we expect."""
    seen: list[tuple[str, str, str | None]] = []

    async def refuse(request: web.Request) -> web.Response:
        seen.append((request.method, request.path, request.headers.get("Authorization")))
        return web.json_response({"error": {"code": 403, "message": "not authorized"}}, status=403)

    async def main() -> Any:
        server = web.Application()
        server.router.add_route("*", "/{tail:.*}", refuse)
        runner = web.AppRunner(server)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        token = Credentials(token="service-token", expiry=datetime.datetime.utcnow() + datetime.timedelta(hours=1))
        connect = CloudSqlConnect(
            INSTANCE, "ai-api@p.iam", "ai", True, sqladmin_api_endpoint=f"http://127.0.0.1:{port}", credentials=token
        )
        try:
            with pytest.raises(Exception, match="403") as error:
                await asyncio.wait_for(connect(), 30)
            return error.value
        finally:
            await connect.close()
            await runner.cleanup()

    asyncio.run(main())
    assert seen[0] == (
        "GET",
        "/sql/v1beta4/projects/ai-platform-prod/instances/vectors/connectSettings",
        "Bearer service-token",
    )
