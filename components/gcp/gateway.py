"""Gateway: a global external HTTPS load balancer (``EXTERNAL_MANAGED``) in front of the Cloud Run
service, with a Google-managed certificate, an SSL policy (TLS 1.2+, RESTRICTED or MODERN
profile), port 80 only redirecting to HTTPS, request logging, and a Cloud Armor policy:

* the preconfigured OWASP rule sets (``<set>-v33-stable`` at the spec's sensitivity), deny(403),
  in preview only when the WAF mode is ``count`` (in prod only through an opt-out), plus ``cve-canary``;
* a ``content-length`` size rule (deny 413), a per-IP ``throttle`` (deny 429), an optional
  allowlist (deny 403 for other sources), and Adaptive Protection (L7 DDoS) in prod.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import pulumi
import pulumi_gcp.compute as compute

from components import validation
from components.base import Block
from components.gcp.apis import GcpArgs, after
from components.gcp.spec import WAF_RULE_SETS

#: Cloud Armor's allowed rate-limit intervals (seconds); the spec's limit is per 5 minutes
RATE_INTERVAL_SECONDS = 300
_DEFAULT_PRIORITY = 2147483647


@dataclass(kw_only=True)
class GatewayArgs(GcpArgs):
    """Inputs of :class:`Gateway`. Child keys for ``transform``: ``securityPolicy``, ``sslPolicy``,
    ``certificate``, ``neg``, ``backend``, ``urlMap``, ``httpsProxy``, ``address``, ``httpsRule``,
    ``redirectMap``, ``httpProxy``, ``httpRule``."""

    region: str
    """Region of the Cloud Run service behind the load balancer."""
    service_name: pulumi.Input[str]
    """The Cloud Run service behind the serverless NEG."""
    domain: str
    """The API's public host name (a Google-managed certificate is issued for it)."""
    ssl_profile: Literal["RESTRICTED", "MODERN"] = "RESTRICTED"
    """SSL policy profile of the HTTPS proxy (TLS 1.2+; COMPATIBLE is refused)."""
    waf_enabled: bool = True
    """Attach the Cloud Armor policy (preconfigured WAF rules, rate limit, body size)."""
    waf_preview: bool = False
    """Log only (count mode): dev, while rules are tuned; in prod only through the opt-out
    ``gcp.insecure.wafPreview``."""
    waf_sensitivity: int = 1
    """Sensitivity of the preconfigured WAF rules, 1 (fewest false positives) to 4."""
    rate_limit_per_ip: int = 1000
    """Requests per IP per 5 minutes."""
    max_body_bytes: int = 1_048_576
    """Largest request body accepted (larger ones get 413)."""
    ip_allowlist: Sequence[str] = field(default_factory=list)
    """When set, only these CIDRs may call the API (at most 10)."""
    adaptive_protection: bool = True
    """Cloud Armor Adaptive Protection (layer-7 DDoS detection)."""


def _validate(args: GatewayArgs) -> None:
    problem = validation.domain_name(args.domain)
    if problem:
        raise ValueError(f"GatewayArgs.domain={args.domain!r}: {problem}")
    if args.ssl_profile not in ("RESTRICTED", "MODERN"):
        raise ValueError(
            f"GatewayArgs.ssl_profile={args.ssl_profile!r}: allowed RESTRICTED or MODERN "
            "(COMPATIBLE accepts weak ciphers)"
        )
    if not 1 <= args.waf_sensitivity <= 4:
        raise ValueError(f"GatewayArgs.waf_sensitivity={args.waf_sensitivity}: must be 1-4")
    if args.rate_limit_per_ip < 1:
        raise ValueError(f"GatewayArgs.rate_limit_per_ip={args.rate_limit_per_ip}: must be >= 1")
    if args.max_body_bytes < 1024:
        raise ValueError(f"GatewayArgs.max_body_bytes={args.max_body_bytes}: must be >= 1024")
    for cidr in args.ip_allowlist:
        try:
            ipaddress.ip_network(cidr, strict=True)
        except ValueError as error:
            raise ValueError(f"GatewayArgs.ip_allowlist contains {cidr!r}: not a CIDR block ({error})") from None
    if len(args.ip_allowlist) > 10:
        raise ValueError(f"GatewayArgs.ip_allowlist has {len(args.ip_allowlist)} ranges: Cloud Armor takes 10 per rule")


