"""Run a Pulumi program under the mock runtime and get the resource graph the engine would see.

This is the offline harness behind ``ai-platform plan`` and the project's tests, and it is
public so that other programs' tests can get the same graph::

    from components.testing import plan

    graph = plan(lambda: MyComponent("x", args), stack="test")
    assert graph.one("ai-platform:example:Queue").inputs["retention"] == 7

What is recorded is the wire request of each ``RegisterResource`` call: type, name, parent,
dependencies, property dependencies and inputs with camelCase wire names, secrets replaced by
``"[secret]"``; with the id and outputs the mock provider answered (for a component: the outputs
it registered, as the engine keeps them), and the token of every data-source call.
Mock outputs are realistic enough for programs' own logic (ids, ARNs, endpoints, zones);
each target's answers live in its folder (``components/<target>/mocks.py``, found through the
registry) and follow its provider's region config key, as the real provider does.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import pulumi
from google.protobuf import json_format
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc, settings
from pulumi.runtime.config import set_all_config
from pulumi.runtime.sync_await import _ensure_event_loop, _sync_await

from components.testing.outputs import call_result, resource_outputs

SECRET_MARKER = "[secret]"
UNKNOWN_MARKER = "[unknown]"
STACK_TYPE = "pulumi:pulumi:Stack"


@dataclass(frozen=True)
class GraphResource:
    """One registered resource, as the engine receives it."""

    urn: str
    type: str
    name: str
    parent: str | None
    inputs: dict[str, Any]
    dependencies: list[str]
    custom: bool
    protect: bool = False
    id: str = ""
    """The id the mock provider assigned (empty for the stack)."""
    outputs: dict[str, Any] = field(default_factory=dict)
    """The state the mock provider answered (wire form, like ``inputs``): what the program sees.
    For a component, the outputs it registered (``register_outputs``), as in the engine's state."""
    property_dependencies: dict[str, list[str]] = field(default_factory=dict)
    """Input name -> URNs of the resources its value came from (what policies use to follow references)."""

    def json_input(self, key: str) -> Any:
        """Input ``key`` parsed as JSON: policy documents, container definitions, dashboard bodies."""
        value = self.inputs[key]
        if not isinstance(value, str) or value in (SECRET_MARKER, UNKNOWN_MARKER):
            raise AssertionError(f"{self.name}.{key} is not a JSON document: {value!r}")
        return json.loads(value)

    def to_json(self) -> dict[str, Any]:
        return {
            "urn": self.urn,
            "type": self.type,
            "name": self.name,
            "parent": self.parent,
            "custom": self.custom,
            "inputs": self.inputs,
            "outputs": self.outputs,
            "dependencies": self.dependencies,
            "propertyDependencies": self.property_dependencies,
        }


@dataclass
class Graph:
    """The planned resource graph of one program run."""

    project: str
    stack: str
    resources: list[GraphResource] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    cloud: str | None = None
    calls: list[str] = field(default_factory=list)
    """Tokens of the data sources (provider functions) the program called, in order."""

    def of_type(self, type_token: str) -> list[GraphResource]:
        return [r for r in self.resources if r.type == type_token]

    def one(self, type_token: str, name: str | None = None) -> GraphResource:
        """The single resource of ``type_token`` (named ``name`` if given); fails loudly when
        there are none or several."""
        found = [r for r in self.of_type(type_token) if name is None or r.name == name]
        if len(found) != 1:
            named = "" if name is None else f" named {name!r}"
            raise AssertionError(f"expected exactly one {type_token}{named}, found {len(found)}")
        return found[0]

    def named(self, name: str) -> GraphResource:
        for resource in self.resources:
            if resource.name == name:
                return resource
        raise KeyError(f"no resource named {name!r}")

    def children(self, urn: str) -> list[GraphResource]:
        return [r for r in self.resources if r.parent == urn]

    def type_counts(self) -> Counter[str]:
        return Counter(r.type for r in self.resources if r.type != STACK_TYPE)

    def to_json(self) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "project": self.project,
            "cloud": self.cloud,
            "resources": [r.to_json() for r in self.resources],
            "outputs": self.outputs,
        }


