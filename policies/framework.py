"""The small framework every rule module uses: rule metadata, safe property access, dispatch.

Why not write pulumi_policy policies directly: the checklist items span four targets, so one
policy (say ``encryption-at-rest``) collects checks from the AWS, GCP, Azure and Kubernetes
modules and dispatches on the resource type token. That keeps policy names (and their
``--policy-pack-config`` keys) the same on every cloud, and keeps the number of policies small:
the SDK's servicer deserialises a resource's properties once per policy, so fewer policies is
the main lever on Analyzer throughput.

Checks never crash on what a preview or a state file can contain:
- missing properties read as ``None`` (or the given default) through :meth:`Resource.get`;
- unknown values (``pulumi preview`` before a value is known) read as :data:`UNKNOWN`, and a
  check that needs one calls :func:`require_known`, which skips that check for that resource
  and reports it as the SDK's advisory "can't run during preview" diagnostic;
- secrets arrive unwrapped from the SDK; offline graphs mark them with :data:`SECRET_MARKER`;
- numbers arrive as doubles over the protocol; whole numbers read as ints (:func:`plain`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any, Literal, TypeVar, cast

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyComplianceFramework,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Secret,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.policy import ResourceRemediation
from pulumi_policy.proxy import (
    UNKNOWN_ARCHIVE_VALUE,
    UNKNOWN_ARRAY_VALUE,
    UNKNOWN_ASSET_VALUE,
    UNKNOWN_BOOLEAN_VALUE,
    UNKNOWN_NUMBER_VALUE,
    UNKNOWN_OBJECT_VALUE,
    UNKNOWN_STRING_VALUE,
    UnknownValueError,
)

from policies import providers
from policies.providers import TagStyle
from policies.servicer import once, request_memo

__all__ = [
    "SECRET_MARKER",
    "UNKNOWN",
    "CheckSet",
    "EnforcementLevel",
    "Resource",
    "Rule",
    "Severity",
    "Stack",
    "Unknown",
    "Violation",
    "Waivable",
    "build_policies",
    "is_unknown",
    "parse_json",
    "require_known",
    "updated",
]

SECRET_MARKER = "[secret]"
"""How offline graphs (``ai-platform plan --json``) show a secret value."""

_UNKNOWN_SENTINELS = frozenset(
    {
        UNKNOWN_STRING_VALUE,
        UNKNOWN_NUMBER_VALUE,
        UNKNOWN_BOOLEAN_VALUE,
        UNKNOWN_ARRAY_VALUE,
        UNKNOWN_OBJECT_VALUE,
        UNKNOWN_ASSET_VALUE,
        UNKNOWN_ARCHIVE_VALUE,
    }
)


class Unknown:
    """A value that is not known yet (a preview before the resource it comes from exists)."""

    _instance: Unknown | None = None

    def __new__(cls) -> Unknown:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "<unknown during preview>"

    def __bool__(self) -> bool:
        raise TypeError("an unknown value has no truth value; check is_unknown() or call require_known()")


UNKNOWN = Unknown()


def is_unknown(value: Any) -> bool:
    return value is UNKNOWN or (isinstance(value, str) and value in _UNKNOWN_SENTINELS)


class _SkipCheck(Exception):
    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.path = path


def require_known(value: Any, path: str = "") -> Any:
    """Return ``value``, or skip the current check if it is unknown during preview."""
    if is_unknown(value):
        raise _SkipCheck(path)
    return value


def _unwrap(value: Any) -> Any:
    """The plain dict/list behind the SDK's unknown-checking proxies (no copy)."""
    if isinstance(value, Mapping) and not isinstance(value, dict):
        try:
            return value["__target"]
        except KeyError:
            return dict(value)
    if isinstance(value, Sequence) and not isinstance(value, str | list | tuple):
        try:
            return value["__target"]  # type: ignore[index]
        except (KeyError, TypeError, IndexError):
            return list(value)
    return value


