"""Policy fixtures: a compliant baseline, and failing cases that change one field each.

Resource fixture (``fixtures/<target>/<name>.yaml``)::

    type: aws:sqs/queue:Queue
    baseline: {kmsMasterKeyId: alias/x, tags: {...}}     # camelCase inputs, passes every policy
    cases:
      - rule: encryption-at-rest
        set: {kmsMasterKeyId: null}                       # dotted paths; null removes the key
        message: "queue (aws:sqs/queue:Queue) ..."        # the exact message
        config: {...}                                     # optional: the rule's config

Stack fixture (has ``resources`` instead of ``type``)::

    resources:
      - {name: vpc, type: aws:ec2/vpc:Vpc, props: {...}, dependsOn: {vpcId: [other-name]}}
    cases:
      - rule: access-and-flow-logs
        remove: [flow-log]                                # and/or set: {alb: {accessLogs.enabled: false}}
        violations: [{resource: vpc, message: "..."}]     # resource null: reported without a URN

A case may list ``violations`` with ``rule`` each when one change breaks more than one rule.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from policies.inprocess import PlannedResource

FIXTURES = Path(__file__).parent / "fixtures"
PROJECT = "fixtures"


def urn(type_: str, name: str) -> str:
    return f"urn:pulumi:test::{PROJECT}::{type_}::{name}"


def apply_set(props: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """A deep copy of ``props`` with dotted-path changes applied (``None`` deletes)."""
    result = copy.deepcopy(props)
    for path, value in changes.items():
        keys = path.split(".")
        node: Any = result
        for key in keys[:-1]:
            node = node[int(key)] if isinstance(node, list) else node.setdefault(key, {})
        last: Any = int(keys[-1]) if isinstance(node, list) else keys[-1]
        if value is None:
            if isinstance(node, list):
                del node[last]
            else:
                node.pop(last, None)
        else:
            node[last] = copy.deepcopy(value)
    return result


def paths(value: Any, prefix: str = "") -> Iterator[str]:
    """Every dotted path into a props tree (dict keys and list indexes), parents before children;
    keys that contain a dot are left out, since a dotted path cannot address them."""
    if isinstance(value, dict):
        for key, item in value.items():
            if "." in key:
                continue
            path = f"{prefix}{key}"
            yield path
            yield from paths(item, f"{path}.")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            path = f"{prefix}{index}"
            yield path
            yield from paths(item, f"{path}.")


@dataclass
class Expected:
    rule: str
    message: str
    resource: str | None = None


@dataclass
class Case:
    id: str
    rule: str
    expected: list[Expected]
    config: dict[str, Any] = field(default_factory=dict)
    set: dict[str, Any] = field(default_factory=dict)
    remove: list[str] = field(default_factory=list)


@dataclass
class ResourceFixture:
    path: Path
    type: str
    name: str
    baseline: dict[str, Any]
    cases: list[Case]

    def resource(self, changes: dict[str, Any] | None = None) -> PlannedResource:
        props = apply_set(self.baseline, changes or {})
        return PlannedResource(self.type, props, urn(self.type, self.name), self.name)


@dataclass
class StackFixture:
    path: Path
    resources: list[dict[str, Any]]
    cases: list[Case]

    def planned(self, case: Case | None = None) -> list[PlannedResource]:
        removed = set(case.remove) if case else set()
        changes = case.set if case else {}
        types = {r["name"]: r["type"] for r in self.resources}
        unknown = (removed | set(changes)) - set(types)
        if unknown:
            raise ValueError(f"{self.path.name}: case names resources not in the fixture: {sorted(unknown)}")
        planned = []
        for r in self.resources:
            if r["name"] in removed:
                continue
            props = apply_set(r.get("props") or {}, changes.get(r["name"], {}))
            deps = {
                key: [urn(types[n], n) for n in names if n not in removed]
                for key, names in (r.get("dependsOn") or {}).items()
            }
            parent = r.get("parent")
            planned.append(
                PlannedResource(
                    r["type"],
                    props,
                    urn(r["type"], r["name"]),
                    r["name"],
                    parent=urn(types[parent], parent) if parent else None,
                    dependencies=sorted({d for v in deps.values() for d in v}),
                    property_dependencies=deps,
                )
            )
        return planned

    def urn_of(self, name: str | None) -> str | None:
        if name is None:
            return None
        for r in self.resources:
            if r["name"] == name:
                return urn(r["type"], name)
        raise ValueError(f"{self.path.name}: no resource named {name!r}")


def _cases(path: Path, raw: list[dict[str, Any]]) -> list[Case]:
    cases = []
    for index, item in enumerate(raw):
        rule = item["rule"]
        if "violations" in item:
            expected = [Expected(v.get("rule", rule), v["message"], v.get("resource")) for v in item["violations"]]
        else:
            expected = [Expected(rule, item["message"], item.get("resource"))]
        cases.append(
            Case(
                id=f"{path.parent.name}/{path.stem}#{index}:{rule}",
                rule=rule,
                expected=expected,
                config=item.get("config") or {},
                set=item.get("set") or {},
                remove=list(item.get("remove") or []),
            )
        )
    return cases


def load_all() -> tuple[list[ResourceFixture], list[StackFixture]]:
    resources: list[ResourceFixture] = []
    stacks: list[StackFixture] = []
    for path in sorted(FIXTURES.glob("*/*.yaml")):
        doc = yaml.safe_load(path.read_text())
        if "resources" in doc:
            stacks.append(StackFixture(path, doc["resources"], _cases(path, doc.get("cases") or [])))
        else:
            name = doc.get("name") or path.stem
            resources.append(ResourceFixture(path, doc["type"], name, doc["baseline"], _cases(path, doc["cases"])))
    return resources, stacks
