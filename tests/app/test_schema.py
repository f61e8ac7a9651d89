"""Schemathesis against the live OpenAPI schema: no 5xx, documented statuses, schema-valid answers."""

import subprocess
import sys
from collections.abc import Callable

from tests.app.support import API_KEY, RedisServer, StartApp, Upstream


def test_schemathesis_finds_no_failures(
    start_app: StartApp, upstream: Upstream, postgres: Callable[[str], str], redis_server: RedisServer, tmp_path
) -> None:
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
    app = start_app({**unlimited, **database, **memory, **jobs}, routing)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "schemathesis.cli",
            "run",
            f"{app.url}/openapi.json",
            "--header",
            f"Authorization: Bearer {API_KEY}",
            "--checks",
            "all",
            "--max-examples",
            "60",
            "--seed",
            "7",
            "--report-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout[-4000:]
    assert "No issues found" in result.stdout
