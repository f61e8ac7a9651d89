"""Realistic offline answers for AWS resources and data sources (account 123456789012).

The region is read the way the real provider reads it, from the ``aws:region`` config key
(``plan(..., config={"aws:region": "eu-west-1"})``), default ``us-east-1``; the partition
(``aws``, ``aws-cn``, ``aws-us-gov``) and DNS suffix follow from it, for ARNs, endpoints and
the ``getCallerIdentity``/``getPartition`` answers.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pulumi.runtime.config import get_config

from components.testing.outputs import stable_suffix

ACCOUNT = "123456789012"
DEFAULT_REGION = "us-east-1"

# Zone letters per region; a region not listed has a, b and c. "xx-test-1" is fictional: a
# region with only two zones, for programs' too-few-zones errors.
_ZONE_LETTERS = {"xx-test-1": "ab"}
_DESCRIPTIONS = {"us-east-1": "US East (N. Virginia)", "eu-west-1": "Europe (Ireland)"}
_DIRECTIONS = ("north", "south", "east", "west", "central")


@dataclass(frozen=True)
class Place:
    """Where the mock provider runs: region, partition and the region's DNS names."""

    region: str

    @property
    def partition(self) -> str:
        if self.region.startswith("us-gov-"):
            return "aws-us-gov"
        return "aws-cn" if self.region.startswith("cn-") else "aws"

    @property
    def dns_suffix(self) -> str:
        return "amazonaws.com.cn" if self.partition == "aws-cn" else "amazonaws.com"

    @property
    def code(self) -> str:
        """The short region code AWS uses in zone ids and some hostnames (``use1``, ``apse5``)."""
        first, *words, number = self.region.split("-")
        short = ""
        for word in words:
            for direction in _DIRECTIONS:
                word = word.replace(direction, direction[0])
            short += word if len(word) <= 2 else word[0]
        return f"{first}{short}{number}"

    @property
    def zones(self) -> list[str]:
        return [self.region + letter for letter in _ZONE_LETTERS.get(self.region, "abc")]

    def arn(self, service: str, resource: str) -> str:
        region = "" if service in {"iam", "budgets", "s3"} else self.region
        account = "" if service == "s3" else ACCOUNT
        return f"arn:{self.partition}:{service}:{region}:{account}:{resource}"

    def host(self, service: str) -> str:
        """A regional service endpoint (``sqs.us-east-1.amazonaws.com``)."""
        return f"{service}.{self.region}.{self.dns_suffix}"


def place() -> Place:
    """The mock provider's place, from the ``aws:region`` config key as the real provider reads it."""
    return Place(get_config("aws:region") or DEFAULT_REGION)


Outputs = Callable[[str, dict[str, Any], str, Place], dict[str, Any]]

