"""Draw the architecture from a planned graph: one box per building block, the path from
the internet through the gateway to the app and on to the data stores, all inside the
private network. Edges come from the graph's real dependencies, not from a fixed picture.

Rendering uses Graphviz's ``dot`` (Debian package ``graphviz``) through pydot.
"""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

from components.testing import STACK_TYPE, Graph, GraphResource

#: building-block role by the last part of its component type token
ROLES = {
    "Gateway": "edge",
    "RestApi": "edge",
    "ContainerService": "compute",
    "Function": "compute",
    "Cache": "data",
    "VectorStore": "data",
    "Queue": "data",
    "SecretStore": "data",
    "Registry": "supply",
    "Observability": "ops",
    "Network": "network",
}
_FLOW = {("edge", "compute"), ("compute", "data"), ("supply", "compute")}
#: what flows along an edge into a block of this kind
_EDGE_LABELS = {
    "ContainerService": "HTTP (private)",
    "Function": "invoke (proxy event)",
    "Cache": "cache (TLS)",
    "VectorStore": "vector DB (TLS)",
    "Queue": "queue",
    "SecretStore": "secrets",
    "Registry": "image",
}
_COLOURS = {
    "edge": "#fde2e2",
    "compute": "#e2ecfd",
    "data": "#e6f5e1",
    "supply": "#f3e8fd",
    "ops": "#fff4d6",
    "network": "#f2f2f2",
}


def _role(resource: GraphResource) -> str | None:
    return ROLES.get(resource.type.rsplit(":", 1)[-1]) if not resource.custom else None


def _short(type_token: str) -> str:
    return type_token.rsplit(":", 1)[-1]


def to_dot(graph: Graph) -> str:
    """The diagram as Graphviz source (deterministic, so it can be reviewed in a diff)."""
    blocks = [r for r in graph.resources if _role(r) is not None]
    owner: dict[str, GraphResource] = {}
    for block in blocks:
        owner[block.urn] = block
    by_urn = {r.urn: r for r in graph.resources}
    for resource in graph.resources:
        parent = resource.parent
        while parent is not None and parent not in owner and parent in by_urn:
            parent = by_urn[parent].parent
        if parent in owner and resource.urn not in owner:
            owner[resource.urn] = owner[parent]

    contents: dict[str, Counter[str]] = {b.urn: Counter() for b in blocks}
    links: set[tuple[str, str]] = set()
    for resource in graph.resources:
        block = owner.get(resource.urn)
        if block is None or resource.type == STACK_TYPE:
            continue
        if resource.custom:
            contents[block.urn][_short(resource.type)] += 1
        for dependency in resource.dependencies:
            other = owner.get(dependency)
            if other is not None and other.urn != block.urn:
                links.add((other.urn, block.urn))

    def node_id(block: GraphResource) -> str:
        return "n" + str(blocks.index(block))

    def label(block: GraphResource) -> str:
        items = "\\l".join(f"{count} x {name}" for name, count in sorted(contents[block.urn].items()))
        return f"{_short(block.type)}\\n{block.name}\\n\\n{items}\\l"

    lines = [
        "digraph architecture {",
        '  graph [rankdir=LR, fontname="Helvetica", fontsize=12, nodesep=0.4, ranksep=0.9];',
        '  node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=10];',
        '  edge [fontname="Helvetica", fontsize=9];',
        f'  label="{graph.project} / {graph.stack} ({graph.cloud or "?"}): {len(graph.resources) - 1} resources";',
        '  internet [label="Internet\\nclients", shape=ellipse, fillcolor="#ffffff"];',
    ]
    network = [b for b in blocks if _role(b) == "network"]
    inside = [b for b in blocks if _role(b) in {"compute", "data"}]
    outside = [b for b in blocks if _role(b) not in {"compute", "data", "network"}]
    for block in outside:
        lines.append(f'  {node_id(block)} [label="{label(block)}", fillcolor="{_COLOURS[_role(block) or "ops"]}"];')
    if network:
        lines.append("  subgraph cluster_network {")
        items = sorted(contents[network[0].urn].items())
        rows = [", ".join(f"{count} x {name}" for name, count in items[i : i + 6]) for i in range(0, len(items), 6)]
        network_label = "\\n".join([f"Network {network[0].name}", *rows])
        lines.append(f'    label="{network_label}";')
        lines.append('    style="rounded,dashed"; color="#888888"; fontsize=9;')
    for block in inside:
        lines.append(f'    {node_id(block)} [label="{label(block)}", fillcolor="{_COLOURS[_role(block) or "data"]}"];')
    if network:
        lines.append("  }")
    for block in blocks:
        if _role(block) == "edge":
            lines.append(f'  internet -> {node_id(block)} [label="HTTPS"];')
    ordered = {b.urn: b for b in blocks}
    edges: dict[tuple[str, str], str] = {}
    for source_urn, target_urn in sorted(links):
        source, target = ordered.get(source_urn), ordered.get(target_urn)
        if source is None or target is None:
            continue
        roles = (_role(source), _role(target))
        if (roles[1], roles[0]) in _FLOW:
            source, target, roles = target, source, (roles[1], roles[0])
        if roles in _FLOW:
            flow = _EDGE_LABELS.get(_short(target.type), "")
            if roles == ("supply", "compute"):
                flow = _EDGE_LABELS["Registry"]
            edges[(node_id(source), node_id(target))] = f'[label="{flow}"]'
        elif "ops" in roles and "network" not in roles:
            ops, other = (source, target) if roles[0] == "ops" else (target, source)
            if _short(other.type) != "SecretStore":  # that dependency is the KMS key, not monitoring
                edges[(node_id(ops), node_id(other))] = '[style=dashed, label="alarms", color="#b08800"]'
    lines += [f"  {a} -> {b} {attributes};" for (a, b), attributes in sorted(edges.items())]
    lines.append("}")
    return "\n".join(lines) + "\n"


def write_diagram(graph: Graph, path: Path) -> None:
    """Write ``path`` as SVG or PNG (by its suffix), or as Graphviz source for ``.dot``."""
    source = to_dot(graph)
    suffix = path.suffix.lower().lstrip(".")
    if suffix == "dot":
        path.write_text(source)
        return
    if suffix not in {"svg", "png"}:
        raise ValueError(f"--diagram {path}: use a .svg, .png or .dot file name")
    if shutil.which("dot") is None:
        raise RuntimeError("drawing needs Graphviz's `dot` on PATH (Debian: apt-get install graphviz)")
    import pydot

    (dot_graph,) = pydot.graph_from_dot_data(source) or [None]
    if dot_graph is None:
        raise RuntimeError("internal error: the generated Graphviz source did not parse")
    rendered = dot_graph.create(format=suffix)
    path.write_bytes(rendered if isinstance(rendered, bytes) else rendered.encode())
