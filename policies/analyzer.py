"""Run the policy pack as the Pulumi engine does: its own process, spoken to over the Analyzer gRPC protocol.

The engine starts a Python pack with ``python -u -m pulumi.policy <engine-address> <pack-dir>``; the
pack prints the port of its Analyzer server on stdout. :class:`PackClient` does the same and then
sends what the engine sends (pulumi/pulumi ``pkg/resource/deploy/step_generator.go``):

- ``Analyze`` once for every resource the program *registers* -- custom resources, component
  resources, provider resources and the ``pulumi:pulumi:Stack`` root alike (reads of existing
  resources are not analysed). The properties are the resource's *inputs* (for custom resources
  after the provider's ``Check``, so provider defaults are filled in), with unknown values during a
  preview and secrets as secret values. Options carry the parent and ``protect``; ``provider`` is
  the resource's provider with that provider's inputs, when the source knows it.
- ``AnalyzeStack`` once at the end with every resource of the deployment, whose properties are
  its *outputs* (for a component: the outputs it registered, not its inputs), with parent,
  dependencies and property dependencies.

Violations of a resource policy belong to the analysed resource (the engine ignores the URN a
resource policy reports); the SDK prefixes each message with the policy description, which
:class:`Violation` strips again. When a check needs a value that is unknown during preview, the
SDK answers with an advisory "can't run policy ... during preview" diagnostic: those are kept
apart in :attr:`Report.not_run`.

Secrets: offline graphs show a secret as ``"[secret]"`` (:data:`SECRET_MARKER`); it is sent as a
Pulumi secret value whose plaintext is that marker, so the pack sees exactly what the engine
would hand it for a secret it cannot decrypt.
"""

from __future__ import annotations

import gc
import subprocess
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, Any

import grpc
from google.protobuf import empty_pb2, json_format, struct_pb2
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc

from policies.errors import PackError, PolicyConfigError
from policies.framework import SECRET_MARKER
from policies.process import PACK_DIR, StartedPack, start_pack

UNKNOWN_MARKER = "[unknown]"
"""How offline graphs show a value unknown during preview (``components.testing.UNKNOWN_MARKER``)."""
SIG_KEY = "4dabf18193072939515e22adb298388d"
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
UNKNOWN_VALUE = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
"""How the engine sends a value that is unknown during preview."""

MAX_MESSAGE_BYTES = 1 << 30
DEFAULT_WINDOW = 8
"""Analyze calls in flight at once: enough to keep the pack busy while this side encodes the next ones.
More is slower on two cores (the pack's four gRPC worker threads contend for its GIL): measured with
benchmarks/policy_bench.py at 5,000 resources, windows 4/8/16/64 gave 2.9/2.5/3.1/3.8 s."""

LEVELS = {
    analyzer_pb2.ADVISORY: "advisory",
    analyzer_pb2.MANDATORY: "mandatory",
    analyzer_pb2.DISABLED: "disabled",
    analyzer_pb2.REMEDIATE: "remediate",
}
LEVEL_VALUES = {name: value for value, name in LEVELS.items()}
SEVERITIES = {
    analyzer_pb2.POLICY_SEVERITY_UNSPECIFIED: "",
    analyzer_pb2.POLICY_SEVERITY_LOW: "low",
    analyzer_pb2.POLICY_SEVERITY_MEDIUM: "medium",
    analyzer_pb2.POLICY_SEVERITY_HIGH: "high",
    analyzer_pb2.POLICY_SEVERITY_CRITICAL: "critical",
}
POLICY_TYPES = {
    analyzer_pb2.POLICY_TYPE_UNKNOWN: "",
    analyzer_pb2.POLICY_TYPE_RESOURCE: "resource",
    analyzer_pb2.POLICY_TYPE_STACK: "stack",
}
_NOT_RUN_PREFIX = "can't run policy "


@dataclass(frozen=True)
class ProviderResource:
    type: str
    urn: str
    name: str
    props: Mapping[str, Any]


@dataclass(frozen=True)
class AnalyzedResource:
    """One resource as the engine describes it to an analyzer (inputs or outputs in ``props``)."""

    type: str
    props: Mapping[str, Any]
    urn: str
    name: str
    parent: str | None = None
    dependencies: Sequence[str] = ()
    property_dependencies: Mapping[str, Sequence[str]] = field(default_factory=dict)
    protect: bool = False
    provider: ProviderResource | None = None


