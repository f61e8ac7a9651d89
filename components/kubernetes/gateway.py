"""Gateway (Kubernetes): the one way in, over TLS, with an HTTP->HTTPS redirect and edge limits.

Two kinds of edge, by what the cluster runs:

* ``ingress``: a ``networking.k8s.io/v1`` Ingress of a configurable class, with TLS for the
  domain (a cert-manager ClusterIssuer or an existing Secret), the redirect, a per-client rate
  limit, the body-size limit, the request timeout and an optional client allowlist as
  ingress-nginx annotations (honoured by ingress-nginx-compatible controllers; other
  controllers ignore them, and the app still enforces its own body size and rate limits);
* ``gateway``: Gateway API v1 (the cluster needs its CRDs and a GatewayClass): a Gateway with
  an HTTPS listener (TLS terminated with the certificate) and an HTTP listener whose only
  HTTPRoute redirects to HTTPS, and an HTTPRoute from the HTTPS listener to the app. Gateway API
  has no portable rate or body-size limit, so the edge uses Envoy Gateway's policy resources
  (``gateway.envoyproxy.io/v1alpha1``) attached to that HTTPRoute: a BackendTrafficPolicy with a
  per-client-IP local rate limit (``sourceCIDR`` ``Distinct``, Envoy Gateway v1.4+; counted per
  Envoy replica) and a request buffer whose limit answers 413 to a larger body; and, with an
  allowlist, a SecurityPolicy admitting only those CIDRs. The GatewayClass must be Envoy Gateway's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import pulumi

from components import validation
from components.base import BlockArgs
from components.kubernetes.objects import NamespacedBlock, custom_resource, meta

NGINX = "nginx.ingress.kubernetes.io/"
GATEWAY_API = "gateway.networking.k8s.io/v1"
ENVOY_GATEWAY = "gateway.envoyproxy.io/v1alpha1"


@dataclass(kw_only=True)
class GatewayArgs(BlockArgs):
    namespace: str
    """The namespace of the app's Service."""
    domain: str
    """The API's public host name."""
    service_name: str
    """The app's Service the edge routes to."""
    service_port: int
    """Port of the app's Service."""
    kind: Literal["ingress", "gateway"] = "ingress"
    """An Ingress (ingress-nginx annotations) or a Gateway API Gateway with HTTPRoutes."""
    class_name: str = "nginx"
    """IngressClass or GatewayClass name."""
    cluster_issuer: str | None = None
    """A cert-manager ClusterIssuer for the domain's certificate; else ``tls_secret_name``."""
    tls_secret_name: str | None = None
    """An existing TLS Secret for the domain; else cert-manager's ``cluster_issuer`` issues one."""
    rate_limit_per_minute: int = 200
    """Requests per client IP per minute (ingress)."""
    max_body_bytes: int = 1_048_576
    """Largest request body accepted at the edge."""
    timeout_seconds: int = 300
    """Longest request the edge waits for, streaming included."""
    ip_allowlist: Sequence[str] = field(default_factory=list)
    """When set, only these CIDRs may call the API."""


