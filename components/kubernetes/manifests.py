"""The planned Kubernetes objects as YAML manifests (``ai-platform plan STACK --manifests DIR``).

Each object is written as the provider would send it to the API server: ``apiVersion``, ``kind``,
``metadata`` and the rest of its inputs. Secret values never reach the files: a field the plan
masks as a Pulumi secret is left out and named in the ``ai-platform/redacted`` annotation, so
the objects still validate against the Kubernetes schemas and show everything else.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from components.testing import SECRET_MARKER, Graph

REDACTED = "ai-platform/redacted"


def objects(graph: Graph) -> list[dict[str, Any]]:
    """Every Kubernetes object of the plan, in registration (creation) order."""
    found = []
    for resource in graph.resources:
        if not resource.custom or not resource.type.startswith("kubernetes:"):
            continue
        inputs = dict(resource.inputs)
        redacted = sorted(key for key, value in inputs.items() if value == SECRET_MARKER)
        body = {key: value for key, value in inputs.items() if key not in redacted}
        metadata = dict(body.pop("metadata", {}) or {})
        if redacted:
            metadata["annotations"] = {**(metadata.get("annotations") or {}), REDACTED: ",".join(redacted)}
        found.append({"apiVersion": body.pop("apiVersion"), "kind": body.pop("kind"), "metadata": metadata, **body})
    return found


def write(graph: Graph, directory: Path) -> list[Path]:
    """One file per object, numbered in creation order (``03-deployment-ai-platform-api.yaml``)."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for index, obj in enumerate(objects(graph), 1):
        path = directory / f"{index:02d}-{obj['kind'].lower()}-{obj['metadata'].get('name', 'unnamed')}.yaml"
        path.write_text(yaml.safe_dump(obj, sort_keys=False))
        written.append(path)
    return written