@dataclass(frozen=True)
class PolicyInfo:
    name: str
    description: str
    level: str
    severity: str
    remediation: str
    scope: str
    config_schema: dict[str, Any]
    """``{"properties": {...}, "required": [...]}`` as the pack declares it."""
    tags: tuple[str, ...] = ()
    """``topic:<topic>``, ``framework:<key>`` and ``<key>:<control id>`` (see ``policies.catalog``)."""
    framework: dict[str, str] = field(default_factory=dict)
    """The policy's one protocol-level framework: ``name``, ``version``, ``reference``, ``specification``."""


@dataclass(frozen=True)
class PackInfo:
    name: str
    version: str
    description: str
    policies: list[PolicyInfo]

    def policy(self, name: str) -> PolicyInfo:
        for policy in self.policies:
            if policy.name == name:
                return policy
        raise KeyError(name)


@dataclass(frozen=True)
class Violation:
    policy: str
    level: str
    severity: str
    urn: str | None
    message: str

    def to_json(self) -> dict[str, Any]:
        return {
            "policy": self.policy,
            "level": self.level,
            "severity": self.severity,
            "urn": self.urn,
            "message": self.message,
        }


@dataclass
class Report:
    """What a pack said about a set of resources."""

    pack: str
    violations: list[Violation] = field(default_factory=list)
    not_run: list[str] = field(default_factory=list)
    """The SDK's "can't run policy ... during preview" notes (checks skipped for unknown values)."""
    resources: int = 0
    remediations: list[Remediation] = field(default_factory=list)
    """Fixes the ``remediate`` level applied before the resources were analyzed (their inputs are in the graph)."""

    @property
    def mandatory(self) -> list[Violation]:
        return [v for v in self.violations if v.level == "mandatory"]

    def to_json(self) -> dict[str, Any]:
        return {
            "pack": self.pack,
            "violations": [v.to_json() for v in self.violations],
            "remediations": [
                {"policy": r.policy, "urn": r.urn, "properties": r.props, "diagnostic": r.diagnostic or None}
                for r in self.remediations
            ],
        }


