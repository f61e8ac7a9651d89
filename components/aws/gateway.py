"""Gateway: an internet-facing ALB (HTTPS only) with a WAFv2 web ACL and S3 access logs."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

import pulumi
import pulumi_aws as aws

from components import validation
from components.aws.logs import ALLOWED_RETENTION_DAYS, log_group
from components.aws.policy_documents import aws_context, document, partition_of
from components.aws.spec import certificate_arn
from components.base import Block, BlockArgs

wafv2 = aws.wafv2

#: Regions launched before August 2022 deliver ALB access logs from a regional ELB account;
#: newer regions use the ``logdelivery.elasticloadbalancing.amazonaws.com`` service principal.
#: https://docs.aws.amazon.com/elasticloadbalancing/latest/application/enable-access-logging.html
ELB_LOG_DELIVERY_ACCOUNTS: dict[str, str] = {
    "us-east-1": "127311923021",
    "us-east-2": "033677994240",
    "us-west-1": "027434742980",
    "us-west-2": "797873946194",
    "af-south-1": "098369216593",
    "ap-east-1": "754344448648",
    "ap-southeast-3": "589379963580",
    "ap-south-1": "718504428378",
    "ap-northeast-3": "383597477331",
    "ap-northeast-2": "600734575887",
    "ap-southeast-1": "114774131450",
    "ap-southeast-2": "783225319266",
    "ap-northeast-1": "582318560864",
    "ca-central-1": "985666609251",
    "eu-central-1": "054676820928",
    "eu-west-1": "156460612806",
    "eu-west-2": "652711504416",
    "eu-south-1": "635631232127",
    "eu-west-3": "009996457667",
    "eu-north-1": "897822967062",
    "me-south-1": "076674570225",
    "sa-east-1": "507241528517",
    "us-gov-west-1": "048591011584",
    "us-gov-east-1": "190560391635",
    "cn-north-1": "638102146993",
    "cn-northwest-1": "037604701340",
}

#: WAF inspects at most the first 8 KB of a request body behind an ALB (not configurable there).
WAF_ALB_BODY_INSPECTION_LIMIT = 8 * 1024
#: WAF rate-based rules accept limits from 10 to 2e9 requests per evaluation window.
WAF_MIN_RATE_LIMIT, WAF_MAX_RATE_LIMIT = 10, 2_000_000_000
#: Security group rule quota (60 inbound rules per group) bounds the allowlist mirrored into the SG.
MAX_ALLOWLIST_ENTRIES = 25

_ACCESS_LOG_PREFIX = "alb"
#: ALB policies that negotiate TLS 1.2 or newer only (TLS13-1-0/1-1 and the 2016 policy allow TLS 1.0/1.1).
_TLS12_PLUS_POLICY = re.compile(r"^ELBSecurityPolicy-(TLS13-1-[23]-|FS-1-2-|TLS-1-2-)[A-Za-z0-9-]+$")
_DEFAULT_MANAGED_RULE_GROUPS = (
    "AWSManagedRulesAmazonIpReputationList",
    "AWSManagedRulesKnownBadInputsRuleSet",
    "AWSManagedRulesCommonRuleSet",
)


@dataclass(kw_only=True)
class GatewayArgs(BlockArgs):
    """Inputs of :class:`Gateway`.

    Child keys for ``transform``: ``accessLogBucket``, ``accessLogBucketPublicAccessBlock``,
    ``accessLogBucketOwnership``, ``accessLogBucketEncryption``, ``accessLogBucketVersioning``,
    ``accessLogBucketLifecycle``, ``accessLogBucketPolicy``, ``securityGroup``,
    ``ingressHttps<i>``/``ingressHttp<i>`` (one pair per allowed CIDR), ``egressTargets``,
    ``loadBalancer``, ``targetGroup``, ``certificate``, ``certificateValidationRecord``,
    ``certificateValidation``, ``httpsListener``, ``httpListener``, ``allowlistIpv4``,
    ``allowlistIpv6``, ``webAcl``, ``webAclAssociation``, ``wafLog``, ``wafLogging``, ``aliasA``,
    ``aliasAaaa``.
    """

    vpc_id: pulumi.Input[str]
    """VPC of the load balancer's security group and target group."""
    subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]]
    """Public subnets in at least two AZs (an ALB requirement)."""
    domain: str
    """The API's DNS name, e.g. ``api.example.com``; the certificate and the alias records use it."""
    vpc_cidr_block: pulumi.Input[str] | None = None
    """CIDR the ALB may reach targets in (egress on ``target_port`` only); ``None`` looks it up."""
    certificate_arn: pulumi.Input[str] | None = None
    """An existing ACM certificate for ``domain``; ``None`` requests one validated through DNS in
    ``hosted_zone_id``."""
    hosted_zone_id: pulumi.Input[str] | None = None
    """Route 53 zone of ``domain``: used to validate the certificate and for alias records."""
    target_port: int = 8000
    """Port the app listens on (the bundled app: 8000)."""
    health_check_path: str = "/ready"
    """Target group health check: readiness, so a task leaves rotation when its dependencies fail."""
    waf_enabled: bool = True
    """Explicit, named opt-out of the WAF (saves ~10 USD/month + 0.60 USD per million requests, e.g.
    in a throwaway dev stack): no web ACL, so no rate limit, managed rules or body-size limit at the
    edge (the IP allowlist still applies through the security group). Off is insecure."""
    waf_mode: Literal["block", "count"] = "block"
    """``block`` enforces every WAF rule; ``count`` only records matches (for tuning in dev)."""
    rate_limit_per_ip: int = 2000
    """Requests per client IP per 5-minute window before WAF answers 429 (WAF minimum 10)."""
    max_body_size_bytes: int = 1024 * 1024
    """Largest request body accepted (1 MiB: long prompts fit). WAF sees only the first 8 KB of a
    body behind an ALB, so above 8 KB the limit is enforced on the ``Content-Length`` header
    (chunked uploads without it pass: the app must enforce its own limit too), and the managed
    common rule set's ``SizeRestrictions_BODY`` (an 8 KB cap) is switched to count."""
    ip_allowlist: Sequence[str] = ()
    """CIDRs (IPv4/IPv6) that alone may reach the API, enforced by WAF and the ALB security group;
    empty: the API is public."""
    access_log_retention_days: int = 90
    """Days before ALB access log objects expire; also the retention of the WAF log (a CloudWatch
    retention value: 1, 3, 5, 7, 14, 30, 60, 90, ... 3653)."""
    log_kms_key_arn: pulumi.Input[str] | None = None
    """KMS key for the WAF log group (``aws-waf-logs-<project>-<stack>-<name>``). Default none:
    CloudWatch's own encryption; ``AiPlatform`` passes the platform key."""
    waf_redacted_headers: Sequence[str] = ("authorization", "x-api-key", "cookie")
    """Request headers kept out of the WAF log (lowercase): the API's credentials."""
    deletion_protection: bool = False
    """ALB deletion protection (on in prod); also keeps the log bucket from being force-destroyed."""
    ssl_policy: str = "ELBSecurityPolicy-TLS13-1-2-2021-06"
    """TLS 1.3 + 1.2 only, forward-secret ciphers."""
    idle_timeout_seconds: int = 300
    """Streaming (SSE) responses stay open for minutes; matches the app's 300 s request timeout."""
    deregistration_delay_seconds: int = 120
    """Draining time for a target leaving the group; equal to the Fargate ``stopTimeout`` maximum."""
    ip_address_type: Literal["ipv4", "dualstack"] = "ipv4"
    """``dualstack`` needs IPv6 CIDRs on the subnets; the AAAA alias is created only then."""
    extra_managed_rule_groups: Sequence[str] = field(default_factory=tuple)
    """Further AWS managed rule group names (e.g. ``AWSManagedRulesSQLiRuleSet``)."""


