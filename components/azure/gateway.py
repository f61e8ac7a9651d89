"""Gateway: the one internet-facing entry point, an Application Gateway WAF_v2 (TLS 1.2+, HTTP only
redirects, autoscaling, zones in prod) with a WAF policy (OWASP 3.2, bot manager, rate limit per
client address, body size) in front of API Management."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pulumi

from components import validation
from components.azure.identity import assign_role
from components.azure.network import public_ip
from components.azure.spec import certificate_secret_id
from components.base import Block, BlockArgs

SSL_POLICY = "AppGwSslPolicy20220101"


@dataclass(kw_only=True)
class GatewayArgs(BlockArgs):
    """Inputs of :class:`Gateway`. Child keys for ``transform``: ``identity``, ``certificateReader``,
    ``publicIp``, ``wafPolicy``, ``gateway``."""

    resource_group_name: pulumi.Input[str]
    """Resource group the block's resources are created in."""
    location: str
    """Azure region of the block's resources."""
    subscription_id: pulumi.Input[str]
    """The subscription (for the WAF policy's and certificate's references)."""
    subnet_id: pulumi.Input[str]
    """Dedicated subnet of the Application Gateway."""
    domain: str
    """The API's public host name."""
    certificate_secret_id: str
    """Key Vault secret id of the TLS certificate for the domain."""
    certificate_key_vault_id: pulumi.Input[str]
    """The Key Vault holding that certificate (the gateway's identity reads it)."""
    backend_host: pulumi.Input[str]
    """The host name the backend (API Management) answers to."""
    backend_ip: pulumi.Input[str] | None
    """The backend's private address (API Management's internal gateway); None: reach
    ``backend_host`` by name (an External API Management has no private address)."""
    health_path: str = "/health"
    """Path of the backend health probe."""
    zones: list[str] = field(default_factory=list)
    """Availability zones of the gateway."""
    min_capacity: int = 1
    """Autoscaling minimum of gateway instances."""
    max_capacity: int = 10
    """Autoscaling maximum of gateway instances."""
    waf_mode: str = "Prevention"
    """WAF policy mode: Prevention (block) or Detection (log only)."""
    rate_limit_per_ip: int = 1000
    """Requests per client address per five minutes."""
    max_body_bytes: int = 1_048_576
    """Largest request body the WAF accepts."""
    ip_allowlist: list[str] = field(default_factory=list)
    """When set, only these CIDRs may call the API."""
    timeout_seconds: int = 300
    """Longest request the gateway waits for the backend, streaming included."""


