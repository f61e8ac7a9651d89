"""AWS deploy-readiness invariants: what would stop the first ``pulumi up`` on AWS.

Each is written once, as a table of the resource types it knows plus one check, so a new block
extends the table rather than the check. ``findings(graph)`` runs them all (with the generic
ones and the IAM policy lint); it is what ``ai-platform plan`` and CI call for AWS stacks.
"""

from __future__ import annotations

import fnmatch
import json
import re
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from components.readiness import GENERIC, Finding, Invariant, Order, check, finding, invariant
from components.testing import Graph, GraphResource

KMS_KEY = "aws:kms/key:Key"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
TARGET_GROUP = "aws:lb/targetGroup:TargetGroup"
LISTENER = "aws:lb/listener:Listener"
LISTENER_RULE = "aws:lb/listenerRule:ListenerRule"
ROLE = "aws:iam/role:Role"
ECS_SERVICE = "aws:ecs/service:Service"
TASK_DEFINITION = "aws:ecs/taskDefinition:TaskDefinition"
LAMBDA_FUNCTION = "aws:lambda/function:Function"
LAMBDA_ALIAS = "aws:lambda/alias:Alias"
LAMBDA_PERMISSION = "aws:lambda/permission:Permission"
API_INTEGRATION = "aws:apigateway/integration:Integration"
REST_API = "aws:apigateway/restApi:RestApi"
PARLIAMENT_CONFIG = Path(__file__).with_name("parliament.yaml")


# --- KMS: every encrypted resource is allowed by its key's policy -------------------------------


@dataclass(frozen=True)
class KeyUse:
    """How a service uses a customer-managed key for a resource.

    ``principal``: the service calls KMS as its own service principal (CloudWatch Logs) rather than
    on behalf of the caller (``kms:ViaService``). ``grants``: the service keeps a grant on the key
    for the life of the resource, so it also needs ``kms:CreateGrant`` (and ``kms:DescribeKey``).
    """

    service: str
    principal: bool = False
    grants: bool = False

    @property
    def actions(self) -> tuple[str, ...]:
        if self.principal:
            return ("kms:Encrypt", "kms:Decrypt", "kms:ReEncryptFrom", "kms:GenerateDataKey", "kms:DescribeKey")
        if self.grants:
            return ("kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey", "kms:CreateGrant")
        return ("kms:Decrypt", "kms:GenerateDataKey")


#: (resource type, input naming the key) -> how the service uses the key
KEY_USERS: dict[tuple[str, str], KeyUse] = {
    ("aws:secretsmanager/secret:Secret", "kmsKeyId"): KeyUse("secretsmanager"),
    ("aws:sqs/queue:Queue", "kmsMasterKeyId"): KeyUse("sqs"),
    ("aws:sns/topic:Topic", "kmsMasterKeyId"): KeyUse("sns"),
    (LOG_GROUP, "kmsKeyId"): KeyUse("logs", principal=True),
    ("aws:rds/cluster:Cluster", "kmsKeyId"): KeyUse("rds", grants=True),
    # the RDS-managed master password is a Secrets Manager secret encrypted with this key
    ("aws:rds/cluster:Cluster", "masterUserSecretKmsKeyId"): KeyUse("secretsmanager"),
    ("aws:rds/clusterInstance:ClusterInstance", "performanceInsightsKmsKeyId"): KeyUse("rds", grants=True),
    ("aws:elasticache/replicationGroup:ReplicationGroup", "kmsKeyId"): KeyUse("elasticache", grants=True),
    ("aws:ecr/repository:Repository", "encryptionConfigurations"): KeyUse("ecr", grants=True),
}
_ENCRYPTION_INPUT = re.compile(r"kms|encrypt", re.IGNORECASE)


def _as_list(value: Any) -> list[Any]:
    return [value] if isinstance(value, str) else list(value or [])


def _region_and_account(key: GraphResource) -> tuple[str, str]:
    """From the key's ARN (``arn:<partition>:kms:<region>:<account>:key/<id>``)."""
    parts = str(key.outputs.get("arn", "")).split(":")
    return (parts[3], parts[4]) if len(parts) >= 6 else ("", "")


def _key_policy(key: GraphResource) -> list[Mapping[str, Any]]:
    """The key's policy statements; without one, AWS's default policy (the account, through IAM)."""
    policy = key.inputs.get("policy")
    if not isinstance(policy, str):
        _, account = _region_and_account(key)
        return [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account}:root"}, "Action": "kms:*"}]
    statements = json.loads(policy).get("Statement", [])
    return [statements] if isinstance(statements, dict) else statements


