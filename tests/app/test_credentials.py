"""Secrets kept out of URLs: the Redis AUTH token (APP_REDIS_PASSWORD) and RDS IAM database authentication."""

import asyncio
import uuid
from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from app.rds_iam import RdsAuthTokens, iam_connect_args
from app.retrieval.store import DocumentStore
from app.settings import load_settings
from tests.app.support import RedisServer, StartApp, run_app

AWS_KEY_ID = "AKIDEXAMPLE0123456789"


def test_limits_and_cache_work_with_the_redis_password(start_app: StartApp, redis_with_password: RedisServer) -> None:
    assert redis_with_password.password is not None
    redis_with_password.flush()
    app = start_app(
        {
            "APP_REDIS_URL": redis_with_password.url,  # no password in the URL
            "APP_REDIS_PASSWORD": redis_with_password.password,
            "APP_RPM_PER_KEY": "3",
        }
    )
    payload = {"prompt": f"auth {uuid.uuid4()}", "temperature": 0}
    with app.client() as c:
        assert c.get("/ready").json()["checks"]["redis"] == "ok"
        answers = [c.post("/generate", json=payload) for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert "key requests" in answers[3].json()["detail"]
    assert [a.json()["cached"] for a in answers[:3]] == [False, True, True]
    # the limit windows and the cache entry live in the password-protected server
    assert int(redis_with_password.cli("dbsize")) >= 2
    assert redis_with_password.cli("--scan", "--pattern", "cache:*").strip()


def test_ready_reports_redis_failing_with_a_wrong_password(
    start_app: StartApp, redis_with_password: RedisServer
) -> None:
    app = start_app({"APP_REDIS_URL": redis_with_password.url, "APP_REDIS_PASSWORD": "not-the-token"})
    with app.client() as c:
        ready = c.get("/ready")
        generate = c.post("/generate", json={"prompt": "hi"})
    assert ready.status_code == 503
    assert ready.json()["checks"]["redis"].startswith("failed: AuthenticationError"), ready.text
    assert generate.status_code == 503  # limits fail closed without Redis
    assert "not-the-token" not in ready.text + app.log_path.read_text()


IAM = {
    "APP_AUTH_REQUIRED": "false",
    "APP_EMBEDDING_MODEL": "dev-echo",
    "APP_DATABASE_IAM_AUTH": "true",
    "APP_DATABASE_REGION": "eu-west-1",
}


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"APP_AUTH_REQUIRED": "false", "APP_REDIS_URL": "rediss://:in-url-secret@cache:6379/0"},
            "the Redis password is given twice, in APP_REDIS_URL and in APP_REDIS_PASSWORD",
        ),
        (
            {"APP_AUTH_REQUIRED": "false", "APP_REDIS_URL": "redis://cache/0?password=in-url-secret"},
            "the Redis password is given twice, in APP_REDIS_URL and in APP_REDIS_PASSWORD",
        ),
        ({"APP_AUTH_REQUIRED": "false"}, "APP_REDIS_PASSWORD is set but APP_REDIS_URL is not"),
    ],
)
def test_redis_password_settings_errors(env: dict[str, str], message: str) -> None:
    result = run_app({**env, "APP_REDIS_PASSWORD": "var-secret"})
    assert result.returncode == 2
    assert message in result.stderr, result.stderr
    assert "in-url-secret" not in result.stderr and "var-secret" not in result.stderr


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"APP_DATABASE_URL": None}, "APP_DATABASE_IAM_AUTH=true needs APP_DATABASE_URL"),
        (
            {"APP_DATABASE_URL": "postgresql://ai_api:pw-secret@db:5432/app?sslmode=require"},
            "APP_DATABASE_URL must carry no password with APP_DATABASE_IAM_AUTH=true",
        ),
        (
            {"APP_DATABASE_URL": "postgresql://ai_api@db:5432/app?sslmode=disable"},
            "APP_DATABASE_URL has sslmode=disable, which allows a connection without TLS: IAM authentication "
            "needs TLS; use sslmode=require, verify-ca or verify-full",
        ),
        (
            {"APP_DATABASE_URL": "postgresql://ai_api@db:5432/app?sslmode=prefer"},
            "APP_DATABASE_URL has sslmode=prefer, which allows a connection without TLS",
        ),
        (
            {"APP_DATABASE_URL": "postgresql://db:5432/app"},
            "APP_DATABASE_URL must name the database user with APP_DATABASE_IAM_AUTH=true",
        ),
        (
            {"APP_DATABASE_URL": "postgresql://ai_api@db/app?host=other"},
            "with APP_DATABASE_IAM_AUTH=true put host in the URL",
        ),
        (
            {"APP_DATABASE_URL": "postgresql://ai_api@db/app", "APP_DATABASE_REGION": None},
            "APP_DATABASE_IAM_AUTH=true needs the database's AWS region: set APP_DATABASE_REGION or AWS_REGION",
        ),
        (
            {"APP_DATABASE_URL": "postgresql://ai_api@db/app", "APP_DATABASE_REGION": "eu west 1"},
            "APP_DATABASE_REGION / AWS_REGION ('eu west 1')",
        ),
    ],
)
def test_database_iam_settings_errors(env: dict[str, str | None], message: str) -> None:
    merged = {**IAM, **env}
    result = run_app({k: v for k, v in merged.items() if v is not None})
    assert result.returncode == 2
    assert message in result.stderr, result.stderr
    assert "pw-secret" not in result.stderr