def content_length_over_regex(limit: int) -> str:
    """A regex matching exactly the decimal integers greater than ``limit`` (leading zeros allowed):
    WAF cannot compare numbers, but it can match the digits of the ``Content-Length`` header."""
    if limit < 0:
        raise ValueError(f"limit must be >= 0, got {limit}")
    digits = str(limit)
    alternatives = [f"[1-9][0-9]{{{len(digits)},}}"]  # more digits than the limit
    for i, ch in enumerate(digits):
        d = int(ch)
        if d == 9:
            continue
        rest = len(digits) - i - 1
        higher = "9" if d == 8 else f"[{d + 1}-9]"
        alternatives.append(digits[:i] + higher + (f"[0-9]{{{rest}}}" if rest else ""))
    return "^0*(?:" + "|".join(alternatives) + ")$"


class EdgeArgs(Protocol):
    """What both public edges (the ALB's ``Gateway`` and the Lambda path's ``RestApi``) share: the
    domain and its certificate, the web ACL's settings and the WAF log's."""

    domain: str
    certificate_arn: pulumi.Input[str] | None
    hosted_zone_id: pulumi.Input[str] | None
    waf_mode: Literal["block", "count"]
    rate_limit_per_ip: int
    max_body_size_bytes: int
    ip_allowlist: Sequence[str]
    access_log_retention_days: int
    log_kms_key_arn: pulumi.Input[str] | None
    waf_redacted_headers: Sequence[str]
    extra_managed_rule_groups: Sequence[str]


