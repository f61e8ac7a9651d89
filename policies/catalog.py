"""The production security checklist: every rule's name, description, severity, enforcement
level, remediation and config schema, in one place.

The checks that implement a rule live in the per-target modules (``policies/rules/<target>.py``)
and in ``policies/rules/common.py`` for rules that span targets; they register against these
names. Mandatory: the critical items (a deployment with a violation is blocked). Advisory: the
rest (reported, not blocking). Both can be changed per rule with ``--policy-pack-config``.
"""

from __future__ import annotations

from policies.framework import EnforcementLevel, Rule, Severity

MANDATORY = EnforcementLevel.MANDATORY
ADVISORY = EnforcementLevel.ADVISORY

PROD_ENVIRONMENTS = {
    "type": "array",
    "items": {"type": "string"},
    "default": ["prod", "production"],
    "description": "Values of the `environment` tag or label that mark a resource as production.",
}

RULES: tuple[Rule, ...] = (
    Rule(
        name="encryption-at-rest",
        description=(
            "Data stores, queues, logs and secrets are encrypted at rest (with a customer-managed key where the "
            "service offers one)."
        ),
        severity=Severity.HIGH,
        enforcement=MANDATORY,
        remediation=(
            "Turn on the service's at-rest encryption and point it at the platform's KMS key: "
            "`storageEncrypted`/`kmsKeyId` (RDS), `atRestEncryptionEnabled` (ElastiCache), `kmsMasterKeyId` or "
            "`sqsManagedSseEnabled` (SQS), `kmsKeyId` (CloudWatch log groups, Secrets Manager), "
            "`encryptionConfiguration` (ECR), `kmsKeyName`/`customerManagedKey` (GCP), encryption settings with a "
            "Key Vault key (Azure)."
        ),
    ),
    Rule(
        name="kms-key-rotation",
        description="Customer-managed encryption keys rotate automatically.",
        severity=Severity.MEDIUM,
        enforcement=MANDATORY,
        remediation=(
            "Set `enableKeyRotation: true` on AWS KMS keys, a `rotationPeriod` of at most the configured maximum on "
            "GCP KMS crypto keys, and a `rotationPolicy` with an automatic rotate action on Azure Key Vault keys."
        ),
        config={
            "maximumRotationDays": {
                "type": "integer",
                "minimum": 1,
                "default": 365,
                "description": "Longest rotation period accepted where the period is configurable (GCP, Azure).",
            }
        },
    ),
    Rule(
        name="tls-in-transit",
        description="Traffic is TLS only, with TLS 1.2 or newer, and plain HTTP is redirected to HTTPS.",
        severity=Severity.HIGH,
        enforcement=MANDATORY,
        remediation=(
            "Serve HTTPS with a TLS 1.2+ policy (`sslPolicy` on ALB listeners, an SSL policy with `minTlsVersion` "
            "TLS_1_2 on GCP target proxies, an Application Gateway `sslPolicy` of AppGwSslPolicy20220101 or newer); "
            "make HTTP listeners redirect to HTTPS; require TLS on data services (`transitEncryptionEnabled`, "
            "`sslMode`, `minimumTlsVersion`, `enableNonSslPort: false`); deny `aws:SecureTransport = false` in queue "
            "and bucket policies."
        ),
        config={
            "minimumTlsVersion": {
                "type": "string",
                "enum": ["1.2", "1.3"],
                "default": "1.2",
                "description": "Oldest TLS version a listener or data service may accept.",
            },
            "allowedAlbSslPolicies": {
                "type": "array",
                "items": {"type": "string"},
                "default": [
                    "ELBSecurityPolicy-TLS13-1-2-2021-06",
                    "ELBSecurityPolicy-TLS13-1-2-Res-2021-06",
                    "ELBSecurityPolicy-TLS13-1-2-Ext1-2021-06",
                    "ELBSecurityPolicy-TLS13-1-2-Ext2-2021-06",
                    "ELBSecurityPolicy-TLS13-1-3-2021-06",
                    "ELBSecurityPolicy-TLS13-1-2-FIPS-2023-04",
                    "ELBSecurityPolicy-TLS13-1-3-FIPS-2023-04",
                    "ELBSecurityPolicy-TLS-1-2-2017-01",
                    "ELBSecurityPolicy-TLS-1-2-Ext-2018-06",
                    "ELBSecurityPolicy-FS-1-2-2019-08",
                    "ELBSecurityPolicy-FS-1-2-Res-2020-10",
                ],
                "description": "ALB/NLB listener SSL policies that meet the TLS minimum.",
            },
        },
    ),
    Rule(
        name="https-redirect",
        description=(
            "Plain-HTTP entry points only redirect to HTTPS, where the redirect is a resource of its own "
            "(a GCP HTTP proxy and its URL map)."
        ),
        severity=Severity.HIGH,
        enforcement=MANDATORY,
        scope="stack",
        remediation=(
            "Point the HTTP target proxy at a URL map whose `defaultUrlRedirect` has `httpsRedirect: true` and no "
            "backend service. (AWS HTTP listeners are checked by `tls-in-transit`: they must redirect.)"
        ),
    ),
    Rule(
        name="no-public-data-services",
        description=(
            "Databases, caches, key stores, queues, registries and model endpoints accept no traffic from the public "
            "internet."
        ),
        severity=Severity.CRITICAL,
        enforcement=MANDATORY,
        remediation=(
            "Keep data services in private subnets with `publiclyAccessible: false`, private IP only on Cloud SQL, "
            "`publicNetworkAccess: Disabled` on Azure PaaS resources (reach them through private endpoints), no "
            "`0.0.0.0/0` ingress to data ports, and no `*` principals in resource policies."
        ),
    ),
    Rule(
        name="rate-limiting",
        description="Every entry point limits the request rate per client.",
        severity=Severity.HIGH,
        enforcement=MANDATORY,
        remediation=(
            "Add a rate-based rule to the WAFv2 web ACL, a `throttle` or `rate_based_ban` rule to the Cloud Armor "
            "policy, a `rate-limit-by-key` (or `rate-limit`) element to the API Management policy, or the "
            "`nginx.ingress.kubernetes.io/limit-rps` annotation to the Ingress. In prod the rule must block (not "
            "only count or log)."
        ),
        config={"prodEnvironments": PROD_ENVIRONMENTS},
    ),
    Rule(
        name="request-size-limits",
        description="Every entry point bounds the size of a request body.",
        severity=Severity.MEDIUM,
        enforcement=MANDATORY,
        remediation=(
            "Add a size-constraint rule on the body to the WAFv2 web ACL, set `maxRequestBodySizeInKb` on the "
            "Application Gateway WAF policy, or `nginx.ingress.kubernetes.io/proxy-body-size` on the Ingress."
        ),
        config={
            "maximumBodyBytes": {
                "type": "integer",
                "minimum": 1,
                "default": 10485760,
                "description": "Largest body limit accepted (bytes).",
            },
            "prodEnvironments": PROD_ENVIRONMENTS,
        },
    ),
    Rule(
        name="secrets-not-in-plain-env",
        description="Secrets reach containers only as secret references, never as plain environment values.",
        severity=Severity.CRITICAL,
        enforcement=MANDATORY,
        remediation=(
            "Move the value to the cloud's secret store and reference it: ECS `secrets[].valueFrom`, Cloud Run "
            "`valueSource.secretKeyRef`, Container Apps `secretRef` (Key Vault reference), Kubernetes "
            "`valueFrom.secretKeyRef`."
        ),
        config={
            "secretNamePatterns": {
                "type": "array",
                "items": {"type": "string"},
                "default": [
                    "(?i)(^|_)(api_?key|secret|token|password|passwd|pwd|private_?key|credentials?|connection_?string)($|_)",
                    "(?i)(^|_)keys?_sha256($|_)",
                ],
                "description": "Regular expressions matched against environment variable names.",
            },
            "secretValuePatterns": {
                "type": "array",
                "items": {"type": "string"},
                "default": [
                    r"^sk-[A-Za-z0-9_-]{16,}",
                    r"^AKIA[0-9A-Z]{16}$",
                    r"-----BEGIN [A-Z ]*PRIVATE KEY-----",
                    r"://[^/\s:@]+:[^/\s@]+@",
                ],
                "description": "Regular expressions matched against values (known key formats, passwords in URLs).",
            },
        },
    ),
    Rule(
        name="no-static-credentials",
        description="Workloads authenticate with managed identities, not static keys.",
        severity=Severity.HIGH,
        enforcement=MANDATORY,
        remediation=(
            "Use task roles / workload identity / managed identities; remove IAM access keys and service account keys; "
            "set `disableLocalAuth: true` on Azure OpenAI and Service Bus, `disableAccessKeyAuthentication: true` on "
            "Azure Redis where supported, and `adminUserEnabled: false` on ACR."
        ),
    ),
    Rule(
        name="container-hardening",
        description=(
            "Containers run as non-root with a read-only root filesystem, no privilege escalation, capabilities "
            "dropped, resource requests and limits, and liveness and readiness probes."
        ),
        severity=Severity.HIGH,
        enforcement=MANDATORY,
        remediation=(
            "Set a non-root `user`/`runAsNonRoot`, `readonlyRootFilesystem`/`readOnlyRootFilesystem: true`, "
            "`allowPrivilegeEscalation: false`, `capabilities.drop: [ALL]`, requests and limits, and health probes."
        ),
    ),
    Rule(
        name="pinned-images",
        description="Images are pinned by digest or come from a registry with immutable tags.",
        severity=Severity.HIGH,
        enforcement=MANDATORY,
        remediation=(
            "Deploy `repo@sha256:<digest>` references, and set `imageTagMutability: IMMUTABLE` on ECR repositories "
            "(immutable tags on Artifact Registry)."
        ),
    ),
    Rule(
        name="high-availability",
        description=(
            "Production runs at least two replicas and multi-AZ caches and databases; Kubernetes workloads have a "
            "PodDisruptionBudget."
        ),
        severity=Severity.MEDIUM,
        enforcement=MANDATORY,
        scope="stack",
        remediation=(
            "In prod: min 2 replicas/instances (ECS desired count and autoscaling minimum, Cloud Run min instances, "
            "Container Apps min replicas, Deployment replicas), ElastiCache multi-AZ with automatic failover, "
            "Memorystore STANDARD_HA, Cloud SQL REGIONAL, Aurora with a reader in a second AZ, zone-redundant Azure "
            "services, and a PodDisruptionBudget selecting each Kubernetes workload."
        ),
        config={
            "minimumReplicas": {"type": "integer", "minimum": 1, "default": 2, "description": "Replica floor in prod."},
            "prodEnvironments": PROD_ENVIRONMENTS,
        },
    ),
    Rule(
        name="log-retention",
        description="Logs are kept at least the configured number of days.",
        severity=Severity.MEDIUM,
        enforcement=MANDATORY,
        remediation=(
            "Set `retentionInDays` on CloudWatch log groups, `retentionDays` on GCP log buckets, `retentionInDays` on "
            "Log Analytics workspaces to at least the minimum (0/unset means never expire on CloudWatch, which passes)."
        ),
        config={
            "minimumRetentionDays": {
                "type": "integer",
                "minimum": 1,
                "default": 30,
                "description": "Shortest log retention accepted, in days.",
            }
        },
    ),
    Rule(
        name="access-and-flow-logs",
        description=(
            "Load balancers write access logs, networks write flow logs, and Azure resources send diagnostic settings "
            "to Log Analytics."
        ),
        severity=Severity.MEDIUM,
        enforcement=MANDATORY,
        scope="stack",
        remediation=(
            "Enable `accessLogs` on ALBs, `logConfig.enable` on GCP backend services, a flow log per VPC / subnetwork "
            "`logConfig` / VNet flow logs, and a `DiagnosticSetting` for each Azure resource that supports one."
        ),
    ),
    Rule(
        name="waf-on-entry-points",
        description=(
            "Every internet-facing entry point sits behind a WAF: a WAFv2 web ACL association, a Cloud Armor policy, "
            "an Application Gateway WAF policy (Prevention mode in prod)."
        ),
        severity=Severity.CRITICAL,
        enforcement=MANDATORY,
        scope="stack",
        remediation=(
            "Associate a WAFv2 web ACL with each internet-facing ALB, attach a Cloud Armor `securityPolicy` to each "
            "backend service of an external load balancer, and give each Application Gateway a WAF policy in "
            "Prevention mode. The only accepted exception is the stack's named opt-out `insecure.disableWaf`."
        ),
        config={"prodEnvironments": PROD_ENVIRONMENTS},
        opt_out="disableWaf",
    ),
    Rule(
        name="network-isolation",
        description=(
            "Networks deny traffic by default and allow only the paths the platform needs (Kubernetes: a "
            "default-deny NetworkPolicy for ingress and egress in every namespace that runs workloads)."
        ),
        severity=Severity.MEDIUM,
        enforcement=MANDATORY,
        scope="stack",
        remediation=(
            "Add a NetworkPolicy with `podSelector: {}`, `policyTypes: [Ingress, Egress]` and no rules to each "
            "workload namespace, then the explicit allows (ingress controller -> API -> data stores, DNS, egress "
            "to the LLM providers)."
        ),
    ),
    Rule(
        name="private-endpoints",
        description="Azure PaaS data services are reached through private endpoints.",
        severity=Severity.HIGH,
        enforcement=MANDATORY,
        scope="stack",
        remediation=(
            "Add a `network.PrivateEndpoint` with a private link service connection to each Key Vault, Redis, "
            "Service Bus namespace, Azure OpenAI account, container registry and storage account, with the matching "
            "private DNS zone group (PostgreSQL Flexible Server uses a delegated subnet instead)."
        ),
    ),
    Rule(
        name="data-protection",
        description="Production data stores have deletion protection and backups.",
        severity=Severity.HIGH,
        enforcement=MANDATORY,
        scope="stack",
        remediation=(
            "In prod: `deletionProtection: true` and a backup retention of at least the minimum (Aurora, Cloud SQL, "
            "PostgreSQL Flexible Server), snapshots on ElastiCache, a `CanNotDelete` lock or purge protection on Azure "
            "Key Vault. The only accepted exception is the stack's named opt-out `insecure.disableDeletionProtection`."
        ),
        config={
            "minimumBackupRetentionDays": {
                "type": "integer",
                "minimum": 1,
                "default": 7,
                "description": "Shortest backup retention accepted in prod, in days.",
            },
            "prodEnvironments": PROD_ENVIRONMENTS,
        },
        opt_out="disableDeletionProtection",
    ),
    Rule(
        name="required-tags",
        description="Every taggable resource carries the required tags (labels on GCP and Kubernetes).",
        severity=Severity.LOW,
        enforcement=MANDATORY,
        remediation=(
            "Set the stack's `ai-platform:tags` (owner and cost-center are required by the spec); the components apply "
            "them to every taggable resource. For other programs, add the tags or the provider's default tags."
        ),
        config={
            "requiredTags": {
                "type": "array",
                "items": {"type": "string"},
                "default": ["owner", "cost-center"],
                "description": "Tag (label) keys every taggable resource must carry with a non-empty value.",
            }
        },
    ),
    Rule(
        name="budget-and-alerts",
        description="The stack has a budget with notifications and alerts on latency and on errors.",
        severity=Severity.HIGH,
        enforcement=MANDATORY,
        scope="stack",
        remediation=(
            "Add an AWS Budget / GCP billing budget / Azure consumption budget with at least one notification, and "
            "alarms on p95 latency and on 5xx errors (CloudWatch alarms, Monitoring alert policies, Azure metric "
            "alerts, Prometheus rules)."
        ),
    ),
    Rule(
        name="serverless-hardening",
        description=(
            "Lambda functions reserve (and so cap) their concurrency, run in a VPC and are traced; REST API stages are "
            "traced; in prod the default execute-api endpoint is disabled."
        ),
        severity=Severity.MEDIUM,
        enforcement=MANDATORY,
        remediation=(
            "Set `reservedConcurrentExecutions`, `vpcConfig` (private subnets and a security group) and "
            "`tracingConfig.mode: Active` on functions, `xrayTracingEnabled: true` on stages, and "
            "`disableExecuteApiEndpoint: true` on prod REST APIs (serve them on a custom domain)."
        ),
        config={"prodEnvironments": PROD_ENVIRONMENTS},
    ),
    Rule(
        name="api-stage-throttling",
        description="Every public REST API stage throttles its steady rate and its burst.",
        severity=Severity.HIGH,
        enforcement=MANDATORY,
        scope="stack",
        remediation=(
            "Add an `aws.apigateway.MethodSettings` for the stage with `methodPath: */*` and "
            "`settings.throttlingRateLimit` and `settings.throttlingBurstLimit` above 0 (the WAF's per-IP rate rule "
            "limits each client; the stage's throttle bounds everyone together)."
        ),
    ),
    Rule(
        name="insecure-opt-outs",
        description="Reports every named insecure opt-out a stack declares, so none goes unnoticed.",
        severity=Severity.MEDIUM,
        enforcement=ADVISORY,
        scope="stack",
        remediation=(
            "Remove the `ai-platform:insecure` setting from the stack config, or keep it deliberately. To forbid "
            "opt-outs entirely, set this policy to mandatory."
        ),
        config={
            "allowed": {
                "type": "array",
                "items": {"type": "string"},
                "default": [],
                "description": "Opt-outs accepted silently (not reported).",
            }
        },
    ),
)

RULES_BY_NAME = {rule.name: rule for rule in RULES}
