"""Realistic offline answers for AWS resources and data sources (account 123456789012)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from components.testing.outputs import stable_suffix

ACCOUNT = "123456789012"
REGION = "us-east-1"
ZONES = ["us-east-1a", "us-east-1b", "us-east-1c"]

Outputs = Callable[[str, dict[str, Any], str], dict[str, Any]]

# type token -> (id prefix, arn service, arn resource pattern); {n} is the physical name
_IDS: dict[str, tuple[str, str, str]] = {
    "aws:ec2/vpc:Vpc": ("vpc-", "ec2", "vpc/{id}"),
    "aws:ec2/subnet:Subnet": ("subnet-", "ec2", "subnet/{id}"),
    "aws:ec2/securityGroup:SecurityGroup": ("sg-", "ec2", "security-group/{id}"),
    "aws:ec2/natGateway:NatGateway": ("nat-", "ec2", "natgateway/{id}"),
    "aws:ec2/eip:Eip": ("eipalloc-", "ec2", "elastic-ip/{id}"),
    "aws:ec2/internetGateway:InternetGateway": ("igw-", "ec2", "internet-gateway/{id}"),
    "aws:ec2/routeTable:RouteTable": ("rtb-", "ec2", "route-table/{id}"),
    "aws:ec2/vpcEndpoint:VpcEndpoint": ("vpce-", "ec2", "vpc-endpoint/{id}"),
    "aws:ec2/flowLog:FlowLog": ("fl-", "ec2", "vpc-flow-log/{id}"),
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": ("sg-", "ec2", "security-group/{id}"),
    "aws:kms/key:Key": ("", "kms", "key/{id}"),
    "aws:kms/alias:Alias": ("alias/", "kms", "{id}"),
    "aws:secretsmanager/secret:Secret": ("", "secretsmanager", "secret:{n}-AbCdEf"),
    "aws:iam/role:Role": ("", "iam", "role/{n}"),
    "aws:iam/policy:Policy": ("", "iam", "policy/{n}"),
    "aws:lb/loadBalancer:LoadBalancer": ("", "elasticloadbalancing", "loadbalancer/app/{n}/{s}"),
    "aws:lb/targetGroup:TargetGroup": ("", "elasticloadbalancing", "targetgroup/{n}/{s}"),
    "aws:lb/listener:Listener": ("", "elasticloadbalancing", "listener/app/{n}/{s}"),
    "aws:wafv2/webAcl:WebAcl": ("", "wafv2", "regional/webacl/{n}/{s}"),
    "aws:wafv2/ipSet:IpSet": ("", "wafv2", "regional/ipset/{n}/{s}"),
    "aws:acm/certificate:Certificate": ("", "acm", "certificate/{s}"),
    "aws:s3/bucket:Bucket": ("", "s3", "{n}"),
    "aws:s3/bucketV2:BucketV2": ("", "s3", "{n}"),
    "aws:ecs/cluster:Cluster": ("", "ecs", "cluster/{n}"),
    "aws:ecs/service:Service": ("", "ecs", "service/{n}"),
    "aws:ecs/taskDefinition:TaskDefinition": ("", "ecs", "task-definition/{n}:1"),
    "aws:ecr/repository:Repository": ("", "ecr", "repository/{n}"),
    "aws:elasticache/replicationGroup:ReplicationGroup": ("", "elasticache", "replicationgroup:{n}"),
    "aws:elasticache/subnetGroup:SubnetGroup": ("", "elasticache", "subnetgroup:{n}"),
    "aws:elasticache/parameterGroup:ParameterGroup": ("", "elasticache", "parametergroup:{n}"),
    "aws:rds/cluster:Cluster": ("", "rds", "cluster:{n}"),
    "aws:rds/clusterInstance:ClusterInstance": ("", "rds", "db:{n}"),
    "aws:rds/subnetGroup:SubnetGroup": ("", "rds", "subgrp:{n}"),
    "aws:rds/clusterParameterGroup:ClusterParameterGroup": ("", "rds", "cluster-pg:{n}"),
    "aws:sqs/queue:Queue": ("", "sqs", "{n}"),
    "aws:sns/topic:Topic": ("", "sns", "{n}"),
    "aws:cloudwatch/logGroup:LogGroup": ("", "logs", "log-group:{n}"),
    "aws:cloudwatch/metricAlarm:MetricAlarm": ("", "cloudwatch", "alarm:{n}"),
    "aws:cloudwatch/dashboard:Dashboard": ("", "cloudwatch", "dashboard/{n}"),
    "aws:budgets/budget:Budget": ("", "budgets", "budget/{n}"),
    "aws:appautoscaling/policy:Policy": ("", "autoscaling", "scalingPolicy:{s}:resource/ecs/{n}"),
}

# resources whose physical name Pulumi auto-generates from the logical name, and the
# input carrying it
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
    physical = _physical_name(type_token, name, inputs)
    suffix = stable_suffix(type_token, name, length=16)
    prefix, service, pattern = _IDS.get(type_token, ("", "", ""))
    resource_id = f"{prefix}{suffix[:17]}" if prefix else physical
    if type_token == "aws:kms/key:Key":
        resource_id = f"{suffix[:8]}-{suffix[8:12]}-4{suffix[12:15]}-8{suffix[:3]}-{suffix[3:15]}"
    computed: dict[str, Any] = {"name": physical}
    if service:
        region = "" if service in {"iam", "budgets", "s3"} else REGION
        account = "" if service == "s3" else ACCOUNT
        resource = pattern.format(n=physical, id=resource_id, s=suffix)
        computed["arn"] = f"arn:aws:{service}:{region}:{account}:{resource}"
    extra = _EXTRA.get(type_token)
    if extra is not None:
        computed.update(extra(physical, inputs, computed.get("arn", "")))
    return resource_id, computed


def _load_balancer(physical: str, inputs: dict[str, Any], arn: str) -> dict[str, Any]:
    return {
        "arnSuffix": arn.split(":loadbalancer/", 1)[1],
        "dnsName": f"{physical}-1234567890.{REGION}.elb.amazonaws.com",
        "zoneId": "Z35SXDOTRQ7X7K",
    }


def _certificate(physical: str, inputs: dict[str, Any], arn: str) -> dict[str, Any]:
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


def _replication_group(physical: str, inputs: dict[str, Any], arn: str) -> dict[str, Any]:
    count = int(inputs.get("numCacheClusters", 1))
    host = f"{physical}.abc123.use1.cache.amazonaws.com"
    return {
        "primaryEndpointAddress": f"master.{host}",
        "readerEndpointAddress": f"replica.{host}",
        "memberClusters": [f"{physical}-{i:03d}" for i in range(1, count + 1)],
        "port": inputs.get("port", 6379),
    }


def _rds_cluster(physical: str, inputs: dict[str, Any], arn: str) -> dict[str, Any]:
    return {
        "endpoint": f"{physical}.cluster-abc123.{REGION}.rds.amazonaws.com",
        "readerEndpoint": f"{physical}.cluster-ro-abc123.{REGION}.rds.amazonaws.com",
        "clusterResourceId": f"cluster-{stable_suffix(physical, length=26).upper()}",
        "port": inputs.get("port", 5432),
        "masterUserSecrets": [
            {
                "secretArn": f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:"
                f"rds!cluster-{stable_suffix(physical)}-AbCdEf",
                "secretStatus": "active",
                "kmsKeyId": inputs.get("masterUserSecretKmsKeyId", ""),
            }
        ],
    }


def _image(physical: str, inputs: dict[str, Any], arn: str) -> dict[str, Any]:
    digest = "sha256:" + stable_suffix(json.dumps(inputs, sort_keys=True, default=str), length=64)
    tags = inputs.get("tags") or ["registry.invalid/app:latest"]
    repository = str(tags[0]).rsplit(":", 1)[0]
    return {"digest": digest, "ref": f"{repository}@{digest}"}


def _bucket(physical: str, inputs: dict[str, Any], arn: str) -> dict[str, Any]:
    return {"bucket": physical, "bucketRegionalDomainName": f"{physical}.s3.{REGION}.amazonaws.com"}


_EXTRA: dict[str, Outputs] = {
    "aws:route53/record:Record": lambda n, i, arn: {"fqdn": str(i.get("name", n)).rstrip(".")},
    "aws:acm/certificateValidation:CertificateValidation": lambda n, i, arn: {
        "certificateArn": i.get("certificateArn", "")
    },
    "aws:ec2/eip:Eip": lambda n, i, arn: {"allocationId": "eipalloc-" + stable_suffix(n, length=17)},
    "aws:lb/loadBalancer:LoadBalancer": _load_balancer,
    "aws:lb/targetGroup:TargetGroup": lambda n, i, arn: {"arnSuffix": arn.split(":", 5)[5]},
    "aws:acm/certificate:Certificate": _certificate,
    "aws:elasticache/replicationGroup:ReplicationGroup": _replication_group,
    "aws:rds/cluster:Cluster": _rds_cluster,
    "aws:sqs/queue:Queue": lambda n, i, arn: {"url": f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{n}"},
    "aws:ecr/repository:Repository": lambda n, i, arn: {
        "repositoryUrl": f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/{n}",
        "registryId": ACCOUNT,
    },
    "aws:s3/bucket:Bucket": lambda n, i, arn: {
        "bucket": n,
        "bucketRegionalDomainName": f"{n}.s3.{REGION}.amazonaws.com",
    },
    "aws:s3/bucketV2:BucketV2": lambda n, i, arn: {
        "bucket": n,
        "bucketRegionalDomainName": f"{n}.s3.{REGION}.amazonaws.com",
    },
    "aws:kms/key:Key": lambda n, i, arn: {"keyId": arn.rsplit("/", 1)[1]},
    "aws:ecs/cluster:Cluster": lambda n, i, arn: {"name": n},
    "aws:ecs/taskDefinition:TaskDefinition": lambda n, i, arn: {"family": i.get("family", n), "revision": 1},
    "aws:iam/role:Role": lambda n, i, arn: {"uniqueId": "AROA" + stable_suffix(n, length=16).upper()},
    "aws:ec2/vpc:Vpc": lambda n, i, arn: {
        "defaultSecurityGroupId": "sg-default0000000001",
        "cidrBlock": i.get("cidrBlock"),
    },
    "aws:elasticache/subnetGroup:SubnetGroup": lambda n, i, arn: {"name": i.get("name", n)},
    "aws:docker-build:index:Image": _image,
    "docker-build:index:Image": _image,
}


def _policy_document(args: dict[str, Any]) -> dict[str, Any]:
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


_CALLS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "aws:index/getAvailabilityZones:getAvailabilityZones": lambda a: {
        "names": ZONES,
        "zoneIds": ["use1-az1", "use1-az2", "use1-az4"],
        "id": REGION,
        "groupNames": [REGION],
    },
    "aws:index/getCallerIdentity:getCallerIdentity": lambda a: {
        "accountId": ACCOUNT,
        "arn": f"arn:aws:iam::{ACCOUNT}:user/ci",
        "userId": "AIDAEXAMPLE",
        "id": ACCOUNT,
    },
    "aws:index/getRegion:getRegion": lambda a: {
        "name": REGION,
        "region": REGION,
        "id": REGION,
        "endpoint": f"ec2.{REGION}.amazonaws.com",
        "description": "US East (N. Virginia)",
    },
    "aws:index/getPartition:getPartition": lambda a: {
        "partition": "aws",
        "dnsSuffix": "amazonaws.com",
        "reverseDnsPrefix": "com.amazonaws",
        "id": "aws",
    },
    "aws:elb/getServiceAccount:getServiceAccount": lambda a: {
        "arn": "arn:aws:iam::127311923021:root",
        "id": "127311923021",
    },
    "aws:ecr/getAuthorizationToken:getAuthorizationToken": lambda a: {
        "authorizationToken": "QVdTOm9mZmxpbmU=",
        "userName": "AWS",
        "password": "offline-placeholder",
        "proxyEndpoint": f"https://{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com",
        "expiresAt": "2099-01-01T00:00:00Z",
        "id": REGION,
    },
    "aws:iam/getPolicyDocument:getPolicyDocument": _policy_document,
    "aws:ec2/getVpc:getVpc": lambda a: {
        "id": a.get("id", "vpc-0offline"),
        "cidrBlock": "10.0.0.0/16",
        "arn": f"arn:aws:ec2:{REGION}:{ACCOUNT}:vpc/{a.get('id', 'vpc-0offline')}",
    },
}


def call_result(token: str, args: dict[str, Any]) -> dict[str, Any]:
    answer = _CALLS.get(token)
    if answer is None:
        raise NotImplementedError(f"no offline answer for the AWS function {token}; add one to {__name__}")
    return answer(args)
