"""Redis over TLS with a private CA (APP_REDIS_CA_CERT), as Memorystore's transit encryption is:
a real redis-server with TLS, whose certificate only the given CA verifies."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvloop
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from redis.exceptions import ConnectionError as RedisConnectionError

from app.limits import Limiter, RedisStore
from app.main import _connect_redis
from app.settings import Settings
from tests.app.support import free_port, make_certificate, pem, wait_until


@pytest.fixture(scope="module")
def tls_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, str]]:
    """(port, CA PEM) of a redis-server that speaks only TLS, with a certificate from a private CA."""
    directory: Path = tmp_path_factory.mktemp("redis-tls")
    ca_key, server_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = make_certificate("test private CA", ca_key.public_key(), None, ca_key)
    server = make_certificate("redis", server_key.public_key(), ca, ca_key, ip="127.0.0.1")
    (directory / "ca.pem").write_text(pem(ca))
    (directory / "server.pem").write_text(pem(server))
    (directory / "server.key").write_bytes(
        server_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    port = free_port()
    proc = subprocess.Popen(
        [
            "redis-server",
            "--port", "0",
            "--tls-port", str(port),
            "--bind", "127.0.0.1",
            "--tls-cert-file", str(directory / "server.pem"),
            "--tls-key-file", str(directory / "server.key"),
            "--tls-ca-cert-file", str(directory / "ca.pem"),
            "--tls-auth-clients", "no",
            "--save", "",
            "--appendonly", "no",
        ],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip

    def listening() -> bool:
        import socket

        with socket.socket() as probe:
            return probe.connect_ex(("127.0.0.1", port)) == 0

    wait_until(listening, 10, "redis-server (TLS)", proc)
    yield port, pem(ca)
    proc.terminate()
    proc.wait(10)


def _ping(port: int, ca: str | None) -> bool:
    settings = Settings.model_validate(
        {"redis_url": f"rediss://127.0.0.1:{port}/0", "redis_ca_cert": ca, "auth_required": False}
    )

    async def ping() -> bool:
        client = _connect_redis(settings, socket_timeout=2)
        try:
            return bool(await client.ping())
        finally:
            await client.aclose()

    return asyncio.run(ping())


def test_the_private_ca_verifies_the_server(tls_redis: tuple[int, str]) -> None:
    port, ca = tls_redis
    assert _ping(port, ca) is True


def test_without_the_ca_the_server_is_not_trusted(tls_redis: tuple[int, str]) -> None:
    port, _ = tls_redis
    with pytest.raises(RedisConnectionError, match="certificate verify failed"):
        _ping(port, None)


@pytest.mark.parametrize(
    ("url", "pem", "message"),
    [
        ("redis://cache:6379/0", "-----BEGIN CERTIFICATE-----", "not a rediss:// \\(TLS\\) URL"),
        ("rediss://cache:6378/0", "not a pem", "must be PEM certificates"),
    ],
)
def test_bad_ca_settings_are_refused(url: str, pem: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Settings.model_validate({"redis_url": url, "redis_ca_cert": pem, "auth_required": False})


def test_the_limiter_reads_its_own_connection_over_tls(tls_redis: tuple[int, str]) -> None:
    """The limiter's connection is opened (TLS, the private CA) by redis-py and then read by hiredis from
    uvloop's TLS transport, as the app runs it: limits stay exact."""
    port, ca = tls_redis
    settings = Settings.model_validate(
        {
            "redis_url": f"rediss://127.0.0.1:{port}/0",
            "redis_ca_cert": ca,
            "auth_required": False,
            "rpm_per_ip": 3,
            "tpm_per_ip": 0,
        }
    )

    async def admissions() -> list[bool]:
        client = _connect_redis(settings, socket_timeout=None)
        limiter = Limiter(settings, RedisStore(client, 5.0))
        try:
            return [(await limiter.admit(None, "198.51.100.9", 1)).allowed for _ in range(5)]
        finally:
            await limiter.aclose()
            await client.aclose()

    assert uvloop.run(admissions()) == [True, True, True, False, False]
