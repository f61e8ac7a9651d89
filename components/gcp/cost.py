"""What each Google Cloud resource type of the platform costs a month (the engine: components/cost).

Prices are in ``prices.json`` beside this file (europe-west1, list prices, free tiers not
deducted). Adding a type: one entry in ``prices.json`` and one formula in ``PRICED`` (or one
line in ``FREE``/``NOT_PRICED``).
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

from components.cost import GB, HOURS_PER_MONTH, Charge, Context, compute_hours, request_charge, rule_set_charges
from components.cost.quantities import cpu_cores, gib
from components.testing import GraphResource

PRICES = Path(__file__).with_name("prices.json")
#: this target's own components -> the block they bill to
BLOCKS = {"EncryptionKey": "secrets"}

H = HOURS_PER_MONTH


def request_based(r: GraphResource) -> bool:
    """Whether a Cloud Run v2 service has request-based billing (CPU only while it serves).

    ``cpuIdle`` defaults to true only while the container sets no ``resources``: once it sets
    ``resources`` (limits, startup boost), CPU stays allocated unless ``cpuIdle`` is true, which is
    instance-based billing (Cloud Run Admin API v2, ``ResourceRequirements.cpuIdle``)."""
    containers = (r.inputs.get("template") or {}).get("containers") or [{}]
    resources = [c.get("resources") for c in containers]
    return all(res is None or res.get("cpuIdle") is True for res in resources)


def cloud_run(r: GraphResource, ctx: Context) -> list[Charge]:
    """The billing the planned service has: instance-based (every instance's whole life at the
    instance-based rates, no request fee) or request-based (time serving requests at the active
    rates, idle minimum instances at the idle rates, plus the request fee). Startup CPU boost and
    the free tier are not counted."""
    template = r.inputs.get("template") or {}
    minimum = int((template.get("scaling") or {}).get("minInstanceCount") or 0)
    limits = [(c.get("resources") or {}).get("limits") or {} for c in template.get("containers") or []]
    cores = sum(cpu_cores(q.get("cpu", 1)) for q in limits)
    memory = sum(gib(q.get("memory", "512Mi")) for q in limits)
    if not request_based(r):
        keys = ("run-instance-vcpu-hour", "run-instance-gib-hour")
        charges = compute_hours(minimum, cores, memory, keys, "minimum instances (instance-based billing)")
        extra, why = ctx.usage(r, "extraInstances", 0, "average instances above the minimum; stated default: none")
        if extra:
            charges += [replace(c, usage=why) for c in compute_hours(extra, cores, memory, keys, "instances above it")]
        return charges
    ms, why = ctx.usage(r, "averageDurationMs", 1500, "stated default: 1.5 s a request (the model call)")
    # an instance is billed active while it serves at least one request: no two requests overlapping
    # is the upper bound; active time is spent on the minimum instances first
    active = ctx.requests * ms / 1000 / 3600
    idle = max(minimum * H - active, 0)
    active_why = f"requests x {ms:g} ms, none overlapping ({why})"
    idle_why = f"{minimum:g} x {H} h less the active hours ({active_why})" if active else None
    return [
        Charge(f"active vCPU hours ({cores:g} vCPU)", active * cores, "run-request-vcpu-hour", active_why),
        Charge(f"active memory hours ({memory:g} GiB)", active * memory, "run-request-gib-hour", active_why),
        Charge(
            f"idle minimum instances: vCPU hours ({minimum:g} x {cores:g})",
            idle * cores,
            "run-idle-vcpu-hour",
            idle_why,
        ),
        Charge(
            f"idle minimum instances: memory hours ({minimum:g} x {memory:g} GiB)",
            idle * memory,
            "run-idle-gib-hour",
            idle_why,
        ),
        request_charge(r, ctx, "run-requests-million"),
    ]


def forwarding_rule(r: GraphResource, ctx: Context) -> list[Charge]:
    # the first five global forwarding rules of a project share one hourly price
    rules = ctx.graph.of_type(r.type)
    if r is not rules[0]:
        return [Charge("forwarding rule (within the first five)", 0, "lb-first-five-rules-hour")]
    gb, why = ctx.usage(r, "gbProcessed", ctx.edge_gb, "requests x traffic.bytesPerRequest")
    return [
        Charge("forwarding rules (first five) hours", H, "lb-first-five-rules-hour"),
        Charge("data processed", gb, "lb-data-gb", why),
        Charge("data transfer out to the internet", gb, "internet-egress-gb", why),
    ]


def security_policy(r: GraphResource, ctx: Context) -> list[Charge]:
    return rule_set_charges(r, ctx, ("armor-policy-month", "armor-rule-month", "armor-requests-million"))


def router_nat(r: GraphResource, ctx: Context) -> list[Charge]:
    # the service's egress to the model APIs goes direct (PRIVATE_RANGES_ONLY): NAT sees little
    gb, why = ctx.usage(r, "gbProcessed", 1.0, "stated default: 1 GB a month")
    return [Charge("gateway hours", H, "nat-gateway-hour"), Charge("data processed", gb, "nat-data-gb", why)]


def redis_instance(r: GraphResource, ctx: Context) -> list[Charge]:
    tier = "standard" if r.inputs.get("tier") == "STANDARD_HA" else "basic"
    size = float(r.inputs.get("memorySizeGb") or 1)
    band = "m1" if size <= 4 else "m2" if size <= 10 else "m3"
    return [Charge(f"{tier} tier, {size:g} GB", size * H, f"memorystore-{tier}-{band}-gb-hour")]


_CUSTOM_TIER = re.compile(r"^db-custom-(\d+)-(\d+)$")


def sql_instance(r: GraphResource, ctx: Context) -> list[Charge]:
    settings = r.inputs.get("settings") or {}
    match = _CUSTOM_TIER.match(str(settings.get("tier")))
    if match is None:
        return [Charge(f"{settings.get('tier')} instance hours", H, f"sql-{settings.get('tier')}-hour")]
    cores, memory = int(match.group(1)), int(match.group(2)) / 1024
    ha = settings.get("availabilityType") == "REGIONAL"
    suffix = "-ha" if ha else ""
    disk = float(settings.get("diskSize") or 10)
    gb, why = ctx.usage(
        r, "storageGb", max(disk, ctx.traffic("databaseGb")), "the disk (grows with traffic.databaseGb)"
    )
    return [
        Charge(f"vCPU hours ({cores}{', HA' if ha else ''})", cores * H, f"sql-vcpu-hour{suffix}"),
        Charge(f"memory GB hours ({memory:g} GB)", memory * H, f"sql-memory-gb-hour{suffix}"),
        Charge("SSD storage", gb, f"sql-ssd-gb-month{suffix}", why),
    ]


def pubsub_topic(r: GraphResource, ctx: Context) -> list[Charge]:
    dead_letter = "dead-letter" in r.name
    default = 0.0 if dead_letter else ctx.jobs * 1_000 / GB  # each message billed as at least 1 KB
    gb, why = ctx.usage(r, "publishedGb", default, "failures only" if dead_letter else "jobs x 1 KB minimum")
    return [Charge("publish throughput", gb / 1024, "pubsub-throughput-tib", why)]


def pubsub_subscription(r: GraphResource, ctx: Context) -> list[Charge]:
    dead_letter = "dead-letter" in r.name
    default = 0.0 if dead_letter else ctx.jobs * 1_000 / GB
    gb, why = ctx.usage(r, "deliveredGb", default, "failures only" if dead_letter else "jobs x 1 KB minimum")
    return [Charge("subscribe throughput", gb / 1024, "pubsub-throughput-tib", why)]


def secret_version(r: GraphResource, ctx: Context) -> list[Charge]:
    return [Charge("active secret version", 1, "secret-version-month")]


def secret(r: GraphResource, ctx: Context) -> list[Charge]:
    calls, why = ctx.usage(r, "accessTenThousands", 1, "stated default: 10,000 reads a month")
    return [Charge("access operations", calls, "secret-access-10k", why)]


def crypto_key(r: GraphResource, ctx: Context) -> list[Charge]:
    operations, why = ctx.usage(r, "operationsTenThousands", 10, "stated default: 100,000 a month")
    return [
        Charge("key version (one active; rotation adds one each period)", 1, "kms-key-version-month"),
        Charge("cryptographic operations", operations, "kms-operations-10k", why),
    ]


def artifact_repository(r: GraphResource, ctx: Context) -> list[Charge]:
    gb, why = ctx.usage(r, "storedGb", 5, "stated default: 5 GB of images kept")
    return [Charge("storage", gb, "artifact-storage-gb-month", why)]


def log_bucket(r: GraphResource, ctx: Context) -> list[Charge]:
    gb, why = ctx.usage(r, "ingestedGb", ctx.log_gb + ctx.requests * 500 / GB, "app logs + 500 B LB log a request")
    days = int(r.inputs.get("retentionDays") or 30)
    retained = gb * max(days - 30, 0) / 30.4  # the first 30 days are included
    return [
        Charge("logs ingested", gb, "logging-ingest-gib", why),
        Charge(f"logs retained beyond 30 days ({days} days kept)", retained, "logging-retention-gib-month", why),
    ]


PRICED = {
    "gcp:cloudrunv2/service:Service": cloud_run,
    "gcp:compute/globalForwardingRule:GlobalForwardingRule": forwarding_rule,
    "gcp:compute/securityPolicy:SecurityPolicy": security_policy,
    "gcp:compute/routerNat:RouterNat": router_nat,
    "gcp:redis/instance:Instance": redis_instance,
    "gcp:sql/databaseInstance:DatabaseInstance": sql_instance,
    "gcp:pubsub/topic:Topic": pubsub_topic,
    "gcp:pubsub/subscription:Subscription": pubsub_subscription,
    "gcp:secretmanager/secretVersion:SecretVersion": secret_version,
    "gcp:secretmanager/secret:Secret": secret,
    "gcp:kms/cryptoKey:CryptoKey": crypto_key,
    "gcp:artifactregistry/repository:Repository": artifact_repository,
    "gcp:logging/projectBucketConfig:ProjectBucketConfig": log_bucket,
}

_NO_CHARGE = "no charge of its own"
_LB = "billed on the load balancer's forwarding rules"
_IAM = "IAM is free"
FREE = {
    "docker-build:index:Image": "built in CI; its storage is billed on the repository",
    "gcp:billing/budget:Budget": "budgets are free",
    "gcp:compute/backendService:BackendService": _LB,
    "gcp:compute/firewall:Firewall": _NO_CHARGE,
    "gcp:compute/globalAddress:GlobalAddress": "an address in use by a forwarding rule, or a private range",
    "gcp:compute/managedSslCertificate:ManagedSslCertificate": "Google-managed certificates are free",
    "gcp:compute/network:Network": _NO_CHARGE,
    "gcp:compute/regionNetworkEndpointGroup:RegionNetworkEndpointGroup": _LB,
    "gcp:compute/router:Router": "billed on its NAT",
    "gcp:compute/sSLPolicy:SSLPolicy": _NO_CHARGE,
    "gcp:compute/subnetwork:Subnetwork": _NO_CHARGE,
    "gcp:compute/targetHttpProxy:TargetHttpProxy": _LB,
    "gcp:compute/targetHttpsProxy:TargetHttpsProxy": _LB,
    "gcp:compute/uRLMap:URLMap": _LB,
    "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember": _IAM,
    "gcp:kms/keyRing:KeyRing": "key rings are free",
    "gcp:monitoring/notificationChannel:NotificationChannel": _NO_CHARGE,
    "gcp:monitoring/uptimeCheckConfig:UptimeCheckConfig": "within the free uptime-check executions",
    "gcp:projects/iAMMember:IAMMember": _IAM,
    "gcp:projects/service:Service": "enabling an API is free",
    "gcp:projects/serviceIdentity:ServiceIdentity": _IAM,
    "gcp:pubsub/subscriptionIAMMember:SubscriptionIAMMember": _IAM,
    "gcp:pubsub/topicIAMMember:TopicIAMMember": _IAM,
    "gcp:secretmanager/secretIamMember:SecretIamMember": _IAM,
    "gcp:serviceaccount/account:Account": _IAM,
    "gcp:servicenetworking/connection:Connection": _NO_CHARGE,
    "gcp:sql/database:Database": "billed on the instance",
    "gcp:sql/user:User": "billed on the instance",
}

NOT_PRICED = {
    "gcp:monitoring/alertPolicy:AlertPolicy": "billed per condition and time series scanned: not in the table",
}
