"""Run the pack's policies in-process, exactly as the SDK's servicer would call them.

For tests and fixtures: the properties go through the same deserialisation and
unknown-checking proxy as an Analyze request. The offline check of real stacks goes through the
Analyzer gRPC protocol instead (``policies.analyzer``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.deserialize import deserialize_properties
from pulumi_policy.policy import PolicyCustomTimeouts, PolicyResource, PolicyResourceOptions
from pulumi_policy.proxy import UnknownValueError, unknown_checking_proxy

from policies.framework import PerResourcePolicy
from policies.pack import policies


@dataclass(frozen=True)
class Finding:
    policy: str
    message: str
    urn: str | None = None
    level: str = "mandatory"


@dataclass(frozen=True)
class PlannedResource:
    type: str
    props: Mapping[str, Any]
    urn: str
    name: str
    parent: str | None = None
    dependencies: Sequence[str] = ()
    property_dependencies: Mapping[str, Sequence[str]] = field(default_factory=dict)


def _options() -> PolicyResourceOptions:
    return PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0), [])


class InProcessPack:
    """The pack's policies, called directly; ``unknowns`` collects "can't run during preview" notes."""

    def __init__(self, config: Mapping[str, Mapping[str, Any]] | None = None) -> None:
        self.policies: list[Policy] = policies()
        self.config = dict(config or {})
        self.unknowns: list[str] = []

    def _level(self, policy: Policy) -> str:
        configured = self.config.get(policy.name, {}).get("enforcementLevel")
        if configured:
            return str(configured)
        level = policy.enforcement_level or EnforcementLevel.ADVISORY
        return level.value

    def analyze(self, resource: PlannedResource, only: str | None = None) -> list[Finding]:
        """Every rule one resource can break on its own: the resource policies, and the resource
        rules with named waivers (stack policies, run here over a stack of this resource alone)."""
        alone = self._run_stack_policies([resource], only, per_resource=True)
        return self._run_resource_policies(resource, only) + alone

    def check(self, resources: Sequence[PlannedResource], only: str | None = None) -> list[Finding]:
        """A whole plan as the engine checks it: Analyze for each resource, then AnalyzeStack."""
        per_resource = [f for r in resources for f in self._run_resource_policies(r, only)]
        return per_resource + self.analyze_stack(resources, only)

    def _run_resource_policies(self, resource: PlannedResource, only: str | None) -> list[Finding]:
        findings: list[Finding] = []
        for policy in self.policies:
            if not isinstance(policy, ResourceValidationPolicy) or (only and policy.name != only):
                continue
            level = self._level(policy)
            if level == "disabled":
                continue
            props = unknown_checking_proxy(deserialize_properties(dict(resource.props)))
            config = {k: v for k, v in self.config.get(policy.name, {}).items() if k != "enforcementLevel"}
            args = ResourceValidationArgs(resource.type, props, resource.urn, resource.name, _options(), None, config)

            def report(message: str, urn: str | None = None, _p: Policy = policy, _l: str = level) -> None:
                findings.append(Finding(_p.name, message, resource.urn, _l))

            try:
                policy.validate(args, report)
            except UnknownValueError as error:
                self.unknowns.append(f"{policy.name}: {error.message}")
        return findings

    def analyze_stack(self, resources: Sequence[PlannedResource], only: str | None = None) -> list[Finding]:
        """The stack policies, as AnalyzeStack runs them (resource rules with waivers included)."""
        return self._run_stack_policies(resources, only)

    def _run_stack_policies(
        self, resources: Sequence[PlannedResource], only: str | None, per_resource: bool = False
    ) -> list[Finding]:
        by_urn: dict[str, PolicyResource] = {}
        for r in resources:
            props = unknown_checking_proxy(deserialize_properties(dict(r.props)))
            by_urn[r.urn] = PolicyResource(r.type, props, r.urn, r.name, _options(), None, None, [], {})
        for r in resources:
            view = by_urn[r.urn]
            view.parent = by_urn.get(r.parent) if r.parent else None
            view.dependencies = [by_urn[d] for d in r.dependencies if d in by_urn]
            view.property_dependencies = {
                k: [by_urn[d] for d in v if d in by_urn] for k, v in r.property_dependencies.items()
            }
        findings: list[Finding] = []
        for policy in self.policies:
            if not isinstance(policy, StackValidationPolicy) or (only and policy.name != only):
                continue
            if per_resource and not isinstance(policy, PerResourcePolicy):
                continue
            level = self._level(policy)
            if level == "disabled":
                continue
            config = {k: v for k, v in self.config.get(policy.name, {}).items() if k != "enforcementLevel"}
            args = StackValidationArgs(list(by_urn.values()), config)

            def report(message: str, urn: str | None = None, _p: Policy = policy, _l: str = level) -> None:
                findings.append(Finding(_p.name, message, urn, _l))

            try:
                policy.validate(args, report)
            except UnknownValueError as error:
                self.unknowns.append(f"{policy.name}: {error.message}")
        return findings
