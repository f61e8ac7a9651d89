"""The package schema: checked in, current, described, and in step with the blocks and the spec.

A change to a block's args or outputs, or to the stack spec, fails here until
``scripts/generate_package.py`` has rewritten the facades and ``provider/schema.json`` and the
diff is committed (reviewed like code)."""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pulumi.provider.experimental.component import ComponentProvider
from pydantic import BaseModel

from components import aws, targets
from components.spec import PlatformSpec
from provider import PACKAGE, codegen
from tests.package.conftest import ROOT, SCHEMA_FILE

PROVIDER_DIR = ROOT / "provider"

GCP = ("Apis", "Cache", "ContainerService", "EncryptionKey", "Gateway", "Identity", "Network", "Observability")
GCP += ("Queue", "Registry", "SecretStore", "VectorStore")
AZURE = ("Ai", "ApiManagement", "Cache", "ContainerService", "Gateway", "Identity", "Network", "Observability")
AZURE += ("Queue", "Registry", "SecretStore", "VectorStore")
#: (facade, argument or output) the facades leave out: functions and resource objects cannot cross
#: languages (a GCP block's ``depends_on`` is filled from the facade's dependsOn option)
LEFT_OUT = {
    *((f"Aws{b}", "transform") for b in aws.__all__ if hasattr(aws, f"{b}Args")),
    *((f"Gcp{b}", field) for b in GCP for field in ("transform", "depends_on")),
    *((f"Gcp{b}", "wait_for") for b in ("Cache", "Queue", "Registry", "SecretStore", "VectorStore")),
    # the Private Service Access connection: the facade's dependsOn (the GcpNetwork) orders the instance
    *((f"Gcp{b}", "psa_connection") for b in ("Cache", "VectorStore")),
    ("GcpContainerService", "bindings"),
    ("GcpIdentity", "bindings"),  # an output: the IAM member resources
    ("GcpNetwork", "psa_connection"),  # an output: the Private Service Access resource
    *((f"Kubernetes{b}", "transform") for b in ("ContainerService", "Gateway", "Network", "Observability")),
    *((f"Kubernetes{b}", "transform") for b in ("Cache", "SecretStore", "VectorStore")),
    # the SecretStore object: the facade takes its names (issuerName, secretName) instead
    *((f"Kubernetes{b}", "secret_store") for b in ("Cache", "VectorStore")),
    ("KubernetesContainerService", "data_egress"),  # (CIDR, port) pairs: tuples have no schema type
    *((f"Azure{b}", "transform") for b in AZURE),
    ("AzureContainerService", "wait_for"),
}
#: blocks without a facade (a required argument is a resource object): none, and none may appear
SKIPPED: set[str] = set()


def test_generated_facades_are_current() -> None:
    files, _ = codegen.render_modules()
    stale = [name for name, text in files.items() if (PROVIDER_DIR / name).read_text() != text]
    assert not stale, f"out of date: {stale}; run scripts/generate_package.py and commit the diff"


def test_checked_in_schema_is_what_pulumi_infers_from_the_facades(hosted: ComponentProvider) -> None:
    inferred = json.loads(hosted.schema or "{}")
    assert json.loads(SCHEMA_FILE.read_text()) == inferred, "run scripts/generate_package.py and commit the diff"


def _resource(schema: dict[str, Any], name: str) -> dict[str, Any]:
    return schema["resources"][f"{PACKAGE}:index:{name}"]


def _facades() -> list[tuple[str, type, type]]:
    """(facade name, block, args dataclass) of every block with a facade."""
    return [
        (f"{codegen._pascal(target)}{block.__name__}", block, args)
        for target in codegen.BLOCK_TARGETS
        for block, args in codegen._block_pairs(target)
        if f"{codegen._pascal(target)}{block.__name__}" not in SKIPPED
    ]


@pytest.mark.parametrize(("facade", "block", "args"), _facades(), ids=[f[0] for f in _facades()])
def test_facade_inputs_are_the_blocks_args(schema: dict[str, Any], facade: str, block: type, args: type) -> None:
    """Every argument but those that cannot cross languages, required exactly when the block
    requires it."""
    fields = [f for f in dataclasses.fields(args) if (facade, f.name) not in LEFT_OUT]
    resource = _resource(schema, facade)
    assert set(resource["inputProperties"]) == {codegen.camel_case(f.name) for f in fields}
    required = {
        codegen.camel_case(f.name)
        for f in fields
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    }
    assert set(resource.get("requiredInputs", [])) == required
    outputs = {codegen.camel_case(name) for name, _ in codegen._output_annotations(block)}
    assert set(resource["properties"]) == outputs - {codegen.camel_case(f) for b, f in LEFT_OUT if b == facade}