@pytest.fixture
def fake_aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Static credentials in the environment and nothing else: botocore signs offline with them."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", AWS_KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
    for name in ("AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def _decode(token: str) -> tuple[str, dict[str, list[str]]]:
    """An RDS auth token is a presigned URL without its scheme: host:port/?Action=connect&..."""
    parts = urlsplit(f"https://{token}")
    return f"{parts.hostname}:{parts.port}", parse_qs(parts.query)


def test_token_is_signed_for_the_host_port_user_and_region(fake_aws: None) -> None:
    tokens = RdsAuthTokens("ai.cluster-abc.eu-west-1.rds.amazonaws.com", 5432, "ai_api", "eu-west-1")
    address, query = _decode(asyncio.run(tokens()))
    assert address == "ai.cluster-abc.eu-west-1.rds.amazonaws.com:5432"
    assert query["Action"] == ["connect"]
    assert query["DBUser"] == ["ai_api"]
    key_id, _date, region, service, scope = query["X-Amz-Credential"][0].split("/")
    assert (key_id, region, service, scope) == (AWS_KEY_ID, "eu-west-1", "rds-db", "aws4_request")
    assert query["X-Amz-Expires"] == ["900"]
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
    assert len(query["X-Amz-Signature"][0]) == 64


def test_iam_settings_give_asyncpg_a_token_callable_and_tls(fake_aws: None, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        **IAM,
        "APP_DATABASE_URL": "postgresql://ai_api@db.internal:6543/vectors",
        "APP_DATABASE_REGION": "",
        "AWS_REGION": "us-east-2",
    }.items():
        monkeypatch.setenv(name, value)
    args = iam_connect_args(load_settings())
    assert args["ssl"] == "require"  # no sslmode in the URL: the app requires TLS itself
    address, query = _decode(asyncio.run(args["password"]()))
    assert (address, query["DBUser"]) == ("db.internal:6543", ["ai_api"])
    assert query["X-Amz-Credential"][0].split("/")[2] == "us-east-2"  # AWS_REGION as the fallback

    monkeypatch.setenv("APP_DATABASE_URL", "postgresql://ai_api@db.internal/vectors?sslmode=verify-full")
    monkeypatch.setenv("APP_DATABASE_REGION", "eu-central-1")
    args = iam_connect_args(load_settings())
    assert "ssl" not in args  # the URL's sslmode stands
    address, query = _decode(args["password"].token())
    assert address == "db.internal:5432"
    assert query["X-Amz-Credential"][0].split("/")[2] == "eu-central-1"  # APP_DATABASE_REGION wins


def test_the_pool_asks_for_a_fresh_token_for_every_new_connection(
    fake_aws: None, postgres: Callable[[str], str]
) -> None:
    dsn = postgres("iam")  # pgserver trusts local connections, so it accepts whatever token it is sent
    tokens = RdsAuthTokens("db.internal", 5432, "ai_api", "eu-west-1")
    issued: list[str] = []

    async def password() -> str:
        token = await tokens()
        issued.append(token)
        return token

    async def exercise() -> list[int]:
        store = await DocumentStore.connect(dsn, 4, 3, password=password)
        counts = [len(issued)]  # min_size 1: one connection, one token
        try:
            held = [await store.pool.acquire() for _ in range(3)]
            counts.append(len(issued))  # two more connections opened
            for conn in held:
                await store.pool.release(conn)
            await store.ping()
            counts.append(len(issued))  # reused: no new connection, no new token
            await store.pool.expire_connections()
            await store.ping()
            counts.append(len(issued))  # the expired connection was replaced by a new one
        finally:
            await store.close()
        return counts

    assert asyncio.run(exercise()) == [1, 3, 3, 4]
    assert all(_decode(t)[1]["DBUser"] == ["ai_api"] for t in issued)