# type token -> (id, arn service, arn resource). Placeholders: {n} the physical name, {h} 17 hex
# digits, {s} 16 hex digits, {uuid}, {account}; {id} in the ARN, {arn} as the id (ARN-keyed types).
_RESOURCES: dict[str, tuple[str, str, str]] = {
    "aws:ec2/vpc:Vpc": ("vpc-{h}", "ec2", "vpc/{id}"),
    "aws:ec2/subnet:Subnet": ("subnet-{h}", "ec2", "subnet/{id}"),
    "aws:ec2/securityGroup:SecurityGroup": ("sg-{h}", "ec2", "security-group/{id}"),
    "aws:ec2/natGateway:NatGateway": ("nat-{h}", "ec2", "natgateway/{id}"),
    "aws:ec2/eip:Eip": ("eipalloc-{h}", "ec2", "elastic-ip/{id}"),
    "aws:ec2/internetGateway:InternetGateway": ("igw-{h}", "ec2", "internet-gateway/{id}"),
    "aws:ec2/routeTable:RouteTable": ("rtb-{h}", "ec2", "route-table/{id}"),
    "aws:ec2/vpcEndpoint:VpcEndpoint": ("vpce-{h}", "ec2", "vpc-endpoint/{id}"),
    "aws:ec2/flowLog:FlowLog": ("fl-{h}", "ec2", "vpc-flow-log/{id}"),
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": ("sg-{h}", "ec2", "security-group/{id}"),
    "aws:kms/key:Key": ("{uuid}", "kms", "key/{id}"),
    "aws:kms/alias:Alias": ("{n}", "kms", "{n}"),
    "aws:secretsmanager/secret:Secret": ("{arn}", "secretsmanager", "secret:{n}-AbCdEf"),
    "aws:iam/role:Role": ("{n}", "iam", "role/{n}"),
    "aws:iam/policy:Policy": ("{arn}", "iam", "policy/{n}"),
    "aws:lb/loadBalancer:LoadBalancer": ("{arn}", "elasticloadbalancing", "loadbalancer/app/{n}/{s}"),
    "aws:lb/targetGroup:TargetGroup": ("{arn}", "elasticloadbalancing", "targetgroup/{n}/{s}"),
    "aws:lb/listener:Listener": ("{arn}", "elasticloadbalancing", "listener/app/{n}/{s}"),
    "aws:wafv2/webAcl:WebAcl": ("{uuid}", "wafv2", "regional/webacl/{n}/{id}"),
    "aws:wafv2/ipSet:IpSet": ("{uuid}", "wafv2", "regional/ipset/{n}/{id}"),
    "aws:acm/certificate:Certificate": ("{arn}", "acm", "certificate/{uuid}"),
    "aws:s3/bucket:Bucket": ("{n}", "s3", "{n}"),
    "aws:s3/bucketV2:BucketV2": ("{n}", "s3", "{n}"),
    "aws:ecs/cluster:Cluster": ("{arn}", "ecs", "cluster/{n}"),
    "aws:ecs/service:Service": ("{arn}", "ecs", "service/{n}"),
    "aws:ecs/taskDefinition:TaskDefinition": ("{n}", "ecs", "task-definition/{n}:1"),
    "aws:ecr/repository:Repository": ("{n}", "ecr", "repository/{n}"),
    "aws:elasticache/replicationGroup:ReplicationGroup": ("{n}", "elasticache", "replicationgroup:{n}"),
    "aws:elasticache/subnetGroup:SubnetGroup": ("{n}", "elasticache", "subnetgroup:{n}"),
    "aws:elasticache/parameterGroup:ParameterGroup": ("{n}", "elasticache", "parametergroup:{n}"),
    "aws:rds/cluster:Cluster": ("{n}", "rds", "cluster:{n}"),
    "aws:rds/clusterInstance:ClusterInstance": ("{n}", "rds", "db:{n}"),
    "aws:rds/subnetGroup:SubnetGroup": ("{n}", "rds", "subgrp:{n}"),
    "aws:rds/clusterParameterGroup:ClusterParameterGroup": ("{n}", "rds", "cluster-pg:{n}"),
    "aws:sqs/queue:Queue": ("https://sqs.{region}.{dns}/{account}/{n}", "sqs", "{n}"),
    "aws:sns/topic:Topic": ("{arn}", "sns", "{n}"),
    "aws:cloudwatch/logGroup:LogGroup": ("{n}", "logs", "log-group:{n}"),
    "aws:cloudwatch/metricAlarm:MetricAlarm": ("{n}", "cloudwatch", "alarm:{n}"),
    "aws:cloudwatch/dashboard:Dashboard": ("{n}", "cloudwatch", "dashboard/{n}"),
    "aws:budgets/budget:Budget": ("{account}:{n}", "budgets", "budget/{n}"),
    "aws:appautoscaling/policy:Policy": ("{n}", "autoscaling", "scalingPolicy:{s}:resource/ecs/{n}"),
    "aws:lambda/function:Function": ("{n}", "lambda", "function:{n}"),
    "aws:apigateway/restApi:RestApi": ("{a}", "apigateway", "/restapis/{id}"),
    "aws:apigateway/resource:Resource": ("{b}", "", ""),
    "aws:apigateway/deployment:Deployment": ("{b}", "", ""),
    "aws:apigateway/apiKey:ApiKey": ("{a}", "apigateway", "/apikeys/{id}"),
    "aws:apigateway/usagePlan:UsagePlan": ("{b}", "apigateway", "/usageplans/{id}"),
}

# resources whose physical name Pulumi auto-generates from the logical name, and the input
# (and output) carrying it; the others carry it in `name`
_NAME_INPUT = {
    "aws:elasticache/replicationGroup:ReplicationGroup": "replicationGroupId",
    "aws:rds/cluster:Cluster": "clusterIdentifier",
    "aws:rds/clusterInstance:ClusterInstance": "identifier",
    "aws:s3/bucket:Bucket": "bucket",
    "aws:s3/bucketV2:BucketV2": "bucket",
    "aws:cloudwatch/metricAlarm:MetricAlarm": "name",
    "aws:cloudwatch/dashboard:Dashboard": "dashboardName",
}