class Gateway(Block):
    """Application Gateway + WAF policy: TLS termination, OWASP and bot rules, per-client rate limits."""

    gateway_id: pulumi.Output[str]
    """Id of the Application Gateway."""
    public_ip: pulumi.Output[str]
    """The gateway's public IP address."""
    url: str
    """The API's HTTPS URL (``https://<domain>``)."""

    def __init__(self, name: str, args: GatewayArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        _validate(args)
        super().__init__("ai-platform:azure:Gateway", name, args, opts)
        import pulumi_azure_native.managedidentity as managedidentity
        import pulumi_azure_native.network as network

        rg = args.resource_group_name
        identity = self.child(
            "identity",
            managedidentity.UserAssignedIdentity,
            managedidentity.UserAssignedIdentityArgs(resource_group_name=rg, location=args.location),
        )
        reader = assign_role(
            self, "certificateReader", "Key Vault Secrets User", args.certificate_key_vault_id, identity.principal_id
        )
        ip = public_ip(self, "publicIp", rg, args.location, zones=args.zones)
        waf = self.child("wafPolicy", network.WebApplicationFirewallPolicy, _waf_policy(args), name="waf")
        gateway_name = f"{name}-agw"

        def sub(kind: str, child: str) -> pulumi.Output[str]:
            return pulumi.Output.format(
                "/subscriptions/{0}/resourceGroups/{1}/providers/Microsoft.Network/applicationGateways/{2}/{3}/{4}",
                args.subscription_id,
                rg,
                gateway_name,
                kind,
                child,
            )

        gateway = self.child(
            "gateway",
            network.ApplicationGateway,
            network.ApplicationGatewayArgs(
                resource_group_name=rg,
                location=args.location,
                application_gateway_name=gateway_name,
                sku=network.ApplicationGatewaySkuArgs(name="WAF_v2", tier="WAF_v2"),
                autoscale_configuration=network.ApplicationGatewayAutoscaleConfigurationArgs(
                    min_capacity=args.min_capacity, max_capacity=args.max_capacity
                ),
                zones=args.zones or None,
                identity=network.ManagedServiceIdentityArgs(
                    type=network.ResourceIdentityType.USER_ASSIGNED, user_assigned_identities=[identity.id]
                ),
                firewall_policy=network.SubResourceArgs(id=waf.id),
                ssl_policy=network.ApplicationGatewaySslPolicyArgs(policy_type="Predefined", policy_name=SSL_POLICY),
                gateway_ip_configurations=[
                    network.ApplicationGatewayIPConfigurationArgs(
                        name="gateway", subnet=network.SubResourceArgs(id=args.subnet_id)
                    )
                ],
                frontend_ip_configurations=[
                    network.ApplicationGatewayFrontendIPConfigurationArgs(
                        name="public", public_ip_address=network.SubResourceArgs(id=ip.id)
                    )
                ],
                frontend_ports=[
                    network.ApplicationGatewayFrontendPortArgs(name="https", port=443),
                    network.ApplicationGatewayFrontendPortArgs(name="http", port=80),
                ],
                ssl_certificates=[
                    network.ApplicationGatewaySslCertificateArgs(
                        name="api", key_vault_secret_id=args.certificate_secret_id
                    )
                ],
                http_listeners=[
                    network.ApplicationGatewayHttpListenerArgs(
                        name="https",
                        protocol="Https",
                        host_name=args.domain,
                        require_server_name_indication=True,
                        frontend_ip_configuration=network.SubResourceArgs(id=sub("frontendIPConfigurations", "public")),
                        frontend_port=network.SubResourceArgs(id=sub("frontendPorts", "https")),
                        ssl_certificate=network.SubResourceArgs(id=sub("sslCertificates", "api")),
                    ),
                    network.ApplicationGatewayHttpListenerArgs(
                        name="http",
                        protocol="Http",
                        host_name=args.domain,
                        frontend_ip_configuration=network.SubResourceArgs(id=sub("frontendIPConfigurations", "public")),
                        frontend_port=network.SubResourceArgs(id=sub("frontendPorts", "http")),
                    ),
                ],
                redirect_configurations=[
                    network.ApplicationGatewayRedirectConfigurationArgs(
                        name="to-https",
                        redirect_type="Permanent",
                        target_listener=network.SubResourceArgs(id=sub("httpListeners", "https")),
                        include_path=True,
                        include_query_string=True,
                    )
                ],
                backend_address_pools=[
                    network.ApplicationGatewayBackendAddressPoolArgs(
                        name="apim",
                        backend_addresses=[
                            network.ApplicationGatewayBackendAddressArgs(ip_address=args.backend_ip)
                            if args.backend_ip is not None
                            else network.ApplicationGatewayBackendAddressArgs(fqdn=args.backend_host)
                        ],
                    )
                ],
                probes=[
                    network.ApplicationGatewayProbeArgs(
                        name="health",
                        protocol="Https",
                        host=args.backend_host,
                        path=args.health_path,
                        interval=30,
                        timeout=30,
                        unhealthy_threshold=3,
                        match=network.ApplicationGatewayProbeHealthResponseMatchArgs(status_codes=["200-399"]),
                    )
                ],
                backend_http_settings_collection=[
                    network.ApplicationGatewayBackendHttpSettingsArgs(
                        name="apim",
                        protocol="Https",
                        port=443,
                        host_name=args.backend_host,
                        cookie_based_affinity="Disabled",
                        request_timeout=args.timeout_seconds,
                        probe=network.SubResourceArgs(id=sub("probes", "health")),
                    )
                ],
                request_routing_rules=[
                    network.ApplicationGatewayRequestRoutingRuleArgs(
                        name="api",
                        rule_type="Basic",
                        priority=100,
                        http_listener=network.SubResourceArgs(id=sub("httpListeners", "https")),
                        backend_address_pool=network.SubResourceArgs(id=sub("backendAddressPools", "apim")),
                        backend_http_settings=network.SubResourceArgs(id=sub("backendHttpSettingsCollection", "apim")),
                    ),
                    network.ApplicationGatewayRequestRoutingRuleArgs(
                        name="http-to-https",
                        rule_type="Basic",
                        priority=200,
                        http_listener=network.SubResourceArgs(id=sub("httpListeners", "http")),
                        redirect_configuration=network.SubResourceArgs(id=sub("redirectConfigurations", "to-https")),
                    ),
                ],
            ),
            # the gateway reads the certificate with its identity when it is created
            pulumi.ResourceOptions(depends_on=[reader]),
            name="agw",
        )
        self.gateway = gateway
        self.gateway_id = gateway.id
        self.public_ip = ip.ip_address.apply(lambda ip: ip or "")
        self.url = f"https://{args.domain}"
        self.register_outputs({"gatewayId": gateway.id, "publicIp": self.public_ip, "url": self.url})


def _waf_policy(args: GatewayArgs) -> Any:
    import pulumi_azure_native.network as network

    match_all = network.MatchConditionArgs(
        match_variables=[network.MatchVariableArgs(variable_name="RemoteAddr")],
        operator="IPMatch",
        match_values=["0.0.0.0/0"],
    )
    rules = [
        network.WebApplicationFirewallCustomRuleArgs(
            name="RateLimitPerClient",
            priority=10,
            rule_type="RateLimitRule",
            action="Block",
            rate_limit_duration="FiveMins",
            rate_limit_threshold=args.rate_limit_per_ip,
            group_by_user_session=[
                network.GroupByUserSessionArgs(
                    group_by_variables=[network.GroupByVariableArgs(variable_name="ClientAddr")]
                )
            ],
            match_conditions=[match_all],
        )
    ]
    if args.ip_allowlist:
        rules.insert(
            0,
            network.WebApplicationFirewallCustomRuleArgs(
                name="OnlyAllowlisted",
                priority=5,
                rule_type="MatchRule",
                action="Block",
                match_conditions=[
                    network.MatchConditionArgs(
                        match_variables=[network.MatchVariableArgs(variable_name="RemoteAddr")],
                        operator="IPMatch",
                        negation_conditon=True,
                        match_values=list(args.ip_allowlist),
                    )
                ],
            ),
        )
    return network.WebApplicationFirewallPolicyArgs(
        resource_group_name=args.resource_group_name,
        location=args.location,
        policy_settings=network.PolicySettingsArgs(
            state="Enabled",
            mode=args.waf_mode,
            request_body_check=True,
            request_body_enforcement=True,
            max_request_body_size_in_kb=args.max_body_bytes // 1024,
            request_body_inspect_limit_in_kb=128,
        ),
        managed_rules=network.ManagedRulesDefinitionArgs(
            managed_rule_sets=[
                network.ManagedRuleSetArgs(rule_set_type="OWASP", rule_set_version="3.2"),
                network.ManagedRuleSetArgs(rule_set_type="Microsoft_BotManagerRuleSet", rule_set_version="1.1"),
            ]
        ),
        custom_rules=rules,
    )


def _validate(args: GatewayArgs) -> None:
    problem = validation.domain_name(args.domain)
    if problem:
        raise ValueError(f"GatewayArgs.domain={args.domain!r}: {problem}")
    problem = certificate_secret_id(args.certificate_secret_id)
    if problem:
        raise ValueError(f"GatewayArgs.certificate_secret_id={args.certificate_secret_id!r}: {problem}")
    if args.waf_mode not in ("Prevention", "Detection"):
        raise ValueError(f"GatewayArgs.waf_mode={args.waf_mode!r}: allowed Prevention or Detection")
    if not 1 <= args.min_capacity <= args.max_capacity <= 125:
        raise ValueError(
            f"GatewayArgs.min_capacity={args.min_capacity}, max_capacity={args.max_capacity}: "
            "need 1 <= min_capacity <= max_capacity <= 125"
        )
    if not 8 <= args.max_body_bytes // 1024 <= 2000:
        raise ValueError(f"GatewayArgs.max_body_bytes={args.max_body_bytes}: allowed 8 KiB to 2000 KiB (WAF_v2)")
    if not 10 <= args.rate_limit_per_ip <= 1_000_000:
        raise ValueError(f"GatewayArgs.rate_limit_per_ip={args.rate_limit_per_ip}: allowed 10 to 1000000")
    if not 1 <= args.timeout_seconds <= 86400:
        raise ValueError(f"GatewayArgs.timeout_seconds={args.timeout_seconds}: allowed 1 to 86400")
