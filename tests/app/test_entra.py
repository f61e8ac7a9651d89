"""Entra ID sign-in (app/entra.py) against a local managed-identity endpoint, as Container Apps
serves it (IDENTITY_ENDPOINT + IDENTITY_HEADER), and a real redis-server with an ACL user."""

import asyncio
import base64
import json
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from redis import Redis
from redis.exceptions import AuthenticationError

from app.entra import REDIS_SCOPE, REFRESH_EARLY_S, EntraAuthError, ManagedIdentityTokens, RedisEntraCredentials
from tests.app.support import RedisServer

HEADER = "identity-header-secret"
OID = "5f0c4f5e-0000-4000-8000-00000000a11a"
CLIENT_ID = "7d3e0a9b-0000-4000-8000-0000000c11e7"


def fake_token(number: int) -> str:
    """A JWT-shaped token (only the claims matter to the app; the services check the signature)."""

    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    return f"{part({'alg': 'none'})}.{part({'oid': OID, 'n': number})}.sig"


@dataclass
class IdentityEndpoint:
    """Answers the App Service / Container Apps managed identity protocol (api-version 2019-08-01)."""

    url: str = ""
    lifetime_s: float = 3600
    requests: list[dict[str, list[str]]] = field(default_factory=list)


@pytest.fixture
def identity_endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[IdentityEndpoint]:
    endpoint = IdentityEndpoint()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            query = parse_qs(urlparse(self.path).query)
            if self.headers.get("X-IDENTITY-HEADER") != HEADER:
                self.send_response(401)
                self.end_headers()
                return
            endpoint.requests.append(query)
            body = json.dumps(
                {
                    "access_token": fake_token(len(endpoint.requests)),
                    "expires_on": str(int(time.time() + endpoint.lifetime_s)),
                    "resource": query["resource"][0],
                    "token_type": "Bearer",
                }
            ).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    endpoint.url = f"http://127.0.0.1:{server.server_address[1]}/msi/token"
    monkeypatch.setenv("IDENTITY_ENDPOINT", endpoint.url)
    monkeypatch.setenv("IDENTITY_HEADER", HEADER)
    for name in ("MSI_ENDPOINT", "MSI_SECRET", "IMDS_ENDPOINT", "IDENTITY_SERVER_THUMBPRINT"):
        monkeypatch.delenv(name, raising=False)
    yield endpoint
    server.shutdown()
    server.server_close()
    thread.join(5)


def test_a_token_is_fetched_for_the_identity_and_cached(identity_endpoint: IdentityEndpoint) -> None:
    tokens = ManagedIdentityTokens(REDIS_SCOPE, CLIENT_ID)
    first = tokens.token()
    assert tokens.token() == first
    assert len(identity_endpoint.requests) == 1
    (request,) = identity_endpoint.requests
    assert request["resource"] == ["https://redis.azure.com"]
    assert request["client_id"] == [CLIENT_ID]


def test_a_token_near_expiry_is_refreshed(identity_endpoint: IdentityEndpoint) -> None:
    identity_endpoint.lifetime_s = REFRESH_EARLY_S - 60  # already inside the refresh window
    tokens = ManagedIdentityTokens(REDIS_SCOPE, CLIENT_ID)
    first, second = tokens.token(), tokens.token()
    assert first != second
    assert len(identity_endpoint.requests) == 2


def test_the_database_password_callable_returns_the_token(identity_endpoint: IdentityEndpoint) -> None:
    tokens = ManagedIdentityTokens("https://ossrdbms-aad.database.windows.net/.default", CLIENT_ID)
    assert asyncio.run(tokens()) == fake_token(1)
    assert identity_endpoint.requests[0]["resource"] == ["https://ossrdbms-aad.database.windows.net"]


def test_an_unreachable_identity_endpoint_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IDENTITY_ENDPOINT", "http://127.0.0.1:9/msi/token")
    monkeypatch.setenv("IDENTITY_HEADER", HEADER)
    tokens = ManagedIdentityTokens(REDIS_SCOPE, CLIENT_ID)
    with pytest.raises(EntraAuthError, match=re.escape("Entra ID token for https://redis.azure.com/.default")):
        tokens.token()


def test_redis_signs_in_as_the_identity_with_its_token(
    identity_endpoint: IdentityEndpoint, redis_server: RedisServer
) -> None:
    credentials = RedisEntraCredentials(ManagedIdentityTokens(REDIS_SCOPE, CLIENT_ID))
    # the server side of Entra ID on Azure Managed Redis: a user named by the object id, the token its password
    redis_server.cli("ACL", "SETUSER", OID, "on", f">{fake_token(1)}", "~*", "+@all")
    try:
        client = Redis(host="127.0.0.1", port=redis_server.port, credential_provider=credentials)
        assert client.ping() is True
        assert client.acl_whoami() == OID
        client.close()
        # a token the server does not accept (the next one, after a refresh) is refused, not ignored
        identity_endpoint.lifetime_s = 0
        stale = RedisEntraCredentials(ManagedIdentityTokens(REDIS_SCOPE, CLIENT_ID))
        with pytest.raises(AuthenticationError):
            Redis(host="127.0.0.1", port=redis_server.port, credential_provider=stale).ping()
    finally:
        redis_server.cli("ACL", "DELUSER", OID)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (
            {"database_entra_auth": True, "database_url": "postgresql://app:pw@db:5432/ai", "embedding_model": "embed"},
            "APP_DATABASE_URL must carry no password with APP_DATABASE_ENTRA_AUTH=true",
        ),
        (
            {"database_entra_auth": True, "database_url": "postgresql://db:5432/ai", "embedding_model": "embed"},
            "the user is the managed identity's name",
        ),
        ({"database_entra_auth": True}, "APP_DATABASE_ENTRA_AUTH=true needs APP_DATABASE_URL"),
        ({"redis_entra_auth": True, "redis_url": "redis://cache:6379/0"}, "needs a rediss:// APP_REDIS_URL"),
        (
            {"redis_entra_auth": True, "redis_url": "rediss://cache:10000/0", "redis_password": "p"},
            "APP_REDIS_ENTRA_AUTH=true and APP_REDIS_PASSWORD are both set",
        ),
        ({"redis_entra_auth": True}, "APP_REDIS_ENTRA_AUTH=true needs APP_REDIS_URL"),
    ],
)
def test_entra_settings_errors_name_the_variable(values: dict[str, Any], message: str) -> None:
    from pydantic import ValidationError

    from app.settings import Settings

    with pytest.raises(ValidationError, match=re.escape(message)):
        Settings(auth_required=False, **values)
