"""Offline answers for docker-build images, whatever the target: a digest made from the build's
inputs (stable between runs) and the pinned reference in the first tag's repository."""

from __future__ import annotations

import json
from typing import Any

from components.testing.outputs import stable_suffix


def resource_outputs(type_token: str, name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    digest = "sha256:" + stable_suffix(json.dumps(inputs, sort_keys=True, default=str), length=64)
    tags = inputs.get("tags") or ["registry.invalid/app:latest"]
    repository = str(tags[0]).rsplit(":", 1)[0]
    return f"{name}-{stable_suffix(type_token, name)}", {"digest": digest, "ref": f"{repository}@{digest}"}


def call_result(token: str, args: dict[str, Any]) -> dict[str, Any]:
    raise NotImplementedError(f"no offline answer for the docker-build function {token}")
