"""RestApi: the public edge of the Lambda runtime, a regional API Gateway REST API.

A REST API, not an HTTP API, because WAF attaches to REST API stages and not to HTTP APIs. The
web ACL is the ALB path's (``gateway.web_acl``: the same managed rules, rate per IP and body
size), the custom domain the ALB's (a TLS 1.2 security policy, the same certificate rules), and
the default ``execute-api`` endpoint is off so every request passes the domain and its WAF.

Every path (``/{proxy+}``) goes to the function through a Lambda proxy integration. The
integration stays ``BUFFERED``: REST APIs can stream a Lambda proxy response
(``responseTransferMode: STREAM``, which pulumi-aws 7.51 sets as ``response_transfer_mode``), but
only from a function that writes the streaming format through ``InvokeWithResponseStream``, which
the Python runtime with Mangum does not; the app answers ``stream: true`` with a 400 naming the
container runtime instead (``APP_RESPONSE_STREAMING=false``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import pulumi
import pulumi_aws as aws

from components.aws.gateway import certificate, check_edge, waf_logging, web_acl
from components.aws.iam import service_role
from components.aws.logs import log_group
from components.aws.policy_documents import aws_context, service_assume_role_policy
from components.base import Block, BlockArgs

#: what API Gateway writes per request: the request IDs (its own and the extended one) first
ACCESS_LOG_FORMAT = json.dumps(
    {
        "requestId": "$context.requestId",
        "extendedRequestId": "$context.extendedRequestId",
        "ip": "$context.identity.sourceIp",
        "requestTime": "$context.requestTime",
        "httpMethod": "$context.httpMethod",
        "path": "$context.path",
        "status": "$context.status",
        "responseLength": "$context.responseLength",
        "integrationLatency": "$context.integrationLatency",
        "integrationStatus": "$context.integration.status",
        "wafStatus": "$context.wafResponseCode",
        "error": "$context.error.message",
    }
)
#: API Gateway's default (and, without a quota increase, longest buffered) integration timeout
MAX_INTEGRATION_TIMEOUT_MS = 29_000
STAGE = "api"


@dataclass(kw_only=True)
class RestApiArgs(BlockArgs):
    """Inputs of :class:`RestApi`.

    Child keys for ``transform``: ``api``, ``proxyResource``, ``proxyMethod``, ``proxyIntegration``,
    ``deployment``, ``accessLog``, ``stage``, ``methodSettings``, ``cloudwatchRole``,
    ``cloudwatchRoleManaged0``, ``account``, ``certificate``, ``certificateValidationRecord``,
    ``certificateValidation``, ``domain``, ``basePathMapping``, ``aliasA``, ``allowlistIpv4``,
    ``allowlistIpv6``, ``webAcl``, ``webAclAssociation``, ``wafLog``, ``wafLogging``,
    ``usagePlan``, ``apiKey``, ``usagePlanKey``.
    """

    domain: str
    """The API's DNS name; the regional custom domain and its alias record use it."""
    invoke_arn: pulumi.Input[str]
    """The function (alias) invoke ARN the proxy integration calls (``Function.invoke_arn``)."""
    certificate_arn: pulumi.Input[str] | None = None
    """An ACM certificate for ``domain`` in the API's region; ``None`` issues one validated in
    ``hosted_zone_id``."""
    hosted_zone_id: pulumi.Input[str] | None = None
    """Route 53 zone of ``domain``: used to validate the certificate and for the alias record."""
    integration_timeout_ms: int = MAX_INTEGRATION_TIMEOUT_MS
    """How long API Gateway waits for the function (50-29,000 ms without a quota increase)."""
    throttle_rate_limit: float = 100
    """Steady requests per second the stage admits (429 beyond)."""
    throttle_burst_limit: int = 200
    api_keys: bool = False
    """Require an API key (``x-api-key``) of a usage plan on every method; the app's keys still apply."""
    execute_api_endpoint: bool = False
    """Keep the default ``execute-api`` endpoint; off, every request passes the custom domain."""
    manage_account_logging_role: bool = True
    """Set the region's API Gateway account CloudWatch role (needed for access logs; one per
    account and region, so it is kept when the stack is destroyed). Off when another stack owns it."""
    waf_enabled: bool = True
    waf_mode: Literal["block", "count"] = "block"
    rate_limit_per_ip: int = 2000
    max_body_size_bytes: int = 1024 * 1024
    ip_allowlist: Sequence[str] = ()
    """CIDRs that alone may call the API (enforced by WAF)."""
    access_log_retention_days: int = 90
    """Retention of the access log and the WAF log (a CloudWatch retention value)."""
    log_kms_key_arn: pulumi.Input[str] | None = None
    """The KMS key encrypting the access log and the WAF log."""
    waf_redacted_headers: Sequence[str] = ("authorization", "x-api-key", "cookie")
    extra_managed_rule_groups: Sequence[str] = field(default_factory=tuple)
    """Further AWS managed rule group names (e.g. ``AWSManagedRulesSQLiRuleSet``)."""


