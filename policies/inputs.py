"""Read a stack's resources from a file, for the offline policy check (no credentials needed).

Three formats, told apart by their shape:

- ``plan``: the graph ``ai-platform plan STACK --json`` writes (``{"stack", "resources": [{"urn",
  "inputs", ...}]}``);
- ``stack-export``: ``pulumi stack export`` (``{"version": 3, "deployment": {"resources": [...]}}``,
  each resource with ``type``, ``urn``, ``custom``, ``inputs``, ``outputs``, ``parent``,
  ``dependencies``, ``propertyDependencies``, ``provider``);
- ``preview``: ``pulumi preview --json`` (``{"steps": [{"op", "urn", "newState": {...}}]}``);
  deletes are skipped, since they leave nothing behind to check.

Values are normalised to the plan graph's conventions: a secret whose plaintext is not in the
file (``{sig, "ciphertext"}``) becomes ``"[secret]"``; a ``--show-secrets`` plaintext is decoded;
a resource reference becomes its id (or URN); the engine-internal ``__``-prefixed keys are dropped,
as the engine drops them before calling an analyzer.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from policies.analyzer import SECRET_MARKER, SECRET_SIG, SIG_KEY, AnalyzedResource, ProviderResource
from policies.errors import InputFormatError

RESOURCE_SIG = "5cf8f73096256a8f31e491e813e4eb8e"
OUTPUT_SIG = "d0e6a833031e9bbcd3f4e8bde6ca49a4"
ASSET_SIGS = {"c44067f5952c0a294b673a41bacd8c17", "0def7320c3a5731c473e5ecbe6d01bc7"}
DELETE_OPS = {"delete", "delete-replaced", "discard", "discard-replaced", "read-discard", "remove-pending-replace"}
FORMATS = ("plan", "stack-export", "preview")


@dataclass(frozen=True)
class StackResource:
    """One resource of a stack, with what Analyze (inputs) and AnalyzeStack (outputs) look at."""

    urn: str
    type: str
    inputs: Mapping[str, Any]
    outputs: Mapping[str, Any] | None = None
    """None when the source has no outputs (a plan graph file, some preview steps): inputs stand in."""
    custom: bool = True
    parent: str | None = None
    dependencies: list[str] = field(default_factory=list)
    property_dependencies: Mapping[str, list[str]] = field(default_factory=dict)
    protect: bool = False
    provider: str | None = None
    """``<provider urn>::<provider id>``, as state files reference a provider."""
    external: bool = False
    """Read, not managed (``get`` / data lookups): the engine does not Analyze these."""

    @property
    def name(self) -> str:
        return self.urn.rsplit("::", 1)[-1]


@dataclass
class StackGraph:
    format: str
    resources: list[StackResource]

    def _providers(self) -> dict[str, ProviderResource]:
        found = {}
        for r in self.resources:
            if r.type.startswith("pulumi:providers:"):
                found[r.urn] = ProviderResource(r.type, r.urn, r.name, r.inputs)
        return found

    def _provider(self, r: StackResource, providers: Mapping[str, ProviderResource]) -> ProviderResource | None:
        if not r.provider:
            return None
        return providers.get(r.provider.rsplit("::", 1)[0])

    def for_analyze(self) -> list[AnalyzedResource]:
        """What the engine sends to Analyze: every registered (not read) resource, with its inputs."""
        providers = self._providers()
        return [
            AnalyzedResource(
                type=r.type,
                props=r.inputs,
                urn=r.urn,
                name=r.name,
                parent=r.parent,
                protect=r.protect,
                provider=self._provider(r, providers),
            )
            for r in self.resources
            if not r.external
        ]

    def for_analyze_stack(self) -> list[AnalyzedResource]:
        """What the engine sends to AnalyzeStack: every resource, with its outputs and dependencies."""
        providers = self._providers()
        return [
            AnalyzedResource(
                type=r.type,
                props=r.outputs if r.outputs is not None else r.inputs,
                urn=r.urn,
                name=r.name,
                parent=r.parent,
                dependencies=r.dependencies,
                property_dependencies=r.property_dependencies,
                protect=r.protect,
                provider=self._provider(r, providers),
            )
            for r in self.resources
        ]


def normalise(value: Any) -> Any:
    """A state or preview value in the plan graph's conventions (see the module docstring)."""
    if isinstance(value, dict):
        sig = value.get(SIG_KEY)
        if sig == SECRET_SIG:
            if "plaintext" in value:
                try:
                    return normalise(json.loads(value["plaintext"]))
                except (TypeError, ValueError):
                    return value["plaintext"]
            if "value" in value:
                return SECRET_MARKER if value["value"] == SECRET_MARKER else normalise(value["value"])
            return SECRET_MARKER
        if sig == RESOURCE_SIG:
            return value.get("id") or value.get("urn")
        if sig == OUTPUT_SIG:
            return SECRET_MARKER if value.get("secret") else normalise(value.get("value"))
        if sig in ASSET_SIGS:
            return value
        return {k: normalise(v) for k, v in value.items() if not k.startswith("__")}
    if isinstance(value, list):
        return [normalise(v) for v in value]
    return value


