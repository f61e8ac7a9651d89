"""The GitHub Actions workflows a user of this repository gets (.github/workflows/).

actionlint (run by scripts/test) checks their syntax, expressions, action inputs and, through
shellcheck, every `run:` script. These tests check what actionlint cannot know: that the plan
and preview matrices cover every stack file, that deploy goes staging -> production behind the
`production` environment with the image pinned under a config key the spec accepts, that
permissions are least-privilege, and that every command the workflows run exists here.
"""

from __future__ import annotations

import copy
import json
import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from ai_platform_cli.main import build_parser, load_stack, plan_stack
from components.spec import PlatformSpec

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = ROOT / ".github" / "workflows"
STACKS = sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in (ROOT / "stacks").glob("Pulumi.*.yaml"))
#: the only scopes a job may elevate to write, and why
ALLOWED_WRITES = {"id-token": "cloud credentials by OIDC", "pull-requests": "the preview comment"}
DIGEST = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/ai-platform-app@sha256:" + "ab" * 32


def load(name: str) -> dict[str, Any]:
    document = yaml.safe_load((WORKFLOWS / name).read_text())
    # YAML 1.1 reads the bare key `on` as the boolean True
    if True in document:
        document["on"] = document.pop(True)
    return document


def workflow_names() -> list[str]:
    return sorted(p.name for p in WORKFLOWS.glob("*.yml"))


def steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    return list(job.get("steps", []))


def run_scripts(document: dict[str, Any]) -> list[str]:
    return [step["run"] for job in document["jobs"].values() for step in steps(job) if "run" in step]


def step_using(job: dict[str, Any], action: str, **with_: str) -> list[dict[str, Any]]:
    found = [s for s in steps(job) if str(s.get("uses", "")).split("@")[0] == action]
    return [s for s in found if all(s.get("with", {}).get(k) == v for k, v in with_.items())]


def step_named(job: dict[str, Any], fragment: str) -> dict[str, Any]:
    (found,) = [s for s in steps(job) if fragment in str(s.get("name", ""))]
    return found


def test_the_expected_workflows_exist_and_parse() -> None:
    assert set(workflow_names()) >= {"ci.yml", "plan.yml", "preview.yml", "deploy.yml"}
    for name in workflow_names():
        document = load(name)
        assert document.get("name") and document.get("on") and document.get("jobs"), name
        for job_id, job in document["jobs"].items():
            assert job.get("runs-on", "").startswith("ubuntu-"), f"{name}:{job_id} runs-on"
            assert 0 < job.get("timeout-minutes", 0) <= 120, f"{name}:{job_id} needs a timeout"
            assert steps(job), f"{name}:{job_id} has no steps"


@pytest.mark.parametrize("name", workflow_names())
def test_permissions_are_least_privilege(name: str) -> None:
    document = load(name)
    assert document.get("permissions") == {"contents": "read"}, f"{name}: top-level permissions must be contents: read"
    for job_id, job in document["jobs"].items():
        permissions = job.get("permissions", {})
        assert isinstance(permissions, dict), f"{name}:{job_id}: permissions must list scopes, not {permissions!r}"
        writes = {scope for scope, level in permissions.items() if level == "write"}
        assert writes <= set(ALLOWED_WRITES), f"{name}:{job_id} writes {writes - set(ALLOWED_WRITES)}"
        if permissions:
            assert permissions.get("contents") == "read", f"{name}:{job_id}: job permissions replace the top level"
        if "id-token" in writes:  # only where a cloud role is assumed
            assert step_using(job, "aws-actions/configure-aws-credentials"), f"{name}:{job_id}: id-token unused"
    assert "write-all" not in (WORKFLOWS / name).read_text()


