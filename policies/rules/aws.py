"""Checks for the aws target.

Every check reads the camelCase wire inputs of the pulumi_aws 7.x resources (the names the
engine sends to the pack), dispatches on type tokens, and never assumes a property is present
or known: a decision that needs a value unknown during preview skips that check for that
resource (``Resource.known``). JSON-string inputs (ECS container definitions, resource
policies) are parsed with ``parse_json``; anything that is not the expected shape yields no
finding, since a check must not guess.

Messages start with the resource label, name the field (its camelCase path) and the value found,
and say what is allowed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from policies.framework import (
    SECRET_MARKER,
    CheckSet,
    Resource,
    Stack,
    Violation,
    is_unknown,
    parse_json,
    require_known,
)
from policies.rules.aws_taggable import TAGGABLE_TYPES
from policies.rules.common import missing_tags

checks = CheckSet("aws")

# type tokens (pulumi_aws 7.x)
RDS_CLUSTER = "aws:rds/cluster:Cluster"
RDS_CLUSTER_INSTANCE = "aws:rds/clusterInstance:ClusterInstance"
RDS_INSTANCE = "aws:rds/instance:Instance"
RDS_CLUSTER_PARAMETER_GROUP = "aws:rds/clusterParameterGroup:ClusterParameterGroup"
RDS_PARAMETER_GROUP = "aws:rds/parameterGroup:ParameterGroup"
REPLICATION_GROUP = "aws:elasticache/replicationGroup:ReplicationGroup"
SQS_QUEUE = "aws:sqs/queue:Queue"
SQS_QUEUE_POLICY = "aws:sqs/queuePolicy:QueuePolicy"
SNS_TOPIC = "aws:sns/topic:Topic"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
METRIC_ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
SECRET = "aws:secretsmanager/secret:Secret"
SECRET_POLICY = "aws:secretsmanager/secretPolicy:SecretPolicy"
ECR_REPOSITORY = "aws:ecr/repository:Repository"
ECR_REPOSITORY_POLICY = "aws:ecr/repositoryPolicy:RepositoryPolicy"
EFS_FILE_SYSTEM = "aws:efs/fileSystem:FileSystem"
EBS_VOLUME = "aws:ebs/volume:Volume"
KMS_KEY = "aws:kms/key:Key"
LB = "aws:lb/loadBalancer:LoadBalancer"
ALB = "aws:alb/loadBalancer:LoadBalancer"
"""The ``aws.alb`` module's alias of the same resource (a different type token)."""
LB_LISTENER = "aws:lb/listener:Listener"
ALB_LISTENER = "aws:alb/listener:Listener"
S3_BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
S3_PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
SG = "aws:ec2/securityGroup:SecurityGroup"
DEFAULT_SG = "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"
SG_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
SG_INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
WEB_ACL = "aws:wafv2/webAcl:WebAcl"
WEB_ACL_ASSOCIATION = "aws:wafv2/webAclAssociation:WebAclAssociation"
TASK_DEFINITION = "aws:ecs/taskDefinition:TaskDefinition"
ECS_SERVICE = "aws:ecs/service:Service"
SCALING_TARGET = "aws:appautoscaling/target:Target"
LAMBDA_FUNCTION = "aws:lambda/function:Function"
ACCESS_KEY = "aws:iam/accessKey:AccessKey"
SERVICE_SPECIFIC_CREDENTIAL = "aws:iam/serviceSpecificCredential:ServiceSpecificCredential"
VPC = "aws:ec2/vpc:Vpc"
FLOW_LOG = "aws:ec2/flowLog:FlowLog"
BUDGET = "aws:budgets/budget:Budget"
REST_API = "aws:apigateway/restApi:RestApi"
API_STAGE = "aws:apigateway/stage:Stage"
API_METHOD_SETTINGS = "aws:apigateway/methodSettings:MethodSettings"
API_DOMAIN = "aws:apigateway/domainName:DomainName"


def shown(value: Any) -> str:
    """A value as messages show it: ``unset``, or JSON (``true``, ``"MUTABLE"``, ``7``)."""
    if value is None:
        return "unset"
    return json.dumps(value)


def dig(value: Any, path: str) -> Any:
    """The value at a dotted path inside a nested input; skips the check if anything on the way is unknown."""
    for key in path.split("."):
        value = require_known(value, path)
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return require_known(value, path)


def peek(value: Any, path: str) -> Any:
    """Like :func:`dig` for facts and stack checks, which must not skip: unknown reads as None."""
    for key in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return None if is_unknown(value) else value


def _is_set(value: Any) -> bool:
    return value is not None and value != ""


# ---------------------------------------------------------------------------------------------
# encryption-at-rest


