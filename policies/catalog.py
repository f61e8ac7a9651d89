"""The production security checklist: every rule's name, description, severity, enforcement
level, remediation and config schema, in one place.

The checks that implement a rule live in the per-target modules (``policies/rules/<target>.py``)
and in ``policies/rules/common.py`` for rules that span targets; they register against these
names. Mandatory: the critical items (a deployment with a violation is blocked). Advisory: the
rest (reported, not blocking). Both can be changed per rule with ``--policy-pack-config``.
"""

from __future__ import annotations

from policies.framework import ComplianceFramework, Controls, EnforcementLevel, Rule, Severity

MANDATORY = EnforcementLevel.MANDATORY
ADVISORY = EnforcementLevel.ADVISORY

# --- compliance frameworks --------------------------------------------------------------------------
# CIS control ids are the recommendation numbers of the benchmark version named here; a rule cites
# one only where the recommendation asks for what the rule checks. AWS Well-Architected ids are the
# pillar's questions (SEC05: "How do you protect your network resources?"). The Google Cloud and
# Azure pillars are cited as a whole, and the pillars carry no version: they are living documents.

CIS_AWS = ComplianceFramework(
    "cis-aws",
    "CIS Amazon Web Services Foundations Benchmark",
    "3.0.0",
    "https://www.cisecurity.org/benchmark/amazon_web_services",
)
CIS_GCP = ComplianceFramework(
    "cis-gcp",
    "CIS Google Cloud Platform Foundation Benchmark",
    "3.0.0",
    "https://www.cisecurity.org/benchmark/google_cloud_computing_platform",
)
CIS_AZURE = ComplianceFramework(
    "cis-azure", "CIS Microsoft Azure Foundations Benchmark", "3.0.0", "https://www.cisecurity.org/benchmark/azure"
)
CIS_KUBERNETES = ComplianceFramework(
    "cis-kubernetes", "CIS Kubernetes Benchmark", "1.8.0", "https://www.cisecurity.org/benchmark/kubernetes"
)
AWS_WA_SECURITY = ComplianceFramework(
    "aws-wa-security",
    "AWS Well-Architected Framework, Security Pillar",
    "",
    "https://docs.aws.amazon.com/wellarchitected/latest/security-pillar/welcome.html",
)
AWS_WA_RELIABILITY = ComplianceFramework(
    "aws-wa-reliability",
    "AWS Well-Architected Framework, Reliability Pillar",
    "",
    "https://docs.aws.amazon.com/wellarchitected/latest/reliability-pillar/welcome.html",
)
AWS_WA_COST = ComplianceFramework(
    "aws-wa-cost",
    "AWS Well-Architected Framework, Cost Optimization Pillar",
    "",
    "https://docs.aws.amazon.com/wellarchitected/latest/cost-optimization-pillar/welcome.html",
)
GCP_AF_SECURITY = ComplianceFramework(
    "gcp-af-security",
    "Google Cloud Well-Architected Framework, Security pillar",
    "",
    "https://cloud.google.com/architecture/framework/security",
)
GCP_AF_RELIABILITY = ComplianceFramework(
    "gcp-af-reliability",
    "Google Cloud Well-Architected Framework, Reliability pillar",
    "",
    "https://cloud.google.com/architecture/framework/reliability",
)
GCP_AF_COST = ComplianceFramework(
    "gcp-af-cost",
    "Google Cloud Well-Architected Framework, Cost optimization pillar",
    "",
    "https://cloud.google.com/architecture/framework/cost-optimization",
)
AZURE_WAF_SECURITY = ComplianceFramework(
    "azure-waf-security",
    "Azure Well-Architected Framework, Security pillar",
    "",
    "https://learn.microsoft.com/azure/well-architected/security/",
)
AZURE_WAF_RELIABILITY = ComplianceFramework(
    "azure-waf-reliability",
    "Azure Well-Architected Framework, Reliability pillar",
    "",
    "https://learn.microsoft.com/azure/well-architected/reliability/",
)
AZURE_WAF_COST = ComplianceFramework(
    "azure-waf-cost",
    "Azure Well-Architected Framework, Cost Optimization pillar",
    "",
    "https://learn.microsoft.com/azure/well-architected/cost-optimization/",
)
FRAMEWORKS = (
    CIS_AWS,
    CIS_GCP,
    CIS_AZURE,
    CIS_KUBERNETES,
    AWS_WA_SECURITY,
    AWS_WA_RELIABILITY,
    AWS_WA_COST,
    GCP_AF_SECURITY,
    GCP_AF_RELIABILITY,
    GCP_AF_COST,
    AZURE_WAF_SECURITY,
    AZURE_WAF_RELIABILITY,
    AZURE_WAF_COST,
)