@pytest.mark.parametrize("name", workflow_names())
def test_actions_are_pinned_and_checkouts_drop_the_token(name: str) -> None:
    for job in load(name)["jobs"].values():
        for step in steps(job):
            uses = step.get("uses")
            if uses is None:
                continue
            action, _, ref = str(uses).partition("@")
            assert re.fullmatch(r"v\d+(\.\d+){0,2}|[0-9a-f]{40}", ref), f"{name}: {uses} is not pinned to a version"
            if action == "actions/checkout":
                assert step.get("with", {}).get("persist-credentials") is False, f"{name}: checkout keeps the token"


def test_pull_request_workflows_cancel_superseded_runs() -> None:
    for name in ("ci.yml", "plan.yml", "preview.yml"):
        concurrency = load(name)["concurrency"]
        assert "github.ref" in concurrency["group"] and concurrency["cancel-in-progress"] is True, name


def test_ci_runs_the_projects_own_check() -> None:
    document = load("ci.yml")
    assert {"push", "pull_request"} <= set(document["on"])
    assert "scripts/test" in run_scripts(document)


# --- the stack matrix ----------------------------------------------------------------------------


def ci_stacks(root: Path = ROOT) -> list[dict[str, str]]:
    result = subprocess.run([str(root / "scripts" / "ci-stacks")], capture_output=True, text=True, check=True)
    return json.loads(result.stdout)


@pytest.mark.skipif(shutil.which("jq") is None, reason="scripts/ci-stacks needs jq (on GitHub's runners)")
def test_the_stack_matrix_is_every_stack_file_with_its_cloud_and_region() -> None:
    matrix = ci_stacks()
    assert [entry["stack"] for entry in matrix] == STACKS
    for entry in matrix:
        config = yaml.safe_load((ROOT / "stacks" / f"Pulumi.{entry['stack']}.yaml").read_text())["config"]
        assert entry["cloud"] == config["ai-platform:cloud"]
        assert entry["region"] == config.get("aws:region", "")
        assert entry["extras"] == ("" if entry["cloud"] == "aws" else entry["cloud"])


@pytest.mark.skipif(shutil.which("jq") is None, reason="scripts/ci-stacks needs jq (on GitHub's runners)")
def test_a_new_stack_file_joins_the_matrix_with_its_clouds_extra(tmp_path: Path) -> None:
    (tmp_path / "scripts").mkdir()
    shutil.copy(ROOT / "scripts" / "ci-stacks", tmp_path / "scripts" / "ci-stacks")
    shutil.copytree(ROOT / "stacks", tmp_path / "stacks")
    (tmp_path / "stacks" / "Pulumi.gcp-staging.yaml").write_text(
        "config:\n  gcp:project: demo  # comment\n  ai-platform:cloud: 'gcp'  # quoted, commented\n"
    )
    matrix = {entry["stack"]: entry for entry in ci_stacks(tmp_path)}
    assert sorted(matrix) == sorted([*STACKS, "gcp-staging"])
    assert matrix["gcp-staging"] == {"stack": "gcp-staging", "cloud": "gcp", "extras": "gcp", "region": ""}

    (tmp_path / "stacks" / "Pulumi.bad.yaml").write_text("config:\n  ai-platform:cloud: openstack\n")
    result = subprocess.run([str(tmp_path / "scripts" / "ci-stacks")], capture_output=True, text=True)
    assert result.returncode == 1 and "Pulumi.bad.yaml" in result.stderr


@pytest.mark.parametrize("name", ["plan.yml", "preview.yml"])
def test_plan_and_preview_matrices_come_from_the_stack_files(name: str) -> None:
    document = load(name)
    assert "pull_request" in document["on"]
    listing = document["jobs"]["stacks"]
    (matrix_step,) = [s for s in steps(listing) if s.get("id") == "stacks"]
    assert "scripts/ci-stacks" in matrix_step["run"] and "GITHUB_OUTPUT" in matrix_step["run"]
    assert listing["outputs"]["matrix"] == "${{ steps.stacks.outputs.matrix }}"
    job = document["jobs"]["plan" if name == "plan.yml" else "preview"]
    assert job["needs"] == "stacks"
    assert job["strategy"]["matrix"] == {"include": "${{ fromJSON(needs.stacks.outputs.matrix) }}"}
    assert job["strategy"]["fail-fast"] is False  # one broken stack does not hide the others


