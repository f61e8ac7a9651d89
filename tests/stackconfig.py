"""Stack-config builders shared by the tests: a valid baseline and hypothesis strategies."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import strategies as st

SECRETS = {
    "ai-platform:openaiApiKey": "sk-test-openai",
    "ai-platform:appApiKeysSha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    "ai-platform:redisAuthToken": "a-redis-auth-token-of-32-characters",
}


def baseline(environment: str = "prod") -> dict[str, Any]:
    """A complete, valid AWS stack config (secrets included, all of them secret)."""
    return copy.deepcopy(
        {
            "aws:region": "us-east-1",
            "ai-platform:cloud": "aws",
            "ai-platform:environment": environment,
            "ai-platform:tags": {"owner": "team-a", "cost-center": "cc-1"},
            "ai-platform:app": {
                "secrets": {"OPENAI_API_KEY": "openaiApiKey", "APP_API_KEYS_SHA256": "appApiKeysSha256"}
            },
            "ai-platform:gateway": {"domain": "api.example.com"},
            "ai-platform:aws": {"hostedZoneId": "Z0123456789ABC"},
            "ai-platform:observability": {"alertEmails": ["oncall@example.com"]},
            "ai-platform:budget": {"monthlyAmount": 1000},
            **SECRETS,
        }
    )


@st.composite
def valid_configs(draw: st.DrawFn) -> dict[str, Any]:
    """Valid stack configs across the settings that change the resource graph."""
    environment = draw(st.sampled_from(["dev", "prod"]))
    config = baseline(environment)
    min_replicas = draw(st.integers(2 if environment == "prod" else 1, 6))
    config["ai-platform:app"].update(
        {
            "cpu": draw(st.sampled_from([0.25, 0.5, 1, 2, 4])),
            "minReplicas": min_replicas,
            "maxReplicas": draw(st.integers(min_replicas, 50)),
            "scaling": {"cpuPercent": draw(st.integers(10, 95)), "requestsPerMinute": draw(st.integers(1, 5000))},
        }
    )
    config["ai-platform:app"]["memoryMib"] = {0.25: 512, 0.5: 1024, 1: 2048, 2: 4096, 4: 8192}[
        config["ai-platform:app"]["cpu"]
    ]
    config["ai-platform:network"] = {
        "cidr": draw(st.sampled_from(["10.0.0.0/16", "10.42.0.0/18", "172.16.0.0/20", "192.168.0.0/22"])),
        "zones": draw(st.sampled_from([2, 3])),
        "natGateways": draw(st.sampled_from(["single", "perZone"])),
    }
    config["ai-platform:gateway"].update(
        {
            "rateLimitPerIp": draw(st.integers(10, 100_000)),
            "waf": {"mode": draw(st.sampled_from(["block", "count"]))},
            "ipAllowlist": draw(st.lists(st.sampled_from(["203.0.113.0/24", "198.51.100.7/32"]), unique=True)),
        }
    )
    if draw(st.booleans()):
        config["ai-platform:aws"] = {
            "certificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/0b1c2d3e-1111-2222-3333-444455556666"
        }
    config["ai-platform:cache"] = {"enabled": draw(st.booleans())}
    if not config["ai-platform:cache"]["enabled"]:
        del config["ai-platform:redisAuthToken"]
    config["ai-platform:vectorStore"] = {"enabled": draw(st.booleans())}
    config["ai-platform:queue"] = {"enabled": draw(st.booleans())}
    config["ai-platform:observability"]["logRetentionDays"] = draw(st.sampled_from([7, 30, 90, 365]))
    config["ai-platform:budget"] = {
        "monthlyAmount": draw(st.integers(1, 100_000)),
        "thresholds": draw(st.lists(st.integers(1, 150), min_size=1, max_size=4, unique=True)),
    }
    return config


#: one invalid change each: (section key, path inside it, bad value, words the error must contain)
INVALID_CHANGES: list[tuple[str, tuple[str, ...], Any, str]] = [
    ("ai-platform:environment", (), "staging", "'dev' or 'prod'"),
    ("ai-platform:cloud", (), "openstack", "'aws', 'gcp', 'azure' or 'kubernetes'"),
    ("ai-platform:app", ("maxReplicas",), 0, "greater than or equal to 1"),
    ("ai-platform:app", ("cpu",), -1, "greater than 0"),
    ("ai-platform:app", ("port",), 80, "greater than or equal to 1024"),
    ("ai-platform:app", ("image",), {"digest": "repo/app:latest"}, "pinned by digest"),
    ("ai-platform:app", ("image",), {"build": "app", "digest": "r@sha256:" + "0" * 64}, "exactly one"),
    ("ai-platform:app", ("environment",), {"DB_PASSWORD": "x"}, "looks like a secret"),
    ("ai-platform:app", ("environment",), {"lower_case": "x"}, "not an environment variable name"),
    ("ai-platform:app", (), {"environment": {"LOG_LEVEL": "info"}, "secrets": {"LOG_LEVEL": "logLevel"}}, "both plain"),
    ("ai-platform:app", ("replicas",), 3, "not a known setting"),
    ("ai-platform:network", ("cidr",), "10.0.0.0/8", "/16 to /22"),
    ("ai-platform:network", ("cidr",), "52.0.0.0/16", "private"),
    ("ai-platform:network", ("cidr",), "10.0.0.1/16", "IPv4 CIDR"),
    ("ai-platform:network", ("zones",), 4, "2 or 3"),
    ("ai-platform:network", ("natGateways",), "none", "'single' or 'perZone'"),
    ("ai-platform:gateway", ("domain",), "API.Example.com", "DNS name"),
    ("ai-platform:gateway", ("rateLimitPerIp",), 5, "greater than or equal to 10"),
    ("ai-platform:gateway", ("waf",), {"mode": "off"}, "'block' or 'count'"),
    ("ai-platform:gateway", ("ipAllowlist",), ["not-a-cidr"], "IPv4 CIDR"),
    ("ai-platform:observability", ("alertEmails",), ["oncall"], "not e-mail addresses"),
    ("ai-platform:observability", ("logRetentionDays",), 45, "CloudWatch Logs keeps logs for one of"),
    ("ai-platform:observability", ("alerts",), {"availabilityPercent": 100}, "less than 100"),
    ("ai-platform:budget", ("monthlyAmount",), 0, "greater than 0"),
    ("ai-platform:budget", ("thresholds",), [80, 80], "distinct percentages"),
    ("ai-platform:tags", (), {"owner": "a"}, "cost-center"),
    ("ai-platform:aws", ("certificateArn",), "arn:aws:iam::1:role/x", "ACM certificate ARN"),
    ("ai-platform:aws", (), {}, "certificateArn"),
    ("ai-platform:vectorStore", ("backupRetentionDays",), 40, "less than or equal to 35"),
]


def apply_change(config: dict[str, Any], key: str, path: tuple[str, ...], value: Any) -> dict[str, Any]:
    changed = copy.deepcopy(config)
    if not path:
        changed[key] = value
        return changed
    section = changed.setdefault(key, {})
    for part in path[:-1]:
        section = section.setdefault(part, {})
    section[path[-1]] = value
    return changed
