"""The plugin as the Pulumi CLI starts it: ``provider/__main__.py`` run by Python with an engine
address serves the package over gRPC, and its ``GetSchema`` answer (what ``pulumi package
get-schema`` prints) is the checked-in schema."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from pulumi.runtime.proto import provider_pb2, provider_pb2_grpc

from tests.package.conftest import ROOT


@pytest.fixture
def plugin() -> Iterator[provider_pb2_grpc.ResourceProviderStub]:
    """The plugin process (it prints the port it listens on, on 127.0.0.1), stopped afterwards."""
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "provider"), "127.0.0.1:1"],  # the engine is not called for GetSchema
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT / "provider",
    )
    try:
        assert process.stdout is not None
        port = process.stdout.readline().strip()
        if not port.isdigit():
            process.kill()
            pytest.fail(f"the plugin did not start: {port!r} {process.communicate(timeout=30)[1]}")
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            yield provider_pb2_grpc.ResourceProviderStub(channel)
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_running_plugin_serves_the_checked_in_schema(
    plugin: provider_pb2_grpc.ResourceProviderStub, schema: dict[str, Any]
) -> None:
    response = plugin.GetSchema(provider_pb2.GetSchemaRequest(version=0), timeout=120)
    assert json.loads(response.schema) == schema