def wire_value(value: Any) -> Any:
    """Turn a decoded protobuf Struct value into plain JSON with secrets and unknowns masked."""
    if isinstance(value, dict):
        sig = value.get(rpc._special_sig_key)
        if sig == rpc._special_secret_sig:
            return SECRET_MARKER
        if sig == rpc._special_resource_sig:
            return {"urn": value.get("urn"), "id": wire_value(value.get("id"))}
        if sig == rpc._special_output_value_sig:
            return SECRET_MARKER if value.get("secret") else wire_value(value.get("value", UNKNOWN_MARKER))
        return {k: wire_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [wire_value(v) for v in value]
    if value == rpc.UNKNOWN:
        return UNKNOWN_MARKER
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


class _RecordingMonitor(pulumi_mocks.MockMonitor):
    """The SDK's mock monitor, also keeping each registration's wire request in order."""

    def __init__(self, mocks: pulumi_mocks.Mocks) -> None:
        super().__init__(mocks)
        self.recorded: list[GraphResource] = []
        self._index: dict[str, int] = {}
        self.calls: list[str] = []

    def Invoke(self, request: Any) -> Any:
        self.calls.append(request.tok)
        return super().Invoke(request)

    def RegisterResource(self, request: Any) -> Any:
        response = super().RegisterResource(request)
        self.recorded.append(
            GraphResource(
                urn=response.urn,
                type=request.type,
                name=request.name,
                parent=request.parent or None,
                inputs=wire_value(json_format.MessageToDict(request.object)),
                dependencies=sorted(set(request.dependencies)),
                custom=bool(request.custom),
                protect=bool(getattr(request, "protect", False)),
                id=response.id,
                outputs={} if not request.custom else wire_value(json_format.MessageToDict(response.object)),
                property_dependencies={
                    key: sorted(set(deps.urns)) for key, deps in sorted(request.propertyDependencies.items())
                },
            )
        )
        self._index[response.urn] = len(self.recorded) - 1
        return response

    def RegisterResourceOutputs(self, request: Any) -> Any:
        """A component's (or the stack's) registered outputs replace its recorded outputs, as in the engine."""
        index = self._index.get(request.urn)
        if index is not None:
            outputs = wire_value(json_format.MessageToDict(request.outputs))
            self.recorded[index] = replace(self.recorded[index], outputs=outputs)
        return super().RegisterResourceOutputs(request)


class PlanMocks(pulumi_mocks.Mocks):
    """Mock provider answers: inputs echoed back plus realistic computed outputs."""

    def new_resource(self, args: pulumi_mocks.MockResourceArgs) -> tuple[str | None, dict]:
        resource_id, computed = resource_outputs(args.typ, args.name, args.inputs)
        return resource_id, {**args.inputs, **computed}

    def call(self, args: pulumi_mocks.MockCallArgs) -> tuple[dict, list[tuple[str, str]] | None]:
        return call_result(args.token, args.args), []


def config_values(config: Mapping[str, Any]) -> dict[str, str]:
    """Stack-file config as the CLI hands it to a program: structured values JSON-encoded."""
    return {key: value if isinstance(value, str) else json.dumps(value) for key, value in config.items()}


def plan(
    program: Callable[[], Any],
    *,
    project: str = "ai-platform",
    stack: str = "test",
    config: Mapping[str, Any] | None = None,
    secret_keys: Iterable[str] = (),
    mocks: pulumi_mocks.Mocks | None = None,
) -> Graph:
    """Run ``program`` under Pulumi's mock runtime and return the graph it registered.

    ``config`` holds fully-qualified keys (``"ai-platform:app"``) with plain or structured
    values; keys in ``secret_keys`` are treated as secrets, as ``pulumi config set --secret``.
    Exceptions raised by the program propagate unchanged.
    """
    settings.ROOT.set(None)
    set_all_config(config_values(config or {}), list(secret_keys))
    monitor = _RecordingMonitor(mocks or PlanMocks())
    # a caller's asyncio.run() leaves the thread without a loop; the runtime needs one
    _ensure_event_loop()
    pulumi.runtime.set_mocks(monitor.mocks, project=project, stack=stack, preview=False, monitor=monitor)
    root = settings.get_root_resource()
    # pulumi.runtime.test first forgets what a previous (failed) run left pending, then runs the
    # program and waits for every registration, re-raising the program's or an apply's exception
    pulumi.runtime.test(program)()
    exported: dict[str, Any] = dict(getattr(root, "outputs", {}) or {})
    return Graph(
        project=project,
        stack=stack,
        resources=list(monitor.recorded),
        outputs={name: _resolve_output(value) for name, value in exported.items()},
        calls=list(monitor.calls),
    )


def _resolve_output(value: Any) -> Any:
    output = pulumi.Output.from_input(value)

    async def settle() -> Any:
        resolved = await output.future()
        secret = await output.is_secret()
        return SECRET_MARKER if secret else resolved

    return _sync_await(settle())
