"""ApiManagement: API Management in Internal VNet mode (reached only through the gateway) with the
app's API, its policy (rate limit per client, LLM token limit, body size, optional JWT), a
backend with a circuit breaker and an Application Insights logger.

Named values hold what the policy and the logger read: secrets as Key Vault references (read with
the service's identity, which gets Key Vault Secrets User first), settings such as the JWT issuer
as plain named values. The limits stay literal in the policy, where the policy pack reads them."""

from __future__ import annotations

from dataclasses import dataclass, field
from xml.sax.saxutils import quoteattr

import pulumi

from components import validation
from components.azure.identity import assign_role
from components.azure.network import public_ip
from components.base import Block, BlockArgs

#: TLS 1.0/1.1, SSL 3.0 and 3DES off, on the client and the backend side
HARDENED_PROTOCOLS = {
    f"Microsoft.WindowsAzure.ApiManagement.Gateway.Security.{side}.{protocol}": "False"
    for side in ("Protocols", "Backend.Protocols")
    for protocol in ("Tls10", "Tls11", "Ssl30")
} | {"Microsoft.WindowsAzure.ApiManagement.Gateway.Security.Ciphers.TripleDes168": "False"}

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
#: the named values the policy and the logger reference as {{name}}
CONNECTION_STRING = "appinsights-connection-string"
JWT_OPENID_CONFIG = "jwt-openid-config-url"
JWT_AUDIENCE = "jwt-audience"


@dataclass(frozen=True)
class JwtValidation:
    """``validate-jwt`` against an OpenID Connect issuer (Entra ID), for callers with tokens."""

    openid_config_url: str
    """The issuer's OpenID Connect metadata URL."""
    audience: str
    """The audience the tokens must be issued for."""


@dataclass(kw_only=True)
class ApiManagementArgs(BlockArgs):
    """Inputs of :class:`ApiManagement`. Child keys for ``transform``: ``publicIp``, ``service``,
    ``vaultReader``, ``namedValue-<name>``, ``logger``, ``backend``, ``api``, ``operation-<method>``,
    ``policy``, ``diagnostic``."""

    resource_group_name: pulumi.Input[str]
    """Resource group the block's resources are created in."""
    location: str
    """Azure region of the block's resources."""
    subnet_id: pulumi.Input[str]
    """Subnet of the internal (VNet-injected) API Management service."""
    publisher_email: str
    """E-mail of the API publisher (Azure's required contact)."""
    publisher_name: str = "ai-platform"
    """Name of the API publisher."""
    sku: str = "Developer"
    """API Management SKU (Developer: no SLA; Premium: zones)."""
    capacity: int = 1
    """Scale units."""
    zones: list[str] = field(default_factory=list)
    """Availability zones of the service (Premium)."""
    backend_url: pulumi.Input[str]
    """The app's internal HTTPS address."""
    app_insights_id: pulumi.Input[str]
    """Application Insights resource the service logs to."""
    key_vault_id: pulumi.Input[str]
    """The vault holding the secrets below; the service's identity may read its secrets."""
    app_insights_connection_string_secret: pulumi.Input[str]
    """The Key Vault secret URL (unversioned) of Application Insights' connection string."""
    rate_limit_calls: int = 1000
    """Calls per client IP per period before 429."""
    rate_limit_period_seconds: int = 300
    """The rate limit's period."""
    tokens_per_minute: int = 100_000
    """Model tokens per minute per subscription before 429."""
    max_body_bytes: int = 1_048_576
    """Largest request body accepted (larger ones get 413)."""
    timeout_seconds: int = 300
    """Longest request the gateway waits for the backend, streaming included."""
    jwt: JwtValidation | None = None
    """Validate callers' tokens against an OpenID Connect issuer (Entra ID); none: API keys only."""
    virtual_network_type: str = "Internal"
    """External only with the stack's dev-only opt-out azure.insecure.externalApiManagement."""