@checks.resource("encryption-at-rest", SQS_QUEUE)
def sqs_encrypted(r: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    """Queues hold request payloads: a KMS key, or SQS-managed SSE left on (its default)."""
    if _is_set(r.known("kmsMasterKeyId")) or r.known("sqsManagedSseEnabled") is not False:
        return
    yield (
        f"{r.label} is not encrypted at rest: kmsMasterKeyId is unset and sqsManagedSseEnabled is false; "
        "set kmsMasterKeyId (a KMS key) or sqsManagedSseEnabled: true"
    )


@checks.resource("encryption-at-rest", SNS_TOPIC)
def sns_encrypted(r: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    """SNS topics are not encrypted unless given a KMS key."""
    if not _is_set(r.known("kmsMasterKeyId")):
        yield f"{r.label} is not encrypted at rest: kmsMasterKeyId is unset; set kmsMasterKeyId to a KMS key"


@checks.resource("encryption-at-rest", LOG_GROUP, SECRET)
def encrypted_with_kms_key(r: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    """Logs and secrets carry sensitive data: encrypted with the platform's KMS key, not the default key."""
    if not _is_set(r.known("kmsKeyId")):
        yield (
            f"{r.label} is not encrypted with a customer-managed KMS key: kmsKeyId is unset; set kmsKeyId to a KMS key"
        )


@checks.resource("encryption-at-rest", ECR_REPOSITORY)
def ecr_encrypted_with_kms(r: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    """Images embed code and sometimes data: KMS encryption instead of the default AES256."""
    configurations = r.known("encryptionConfigurations") or []
    kind = None
    if isinstance(configurations, list) and configurations and isinstance(configurations[0], dict):
        kind = dig(configurations[0], "encryptionType")
    if kind not in ("KMS", "KMS_DSSE"):
        found = "unset (AES256)" if kind is None else shown(kind)
        yield (
            f"{r.label} is not encrypted with a KMS key: encryptionConfigurations.0.encryptionType is {found}; "
            'set encryptionType "KMS" with a kmsKey'
        )


@checks.resource("encryption-at-rest", RDS_CLUSTER, RDS_INSTANCE)
def rds_storage_encrypted(r: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    """Database storage, snapshots and replicas are encrypted only when storageEncrypted is set."""
    if r.type == RDS_CLUSTER and r.known("engineMode") == "serverless":
        return  # Aurora Serverless v1 storage is always encrypted
    value = r.known("storageEncrypted")
    if value is not True:
        yield (
            f"{r.label} is not encrypted at rest: storageEncrypted is {shown(value)}; "
            "set storageEncrypted: true (with kmsKeyId)"
        )


@checks.resource("encryption-at-rest", REPLICATION_GROUP)
def elasticache_encrypted(r: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    """Redis snapshots and swap hold cached prompts and sessions."""
    value = r.known("atRestEncryptionEnabled")
    if value is not True:
        yield (
            f"{r.label} is not encrypted at rest: atRestEncryptionEnabled is {shown(value)}; "
            "set atRestEncryptionEnabled: true (with kmsKeyId)"
        )


@checks.resource("encryption-at-rest", EFS_FILE_SYSTEM, EBS_VOLUME)
def volume_encrypted(r: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    """EFS file systems and EBS volumes are unencrypted unless asked (or an account default applies)."""
    value = r.known("encrypted")
    if value is not True:
        yield f"{r.label} is not encrypted at rest: encrypted is {shown(value)}; set encrypted: true (with kmsKeyId)"


# ---------------------------------------------------------------------------------------------
# kms-key-rotation


def _rotatable(r: Resource) -> bool:
    """Symmetric encryption keys in the default key store: the ones KMS can rotate."""
    spec = r.known("customerMasterKeySpec")
    usage = r.known("keyUsage")
    return (
        spec in (None, "SYMMETRIC_DEFAULT") and usage in (None, "ENCRYPT_DECRYPT") and not r.known("customKeyStoreId")
    )


@checks.resource("kms-key-rotation", KMS_KEY)
def kms_key_rotates(r: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    """A rotated key limits what one leaked key version can decrypt."""
    if not _rotatable(r):
        return
    enabled = r.known("enableKeyRotation")
    if enabled is not True:
        yield (
            f"{r.label} does not rotate automatically: enableKeyRotation is {shown(enabled)}; "
            "set enableKeyRotation: true"
        )
        return
    period = r.known("rotationPeriodInDays")
    maximum = config.get("maximumRotationDays", 365)
    if isinstance(period, int | float) and period > maximum:
        yield (
            f"{r.label} rotates too rarely: rotationPeriodInDays is {shown(period)}; "
            f"at most {maximum} days (maximumRotationDays)"
        )


# ---------------------------------------------------------------------------------------------
# tls-in-transit


def _allowed_ssl_policies(config: Mapping[str, Any]) -> list[str]:
    allowed: list[str] = [str(p) for p in config.get("allowedAlbSslPolicies") or ()]
    if config.get("minimumTlsVersion") == "1.3":
        allowed = [p for p in allowed if "TLS13-1-3" in p]
    return allowed


@checks.resource("tls-in-transit", LB_LISTENER, ALB_LISTENER)
def listener_tls(r: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    """HTTPS/TLS listeners use a TLS 1.2+ policy; HTTP listeners (HTTP is the ALB default) only redirect to HTTPS."""
    protocol = r.known("protocol")
    if protocol in ("HTTPS", "TLS"):
        yield from _listener_ssl_policy(r, config)
    elif protocol in (None, "HTTP"):
        yield from _http_redirects_to_https(r, "unset (HTTP)" if protocol is None else shown(protocol))


def _listener_ssl_policy(r: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    policy = r.known("sslPolicy")
    allowed = _allowed_ssl_policies(config)
    if policy in allowed:
        return
    found = "unset (the ELB default, ELBSecurityPolicy-2016-08)" if policy is None else shown(policy)
    example = f", e.g. {allowed[0]}" if allowed else ""
    minimum = config.get("minimumTlsVersion", "1.2")
    yield (
        f"{r.label} does not enforce TLS {minimum}+: sslPolicy is {found}; "
        f"use a policy from allowedAlbSslPolicies{example}"
    )


def _http_redirects_to_https(r: Resource, protocol: str) -> Iterator[str]:
    actions = r.known("defaultActions") or []
    if not isinstance(actions, list):
        return
    for index, action in enumerate(actions):
        if not isinstance(require_known(action, f"defaultActions.{index}"), dict):
            continue
        kind = require_known(action.get("type"), f"defaultActions.{index}.type")
        if kind != "redirect":
            path, value = f"defaultActions.{index}.type", kind
        else:
            value = dig(action, "redirect.protocol")
            if value == "HTTPS":
                continue
            path = f"defaultActions.{index}.redirect.protocol"
        yield (
            f"{r.label} serves plain HTTP: protocol is {protocol} and {path} is {shown(value)}; "
            'make every default action a redirect with protocol "HTTPS"'
        )
        return


@checks.resource("tls-in-transit", REPLICATION_GROUP)
def elasticache_tls(r: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    """Redis AUTH tokens and cached data cross the network: TLS required, not merely preferred."""
    enabled = r.known("transitEncryptionEnabled")
    if enabled is not True:
        yield (
            f"{r.label} accepts unencrypted connections: transitEncryptionEnabled is {shown(enabled)}; "
            'set transitEncryptionEnabled: true with transitEncryptionMode "required"'
        )
        return
    mode = r.known("transitEncryptionMode")
    if mode == "preferred":
        yield (
            f'{r.label} accepts unencrypted connections: transitEncryptionMode is "preferred"; '
            'set transitEncryptionMode "required"'
        )


_POSTGRES_FAMILY = re.compile(r"^(aurora-postgresql|postgres)(\d+)")
_MYSQL_FAMILY = re.compile(r"^(aurora-mysql|mysql|mariadb)")


def _tls_parameter(family: str) -> tuple[str, bool] | None:
    """The parameter that forces TLS for a family, and whether leaving it unset forces TLS."""
    postgres = _POSTGRES_FAMILY.match(family)
    if postgres:
        forced_by_default = postgres.group(1) == "postgres" and int(postgres.group(2)) >= 15
        return "rds.force_ssl", forced_by_default
    if _MYSQL_FAMILY.match(family):
        return "require_secure_transport", False
    return None


@checks.resource("tls-in-transit", RDS_CLUSTER_PARAMETER_GROUP, RDS_PARAMETER_GROUP)
def db_parameters_force_tls(r: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    """PostgreSQL and MySQL accept plain connections unless the parameter group forces TLS."""
    family = r.known("family")
    rule = _tls_parameter(family) if isinstance(family, str) else None
    if rule is None:
        return
    name, forced_by_default = rule
    value = None
    for index, parameter in enumerate(r.known("parameters") or []):
        parameter = require_known(parameter, f"parameters.{index}")
        if isinstance(parameter, dict) and require_known(parameter.get("name"), f"parameters.{index}.name") == name:
            value = require_known(parameter.get("value"), f"parameters.{index}.value")
    if value is None and forced_by_default:
        return
    if isinstance(value, str) and value.strip().upper() in ("1", "ON"):
        return
    found = f"unset (off on {family})" if value is None else shown(value)
    yield f"{r.label} does not force TLS: parameter {name} is {found}; set {name} to 1"


_DEFAULT_GROUP_ENGINES = re.compile(r"^aurora-(postgresql|mysql)$")


@checks.resource("tls-in-transit", RDS_CLUSTER)
def aurora_cluster_has_tls_parameters(r: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    """Aurora's default cluster parameter group does not force TLS: a cluster needs its own."""
    engine = r.known("engine")
    if not (isinstance(engine, str) and _DEFAULT_GROUP_ENGINES.match(engine)):
        return
    if not _is_set(r.known("dbClusterParameterGroupName")):
        yield (
            f"{r.label} uses the default cluster parameter group, which does not force TLS: "
            "dbClusterParameterGroupName is unset; use a cluster parameter group that sets "
            "rds.force_ssl (PostgreSQL) or require_secure_transport (MySQL) to 1"
        )


def policy_statements(value: Any) -> list[dict[str, Any]] | None:
    """The statements of an IAM policy document input (a JSON string or an object); None if unreadable."""
    document = parse_json(require_known(value, "policy"))
    if not isinstance(document, dict):
        return None
    statements = document.get("Statement")
    if isinstance(statements, dict):
        statements = [statements]
    if not isinstance(statements, list):
        return None
    return [s for s in statements if isinstance(s, dict)]


def _denies_insecure_transport(statement: Mapping[str, Any]) -> bool:
    if statement.get("Effect") != "Deny":
        return False
    condition = statement.get("Condition")
    if not isinstance(condition, dict):
        return False
    for operator in ("Bool", "BoolIfExists"):
        block = condition.get(operator)
        if isinstance(block, dict):
            value = block.get("aws:SecureTransport")
            values = value if isinstance(value, list) else [value]
            if any(str(v).lower() == "false" for v in values):
                return True
    return False


@checks.resource("tls-in-transit", SQS_QUEUE_POLICY, S3_BUCKET_POLICY)
def policy_denies_plain_http(r: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    """SQS and S3 answer plain HTTP unless the resource policy denies aws:SecureTransport = false."""
    statements = policy_statements(r.get("policy"))
    if statements is None or any(_denies_insecure_transport(s) for s in statements):
        return
    yield (
        f"{r.label} does not deny plain-HTTP access: policy has no Deny statement with Bool aws:SecureTransport "
        '"false"; add one (Effect Deny, Principal *, all actions)'
    )


# ---------------------------------------------------------------------------------------------
# no-public-data-services


@checks.resource("no-public-data-services", RDS_INSTANCE, RDS_CLUSTER_INSTANCE, RDS_CLUSTER)
def database_not_public(r: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    """A publicly accessible database gets a public DNS name and IP."""
    if r.known("publiclyAccessible") is True:
        yield (
            f"{r.label} is reachable from the internet: publiclyAccessible is true; "
            "set publiclyAccessible: false and keep it in private subnets"
        )


WORLD = ("0.0.0.0/0", "::/0")
PUBLIC_WEB_PORTS = (80, 443)


def _ports(protocol: Any, from_port: Any, to_port: Any) -> str:
    if str(protocol) in ("-1", "all") or from_port is None:
        return "all ports"
    if from_port == to_port or to_port is None:
        return f"{protocol} port {from_port}"
    return f"{protocol} ports {from_port}-{to_port}"


def _public_web_port(protocol: Any, from_port: Any, to_port: Any) -> bool:
    """The only world-open ingress allowed: TCP 80 or 443 alone (a public load balancer's listeners)."""
    return str(protocol).lower() in ("tcp", "6") and from_port == to_port and from_port in PUBLIC_WEB_PORTS


def _world_ingress(
    r: Resource, prefix: str, protocol: Any, from_port: Any, to_port: Any, cidrs: Sequence[tuple[str, Any]]
) -> Iterator[str]:
    for field, value in cidrs:
        values = value if isinstance(value, list) else [value]
        if any(v in WORLD for v in values if isinstance(v, str)) and not _public_web_port(protocol, from_port, to_port):
            yield (
                f"{r.label} opens {_ports(protocol, from_port, to_port)} to the internet: {prefix}{field} is "
                f"{shown(value)}; only TCP 80 and 443 (a public load balancer) may be open to 0.0.0.0/0 or ::/0"
            )
            return


@checks.resource("no-public-data-services", SG_INGRESS_RULE)
def ingress_rule_not_world_open(r: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    """World-open ingress reaches whatever the group protects: databases, caches, tasks."""
    yield from _world_ingress(
        r,
        "",
        r.known("ipProtocol"),
        r.known("fromPort"),
        r.known("toPort"),
        [("cidrIpv4", r.known("cidrIpv4")), ("cidrIpv6", r.known("cidrIpv6"))],
    )


@checks.resource("no-public-data-services", SG_RULE)
def sg_rule_not_world_open(r: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    """The same condition for the classic security group rule resource (ingress rules only)."""
    if r.known("type") != "ingress":
        return
    yield from _world_ingress(
        r,
        "",
        r.known("protocol"),
        r.known("fromPort"),
        r.known("toPort"),
        [("cidrBlocks", r.known("cidrBlocks")), ("ipv6CidrBlocks", r.known("ipv6CidrBlocks"))],
    )


@checks.resource("no-public-data-services", SG, DEFAULT_SG)
def sg_inline_ingress_not_world_open(r: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    """The same condition for inline ``ingress`` blocks of a security group."""
    rules = r.known("ingress") or []
    if not isinstance(rules, list):
        return
    for index, rule in enumerate(rules):
        if not isinstance(require_known(rule, f"ingress.{index}"), dict):
            continue
        yield from _world_ingress(
            r,
            f"ingress.{index}.",
            require_known(rule.get("protocol"), f"ingress.{index}.protocol"),
            require_known(rule.get("fromPort"), f"ingress.{index}.fromPort"),
            require_known(rule.get("toPort"), f"ingress.{index}.toPort"),
            [
                ("cidrBlocks", require_known(rule.get("cidrBlocks"), f"ingress.{index}.cidrBlocks")),
                ("ipv6CidrBlocks", require_known(rule.get("ipv6CidrBlocks"), f"ingress.{index}.ipv6CidrBlocks")),
            ],
        )


def _anyone(principal: Any) -> bool:
    if principal == "*":
        return True
    if isinstance(principal, dict):
        for value in principal.values():
            values = value if isinstance(value, list) else [value]
            if "*" in values:
                return True
    return False


@checks.resource(
    "no-public-data-services",
    SQS_QUEUE,
    SQS_QUEUE_POLICY,
    ECR_REPOSITORY_POLICY,
    SECRET,
    SECRET_POLICY,
    S3_BUCKET_POLICY,
)
def policy_allows_no_anonymous_principal(r: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    """An Allow to Principal * without a Condition opens a queue, registry, secret or bucket to every AWS account."""
    if r.get("policy") is None:
        return
    for index, statement in enumerate(policy_statements(r.get("policy")) or []):
        if (
            statement.get("Effect") == "Allow"
            and _anyone(statement.get("Principal"))
            and not statement.get("Condition")
        ):
            sid = f" ({shown(statement['Sid'])})" if statement.get("Sid") else ""
            yield (
                f"{r.label} allows anyone: policy statement {index}{sid} allows Principal * without a Condition; "
                "name the principals, or add a Condition (aws:SourceArn, aws:SourceAccount, aws:PrincipalOrgID)"
            )


_PUBLIC_ACCESS_FLAGS = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")


@checks.resource("no-public-data-services", S3_PUBLIC_ACCESS_BLOCK)
def bucket_blocks_public_access(r: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    """All four public access block flags: any one off lets an ACL or policy make the bucket public."""
    for flag in _PUBLIC_ACCESS_FLAGS:
        value = r.known(flag)
        if value is not True:
            yield (
                f"{r.label} does not block public access: {flag} is {shown(value)}; "
                "set blockPublicAcls, blockPublicPolicy, ignorePublicAcls and restrictPublicBuckets to true"
            )


# ---------------------------------------------------------------------------------------------
# rate-limiting and request-size-limits (WAFv2 web ACLs)


def _acl_rules(r: Resource) -> list[dict[str, Any]]:
    rules = r.known("rules") or []
    if not isinstance(rules, list):
        return []
    return [require_known(rule, "rules") for rule in rules if isinstance(rule, dict) or is_unknown(rule)]


def _action(rule: Mapping[str, Any]) -> str | None:
    """The action a rule takes (``block``, ``count``, ...), or its rule-group override (``none``, ``count``)."""
    for key in ("action", "overrideAction"):
        value = require_known(rule.get(key), key)
        if isinstance(value, dict):
            names = [name for name, setting in value.items() if setting is not None]
            if names:
                return names[0]
    return None


def _rule_name(rule: Mapping[str, Any], index: int) -> str:
    name = rule.get("name")
    return name if isinstance(name, str) else str(index)


@checks.resource("rate-limiting", WEB_ACL)
def web_acl_rate_limits(r: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    """A rate-based rule caps requests per client; in prod it must block, not only count."""
    rules = [(i, rule) for i, rule in enumerate(_acl_rules(r)) if dig(rule, "statement.rateBasedStatement")]
    if not rules:
        yield (
            f"{r.label} has no rate limit: no rule in rules has a rateBasedStatement; "
            "add a rate-based rule (a request limit per client IP)"
        )
        return
    if r.is_prod(config) and not any(_action(rule) == "block" for _, rule in rules):
        index, rule = rules[0]
        yield (
            f"{r.label} does not block rate-limited clients in prod: rules.{index}.action "
            f"({_rule_name(rule, index)}) is {shown(_action(rule))}; set the action to block"
        )


def _statement(rule: Mapping[str, Any]) -> dict[str, Any]:
    statement = dig(rule, "statement")
    return statement if isinstance(statement, dict) else {}


def _limits_body(statement: Mapping[str, Any], maximum: int) -> bool:
    """Whether a statement matches every request whose body is larger than ``maximum`` bytes."""
    alternatives = dig(statement, "orStatement.statements")
    if isinstance(alternatives, list) and any(
        _limits_body(require_known(s, "orStatement.statements"), maximum)
        for s in alternatives
        if isinstance(s, dict) or is_unknown(s)
    ):
        return True
    if dig(statement, "sizeConstraintStatement.fieldToMatch.body") is not None:
        limit = dig(statement, "sizeConstraintStatement.size")
        operator = dig(statement, "sizeConstraintStatement.comparisonOperator")
        if isinstance(limit, int | float):
            return (operator == "GT" and limit <= maximum) or (operator == "GE" and limit <= maximum + 1)
    header = dig(statement, "regexMatchStatement.fieldToMatch.singleHeader.name")
    if isinstance(header, str) and header.lower() == "content-length":
        return _regex_matches_lengths_over(dig(statement, "regexMatchStatement.regexString"), maximum)
    return False


def _regex_matches_lengths_over(pattern: Any, maximum: int) -> bool:
    """A Content-Length regex limits the body if it matches lengths just over the maximum and far over it."""
    if not isinstance(pattern, str):
        return False
    try:
        compiled = re.compile(pattern)
    except re.error:
        return False
    samples = (maximum + 1, maximum * 2 + 1, maximum * 10 + 7, 10 ** (len(str(maximum)) + 2))
    return all(compiled.search(str(n)) for n in samples)


@checks.resource("request-size-limits", WEB_ACL)
def web_acl_limits_body_size(r: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    """Oversized bodies cost model tokens and memory: a rule must catch bodies over the maximum."""
    maximum = int(config.get("maximumBodyBytes", 10485760))
    rules = [(i, rule) for i, rule in enumerate(_acl_rules(r)) if _limits_body(_statement(rule), maximum)]
    if not rules:
        yield (
            f"{r.label} has no request body size limit of at most {maximum} bytes (maximumBodyBytes): no rule in rules "
            "matches larger bodies; add a rule that blocks them (a sizeConstraintStatement on the body, or a regex "
            "on the Content-Length header beyond WAF's body inspection limit)"
        )
        return
    if r.is_prod(config) and not any(_action(rule) == "block" for _, rule in rules):
        index, rule = rules[0]
        yield (
            f"{r.label} does not block oversized requests in prod: rules.{index}.action "
            f"({_rule_name(rule, index)}) is {shown(_action(rule))}; set the action to block"
        )


# ---------------------------------------------------------------------------------------------
# ECS task definitions: secrets, credentials, hardening, pinned images


def containers(r: Resource) -> list[dict[str, Any]]:
    """The container definitions of a task definition (a JSON string input); [] if unreadable."""
    parsed = parse_json(r.known("containerDefinitions"))
    if not isinstance(parsed, list):
        return []
    return [c for c in parsed if isinstance(c, dict)]


def _container_name(container: Mapping[str, Any], index: int) -> str:
    name = container.get("name")
    return name if isinstance(name, str) else str(index)


def _patterns(config: Mapping[str, Any], key: str) -> list[re.Pattern[str]]:
    compiled = []
    for pattern in config.get(key) or ():
        try:
            compiled.append(re.compile(pattern))
        except re.error:
            continue
    return compiled


_SECRET_REFERENCE = re.compile(r"^arn:aws[a-z-]*:(secretsmanager|ssm):")


def _secret_reasons(name: str, value: Any, config: Mapping[str, Any]) -> str | None:
    """Why an environment variable looks like a secret, without repeating its value.

    A value that is the ARN of a Secrets Manager secret or an SSM parameter is a reference, not a secret.
    """
    if isinstance(value, str) and _SECRET_REFERENCE.match(value):
        return None
    if any(p.search(name) for p in _patterns(config, "secretNamePatterns")):
        return "its name matches secretNamePatterns"
    if value == SECRET_MARKER:
        return "its value is a Pulumi secret"
    if isinstance(value, str) and any(p.search(value) for p in _patterns(config, "secretValuePatterns")):
        return "its value matches secretValuePatterns"
    return None


@checks.resource("secrets-not-in-plain-env", TASK_DEFINITION)
def ecs_secrets_are_references(r: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    """Plain environment values show in the console, DescribeTaskDefinition and the state file."""
    for index, container in enumerate(containers(r)):
        name = _container_name(container, index)
        for variable in container.get("environment") or []:
            if not isinstance(variable, dict) or not isinstance(variable.get("name"), str):
                continue
            reason = _secret_reasons(variable["name"], variable.get("value"), config)
            if reason:
                yield (
                    f"{r.label} puts a secret in the plain environment of container {name}: "
                    f"containerDefinitions[{name}].environment {variable['name']} is set and {reason}; "
                    "pass it as secrets[].valueFrom (a Secrets Manager or SSM parameter ARN)"
                )


@checks.resource("secrets-not-in-plain-env", LAMBDA_FUNCTION)
def lambda_secrets_not_in_env(r: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    """Lambda environment variables are readable by anyone with GetFunctionConfiguration."""
    variables = r.known("environment.variables") or {}
    if not isinstance(variables, dict):
        return
    for key, value in variables.items():
        reason = _secret_reasons(key, require_known(value, f"environment.variables.{key}"), config)
        if reason:
            yield (
                f"{r.label} puts a secret in a plain environment variable: environment.variables.{key} is set and "
                f"{reason}; pass the secret's ARN and read it from Secrets Manager at runtime"
            )


STATIC_AWS_CREDENTIALS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")


@checks.resource("no-static-credentials", TASK_DEFINITION)
def ecs_uses_task_role(r: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    """AWS keys handed to a container (plain or as a secret) are static credentials: use the task role."""
    for index, container in enumerate(containers(r)):
        name = _container_name(container, index)
        for field in ("environment", "secrets"):
            for variable in container.get(field) or []:
                if isinstance(variable, dict) and variable.get("name") in STATIC_AWS_CREDENTIALS:
                    yield (
                        f"{r.label} gives container {name} static AWS credentials: "
                        f"containerDefinitions[{name}].{field} sets {variable['name']}; "
                        "grant permissions to the task role (taskRoleArn) instead"
                    )


@checks.resource("no-static-credentials", ACCESS_KEY, SERVICE_SPECIFIC_CREDENTIAL)
def no_active_static_keys(r: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    """Long-lived keys leak and do not rotate; an inactive key (being retired) authenticates nothing."""
    status = r.known("status")
    if status != "Inactive":
        found = "unset (Active)" if status is None else shown(status)
        yield (
            f"{r.label} is an active static credential: status is {found}; use an IAM role "
            "(task role, instance profile, IAM Roles Anywhere) instead, and delete or deactivate the key"
        )


_ROOT_USERS = re.compile(r"^(root|0)(:.*)?$")


def _hardening_problems(
    container: Mapping[str, Any], name: str, task_cpu: Any, task_memory: Any
) -> Iterator[tuple[str, str]]:
    """(problem, field-and-remedy) pairs for one container."""
    prefix = f"containerDefinitions[{name}]"
    user = container.get("user")
    if not isinstance(user, str) or _ROOT_USERS.match(user.strip()):
        yield "runs as root", f'{prefix}.user is {shown(user)}; set a non-root user such as "10001:10001"'
    if container.get("readonlyRootFilesystem") is not True:
        value = container.get("readonlyRootFilesystem")
        yield "has a writable root filesystem", f"{prefix}.readonlyRootFilesystem is {shown(value)}; set it to true"
    if container.get("privileged") is True:
        yield "is privileged", f"{prefix}.privileged is true; set it to false"
    drop = peek(container, "linuxParameters.capabilities.drop")
    if not (isinstance(drop, list) and "ALL" in drop):
        yield (
            "keeps Linux capabilities",
            f'{prefix}.linuxParameters.capabilities.drop is {shown(drop)}; set it to ["ALL"]',
        )
    if not peek(container, "healthCheck.command"):
        yield (
            "has no health check",
            f"{prefix}.healthCheck is {shown(container.get('healthCheck'))}; set a healthCheck command "
            "(readiness comes from the target group health check)",
        )
    if task_memory is None and container.get("memory") is None and container.get("memoryReservation") is None:
        yield "has no memory limit", f"memory (task) and {prefix}.memory are unset; set the task's memory"
    if task_cpu is None and container.get("cpu") is None:
        yield "has no CPU limit", f"cpu (task) and {prefix}.cpu are unset; set the task's cpu"


@checks.resource("container-hardening", TASK_DEFINITION)
def ecs_containers_hardened(r: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    """Non-root, read-only, unprivileged, no capabilities, a health check, and bounded resources."""
    task_cpu, task_memory = r.known("cpu"), r.known("memory")
    for index, container in enumerate(containers(r)):
        name = _container_name(container, index)
        for problem, detail in _hardening_problems(container, name, task_cpu, task_memory):
            yield f"{r.label}: container {name} {problem}: {detail}"


_DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")
_ECR_IMAGE = re.compile(r"^\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(\.cn)?/[^@:]+:(?P<tag>[\w][\w.-]{0,127})$")


def pinned(image: str) -> bool:
    """By digest; or a tag (not ``latest``) in a private ECR repository, whose tags the ECR check keeps immutable."""
    if _DIGEST.search(image):
        return True
    ecr = _ECR_IMAGE.match(image)
    return bool(ecr and ecr.group("tag") != "latest")


@checks.resource("pinned-images", TASK_DEFINITION)
def ecs_images_pinned(r: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    """A movable tag lets a registry push change what runs without a deployment."""
    for index, container in enumerate(containers(r)):
        name = _container_name(container, index)
        image = container.get("image")
        if isinstance(image, str) and not pinned(image):
            yield (
                f"{r.label} runs container {name} from an unpinned image: containerDefinitions[{name}].image is "
                f"{shown(image)}; use repo@sha256:<digest>, or a tag in an ECR repository with immutable tags"
            )


@checks.resource("pinned-images", ECR_REPOSITORY)
def ecr_tags_immutable(r: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    """Immutable tags make every tag a pin: a pushed tag cannot be moved to another image."""
    value = r.known("imageTagMutability")
    if value != "IMMUTABLE":
        found = "unset (MUTABLE)" if value is None else shown(value)
        yield f'{r.label} lets image tags be overwritten: imageTagMutability is {found}; set it to "IMMUTABLE"'


# ---------------------------------------------------------------------------------------------
# log-retention and required-tags


@checks.resource("log-retention", LOG_GROUP)
def log_group_retention(r: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    """Short retention loses the logs an incident needs; 0 (or unset) means never expire."""
    days = r.known("retentionInDays")
    minimum = config.get("minimumRetentionDays", 30)
    if isinstance(days, int | float) and 0 < days < minimum:
        yield (
            f"{r.label} keeps logs too briefly: retentionInDays is {shown(days)}; "
            f"set at least {minimum} (minimumRetentionDays), or 0 to never expire"
        )


@checks.resource("required-tags", "aws:*")
def aws_required_tags(r: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    """Owner and cost-center on every resource whose inputs take a tags map (see aws_taggable.py)."""
    if r.type in TAGGABLE_TYPES:
        yield from missing_tags(r, config)


# ---------------------------------------------------------------------------------------------
# stack rules


def _prod(stack: Stack, config: Mapping[str, Any]) -> list[Resource]:
    return [r for r in stack.resources if r.package == "aws" and _safe_is_prod(r, config, stack)]


def _safe_is_prod(r: Resource, config: Mapping[str, Any], stack: Stack) -> bool:
    if is_unknown(r.get("tags")):
        return stack.environment() in set(config.get("prodEnvironments") or ("prod", "production"))
    return r.is_prod(config, stack)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or is_unknown(value):
        return None
    if isinstance(value, int | float):
        return value
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


@checks.stack("high-availability")
def prod_is_highly_available(stack: Stack, config: Mapping[str, Any]) -> Iterator[Violation]:
    """One task, one cache node or one database instance is an outage waiting for an AZ event."""
    minimum = int(config.get("minimumReplicas", 2))
    prod = _prod(stack, config)
    for r in prod:
        if r.type == ECS_SERVICE:
            yield from _service_replicas(r, minimum)
        elif r.type == SCALING_TARGET:
            yield from _scaling_floor(r, minimum)
        elif r.type == REPLICATION_GROUP:
            yield from _cache_multi_az(r)
        elif r.type == RDS_CLUSTER:
            yield from _aurora_instances(r, stack)
        elif r.type == RDS_INSTANCE:
            yield from _instance_multi_az(r)


def _service_replicas(r: Resource, minimum: int) -> Iterator[Violation]:
    if r.get("schedulingStrategy") == "DAEMON":
        return
    count = r.get("desiredCount")
    if is_unknown(count):
        return
    if (count or 0) < minimum:
        yield Violation(
            f"{r.label} runs fewer than {minimum} tasks in prod: desiredCount is {shown(count)}; "
            f"set at least {minimum} (minimumReplicas)",
            r.urn,
        )


def _scaling_floor(r: Resource, minimum: int) -> Iterator[Violation]:
    if r.get("serviceNamespace") != "ecs":
        return
    floor = r.get("minCapacity")
    if isinstance(floor, int | float) and floor < minimum:
        yield Violation(
            f"{r.label} lets the service scale in below {minimum} tasks in prod: minCapacity is {shown(floor)}; "
            f"set at least {minimum} (minimumReplicas)",
            r.urn,
        )


def _cache_multi_az(r: Resource) -> Iterator[Violation]:
    replicas = r.get("replicasPerNodeGroup")
    nodes = r.get("numCacheClusters")
    if replicas is not None:
        if isinstance(replicas, int) and replicas < 1:
            yield Violation(
                f"{r.label} has no replica in prod: replicasPerNodeGroup is {shown(replicas)}; set at least 1", r.urn
            )
    elif not is_unknown(nodes) and (nodes or 1) < 2:
        yield Violation(
            f"{r.label} has no replica in prod: numCacheClusters is {shown(nodes)}; set at least 2 (a primary and a "
            "replica in another AZ)",
            r.urn,
        )
    for field, problem in (("multiAzEnabled", "is not multi-AZ"), ("automaticFailoverEnabled", "does not fail over")):
        value = r.get(field)
        if not is_unknown(value) and value is not True:
            yield Violation(f"{r.label} {problem} in prod: {field} is {shown(value)}; set {field}: true", r.urn)


def _aurora_instances(r: Resource, stack: Stack) -> Iterator[Violation]:
    engine = r.get("engine")
    if not (isinstance(engine, str) and engine.startswith("aurora")) or r.get("engineMode") == "serverless":
        return
    identifier = r.get("clusterIdentifier")
    instances = [
        i
        for i in stack.of_type(RDS_CLUSTER_INSTANCE)
        if i.refers_to("clusterIdentifier", r)
        or (isinstance(identifier, str) and i.get("clusterIdentifier") == identifier)
    ]
    if len(instances) < 2:
        yield Violation(
            f"{r.label} has {len(instances)} cluster instance(s) in prod: Aurora needs at least 2 "
            f"{RDS_CLUSTER_INSTANCE} (a writer and a reader in another AZ) to fail over",
            r.urn,
        )


def _instance_multi_az(r: Resource) -> Iterator[Violation]:
    value = r.get("multiAz")
    if not is_unknown(value) and value is not True and r.get("replicateSourceDb") is None:
        yield Violation(f"{r.label} is single-AZ in prod: multiAz is {shown(value)}; set multiAz: true", r.urn)


def _application_lbs(stack: Stack) -> list[Resource]:
    return [r for r in stack.of_type(LB, ALB) if r.get("loadBalancerType") in (None, "application")]


@checks.stack("access-and-flow-logs")
def lbs_and_vpcs_log(stack: Stack, config: Mapping[str, Any]) -> Iterator[Violation]:
    """Access logs and flow logs are what an incident investigation starts from."""
    for lb in _application_lbs(stack):
        enabled = lb.get("accessLogs.enabled")
        if not is_unknown(enabled) and enabled is not True:
            yield Violation(
                f"{lb.label} writes no access logs: accessLogs.enabled is {shown(enabled)}; "
                "enable accessLogs to an S3 bucket",
                lb.urn,
            )
    for vpc in stack.of_type(VPC):
        if not stack.referring(vpc, FLOW_LOG, "vpcId"):
            yield Violation(
                f"{vpc.label} has no flow log: no {FLOW_LOG} has vpcId pointing at it; "
                "add a flow log (trafficType ALL)",
                vpc.urn,
            )


def _counts_only(acl: Resource) -> bool:
    """A web ACL that lets everything through: default allow and no rule that blocks."""
    if is_unknown(acl.get("rules")) or is_unknown(acl.get("defaultAction")):
        return False
    if "block" in (acl.get("defaultAction") or {}):
        return False
    rules = acl.get("rules") or []
    if not isinstance(rules, list):
        return False
    for rule in rules:
        if not isinstance(rule, dict) or any(is_unknown(rule.get(k)) for k in ("action", "overrideAction")):
            return False  # not decidable during preview: assume it blocks
        if _action(rule) in ("block", "none", "captcha", "challenge"):
            return False
    return True


def _counting_acls(entry: Resource, attached: list[Resource], acls: list[Resource]) -> Iterator[Violation]:
    """The web ACLs associated with ``entry`` (by ``attached``) that only count: reported in prod."""
    for association in attached:
        for acl in acls:
            if association.refers_to("webAclArn", acl) and _counts_only(acl):
                yield Violation(
                    f"{acl.label} protecting {entry.label} only counts requests in prod: no rule blocks and "
                    "defaultAction is allow; set the rules' action to block (overrideAction none for rule groups)",
                    acl.urn,
                )


@checks.stack("waf-on-entry-points")
def internet_facing_lbs_have_waf(stack: Stack, config: Mapping[str, Any]) -> Iterator[Violation]:
    """The WAF carries the managed rules and the rate and size limits; in prod it must block."""
    acls = stack.of_type(WEB_ACL)
    for lb in _application_lbs(stack):
        if lb.get("internal") is True or is_unknown(lb.get("internal")):
            continue
        attached = stack.referring(lb, WEB_ACL_ASSOCIATION, "resourceArn")
        if not attached:
            yield Violation(
                f"{lb.label} is internet-facing without a WAF: no {WEB_ACL_ASSOCIATION} has resourceArn pointing at "
                "it; associate a WAFv2 web ACL",
                lb.urn,
            )
            continue
        if _safe_is_prod(lb, config, stack):
            yield from _counting_acls(lb, attached, acls)


# ---------------------------------------------------------------------------------------------
# The Lambda runtime: functions, REST API stages and custom domains


@checks.resource("serverless-hardening", LAMBDA_FUNCTION)
def lambda_function_hardened(r: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    """Reserved concurrency caps a spike (and a runaway bill) without starving the account's other
    functions; a VPC puts the data stores' security groups in charge; tracing shows where time went."""
    reserved = r.get("reservedConcurrentExecutions")
    if not is_unknown(reserved) and (reserved is None or (isinstance(reserved, int) and reserved < 0)):
        yield (
            f"{r.label} has no reserved concurrency: reservedConcurrentExecutions is {shown(reserved)}; "
            "set it, so a spike cannot take the account's whole concurrency pool"
        )
    subnets = r.get("vpcConfig.subnetIds")
    if not is_unknown(subnets) and not subnets:
        yield (
            f"{r.label} runs outside a VPC: vpcConfig.subnetIds is {shown(subnets)}; "
            "give it the private subnets and a security group"
        )
    mode = r.get("tracingConfig.mode")
    if not is_unknown(mode) and mode != "Active":
        yield f"{r.label} is not traced: tracingConfig.mode is {shown(mode)}; set Active (X-Ray)"


@checks.resource("serverless-hardening", API_STAGE)
def api_stage_traced(r: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    """The stage's traces join the function's, so one request reads end to end."""
    traced = r.get("xrayTracingEnabled")
    if not is_unknown(traced) and traced is not True:
        yield f"{r.label} is not traced: xrayTracingEnabled is {shown(traced)}; set true"


@checks.resource("serverless-hardening", REST_API)
def rest_api_default_endpoint_disabled(r: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    """The ``execute-api`` endpoint bypasses the custom domain (and whatever is attached to it)."""
    disabled = r.get("disableExecuteApiEndpoint")
    if r.is_prod(config) and not is_unknown(disabled) and disabled is not True:
        yield (
            f"{r.label} keeps its default execute-api endpoint in prod: disableExecuteApiEndpoint is "
            f"{shown(disabled)}; set true so every request passes the custom domain"
        )


#: REST API domain security policies that allow TLS 1.0 or 1.1
_OLD_TLS_DOMAIN_POLICY = re.compile(r"TLS_1_0|TLS_1_1|TLS1[01]", re.IGNORECASE)


@checks.resource("tls-in-transit", API_DOMAIN)
def api_domain_tls(r: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    """A custom domain negotiates only TLS 1.2 or newer."""
    policy = r.get("securityPolicy")
    if is_unknown(policy):
        return
    if not isinstance(policy, str) or _OLD_TLS_DOMAIN_POLICY.search(policy):
        yield (
            f"{r.label} accepts TLS older than 1.2: securityPolicy is {shown(policy)}; "
            "set TLS_1_2 (or a SecurityPolicy_TLS13_* policy)"
        )


def _public_stages(stack: Stack) -> list[tuple[Resource, Resource | None]]:
    """Each REST API stage with its API, unless the API is private (reachable only in a VPC)."""
    apis = stack.of_type(REST_API)
    found = []
    for stage in stack.of_type(API_STAGE):
        api = next((a for a in apis if stage.refers_to("restApi", a)), None)
        types = None if api is None else api.get("endpointConfiguration.types")
        if types == "PRIVATE" or (isinstance(types, list) and types == ["PRIVATE"]):
            continue
        found.append((stage, api))
    return found


@checks.stack("waf-on-entry-points")
def rest_api_stages_have_waf(stack: Stack, config: Mapping[str, Any]) -> Iterator[Violation]:
    """A REST API stage is an entry point like a load balancer: a web ACL must sit on it."""
    acls = stack.of_type(WEB_ACL)
    for stage, _ in _public_stages(stack):
        attached = stack.referring(stage, WEB_ACL_ASSOCIATION, "resourceArn")
        if not attached:
            yield Violation(
                f"{stage.label} is a public REST API stage without a WAF: no {WEB_ACL_ASSOCIATION} has "
                "resourceArn pointing at it; associate a WAFv2 web ACL",
                stage.urn,
            )
            continue
        if _safe_is_prod(stage, config, stack):
            yield from _counting_acls(stage, attached, acls)


def _settings_of(entry: Resource, stage: Resource, api: Resource | None) -> bool:
    """Whether method settings belong to ``stage``: by reference, or (state files) by the same
    stage name and API id."""
    if entry.refers_to("stageName", stage):
        return api is None or entry.refers_to("restApi", api) or entry.get("restApi") == stage.get("restApi")
    name, rest_api = entry.get("stageName"), entry.get("restApi")
    return isinstance(name, str) and name == stage.get("stageName") and rest_api == stage.get("restApi")


@checks.stack("api-stage-throttling")
def rest_api_stages_throttle(stack: Stack, config: Mapping[str, Any]) -> Iterator[Violation]:
    """Stage throttling bounds the steady rate and the burst for everyone together, below the WAF's
    per-IP limit: the function's concurrency is spent only on admitted requests."""
    settings = stack.of_type(API_METHOD_SETTINGS)
    for stage, api in _public_stages(stack):
        throttled = False
        for entry in settings:
            if not _settings_of(entry, stage, api):
                continue
            rate, burst = entry.get("settings.throttlingRateLimit"), entry.get("settings.throttlingBurstLimit")
            if is_unknown(rate) or is_unknown(burst):
                throttled = True  # not decidable during preview
            elif (_number(rate) or 0) > 0 and (_number(burst) or 0) > 0:
                throttled = True
        if not throttled:
            yield Violation(
                f"{stage.label} is not throttled: no {API_METHOD_SETTINGS} for it sets settings.throttlingRateLimit "
                "and settings.throttlingBurstLimit above 0; add method settings (methodPath */*) with both",
                stage.urn,
            )


@checks.stack("data-protection")
def prod_data_is_protected(stack: Stack, config: Mapping[str, Any]) -> Iterator[Violation]:
    """A prod database must survive a mistaken delete and keep point-in-time backups."""
    minimum = int(config.get("minimumBackupRetentionDays", 7))
    for r in _prod(stack, config):
        if r.type in (RDS_CLUSTER, RDS_INSTANCE):
            yield from _database_protected(r, minimum)
        elif r.type == REPLICATION_GROUP:
            yield from _cache_snapshots(r)


def _database_protected(r: Resource, minimum: int) -> Iterator[Violation]:
    engine = r.get("engine")
    if r.type == RDS_INSTANCE and isinstance(engine, str) and engine.startswith("aurora"):
        return  # instances of an Aurora cluster: the cluster carries these settings
    protection = r.get("deletionProtection")
    if not is_unknown(protection) and protection is not True:
        yield Violation(
            f"{r.label} can be deleted in prod: deletionProtection is {shown(protection)}; "
            "set deletionProtection: true",
            r.urn,
        )
    retention = r.get("backupRetentionPeriod")
    days = 1 if retention is None else _number(retention)
    if days is not None and days < minimum:
        found = "unset (1 day)" if retention is None else shown(retention)
        yield Violation(
            f"{r.label} keeps backups too briefly in prod: backupRetentionPeriod is {found}; "
            f"set at least {minimum} (minimumBackupRetentionDays)",
            r.urn,
        )
    if r.get("skipFinalSnapshot") is True:
        yield Violation(
            f"{r.label} skips the final snapshot in prod: skipFinalSnapshot is true; "
            "set it to false with a finalSnapshotIdentifier",
            r.urn,
        )


def _cache_snapshots(r: Resource) -> Iterator[Violation]:
    limit = r.get("snapshotRetentionLimit")
    if not is_unknown(limit) and not (isinstance(limit, int) and limit >= 1):
        yield Violation(
            f"{r.label} takes no snapshots in prod: snapshotRetentionLimit is {shown(limit)}; set at least 1",
            r.urn,
        )


# ---------------------------------------------------------------------------------------------
# facts for budget-and-alerts


@checks.fact("budget")
def aws_budget_notifies(r: Resource) -> bool:
    """An AWS Budget counts when at least one notification has a subscriber (e-mail or SNS)."""
    if r.type != BUDGET:
        return False
    notifications = r.get("notifications")
    if not isinstance(notifications, list):
        return False
    return any(peek(n, "subscriberEmailAddresses") or peek(n, "subscriberSnsTopicArns") for n in notifications)


LATENCY_METRICS = frozenset({"TargetResponseTime", "Latency", "IntegrationLatency", "Duration"})
ERROR_METRICS = re.compile(r"5xx|5XX", re.IGNORECASE)


def _alarm_metrics(r: Resource) -> list[str]:
    """Metric names an alarm watches: its own metricName and those of its metric queries."""
    if r.type != METRIC_ALARM:
        return []
    names = [r.get("metricName")]
    queries = r.get("metricQueries")
    if isinstance(queries, list):
        names += [peek(q, "metric.metricName") for q in queries]
    return [n for n in names if isinstance(n, str)]


@checks.fact("latency-alert")
def aws_latency_alarm(r: Resource) -> bool:
    """A CloudWatch alarm on response time (ALB TargetResponseTime, API Gateway Latency), p95 included."""
    return any(name in LATENCY_METRICS for name in _alarm_metrics(r))


@checks.fact("error-alert")
def aws_error_alarm(r: Resource) -> bool:
    """A CloudWatch alarm on 5xx responses (ALB HTTPCode_*_5XX_Count, API Gateway 5XXError)."""
    return any(ERROR_METRICS.search(name) for name in _alarm_metrics(r))
