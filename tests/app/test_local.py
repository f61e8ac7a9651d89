"""`python -m app.local`: the plan it makes from a stack, and a real run stopped by a signal with nothing left over."""

import os
import queue
import re
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest
import yaml

from app.local import QUEUE_ENV, StackError, curl_line, plan_environment, stack_environment
from tests.app.support import REPO

# --- the plan -----------------------------------------------------------------------------------


def test_without_provider_keys_every_alias_of_the_stack_is_served_by_the_dev_provider() -> None:
    plan = plan_environment("aws-dev", {"PATH": "/usr/bin"})
    assert plan.dev and plan.env["APP_DEV_PROVIDER"] == "true"
    routing = yaml.safe_load(plan.env["APP_ROUTING"])
    assert routing["providers"] == {"dev": {"type": "dev"}, "local": {"type": "local"}}
    local = routing["models"].pop("local-embed")
    assert local == [{"provider": "local", "model": "all-MiniLM-L6-v2"}]
    assert set(routing["models"]) == {"fast", "balanced", "best", "embed"}
    assert all(targets == [{"provider": "dev", "model": "dev-echo"}] for targets in routing["models"].values())
    assert routing["tiers"] == {"small": "fast", "medium": "balanced", "large": "best"}
    assert routing["default_model"] == "auto"
    # the stack's own settings come along; the gateway's 500 requests / 5 min per IP become 100 a minute
    # embeddings come from the bundled local model, so documents and retrieval work offline
    assert plan.env["APP_LOG_LEVEL"] == "debug" and plan.env["APP_EMBEDDING_MODEL"] == "local-embed"
    assert plan.env["APP_EMBEDDING_DIM"] == "384"
    assert plan.env["APP_RPM_PER_IP"] == "100"
    assert {k: plan.env[k] for k in QUEUE_ENV} == QUEUE_ENV
    assert any("none of ANTHROPIC_API_KEY, OPENAI_API_KEY is set" in note for note in plan.notes)


def test_with_a_provider_key_the_stacks_routing_is_kept_and_cloud_only_settings_are_dropped() -> None:
    environ = {"OPENAI_API_KEY": "sk-test", "APP_OTLP_ENDPOINT": "http://collector:4318", "APP_PORT": "1", "APP_X": "y"}
    plan = plan_environment("aws-dev", environ)
    assert not plan.dev and "APP_DEV_PROVIDER" not in plan.env
    assert plan.env["APP_ROUTING"] == stack_environment("aws-dev")["APP_ROUTING"]
    assert "APP_OTLP_ENDPOINT" not in plan.env and "APP_PORT" not in plan.env
    assert plan.env["APP_X"] == "y"  # the caller's own APP_* settings apply on top of the stack's
    assert "providers: openai (keys from the environment)" in plan.notes
    assert "not used locally: APP_OTLP_ENDPOINT" in plan.notes


def test_without_a_stack_the_dev_model_is_the_default() -> None:
    plan = plan_environment(None, {})
    routing = yaml.safe_load(plan.env["APP_ROUTING"])
    assert routing["models"]["dev-echo"] == [{"provider": "dev", "model": "dev-echo"}]
    assert routing["default_model"] == "dev-echo"


def test_without_the_local_packages_embeddings_say_why_they_are_off(monkeypatch: pytest.MonkeyPatch) -> None:
    import app.local

    monkeypatch.setattr(app.local, "missing_packages", lambda: ["torch"])
    plan = plan_environment(None, {})
    routing = yaml.safe_load(plan.env["APP_ROUTING"])
    assert routing["models"] == {"dev-echo": [{"provider": "dev", "model": "dev-echo"}]}
    assert plan.env["APP_EMBEDDING_MODEL"] == "dev-echo"
    assert any("pip install -r app/requirements-local.txt" in note for note in plan.notes)


def test_your_own_routing_file_is_used_and_served_by_dev_without_keys(tmp_path: Path) -> None:
    table = tmp_path / "routing.yaml"
    table.write_text(
        yaml.safe_dump({"providers": {"o": {"type": "openai"}}, "models": {"mine": [{"provider": "o", "model": "m"}]}})
    )
    plan = plan_environment("aws-dev", {"APP_ROUTING_FILE": str(table)})
    assert "APP_ROUTING_FILE" not in plan.env
    assert yaml.safe_load(plan.env["APP_ROUTING"])["models"]["mine"] == [{"provider": "dev", "model": "dev-echo"}]
    with pytest.raises(StackError, match=r"APP_ROUTING_FILE=/nowhere\.yaml"):
        plan_environment(None, {"APP_ROUTING_FILE": "/nowhere.yaml"})


