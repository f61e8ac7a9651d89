"""Cloud SQL through the Cloud SQL Python connector (APP_DATABASE_INSTANCE): the settings the GCP
platform hands the app, and the real connector driven against a local stand-in for the Cloud SQL
Admin API and a TLS endpoint in front of a real PostgreSQL (not run here: Google's own API and CA,
and the IAM login check, which the local PostgreSQL's trust authentication skips)."""

from __future__ import annotations

import asyncio
import datetime
import ssl
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import asyncpg
import pytest
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from google.cloud.sql.connector import asyncpg as cloudsql_asyncpg
from google.oauth2.credentials import Credentials

from app.cloudsql import CloudSqlConnect, cloudsql_connect_args
from app.settings import Settings, load_settings
from tests.app.support import make_certificate, pem

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


# --- the whole path: connector -> TLS with the ephemeral client certificate -> PostgreSQL ----------


class _ThreadedApi:
    """An aiohttp app on its own loop and thread: the connector refreshes OAuth tokens with blocking
    calls from the event loop, so a server on that same loop could never answer them."""

    def __init__(self, app: web.Application) -> None:
        self.loop = asyncio.new_event_loop()
        self.runner = web.AppRunner(app)
        ready = threading.Event()
        ports: list[int] = []

        async def start() -> None:
            await self.runner.setup()
            site = web.TCPSite(self.runner, "127.0.0.1", 0)
            await site.start()
            ports.append(site._server.sockets[0].getsockname()[1])  # type: ignore[union-attr]
            ready.set()

        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        asyncio.run_coroutine_threadsafe(start(), self.loop)
        ready.wait(10)
        self.url = f"http://127.0.0.1:{ports[0]}"

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


def test_a_pooled_connection_goes_through_the_connector_with_a_client_certificate(
    postgres: Callable[[str], str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A local Admin API stand-in (connect settings, ephemeral certificates signed by a test CA) and
    a TLS endpoint that, like Cloud SQL's server-side proxy, admits only clients with a certificate
    from that CA and passes the session to a real PostgreSQL: the app's pool runs a query."""
    socket_dir = parse_qs(urlsplit(postgres("cloudsql")).query)["host"][0]
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = make_certificate("test Cloud SQL CA", ca_key.public_key(), None, ca_key)
    server_key = ec.generate_private_key(ec.SECP256R1())
    (tmp_path / "server.pem").write_text(pem(make_certificate("vectors", server_key.public_key(), ca, ca_key)))
    (tmp_path / "server.key").write_bytes(
        server_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    (tmp_path / "ca.pem").write_text(pem(ca))
    requests: list[tuple[str, dict[str, Any]]] = []
    clients: list[str] = []

    async def admin_api(request: web.Request) -> web.Response:
        if request.path == "/token":  # the OAuth token endpoint: the connector refreshes for the IAM login
            requests.append((request.path, dict(await request.post())))
            return web.json_response({"access_token": "login-token", "expires_in": 3600, "token_type": "Bearer"})
        body = await request.json() if request.method == "POST" else {}
        requests.append((request.path, body))
        if request.path.endswith("/connectSettings"):
            return web.json_response(
                {
                    "region": "europe-west1",
                    "databaseVersion": "POSTGRES_18",
                    "backendType": "SECOND_GEN",
                    "ipAddresses": [{"type": "PRIVATE", "ipAddress": "127.0.0.1"}],
                    "serverCaCert": {"cert": pem(ca)},
                }
            )
        public_key = serialization.load_pem_public_key(body["public_key"].encode())
        return web.json_response({"ephemeralCert": {"cert": pem(make_certificate("ai-api", public_key, ca, ca_key))}})

    async def server_side_proxy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peercert")
        clients.append(dict(item[0] for item in peer["subject"])["commonName"])
        upstream_reader, upstream_writer = await asyncio.open_unix_connection(f"{socket_dir}/.s.PGSQL.5432")

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            while data := await source.read(65536):
                sink.write(data)
                await sink.drain()
            sink.close()

        await asyncio.gather(pipe(reader, upstream_writer), pipe(upstream_reader, writer), return_exceptions=True)

    routes = web.Application()
    routes.router.add_route("*", "/{tail:.*}", admin_api)
    server = _ThreadedApi(routes)
    api = server.url

    async def main() -> int:
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(tmp_path / "ca.pem"))
        tls.load_cert_chain(str(tmp_path / "server.pem"), str(tmp_path / "server.key"))
        tls.verify_mode = ssl.CERT_REQUIRED
        proxy = await asyncio.start_server(server_side_proxy, "127.0.0.1", 0, ssl=tls)
        # the server-side proxy's port is fixed (3307) on Cloud SQL; here a free one
        monkeypatch.setattr(cloudsql_asyncpg, "SERVER_PROXY_PORT", proxy.sockets[0].getsockname()[1])
        token = Credentials(
            token="service-token",
            expiry=datetime.datetime.utcnow() + datetime.timedelta(hours=1),
            refresh_token="refresh",
            token_uri=f"{api}/token",
            client_id="client",
            client_secret="secret",
        )
        connect = CloudSqlConnect(INSTANCE, "postgres", "cloudsql", True, sqladmin_api_endpoint=api, credentials=token)
        try:
            pool = await asyncpg.create_pool(
                "postgresql://", min_size=1, max_size=2, command_timeout=10, connect=connect
            )
            try:
                return await pool.fetchval("SELECT 6 * 7")
            finally:
                await pool.close()
        finally:
            await connect.close()
            proxy.close()

    try:
        assert asyncio.run(main()) == 42
    finally:
        server.stop()
    assert clients and set(clients) == {"ai-api"}  # only the connector's ephemeral certificate got in
    paths = [path for path, _ in requests]
    assert "/sql/v1beta4/projects/ai-platform-prod/instances/vectors/connectSettings" in paths
    (ephemeral,) = {path: body for path, body in requests if path.endswith(":generateEphemeralCert")}.values()
    assert ephemeral["access_token"] == "login-token"  # IAM sign-in: the login token is bound to the certificate