def _expression_rule(
    priority: int, action: str, expression: str, description: str, preview: bool = False
) -> compute.SecurityPolicyRuleArgs:
    return compute.SecurityPolicyRuleArgs(
        priority=priority,
        action=action,
        preview=preview,
        description=description,
        match=compute.SecurityPolicyRuleMatchArgs(expr=compute.SecurityPolicyRuleMatchExprArgs(expression=expression)),
    )


def security_rules(args: GatewayArgs) -> list[compute.SecurityPolicyRuleArgs]:
    """The Cloud Armor rules in priority order (lower numbers are evaluated first)."""
    rules: list[compute.SecurityPolicyRuleArgs] = []
    if args.ip_allowlist:
        allowed = " || ".join(f"inIpRange(origin.ip, '{cidr}')" for cidr in args.ip_allowlist)
        rules.append(_expression_rule(100, "deny(403)", f"!({allowed})", "Only the allowlisted ranges"))
    rules.append(
        _expression_rule(
            200,
            "deny(413)",
            f"int(request.headers['content-length']) > {args.max_body_bytes}",
            f"Bodies over {args.max_body_bytes} bytes",
        )
    )
    if args.waf_enabled:
        sensitivity = f"{{'sensitivity': {args.waf_sensitivity}}}"
        for index, rule_set in enumerate(WAF_RULE_SETS):
            rules.append(
                _expression_rule(
                    1000 + index,
                    "deny(403)",
                    f"evaluatePreconfiguredWaf('{rule_set}-v33-stable', {sensitivity})",
                    f"OWASP {rule_set}",
                    preview=args.waf_preview,
                )
            )
        rules.append(
            _expression_rule(
                1100,
                "deny(403)",
                "evaluatePreconfiguredWaf('cve-canary', {'sensitivity': 3})",
                "Known CVEs (Log4j and the like)",
                preview=args.waf_preview,
            )
        )
    rules.append(
        compute.SecurityPolicyRuleArgs(
            priority=2000,
            action="throttle",
            description=f"{args.rate_limit_per_ip} requests per IP per {RATE_INTERVAL_SECONDS} s",
            match=compute.SecurityPolicyRuleMatchArgs(
                versioned_expr="SRC_IPS_V1",
                config=compute.SecurityPolicyRuleMatchConfigArgs(src_ip_ranges=["*"]),
            ),
            rate_limit_options=compute.SecurityPolicyRuleRateLimitOptionsArgs(
                conform_action="allow",
                exceed_action="deny(429)",
                enforce_on_key="IP",
                rate_limit_threshold=compute.SecurityPolicyRuleRateLimitOptionsRateLimitThresholdArgs(
                    count=args.rate_limit_per_ip, interval_sec=RATE_INTERVAL_SECONDS
                ),
            ),
        )
    )
    rules.append(
        compute.SecurityPolicyRuleArgs(
            priority=_DEFAULT_PRIORITY,
            action="allow",
            description="Default: allow what no rule above denied",
            match=compute.SecurityPolicyRuleMatchArgs(
                versioned_expr="SRC_IPS_V1",
                config=compute.SecurityPolicyRuleMatchConfigArgs(src_ip_ranges=["*"]),
            ),
        )
    )
    return rules