def test_bad_stacks_are_named(tmp_path: Path) -> None:
    with pytest.raises(StackError, match=r"no stack file .*Pulumi\.nope\.yaml; stacks: aws-dev, aws-prod"):
        plan_environment("nope", {})
    with pytest.raises(StackError, match=r"stack name '\.\./x'"):
        plan_environment("../x", {})
    (tmp_path / "Pulumi.odd.yaml").write_text("config:\n  ai-platform:app:\n    environment:\n      APP_X: [1]\n")
    with pytest.raises(StackError, match=r"ai-platform:app.environment.APP_X \(got \[1\]\) must be a plain value"):
        stack_environment("odd", tmp_path)
    (tmp_path / "Pulumi.bad.yaml").write_text(
        "config:\n  ai-platform:app:\n    environment:\n      APP_ROUTING: '[1'\n"
    )
    with pytest.raises(StackError, match="APP_ROUTING of stack bad is not a valid routing table"):
        plan_environment("bad", {}, tmp_path)


def test_a_port_in_use_is_refused_before_anything_starts() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "app.local", "--port", str(port)],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 2
    assert f"error: port {port} is in use on 127.0.0.1: pick another with --port, or --port 0" in result.stderr
    assert "Traceback" not in result.stderr


# --- a real run -----------------------------------------------------------------------------------


class Runner:
    """`python -m app.local` as a child, its output read line by line on a thread."""

    def __init__(self, *args: str) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("APP_") and not k.endswith("_API_KEY")}
        env["PYTHONPATH"] = str(REPO)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "app.local", *args],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))

    def wait_for(self, pattern: str, timeout: float) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.5)
            except queue.Empty:
                assert self.proc.poll() is None, f"the local run exited with {self.proc.returncode}:\n" + "\n".join(
                    self.seen
                )
                continue
            self.seen.append(line)
            if found := re.search(pattern, line):
                return found
        raise AssertionError(f"no line matching {pattern!r} within {timeout} s:\n" + "\n".join(self.seen))


@pytest.fixture
def local_run() -> Iterator[Runner]:
    runner = Runner("aws-dev", "--port", "0")
    yield runner
    if runner.proc.poll() is None:  # a failed test: stop it the way a user would
        runner.proc.send_signal(signal.SIGINT)
        runner.proc.wait(90)


def postmaster(pgdata: Path) -> list[psutil.Process]:
    """PostgreSQL's server process (pg_ctl detaches it from the runner) and its workers."""
    server = psutil.Process(int((pgdata / "postmaster.pid").read_text().split()[0]))
    return [server, *server.children(recursive=True)]


def bearer(curl: str) -> str:
    found = re.search(r"Bearer (local-[\w-]+)", curl)
    assert found is not None, curl
    return found.group(1)


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM])
def test_a_local_run_serves_the_printed_curl_line_and_a_signal_stops_every_process(
    local_run: Runner, stop_signal: signal.Signals
) -> None:
    url = local_run.wait_for(r"running locally with stack aws-dev: (http://127\.0\.0\.1:\d+)", 180).group(1)
    pgdata = Path(local_run.wait_for(r"postgres: (\S+)$", 10).group(1))
    curl = local_run.wait_for(r"^curl .*", 10).group(0)
    key = bearer(curl)
    assert curl == curl_line(url, key)
    local_run.wait_for("Ctrl-C stops everything", 10)

    # the printed line works as printed
    answer = subprocess.run(shlex.split(curl), capture_output=True, text=True, timeout=30, check=True)
    body = httpx.Response(200, content=answer.stdout).json()
    assert body["model"] == "fast" and body["text"].startswith("- ")  # `auto` picked the small tier, served by dev
    assert httpx.get(f"{url}/health").json() == {"status": "ok"}
    ready = httpx.get(f"{url}/ready").json()
    assert ready["status"] == "ready" and ready["checks"]["redis"] == "ok" and ready["checks"]["postgres"] == "ok"
    wrong = httpx.post(f"{url}/generate", json={"prompt": "hi"}, headers={"authorization": "Bearer nope-0123456789"})
    assert wrong.status_code == 401
    right = httpx.post(f"{url}/generate", json={"prompt": "hi"}, headers={"authorization": f"Bearer {key}"})
    assert right.status_code == 200

    runner = psutil.Process(local_run.proc.pid)
    processes = [*runner.children(recursive=True), *postmaster(pgdata)]
    names = {p.name() for p in processes}
    assert {"redis-server", "postgres"} <= names and any("python" in n for n in names), names

    local_run.proc.send_signal(stop_signal)
    assert local_run.proc.wait(90) == 0
    _gone, alive = psutil.wait_procs(processes, timeout=10)
    assert not alive, [(p.pid, p.name()) for p in alive]
    assert not pgdata.parent.exists()  # the temporary data directory is removed
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{url}/health")
