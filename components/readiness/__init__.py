"""Deploy-readiness checks over a planned graph: what the mock runtime cannot see by itself.

A plan (``components.testing.plan``) shows every resource and its inputs, but not whether the
first ``pulumi up`` can succeed: whether a resource waits for what it needs, or whether one
service may use another's key. An :class:`Invariant` is one such rule, written once as a function
of the graph that returns :class:`Finding` s naming the resources and what to change;
:func:`check` runs a list of them. The cloud-neutral invariants live here (``GENERIC``); each
target adds its own (``components/<target>/readiness.py``: ``INVARIANTS``).

Creation order comes from the graph itself: the engine creates a resource only after everything
in its ``dependencies`` and ``property_dependencies``, and the mock runtime records resources in
the order they were registered, which is after those. :class:`Order` answers "does A wait for B".
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from functools import cached_property

from components.testing import Graph, GraphResource


@dataclass(frozen=True)
class Finding:
    """One problem: which invariant, which resources (names), and what to change."""

    resources: tuple[str, ...]
    message: str
    invariant: str = ""

    def __str__(self) -> str:
        return f"[{self.invariant}] {self.message}"


CheckFunction = Callable[["Order"], Iterable[Finding]]


@dataclass(frozen=True)
class Invariant:
    """A named rule over the graph; its docstring (the check's) says why it matters."""

    name: str
    run: CheckFunction

    @property
    def doc(self) -> str:
        return (self.run.__doc__ or "").strip()


def invariant(name: str) -> Callable[[CheckFunction], Invariant]:
    """Decorator: ``@invariant("name")`` over ``def check(order) -> Iterable[Finding]`` (with a docstring)."""

    def wrap(function: CheckFunction) -> Invariant:
        if not (function.__doc__ or "").strip():
            raise ValueError(f"invariant {name!r} needs a docstring saying why it matters")
        return Invariant(name, function)

    return wrap


def finding(*resources: GraphResource, message: str) -> Finding:
    return Finding(tuple(r.name for r in resources), message)


class Order:
    """The graph with its creation order: registration position and what each resource waits for."""

    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self.by_urn: dict[str, GraphResource] = {r.urn: r for r in graph.resources}
        self.position: dict[str, int] = {r.urn: i for i, r in enumerate(graph.resources)}

    @staticmethod
    def direct(resource: GraphResource) -> set[str]:
        """URNs ``resource`` waits for directly: its dependencies and property dependencies."""
        urns = set(resource.dependencies)
        for deps in resource.property_dependencies.values():
            urns.update(deps)
        return urns

    @cached_property
    def _closure(self) -> dict[str, frozenset[str]]:
        closure: dict[str, frozenset[str]] = {}
        # registration order puts every dependency first, so one pass in that order suffices
        # (a dependency registered later is itself a finding of ``dependencies_come_first``)
        for resource in self.graph.resources:
            found: set[str] = set()
            for urn in self.direct(resource):
                found.add(urn)
                found.update(closure.get(urn, ()))
            closure[resource.urn] = frozenset(found)
        return closure

    def waits_for(self, resource: GraphResource, other: GraphResource) -> bool:
        """True when ``resource`` is created only after ``other`` (directly or through others)."""
        return other.urn in self._closure.get(resource.urn, frozenset())

    def referenced(self, resource: GraphResource, key: str, type_token: str | None = None) -> list[GraphResource]:
        """The resources whose outputs input ``key`` of ``resource`` was made from (of ``type_token``)."""
        found = [self.by_urn[u] for u in resource.property_dependencies.get(key, []) if u in self.by_urn]
        return [r for r in found if type_token is None or r.type == type_token]

    def referencing(self, type_token: str, key: str, target: GraphResource) -> list[GraphResource]:
        """Resources of ``type_token`` whose input ``key`` was made from ``target``'s outputs."""
        return [r for r in self.graph.of_type(type_token) if target.urn in r.property_dependencies.get(key, [])]


@invariant("dependencies-come-first")
def dependencies_come_first(order: Order) -> Iterable[Finding]:
    """Nothing depends on a resource created after it, or on one the program does not create:
    the engine would wait forever or fail with an unknown URN."""
    for resource in order.graph.resources:
        here = order.position[resource.urn]
        for urn in sorted(Order.direct(resource)):
            other = order.by_urn.get(urn)
            if other is None:
                yield Finding(
                    (resource.name,),
                    f"{resource.name} ({resource.type}) depends on {urn}, which is not in the graph: "
                    "create it in this program or drop the dependency",
                )
            elif order.position[urn] >= here:
                yield finding(
                    resource,
                    other,
                    message=f"{resource.name} depends on {other.name}, which is registered after it: "
                    f"create {other.name} first",
                )


#: the cloud-neutral invariants, run for every target
GENERIC: tuple[Invariant, ...] = (dependencies_come_first,)


def check(graph: Graph, invariants: Sequence[Invariant]) -> list[Finding]:
    """Every finding of ``invariants`` on ``graph`` (empty when the graph is ready to deploy)."""
    order = Order(graph)
    return [replace(f, invariant=rule.name) for rule in invariants for f in rule.run(order)]