def check_edge(args: EdgeArgs) -> tuple[list[str], list[str]]:
    """Validate what an edge shares (messages name the args class); return the allowlist split
    into IPv4 and IPv6 CIDRs."""
    where = type(args).__name__
    problem = validation.domain_name(args.domain)
    if problem:
        raise ValueError(f"{where}.domain={args.domain!r} {problem}")
    if args.certificate_arn is None and args.hosted_zone_id is None:
        raise ValueError(
            f"{where}: give certificate_arn (an ACM certificate for the domain) or hosted_zone_id "
            "(a Route 53 zone to DNS-validate a new certificate in)"
        )
    problem = certificate_arn(args.certificate_arn) if isinstance(args.certificate_arn, str) else None
    if problem:
        raise ValueError(f"{where}.certificate_arn={args.certificate_arn!r} is not an ACM certificate ARN: {problem}")
    if args.waf_mode not in ("block", "count"):
        raise ValueError(f"{where}.waf_mode={args.waf_mode!r}: allowed values are 'block' and 'count'")
    if not WAF_MIN_RATE_LIMIT <= args.rate_limit_per_ip <= WAF_MAX_RATE_LIMIT:
        raise ValueError(
            f"{where}.rate_limit_per_ip={args.rate_limit_per_ip}: WAF rate-based rules accept "
            f"{WAF_MIN_RATE_LIMIT} to {WAF_MAX_RATE_LIMIT} requests per 5 minutes"
        )
    if not 1 <= args.max_body_size_bytes <= 10 * 1024**3:
        raise ValueError(f"{where}.max_body_size_bytes={args.max_body_size_bytes}: must be 1 byte to 10 GiB")
    if args.access_log_retention_days not in ALLOWED_RETENTION_DAYS:
        raise ValueError(
            f"{where}.access_log_retention_days={args.access_log_retention_days}: it is also the WAF log's "
            f"CloudWatch retention, so one of {ALLOWED_RETENTION_DAYS}"
        )
    bad_headers = [h for h in args.waf_redacted_headers if h != h.lower() or not h]
    if bad_headers:
        raise ValueError(f"{where}.waf_redacted_headers={bad_headers}: WAF matches lowercase header names")
    for group in args.extra_managed_rule_groups:
        if not re.fullmatch(r"AWSManagedRules[A-Za-z0-9_]+", group) or group in _DEFAULT_MANAGED_RULE_GROUPS:
            raise ValueError(
                f"{where}.extra_managed_rule_groups: {group!r} is not an additional AWS managed rule group name "
                f"(AWSManagedRules..., not one of the defaults {_DEFAULT_MANAGED_RULE_GROUPS})"
            )
    if len(args.ip_allowlist) > MAX_ALLOWLIST_ENTRIES:
        raise ValueError(
            f"{where}.ip_allowlist has {len(args.ip_allowlist)} entries; at most {MAX_ALLOWLIST_ENTRIES} "
            "fit the ALB security group's rule quota"
        )
    v4: list[str] = []
    v6: list[str] = []
    for cidr in args.ip_allowlist:
        try:
            net = ipaddress.ip_network(cidr, strict=True)
        except ValueError as exc:
            raise ValueError(f"{where}.ip_allowlist: {cidr!r} is not a CIDR with zero host bits: {exc}") from exc
        if net.prefixlen == 0:
            raise ValueError(f"{where}.ip_allowlist: {cidr!r} allows everyone; leave the allowlist empty instead")
        (v4 if net.version == 4 else v6).append(str(net))
    return v4, v6


def _validate(args: GatewayArgs) -> tuple[list[str], list[str]]:
    """Validate the args; return the allowlist split into IPv4 and IPv6 CIDRs."""
    allowed = check_edge(args)
    if not 1 <= args.target_port <= 65535:
        raise ValueError(f"GatewayArgs.target_port={args.target_port}: must be 1-65535")
    if not args.health_check_path.startswith("/"):
        raise ValueError(f"GatewayArgs.health_check_path={args.health_check_path!r}: must start with '/'")
    if not 1 <= args.idle_timeout_seconds <= 4000:
        raise ValueError(f"GatewayArgs.idle_timeout_seconds={args.idle_timeout_seconds}: ALB accepts 1-4000")
    if not 0 <= args.deregistration_delay_seconds <= 3600:
        raise ValueError(
            f"GatewayArgs.deregistration_delay_seconds={args.deregistration_delay_seconds}: ALB accepts 0-3600"
        )
    if not _TLS12_PLUS_POLICY.match(args.ssl_policy):
        raise ValueError(
            f"GatewayArgs.ssl_policy={args.ssl_policy!r}: use a TLS 1.2+ policy "
            "(ELBSecurityPolicy-TLS13-1-2-*, -TLS13-1-3-*, -FS-1-2-* or -TLS-1-2-*)"
        )
    if isinstance(args.subnet_ids, (list, tuple)) and len(args.subnet_ids) < 2:
        raise ValueError(f"GatewayArgs.subnet_ids={args.subnet_ids!r}: an ALB needs subnets in at least two AZs")
    if args.ip_address_type not in ("ipv4", "dualstack"):
        raise ValueError(f"GatewayArgs.ip_address_type={args.ip_address_type!r}: allowed are 'ipv4' and 'dualstack'")
    return allowed