class Gateway(NamespacedBlock):
    """The edge (child keys: ``ingress``; or ``gateway``, ``redirect``, ``route``, ``limits``, and
    ``allowlist`` with an allowlist)."""

    url: str
    """The API's HTTPS URL (``https://<domain>``)."""
    tls_secret: str
    """The TLS Secret the edge serves."""

    def __init__(self, name: str, args: GatewayArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        _validate(args)
        super().__init__("ai-platform:kubernetes:Gateway", name, args, opts)
        self.url = f"https://{args.domain}"
        self.tls_secret = args.tls_secret_name or f"{name}-tls"
        self._labels = dict(args.tags)
        if args.kind == "ingress":
            self.edge = self._ingress(name, args)
        else:
            self.edge = self._gateway(name, args)
        self.register_outputs({"url": self.url})

    def _ingress(self, name: str, args: GatewayArgs) -> Any:
        from pulumi_kubernetes.networking.v1 import (
            HTTPIngressPathArgs,
            HTTPIngressRuleValueArgs,
            Ingress,
            IngressBackendArgs,
            IngressInitArgs,
            IngressRuleArgs,
            IngressServiceBackendArgs,
            IngressSpecArgs,
            IngressTLSArgs,
            ServiceBackendPortArgs,
        )

        annotations = {
            f"{NGINX}ssl-redirect": "true",
            f"{NGINX}force-ssl-redirect": "true",
            f"{NGINX}limit-rpm": str(args.rate_limit_per_minute),
            f"{NGINX}proxy-body-size": str(args.max_body_bytes),
            f"{NGINX}proxy-read-timeout": str(args.timeout_seconds),
            f"{NGINX}proxy-send-timeout": str(args.timeout_seconds),
        }
        if args.ip_allowlist:
            annotations[f"{NGINX}whitelist-source-range"] = ",".join(args.ip_allowlist)
        if args.cluster_issuer:
            annotations["cert-manager.io/cluster-issuer"] = args.cluster_issuer
        backend = IngressBackendArgs(
            service=IngressServiceBackendArgs(
                name=args.service_name, port=ServiceBackendPortArgs(number=args.service_port)
            )
        )
        return self.child(
            "ingress",
            Ingress,
            IngressInitArgs(
                metadata=meta(name, args.namespace, annotations=annotations),
                spec=IngressSpecArgs(
                    ingress_class_name=args.class_name,
                    tls=[IngressTLSArgs(hosts=[args.domain], secret_name=self.tls_secret)],
                    rules=[
                        IngressRuleArgs(
                            host=args.domain,
                            http=HTTPIngressRuleValueArgs(
                                paths=[HTTPIngressPathArgs(path="/", path_type="Prefix", backend=backend)]
                            ),
                        )
                    ],
                ),
            ),
        )

    def _gateway(self, name: str, args: GatewayArgs) -> Any:
        annotations = {"cert-manager.io/cluster-issuer": args.cluster_issuer} if args.cluster_issuer else None
        gateway = self.child(
            "gateway",
            custom_resource(GATEWAY_API, "Gateway"),
            {
                "metadata": meta(name, args.namespace, self._labels, annotations),
                "spec": {
                    "gatewayClassName": args.class_name,
                    "listeners": [
                        {
                            "name": "https",
                            "hostname": args.domain,
                            "port": 443,
                            "protocol": "HTTPS",
                            "tls": {
                                "mode": "Terminate",
                                "certificateRefs": [{"kind": "Secret", "name": self.tls_secret}],
                            },
                            "allowedRoutes": {"namespaces": {"from": "Same"}},
                        },
                        {
                            "name": "http",
                            "hostname": args.domain,
                            "port": 80,
                            "protocol": "HTTP",
                            "allowedRoutes": {"namespaces": {"from": "Same"}},
                        },
                    ],
                },
            },
        )
        after = pulumi.ResourceOptions(depends_on=[gateway])
        self.child(
            "redirect",
            custom_resource(GATEWAY_API, "HTTPRoute"),
            {
                "metadata": meta(f"{name}-redirect", args.namespace, self._labels),
                "spec": {
                    "parentRefs": [{"name": name, "sectionName": "http"}],
                    "hostnames": [args.domain],
                    "rules": [
                        {
                            "filters": [
                                {"type": "RequestRedirect", "requestRedirect": {"scheme": "https", "statusCode": 301}}
                            ]
                        }
                    ],
                },
            },
            after,
        )
        route = self.child(
            "route",
            custom_resource(GATEWAY_API, "HTTPRoute"),
            {
                "metadata": meta(name, args.namespace, self._labels),
                "spec": {
                    "parentRefs": [{"name": name, "sectionName": "https"}],
                    "hostnames": [args.domain],
                    "rules": [
                        {
                            "matches": [{"path": {"type": "PathPrefix", "value": "/"}}],
                            "backendRefs": [{"name": args.service_name, "port": args.service_port}],
                            "timeouts": {"request": f"{args.timeout_seconds}s"},
                        }
                    ],
                },
            },
            after,
        )
        self._gateway_policies(name, args, pulumi.ResourceOptions(depends_on=[route]))
        return gateway

    def _gateway_policies(self, name: str, args: GatewayArgs, after: pulumi.ResourceOptions) -> None:
        """Envoy Gateway's policies on the app's HTTPRoute: the limits the Ingress sets as annotations."""
        target = [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "name": name}]
        limit = {"requests": args.rate_limit_per_minute, "unit": "Minute"}
        self.child(
            "limits",
            custom_resource(ENVOY_GATEWAY, "BackendTrafficPolicy"),
            {
                "metadata": meta(name, args.namespace, self._labels),
                "spec": {
                    "targetRefs": target,
                    "rateLimit": {
                        "type": "Local",
                        "local": {
                            # one bucket per client address, IPv4 and IPv6 alike
                            "rules": [
                                {
                                    "clientSelectors": [{"sourceCIDR": {"type": "Distinct", "value": cidr}}],
                                    "limit": limit,
                                }
                                for cidr in ("0.0.0.0/0", "::/0")
                            ]
                        },
                    },
                    "requestBuffer": {"limit": str(args.max_body_bytes)},
                },
            },
            after,
        )
        if args.ip_allowlist:
            self.child(
                "allowlist",
                custom_resource(ENVOY_GATEWAY, "SecurityPolicy"),
                {
                    "metadata": meta(name, args.namespace, self._labels),
                    "spec": {
                        "targetRefs": target,
                        "authorization": {
                            "defaultAction": "Deny",
                            "rules": [{"action": "Allow", "principal": {"clientCIDRs": list(args.ip_allowlist)}}],
                        },
                    },
                },
                after,
            )


def _validate(args: GatewayArgs) -> None:
    problem = validation.domain_name(args.domain)
    if problem:
        raise ValueError(f"GatewayArgs.domain {args.domain!r}: {problem}")
    if (args.cluster_issuer is None) == (args.tls_secret_name is None):
        raise ValueError("GatewayArgs: set exactly one of cluster_issuer (cert-manager) or tls_secret_name")
    if args.kind not in ("ingress", "gateway"):
        raise ValueError(f"GatewayArgs.kind {args.kind!r}: must be ingress or gateway")
    if args.rate_limit_per_minute < 1:
        raise ValueError(f"GatewayArgs.rate_limit_per_minute {args.rate_limit_per_minute}: must be at least 1")
    if args.max_body_bytes < 1:
        raise ValueError(f"GatewayArgs.max_body_bytes {args.max_body_bytes}: must be at least 1 (0 means unlimited)")
