"""Offline answers for Kubernetes objects: what the API server returns for a new object.

An object keeps its inputs; the server fills in ``metadata.name`` (Pulumi auto-names it when the
program does not), ``metadata.namespace`` for namespaced kinds (``default`` when unset) and a uid.
The blocks call no provider functions.
"""

from __future__ import annotations

import json
from typing import Any

from components.testing.outputs import stable_suffix

#: kinds that are not namespaced (the ones this library creates)
CLUSTER_SCOPED = {"Namespace", "ClusterIssuer"}


def resource_outputs(type_token: str, name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    if type_token.startswith("pulumi:providers:"):
        return f"{name}-{stable_suffix(type_token, name)}", {}
    kind = type_token.rsplit(":", 1)[-1]
    metadata = dict(inputs.get("metadata") or {})
    metadata.setdefault("name", f"{name}-{stable_suffix(type_token, name)}")
    uid = stable_suffix(type_token, name, length=32)
    metadata["uid"] = f"{uid[:8]}-{uid[8:12]}-{uid[12:16]}-{uid[16:20]}-{uid[20:]}"
    if kind in CLUSTER_SCOPED:
        return metadata["name"], {"metadata": metadata}
    metadata.setdefault("namespace", "default")
    return f"{metadata['namespace']}/{metadata['name']}", {"metadata": metadata}


def call_result(token: str, args: dict[str, Any]) -> dict[str, Any]:
    raise NotImplementedError(f"no offline answer for the Kubernetes function {token}; add one to {__name__}")


def planned_app_settings(graph: Any) -> tuple[dict[str, str], list[str], int]:
    """The app's plain environment (its ConfigMap, read through envFrom), the variables read from
    Secrets, and the container port, as the planned Deployment gives them."""
    (container,) = [
        c
        for deployment in graph.of_type("kubernetes:apps/v1:Deployment")
        for c in deployment.inputs["spec"]["template"]["spec"]["containers"]
        if not c.get("command")  # the API runs the image's entrypoint; the worker has its own command
    ]
    environment: dict[str, str] = {}
    maps = {r.inputs["metadata"]["name"]: r for r in graph.of_type("kubernetes:core/v1:ConfigMap")}
    for source in container.get("envFrom", []):
        environment.update(maps[source["configMapRef"]["name"]].inputs["data"])
    secrets = []
    for variable in container.get("env", []):
        if "secretKeyRef" in variable.get("valueFrom", {}):
            secrets.append(variable["name"])
        else:
            environment[variable["name"]] = variable["value"]
    if any(not isinstance(value, str) for value in environment.values()):
        raise AssertionError(f"non-string settings: {json.dumps(environment)}")
    return environment, secrets, container["ports"][0]["containerPort"]