def _validate(args: RestApiArgs) -> tuple[list[str], list[str]]:
    allowed = check_edge(args)
    if not 50 <= args.integration_timeout_ms <= MAX_INTEGRATION_TIMEOUT_MS:
        raise ValueError(
            f"RestApiArgs.integration_timeout_ms={args.integration_timeout_ms}: API Gateway allows 50-"
            f"{MAX_INTEGRATION_TIMEOUT_MS} ms for a buffered integration without a quota increase"
        )
    if not 0 < args.throttle_rate_limit <= 10_000:
        raise ValueError(f"RestApiArgs.throttle_rate_limit={args.throttle_rate_limit}: must be > 0 and <= 10000")
    if not 1 <= args.throttle_burst_limit <= 5_000:
        raise ValueError(f"RestApiArgs.throttle_burst_limit={args.throttle_burst_limit}: must be 1-5000")
    return allowed


class RestApi(Block):
    """Regional REST API: ``/{proxy+}`` to the function, a stage with X-Ray, throttling and JSON
    access logs (request IDs) in an encrypted log group, the WAF web ACL on the stage, a custom
    domain with TLS 1.2, the ``execute-api`` endpoint off, and optionally a usage plan with a key."""

    rest_api_id: pulumi.Output[str]
    """The REST API's id."""
    rest_api_name: pulumi.Output[str]
    """The API's name: the ``ApiName`` dimension of its CloudWatch metrics."""
    execution_arn: pulumi.Output[str]
    """The API's execution ARN (what a Lambda permission's ``source_arn`` scopes to)."""
    stage_name: pulumi.Output[str]
    """The deployed stage (throttled, traced, access-logged)."""
    web_acl_arn: pulumi.Output[str | None]
    """The WAFv2 web ACL on the stage (None when the WAF is opted out)."""
    access_log_group_name: pulumi.Output[str]
    """The encrypted log group of the stage's access logs."""
    url: pulumi.Output[str]
    """The API's public HTTPS URL (the custom domain)."""
    api_key_id: pulumi.Output[str | None]
    """The usage plan's API key (``api_keys`` on), else None."""

    def __init__(self, name: str, args: RestApiArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        allow_v4, allow_v6 = _validate(args)
        super().__init__("ai-platform:aws:RestApi", name, args, opts)
        apigateway = aws.apigateway  # loaded when an API is first made, not when the library is imported
        context = aws_context(self)
        # ~3.50 USD per million requests (first 333 million a month, us-east-1)
        api = self.child(
            "api",
            apigateway.RestApi,
            apigateway.RestApiArgs(
                description=f"The AI API on Lambda ({args.domain})",
                endpoint_configuration=apigateway.RestApiEndpointConfigurationArgs(types="REGIONAL"),
                disable_execute_api_endpoint=not args.execute_api_endpoint,
                api_key_source="HEADER",
            ),
            name="api",
        )
        proxy = self.child(
            "proxyResource",
            apigateway.Resource,
            apigateway.ResourceArgs(rest_api=api.id, parent_id=api.root_resource_id, path_part="{proxy+}"),
            name="proxy",
        )
        method = self.child(
            "proxyMethod",
            apigateway.Method,
            apigateway.MethodArgs(
                rest_api=api.id,
                resource_id=proxy.id,
                http_method="ANY",
                authorization="NONE",  # the app authenticates (API keys or JWTs)
                api_key_required=args.api_keys,
            ),
            name="proxy-any",
        )
        integration = self.child(
            "proxyIntegration",
            apigateway.Integration,
            apigateway.IntegrationArgs(
                rest_api=api.id,
                resource_id=proxy.id,
                http_method=method.http_method,
                type="AWS_PROXY",
                integration_http_method="POST",
                uri=args.invoke_arn,
                timeout_milliseconds=args.integration_timeout_ms,
                response_transfer_mode="BUFFERED",  # see the module docstring
            ),
            name="proxy-lambda",
        )
        deployment = self.child(
            "deployment",
            apigateway.Deployment,
            apigateway.DeploymentArgs(
                rest_api=api.id,
                description="Managed by Pulumi: a new deployment whenever the routes or the integration change",
                triggers={"routes": pulumi.Output.all(proxy.id, method.id, integration.id).apply(json.dumps)},
            ),
            pulumi.ResourceOptions(depends_on=[method, integration]),
            name="deployment",
        )
        access_log = log_group(
            self,
            "accessLog",
            retention_days=args.access_log_retention_days,
            kms_key_arn=args.log_kms_key_arn,
            name="access-log",
        )
        waits: list[pulumi.Resource] = []
        if args.manage_account_logging_role:
            role = service_role(
                self,
                "cloudwatchRole",
                name="apigateway-logs",
                trust_policy=context.apply(
                    lambda c: service_assume_role_policy("apigateway.amazonaws.com", c.account_id)
                ),
                description="API Gateway writes the stages' access logs to CloudWatch Logs",
                policy=None,
                managed_policy_arns=[
                    context.apply(
                        lambda c: f"arn:{c.partition}:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"
                    )
                ],
            )
            waits.append(
                self.child(
                    "account",
                    apigateway.Account,
                    apigateway.AccountArgs(cloudwatch_role_arn=role.role.arn),
                    pulumi.ResourceOptions(depends_on=role.policies, retain_on_delete=True),
                    name="account",
                )
            )
        stage = self.child(
            "stage",
            apigateway.Stage,
            apigateway.StageArgs(
                rest_api=api.id,
                deployment=deployment.id,
                stage_name=STAGE,
                xray_tracing_enabled=True,
                access_log_settings=apigateway.StageAccessLogSettingsArgs(
                    destination_arn=access_log.arn, format=ACCESS_LOG_FORMAT
                ),
            ),
            pulumi.ResourceOptions(depends_on=waits),
            name="stage",
        )
        self.child(
            "methodSettings",
            apigateway.MethodSettings,
            apigateway.MethodSettingsArgs(
                rest_api=api.id,
                stage_name=stage.stage_name,
                method_path="*/*",
                settings=apigateway.MethodSettingsSettingsArgs(
                    throttling_rate_limit=args.throttle_rate_limit,
                    throttling_burst_limit=args.throttle_burst_limit,
                    metrics_enabled=True,
                    # execution logs would go to a group API Gateway makes itself (no KMS, kept
                    # forever) and could hold bodies: the access log is the record
                    logging_level="OFF",
                    data_trace_enabled=False,
                ),
            ),
            name="throttling",
        )

        web_acl_arn: pulumi.Output[str | None] = pulumi.Output.from_input(None)
        if args.waf_enabled:
            acl = web_acl(self, name, args, allow_v4, allow_v6)
            self.child(
                "webAclAssociation",
                aws.wafv2.WebAclAssociation,
                aws.wafv2.WebAclAssociationArgs(resource_arn=stage.arn, web_acl_arn=acl.arn),
                name="waf-association",
            )
            web_acl_arn = acl.arn
            waf_logging(self, name, args, acl)

        certificate_arn = certificate(self, args)
        domain = self.child(
            "domain",
            apigateway.DomainName,
            apigateway.DomainNameArgs(
                domain_name=args.domain,
                regional_certificate_arn=certificate_arn,
                endpoint_configuration=apigateway.DomainNameEndpointConfigurationArgs(types="REGIONAL"),
                security_policy="TLS_1_2",
            ),
            name="domain",
        )
        self.child(
            "basePathMapping",
            apigateway.BasePathMapping,
            apigateway.BasePathMappingArgs(
                domain_name=domain.domain_name, rest_api=api.id, stage_name=stage.stage_name
            ),
            name="base-path",
        )
        if args.hosted_zone_id is not None:
            self.child(
                "aliasA",
                aws.route53.Record,
                aws.route53.RecordArgs(
                    zone_id=args.hosted_zone_id,
                    name=args.domain,
                    type="A",
                    aliases=[
                        aws.route53.RecordAliasArgs(
                            name=domain.regional_domain_name,
                            zone_id=domain.regional_zone_id,
                            evaluate_target_health=False,
                        )
                    ],
                ),
                name="alias-a",
            )

        api_key_id: pulumi.Output[str | None] = pulumi.Output.from_input(None)
        if args.api_keys:
            plan = self.child(
                "usagePlan",
                apigateway.UsagePlan,
                apigateway.UsagePlanArgs(
                    description="Callers with an API Gateway key",
                    api_stages=[apigateway.UsagePlanApiStageArgs(api_id=api.id, stage=stage.stage_name)],
                    throttle_settings=apigateway.UsagePlanThrottleSettingsArgs(
                        rate_limit=args.throttle_rate_limit, burst_limit=args.throttle_burst_limit
                    ),
                ),
                name="usage-plan",
            )
            key = self.child(
                "apiKey",
                apigateway.ApiKey,
                apigateway.ApiKeyArgs(description="Generated by API Gateway; read it with aws apigateway get-api-key"),
                name="api-key",
            )
            self.child(
                "usagePlanKey",
                apigateway.UsagePlanKey,
                apigateway.UsagePlanKeyArgs(key_id=key.id, key_type="API_KEY", usage_plan_id=plan.id),
                name="usage-plan-key",
            )
            api_key_id = key.id

        self.rest_api_id = api.id
        self.rest_api_name = api.name
        self.execution_arn = api.execution_arn
        self.stage_name = stage.stage_name
        self.web_acl_arn = web_acl_arn
        self.access_log_group_name = access_log.name
        self.api_key_id = api_key_id
        self.url = pulumi.Output.from_input(f"https://{args.domain}")
        self.register_outputs(
            {
                "restApiId": api.id,
                "stageName": stage.stage_name,
                "webAclArn": web_acl_arn,
                "accessLogGroupName": access_log.name,
                "url": self.url,
            }
        )

    @property
    def invoke_source_arn(self) -> pulumi.Output[str]:
        """The ``SourceArn`` of this API's invocations (any stage, method and path)."""
        return pulumi.Output.concat(self.execution_arn, "/*")
