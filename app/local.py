"""`python -m app.local [STACK]`: the app on this machine, no cloud account needed.

Starts redis-server and PostgreSQL with pgvector (the `pgserver` wheel) as child processes, then
the app (and the worker, when this checkout has one), with the stack's `ai-platform:app`
environment when a stack is named. Without provider keys in the environment every model alias is
served by the offline dev provider. Prints the URL and a curl line with a fresh API key; Ctrl-C
or SIGTERM stops everything it started.
"""

import argparse
import hashlib
import math
import os
import re
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from app.providers.local import BUNDLED_DIM, BUNDLED_MODEL, missing_packages
from app.routing import AzureConfig, RoutingConfig

APP_DIR = Path(__file__).resolve().parent
REPO = APP_DIR.parent
STACKS_DIR = REPO / "stacks"
STACK_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
# what the runner sets itself, and what only means something in the cloud
OWNED = ("APP_HOST", "APP_PORT", "APP_REDIS_URL", "APP_DATABASE_URL", "APP_API_KEYS_SHA256")
CLOUD_ONLY = (
    "APP_REDIS_PASSWORD",
    "APP_DATABASE_IAM_AUTH",
    "APP_DATABASE_REGION",
    "APP_OTLP_ENDPOINT",
    "APP_API_KEYS_FILE",
    "APP_JWT_JWKS_URL",
    "APP_JWT_ISSUER",
    "APP_JWT_AUDIENCE",
    "APP_ROUTING_FILE",
)
DEV_TARGET = {"provider": "dev", "model": "dev-echo"}
# the Redis Streams queue of the contract between the app, the worker and the local run
QUEUE_ENV = {"APP_QUEUE_BACKEND": "redis", "APP_QUEUE_URL": "ai-jobs"}
LOCAL_EMBEDDING_ALIAS = "local-embed"
WAF_WINDOW_MINUTES = 5  # the gateway's per-IP limit is counted over 5 minutes (components/aws/gateway.py)


class StackError(ValueError):
    """A stack file that cannot be read; the message names the file and the key."""


def stack_config(name: str, stacks_dir: Path = STACKS_DIR) -> dict[str, Any]:
    if not STACK_NAME.match(name):
        raise StackError(f"stack name {name!r}: use letters, digits, '.', '_' and '-'")
    path = stacks_dir / f"Pulumi.{name}.yaml"
    if not path.is_file():
        known = sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in stacks_dir.glob("Pulumi.*.yaml"))
        raise StackError(f"no stack file {path}; stacks: {', '.join(known) or 'none'}")
    try:
        document = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise StackError(f"{path} is not valid YAML: {exc}") from None
    config = document.get("config") if isinstance(document, dict) else None
    if not isinstance(config, dict):
        raise StackError(f"{path}: `config` must be a mapping")
    return config


def stack_environment(name: str, stacks_dir: Path = STACKS_DIR) -> dict[str, str]:
    """The plain environment of the stack's `ai-platform:app` (its secrets stay in the stack's secret store)."""
    app = stack_config(name, stacks_dir).get("ai-platform:app") or {}
    environment = app.get("environment") or {} if isinstance(app, dict) else None
    if not isinstance(environment, dict):
        raise StackError(f"stack {name}: ai-platform:app.environment must map variable names to values")
    out: dict[str, str] = {}
    for key, value in environment.items():
        if isinstance(value, bool):
            out[str(key)] = "true" if value else "false"
        elif isinstance(value, str | int | float):
            out[str(key)] = str(value)
        else:
            raise StackError(f"stack {name}: ai-platform:app.environment.{key} (got {value!r}) must be a plain value")
    return out


def edge_rpm_per_ip(config: dict[str, Any]) -> int | None:
    """The gateway's per-IP limit (requests per 5 minutes at the WAF) as the app's per-minute limit."""
    gateway = config.get("ai-platform:gateway")
    limit = gateway.get("rateLimitPerIp") if isinstance(gateway, dict) else None
    if isinstance(limit, int) and not isinstance(limit, bool) and limit > 0:
        return math.ceil(limit / WAF_WINDOW_MINUTES)
    return None


def provider_key_envs(routing: RoutingConfig) -> dict[str, str]:
    """Provider name -> the environment variable holding its key (Entra-authenticated Azure has none)."""
    out: dict[str, str] = {}
    for name, config in routing.providers.items():
        key_env = getattr(config, "api_key_env", None)
        if key_env and not (isinstance(config, AzureConfig) and config.auth == "entra"):
            out[name] = key_env
    return out


def dev_routing(routing: RoutingConfig) -> dict[str, Any]:
    """The same aliases, tiers and default model, every one served by the dev provider."""
    return {
        "providers": {"dev": {"type": "dev"}},
        "models": {alias: [DEV_TARGET] for alias in routing.models} or {"dev-echo": [DEV_TARGET]},
        "tiers": dict(routing.tiers),
        "default_model": routing.default_model or "dev-echo",
    }