def _principal_matches(statement: Mapping[str, Any], use: KeyUse, account: str, region: str) -> bool:
    principal = statement.get("Principal")
    if principal == "*":
        return not use.principal
    if not isinstance(principal, Mapping):
        return False
    if use.principal:
        services = _as_list(principal.get("Service"))
        return f"{use.service}.{region}.amazonaws.com" in services or f"{use.service}.amazonaws.com" in services
    aws = _as_list(principal.get("AWS"))
    return "*" in aws or account in aws or any(a.endswith(f":iam::{account}:root") for a in aws)


def _conditions_hold(statement: Mapping[str, Any], use: KeyUse, account: str, region: str) -> bool:
    """Whether the conditions this check understands hold for ``use``; others are assumed met
    (``kms:GrantIsForAWSResource`` is, for services that grant themselves)."""
    endpoint = f"{use.service}.{region}.amazonaws.com"
    for entries in (statement.get("Condition") or {}).values():
        for key, expected in entries.items():
            values = _as_list(expected)
            if key.lower() == "kms:viaservice":
                if use.principal or not any(fnmatch.fnmatchcase(endpoint, v) for v in values):
                    return False
            elif key.lower() == "kms:calleraccount" and account not in values:
                return False
    return True


def _allowed(statements: list[Mapping[str, Any]], action: str, use: KeyUse, account: str, region: str) -> bool:
    def applies(statement: Mapping[str, Any]) -> bool:
        actions = _as_list(statement.get("Action"))
        return (
            any(fnmatch.fnmatchcase(action.lower(), a.lower()) for a in actions)
            and _principal_matches(statement, use, account, region)
            and _conditions_hold(statement, use, account, region)
        )

    denied = any(s.get("Effect") == "Deny" and not s.get("Condition") and applies(s) for s in statements)
    return not denied and any(s.get("Effect") == "Allow" and applies(s) for s in statements)


@invariant("kms-key-policy-allows-its-users")
def key_policy_allows_users(order: Order) -> Iterable[Finding]:
    """Every resource encrypted with a customer-managed key is allowed by that key's policy, for
    the service that uses it (with ``kms:CreateGrant`` where the service keeps a grant): otherwise
    creating the resource is denied at ``pulumi up``, after everything before it was created."""
    for resource in order.graph.resources:
        for key_input in resource.property_dependencies:
            if not _ENCRYPTION_INPUT.search(key_input):
                continue
            for key in order.referenced(resource, key_input, KMS_KEY):
                use = KEY_USERS.get((resource.type, key_input))
                if use is None:
                    yield finding(
                        resource,
                        key,
                        message=f"{resource.name} ({resource.type}) is encrypted with {key.name} through "
                        f"{key_input!r}, a use readiness does not know: add it to KEY_USERS in "
                        "components/aws/readiness.py, with the service that uses the key",
                    )
                    continue
                region, account = _region_and_account(key)
                statements = _key_policy(key)
                missing = [a for a in use.actions if not _allowed(statements, a, use, account, region)]
                if missing:
                    who = (
                        f"the service principal {use.service}.{region}.amazonaws.com"
                        if use.principal
                        else f"this account's principals with kms:ViaService {use.service}.{region}.amazonaws.com"
                    )
                    yield finding(
                        resource,
                        key,
                        message=f"{resource.name} ({resource.type}) is encrypted with {key.name}, but the key "
                        f"policy does not allow {who} to call {', '.join(missing)}: add them to the key policy",
                    )


# --- a service behind a load balancer waits for its listener ------------------------------------


def _listeners_forwarding_to(order: Order, target_group: GraphResource) -> list[GraphResource]:
    listeners = order.referencing(LISTENER, "defaultActions", target_group)
    for rule in order.referencing(LISTENER_RULE, "actions", target_group):
        listeners += order.referenced(rule, "listenerArn", LISTENER)
    return listeners