def _state_resource(raw: Mapping[str, Any]) -> StackResource:
    outputs = raw.get("outputs")
    return StackResource(
        urn=raw["urn"],
        type=raw["type"],
        inputs=normalise(raw.get("inputs") or {}),
        outputs=normalise(outputs) if outputs is not None else None,
        custom=bool(raw.get("custom", True)),
        parent=raw.get("parent") or None,
        dependencies=list(raw.get("dependencies") or []),
        property_dependencies={k: list(v or []) for k, v in (raw.get("propertyDependencies") or {}).items()},
        protect=bool(raw.get("protect", False)),
        provider=raw.get("provider") or None,
        external=bool(raw.get("external", False)),
    )


def _plan_resource(raw: Mapping[str, Any]) -> StackResource:
    outputs = raw.get("outputs")
    return StackResource(
        urn=raw["urn"],
        type=raw["type"],
        inputs=raw.get("inputs") or {},
        outputs=outputs,
        custom=bool(raw.get("custom", True)),
        parent=raw.get("parent") or None,
        dependencies=list(raw.get("dependencies") or []),
        property_dependencies={k: list(v) for k, v in (raw.get("propertyDependencies") or {}).items()},
    )


def detect_format(document: Any) -> str | None:
    if not isinstance(document, dict):
        return None
    if isinstance(document.get("deployment"), dict) and "version" in document:
        return "stack-export"
    if isinstance(document.get("steps"), list):
        return "preview"
    resources = document.get("resources")
    if isinstance(resources, list) and all(isinstance(r, dict) and "urn" in r and "type" in r for r in resources):
        return "plan"
    return None


def parse_graph(document: Any, source: str = "input") -> StackGraph:
    fmt = detect_format(document)
    try:
        if fmt == "plan":
            return StackGraph(fmt, [_plan_resource(r) for r in document["resources"]])
        if fmt == "stack-export":
            deployment = document["deployment"]
            resources = deployment.get("resources") or []
            return StackGraph(fmt, [_state_resource(r) for r in resources if not r.get("delete")])
        if fmt == "preview":
            steps = [s for s in document["steps"] if s.get("op") not in DELETE_OPS and s.get("newState")]
            return StackGraph(fmt, [_state_resource(s["newState"]) for s in steps])
    except (KeyError, TypeError, AttributeError) as error:
        raise InputFormatError(f"{source} looks like a {fmt} file but a resource lacks {error}") from None
    raise InputFormatError(
        f"{source} is none of the formats the policy check reads: expected the graph of "
        '`ai-platform plan STACK --json` ({"stack", "resources": [{"urn", "type", "inputs", ...}]}), '
        '`pulumi stack export` ({"version": 3, "deployment": {"resources": [...]}}) or '
        '`pulumi preview --json` ({"steps": [{"op", "urn", "newState"}]})'
    )


def load_graph(path: Path) -> StackGraph:
    try:
        document = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise InputFormatError(f"{path}: no such file") from None
    except ValueError as error:
        raise InputFormatError(f"{path} is not JSON: {error}") from None
    return parse_graph(document, str(path))