def _physical_name(type_token: str, name: str, inputs: dict[str, Any]) -> str:
    given = inputs.get(_NAME_INPUT.get(type_token, "name"))
    if isinstance(given, str) and given:
        return given
    prefix = inputs.get("namePrefix")
    if isinstance(prefix, str) and prefix:
        return prefix + stable_suffix(type_token, name, length=7)
    return f"{name}-{stable_suffix(type_token, name, length=7)}"


def resource_outputs(type_token: str, name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    at = place()
    physical = _physical_name(type_token, name, inputs)
    s = stable_suffix(type_token, name, length=32)
    values = {
        "n": physical,
        "h": s[:17],
        "s": s[:16],
        "uuid": f"{s[:8]}-{s[8:12]}-4{s[12:15]}-8{s[15:18]}-{s[18:30]}",
        "account": ACCOUNT,
        "region": at.region,
        "dns": at.dns_suffix,
        "a": s[:10],  # API Gateway ids: 10 lower-case alphanumerics
        "b": s[10:16],
    }
    id_pattern, service, arn_pattern = _RESOURCES.get(type_token, ("{n}", "", ""))
    computed: dict[str, Any] = {"name": physical, _NAME_INPUT.get(type_token, "name"): physical}
    resource_id = id_pattern.format(arn="", **values)
    if service:
        computed["arn"] = at.arn(service, arn_pattern.format(id=resource_id, **values))
        resource_id = id_pattern.format(arn=computed["arn"], **values)
    extra = _EXTRA.get(type_token)
    if extra is not None:
        computed.update(extra(physical, inputs, computed.get("arn", ""), at))
    return resource_id, computed


def _load_balancer(physical: str, inputs: dict[str, Any], arn: str, at: Place) -> dict[str, Any]:
    return {
        "arnSuffix": arn.split(":loadbalancer/", 1)[1],
        "dnsName": f"{physical}-1234567890.{at.region}.elb.{at.dns_suffix}",
        "zoneId": "Z35SXDOTRQ7X7K",
    }


def _certificate(physical: str, inputs: dict[str, Any], arn: str, at: Place) -> dict[str, Any]:
    domain = inputs.get("domainName", "example.com")
    names = [domain, *inputs.get("subjectAlternativeNames", [])]
    return {
        "domainValidationOptions": [
            {
                "domainName": d,
                "resourceRecordName": f"_{stable_suffix(d)}.{d}.",
                "resourceRecordType": "CNAME",
                "resourceRecordValue": f"_{stable_suffix(d, 'v')}.acm-validations.aws.",
            }
            for d in names
        ],
        "status": "ISSUED",
    }


def _replication_group(physical: str, inputs: dict[str, Any], arn: str, at: Place) -> dict[str, Any]:
    count = int(inputs.get("numCacheClusters", 1))
    host = f"{physical}.{stable_suffix(physical, length=6)}.{at.code}.cache.{at.dns_suffix}"
    return {
        "primaryEndpointAddress": f"master.{host}",
        "readerEndpointAddress": f"replica.{host}",
        "memberClusters": [f"{physical}-{i:03d}" for i in range(1, count + 1)],
        "port": inputs.get("port", 6379),
    }


def _rds_cluster(physical: str, inputs: dict[str, Any], arn: str, at: Place) -> dict[str, Any]:
    host = f"{stable_suffix(physical, length=12)}.{at.region}.rds.{at.dns_suffix}"
    return {
        "endpoint": f"{physical}.cluster-{host}",
        "readerEndpoint": f"{physical}.cluster-ro-{host}",
        "clusterResourceId": f"cluster-{stable_suffix(physical, length=26).upper()}",
        "port": inputs.get("port", 5432),
        "masterUserSecrets": [
            {
                "secretArn": at.arn("secretsmanager", f"secret:rds!cluster-{stable_suffix(physical)}-AbCdEf"),
                "secretStatus": "active",
                "kmsKeyId": inputs.get("masterUserSecretKmsKeyId", ""),
            }
        ],
    }


def _bucket(physical: str, inputs: dict[str, Any], arn: str, at: Place) -> dict[str, Any]:
    return {"bucket": physical, "bucketRegionalDomainName": f"{physical}.{at.host('s3')}"}


def _function(physical: str, inputs: dict[str, Any], arn: str, at: Place) -> dict[str, Any]:
    return {
        "invokeArn": _invoke_arn(at, arn),
        "qualifiedArn": f"{arn}:1",
        "qualifiedInvokeArn": _invoke_arn(at, f"{arn}:1"),
        "version": "1",
    }


def _invoke_arn(at: Place, function_arn: str) -> str:
    return f"arn:{at.partition}:apigateway:{at.region}:lambda:path/2015-03-31/functions/{function_arn}/invocations"


def _alias(physical: str, inputs: dict[str, Any], arn: str, at: Place) -> dict[str, Any]:
    function = at.arn("lambda", f"function:{inputs.get('functionName', physical)}")
    qualified = f"{function}:{inputs.get('name', physical)}"
    return {"arn": qualified, "invokeArn": _invoke_arn(at, qualified)}


def _rest_api(physical: str, inputs: dict[str, Any], arn: str, at: Place) -> dict[str, Any]:
    api_id = arn.rsplit("/", 1)[1]
    return {
        "rootResourceId": stable_suffix(physical, "root", length=10),
        "executionArn": at.arn("execute-api", api_id),
        "arn": f"arn:{at.partition}:apigateway:{at.region}::/restapis/{api_id}",
    }


def _stage(physical: str, inputs: dict[str, Any], arn: str, at: Place) -> dict[str, Any]:
    api, stage = inputs.get("restApi", ""), inputs.get("stageName", physical)
    return {
        "arn": f"arn:{at.partition}:apigateway:{at.region}::/restapis/{api}/stages/{stage}",
        "invokeUrl": f"https://{api}.execute-api.{at.region}.{at.dns_suffix}/{stage}",
        "executionArn": f"{at.arn('execute-api', api)}/{stage}",
    }


def _domain_name(physical: str, inputs: dict[str, Any], arn: str, at: Place) -> dict[str, Any]:
    return {
        "arn": f"arn:{at.partition}:apigateway:{at.region}::/domainnames/{inputs.get('domainName', physical)}",
        "regionalDomainName": f"d-{stable_suffix(physical, length=10)}.execute-api.{at.region}.{at.dns_suffix}",
        "regionalZoneId": "Z1UJRXOUMOOFQ8",
    }


_EXTRA: dict[str, Outputs] = {
    "aws:lambda/function:Function": _function,
    "aws:lambda/alias:Alias": _alias,
    "aws:apigateway/restApi:RestApi": _rest_api,
    "aws:apigateway/stage:Stage": _stage,
    "aws:apigateway/domainName:DomainName": _domain_name,
    "aws:route53/record:Record": lambda n, i, arn, at: {"fqdn": str(i.get("name", n)).rstrip(".")},
    "aws:acm/certificateValidation:CertificateValidation": lambda n, i, arn, at: {
        "certificateArn": i.get("certificateArn", "")
    },
    "aws:ec2/eip:Eip": lambda n, i, arn, at: {"allocationId": arn.rsplit("/", 1)[1]},
    "aws:lb/loadBalancer:LoadBalancer": _load_balancer,
    "aws:lb/targetGroup:TargetGroup": lambda n, i, arn, at: {"arnSuffix": arn.split(":", 5)[5]},
    "aws:acm/certificate:Certificate": _certificate,
    "aws:elasticache/replicationGroup:ReplicationGroup": _replication_group,
    "aws:rds/cluster:Cluster": _rds_cluster,
    "aws:sqs/queue:Queue": lambda n, i, arn, at: {"url": f"https://{at.host('sqs')}/{ACCOUNT}/{n}"},
    "aws:ecr/repository:Repository": lambda n, i, arn, at: {
        "repositoryUrl": f"{ACCOUNT}.dkr.ecr.{at.region}.{at.dns_suffix}/{n}",
        "registryId": ACCOUNT,
    },
    "aws:s3/bucket:Bucket": _bucket,
    "aws:s3/bucketV2:BucketV2": _bucket,
    "aws:kms/key:Key": lambda n, i, arn, at: {"keyId": arn.rsplit("/", 1)[1]},
    "aws:ecs/taskDefinition:TaskDefinition": lambda n, i, arn, at: {"family": i.get("family", n), "revision": 1},
    "aws:iam/role:Role": lambda n, i, arn, at: {"uniqueId": "AROA" + stable_suffix(n, length=16).upper()},
    "aws:ec2/vpc:Vpc": lambda n, i, arn, at: {
        "defaultSecurityGroupId": "sg-default0000000001",
        "cidrBlock": i.get("cidrBlock"),
    },
}


def _policy_document(args: dict[str, Any], at: Place) -> dict[str, Any]:
    """Render aws.iam.get_policy_document the way AWS does (enough for policy-reading code)."""
    statements = []
    for statement in args.get("statements", []):
        rendered: dict[str, Any] = {"Effect": statement.get("effect", "Allow")}
        for key, out in (("sid", "Sid"), ("actions", "Action"), ("resources", "Resource")):
            if statement.get(key):
                rendered[out] = statement[key]
        for principal in statement.get("principals", []):
            rendered.setdefault("Principal", {})[principal["type"]] = principal["identifiers"]
        for condition in statement.get("conditions", []):
            rendered.setdefault("Condition", {}).setdefault(condition["test"], {})[condition["variable"]] = condition[
                "values"
            ]
        statements.append(rendered)
    document = json.dumps({"Version": "2012-10-17", "Statement": statements})
    return {"json": document, "minifiedJson": document, "id": "policy"}


_CALLS: dict[str, Callable[[dict[str, Any], Place], dict[str, Any]]] = {
    "aws:index/getAvailabilityZones:getAvailabilityZones": lambda a, at: {
        "names": at.zones,
        "zoneIds": [f"{at.code}-az{i}" for i in range(1, len(at.zones) + 1)],
        "id": at.region,
        "groupNames": [at.region],
    },
    "aws:index/getCallerIdentity:getCallerIdentity": lambda a, at: {
        "accountId": ACCOUNT,
        "arn": at.arn("iam", "user/ci"),
        "userId": "AIDAEXAMPLE",
        "id": ACCOUNT,
    },
    "aws:index/getRegion:getRegion": lambda a, at: {
        "name": at.region,
        "region": at.region,
        "id": at.region,
        "endpoint": at.host("ec2"),
        "description": _DESCRIPTIONS.get(at.region, at.region),
    },
    "aws:index/getPartition:getPartition": lambda a, at: {
        "partition": at.partition,
        "dnsSuffix": at.dns_suffix,
        "reverseDnsPrefix": ".".join(reversed(at.dns_suffix.split("."))),
        "id": at.partition,
    },
    "aws:elb/getServiceAccount:getServiceAccount": lambda a, at: {
        "arn": f"arn:{at.partition}:iam::127311923021:root",
        "id": "127311923021",
    },
    "aws:ecr/getAuthorizationToken:getAuthorizationToken": lambda a, at: {
        "authorizationToken": "QVdTOm9mZmxpbmU=",
        "userName": "AWS",
        "password": "offline-placeholder",
        "proxyEndpoint": f"https://{ACCOUNT}.dkr.ecr.{at.region}.{at.dns_suffix}",
        "expiresAt": "2099-01-01T00:00:00Z",
        "id": at.region,
    },
    "aws:iam/getPolicyDocument:getPolicyDocument": _policy_document,
    "aws:ec2/getVpc:getVpc": lambda a, at: {
        "id": a.get("id", "vpc-0offline"),
        "cidrBlock": "10.0.0.0/16",
        "arn": at.arn("ec2", f"vpc/{a.get('id', 'vpc-0offline')}"),
    },
}


def call_result(token: str, args: dict[str, Any]) -> dict[str, Any]:
    answer = _CALLS.get(token)
    if answer is None:
        raise NotImplementedError(f"no offline answer for the AWS function {token}; add one to {__name__}")
    return answer(args, place())


def planned_app_settings(graph: Any) -> tuple[dict[str, str], list[str], int]:
    """What the planned graph hands the app (for the app-contract test that runs on every target):
    the plain environment, the names of the variables injected from the secret store, and the
    container port."""
    functions = graph.of_type("aws:lambda/function:Function")
    if functions:
        # the Lambda runtime: secrets reach the function as <NAME>_SECRET_ARN (read at cold start)
        (function,) = functions
        variables = dict(function.inputs["environment"]["variables"])
        secret_names = [k.removesuffix("_SECRET_ARN") for k in variables if k.endswith("_SECRET_ARN")]
        plain = {k: v for k, v in variables.items() if not k.endswith("_SECRET_ARN")}
        return plain, secret_names, int(plain["APP_PORT"])
    tasks = graph.of_type("aws:ecs/taskDefinition:TaskDefinition")
    (task,) = [r for r in tasks if "ai-platform:aws:ContainerService$" in r.urn]
    (definition,) = json.loads(task.inputs["containerDefinitions"])
    environment = {item["name"]: item["value"] for item in definition["environment"]}
    secrets = [item["name"] for item in definition["secrets"]]
    return environment, secrets, definition["portMappings"][0]["containerPort"]