def _type_name(prop: dict[str, Any]) -> str | None:
    ref = prop.get("$ref") or prop.get("items", {}).get("$ref") or prop.get("additionalProperties", {}).get("$ref")
    return ref.rsplit(":", 1)[-1] if ref and ref.startswith(f"#/types/{PACKAGE}:index:") else None


def _model_pairs(schema: dict[str, Any], model: type[BaseModel], props: dict[str, Any]) -> Iterator[tuple[Any, ...]]:
    """(model, schema properties) for ``model`` and every section model below it."""
    yield model, props
    for name, info in model.model_fields.items():
        prop = props.get(info.alias or name)
        type_name = _type_name(prop) if prop else None
        if type_name is None:
            continue
        nested = schema["types"][f"{PACKAGE}:index:{type_name}"]
        for candidate in (info.annotation, *getattr(info.annotation, "__args__", ())):
            candidates = (candidate, *getattr(candidate, "__args__", ()))
            found = [c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)]
            if found:
                yield from _model_pairs(schema, found[0], nested.get("properties", {}))
                break


@pytest.mark.parametrize("target", list(targets.TARGETS))
def test_platform_facade_inputs_are_the_stack_spec(schema: dict[str, Any], target: str) -> None:
    """The facade's inputs are the stack file's ``ai-platform:*`` keys (but ``cloud``), section by
    section down to every leaf, plus the secrets; required as the spec requires them."""
    resource = _resource(schema, f"{codegen._pascal(target)}AiPlatform")
    inputs = resource["inputProperties"]
    shared = {info.alias or name for name, info in PlatformSpec.model_fields.items() if name != "cloud"}
    assert set(inputs) == shared | {target, "secrets"}
    required = {info.alias or name for name, info in PlatformSpec.model_fields.items() if info.is_required()}
    assert set(resource["requiredInputs"]) == required - {"cloud"}
    section = targets.get(target).module("spec").SECTION
    section_props = schema["types"][f"{PACKAGE}:index:{_type_name(inputs[target])}"]["properties"]
    checked = 0
    for model, props in [*_model_pairs(schema, PlatformSpec, inputs), *_model_pairs(schema, section, section_props)]:
        expected = {info.alias or name for name, info in model.model_fields.items()} - {"cloud"}
        own = set(props) - {target, "secrets"} if model is PlatformSpec else set(props)
        assert own == expected, model.__name__
        checked += 1
    assert checked >= 12  # the platform, its sections and their subsections were all compared


def _properties(schema: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for token, resource in schema["resources"].items():
        for kind in ("inputProperties", "properties"):
            for name, prop in resource.get(kind, {}).items():
                yield token, f"{kind}.{name}", prop
    for token, type_def in schema["types"].items():
        for name, prop in type_def.get("properties", {}).items():
            yield token, name, prop
        for value in type_def.get("enum", []):
            yield token, f"enum {value['value']}", value


def test_every_resource_input_output_and_type_is_described(schema: dict[str, Any]) -> None:
    undescribed = [f"{token} {name}" for token, name, prop in _properties(schema) if not prop.get("description")]
    undescribed += [token for token, resource in schema["resources"].items() if not resource.get("description")]
    assert not undescribed, undescribed


def test_type_tokens_are_new_and_unique_per_target(schema: dict[str, Any]) -> None:
    """``ai-platform:index:<Target><Block>``: Pulumi's Python component provider serves the ``index``
    module only, and a target prefix keeps same-named blocks apart. The Python blocks keep their
    ``ai-platform:<target>:<Block>`` tokens (the construct tests see them registered)."""
    pattern = re.compile(rf"^{PACKAGE}:index:({'|'.join(codegen._pascal(t) for t in targets.TARGETS)})[A-Z]\w+$")
    assert all(pattern.match(token) for token in schema["resources"]), list(schema["resources"])
    assert f"{PACKAGE}:index:AwsQueue" in schema["resources"]
    assert not any(token.startswith(f"{PACKAGE}:aws:") for token in schema["resources"])


def test_what_the_facades_leave_out_is_only_what_cannot_cross_languages() -> None:
    _, unexposed = codegen.render_modules()
    assert {(item.block, item.field) for item in unexposed if item.field != "*"} == LEFT_OUT
    assert {item.block for item in unexposed if item.field == "*"} == SKIPPED


def test_plugin_layout() -> None:
    """What ``pulumi package add`` needs: a Python plugin whose entry point hosts every facade."""
    assert (PROVIDER_DIR / "PulumiPlugin.yaml").read_text().splitlines()[-1] == "runtime: python"
    main = (PROVIDER_DIR / "__main__.py").read_text()
    assert "component_provider_host(components(), name=PACKAGE)" in main
    assert Path(PROVIDER_DIR / "requirements.txt").is_file()