class Gateway(Block):
    ip_address: pulumi.Output[str]
    """The global load balancer's IP address (the domain's A record)."""
    url: pulumi.Output[str]
    """The API's HTTPS URL (``https://<domain>``)."""
    url_map_name: pulumi.Output[str]
    """Name of the HTTPS URL map (the monitoring metrics' label)."""
    security_policy_name: pulumi.Output[str]
    """Name of the Cloud Armor security policy."""

    def __init__(self, name: str, args: GatewayArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        _validate(args)
        super().__init__("ai-platform:gcp:Gateway", name, args, opts)
        policy = self.child(
            "securityPolicy",
            compute.SecurityPolicy,
            compute.SecurityPolicyArgs(
                project=args.project,
                type="CLOUD_ARMOR",
                description="WAF, rate and size limits for the AI API",
                rules=security_rules(args),
                adaptive_protection_config=compute.SecurityPolicyAdaptiveProtectionConfigArgs(
                    layer7_ddos_defense_config=compute.SecurityPolicyAdaptiveProtectionConfigLayer7DdosDefenseConfigArgs(
                        enable=True, rule_visibility="STANDARD"
                    )
                )
                if args.adaptive_protection
                else None,
            ),
            after(args),
            name="armor",
        )
        ssl_policy = self.child(
            "sslPolicy",
            compute.SSLPolicy,
            compute.SSLPolicyArgs(project=args.project, profile=args.ssl_profile, min_tls_version="TLS_1_2"),
            after(args),
            name="tls",
        )
        certificate = self.child(
            "certificate",
            compute.ManagedSslCertificate,
            compute.ManagedSslCertificateArgs(
                project=args.project,
                managed=compute.ManagedSslCertificateManagedArgs(domains=[args.domain]),
            ),
            after(args),
            name="cert",
        )
        neg = self.child(
            "neg",
            compute.RegionNetworkEndpointGroup,
            compute.RegionNetworkEndpointGroupArgs(
                project=args.project,
                region=args.region,
                network_endpoint_type="SERVERLESS",
                cloud_run=compute.RegionNetworkEndpointGroupCloudRunArgs(service=args.service_name),
            ),
            after(args),
            name="neg",
        )
        backend = self.child(
            "backend",
            compute.BackendService,
            compute.BackendServiceArgs(
                project=args.project,
                load_balancing_scheme="EXTERNAL_MANAGED",
                protocol="HTTPS",
                backends=[compute.BackendServiceBackendArgs(group=neg.id)],
                security_policy=policy.self_link,
                log_config=compute.BackendServiceLogConfigArgs(enable=True, sample_rate=1.0),
            ),
            name="backend",
        )
        url_map = self.child(
            "urlMap",
            compute.URLMap,
            compute.URLMapArgs(project=args.project, default_service=backend.id),
            name="urls",
        )
        https_proxy = self.child(
            "httpsProxy",
            compute.TargetHttpsProxy,
            compute.TargetHttpsProxyArgs(
                project=args.project, url_map=url_map.id, ssl_certificates=[certificate.id], ssl_policy=ssl_policy.id
            ),
            name="https",
        )
        address = self.child(
            "address",
            compute.GlobalAddress,
            compute.GlobalAddressArgs(project=args.project, address_type="EXTERNAL", ip_version="IPV4"),
            after(args),
            name="ip",
        )
        self.child(
            "httpsRule",
            compute.GlobalForwardingRule,
            compute.GlobalForwardingRuleArgs(
                project=args.project,
                load_balancing_scheme="EXTERNAL_MANAGED",
                port_range="443",
                target=https_proxy.id,
                ip_address=address.address,
            ),
            name="https",
        )
        redirect = self.child(
            "redirectMap",
            compute.URLMap,
            compute.URLMapArgs(
                project=args.project,
                default_url_redirect=compute.URLMapDefaultUrlRedirectArgs(
                    https_redirect=True, strip_query=False, redirect_response_code="MOVED_PERMANENTLY_DEFAULT"
                ),
            ),
            after(args),
            name="redirect",
        )
        http_proxy = self.child(
            "httpProxy",
            compute.TargetHttpProxy,
            compute.TargetHttpProxyArgs(project=args.project, url_map=redirect.id),
            name="http",
        )
        self.child(
            "httpRule",
            compute.GlobalForwardingRule,
            compute.GlobalForwardingRuleArgs(
                project=args.project,
                load_balancing_scheme="EXTERNAL_MANAGED",
                port_range="80",
                target=http_proxy.id,
                ip_address=address.address,
            ),
            name="http",
        )
        self.ip_address = address.address
        self.url = pulumi.Output.from_input(f"https://{args.domain}")
        self.url_map_name = url_map.name
        self.security_policy_name = policy.name
        self.register_outputs({"ipAddress": self.ip_address, "url": self.url})
