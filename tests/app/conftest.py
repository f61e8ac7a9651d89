"""Real services for the app tests: redis-server, the fake upstream, and app processes (`python -m app`)."""

import os
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from pgserver.postgres_server import get_server

from tests.app.support import (
    BASE_ENV,
    HERE,
    REPO,
    AppProcess,
    RedisServer,
    StartApp,
    Upstream,
    free_port,
    redis_binary,
    routing_table,
    wait_until,
)


def _redis(password: str | None = None) -> Iterator[RedisServer]:
    """A throwaway redis-server on a free loopback port; with `password`, AUTH is required (--requirepass)."""
    port = free_port()
    args = [redis_binary(), "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    if password is not None:
        args += ["--requirepass", password]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    server = RedisServer(port, proc, password)

    def ping() -> bool:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith((b"+PONG", b"-NOAUTH"))  # either way it is serving

    wait_until(ping, 10, "redis-server", proc)
    yield server
    proc.terminate()
    proc.wait(10)


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    yield from _redis()


@pytest.fixture(scope="session")
def redis_with_password() -> Iterator[RedisServer]:
    """A redis-server that needs AUTH, as ElastiCache with an auth token does."""
    yield from _redis(password="redis-auth-token-0123456789")


@pytest.fixture(scope="session")
def upstream() -> Iterator[Upstream]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, str(HERE / "fake_upstream.py"), "--port", str(port)])
    server = Upstream(port, proc)
    wait_until(
        lambda: httpx.get(f"{server.url}/v1/models").status_code == 200,
        10,
        "fake upstream",
        proc,
    )
    yield server
    proc.terminate()
    proc.wait(10)


@pytest.fixture(scope="session")
def start_app(upstream: Upstream, tmp_path_factory: pytest.TempPathFactory) -> Iterator[StartApp]:
    """Start `python -m app` with the base env plus overrides; every process is stopped at the end."""
    started: list[AppProcess] = []

    def start(
        env: dict[str, str] | None = None,
        routing: dict[str, Any] | None = None,
        wait: bool = True,
    ) -> AppProcess:
        port = free_port()
        work = tmp_path_factory.mktemp("app")
        routing_file = work / "routing.yaml"
        routing_file.write_text(yaml.safe_dump(routing or routing_table(upstream.url)))
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("APP_")}
        full_env.update(BASE_ENV)
        full_env.update(
            {
                "APP_PORT": str(port),
                "APP_HOST": "127.0.0.1",
                "APP_ROUTING_FILE": str(routing_file),
            }
        )
        full_env.update(env or {})
        full_env["PYTHONPATH"] = str(REPO)
        log_path = work / "app.log"
        proc = subprocess.Popen(
            [sys.executable, "-m", "app"],
            cwd=REPO,
            env=full_env,
            stdout=log_path.open("w"),
            stderr=subprocess.STDOUT,
        )
        app = AppProcess(port, proc, log_path)
        started.append(app)
        if wait:
            wait_until(
                lambda: httpx.get(f"{app.url}/health").status_code == 200,
                20,
                "app",
                proc,
            )
        return app

    yield start
    for app in started:
        app.stop()


@pytest.fixture(scope="session")
def app_server(start_app: StartApp, redis_server: RedisServer) -> AppProcess:
    """The shared app: Redis-backed limits (generous) and cache, the full fake routing table."""
    return start_app({"APP_REDIS_URL": redis_server.url})


@pytest.fixture
def client(app_server: AppProcess) -> Iterator[httpx.Client]:
    with app_server.client() as c:
        yield c


@pytest.fixture(scope="session")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[str], str]]:
    """A real PostgreSQL with pgvector (pgserver); call it with a name to get a fresh database's URI."""
    server = get_server(Path(tmp_path_factory.mktemp("pg")), cleanup_mode="stop")
    base = server.get_uri()

    def new_database(name: str) -> str:
        server.psql(f"CREATE DATABASE {name};")
        return base.replace("/postgres?", f"/{name}?")

    yield new_database
    server.cleanup()


@pytest.fixture(scope="session")
def full_app(
    start_app: StartApp, upstream: Upstream, postgres: Callable[[str], str], redis_server: RedisServer
) -> AppProcess:
    """Every route the app can serve (documents, sessions, jobs included), limits off: for schema-wide tests."""
    v1 = f"{upstream.url}/v1"
    routing = {
        "providers": {"p": {"type": "openai_compatible", "base_url": v1}},
        "models": {
            "plain": [{"provider": "p", "model": "st;bullets;chunks=12"}],
            "embed": [{"provider": "p", "model": "st-embed;dim=16;bullets;chunks=12"}],
        },
        "tiers": {"small": "plain"},
        "default_model": "plain",
    }
    unlimited = {f"APP_{name}": "0" for name in ("RPM_PER_KEY", "RPM_PER_IP", "TPM_PER_KEY", "TPM_PER_IP")}
    database = {"APP_DATABASE_URL": postgres("schema"), "APP_EMBEDDING_MODEL": "embed", "APP_EMBEDDING_DIM": "16"}
    memory = {"APP_REDIS_URL": redis_server.url}  # conversation memory: session_id and /v1/sessions
    jobs = {"APP_QUEUE_BACKEND": "redis", "APP_QUEUE_URL": "schema-jobs"}
    return start_app({**unlimited, **database, **memory, **jobs}, routing)


# Async jobs: moto's SQS server and the Pub/Sub emulator (tests/app/queue_servers.py)
from tests.app.queue_servers import pubsub_emulator, sqs_server  # noqa: E402, F401