@invariant("service-waits-for-its-listener")
def service_waits_for_listener(order: Order) -> Iterable[Finding]:
    """An ECS service registered with a target group is created after a listener forwards to that
    group: ECS rejects a target group that has no load balancer, and the HTTPS listener itself
    waits minutes for certificate validation."""
    for service in order.graph.of_type(ECS_SERVICE):
        for target_group in order.referenced(service, "loadBalancers", TARGET_GROUP):
            listeners = _listeners_forwarding_to(order, target_group)
            if not listeners:
                yield finding(
                    service,
                    target_group,
                    message=f"{service.name} registers with {target_group.name}, but no listener forwards to it: "
                    "ECS would reject the target group; add a listener (or rule) forwarding to it",
                )
            elif not any(order.waits_for(service, listener) for listener in listeners):
                yield finding(
                    service,
                    *listeners,
                    message=f"{service.name} does not wait for {' or '.join(x.name for x in listeners)}, the "
                    f"listener forwarding to {target_group.name}: make the service depend on it",
                )


# --- compute waits for its roles' policies ------------------------------------------------------

#: resource type -> inputs naming the IAM roles it runs with
ROLE_USERS: dict[str, tuple[str, ...]] = {
    TASK_DEFINITION: ("executionRoleArn", "taskRoleArn"),
    "aws:rds/clusterInstance:ClusterInstance": ("monitoringRoleArn",),
    LAMBDA_FUNCTION: ("role",),
}
#: resource types that run another resource's roles: type -> (input, the referenced type)
ROLE_USERS_THROUGH: dict[str, tuple[str, str]] = {ECS_SERVICE: ("taskDefinition", TASK_DEFINITION)}
#: what attaches permissions to a role: type -> the input naming the role
ROLE_POLICIES: dict[str, str] = {
    "aws:iam/rolePolicy:RolePolicy": "role",
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": "role",
}


def _roles(order: Order, resource: GraphResource) -> list[GraphResource]:
    roles = [r for key in ROLE_USERS.get(resource.type, ()) for r in order.referenced(resource, key, ROLE)]
    through = ROLE_USERS_THROUGH.get(resource.type)
    if through is not None:
        key, type_token = through
        for used in order.referenced(resource, key, type_token):
            roles += _roles(order, used)
    return roles


@invariant("compute-waits-for-role-policies")
def compute_waits_for_role_policies(order: Order) -> Iterable[Finding]:
    """What runs with an IAM role is created after the role's policies: a role exists before its
    policies do, and a task started in between cannot pull its image or read its secrets (RDS
    rejects a monitoring role without its policy outright)."""
    for resource in order.graph.resources:
        if resource.type not in ROLE_USERS and resource.type not in ROLE_USERS_THROUGH:
            continue
        for role in _roles(order, resource):
            for policy_type, key in ROLE_POLICIES.items():
                for policy in order.referencing(policy_type, key, role):
                    if not order.waits_for(resource, policy):
                        yield finding(
                            resource,
                            policy,
                            message=f"{resource.name} ({resource.type}) runs with {role.name} but does not wait "
                            f"for its policy {policy.name}: make it depend on the policy",
                        )


# --- API Gateway may invoke the functions it integrates -----------------------------------------

API_GATEWAY = "apigateway.amazonaws.com"


def _integrated_functions(order: Order, integration: GraphResource) -> list[tuple[GraphResource, str | None]]:
    """(function, alias name or None) of a Lambda proxy integration's ``uri``."""
    found: list[tuple[GraphResource, str | None]] = [
        (f, None) for f in order.referenced(integration, "uri", LAMBDA_FUNCTION)
    ]
    for alias in order.referenced(integration, "uri", LAMBDA_ALIAS):
        name = alias.inputs.get("name") or alias.outputs.get("name")
        found += [(f, str(name)) for f in order.referenced(alias, "functionName", LAMBDA_FUNCTION)]
    return found


@invariant("api-gateway-may-invoke-its-functions")
def api_gateway_may_invoke(order: Order) -> Iterable[Finding]:
    """A Lambda proxy integration needs the function's resource policy to admit API Gateway, for
    the qualifier it invokes and only from that API (``SourceArn``): without it every request is a
    500, and without the source any API in any account could invoke the function."""
    for integration in order.graph.of_type(API_INTEGRATION):
        if integration.inputs.get("type") != "AWS_PROXY":
            continue
        apis = order.referenced(integration, "restApi", REST_API)
        for function, qualifier in _integrated_functions(order, integration):
            permissions = [
                p
                for p in order.referencing(LAMBDA_PERMISSION, "function", function)
                if p.inputs.get("principal") == API_GATEWAY and p.inputs.get("qualifier") == qualifier
            ]
            target = function.name if qualifier is None else f"{function.name}:{qualifier}"
            if not permissions:
                yield finding(
                    integration,
                    function,
                    message=f"{integration.name} invokes {target}, but no aws:lambda/permission:Permission lets "
                    f"{API_GATEWAY} invoke it (qualifier {qualifier!r}): add one with sourceArn <api execution arn>/*",
                )
                continue
            for permission in permissions:
                if not any(order.referenced(permission, "sourceArn", REST_API) == [api] for api in apis):
                    yield finding(
                        permission,
                        message=f"{permission.name} lets {API_GATEWAY} invoke {target} without a sourceArn of "
                        f"the integrating API: scope it to that API's execution ARN",
                    )


