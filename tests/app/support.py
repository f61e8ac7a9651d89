"""Helpers shared by the app tests: service handles, the fake routing table, SSE parsing."""

import base64
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
API_KEY = "test-key-0123456789"
OTHER_KEY = "other-key-0123456789"


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(
    check: Callable[[], bool],
    timeout: float,
    what: str,
    proc: subprocess.Popen | None = None,
) -> None:
    """Poll `check` until it is true; on failure kill `proc`, so no service outlives a failed start."""
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if proc is not None and proc.poll() is not None:
                raise RuntimeError(f"{what} exited with {proc.returncode}")
            try:
                if check():
                    return
            except (httpx.HTTPError, OSError):
                pass
            time.sleep(0.05)
        raise RuntimeError(f"{what} did not come up within {timeout}s")
    except BaseException:
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait(10)
        raise


def redis_binary() -> str:
    found = shutil.which("redis-server") or (
        "/usr/bin/redis-server" if os.path.exists("/usr/bin/redis-server") else None
    )
    if found is None:
        pytest.fail("redis-server not found on PATH or in /usr/bin: install it (apt-get install -y redis-server)")
    return found


@dataclass
class RedisServer:
    port: int
    proc: subprocess.Popen
    password: str | None = None  # set when the server runs with --requirepass

    @property
    def url(self) -> str:
        """Never with the password: apps get it through APP_REDIS_PASSWORD."""
        return f"redis://127.0.0.1:{self.port}/0"

    def cli(self, *command: str) -> str:
        """Run a redis-cli command (authenticated when the server needs it) and return its output."""
        env = {**os.environ, "REDISCLI_AUTH": self.password} if self.password else None
        return subprocess.run(
            [redis_binary().replace("redis-server", "redis-cli"), "-p", str(self.port), *command],
            check=True,
            capture_output=True,
            text=True,
            env=env,
        ).stdout

    def flush(self) -> None:
        self.cli("flushall")


@dataclass
class Upstream:
    port: int
    proc: subprocess.Popen

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def script(self, model: str, steps: list[str]) -> None:
        httpx.post(f"{self.url}/_control/script", json={"model": model, "steps": steps}).raise_for_status()

    def requests(self, model: str | None = None) -> list[dict[str, Any]]:
        seen = httpx.get(f"{self.url}/_control/requests").json()["requests"]
        return [r for r in seen if model is None or r["model"] == model]

    def traces(self) -> list[bytes]:
        """Raw OTLP/HTTP export bodies (protobuf) received on /v1/traces."""
        return [base64.b64decode(t) for t in httpx.get(f"{self.url}/_control/requests").json()["traces"]]

    def reset(self) -> None:
        httpx.post(f"{self.url}/_control/reset").raise_for_status()

    def set_jwks(self, jwks: dict[str, Any]) -> None:
        httpx.post(f"{self.url}/_control/jwks", json=jwks).raise_for_status()


@dataclass
class AppProcess:
    port: int
    proc: subprocess.Popen
    log_path: Path
    headers: dict[str, str] = field(default_factory=lambda: {"authorization": f"Bearer {API_KEY}"})

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client(self, **kwargs: Any) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers=self.headers, timeout=30, **kwargs)

    def logs(self) -> list[dict[str, Any]]:
        out = []
        for line in self.log_path.read_text().splitlines():
            try:
                out.append(json.loads(line))
            except ValueError:
                continue
        return out

    def stop(self, sig: int = signal.SIGTERM) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        return self.proc.returncode