class Gateway(Block):
    """The public edge of the API: ALB with an HTTPS listener (TLS 1.2+), an HTTP listener that
    only redirects, access logs in an encrypted S3 bucket, and a WAFv2 web ACL (managed rule
    groups, a per-IP rate limit, a body-size limit and an optional IP allowlist)."""

    load_balancer_arn: pulumi.Output[str]
    """ARN of the Application Load Balancer."""
    load_balancer_arn_suffix: pulumi.Output[str]
    """ARN suffix of the load balancer (CloudWatch metrics' dimension)."""
    dns_name: pulumi.Output[str]
    """DNS name of the load balancer."""
    zone_id: pulumi.Output[str]
    """Route 53 hosted zone id of the load balancer (for alias records)."""
    security_group_id: pulumi.Output[str]
    """The load balancer's security group (HTTPS and the HTTP redirect from the allowed sources)."""
    target_group_arn: pulumi.Output[str]
    """ARN of the target group the container service registers in."""
    target_group_arn_suffix: pulumi.Output[str]
    """ARN suffix of the target group (CloudWatch metrics' dimension)."""
    https_listener_arn: pulumi.Output[str]
    """ARN of the HTTPS listener."""
    web_acl_arn: pulumi.Output[str | None]
    """``None`` when ``waf_enabled`` is false."""
    access_log_bucket_name: pulumi.Output[str]
    """S3 bucket holding the load balancer's access logs."""
    certificate_arn: pulumi.Output[str]
    """ARN of the ACM certificate the HTTPS listener serves."""
    url: pulumi.Output[str]
    """The API's HTTPS URL (``https://<domain>``)."""

    def __init__(self, name: str, args: GatewayArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        allow_v4, allow_v6 = _validate(args)
        super().__init__("ai-platform:aws:Gateway", name, args, opts)
        invoke = pulumi.InvokeOptions(parent=self)
        context = aws_context(self)
        region = context.apply(lambda c: c.region)
        account_id = context.apply(lambda c: c.account_id)
        vpc_cidr = (
            pulumi.Output.from_input(args.vpc_cidr_block)
            if args.vpc_cidr_block is not None
            else aws.ec2.get_vpc_output(id=args.vpc_id, opts=invoke).cidr_block
        )

        bucket, bucket_ready = self._access_log_bucket(args, region, account_id)
        sg = self._security_group(args, vpc_cidr, allow_v4, allow_v6)

        # ALB: ~16 USD/month + ~5.8 USD per LCU-month (us-east-1)
        lb = self.child(
            "loadBalancer",
            aws.lb.LoadBalancer,
            aws.lb.LoadBalancerArgs(
                load_balancer_type="application",
                internal=False,
                ip_address_type=args.ip_address_type,
                security_groups=[sg.id],
                subnets=args.subnet_ids,
                drop_invalid_header_fields=True,
                desync_mitigation_mode="defensive",
                enable_waf_fail_open=False,
                enable_deletion_protection=args.deletion_protection,
                idle_timeout=args.idle_timeout_seconds,
                access_logs=aws.lb.LoadBalancerAccessLogsArgs(
                    bucket=bucket.bucket, prefix=_ACCESS_LOG_PREFIX, enabled=True
                ),
            ),
            # ELB checks it can write to the bucket when logging is enabled: the policy must exist first.
            pulumi.ResourceOptions(depends_on=bucket_ready),
            name="alb",
        )
        tg = self.child(
            "targetGroup",
            aws.lb.TargetGroup,
            aws.lb.TargetGroupArgs(
                vpc_id=args.vpc_id,
                target_type="ip",  # Fargate tasks register by IP (awsvpc networking)
                port=args.target_port,
                protocol="HTTP",  # TLS ends at the ALB; the hop to the task stays inside the VPC
                deregistration_delay=args.deregistration_delay_seconds,
                health_check=aws.lb.TargetGroupHealthCheckArgs(
                    enabled=True,
                    path=args.health_check_path,
                    protocol="HTTP",
                    matcher="200",
                    interval=15,
                    timeout=5,
                    healthy_threshold=2,
                    unhealthy_threshold=3,
                ),
            ),
            name="tg",
        )

        certificate_arn = certificate(self, args)
        https = self.child(
            "httpsListener",
            aws.lb.Listener,
            aws.lb.ListenerArgs(
                load_balancer_arn=lb.arn,
                port=443,
                protocol="HTTPS",
                ssl_policy=args.ssl_policy,
                certificate_arn=certificate_arn,
                default_actions=[aws.lb.ListenerDefaultActionArgs(type="forward", target_group_arn=tg.arn)],
                routing_http_response_strict_transport_security_header_value="max-age=31536000; includeSubDomains",
                routing_http_response_x_content_type_options_header_value="nosniff",
                routing_http_response_server_enabled=False,
            ),
            name="https",
        )
        self.child(
            "httpListener",
            aws.lb.Listener,
            aws.lb.ListenerArgs(
                load_balancer_arn=lb.arn,
                port=80,
                protocol="HTTP",
                default_actions=[
                    aws.lb.ListenerDefaultActionArgs(
                        type="redirect",
                        redirect=aws.lb.ListenerDefaultActionRedirectArgs(
                            protocol="HTTPS", port="443", status_code="HTTP_301"
                        ),
                    )
                ],
            ),
            name="http-redirect",
        )

        web_acl_arn: pulumi.Output[str | None] = pulumi.Output.from_input(None)
        if args.waf_enabled:
            acl = web_acl(self, name, args, allow_v4, allow_v6)
            self.child(
                "webAclAssociation",
                wafv2.WebAclAssociation,
                wafv2.WebAclAssociationArgs(resource_arn=lb.arn, web_acl_arn=acl.arn),
                name="waf-association",
            )
            web_acl_arn = acl.arn
            waf_logging(self, name, args, acl)

        if args.hosted_zone_id is not None:
            record_types = ["A", "AAAA"] if args.ip_address_type == "dualstack" else ["A"]
            for record_type in record_types:
                self.child(
                    f"alias{record_type.capitalize()}",
                    aws.route53.Record,
                    aws.route53.RecordArgs(
                        zone_id=args.hosted_zone_id,
                        name=args.domain,
                        type=record_type,
                        aliases=[
                            aws.route53.RecordAliasArgs(
                                name=lb.dns_name, zone_id=lb.zone_id, evaluate_target_health=True
                            )
                        ],
                    ),
                    name=f"alias-{record_type.lower()}",
                )

        self.load_balancer_arn = lb.arn
        self.load_balancer_arn_suffix = lb.arn_suffix
        self.dns_name = lb.dns_name
        self.zone_id = lb.zone_id
        self.security_group_id = sg.id
        self.target_group_arn = tg.arn
        self.target_group_arn_suffix = tg.arn_suffix
        self.https_listener_arn = https.arn
        self.web_acl_arn = web_acl_arn
        self.access_log_bucket_name = bucket.bucket
        self.certificate_arn = pulumi.Output.from_input(certificate_arn)
        self.url = pulumi.Output.from_input(f"https://{args.domain}")
        self.register_outputs(
            {
                "loadBalancerArn": self.load_balancer_arn,
                "dnsName": self.dns_name,
                "securityGroupId": self.security_group_id,
                "targetGroupArn": self.target_group_arn,
                "httpsListenerArn": self.https_listener_arn,
                "webAclArn": self.web_acl_arn,
                "url": self.url,
            }
        )

    # -- access logs -----------------------------------------------------------------------

    def _access_log_bucket(
        self, args: GatewayArgs, region: pulumi.Output[str], account_id: pulumi.Output[str]
    ) -> tuple[aws.s3.Bucket, list[pulumi.Resource]]:
        """The access log bucket. ALB log delivery supports only SSE-S3 (AES256), not SSE-KMS, so the
        bucket is encrypted with S3-managed keys; public access is blocked, ACLs are disabled,
        objects are versioned and expire after ``access_log_retention_days``, TLS is required."""
        bucket = self.child(
            "accessLogBucket",
            aws.s3.Bucket,
            aws.s3.BucketArgs(force_destroy=not args.deletion_protection),
            name="access-logs",
        )
        public_access = self.child(
            "accessLogBucketPublicAccessBlock",
            aws.s3.BucketPublicAccessBlock,
            aws.s3.BucketPublicAccessBlockArgs(
                bucket=bucket.id,
                block_public_acls=True,
                block_public_policy=True,
                ignore_public_acls=True,
                restrict_public_buckets=True,
            ),
            name="access-logs-public-access-block",
        )
        self.child(
            "accessLogBucketOwnership",
            aws.s3.BucketOwnershipControls,
            aws.s3.BucketOwnershipControlsArgs(
                bucket=bucket.id,
                rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"),
            ),
            name="access-logs-ownership",
        )
        self.child(
            "accessLogBucketEncryption",
            aws.s3.BucketServerSideEncryptionConfiguration,
            # *InitArgs: the resource args (``*Args`` names the legacy inline Bucket input types)
            aws.s3.BucketServerSideEncryptionConfigurationInitArgs(
                bucket=bucket.id,
                rules=[
                    aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                        apply_server_side_encryption_by_default=aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                            sse_algorithm="AES256"  # the only encryption ALB log delivery supports
                        )
                    )
                ],
            ),
            name="access-logs-encryption",
        )
        versioning = self.child(
            "accessLogBucketVersioning",
            aws.s3.BucketVersioning,
            aws.s3.BucketVersioningInitArgs(
                bucket=bucket.id,
                versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(status="Enabled"),
            ),
            name="access-logs-versioning",
        )
        self.child(
            "accessLogBucketLifecycle",
            aws.s3.BucketLifecycleConfiguration,
            aws.s3.BucketLifecycleConfigurationArgs(
                bucket=bucket.id,
                rules=[
                    aws.s3.BucketLifecycleConfigurationRuleArgs(
                        id="expire-access-logs",
                        status="Enabled",
                        filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
                        expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(
                            days=args.access_log_retention_days
                        ),
                        noncurrent_version_expiration=aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
                            noncurrent_days=7
                        ),
                        abort_incomplete_multipart_upload=aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
                            days_after_initiation=7
                        ),
                    )
                ],
            ),
            pulumi.ResourceOptions(depends_on=[versioning]),
            name="access-logs-lifecycle",
        )
        policy = self.child(
            "accessLogBucketPolicy",
            aws.s3.BucketPolicy,
            aws.s3.BucketPolicyArgs(
                bucket=bucket.id,
                policy=pulumi.Output.all(bucket.arn, region, account_id).apply(
                    lambda v: access_log_bucket_policy(v[0], v[1], v[2])
                ),
            ),
            # S3 rejects a policy PUT while the public access block is being created.
            pulumi.ResourceOptions(depends_on=[public_access]),
            name="access-logs-policy",
        )
        return bucket, [policy, public_access]

    # -- network ---------------------------------------------------------------------------

    def _security_group(
        self, args: GatewayArgs, vpc_cidr: pulumi.Output[str], allow_v4: list[str], allow_v6: list[str]
    ) -> aws.ec2.SecurityGroup:
        sg = self.child(
            "securityGroup",
            aws.ec2.SecurityGroup,
            aws.ec2.SecurityGroupArgs(
                vpc_id=args.vpc_id,
                description="Public ALB: HTTPS (and HTTP for the redirect) in; the app port to the VPC out",
            ),
            name="alb-sg",
        )
        sources = [(c, True) for c in allow_v4] + [(c, False) for c in allow_v6]
        if not sources:
            sources = [("0.0.0.0/0", True)] + ([("::/0", False)] if args.ip_address_type == "dualstack" else [])
        for i, (cidr, is_v4) in enumerate(sources):
            for port, label in ((443, "Https"), (80, "Http")):
                self.child(
                    f"ingress{label}{i}",
                    aws.vpc.SecurityGroupIngressRule,
                    aws.vpc.SecurityGroupIngressRuleArgs(
                        security_group_id=sg.id,
                        ip_protocol="tcp",
                        from_port=port,
                        to_port=port,
                        cidr_ipv4=cidr if is_v4 else None,
                        cidr_ipv6=None if is_v4 else cidr,
                        description=f"{label.upper()} from {cidr}",
                    ),
                    name=f"alb-{label.lower()}-in-{i}",
                )
        self.child(
            "egressTargets",
            aws.vpc.SecurityGroupEgressRule,
            aws.vpc.SecurityGroupEgressRuleArgs(
                security_group_id=sg.id,
                ip_protocol="tcp",
                from_port=args.target_port,
                to_port=args.target_port,
                cidr_ipv4=vpc_cidr,
                description="To the app's targets (and their health checks) in the VPC",
            ),
            name="alb-to-targets",
        )
        return sg