def plain(value: Any) -> Any:
    """A plain copy of proxied properties: checks see ordinary dicts, lists and sentinels.

    Numbers cross the Analyzer protocol as doubles (``30`` arrives as ``30.0``); whole ones become
    ints again, so checks and their messages see what the program wrote, in-process and through
    the engine alike (``policies.config`` reads the pack's config schemas through it too).
    """
    value = _unwrap(value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _step(value: Any, key: str) -> Any:
    if is_unknown(value):
        return UNKNOWN
    if isinstance(value, dict):
        return value.get(key)
    if isinstance(value, list | tuple) and key.isdigit():
        index = int(key)
        return value[index] if index < len(value) else None
    return None


def updated(props: Mapping[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A copy of ``props`` with ``value`` at a dotted path, creating objects on the way (for remediations)."""
    head, _, rest = path.partition(".")
    copy = dict(props)
    if rest:
        inner = copy.get(head)
        copy[head] = updated(inner if isinstance(inner, Mapping) else {}, rest, value)
    else:
        copy[head] = value
    return copy


def parse_json(value: Any) -> Any:
    """Parse a JSON-string input (ECS container definitions, IAM documents); None if it is not JSON.

    Already-parsed values pass through, so a check works on inputs (strings) and on state
    outputs (sometimes objects) alike.
    """
    if is_unknown(value):
        return UNKNOWN
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return None
    return value


@dataclass(frozen=True)
class Resource:
    """A read-only view of one resource, as the engine sends it to the pack."""

    type: str
    props: Mapping[str, Any]
    urn: str = ""
    name: str = ""
    parent: str | None = None
    dependencies: tuple[str, ...] = ()
    property_dependencies: Mapping[str, Sequence[str]] = field(default_factory=dict)
    _memo: dict[Any, Any] = field(default_factory=dict, compare=False, repr=False, hash=False)
    """Reference keys and identities, computed once: stack checks compare resources pairwise."""
    stack_tags: Mapping[str, str] = field(default_factory=dict)
    """The stack's tags, where the engine sent them (``ConfigureStack``); remediations may read them."""

    def get(self, path: str, default: Any = None) -> Any:
        """The value at a dotted path (``"accessLogs.enabled"``, ``"rules.0.name"``).

        Missing keys give ``default``; an unknown value anywhere on the path gives :data:`UNKNOWN`.
        """
        value: Any = self.props
        for key in path.split("."):
            value = _step(value, key)
            if value is UNKNOWN:
                return UNKNOWN
            if value is None:
                return default
        if is_unknown(value):
            return UNKNOWN
        return value

    def known(self, path: str, default: Any = None) -> Any:
        """Like :meth:`get`, but skips the check when the value is unknown during preview."""
        return require_known(self.get(path, default), path)

    def has(self, path: str) -> bool:
        return self.get(path) is not None

    @property
    def package(self) -> str:
        return self.type.split(":", 1)[0]

    @property
    def label(self) -> str:
        """How messages name the resource: its logical name and type."""
        return f"{self.name or self.urn} ({self.type})"

    @property
    def tag_style(self) -> TagStyle:
        """How this resource's provider carries tags (:mod:`policies.providers`); plain tags otherwise."""
        return providers.tag_style(self.package)

    @property
    def tags(self) -> Mapping[str, Any] | None:
        """Tags, or labels where the target calls them that; None if there are none."""
        for path in self.tag_style.wire_paths:
            value = self.get(path)
            if isinstance(value, dict):
                return value
            if is_unknown(value):
                return require_known(value, path)
        return None

    def is_prod(self, config: Mapping[str, Any], stack: Stack | None = None) -> bool:
        """Prod if its `environment` tag/label says so, else if the stack's platform component does."""
        prod = set(config.get("prodEnvironments") or ("prod", "production"))
        tags = self.tags or {}
        environment = tags.get("environment")
        if isinstance(environment, str):
            return environment in prod
        stack_environment = stack.environment() if stack is not None else None
        return stack_environment in prod

    def refers_to(self, path: str, target: Resource) -> bool:
        """Whether the input at ``path`` points at ``target``.

        By the engine's property dependencies (what a preview and the offline plan carry) or, for
        state files, by value: the target's ``id``/``arn``/``name``/``selfLink`` output.
        """
        return not self.reference_keys(path).isdisjoint(target.identities())

    def reference_keys(self, path: str) -> set[str]:
        """What the input at ``path`` can point at: URNs (property dependencies of its root input)
        and the string values there (ids, ARNs, names)."""
        memo_key = ("references", path)
        keys = self._memo.get(memo_key)
        if keys is None:
            keys = {*self.property_dependencies.get(path.split(".", 1)[0], ())}
            value = self.get(path)
            if value is not None and not is_unknown(value):
                keys.update(v for v in (value if isinstance(value, list) else [value]) if isinstance(v, str))
            self._memo[memo_key] = keys
        return keys

    def identities(self) -> set[str]:
        """How other resources can point at this one: its URN and its id/arn/name/selfLink values."""
        found = self._memo.get("identities")
        if found is None:
            found = {self.urn} if self.urn else set()
            for key in ("id", "arn", "name", "selfLink"):
                value = self.get(key)
                if isinstance(value, str) and not is_unknown(value):
                    found.add(value)
            self._memo["identities"] = found
        return found


@dataclass(frozen=True)
class Violation:
    message: str
    urn: str | None = None


def opt_out_key(name: str) -> str:
    """Where a stack sets the named opt-out: ``disableWaf`` -> ``insecure.disableWaf``,
    ``gcp.publicIngress`` -> ``gcp.insecure.publicIngress`` (a target section's own)."""
    section, _, own = name.rpartition(".")
    return f"{section}.insecure.{own}" if section else f"insecure.{name}"


class Waivable(str):
    """A check's message for a condition that one named opt-out may waive (see :meth:`CheckSet.waive`).

    The message names the opt-out, so whoever reads the violation learns the escape hatch too.
    """

    opt_out: str

    def __new__(cls, opt_out: str, message: str) -> Waivable:
        text = super().__new__(cls, f"{message} (allowed only by the named opt-out {opt_out_key(opt_out)})")
        text.opt_out = opt_out
        return text


@dataclass
class Stack:
    """Every resource of a stack, for rules that look across resources."""

    resources: list[Resource]

    @cached_property
    def _by_type(self) -> dict[str, list[Resource]]:
        """Resources by type token, built once: checks ask per type, thousands of times on big stacks."""
        index: dict[str, list[Resource]] = {}
        for r in self.resources:
            index.setdefault(r.type, []).append(r)
        return index

    def of_type(self, *types: str) -> list[Resource]:
        if len(types) == 1:
            return list(self._by_type.get(types[0], ()))
        found = [r for token in set(types) for r in self._by_type.get(token, ())]
        return sorted(found, key=lambda r: self._position[id(r)])  # in stack order, as reported

    def referring(self, target: Resource, type_: str, path: str) -> list[Resource]:
        """The resources of ``type_`` whose ``path`` points at ``target`` (see :meth:`Resource.refers_to`),
        from an index built once per (type, path): linear where pairwise checks are quadratic."""
        index = self._reference_index.get((type_, path))
        if index is None:
            index = {}
            for r in self._by_type.get(type_, ()):
                for key in r.reference_keys(path):
                    index.setdefault(key, []).append(r)
            self._reference_index[(type_, path)] = index
        found = {id(r): r for key in target.identities() for r in index.get(key, ())}
        return sorted(found.values(), key=lambda r: self._position[id(r)])

    @cached_property
    def _reference_index(self) -> dict[tuple[str, str], dict[str, list[Resource]]]:
        return {}

    @cached_property
    def _position(self) -> dict[int, int]:
        return {id(r): i for i, r in enumerate(self.resources)}

    @cached_property
    def _platform_components(self) -> list[Resource]:
        return [
            r
            for token, found in self._by_type.items()
            if token.startswith("ai-platform:") and token.endswith(":AiPlatform")
            for r in found
        ]

    def platform_components(self) -> list[Resource]:
        """The ``ai-platform:<cloud>:AiPlatform`` components (they carry environment and opt-outs)."""
        return list(self._platform_components)

    def opt_outs(self) -> dict[str, Resource]:
        """Named insecure opt-outs recorded by the platform components, with the component."""
        found: dict[str, Resource] = {}
        for component in self.platform_components():
            names = component.get("optOuts")
            if names is None or is_unknown(names):
                continue
            for name in names:
                if isinstance(name, str):
                    found[name] = component
        return found

    def opted_out(self, name: str) -> bool:
        return name in self.opt_outs()

    def environment(self) -> str | None:
        for component in self.platform_components():
            value = component.get("environment")
            if isinstance(value, str):
                return value
        return None


ResourceCheck = Callable[[Resource, Mapping[str, Any]], Iterable[str]]
"""A check yields one message per violated condition of its rule on one resource."""

Fix = Callable[[Resource, Mapping[str, Any]], "dict[str, Any] | None"]
"""A remediation: the resource's inputs with the fix applied (a new dict), or None where no fix is safe.

It gets a plain copy of the inputs (``resource.props``), so it may build on it. The framework
keeps a fix only if the rule's own checks pass on the fixed inputs (:func:`build_policies`).
"""

StackCheck = Callable[[Stack, Mapping[str, Any]], Iterable[Violation]]
"""A stack check yields violations, each naming the resource it concerns."""


@dataclass(frozen=True)
class ComplianceFramework:
    """A published benchmark or framework that checklist items map to (a CIS Benchmark, a Well-Architected pillar)."""

    key: str
    """Short and stable, for policy tags: ``cis-aws``, ``aws-wa-security``."""
    name: str
    version: str
    url: str


@dataclass(frozen=True)
class Controls:
    """Where a rule sits in one framework: its control ids there, or none when it maps to the framework as a whole."""

    framework: ComplianceFramework
    ids: tuple[str, ...] = ()

    def tags(self) -> list[str]:
        return [f"framework:{self.framework.key}", *(f"{self.framework.key}:{i}" for i in self.ids)]

    def policy_framework(self) -> PolicyComplianceFramework:
        return PolicyComplianceFramework(
            name=self.framework.name,
            version=self.framework.version or None,
            reference=", ".join(self.ids) or None,
            specification=self.framework.url,
        )


@dataclass(frozen=True)
class Rule:
    """One checklist item: the metadata every policy carries, and its config schema."""

    name: str
    description: str
    severity: Severity
    enforcement: EnforcementLevel
    remediation: str
    scope: Literal["resource", "stack"] = "resource"
    config: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """JSON-schema properties of the rule's config; each has a ``default``."""
    opt_out: str | None = None
    """The named stack opt-out (``insecure.<name>``) that waives this stack rule; ``insecure-opt-outs`` reports it."""
    topic: str = ""
    """What the rule protects (``network``, ``encryption``, ``identity``, ``logging``, ...): a policy tag."""
    frameworks: tuple[Controls, ...] = ()
    """The compliance frameworks the checklist item maps to, most specific first (CIS controls, then pillars)."""

    def tags(self) -> list[str]:
        """The policy's tags: ``topic:<topic>``, then ``framework:<key>`` and ``<key>:<control id>`` per mapping."""
        return [*([f"topic:{self.topic}"] if self.topic else []), *(t for c in self.frameworks for t in c.tags())]

    def defaults(self) -> dict[str, Any]:
        return {key: schema["default"] for key, schema in self.config.items() if "default" in schema}


class CheckSet:
    """The checks one target (or the cross-target module) contributes, by rule name.

    Usage::

        checks = CheckSet("aws")

        @checks.resource("encryption-at-rest", "aws:sqs/queue:Queue")
        def sqs_encrypted(r, config): ...

        @checks.stack("waf-on-entry-points")
        def albs_have_waf(stack, config): ...

    ``facts`` hold predicates that cross-target rules ask every target for (``"budget"``,
    ``"latency-alert"``, ``"error-alert"``).
    """

    def __init__(self, target: str) -> None:
        self.target = target
        self.resource_checks: dict[str, dict[str, list[ResourceCheck]]] = {}
        self.stack_checks: dict[str, list[StackCheck]] = {}
        self.facts: dict[str, list[Callable[[Resource], bool]]] = {}
        self.waivers: dict[str, set[str]] = {}
        self.fixes: dict[str, dict[str, list[Fix]]] = {}

    def waive(self, rule: str, *opt_outs: str) -> None:
        """Let each named opt-out waive the conditions of ``rule`` whose checks yield a
        :class:`Waivable` with that name (a target declares its own, beside its checks).

        A resource policy cannot see the stack's platform component (where the opt-outs are
        recorded), so a resource rule with waivers runs its checks from a stack policy, over every
        resource; a stack rule's check waives a condition by making its :class:`Violation`'s
        message a :class:`Waivable`. The ``insecure-opt-outs`` rule reports each opt-out in force."""
        self.waivers.setdefault(rule, set()).update(opt_outs)

    def resource(self, rule: str, *types: str) -> Callable[[ResourceCheck], ResourceCheck]:
        """Register a check for these type tokens; ``"<package>:*"`` matches every type of a package."""
        return _per_type(self.resource_checks, "check", rule, types)

    def stack(self, rule: str) -> Callable[[StackCheck], StackCheck]:
        def register(fn: StackCheck) -> StackCheck:
            self.stack_checks.setdefault(rule, []).append(fn)
            return fn

        return register

    def remediation(self, rule: str, *types: str) -> Callable[[Fix], Fix]:
        """Register a safe fix of a resource rule for these type tokens (``"<package>:*"`` as for checks).

        The rule's ``remediate`` enforcement level is accepted only where a fix is registered.
        """
        return _per_type(self.fixes, "remediation", rule, types)

    def fact(self, name: str) -> Callable[[Callable[[Resource], bool]], Callable[[Resource], bool]]:
        def register(fn: Callable[[Resource], bool]) -> Callable[[Resource], bool]:
            self.facts.setdefault(name, []).append(fn)
            return fn

        return register


def rule_waivers(check_sets: Iterable[CheckSet]) -> dict[str, frozenset[str]]:
    """Each rule's waivers, from every target's :meth:`CheckSet.waive`."""
    found: dict[str, set[str]] = {}
    for cs in check_sets:
        for rule, names in cs.waivers.items():
            found.setdefault(rule, set()).update(names)
    return {rule: frozenset(names) for rule, names in found.items()}


F = TypeVar("F")


def _per_type(table: dict[str, dict[str, list[F]]], what: str, rule: str, types: tuple[str, ...]) -> Callable[[F], F]:
    """A decorator registering a function of ``rule`` under each type token."""
    if not types:
        raise ValueError(f"{what} for {rule!r} names no resource types")

    def register(fn: F) -> F:
        by_type = table.setdefault(rule, {})
        for token in types:
            by_type.setdefault(token, []).append(fn)
        return fn

    return register


def merged_facts(check_sets: Iterable[CheckSet], name: str) -> list[Callable[[Resource], bool]]:
    return [fn for cs in check_sets for fn in cs.facts.get(name, [])]


def _config(rule: Rule, configured: Mapping[str, Any] | None) -> dict[str, Any]:
    merged = rule.defaults()
    if configured:
        # config crosses the protocol as a Struct too: whole numbers read as ints again
        merged.update({k: plain(v) for k, v in configured.items() if k != "enforcementLevel"})
    return merged


def run_resource_checks(
    checks: Iterable[ResourceCheck], resource: Resource, config: Mapping[str, Any]
) -> Iterator[str]:
    """Run checks, skipping one (not the rest) when it needs a value unknown during preview."""
    skipped: list[str] = []
    for check in checks:
        try:
            yield from check(resource, config)
        except _SkipCheck as skip:
            skipped.append(skip.path)
        except UnknownValueError as error:
            skipped.append(".".join(error.props))
    if skipped:
        raise UnknownValueError(UNKNOWN_STRING_VALUE, [", ".join(p for p in skipped if p) or "(a property)"])


def run_stack_checks(checks: Iterable[StackCheck], stack: Stack, config: Mapping[str, Any]) -> Iterator[Violation]:
    for check in checks:
        try:
            yield from check(stack, config)
        except (_SkipCheck, UnknownValueError):
            continue


def resource_view(args: ResourceValidationArgs) -> Resource:
    return Resource(type=args.resource_type, props=once(plain, args.props), urn=args.urn, name=args.name)


def stack_view(args: StackValidationArgs) -> Stack:
    """The stack as the checks see it; built once per AnalyzeStack request and shared by its policies."""
    memo = request_memo()
    if memo is not None and "stack-view" in memo:
        return memo["stack-view"]
    resources = []
    for r in args.resources:
        resources.append(
            Resource(
                type=r.resource_type,
                props=once(plain, r.props),
                urn=r.urn,
                name=r.name,
                parent=r.parent.urn if r.parent is not None else None,
                dependencies=tuple(d.urn for d in r.dependencies),
                property_dependencies={k: [d.urn for d in v] for k, v in r.property_dependencies.items()},
            )
        )
    stack = Stack(resources)
    if memo is not None:
        memo["stack-view"] = stack
    return stack


def _schema(rule: Rule) -> PolicyConfigSchema | None:
    if not rule.config:
        return None
    return PolicyConfigSchema(properties={k: dict(v) for k, v in rule.config.items()})


_NAME = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


def build_policies(rules: Sequence[Rule], check_sets: Sequence[CheckSet]) -> list[Policy]:
    """One pulumi_policy policy per rule, dispatching to the checks every target registered."""
    by_name = {rule.name: rule for rule in rules}
    waivers = rule_waivers(check_sets)
    for cs in check_sets:
        for name in (*cs.resource_checks, *cs.stack_checks, *cs.waivers):
            if name not in by_name:
                raise ValueError(f"{cs.target} registers checks for unknown rule {name!r}; rules: {sorted(by_name)}")
            scope = by_name[name].scope
            if (name in cs.resource_checks and scope != "resource") or (name in cs.stack_checks and scope != "stack"):
                raise ValueError(f"{cs.target} registers {name!r} checks of the wrong scope (it is {scope}-level)")
        for name in cs.fixes:
            if name not in by_name or by_name[name].scope != "resource":
                raise ValueError(f"{cs.target} registers a remediation for {name!r}, which is not a resource rule")
    policies: list[Policy] = []
    for rule in rules:
        if not _NAME.match(rule.name):
            raise ValueError(f"rule name {rule.name!r} must be kebab-case")
        common = {
            "name": rule.name,
            "description": rule.description,
            "enforcement_level": rule.enforcement,
            "config_schema": _schema(rule),
            "severity": rule.severity,
            "remediation_steps": rule.remediation,
            # the protocol carries one framework per policy: the most specific mapping; the tags carry them all
            "framework": rule.frameworks[0].policy_framework() if rule.frameworks else None,
            "tags": rule.tags() or None,
        }
        if rule.scope == "resource":
            dispatch = _by_type(cs.resource_checks.get(rule.name, {}) for cs in check_sets)
            fixes = _by_type(cs.fixes.get(rule.name, {}) for cs in check_sets)
            if rule.name in waivers:
                if fixes:
                    raise ValueError(f"{rule.name} has both waivers and remediations; a stack policy cannot remediate")
                validate = _waivable_validator(rule, dispatch, waivers[rule.name])
                policies.append(PerResourcePolicy(validate=validate, **common))
            else:
                policies.append(
                    ResourceValidationPolicy(
                        validate=_resource_validator(rule, dispatch),
                        remediate=_remediator(rule, dispatch, fixes) if fixes else None,
                        **common,
                    )
                )
        else:
            stack_fns = [fn for cs in check_sets for fn in cs.stack_checks.get(rule.name, [])]
            validate = _stack_validator(rule, stack_fns, waivers.get(rule.name, frozenset()))
            policies.append(StackValidationPolicy(validate=validate, **common))
    return policies


def _by_type(registries: Iterable[Mapping[str, list[Any]]]) -> dict[str, list[Any]]:
    """One dispatch table (type token -> functions, in check-set order) from every target's registrations."""
    merged: dict[str, list[Any]] = {}
    for registry in registries:
        for token, fns in registry.items():
            merged.setdefault(token, []).extend(fns)
    return merged


def _for_type(dispatch: Mapping[str, list[Any]], token: str) -> list[Any]:
    return [*dispatch.get(token, ()), *dispatch.get(token.split(":", 1)[0] + ":*", ())]


def _revealed(value: Any) -> Any:
    """Inputs with secrets as their plaintext, as ``Analyze`` hands them to checks (``Remediate`` keeps them
    wrapped so that a fix does not turn a secret into plaintext)."""
    if isinstance(value, Secret):
        return _revealed(value.value)
    if isinstance(value, dict):
        return {k: _revealed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_revealed(v) for v in value]
    return value


def _raw(props: Any) -> Any:
    """The dict behind ``Remediate``'s proxies (unknown-checking around secrets-preserving), secrets still wrapped."""
    while isinstance(props, Mapping) and not isinstance(props, dict):
        props = props["__target"]
    return props


def _passes(checks: Sequence[ResourceCheck], resource: Resource, config: Mapping[str, Any]) -> bool | None:
    """Whether the checks find nothing on ``resource``; None when they cannot tell (values unknown in preview)."""
    view = replace(resource, props=_revealed(resource.props), _memo={})
    try:
        return not any(True for _ in run_resource_checks(checks, view, config))
    except UnknownValueError:
        return None


def _remediator(rule: Rule, dispatch: Mapping[str, list[ResourceCheck]], fixes: Mapping[str, list[Fix]]):
    """The policy's ``remediate``: apply the fixes for the resource's type, and return the fixed inputs only if
    the rule's checks fail before and pass after (a fix that would leave a violation is not applied)."""

    def remediate(args: ResourceValidationArgs) -> dict[str, Any] | None:
        token = args.resource_type
        checks, fns = _for_type(dispatch, token), _for_type(fixes, token)
        if not checks or not fns:
            return None
        config = _config(rule, args.get_config())
        original = Resource(
            type=token, props=plain(_raw(args.props)), urn=args.urn, name=args.name, stack_tags=dict(args.stack_tags)
        )
        if _passes(checks, original, config) is not False:
            return None
        fixed = original
        for fix in fns:
            try:
                props = fix(fixed, config)
            except (_SkipCheck, UnknownValueError):
                return None  # the fix needs a value unknown during preview
            if props is not None:
                fixed = replace(fixed, props=props, _memo={})
        if fixed is original or not _passes(checks, fixed, config):
            return None
        return dict(fixed.props)

    return cast(ResourceRemediation, remediate)  # typed as awaitable; the SDK's Remediate takes a plain result too


def _resource_validator(rule: Rule, dispatch: Mapping[str, list[ResourceCheck]]):
    def validate(args: ResourceValidationArgs, report: ReportViolation) -> None:
        checks = _for_type(dispatch, args.resource_type)
        if not checks:
            return
        config = _config(rule, args.get_config())
        resource = resource_view(args)
        for message in run_resource_checks(checks, resource, config):
            report(message, None)

    return validate


class PerResourcePolicy(StackValidationPolicy):
    """A resource rule with named waivers, run over every resource of the stack (see :meth:`CheckSet.waive`)."""


def _waived(message: str, waived: frozenset[str]) -> bool:
    """Whether a check's message is a condition one of the stack's opt-outs in force waives."""
    return isinstance(message, Waivable) and message.opt_out in waived


def _waivable_validator(rule: Rule, dispatch: Mapping[str, list[ResourceCheck]], waivers: frozenset[str]):
    def validate(args: StackValidationArgs, report: ReportViolation) -> None:
        config = _config(rule, args.get_config())
        stack = stack_view(args)
        waived = waivers & set(stack.opt_outs())
        unknown: list[UnknownValueError] = []
        for resource in stack.resources:
            checks = _for_type(dispatch, resource.type)
            if not checks:
                continue
            try:
                for message in run_resource_checks(checks, resource, config):
                    if not _waived(message, waived):
                        report(message, resource.urn)
            except UnknownValueError as error:
                unknown.append(error)  # the other resources are still checked
        if unknown:
            # the SDK's "can't run during preview" note, as the rule gave it when it was a resource policy
            paths = ", ".join(".".join(error.props) for error in unknown)
            raise unknown[0] if len(unknown) == 1 else UnknownValueError(UNKNOWN_STRING_VALUE, [paths])

    return validate


def _stack_validator(rule: Rule, checks: Sequence[StackCheck], waivers: frozenset[str] = frozenset()):
    def validate(args: StackValidationArgs, report: ReportViolation) -> None:
        if not checks:
            return
        config = _config(rule, args.get_config())
        stack = stack_view(args)
        if rule.opt_out and stack.opted_out(rule.opt_out):
            return
        waived = waivers & set(stack.opt_outs())
        for violation in run_stack_checks(checks, stack, config):
            if not _waived(violation.message, waived):
                report(violation.message, violation.urn)

    return validate