@dataclass
class Plan:
    """The app's environment for a local run, and what the runner chose and why."""

    env: dict[str, str]
    notes: list[str] = field(default_factory=list)
    dev: bool = False


def plan_environment(stack: str | None, environ: dict[str, str], stacks_dir: Path = STACKS_DIR) -> Plan:
    """The stack's app environment, then the caller's APP_* variables, minus what only works in the cloud."""
    env: dict[str, str] = {}
    notes: list[str] = []
    if stack is not None:
        env.update(stack_environment(stack, stacks_dir))
        rpm = edge_rpm_per_ip(stack_config(stack, stacks_dir))
        if rpm is not None and "APP_RPM_PER_IP" not in env:
            env["APP_RPM_PER_IP"] = str(rpm)
            notes.append(f"per-IP limit {rpm}/min: the stack's gateway limit, which the WAF applies in the cloud")
    env.update({k: v for k, v in environ.items() if k.startswith("APP_")})
    if environ.get("APP_ROUTING_FILE"):  # your own table, read here so the dev rewrite below sees it
        try:
            env["APP_ROUTING"] = Path(environ["APP_ROUTING_FILE"]).read_text()
        except OSError as exc:
            raise StackError(f"APP_ROUTING_FILE={environ['APP_ROUTING_FILE']}: {exc}") from None
        del env["APP_ROUTING_FILE"]
    dropped = sorted(k for k in env if k in CLOUD_ONLY or k in OWNED)
    for key in dropped:
        del env[key]
    cloud = [k for k in dropped if k in CLOUD_ONLY]
    if cloud:
        notes.append(f"not used locally: {', '.join(cloud)}")
    try:
        routing = RoutingConfig.model_validate(yaml.safe_load(env.get("APP_ROUTING") or "{}") or {})
    except (yaml.YAMLError, ValidationError) as exc:
        raise StackError(
            f"APP_ROUTING{f' of stack {stack}' if stack else ''} is not a valid routing table: {exc}"
        ) from None
    key_envs = provider_key_envs(routing)
    keyed = sorted(name for name, var in key_envs.items() if environ.get(var))
    dev = not keyed
    if dev:
        offline = dev_routing(routing)
        env["APP_ROUTING"] = yaml.safe_dump(offline, sort_keys=False)
        env["APP_DEV_PROVIDER"] = "true"
        wanted = sorted(set(key_envs.values()))
        why = f"none of {', '.join(wanted)} is set" if wanted else "the routing table names no keyed provider"
        notes.append(f"providers: the offline dev provider answers every model ({why})")
        if not missing_packages():
            # the bundled sentence model embeds offline, so documents, retrieval and the semantic cache work
            offline["providers"]["local"] = {"type": "local"}
            offline["models"][LOCAL_EMBEDDING_ALIAS] = [{"provider": "local", "model": BUNDLED_MODEL}]
            env["APP_ROUTING"] = yaml.safe_dump(offline, sort_keys=False)
            env["APP_EMBEDDING_MODEL"] = LOCAL_EMBEDDING_ALIAS
            env["APP_EMBEDDING_DIM"] = str(BUNDLED_DIM)
            notes.append(f"embeddings: {BUNDLED_MODEL} in process (the local provider), {BUNDLED_DIM} dimensions")
        else:
            if env.get("APP_EMBEDDING_MODEL") not in offline["models"]:
                env["APP_EMBEDDING_MODEL"] = next(iter(offline["models"]))
            notes.append(
                "embeddings: the dev provider has none and the local provider's packages are missing "
                f"({', '.join(missing_packages())}: pip install -r app/requirements-local.txt), "
                "so /v1/documents and /v1/search answer 400 locally"
            )
    else:
        notes.append(f"providers: {', '.join(keyed)} (keys from the environment)")
    env.setdefault("APP_EMBEDDING_MODEL", next(iter(routing.models), "dev-echo"))
    env.update(QUEUE_ENV)
    return Plan(env, notes, dev)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(check: Callable[[], bool], timeout: float, what: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with status {proc.returncode} (its output is above)")
        try:
            if check():
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not come up within {timeout:.0f} s")


def _stop(proc: subprocess.Popen[bytes], grace: float) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


@contextmanager
def child(
    args: list[str], grace: float, env: dict[str, str] | None = None, quiet: bool = False
) -> Iterator[subprocess.Popen[bytes]]:
    """A child in its own session (a terminal's Ctrl-C reaches only the runner, which stops children in order)."""
    output = subprocess.DEVNULL if quiet else None
    proc = subprocess.Popen(  # noqa: S603 - fixed commands
        args, cwd=REPO, env=env, stdout=output, stderr=output, start_new_session=True
    )
    try:
        yield proc
    finally:
        _stop(proc, grace)


def redis_server(stack: ExitStack, workdir: Path) -> str:
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError(
            "redis-server is not on PATH: install Redis (apt-get install redis-server, brew install redis)"
        )
    port = free_port()
    args = [
        binary,
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        str(workdir),
    ]
    proc = stack.enter_context(child(args, 10, quiet=True))

    def ping() -> bool:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")

    _wait(ping, 15, "redis-server", proc)
    return f"redis://127.0.0.1:{port}/0"


def postgres_server(stack: ExitStack, pgdata: Path, keep: bool) -> str:
    try:
        from pgserver.postgres_server import get_server
    except ImportError:
        raise RuntimeError("the pgserver wheel is missing: pip install -r app/requirements-dev.txt") from None
    server = get_server(pgdata, cleanup_mode="stop" if keep else "delete")
    stack.callback(server.cleanup)
    return server.get_uri()


def curl_line(url: str, key: str) -> str:
    body = '{"prompt": "Say hello in three words", "max_tokens": 20}'
    return (
        f"curl -sS {url}/generate -H {shlex.quote('Authorization: Bearer ' + key)} "
        f"-H 'Content-Type: application/json' -d {shlex.quote(body)}"
    )


class Stop(Exception):
    """SIGINT or SIGTERM: stop everything."""


def _raise_stop(signum: int, _frame: object) -> None:
    """Stop once: further signals are ignored so that stopping the children is never cut short."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise Stop(signal.Signals(signum).name)


def serve(args: argparse.Namespace) -> int:
    plan = plan_environment(args.stack, dict(os.environ))
    port = args.port or free_port()
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            raise RuntimeError(f"port {port} is in use on 127.0.0.1: pick another with --port, or --port 0") from None
    key = "local-" + secrets.token_urlsafe(24)
    grace = float(plan.env.get("APP_GRACEFUL_SHUTDOWN_S", "30")) + 10
    with ExitStack() as stack:
        if args.data_dir is None:
            workdir = Path(tempfile.mkdtemp(prefix="ai-platform-local-"))
            stack.callback(shutil.rmtree, workdir, ignore_errors=True)
        else:
            workdir = args.data_dir.resolve()
            workdir.mkdir(parents=True, exist_ok=True)
        redis_url = redis_server(stack, workdir)
        database_url = postgres_server(stack, workdir / "pgdata", keep=args.data_dir is not None)
        base = {k: v for k, v in os.environ.items() if not k.startswith("APP_")}
        env = {
            **base,
            **plan.env,
            "APP_HOST": "127.0.0.1",
            "APP_PORT": str(port),
            "APP_REDIS_URL": redis_url,
            "APP_DATABASE_URL": database_url,
            "APP_API_KEYS_SHA256": f"local:{hashlib.sha256(key.encode()).hexdigest()}",
            "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), base.get("PYTHONPATH")])),
        }
        app = stack.enter_context(child([sys.executable, "-m", "app"], grace, env))
        url = f"http://127.0.0.1:{port}"
        _wait(lambda: urllib.request.urlopen(f"{url}/health", timeout=2).status == 200, 90, "the app", app)  # noqa: S310
        worker_env = {**env, "APP_WORKER_METRICS_PORT": str(free_port())}
        worker = stack.enter_context(child([sys.executable, "-m", "app.worker"], grace, worker_env))
        lines = [
            "",
            f"ai-platform app running locally{f' with stack {args.stack}' if args.stack else ''}: {url}",
            *(f"  {note}" for note in plan.notes),
            f"  redis: {redis_url}; postgres: {workdir / 'pgdata'}",
            "  worker: python -m app.worker (queue: Redis stream ai-jobs)",
            "Try it:",
            curl_line(url, key),
            "Ctrl-C stops everything.",
            "",
        ]
        print("\n".join(lines), flush=True)
        procs = {"the app": app, "the worker": worker}
        while True:
            for name, proc in procs.items():
                if proc.poll() is not None:
                    print(f"{name} exited with status {proc.returncode}; stopping", file=sys.stderr, flush=True)
                    return 1
            time.sleep(0.5)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m app.local", description="The app on this machine, no cloud account needed."
    )
    parser.add_argument("stack", nargs="?", help="read stacks/Pulumi.<stack>.yaml's ai-platform:app environment")
    parser.add_argument(
        "--port", type=int, choices=range(65536), default=8000, metavar="PORT", help="0 picks a free one"
    )
    parser.add_argument("--data-dir", type=Path, help="keep PostgreSQL's data here (default: a temporary directory)")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _raise_stop)
    signal.signal(signal.SIGINT, _raise_stop)
    try:
        return serve(args)
    except Stop as stop:
        print(f"{stop}: stopped", file=sys.stderr, flush=True)
        return 0
    except (StackError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        return 2


if __name__ == "__main__":
    sys.exit(main())