# -- TLS and WAF, shared by both edges (the ALB and the REST API) ---------------------------


def certificate(block: Block, args: EdgeArgs) -> pulumi.Input[str]:
    """The edge's certificate: the given ARN, or one DNS-validated in ``hosted_zone_id``."""
    if args.certificate_arn is not None:
        return args.certificate_arn
    assert args.hosted_zone_id is not None  # check_edge guarantees one of the two
    cert = block.child(
        "certificate",
        aws.acm.Certificate,
        aws.acm.CertificateArgs(domain_name=args.domain, validation_method="DNS", key_algorithm="EC_prime256v1"),
        name="cert",
    )
    option = cert.domain_validation_options.apply(lambda options: options[0])
    record = block.child(
        "certificateValidationRecord",
        aws.route53.Record,
        aws.route53.RecordArgs(
            zone_id=args.hosted_zone_id,
            name=option.apply(lambda o: o.resource_record_name or ""),
            type=option.apply(lambda o: o.resource_record_type or "CNAME"),
            records=[option.apply(lambda o: o.resource_record_value or "")],
            ttl=60,
            allow_overwrite=True,
        ),
        name="cert-validation",
    )
    validated = block.child(
        "certificateValidation",
        aws.acm.CertificateValidation,
        aws.acm.CertificateValidationArgs(certificate_arn=cert.arn, validation_record_fqdns=[record.fqdn]),
        name="cert-validation",
    )
    return validated.certificate_arn


