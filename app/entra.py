"""Microsoft Entra ID sign-in for PostgreSQL and Azure Managed Redis with the app's managed identity.

No password or access key exists: each new connection presents an access token of the identity
(``AZURE_CLIENT_ID`` names a user-assigned one). Tokens are cached and refreshed five minutes
before they expire, so a connection opened at any time gets a valid one; azure-identity reads
the platform's identity endpoint (``IDENTITY_ENDPOINT``/``IDENTITY_HEADER`` on Container Apps).
azure-identity is imported only when Entra ID is configured.
"""

import asyncio
import base64
import json
import threading
import time
from typing import Any

from redis.credentials import CredentialProvider

from app.settings import Settings, SettingsError, parse_iam_database_url

POSTGRES_SCOPE = "https://ossrdbms-aad.database.windows.net/.default"
REDIS_SCOPE = "https://redis.azure.com/.default"
REFRESH_EARLY_S = 300


class EntraAuthError(RuntimeError):
    """No token could be obtained (typically: no managed identity reachable)."""


class ManagedIdentityTokens:
    """A cached access token for one scope, refreshed ``REFRESH_EARLY_S`` before it expires (thread-safe)."""

    def __init__(self, scope: str, client_id: str | None, credential: Any = None) -> None:
        if credential is None:
            from azure.identity import ManagedIdentityCredential

            credential = ManagedIdentityCredential(client_id=client_id) if client_id else ManagedIdentityCredential()
        self.scope = scope
        self._credential = credential
        self._token: str | None = None
        self._expires_on = 0.0
        self._lock = threading.Lock()

    def token(self) -> str:
        with self._lock:
            if self._token is not None and time.time() < self._expires_on - REFRESH_EARLY_S:
                return self._token
            try:
                access = self._credential.get_token(self.scope)
            except Exception as exc:  # azure-identity raises several unrelated types
                raise EntraAuthError(f"Entra ID token for {self.scope}: {exc}") from exc
            self._token, self._expires_on = access.token, float(access.expires_on)
            return access.token

    async def __call__(self) -> str:
        """asyncpg's password callable: a blocking HTTP call to the identity endpoint, off the loop."""
        return await asyncio.to_thread(self.token)


def object_id(token: str) -> str:
    """The ``oid`` claim of an access token: the identity's object id, Redis's user name for it."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return str(claims["oid"])
    except (IndexError, ValueError, KeyError) as exc:
        raise EntraAuthError("the Entra ID token has no oid claim (not a managed identity token?)") from exc


class RedisEntraCredentials(CredentialProvider):
    """redis-py asks for credentials on every new connection: the identity's object id and a fresh token."""

    def __init__(self, tokens: ManagedIdentityTokens) -> None:
        self.tokens = tokens

    def get_credentials(self) -> tuple[str, str]:
        token = self.tokens.token()
        return object_id(token), token

    async def get_credentials_async(self) -> tuple[str, str]:
        return await asyncio.to_thread(self.get_credentials)


def redis_credentials(settings: Settings) -> RedisEntraCredentials:
    return RedisEntraCredentials(ManagedIdentityTokens(REDIS_SCOPE, settings.azure_client_id))


def entra_connect_args(settings: Settings) -> dict[str, Any]:
    """asyncpg arguments for APP_DATABASE_ENTRA_AUTH: the token callable, and TLS when the URL names no sslmode."""
    if settings.database_url is None:
        raise SettingsError("APP_DATABASE_ENTRA_AUTH=true needs APP_DATABASE_URL")
    endpoint = parse_iam_database_url(settings.database_url.get_secret_value(), "APP_DATABASE_ENTRA_AUTH")
    args: dict[str, Any] = {"password": ManagedIdentityTokens(POSTGRES_SCOPE, settings.azure_client_id)}
    if endpoint.sslmode is None:
        args["ssl"] = "require"
    return args