def test_plan_runs_the_offline_plan_per_stack_and_uploads_the_graph() -> None:
    job = load("plan.yml")["jobs"]["plan"]
    script = step_named(job, "ai-platform plan")["run"]
    assert '.venv/bin/ai-platform plan "$STACK" --json "plan-$STACK.json"' in script
    (upload,) = step_using(job, "actions/upload-artifact")
    assert upload["with"]["path"] == "plan-${{ matrix.stack }}.json"
    assert "id-token" not in job.get("permissions", {})  # offline: no credentials, so it runs for forks too


def test_plan_estimates_the_cost_and_posts_its_change_against_the_base_branch() -> None:
    job = load("plan.yml")["jobs"]["plan"]
    assert '--json "plan-$STACK.json" --cost' in step_named(job, "ai-platform plan")["run"]
    checkouts = step_using(job, "actions/checkout")
    (base,) = [c for c in checkouts if c.get("with", {}).get("path") == "base"]
    assert base["with"]["ref"] == "${{ github.event.pull_request.base.sha }}"
    script = step_named(job, "Cost change")["run"]
    assert 'cost --diff "cost-base-$STACK.json" "plan-$STACK.json" >> "$GITHUB_STEP_SUMMARY"' in script


def test_preview_runs_only_with_a_pulumi_token_and_applies_the_policy_pack() -> None:
    document = load("preview.yml")
    listing = document["jobs"]["stacks"]
    (check,) = [s for s in steps(listing) if s.get("id") == "credentials"]
    assert check["env"]["PULUMI_ACCESS_TOKEN"] == "${{ secrets.PULUMI_ACCESS_TOKEN }}"
    assert listing["outputs"]["enabled"] == "${{ steps.credentials.outputs.enabled }}"
    job = document["jobs"]["preview"]
    assert job["if"] == "needs.stacks.outputs.enabled == 'true'"
    (preview,) = step_using(job, "pulumi/actions", command="preview")
    assert preview["with"]["policyPacks"] == "policies" and (ROOT / "policies" / "PulumiPolicy.yaml").is_file()
    assert preview["with"]["policyPackConfigs"] == "policy-config.json"
    assert "--write-policy-config policy-config.json" in step_named(job, "Cost estimate")["run"]
    (aws,) = step_using(job, "aws-actions/configure-aws-credentials")
    assert aws["with"]["role-to-assume"] == "${{ vars.AWS_PREVIEW_ROLE_ARN }}"
    assert aws["with"]["aws-region"] == "${{ matrix.region }}"


# --- deploy: image -> staging -> production ------------------------------------------------------


def test_deploy_goes_image_then_staging_then_production_behind_the_environment() -> None:
    document = load("deploy.yml")
    assert document["on"]["push"]["branches"] == ["main"] and "workflow_dispatch" in document["on"]
    jobs = document["jobs"]
    assert set(jobs) == {"image", "staging", "production"}
    assert jobs["staging"]["needs"] == "image"
    assert set(jobs["production"]["needs"]) == {"image", "staging"}
    assert jobs["staging"]["environment"]["name"] == "staging"
    assert jobs["production"]["environment"]["name"] == "production"  # carries the required reviewers
    assert jobs["staging"]["env"]["STACK"] == "aws-dev" and jobs["production"]["env"]["STACK"] == "aws-prod"
    assert {jobs["staging"]["env"]["STACK"], jobs["production"]["env"]["STACK"]} <= set(STACKS)
    for job_id in ("staging", "production"):
        job = jobs[job_id]
        assert job["concurrency"] == {"group": f"deploy-{job_id}", "cancel-in-progress": False}
        assert job["env"]["IMAGE"] == "${{ needs.image.outputs.ref }}"
        (up,) = step_using(job, "pulumi/actions", command="up")
        assert up["with"]["policyPacks"] == "policies"
        assert up["with"]["stack-name"] == "${{ steps.stack.outputs.name }}"
        (aws,) = step_using(job, "aws-actions/configure-aws-credentials")
        assert aws["with"]["role-to-assume"] == "${{ vars.AWS_ROLE_ARN }}"  # the environment's own role
        order = [s.get("id") or s.get("name") or s.get("uses") for s in steps(job)]
        pin = order.index("Pin ai-platform:app.image.digest")
        assert pin < steps(job).index(up) < order.index("smoke"), order
        assert job["environment"]["url"] == "${{ steps.smoke.outputs.url }}"