def security_pillars(aws: str) -> tuple[Controls, ...]:
    """The three clouds' security pillars, with the AWS question (``SEC08``) the rule answers."""
    return (Controls(AWS_WA_SECURITY, (aws,)), Controls(GCP_AF_SECURITY), Controls(AZURE_WAF_SECURITY))


RELIABILITY_PILLARS = (Controls(AWS_WA_RELIABILITY), Controls(GCP_AF_RELIABILITY), Controls(AZURE_WAF_RELIABILITY))
COST_PILLARS = (Controls(AWS_WA_COST), Controls(GCP_AF_COST), Controls(AZURE_WAF_COST))

TOPICS = (
    "encryption",
    "network",
    "identity",
    "secrets",
    "workload-hardening",
    "supply-chain",
    "availability",
    "logging",
    "data-protection",
    "governance",
    "cost-and-monitoring",
)
"""What a rule protects; each rule has exactly one (``topic:<name>`` among its policy tags)."""

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
        topic="encryption",
        frameworks=(
            Controls(CIS_AWS, ("2.3.1", "2.4.1")),
            *security_pillars("SEC08"),
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
        topic="encryption",
        frameworks=(
            Controls(CIS_AWS, ("3.6",)),
            Controls(CIS_GCP, ("1.10",)),
            Controls(CIS_AZURE, ("3.3.8",)),
            *security_pillars("SEC08"),
        ),
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
        topic="encryption",
        frameworks=(
            Controls(CIS_AWS, ("2.1.1",)),
            Controls(CIS_GCP, ("3.9", "6.4")),
            *security_pillars("SEC09"),
        ),
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
        topic="encryption",
        frameworks=(*security_pillars("SEC09"),),
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
        topic="network",
        frameworks=(
            Controls(CIS_AWS, ("2.1.4", "2.3.3")),
            Controls(CIS_GCP, ("1.9", "6.5", "6.6")),
            *security_pillars("SEC05"),
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
        topic="network",
        frameworks=(*security_pillars("SEC05"),),
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
        topic="network",
        frameworks=(*security_pillars("SEC05"),),
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
        topic="secrets",
        frameworks=(*security_pillars("SEC02"),),
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
        topic="identity",
        frameworks=(
            Controls(CIS_AWS, ("1.18",)),
            Controls(CIS_GCP, ("1.4",)),
            *security_pillars("SEC02"),
        ),
    ),
    Rule(
        name="least-privilege",
        description="No identity is granted a basic role (owner, editor, viewer): roles are predefined and scoped.",
        severity=Severity.HIGH,
        enforcement=MANDATORY,
        remediation=(
            "Grant predefined roles on the narrowest resource (a secret, a topic, a subscription) instead of "
            "`roles/owner`, `roles/editor` or `roles/viewer` on a project, folder or organisation."
        ),
        topic="identity",
        frameworks=(Controls(CIS_GCP, ("1.5",)), *security_pillars("SEC03")),
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
        topic="workload-hardening",
        frameworks=(
            Controls(CIS_KUBERNETES, ("5.2.2", "5.2.6", "5.2.7", "5.2.9", "5.7.3")),
            *security_pillars("SEC06"),
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
        topic="supply-chain",
        frameworks=(*security_pillars("SEC06"),),
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
        topic="availability",
        frameworks=(*RELIABILITY_PILLARS,),
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
        topic="logging",
        frameworks=(*security_pillars("SEC04"),),
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
        topic="logging",
        frameworks=(
            Controls(CIS_AWS, ("3.7",)),
            Controls(CIS_GCP, ("2.16", "3.8")),
            Controls(CIS_AZURE, ("6.4",)),
            *security_pillars("SEC04"),
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
        topic="network",
        frameworks=(*security_pillars("SEC05"),),
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
        topic="network",
        frameworks=(
            Controls(CIS_KUBERNETES, ("5.3.2",)),
            *security_pillars("SEC05"),
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
        topic="network",
        frameworks=(
            Controls(CIS_AZURE, ("3.3.7",)),
            Controls(AZURE_WAF_SECURITY),
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
        topic="data-protection",
        frameworks=(
            Controls(CIS_GCP, ("6.7",)),
            Controls(CIS_AZURE, ("3.3.5", "10.1")),
            *RELIABILITY_PILLARS,
        ),
    ),
    Rule(
        name="dead-letter-queues",
        description="Every queue consumer moves a message it keeps failing on to a dead-letter destination.",
        severity=Severity.MEDIUM,
        enforcement=MANDATORY,
        scope="stack",
        remediation=(
            "Give each Pub/Sub subscription a `deadLetterPolicy` (a dead-letter topic and `maxDeliveryAttempts`), "
            "and the Pub/Sub service agent publisher on that topic and subscriber on the subscription. A "
            "subscription that reads a dead-letter topic needs none."
        ),
        topic="availability",
        frameworks=RELIABILITY_PILLARS,
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
            },
            "tagValues": {
                "type": "object",
                "additionalProperties": {"type": "string"},
                "default": {},
                "description": (
                    "Values the remediate level fills in for missing required tags; a key not set here takes the "
                    "stack's tag of that name (`pulumi stack tag set`)."
                ),
            },
        },
        topic="governance",
        frameworks=(*COST_PILLARS,),
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
        topic="cost-and-monitoring",
        frameworks=(*COST_PILLARS,),
    ),
    Rule(
        name="budget-covers-baseline",
        description=(
            "The stack's monthly budget is at least its fixed baseline: what the planned resources cost a month "
            "before any usage (`ai-platform cost STACK`)."
        ),
        severity=Severity.MEDIUM,
        enforcement=ADVISORY,
        scope="stack",
        remediation=(
            "Raise `ai-platform:budget.monthlyAmount`, or plan fewer always-on resources (NAT gateways per zone, "
            "cache replicas, database minimum capacity). The pack does not price resources itself: "
            "`ai-platform cost STACK --write-policy-config FILE` writes both figures for "
            "`pulumi preview --policy-pack-config FILE`; `ai-platform plan STACK --cost` passes them directly. "
            "Set `ai-platform:budget.baselineCheck: mandatory` to block instead of warn."
        ),
        config={
            "fixedMonthlyBaseline": {
                "type": "number",
                "minimum": 0,
                "default": 0,
                "description": "The stack's fixed monthly cost from `ai-platform cost` (0: no estimate, not checked).",
            },
            "monthlyBudget": {
                "type": "number",
                "minimum": 0,
                "default": 0,
                "description": "The stack's `ai-platform:budget.monthlyAmount` (0: not checked).",
            },
            "currency": {"type": "string", "default": "USD", "description": "Currency of both figures."},
        },
        topic="cost-and-monitoring",
        frameworks=(*COST_PILLARS,),
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
        topic="workload-hardening",
        frameworks=(*security_pillars("SEC06"),),
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
        topic="network",
        frameworks=(*security_pillars("SEC05"),),
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
        topic="governance",
        frameworks=(*security_pillars("SEC01"),),
    ),
)

RULES_BY_NAME = {rule.name: rule for rule in RULES}