def waf_logging(block: Block, name: str, args: EdgeArgs, acl: wafv2.WebAcl) -> None:
    """Every request WAF sees goes to a log group (its name must start ``aws-waf-logs-``),
    with the credentials' headers redacted; WAF adds the log group's resource policy."""
    group = log_group(
        block,
        "wafLog",
        retention_days=args.access_log_retention_days,
        kms_key_arn=args.log_kms_key_arn,
        name="waf-log",
        log_group_name=f"aws-waf-logs-{pulumi.get_project()}-{pulumi.get_stack()}-{name}",
    )
    block.child(
        "wafLogging",
        wafv2.WebAclLoggingConfiguration,
        wafv2.WebAclLoggingConfigurationArgs(
            resource_arn=acl.arn,
            log_destination_configs=[group.arn],
            redacted_fields=[
                wafv2.WebAclLoggingConfigurationRedactedFieldArgs(
                    single_header=wafv2.WebAclLoggingConfigurationRedactedFieldSingleHeaderArgs(name=header)
                )
                for header in args.waf_redacted_headers
            ],
        ),
        name="waf-logging",
    )


def web_acl(block: Block, name: str, args: EdgeArgs, allow_v4: list[str], allow_v6: list[str]) -> wafv2.WebAcl:
    """The edge's web ACL: an optional allowlist, a rate limit per IP, a body-size limit and the
    AWS managed rule groups, all counting instead of blocking in ``count`` mode."""
    metric_prefix = re.sub(r"[^A-Za-z0-9_-]", "-", name)[:80]
    counting = args.waf_mode == "count"

    def visibility(metric: str) -> wafv2.WebAclRuleVisibilityConfigArgs:
        return wafv2.WebAclRuleVisibilityConfigArgs(
            cloudwatch_metrics_enabled=True, sampled_requests_enabled=True, metric_name=f"{metric_prefix}-{metric}"
        )

    def deny(status: int) -> wafv2.WebAclRuleActionArgs:
        if counting:
            return wafv2.WebAclRuleActionArgs(count=wafv2.WebAclRuleActionCountArgs())
        return wafv2.WebAclRuleActionArgs(
            block=wafv2.WebAclRuleActionBlockArgs(
                custom_response=wafv2.WebAclRuleActionBlockCustomResponseArgs(response_code=status)
            )
        )

    rules: list[wafv2.WebAclRuleArgs] = []
    allowlist_statements: list[wafv2.WebAclRuleStatementArgs] = []
    for version, cidrs in (("IPV4", allow_v4), ("IPV6", allow_v6)):
        if not cidrs:
            continue
        ip_set = block.child(
            f"allowlist{version.capitalize()}",
            wafv2.IpSet,
            wafv2.IpSetArgs(
                scope="REGIONAL",
                ip_address_version=version,
                addresses=cidrs,
                description="Clients allowed to reach the API",
            ),
            name=f"allowlist-{version.lower()}",
        )
        allowlist_statements.append(
            wafv2.WebAclRuleStatementArgs(
                ip_set_reference_statement=wafv2.WebAclRuleStatementIpSetReferenceStatementArgs(arn=ip_set.arn)
            )
        )
    if allowlist_statements:
        allowed = (
            allowlist_statements[0]
            if len(allowlist_statements) == 1
            else wafv2.WebAclRuleStatementArgs(
                or_statement=wafv2.WebAclRuleStatementOrStatementArgs(statements=allowlist_statements)
            )
        )
        rules.append(
            wafv2.WebAclRuleArgs(
                name="BlockOutsideAllowlist",
                priority=0,
                action=deny(403),
                statement=wafv2.WebAclRuleStatementArgs(
                    not_statement=wafv2.WebAclRuleStatementNotStatementArgs(statement=allowed)
                ),
                visibility_config=visibility("allowlist"),
            )
        )

    rules.append(
        wafv2.WebAclRuleArgs(
            name="RateLimitPerIp",
            priority=1,
            action=deny(429),
            statement=wafv2.WebAclRuleStatementArgs(
                rate_based_statement=wafv2.WebAclRuleStatementRateBasedStatementArgs(
                    limit=args.rate_limit_per_ip, aggregate_key_type="IP", evaluation_window_sec=300
                )
            ),
            visibility_config=visibility("rate-limit"),
        )
    )
    rules.append(
        wafv2.WebAclRuleArgs(
            name="BodySizeLimit",
            priority=2,
            action=deny(413),
            statement=_body_size_statement(args.max_body_size_bytes),
            visibility_config=visibility("body-size"),
        )
    )

    # the common rule set caps bodies at 8 KB (SizeRestrictions_BODY): counted when the API allows more
    counted_common = ("SizeRestrictions_BODY",) if args.max_body_size_bytes > WAF_ALB_BODY_INSPECTION_LIMIT else ()
    managed = [
        (group, counted_common if group == "AWSManagedRulesCommonRuleSet" else ())
        for group in (*_DEFAULT_MANAGED_RULE_GROUPS, *args.extra_managed_rule_groups)
    ]
    for i, (group, counted_rules) in enumerate(managed):
        rules.append(
            wafv2.WebAclRuleArgs(
                name=group,
                priority=10 + i,
                override_action=wafv2.WebAclRuleOverrideActionArgs(
                    count=wafv2.WebAclRuleOverrideActionCountArgs() if counting else None,
                    none=None if counting else wafv2.WebAclRuleOverrideActionNoneArgs(),
                ),
                statement=wafv2.WebAclRuleStatementArgs(
                    managed_rule_group_statement=wafv2.WebAclRuleStatementManagedRuleGroupStatementArgs(
                        vendor_name="AWS",
                        name=group,
                        rule_action_overrides=[
                            wafv2.WebAclRuleStatementManagedRuleGroupStatementRuleActionOverrideArgs(
                                name=rule,
                                action_to_use=wafv2.WebAclRuleStatementManagedRuleGroupStatementRuleActionOverrideActionToUseArgs(
                                    count=wafv2.WebAclRuleStatementManagedRuleGroupStatementRuleActionOverrideActionToUseCountArgs()
                                ),
                            )
                            for rule in counted_rules
                        ]
                        or None,
                    )
                ),
                visibility_config=visibility(group),
            )
        )

    # WAF: 5 USD/month per web ACL + 1 USD per rule/rule group + 0.60 USD per million requests
    return block.child(
        "webAcl",
        wafv2.WebAcl,
        wafv2.WebAclArgs(
            scope="REGIONAL",
            description=f"Edge protection for {args.domain}",
            default_action=wafv2.WebAclDefaultActionArgs(allow=wafv2.WebAclDefaultActionAllowArgs()),
            rules=rules,
            visibility_config=wafv2.WebAclVisibilityConfigArgs(
                cloudwatch_metrics_enabled=True, sampled_requests_enabled=True, metric_name=f"{metric_prefix}-acl"
            ),
        ),
        name="waf",
    )