def test_the_image_job_builds_app_once_and_outputs_a_pinned_reference() -> None:
    job = load("deploy.yml")["jobs"]["image"]
    assert job["outputs"]["ref"] == "${{ steps.ref.outputs.ref }}"
    (build,) = step_using(job, "docker/build-push-action")
    assert build["with"]["context"] == "app" and (ROOT / build["with"]["file"]).is_file()
    assert build["with"]["push"] is True
    assert build["with"]["tags"] == "${{ vars.ECR_REPOSITORY }}:${{ github.sha }}"
    assert build["with"]["platforms"].split()[0] == "linux/amd64"
    assert "$ECR_REPOSITORY@$DIGEST" in step_named(job, "pinned by digest")["run"]


def apply_config_commands(config: dict[str, Any], script: str, image: str) -> dict[str, Any]:
    """What `pulumi config rm/set --path` in ``script`` do to a stack's config."""
    config = copy.deepcopy(config)
    for line in script.splitlines():
        words = shlex.split(line.strip().removeprefix("if ").removesuffix("; then"))
        if words[:2] not in (["pulumi", "config"],) or words[2] not in ("rm", "set"):
            continue
        assert "--path" in words
        positional = [w for w in words[3:] if not w.startswith("--") and not w.startswith("$")]
        namespace_key, *path = positional[0].split(".")
        parent = config.setdefault(namespace_key, {})
        for part in path[:-1]:
            parent = parent.setdefault(part, {})
        if words[2] == "rm":
            parent.pop(path[-1])
        else:
            assert words[-1] == "$IMAGE"
            parent[path[-1]] = image
    return config


@pytest.mark.parametrize("job_id", ["staging", "production"])
def test_the_pinned_digest_is_a_config_key_the_spec_accepts(job_id: str) -> None:
    job = load("deploy.yml")["jobs"][job_id]
    script = step_named(job, "Pin ai-platform:app.image.digest")["run"]
    stack = load_stack(ROOT, job["env"]["STACK"])
    config = apply_config_commands(stack.config, script, DIGEST)
    assert config["ai-platform:app"]["image"] == {"digest": DIGEST}
    spec = PlatformSpec.from_config(config, stack.secret_keys)
    assert spec.app.image.digest == DIGEST and spec.app.image.build is None
    # without removing `build` first, the spec refuses both
    with_both = copy.deepcopy(stack.config)
    with_both["ai-platform:app"]["image"]["digest"] = DIGEST
    with pytest.raises(ValueError, match="exactly one"):
        PlatformSpec.from_config(with_both, stack.secret_keys)


