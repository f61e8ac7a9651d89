"""The package workflow (.github/workflows/package.yml) does what the offline tests cannot: it
asks the Pulumi CLI for the running plugin's schema and compares it with the checked-in one,
generates the TypeScript SDK, and previews the YAML example only where credentials exist."""

from __future__ import annotations

from typing import Any

import yaml

from tests.package.conftest import ROOT


def load() -> dict[str, Any]:
    document = yaml.safe_load((ROOT / ".github" / "workflows" / "package.yml").read_text())
    document["on"] = document.pop(True)  # YAML 1.1 reads the bare key `on` as True
    return document


def scripts(job: dict[str, Any]) -> str:
    return "\n".join(step.get("run", "") for step in job["steps"])


def test_schema_job_compares_the_clis_schema_and_generates_the_typescript_sdk() -> None:
    document = load()
    assert {"push", "pull_request"} <= set(document["on"])
    run = scripts(document["jobs"]["schema"])
    assert 'pulumi package get-schema ./provider > "$RUNNER_TEMP/schema.json"' in run
    assert 'diff <(jq -S . provider/schema.json) <(jq -S . "$RUNNER_TEMP/schema.json")' in run
    assert "pulumi package gen-sdk ./provider --language nodejs" in run
    assert "examples/typescript/index.ts" in run and "npm ci --prefix tests/package/typescript" in run


def test_yaml_example_is_previewed_only_with_credentials() -> None:
    jobs = load()["jobs"]
    (check,) = [s for s in jobs["schema"]["steps"] if s.get("id") == "credentials"]
    assert check["env"]["PULUMI_ACCESS_TOKEN"] == "${{ secrets.PULUMI_ACCESS_TOKEN }}"
    preview_job = jobs["yaml-preview"]
    assert preview_job["if"] == "needs.schema.outputs.preview == 'true'"
    (preview,) = [s for s in preview_job["steps"] if s.get("with", {}).get("command") == "preview"]
    assert preview["with"]["work-dir"] == "examples/yaml"
    assert (ROOT / preview["with"]["work-dir"] / "Pulumi.yaml").is_file()
