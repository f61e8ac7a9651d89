"""A small local mock harness for the AWS block tests (until components/testing/ lands).

``plan(program)`` runs ``program`` under Pulumi's mock runtime and returns the registered
resources with their wire-format (camelCase) inputs. The mocks answer the data sources the
blocks use and return realistic ids/ARNs for the outputs the blocks read.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pytest
from pulumi.runtime.mocks import MockCallArgs, MockResourceArgs, Mocks

from components.base import Block

ACCOUNT = "123456789012"
REGION = "us-east-1"


@dataclass
class Record:
    type: str
    name: str
    inputs: dict[str, Any]


@dataclass
class Graph:
    resources: list[Record] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)

    def of_type(self, typ: str) -> list[Record]:
        return [r for r in self.resources if r.type == typ]

    def one(self, typ: str, name_suffix: str | None = None) -> Record:
        found = [r for r in self.of_type(typ) if name_suffix is None or r.name.endswith(name_suffix)]
        assert len(found) == 1, f"expected one {typ} ending {name_suffix!r}, got {[r.name for r in found]}"
        return found[0]

    def named(self, name: str) -> Record:
        found = [r for r in self.resources if r.name == name]
        assert len(found) == 1, f"expected one resource named {name!r}, got {len(found)}"
        return found[0]


_SECRET_SIG = "4dabf18193072939515e22adb298388d"


def _redact(value: Any) -> Any:
    """Replace secret-wrapped wire values with "[secret]", as the shared harness does."""
    if isinstance(value, dict):
        if value.get(_SECRET_SIG) == "1b47061264138c4ac30d75fd1eb44270":
            return "[secret]"
        return {k: _redact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact(v) for v in value]
    return value


def _arn(service: str, resource: str, region: str = REGION) -> str:
    return f"arn:aws:{service}:{region}:{ACCOUNT}:{resource}"


class RecordingMocks(Mocks):
    def __init__(self, region: str) -> None:
        self.region = region
        self.graph = Graph()

    def new_resource(self, args: MockResourceArgs) -> tuple[str | None, dict[Any, Any]]:
        self.graph.resources.append(Record(args.typ, args.name, _redact(dict(args.inputs))))
        name = args.name
        out: dict[str, Any] = dict(args.inputs)
        rid = f"{name}-id"
        typ = args.typ
        if typ == "aws:ec2/vpc:Vpc":
            rid = "vpc-0123456789abcdef0"
        elif typ == "aws:ec2/subnet:Subnet":
            rid = f"subnet-{name}"
        elif typ == "aws:ec2/securityGroup:SecurityGroup":
            rid = f"sg-{name}"
            out["arn"] = _arn("ec2", f"security-group/{rid}", self.region)
        elif typ == "aws:lb/loadBalancer:LoadBalancer":
            out["arn"] = _arn("elasticloadbalancing", f"loadbalancer/app/{name}/50dc6c495c0c9188", self.region)
            out["arnSuffix"] = f"app/{name}/50dc6c495c0c9188"
            out["dnsName"] = f"{name}-1234567890.{self.region}.elb.amazonaws.com"
            out["zoneId"] = "Z35SXDOTRQ7X7K"
        elif typ == "aws:lb/targetGroup:TargetGroup":
            out["arn"] = _arn("elasticloadbalancing", f"targetgroup/{name}/73e2d6bc24d8a067", self.region)
            out["arnSuffix"] = f"targetgroup/{name}/73e2d6bc24d8a067"
        elif typ == "aws:lb/listener:Listener":
            out["arn"] = _arn("elasticloadbalancing", f"listener/app/lb/50dc6c495c0c9188/{name}", self.region)
        elif typ == "aws:acm/certificate:Certificate":
            out["arn"] = _arn("acm", f"certificate/{name}", self.region)
            out["domainValidationOptions"] = [
                {
                    "domainName": args.inputs.get("domainName"),
                    "resourceRecordName": f"_abc.{args.inputs.get('domainName')}.",
                    "resourceRecordType": "CNAME",
                    "resourceRecordValue": "_xyz.acm-validations.aws.",
                }
            ]
        elif typ == "aws:acm/certificateValidation:CertificateValidation":
            out["certificateArn"] = args.inputs.get("certificateArn")
        elif typ == "aws:route53/record:Record":
            out["fqdn"] = str(args.inputs.get("name", "")).rstrip(".")
        elif typ == "aws:s3/bucket:Bucket":
            rid = f"{name}-bucket"
            out["bucket"] = rid
            out["arn"] = f"arn:aws:s3:::{rid}"
        elif typ == "aws:wafv2/webAcl:WebAcl":
            out["arn"] = _arn("wafv2", f"regional/webacl/{name}/a1b2c3", self.region)
        elif typ == "aws:wafv2/ipSet:IpSet":
            out["arn"] = _arn("wafv2", f"regional/ipset/{name}/d4e5f6", self.region)
        elif typ == "aws:cloudwatch/logGroup:LogGroup":
            rid = name
            out["name"] = name
            out["arn"] = _arn("logs", f"log-group:{name}", self.region)
        elif typ == "aws:iam/role:Role":
            rid = name
            out["name"] = name
            out["arn"] = f"arn:aws:iam::{ACCOUNT}:role/{name}"
        elif typ == "aws:ecs/cluster:Cluster":
            out["name"] = name
            out["arn"] = _arn("ecs", f"cluster/{name}", self.region)
        elif typ == "aws:ecs/taskDefinition:TaskDefinition":
            out["arn"] = _arn("ecs", f"task-definition/{name}:1", self.region)
            out["family"] = args.inputs.get("family", name)
        elif typ == "aws:ecs/service:Service":
            out["name"] = name
        elif typ == "aws:ecr/repository:Repository":
            name = str(args.inputs.get("name", name))
            out["name"] = name
            out["arn"] = _arn("ecr", f"repository/{name}", self.region)
            out["registryId"] = ACCOUNT
            out["repositoryUrl"] = f"{ACCOUNT}.dkr.ecr.{self.region}.amazonaws.com/{name}"
        elif typ == "docker-build:index:Image":
            out["digest"] = "sha256:" + "ab" * 32
            out["ref"] = f"{args.inputs['tags'][0].split(':')[0]}@sha256:{'ab' * 32}"
        elif typ == "aws:ec2/natGateway:NatGateway":
            rid = f"nat-{name}"
        elif typ == "aws:ec2/routeTable:RouteTable":
            rid = f"rtb-{name}"
        if "arn" not in out:
            out["arn"] = _arn(typ.split(":")[1].split("/")[0], rid, self.region)
        return rid, out

    def call(self, args: MockCallArgs) -> tuple[dict[Any, Any], list[tuple[str, str]] | None]:
        self.graph.calls.append(args.token)
        if args.token == "aws:index/getAvailabilityZones:getAvailabilityZones":
            # a fictional "xx-" region has only two zones, to exercise the too-few-AZs error
            names = [f"{self.region}{s}" for s in ("ab" if self.region.startswith("xx-") else "abcdef")]
            return {"names": names, "zoneIds": [f"az{i}" for i in range(len(names))], "id": self.region}, []
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {"accountId": ACCOUNT, "arn": f"arn:aws:iam::{ACCOUNT}:user/ci", "userId": "AIDA", "id": ACCOUNT}, []
        if args.token == "aws:index/getRegion:getRegion":
            return {"name": self.region, "region": self.region, "id": self.region, "endpoint": "ec2"}, []
        if args.token == "aws:index/getPartition:getPartition":
            return {"partition": "aws", "dnsSuffix": "amazonaws.com", "id": "aws"}, []
        if args.token == "aws:ec2/getVpc:getVpc":
            return {"id": args.args.get("id"), "cidrBlock": "10.0.0.0/16"}, []
        if args.token == "aws:ecr/getAuthorizationToken:getAuthorizationToken":
            return {
                "authorizationToken": "dG9rZW4=",
                "userName": "AWS",
                "password": "ecr-password",
                "proxyEndpoint": f"https://{ACCOUNT}.dkr.ecr.{self.region}.amazonaws.com",
                "id": self.region,
            }, []
        raise NotImplementedError(f"mock does not answer {args.token}")


Plan = Callable[..., Graph]


def _plan(program: Callable[[], None], *, region: str = REGION, preview: bool = False) -> Graph:
    mocks = RecordingMocks(region)
    pulumi.runtime.set_mocks(mocks, project="ai-platform", stack="test", preview=preview)
    # pulumi.runtime.test clears the runtime's RPC/output bookkeeping, runs the program and
    # waits for every registration, re-raising the program's (or an apply's) exception.
    pulumi.runtime.test(program)()
    return mocks.graph


@pytest.fixture
def plan() -> Plan:
    return _plan


@dataclass
class ChildKeys:
    """The ``transform`` keys a block passed to ``Block.child`` during a plan."""

    used: list[str] = field(default_factory=list)

    def undocumented(self, args_type: type) -> list[str]:
        """Keys not listed in the args class docstring (``<i>``/``<service>`` are placeholders)."""
        documented = re.findall(r"``([^`]+)``", args_type.__doc__ or "")
        patterns = [
            re.compile("^" + re.escape(k).replace("<i>", r"\d+").replace("<service>", ".+") + "$") for k in documented
        ]
        return sorted({k for k in self.used if not any(p.match(k) for p in patterns)})


@pytest.fixture
def child_keys(monkeypatch: pytest.MonkeyPatch) -> ChildKeys:
    keys = ChildKeys()
    original = Block.child

    def recording(self: Block, key: str, *args: Any, **kwargs: Any) -> Any:
        keys.used.append(key)
        return original(self, key, *args, **kwargs)

    monkeypatch.setattr(Block, "child", recording)
    return keys