def run_app(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run `python -m app` with only `env` (and the dev provider) and wait for it to exit: for start-up errors."""
    base = {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": str(REPO),
        "APP_DEV_PROVIDER": "true",
    }
    return subprocess.run(
        [sys.executable, "-m", "app"],
        cwd=REPO,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def routing_table(upstream_url: str) -> dict[str, Any]:
    """Providers on the fake upstream; each alias's upstream model names pick the fault behaviour."""
    v1 = f"{upstream_url}/v1"
    pairs = {
        "fallback": ["primary/fb-a", "backup/fb-b"],
        "retry429": ["primary/r429-a", "backup/r429-b"],
        "slow": ["primary/delay=3", "backup/slow-b"],
        "reset": ["primary/reset", "backup/reset-b"],
        "breaker": ["primary/br-a", "backup/br-b"],
        "stream-fallback": ["primary/sf-a", "backup/sf-b"],
        "midstream": ["primary/cut_after=2;chunks=6", "backup/ms-b"],
        "malformed": ["primary/malformed;chunks=4", "backup/mf-b"],
        "no-done": ["primary/no_done;chunks=3", "backup/nd-b"],
        "broken": ["primary/status=500", "backup/status=502"],
        "claude": ["claude/claude-x;chunks=7"],
        "claude-error": ["claude/anthropic_error;chunks=6"],
        "azure": ["azure/dep-1"],
        "plain": ["primary/plain"],
        "slow-stream": ["primary/chunks=10;chunk_delay=0.2"],
        "tier-small": ["primary/small-model"],
        "tier-medium": ["primary/medium-model"],
        "tier-large": ["primary/large-model"],
    }
    return {
        "providers": {
            "primary": {
                "type": "openai_compatible",
                "base_url": v1,
                "api_key_env": "FAKE_PRIMARY_KEY",
            },
            "backup": {"type": "openai_compatible", "base_url": v1},
            "claude": {
                "type": "anthropic",
                "base_url": v1,
                "api_key_env": "FAKE_ANTHROPIC_KEY",
            },
            "azure": {
                "type": "azure_openai",
                "endpoint": upstream_url,
                "api_key_env": "FAKE_AZURE_KEY",
            },
        },
        "models": {
            alias: [{"provider": t.split("/", 1)[0], "model": t.split("/", 1)[1]} for t in targets]
            for alias, targets in pairs.items()
        },
        "tiers": {
            "small": "tier-small",
            "medium": "tier-medium",
            "large": "tier-large",
        },
        "default_model": "plain",
        "prices": {"plain": {"input": 1000.0, "output": 2000.0}},
    }


BASE_ENV = {
    "APP_API_KEYS_SHA256": f"tester:{sha256(API_KEY)},other:{sha256(OTHER_KEY)}",
    "APP_MAX_RETRIES": "1",
    "APP_BACKOFF_BASE_S": "0.01",
    "APP_BACKOFF_MAX_S": "0.05",
    "APP_MAX_RETRY_WAIT_S": "2",
    "APP_READ_TIMEOUT_S": "1",
    "APP_BREAKER_FAILURE_THRESHOLD": "3",
    "APP_BREAKER_RESET_S": "1.5",
    "APP_GRACEFUL_SHUTDOWN_S": "20",
    "FAKE_PRIMARY_KEY": "sk-primary-000000000000",
    "FAKE_ANTHROPIC_KEY": "sk-ant-000000000000",
    "FAKE_AZURE_KEY": "azure-key-000000000000",
}

StartApp = Callable[..., AppProcess]


def sse_events(text: str) -> list[tuple[str | None, str]]:
    """Split an SSE body into (event, data) pairs."""
    events = []
    for block in text.split("\n\n"):
        if not block.strip():
            continue
        event, data = None, []
        for line in block.split("\n"):
            if line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].strip())
        events.append((event, "\n".join(data)))
    return events


def make_certificate(subject: str, public_key: Any, ca: Any, ca_key: Any, *, ip: str | None = None) -> Any:
    """An X.509 certificate valid for an hour: a CA (``ca`` None, self-signed with ``ca_key``) or one
    signed by ``ca``, with ``ip`` as its subject alternative name; for TLS servers in tests."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.UTC)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(ca.subject if ca else name)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=ca is None, path_length=None), critical=True)
    )
    if ip is not None:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(ip))]), critical=False
        )
    return builder.sign(ca_key, hashes.SHA256())


def pem(certificate: Any) -> str:
    from cryptography.hazmat.primitives import serialization

    return certificate.public_bytes(serialization.Encoding.PEM).decode()