# --- log groups exist before whatever writes to them --------------------------------------------


def _log_group_name(reference: str) -> str:
    """A log group name from a name or an ARN (``arn:...:log-group:<name>[:*]``)."""
    if reference.startswith("arn:"):
        return reference.split(":log-group:", 1)[-1].removesuffix(":*")
    return reference


def _ecs_log_groups(r: GraphResource) -> list[str]:
    definitions = r.inputs.get("containerDefinitions")
    if not isinstance(definitions, str) or not definitions.startswith("["):
        return []
    return [
        c["logConfiguration"]["options"]["awslogs-group"]
        for c in json.loads(definitions)
        if (c.get("logConfiguration") or {}).get("logDriver") == "awslogs"
        and "awslogs-group" in c["logConfiguration"].get("options", {})
    ]


def _flow_log_groups(r: GraphResource) -> list[str]:
    if r.inputs.get("logDestinationType", "cloud-watch-logs") != "cloud-watch-logs":
        return []
    return [x for x in (r.inputs.get("logDestination"), r.inputs.get("logGroupName")) if isinstance(x, str)]


def _waf_log_groups(r: GraphResource) -> list[str]:
    return [d for d in r.inputs.get("logDestinationConfigs", []) if ":log-group:" in d]


def _elasticache_log_groups(r: GraphResource) -> list[str]:
    return [
        c["destination"]
        for c in r.inputs.get("logDeliveryConfigurations", [])
        if c.get("destinationType") == "cloudwatch-logs" and "destination" in c
    ]


def _rds_log_groups(r: GraphResource) -> list[str]:
    identifier = r.inputs.get("clusterIdentifier") or r.outputs.get("clusterIdentifier")
    return [f"/aws/rds/cluster/{identifier}/{e}" for e in r.inputs.get("enabledCloudwatchLogsExports", [])]


def _lambda_log_groups(r: GraphResource) -> list[str]:
    """A function's ``loggingConfig.logGroup``, else Lambda's default ``/aws/lambda/<name>``."""
    configured = (r.inputs.get("loggingConfig") or {}).get("logGroup")
    if isinstance(configured, str) and configured:
        return [configured]
    name = r.inputs.get("name") or r.outputs.get("name")
    return [f"/aws/lambda/{name}"] if isinstance(name, str) else []


#: resource type -> the log groups (names or ARNs) it writes to
LOG_WRITERS = {
    LAMBDA_FUNCTION: _lambda_log_groups,
    TASK_DEFINITION: _ecs_log_groups,
    "aws:ec2/flowLog:FlowLog": _flow_log_groups,
    "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration": _waf_log_groups,
    "aws:elasticache/replicationGroup:ReplicationGroup": _elasticache_log_groups,
    "aws:rds/cluster:Cluster": _rds_log_groups,
}


@invariant("log-groups-before-writers")
def log_groups_before_writers(order: Order) -> Iterable[Finding]:
    """A log group exists before whatever writes to it. Otherwise the writer fails, or the service
    creates the group itself: kept forever, not encrypted with the platform key."""
    groups = {str(g.inputs.get("name") or g.outputs.get("name")): g for g in order.graph.of_type(LOG_GROUP)}
    for writer in order.graph.resources:
        for reference in LOG_WRITERS.get(writer.type, lambda _: [])(writer):
            name = _log_group_name(reference)
            group = groups.get(name)
            if group is None:
                yield finding(
                    writer,
                    message=f"{writer.name} ({writer.type}) writes to log group {name!r}, which the program does "
                    "not create: create it (retention, KMS) with that name and make the writer depend on it",
                )
            elif not order.waits_for(writer, group):
                yield finding(
                    writer,
                    group,
                    message=f"{writer.name} ({writer.type}) writes to {group.name} ({name!r}) but does not wait "
                    "for it: make it depend on the log group",
                )


# --- every IAM policy document passes parliament, per kind of document -------------------------

