"""Local mock-runtime fixture for the data-store, secrets and observability block tests.

It offers the same shape as the shared harness (``plan(program) -> Graph``, records with
``.type``, ``.name``, ``.inputs`` in wire-format camelCase with secrets shown as
``"[secret]"``) so the tests can move to ``components.testing`` by changing one import.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pulumi
from pulumi.runtime import rpc

ACCOUNT = "123456789012"
REGION = "eu-west-1"
PARTITION = "aws"
SECRET = "[secret]"


@dataclass
class Record:
    type: str
    name: str
    inputs: dict[str, Any]
    """Wire-format (camelCase) inputs: decoded JSON, hence ``Any``."""
    outputs: dict[str, Any] = field(default_factory=dict)
    id: str = ""

    def policy(self, key: str = "policy") -> dict[str, Any]:
        """The JSON policy document in input ``key``, parsed."""
        value = self.inputs[key]
        assert isinstance(value, str), f"{self.name}.{key} is not a JSON string: {value!r}"
        return json.loads(value)


@dataclass
class Graph:
    resources: list[Record]

    def of_type(self, type_: str) -> list[Record]:
        return [r for r in self.resources if r.type == type_]

    def one(self, type_: str) -> Record:
        found = self.of_type(type_)
        assert len(found) == 1, f"expected one {type_}, found {[r.name for r in found]}"
        return found[0]

    def named(self, name: str) -> Record:
        found = [r for r in self.resources if r.name == name]
        assert len(found) == 1, f"expected one resource named {name}, found {len(found)}"
        return found[0]


def _redact(value: object) -> object:
    if isinstance(value, dict):
        if value.get(rpc._special_sig_key) == rpc._special_secret_sig:
            return SECRET
        return {k: _redact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact(v) for v in value]
    return value


def _arn(service: str, resource: str, region: str = REGION) -> str:
    return f"arn:{PARTITION}:{service}:{region}:{ACCOUNT}:{resource}"


def _outputs(typ: str, name: str, inputs: dict[str, object]) -> tuple[str, dict[str, object]]:
    """Realistic ids and computed attributes for the resource types these blocks read."""
    out = dict(inputs)
    rid = f"{name}-id"
    if typ == "aws:kms/key:Key":
        rid = "1234abcd-12ab-34cd-56ef-1234567890ab"
        out.update(arn=_arn("kms", f"key/{rid}"), keyId=rid)
    elif typ == "aws:secretsmanager/secret:Secret":
        rid = _arn("secretsmanager", f"secret:{name}-AbCdEf")
        out.update(arn=rid, name=name)
    elif typ == "aws:ec2/securityGroup:SecurityGroup":
        rid = f"sg-{zlib.crc32(name.encode()):08x}"
        out.update(arn=_arn("ec2", f"security-group/{rid}"))
    elif typ == "aws:elasticache/replicationGroup:ReplicationGroup":
        rid = f"{name}-abc1234"
        count = int(float(str(inputs.get("numCacheClusters", 1))))
        out.update(
            arn=_arn("elasticache", f"replicationgroup:{rid}"),
            replicationGroupId=rid,
            primaryEndpointAddress=f"master.{rid}.abcdef.euw1.cache.amazonaws.com",
            readerEndpointAddress=f"replica.{rid}.abcdef.euw1.cache.amazonaws.com",
            memberClusters=[f"{rid}-{i:03d}" for i in range(1, count + 1)],
        )
    elif typ == "aws:rds/cluster:Cluster":
        rid = f"{name}-abc1234"
        out.update(
            arn=_arn("rds", f"cluster:{rid}"),
            clusterIdentifier=rid,
            clusterResourceId="cluster-ABCDEFGHIJKLMNOPQRSTUVWXY",
            endpoint=f"{rid}.cluster-abcdef.{REGION}.rds.amazonaws.com",
            readerEndpoint=f"{rid}.cluster-ro-abcdef.{REGION}.rds.amazonaws.com",
            masterUserSecrets=[
                {
                    "kmsKeyId": inputs.get("masterUserSecretKmsKeyId"),
                    "secretArn": _arn("secretsmanager", f"secret:rds!cluster-{rid}-AbCdEf"),
                    "secretStatus": "active",
                }
            ],
        )
    elif typ == "aws:rds/clusterInstance:ClusterInstance":
        rid = f"{name}-abc1234"
        out.update(arn=_arn("rds", f"db:{rid}"), identifier=rid)
    elif typ == "aws:sns/topic:Topic":
        rid = _arn("sns", f"{name}-abc1234")
        out.update(arn=rid, name=f"{name}-abc1234")
    elif typ == "aws:cloudwatch/metricAlarm:MetricAlarm":
        out.update(arn=_arn("cloudwatch", f"alarm:{name}-abc1234"), name=f"{name}-abc1234")
    elif typ == "aws:cloudwatch/logGroup:LogGroup":
        out.update(arn=_arn("logs", f"log-group:{name}-abc1234"), name=f"{name}-abc1234")
    elif typ == "aws:cloudwatch/dashboard:Dashboard":
        rid = str(inputs.get("dashboardName", name))
    elif typ == "aws:budgets/budget:Budget":
        rid = f"{ACCOUNT}:{inputs.get('name', name)}"
    return rid, out


class _Mocks(pulumi.runtime.Mocks):
    def __init__(self) -> None:
        self.records: list[Record] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict]:
        inputs = {k: _redact(v) for k, v in args.inputs.items()}
        plain = {k: v for k, v in args.inputs.items()}
        rid, outputs = _outputs(args.typ, args.name, plain)
        self.records.append(Record(args.typ, args.name, inputs, outputs, rid))
        return rid, outputs

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict, list[tuple[str, str]] | None]:
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {
                "accountId": ACCOUNT,
                "arn": f"arn:{PARTITION}:iam::{ACCOUNT}:user/ci",
                "userId": "AIDAEXAMPLE",
                "id": ACCOUNT,
            }, []
        if args.token == "aws:index/getRegion:getRegion":
            return {
                "region": REGION,
                "name": REGION,
                "id": REGION,
                "description": "Europe (Ireland)",
                "endpoint": f"ec2.{REGION}.amazonaws.com",
            }, []
        raise NotImplementedError(f"mock has no answer for invoke {args.token}")


def plan(program: Callable[[], None], *, stack: str = "test", project: str = "ai-platform") -> Graph:
    """Run ``program`` under the mock runtime and return every resource it registered."""
    mocks = _Mocks()
    pulumi.runtime.set_mocks(mocks, project=project, stack=stack, preview=False)
    pulumi.runtime.test(program)()
    return Graph(mocks.records)


def capture(store: dict[str, object], key: str, value: pulumi.Input[object]) -> None:
    """Record the resolved value of ``value`` in ``store[key]`` (call inside a ``plan`` program)."""
    pulumi.Output.from_input(value).apply(lambda v: store.__setitem__(key, v))