def to_wire(value: Any) -> Any:
    """Plain JSON from an offline graph -> what the engine would put on the wire (secrets, unknowns)."""
    if isinstance(value, dict):
        return {k: to_wire(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_wire(v) for v in value]
    if value == SECRET_MARKER:
        return {SIG_KEY: SECRET_SIG, "value": SECRET_MARKER}
    if value == UNKNOWN_MARKER:
        return UNKNOWN_VALUE
    return value


def from_wire(value: Any) -> Any:
    """The inverse of :func:`to_wire`: secrets and unknowns as the offline graphs' markers."""
    if isinstance(value, dict):
        if value.get(SIG_KEY) == SECRET_SIG:
            return SECRET_MARKER
        return {k: from_wire(v) for k, v in value.items()}
    if isinstance(value, list):
        return [from_wire(v) for v in value]
    if value == UNKNOWN_VALUE:
        return UNKNOWN_MARKER
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


@dataclass(frozen=True)
class Remediation:
    """What one policy's ``remediate`` did to a resource: new inputs, or a diagnostic (values unknown in preview)."""

    policy: str
    props: Mapping[str, Any] | None
    diagnostic: str = ""
    urn: str = ""


def _struct(props: Mapping[str, Any]) -> struct_pb2.Struct:
    message = struct_pb2.Struct()
    message.update(to_wire(dict(props)))
    return message


def _read_port(process: subprocess.Popen[bytes], stderr: IO[bytes], timeout: float) -> int:
    """The first stdout line of the pack, which is its port; a clear error with its stderr otherwise."""
    assert process.stdout is not None
    line: list[bytes] = []
    reader = threading.Thread(target=lambda: line.append(process.stdout.readline()), daemon=True)  # type: ignore[union-attr]
    reader.start()
    reader.join(timeout)

    def stderr_text() -> str:
        process.poll()
        stderr.flush()
        stderr.seek(0)
        text = stderr.read().decode(errors="replace").strip()
        return text[-4000:] or "(nothing on stderr)"

    if not line:
        process.kill()
        raise PackError(f"the policy pack printed no port within {timeout:.0f} s; its stderr:\n{stderr_text()}")
    text = line[0].decode(errors="replace").strip()
    if not text.isdigit():
        process.wait(timeout=5)
        raise PackError(
            f"the policy pack exited (code {process.returncode}) before serving"
            + (f" and printed {text!r}" if text else "")
            + f"; its stderr:\n{stderr_text()}"
        )
    return int(text)


def _drain(stream: IO[bytes] | None) -> None:
    if stream is not None:
        for _ in iter(lambda: stream.read(65536), b""):
            pass


class PackClient:
    """The pack in its own process, as the engine runs it; use as a context manager."""

    def __init__(
        self,
        pack_dir: Path = PACK_DIR,
        *,
        project_dir: Path | None = None,
        start_timeout: float = 60.0,
        window: int = DEFAULT_WINDOW,
        started: StartedPack | None = None,
    ) -> None:
        """Connect to ``started`` (a pack already starting, see :func:`start_pack`) or start one."""
        self.started = started or start_pack(pack_dir, project_dir)
        self.pack_dir = self.started.pack_dir
        self.process = self.started.process
        self._stderr = self.started.stderr
        self.window = window
        self._drainer: threading.Thread | None = None
        started_at = self.started.started_at
        try:
            self.port = _read_port(self.process, self._stderr, start_timeout)
            # whatever a check prints later must not fill the pipe and stall the pack
            self._drainer = threading.Thread(target=_drain, args=(self.process.stdout,), daemon=True)
            self._drainer.start()
            self.channel = grpc.insecure_channel(
                f"127.0.0.1:{self.port}",
                options=[
                    ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
                    ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
                ],
            )
            grpc.channel_ready_future(self.channel).result(timeout=start_timeout)
        except BaseException:
            self.close()
            raise
        self.stub = analyzer_pb2_grpc.AnalyzerStub(self.channel)
        self.startup_seconds = time.perf_counter() - started_at
        self._info: PackInfo | None = None

    def __enter__(self) -> PackClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        channel = getattr(self, "channel", None)
        if channel is not None:
            channel.close()
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        if self._drainer is not None:
            self._drainer.join(timeout=5)  # it ends at the end of the pack's output
        self.started.stop()

    def _call(self, method: Any, request: Any) -> Any:
        try:
            return method(request)
        except grpc.RpcError as error:
            raise self._error(error) from None

    def _error(self, error: grpc.RpcError) -> PackError | PolicyConfigError:
        details = error.details() if hasattr(error, "details") else str(error)  # type: ignore[attr-defined]
        code = error.code() if hasattr(error, "code") else None  # type: ignore[attr-defined]
        if code == grpc.StatusCode.INVALID_ARGUMENT:
            return PolicyConfigError(details)  # the pack refused its config (Configure)
        return PackError(f"the policy pack failed: {details}")

    def get_info(self) -> PackInfo:
        if self._info is None:
            info = self._call(self.stub.GetAnalyzerInfo, empty_pb2.Empty())
            policies = [
                PolicyInfo(
                    name=p.name,
                    description=p.description,
                    level=LEVELS[p.enforcementLevel],
                    severity=SEVERITIES.get(p.severity, ""),
                    remediation=p.remediation_steps,
                    scope=POLICY_TYPES.get(p.policy_type, ""),
                    config_schema=json_format.MessageToDict(p.configSchema, preserving_proto_field_name=True),
                    tags=tuple(p.tags),
                    framework=json_format.MessageToDict(p.framework) if p.HasField("framework") else {},
                )
                for p in info.policies
            ]
            self._info = PackInfo(info.name, info.version, info.description, policies)
        return self._info

    def configure(self, config: Mapping[str, Mapping[str, Any]]) -> None:
        """Send a resolved config (policy -> ``{"enforcementLevel": ..., **properties}``), as the engine does.

        Give every policy a level (:func:`policies.config.resolve_config` does): the SDK reads a
        missing level as advisory.
        """
        request = analyzer_pb2.ConfigureAnalyzerRequest()
        for name, values in config.items():
            entry = request.policyConfig[name]
            level = values.get("enforcementLevel")
            if level is not None:
                entry.enforcementLevel = LEVEL_VALUES[str(level)]
            properties = {k: v for k, v in values.items() if k != "enforcementLevel"}
            if properties:
                entry.properties.update(properties)
        self._call(self.stub.Configure, request)

    def configure_stack(self, stack: str, project: str, tags: Mapping[str, str], *, dry_run: bool = True) -> None:
        """Tell the pack which stack it analyzes, with the stack's tags (``pulumi stack tag``), as the engine does."""
        request = analyzer_pb2.AnalyzerStackConfigureRequest(stack=stack, project=project, dry_run=dry_run, tags=tags)
        self._call(self.stub.ConfigureStack, request)

    def _analyze_request(self, resource: AnalyzedResource) -> analyzer_pb2.AnalyzeRequest:
        request = analyzer_pb2.AnalyzeRequest(
            type=resource.type,
            properties=_struct(resource.props),
            urn=resource.urn,
            name=resource.name,
            options=analyzer_pb2.AnalyzerResourceOptions(parent=resource.parent or "", protect=resource.protect),
        )
        if resource.provider is not None:
            request.provider.CopyFrom(_provider(resource.provider))
        return request

    def analyze(self, resource: AnalyzedResource) -> Report:
        """Analyze one resource (its inputs)."""
        return self.analyze_all([resource])

    def analyze_all(self, resources: Iterable[AnalyzedResource]) -> Report:
        """Analyze each resource, keeping up to ``window`` calls in flight so both processes stay busy."""
        report = Report(self.get_info().name)
        pending: deque[tuple[AnalyzedResource, Any]] = deque()

        def collect() -> None:
            resource, future = pending.popleft()
            try:
                response = future.result()
            except grpc.RpcError as error:
                raise self._error(error) from None
            _collect(report, response, resource.urn)

        with _collector_paused():
            for resource in resources:
                report.resources += 1
                pending.append((resource, self.stub.Analyze.future(self._analyze_request(resource))))
                if len(pending) >= self.window:
                    collect()
            while pending:
                collect()
        return report

    def remediate(self, resource: AnalyzedResource) -> list[Remediation]:
        """Ask the policies at the ``remediate`` level to fix one resource (its inputs), in policy order,
        as the engine does before it analyzes the resource."""
        response = self._call(self.stub.Remediate, self._analyze_request(resource))
        return [
            Remediation(
                policy=r.policyName,
                props=from_wire(json_format.MessageToDict(r.properties)) if r.HasField("properties") else None,
                diagnostic=r.diagnostic,
                urn=resource.urn,
            )
            for r in response.remediations
        ]

    def remediate_all(self, resources: Iterable[AnalyzedResource]) -> tuple[list[AnalyzedResource], list[Remediation]]:
        """``Remediate`` each resource, as the engine does before ``Analyze`` when a policy is at the
        remediate level: the resources with their fixed inputs (the last fix wins), and every remediation."""
        fixed: list[AnalyzedResource] = []
        remediations: list[Remediation] = []
        for resource in resources:
            done = self.remediate(resource)
            remediations += done
            props = next((r.props for r in reversed(done) if r.props is not None), None)
            fixed.append(resource if props is None else replace(resource, props=props))
        return fixed, remediations

    def analyze_stack(self, resources: Sequence[AnalyzedResource]) -> Report:
        """Analyze the whole stack (every resource's outputs) with the stack policies."""
        request = analyzer_pb2.AnalyzeStackRequest()
        for r in resources:
            item = request.resources.add(
                type=r.type,
                properties=_struct(r.props),
                urn=r.urn,
                name=r.name,
                options=analyzer_pb2.AnalyzerResourceOptions(parent=r.parent or "", protect=r.protect),
                parent=r.parent or "",
                dependencies=list(r.dependencies),
            )
            for key, urns in r.property_dependencies.items():
                item.propertyDependencies[key].urns.extend(urns)
            if r.provider is not None:
                item.provider.CopyFrom(_provider(r.provider))
        report = Report(self.get_info().name, resources=len(resources))
        _collect(report, self._call(self.stub.AnalyzeStack, request), None)
        return report


@contextmanager
def _collector_paused() -> Iterator[None]:
    """No cyclic GC while thousands of requests stream out: they are freed by reference counting,
    and full collections over a large caller's heap (a planned program) made the loop quadratic."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _provider(provider: ProviderResource) -> analyzer_pb2.AnalyzerProviderResource:
    return analyzer_pb2.AnalyzerProviderResource(
        type=provider.type, properties=_struct(provider.props), urn=provider.urn, name=provider.name
    )


def _collect(report: Report, response: Any, resource_urn: str | None) -> None:
    for d in response.diagnostics:
        if d.message.startswith(_NOT_RUN_PREFIX):
            report.not_run.append(d.message)
            continue
        message = d.message
        if d.description and message.startswith(d.description):
            message = message[len(d.description) :].lstrip("\n")
        report.violations.append(
            Violation(
                policy=d.policyName,
                level=LEVELS.get(d.enforcementLevel, "advisory"),
                severity=SEVERITIES.get(d.severity, ""),
                urn=resource_urn or d.urn or None,
                message=message,
            )
        )


def merge(*reports: Report) -> Report:
    merged = Report(reports[0].pack if reports else "")
    for report in reports:
        merged.violations += report.violations
        merged.not_run += report.not_run
        merged.remediations += report.remediations
        merged.resources = max(merged.resources, report.resources)
    return merged