#: (resource type, input) -> kind of policy document; parliament reads each kind differently
POLICY_DOCUMENTS: dict[tuple[str, str], str] = {
    ("aws:iam/rolePolicy:RolePolicy", "policy"): "identity",
    ("aws:iam/policy:Policy", "policy"): "identity",
    (ROLE, "assumeRolePolicy"): "trust",
    (KMS_KEY, "policy"): "key",
    ("aws:s3/bucketPolicy:BucketPolicy", "policy"): "resource",
    ("aws:sqs/queuePolicy:QueuePolicy", "policy"): "resource",
    ("aws:sns/topicPolicy:TopicPolicy", "policy"): "resource",
    ("aws:ecr/repositoryPolicy:RepositoryPolicy", "policy"): "resource",
    ("aws:secretsmanager/secretPolicy:SecretPolicy", "policy"): "resource",
    ("aws:ec2/vpcEndpoint:VpcEndpoint", "policy"): "resource",
}
KINDS = ("identity", "trust", "key", "resource")


@dataclass(frozen=True)
class Suppression:
    issue: str
    detail: str
    reason: str

    def covers(self, issue: str, detail: str) -> bool:
        return issue == self.issue and self.detail in detail


@cache
def suppressions(path: Path = PARLIAMENT_CONFIG) -> dict[str, tuple[Suppression, ...]]:
    """The accepted parliament findings per kind of document, from ``parliament.yaml``."""
    raw = yaml.safe_load(path.read_text()) or {}
    unknown = sorted(set(raw) - set(KINDS))
    if unknown:
        raise ValueError(f"{path.name}: unknown document kinds {unknown}; allowed: {list(KINDS)}")
    result: dict[str, tuple[Suppression, ...]] = {}
    for kind in KINDS:
        entries = []
        for i, entry in enumerate(raw.get(kind) or []):
            if not isinstance(entry, dict) or not entry.get("issue") or not str(entry.get("reason", "")).strip():
                raise ValueError(f"{path.name}: {kind}[{i}]={entry!r} needs an 'issue' and a 'reason'")
            entries.append(Suppression(str(entry["issue"]), str(entry.get("detail", "")), str(entry["reason"])))
        result[kind] = tuple(entries)
    return result


def _policy_documents(resource: GraphResource) -> Iterable[tuple[str, str]]:
    """(input, JSON) of every input that is an IAM policy document (an object with ``Statement``)."""
    for key, value in resource.inputs.items():
        if isinstance(value, str) and value.lstrip().startswith("{"):
            try:
                parsed = json.loads(value)
            except ValueError:
                continue
            if isinstance(parsed, dict) and "Statement" in parsed:
                yield key, value


def lint_document(document: str, kind: str) -> list[str]:
    """Parliament's findings on one policy document, minus those accepted for ``kind``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # parliament imports pkg_resources, deprecated
        import parliament

    accepted = suppressions()[kind]
    found = []
    for item in parliament.analyze_policy_string(document, ignore_private_auditors=True).findings:
        detail = item.detail if isinstance(item.detail, str) else json.dumps(item.detail)
        if not any(s.covers(item.issue, detail) for s in accepted):
            found.append(f"{item.issue}: {detail}")
    return sorted(set(found))


@invariant("iam-documents-pass-parliament")
def documents_pass_parliament(order: Order) -> Iterable[Finding]:
    """Every IAM policy document passes parliament: actions exist and each resource ARN fits its
    action, so IAM does not reject the document (or silently grant nothing) at ``pulumi up``.
    Accepted findings per kind of document are in ``parliament.yaml``, each with its reason."""
    for resource in order.graph.resources:
        for key, document in _policy_documents(resource):
            kind = POLICY_DOCUMENTS.get((resource.type, key))
            if kind is None:
                yield finding(
                    resource,
                    message=f"{resource.name} ({resource.type}) input {key!r} is a policy document of no known "
                    "kind: add it to POLICY_DOCUMENTS in components/aws/readiness.py",
                )
                continue
            for problem in lint_document(document, kind):
                yield finding(resource, message=f"{resource.name} {key} ({kind} policy): {problem}")


#: every invariant an AWS stack must pass (the generic ones first)
INVARIANTS: tuple[Invariant, ...] = (
    *GENERIC,
    key_policy_allows_users,
    service_waits_for_listener,
    compute_waits_for_role_policies,
    api_gateway_may_invoke,
    log_groups_before_writers,
    documents_pass_parliament,
)


def findings(graph: Graph) -> list[Finding]:
    """Every readiness finding on a planned AWS graph (empty when it is ready to deploy)."""
    return check(graph, INVARIANTS)