class ApiManagement(Block):
    """The API layer between the WAF and the app: per-client limits and a circuit breaker."""

    service_id: pulumi.Output[str]
    """Id of the API Management service."""
    private_ip: pulumi.Output[str]
    """Private IP address of the internal gateway."""
    gateway_host: pulumi.Output[str]
    """Host name of the API Management gateway."""

    def __init__(self, name: str, args: ApiManagementArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        _validate(args)
        super().__init__("ai-platform:azure:ApiManagement", name, args, opts)
        import pulumi_azure_native.apimanagement as apimanagement

        rg = args.resource_group_name
        # management traffic only (Internal mode); the API itself has no public address
        ip = public_ip(self, "publicIp", rg, args.location, zones=args.zones, dns_label=f"{name}-mgmt")
        service = self.child(
            "service",
            apimanagement.ApiManagementService,
            apimanagement.ApiManagementServiceArgs(
                resource_group_name=rg,
                location=args.location,
                publisher_email=args.publisher_email,
                publisher_name=args.publisher_name,
                sku=apimanagement.ApiManagementServiceSkuPropertiesArgs(name=args.sku, capacity=args.capacity),
                zones=args.zones or None,
                identity=apimanagement.ApiManagementServiceIdentityArgs(type="SystemAssigned"),
                virtual_network_type=args.virtual_network_type,
                virtual_network_configuration=apimanagement.VirtualNetworkConfigurationArgs(
                    subnet_resource_id=args.subnet_id
                ),
                public_ip_address_id=ip.id,
                custom_properties=HARDENED_PROTOCOLS,
            ),
        )
        service_name = service.name
        reader = assign_role(
            self,
            "vaultReader",
            "Key Vault Secrets User",
            args.key_vault_id,
            service.identity.apply(lambda identity: identity.principal_id if identity else ""),
        )
        secret = args.app_insights_connection_string_secret
        named = {
            CONNECTION_STRING: self._named_value(
                rg, service_name, CONNECTION_STRING, key_vault_secret=secret, reader=reader
            ),
        }
        if args.jwt is not None:
            named[JWT_OPENID_CONFIG] = self._named_value(
                rg, service_name, JWT_OPENID_CONFIG, value=args.jwt.openid_config_url
            )
            named[JWT_AUDIENCE] = self._named_value(rg, service_name, JWT_AUDIENCE, value=args.jwt.audience)
        logger = self.child(
            "logger",
            apimanagement.Logger,
            apimanagement.LoggerArgs(
                resource_group_name=rg,
                service_name=service_name,
                logger_id="app-insights",
                logger_type="applicationInsights",
                resource_id=args.app_insights_id,
                # local auth is off on Application Insights: the service's identity sends telemetry
                credentials={"connectionString": f"{{{{{CONNECTION_STRING}}}}}", "identityClientId": "SystemAssigned"},
            ),
            pulumi.ResourceOptions(depends_on=[named[CONNECTION_STRING]]),
        )
        backend = self.child(
            "backend",
            apimanagement.Backend,
            apimanagement.BackendArgs(
                resource_group_name=rg,
                service_name=service_name,
                backend_id="app",
                protocol="http",
                url=args.backend_url,
                tls=apimanagement.BackendTlsPropertiesArgs(
                    validate_certificate_chain=True, validate_certificate_name=True
                ),
                circuit_breaker=apimanagement.BackendCircuitBreakerArgs(
                    rules=[
                        apimanagement.CircuitBreakerRuleArgs(
                            name="overloaded-or-failing",
                            failure_condition=apimanagement.CircuitBreakerFailureConditionArgs(
                                count=3,
                                interval="PT1M",
                                status_code_ranges=[
                                    apimanagement.FailureStatusCodeRangeArgs(min=429, max=429),
                                    apimanagement.FailureStatusCodeRangeArgs(min=500, max=599),
                                ],
                            ),
                            trip_duration="PT1M",
                            accept_retry_after=True,
                        )
                    ]
                ),
            ),
        )
        api = self.child(
            "api",
            apimanagement.Api,
            apimanagement.ApiArgs(
                resource_group_name=rg,
                service_name=service_name,
                api_id="ai-api",
                display_name="AI API",
                path="",
                protocols=["https"],
                service_url=args.backend_url,
                # callers authenticate to the app with its API keys (or a JWT, below)
                subscription_required=False,
            ),
        )
        for method in METHODS:
            self.child(
                f"operation-{method.lower()}",
                apimanagement.ApiOperation,
                apimanagement.ApiOperationArgs(
                    resource_group_name=rg,
                    service_name=service_name,
                    api_id=api.name,
                    operation_id=f"all-{method.lower()}",
                    display_name=f"{method} /*",
                    method=method,
                    url_template="/*",
                ),
                name=f"op-{method.lower()}",
            )
        self.child(
            "policy",
            apimanagement.ApiPolicy,
            apimanagement.ApiPolicyArgs(
                resource_group_name=rg,
                service_name=service_name,
                api_id=api.name,
                policy_id="policy",
                format="rawxml",
                value=api_policy_xml(args),
            ),
            pulumi.ResourceOptions(depends_on=[backend, *named.values()]),
        )
        self.child(
            "diagnostic",
            apimanagement.ApiDiagnostic,
            apimanagement.ApiDiagnosticArgs(
                resource_group_name=rg,
                service_name=service_name,
                api_id=api.name,
                diagnostic_id="applicationinsights",
                logger_id=logger.id,
                always_log="allErrors",
                sampling=apimanagement.SamplingSettingsArgs(sampling_type="fixed", percentage=100),
            ),
        )
        self.service = service
        self.service_id = service.id
        self.private_ip = service.private_ip_addresses.apply(lambda ips: (ips or [""])[0])
        self.gateway_host = service.gateway_url.apply(lambda url: (url or "").removeprefix("https://"))
        self.register_outputs({"serviceId": service.id, "privateIp": self.private_ip})

    def _named_value(
        self,
        rg: pulumi.Input[str],
        service_name: pulumi.Input[str],
        name: str,
        *,
        value: str | None = None,
        key_vault_secret: pulumi.Input[str] | None = None,
        reader: pulumi.Resource | None = None,
    ) -> pulumi.Resource:
        """A named value: a secret read from Key Vault (after ``reader``, the service's role on the
        vault, exists: the service reads it when the value is created), or a plain ``value``."""
        import pulumi_azure_native.apimanagement as apimanagement

        key_vault = (
            None
            if key_vault_secret is None
            else apimanagement.KeyVaultContractCreatePropertiesArgs(secret_identifier=key_vault_secret)
        )
        return self.child(
            f"namedValue-{name}",
            apimanagement.NamedValue,
            apimanagement.NamedValueArgs(
                resource_group_name=rg,
                service_name=service_name,
                named_value_id=name,
                display_name=name,
                secret=key_vault is not None,
                value=value,
                key_vault=key_vault,
            ),
            pulumi.ResourceOptions(depends_on=[reader] if reader is not None else None),
            name=f"nv-{name}",
        )


def api_policy_xml(args: ApiManagementArgs) -> str:
    """The API's policy: limits first (cheapest rejection first), then the backend with its breaker."""
    client = quoteattr('@(context.Request.Headers.GetValueOrDefault("X-Forwarded-For", context.Request.IpAddress))')
    jwt = ""
    if args.jwt is not None:
        jwt = (
            '    <validate-jwt header-name="Authorization" failed-validation-httpcode="401" require-scheme="Bearer">\n'
            f'      <openid-config url="{{{{{JWT_OPENID_CONFIG}}}}}" />\n'
            f"      <audiences><audience>{{{{{JWT_AUDIENCE}}}}}</audience></audiences>\n"
            "    </validate-jwt>\n"
        )
    return (
        "<policies>\n"
        "  <inbound>\n"
        "    <base />\n"
        f'    <validate-content unspecified-content-type-action="ignore" max-size="{args.max_body_bytes}" '
        'size-exceeded-action="prevent" errors-variable-name="bodyErrors" />\n'
        f'    <rate-limit-by-key calls="{args.rate_limit_calls}" renewal-period="{args.rate_limit_period_seconds}" '
        f"counter-key={client} />\n"
        f'    <llm-token-limit counter-key={client} tokens-per-minute="{args.tokens_per_minute}" '
        'estimate-prompt-tokens="true" remaining-tokens-header-name="x-ratelimit-remaining-tokens" />\n'
        f"{jwt}"
        '    <set-backend-service backend-id="app" />\n'
        "  </inbound>\n"
        f'  <backend><forward-request timeout="{args.timeout_seconds}" buffer-response="false" /></backend>\n'
        "  <outbound><base /></outbound>\n"
        "  <on-error><base /></on-error>\n"
        "</policies>\n"
    )


def _validate(args: ApiManagementArgs) -> None:
    if args.virtual_network_type not in ("Internal", "External"):
        raise ValueError(
            f"ApiManagementArgs.virtual_network_type={args.virtual_network_type!r}: allowed Internal (or External, "
            "with the opt-out azure.insecure.externalApiManagement)"
        )
    if args.sku not in ("Developer", "Premium"):
        raise ValueError(
            f"ApiManagementArgs.sku={args.sku!r}: allowed Developer or Premium (v2 tiers have no Internal mode)"
        )
    if args.zones and args.sku != "Premium":
        raise ValueError(f"ApiManagementArgs.zones={args.zones}: availability zones need the Premium sku")
    problem = validation.email(args.publisher_email)
    if problem:
        raise ValueError(f"ApiManagementArgs.publisher_email={args.publisher_email!r}: {problem}")
    if not 1 <= args.capacity <= 12:
        raise ValueError(f"ApiManagementArgs.capacity={args.capacity}: allowed 1 to 12")
    if not 1024 <= args.max_body_bytes <= 4 * 1024 * 1024:
        raise ValueError(f"ApiManagementArgs.max_body_bytes={args.max_body_bytes}: allowed 1024 to 4194304")
    if args.rate_limit_calls < 1 or args.tokens_per_minute < 1:
        raise ValueError("ApiManagementArgs.rate_limit_calls and tokens_per_minute must be positive")
