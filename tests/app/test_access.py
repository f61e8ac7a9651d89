"""JWT against a JWKS, key files holding digests only, and start-up settings errors naming the variable."""

import time
from pathlib import Path

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from tests.app.support import StartApp, Upstream, run_app, sha256

ISSUER, AUDIENCE = "https://issuer.test", "ai-api"


@pytest.fixture(scope="module")
def signing_key(upstream: Upstream) -> rsa.RSAPrivateKey:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
    upstream.set_jwks({"keys": [{**jwk, "kid": "k1", "use": "sig", "alg": "RS256"}]})
    return key


def token(key: rsa.RSAPrivateKey, **overrides: object) -> str:
    claims = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "user-1",
        "exp": int(time.time()) + 300,
        **overrides,
    }
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": "k1"})


def test_jwt_is_checked_for_signature_issuer_audience_and_expiry(
    start_app: StartApp, upstream: Upstream, signing_key: rsa.RSAPrivateKey
) -> None:
    app = start_app(
        {
            "APP_JWT_JWKS_URL": f"{upstream.url}/jwks.json",
            "APP_JWT_ISSUER": ISSUER,
            "APP_JWT_AUDIENCE": AUDIENCE,
        }
    )
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cases = {
        "valid": (token(signing_key), 200),
        "wrong audience": (token(signing_key, aud="someone-else"), 401),
        "wrong issuer": (token(signing_key, iss="https://evil.test"), 401),
        "expired": (token(signing_key, exp=int(time.time()) - 10), 401),
        "wrong signer": (token(other_key), 401),
    }
    with httpx.Client(base_url=app.url) as c:
        for name, (tok, expected) in cases.items():
            r = c.post(
                "/generate",
                json={"prompt": "hi"},
                headers={"authorization": f"Bearer {tok}"},
            )
            assert r.status_code == expected, (name, r.text)
        # API keys still work next to JWTs
        assert (
            c.post(
                "/generate",
                json={"prompt": "hi"},
                headers={"x-api-key": "test-key-0123456789"},
            ).status_code
            == 200
        )


def test_api_keys_file_holds_digests(start_app: StartApp, tmp_path: Path) -> None:
    keys = tmp_path / "keys.txt"
    keys.write_text(f"# team keys\nteam-a:{sha256('file-key-abcdef123')}\n")
    app = start_app({"APP_API_KEYS_SHA256": "", "APP_API_KEYS_FILE": str(keys)})
    with httpx.Client(base_url=app.url) as c:
        assert (
            c.post(
                "/generate",
                json={"prompt": "hi"},
                headers={"x-api-key": "file-key-abcdef123"},
            ).status_code
            == 200
        )
        assert (
            c.post(
                "/generate",
                json={"prompt": "hi"},
                headers={"x-api-key": "test-key-0123456789"},
            ).status_code
            == 401
        )


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"APP_PORT": "eighty"},
            "APP_PORT (got 'eighty'): Input should be a valid integer",
        ),
        (
            {
                "APP_AUTH_REQUIRED": "false",
                "APP_TEMPERATURE": "1",
                "APP_MAX_RETRIES": "99",
            },
            "APP_MAX_RETRIES (got '99'): Input should be less than or equal to 10",
        ),
        ({}, "no credentials are configured: set APP_API_KEYS_SHA256"),
        (
            {"APP_API_KEYS_SHA256": "plaintext-key"},
            "APP_API_KEYS_SHA256: entry 1 is not 'name:sha256hex'",
        ),
        (
            {
                "APP_AUTH_REQUIRED": "false",
                "APP_ROUTING": "models: {m: [{provider: nope, model: x}]}",
            },
            "provider 'nope' is not one of",
        ),
        (
            {"APP_AUTH_REQUIRED": "false", "APP_JWT_ISSUER": "x"},
            "JWT needs all of APP_JWT_JWKS_URL",
        ),
        (
            {
                "APP_AUTH_REQUIRED": "false",
                "APP_DEV_PROVIDER": "false",
                "APP_ROUTING": "providers: {d: {type: dev}}",
            },
            "a 'dev' provider needs APP_DEV_PROVIDER=true",
        ),
    ],
)
def test_bad_settings_fail_at_start_naming_the_variable(env: dict[str, str], message: str) -> None:
    result = run_app(env)
    assert result.returncode == 2
    assert message in result.stderr, result.stderr