def test_staging_is_evaluated_after_its_smoke_test_and_before_production() -> None:
    """Seed 002: evaluations on every deployment; a failing evaluation fails staging, so production never starts."""
    from app.evals.__main__ import parser as evals_parser

    job = load("deploy.yml")["jobs"]["staging"]
    order = [s.get("id") or s.get("name") for s in steps(job)]
    assert order.index("smoke") < order.index("evals"), order
    (evals,) = [s for s in steps(job) if s.get("id") == "evals"]
    assert "continue-on-error" not in evals and "if" not in evals
    assert evals["env"]["URL"] == "${{ steps.smoke.outputs.url }}"
    assert evals["env"]["EVAL_API_KEY"] == "${{ secrets.EVAL_API_KEY }}"
    assert 'exit "$status"' in evals["run"]
    (line,) = re.findall(r"\.venv/bin/python -m app\.evals (.+?\\\n.+)", evals["run"])
    argv = shlex.split(line.replace("\\\n", " ").replace("|| status=$?", ""))
    argv = [{"$URL": "https://staging.example.com", "$STACK": job["env"]["STACK"]}.get(a, a) for a in argv]
    args = evals_parser().parse_args([a for a in argv if a != "${judge[@]}"])  # exits on an unknown flag
    assert args.command == "run" and args.stack == "aws-dev"
    assert args.max_p95_s == 2.5  # the seed's end-to-end latency target
    (upload,) = step_using(job, "actions/upload-artifact")
    assert upload["with"]["path"] == str(args.out)


# --- every command the workflows run exists here -------------------------------------------------


def all_scripts() -> str:
    return "\n".join(script for name in workflow_names() for script in run_scripts(load(name)))


def test_every_scripts_command_exists_and_is_executable() -> None:
    used = set(re.findall(r"(?<![\w./-])(scripts/[\w.-]+)", all_scripts()))
    assert used >= {"scripts/test", "scripts/ci-stacks"}
    for path in used:
        assert os.access(ROOT / path, os.X_OK), f"{path} is run by a workflow but is not an executable file here"


def test_every_ai_platform_command_line_parses() -> None:
    command_lines = re.findall(r"\.venv/bin/ai-platform ([^|\n]+)", all_scripts())
    assert command_lines
    for line in command_lines:
        command = line.split(">")[0]  # without its output redirection
        argv = [word.replace("$STACK", STACKS[0]) for word in shlex.split(command)]
        args = build_parser().parse_args(argv)  # exits (SystemExit) on an unknown command or flag
        assert args.command in ("plan", "cost")
        assert args.stack == STACKS[0] or (args.command == "cost" and args.diff)


@pytest.mark.skipif(shutil.which("jq") is None, reason="scripts/ci-stacks needs jq (on GitHub's runners)")
def test_pip_extras_exist() -> None:
    pyproject = (ROOT / "pyproject.toml").read_text()
    extras = {"gcp", "azure", "kubernetes"} | {e for entry in ci_stacks() for e in entry["extras"].split(",") if e}
    for extra in extras:
        assert re.search(rf"^{extra} = \[", pyproject, re.MULTILINE), f"pip extra [{extra}] is not in pyproject.toml"
    # the plan runs the pack, so the policy SDK is a core dependency
    assert re.search(r'^    "pulumi-policy>=', pyproject, re.MULTILINE)


def test_every_stack_output_the_deploy_reads_is_exported() -> None:
    wanted = set(re.findall(r"pulumi stack output (\w+)", (WORKFLOWS / "deploy.yml").read_text()))
    assert wanted == {"clusterName", "serviceName", "url"}
    for stack in ("aws-dev", "aws-prod"):
        graph = plan_stack(load_stack(ROOT, stack))
        assert wanted <= set(graph.outputs), f"{stack} does not export {wanted - set(graph.outputs)}"
        assert str(graph.outputs["url"]).startswith("https://")


def test_actionlint_finds_nothing() -> None:
    actionlint, shellcheck = ROOT / ".venv" / "bin" / "actionlint", ROOT / ".venv" / "bin" / "shellcheck"
    if not actionlint.exists():
        pytest.skip("actionlint is not installed (pip install -c constraints.txt -e '.[dev]')")
    result = subprocess.run(
        [str(actionlint), "-shellcheck", str(shellcheck) if shellcheck.exists() else "", "-pyflakes", ""],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
