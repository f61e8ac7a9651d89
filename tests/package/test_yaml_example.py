"""The Pulumi YAML example (examples/yaml/Pulumi.yaml) against the schema, without the YAML
language host: every resource type, every property down to the leaves (names, JSON types, enum
values, required inputs) and every ``${resource.output}`` it reads. The platform's properties
are the AWS dev stack's settings, so the example stays the dev stack."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.package.conftest import ROOT

EXAMPLE = ROOT / "examples" / "yaml" / "Pulumi.yaml"
INTERPOLATION = re.compile(r"^\$\{([^}]+)\}$")
JSON_TYPES = {"string": str, "integer": int, "number": (int, float), "boolean": bool, "array": list, "object": dict}


def check_value(
    schema: dict[str, Any], program: dict[str, Any], prop: dict[str, Any], value: Any, path: str
) -> list[str]:
    """Problems with ``value`` at ``path`` for the schema property ``prop``."""
    if isinstance(value, str) and (match := INTERPOLATION.match(value)):
        return check_reference(schema, program, match.group(1), path)
    ref = prop.get("$ref")
    if ref == "pulumi.json#/Any":
        return []
    if ref:
        type_def = schema["types"][ref.removeprefix("#/types/")]
        if "enum" in type_def:
            allowed = [item["value"] for item in type_def["enum"]]
            return [] if value in allowed else [f"{path}: {value!r} is not one of {allowed}"]
        return check_object(schema, program, type_def.get("properties", {}), type_def.get("required", []), value, path)
    kind = prop["type"]
    if (isinstance(value, bool) and kind != "boolean") or not isinstance(value, JSON_TYPES[kind]):
        return [f"{path}: {value!r} is not a{'n' if kind[0] in 'aeiou' else ''} {kind}"]
    if isinstance(value, list):
        return [
            p for i, item in enumerate(value) for p in check_value(schema, program, prop["items"], item, f"{path}[{i}]")
        ]
    if isinstance(value, dict):
        inner = prop["additionalProperties"]
        return [p for key, item in value.items() for p in check_value(schema, program, inner, item, f"{path}.{key}")]
    return []


def check_object(
    schema: dict[str, Any], program: dict[str, Any], props: dict[str, Any], required: list[str], value: Any, path: str
) -> list[str]:
    if not isinstance(value, dict):
        return [f"{path}: {value!r} is not an object"]
    problems = [f"{path}.{key}: not in the schema (known: {sorted(props)})" for key in value if key not in props]
    problems += [f"{path}.{key}: required" for key in required if key not in value]
    for key, item in value.items():
        if key in props:
            problems += check_value(schema, program, props[key], item, f"{path}.{key}")
    return problems


def check_reference(schema: dict[str, Any], program: dict[str, Any], reference: str, path: str) -> list[str]:
    """``${config}`` must be declared; ``${resource.output}`` must be an output of that resource's type."""
    name, _, output = reference.partition(".")
    if not output:
        return [] if name in program.get("config", {}) else [f"{path}: ${{{name}}} is not a declared config value"]
    resource = program["resources"].get(name)
    if resource is None:
        return [f"{path}: no resource {name!r}"]
    outputs = schema["resources"].get(resource["type"], {}).get("properties", {})
    return [] if output in outputs else [f"{path}: {resource['type']} has no output {output!r}"]


def check_program(schema: dict[str, Any], program: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    for name, resource in program["resources"].items():
        definition = schema["resources"].get(resource["type"])
        if definition is None:
            problems.append(f"resources.{name}: unknown type {resource['type']}")
            continue
        props, required = definition["inputProperties"], definition.get("requiredInputs", [])
        problems += check_object(schema, program, props, required, resource.get("properties", {}), f"resources.{name}")
    for name, value in program.get("outputs", {}).items():
        match = INTERPOLATION.match(str(value))
        problems += check_reference(schema, program, match.group(1), f"outputs.{name}") if match else []
    return problems


def test_yaml_example_uses_only_what_the_schema_declares(schema: dict[str, Any]) -> None:
    program = yaml.safe_load(EXAMPLE.read_text())
    assert program["runtime"] == "yaml" and program["packages"] == {"ai-platform": "../../provider"}
    assert {r["type"] for r in program["resources"].values()} == {
        "ai-platform:index:AwsAiPlatform",
        "ai-platform:index:AwsQueue",
    }
    assert check_program(schema, program) == []


@pytest.mark.parametrize(
    ("edit", "problem"),
    [
        (lambda p: p["resources"]["reports"]["properties"].update(maxReceiveCnt=3), "maxReceiveCnt: not in the schema"),
        (lambda p: p["resources"]["platform"]["properties"].update(environment="staging"), "'staging' is not one of"),
        (
            lambda p: p["resources"]["platform"]["properties"]["app"].update(cpu="half"),
            "app.cpu: 'half' is not a number",
        ),
        (lambda p: p["resources"]["platform"]["properties"].pop("budget"), "resources.platform.budget: required"),
        (lambda p: p["outputs"].update(vpc="${reports.vpcId}"), "AwsQueue has no output 'vpcId'"),
        (lambda p: p["resources"]["reports"].update(type="ai-platform:index:Queue"), "unknown type"),
    ],
)
def test_the_check_catches_what_the_schema_forbids(schema: dict[str, Any], edit: Any, problem: str) -> None:
    program = yaml.safe_load(EXAMPLE.read_text())
    edit(program)
    assert any(problem in p for p in check_program(schema, program)), check_program(schema, program)


def test_yaml_example_is_the_aws_dev_stack() -> None:
    program = yaml.safe_load(EXAMPLE.read_text())
    stack = yaml.safe_load(Path(ROOT / "stacks" / "Pulumi.aws-dev.yaml").read_text())["config"]
    properties = dict(program["resources"]["platform"]["properties"])
    secrets = properties.pop("secrets")
    assert properties.pop("region") == stack["aws:region"]
    expected = {
        k.split(":", 1)[1]: v for k, v in stack.items() if k.startswith("ai-platform:") and k != "ai-platform:cloud"
    }
    assert properties == expected
    # every secret the dev stack needs is a secret config value of the program
    assert all(secrets[key] == f"${{{key}}}" and program["config"][key]["secret"] is True for key in secrets)
    assert set(secrets) == {"openaiApiKey", "anthropicApiKey", "appApiKeysSha256", "redisAuthToken"}
