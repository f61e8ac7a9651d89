"""API keys (only their SHA-256 digests are held) and optional JWTs checked against a JWKS.

Keys come from the secret store through APP_API_KEYS_SHA256 ("name:hexdigest,..." or bare
digests) or APP_API_KEYS_FILE (one "name:hexdigest" a line). Clients send the key as
`Authorization: Bearer <key>` or `X-API-Key: <key>`.
"""

import hashlib
import re
from dataclasses import dataclass
from typing import Any

import anyio
import jwt
from fastapi import HTTPException, Request

from app.settings import Settings, SettingsError

_HEX64 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: `id` keys the per-key limits, budgets and cache entries."""

    id: str
    kind: str  # "api_key", "jwt" or "anonymous"


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def parse_key_digests(text: str, source: str) -> dict[str, str]:
    """Map digest -> key name; reject anything that is not a SHA-256 hex digest."""
    digests: dict[str, str] = {}
    for number, raw in enumerate(re.split(r"[,\n]", text), start=1):
        entry = raw.strip()
        if not entry or entry.startswith("#"):
            continue
        name, _, digest = entry.rpartition(":")
        digest = digest.lower()
        if not _HEX64.match(digest):
            raise SettingsError(
                f"{source}: entry {number} is not 'name:sha256hex' or 'sha256hex' (64 hex characters); "
                "store the SHA-256 digest of each key, never the key"
            )
        digests[digest] = name or f"key-{digest[:8]}"
    return digests


class Authenticator:
    def __init__(self, settings: Settings) -> None:
        self.required = settings.auth_required
        self.digests: dict[str, str] = {}
        if settings.api_keys_sha256 is not None:
            self.digests |= parse_key_digests(settings.api_keys_sha256.get_secret_value(), "APP_API_KEYS_SHA256")
        if settings.api_keys_file is not None:
            self.digests |= parse_key_digests(settings.api_keys_file.read_text(), "APP_API_KEYS_FILE")
        self.jwks: jwt.PyJWKClient | None = None
        if settings.jwt_jwks_url:
            self.jwks = jwt.PyJWKClient(settings.jwt_jwks_url, cache_keys=True, lifespan=600, timeout=5)
        self.issuer = settings.jwt_issuer
        self.audience = settings.jwt_audience
        self.algorithms = [a.strip() for a in settings.jwt_algorithms.split(",") if a.strip()]

    @staticmethod
    def _credential(request: Request) -> str | None:
        header = request.headers.get("authorization")
        if header:
            scheme, _, value = header.partition(" ")
            if scheme.lower() == "bearer" and value.strip():
                return value.strip()
        return request.headers.get("x-api-key") or None

    async def __call__(self, request: Request) -> Principal:
        """FastAPI dependency: the caller's Principal, or 401 with a WWW-Authenticate challenge."""
        credential = self._credential(request)
        if credential is None:
            if not self.required:
                return Principal("anonymous", "anonymous")
            raise _unauthorized("missing credentials: send 'Authorization: Bearer <key>' or 'X-API-Key'")
        if self.jwks is not None and credential.count(".") == 2:
            return await self._verify_jwt(credential)
        digest = hash_key(credential)
        name = self.digests.get(digest)
        if name is not None:  # the lookup is by digest, so timing reveals nothing about the key
            return Principal(f"key:{name}", "api_key")
        raise _unauthorized("invalid API key")

    async def _verify_jwt(self, token: str) -> Principal:
        jwks = self.jwks
        assert jwks is not None
        try:
            signing_key = await anyio.to_thread.run_sync(jwks.get_signing_key_from_jwt, token)
            claims: dict[str, Any] = jwt.decode(
                token,
                signing_key.key,
                algorithms=self.algorithms,
                audience=self.audience,
                issuer=self.issuer,
                options={"require": ["exp", "iss", "aud", "sub"]},
            )
        except jwt.PyJWKClientConnectionError:
            raise HTTPException(503, "the JWKS endpoint is unreachable") from None
        except jwt.PyJWTError as exc:
            raise _unauthorized(f"invalid token: {exc}") from None
        return Principal(f"jwt:{claims['sub']}", "jwt")


def _unauthorized(message: str) -> HTTPException:
    return HTTPException(401, message, headers={"WWW-Authenticate": "Bearer"})