def _body_size_statement(limit: int) -> wafv2.WebAclRuleStatementArgs:
    """Match requests whose declared ``Content-Length`` exceeds ``limit``; when ``limit`` is within
    WAF's 8 KB body inspection window also match on the inspected body itself (catches chunked
    uploads), treating bodies beyond the window as oversize."""
    header = wafv2.WebAclRuleStatementArgs(
        regex_match_statement=wafv2.WebAclRuleStatementRegexMatchStatementArgs(
            regex_string=content_length_over_regex(limit),
            field_to_match=wafv2.WebAclRuleStatementRegexMatchStatementFieldToMatchArgs(
                single_header=wafv2.WebAclRuleStatementRegexMatchStatementFieldToMatchSingleHeaderArgs(
                    name="content-length"
                )
            ),
            text_transformations=[
                wafv2.WebAclRuleStatementRegexMatchStatementTextTransformationArgs(priority=0, type="NONE")
            ],
        )
    )
    if limit > WAF_ALB_BODY_INSPECTION_LIMIT:
        return header
    body = wafv2.WebAclRuleStatementArgs(
        size_constraint_statement=wafv2.WebAclRuleStatementSizeConstraintStatementArgs(
            comparison_operator="GT",
            size=limit,
            field_to_match=wafv2.WebAclRuleStatementSizeConstraintStatementFieldToMatchArgs(
                body=wafv2.WebAclRuleStatementSizeConstraintStatementFieldToMatchBodyArgs(oversize_handling="MATCH")
            ),
            text_transformations=[
                wafv2.WebAclRuleStatementSizeConstraintStatementTextTransformationArgs(priority=0, type="NONE")
            ],
        )
    )
    return wafv2.WebAclRuleStatementArgs(
        or_statement=wafv2.WebAclRuleStatementOrStatementArgs(statements=[header, body])
    )


def access_log_bucket_policy(bucket_arn: str, region: str, account_id: str) -> str:
    """Bucket policy: ALB log delivery for ``region`` may write under ``alb/AWSLogs/<account>/``;
    everything else must use TLS 1.2+."""
    partition = partition_of(bucket_arn)
    elb_account = ELB_LOG_DELIVERY_ACCOUNTS.get(region)
    principal = (
        {"AWS": f"arn:{partition}:iam::{elb_account}:root"}
        if elb_account is not None
        else {"Service": "logdelivery.elasticloadbalancing.amazonaws.com"}
    )
    objects = [bucket_arn, f"{bucket_arn}/*"]
    return document(
        [
            {
                "Sid": "AlbAccessLogDelivery",
                "Effect": "Allow",
                "Principal": principal,
                "Action": "s3:PutObject",
                "Resource": f"{bucket_arn}/{_ACCESS_LOG_PREFIX}/AWSLogs/{account_id}/*",
            },
            {
                "Sid": "DenyInsecureTransport",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": objects,
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            },
            {
                "Sid": "DenyOutdatedTls",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": objects,
                "Condition": {"NumericLessThan": {"s3:TlsVersion": "1.2"}},
            },
        ]
    )
