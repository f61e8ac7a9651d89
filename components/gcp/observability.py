"""Observability: e-mail notification channels, alert policies at the spec's thresholds (Cloud
Run p95 latency, load-balancer 5xx ratio, Cloud Run CPU, Memorystore memory), an HTTPS uptime
check on /health, the _Default log bucket's retention, and a billing budget with threshold rules."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_gcp.billing as billing
import pulumi_gcp.logging as logging
import pulumi_gcp.monitoring as monitoring
import pulumi_gcp.organizations as organizations

from components import validation
from components.base import Block
from components.gcp.apis import GcpArgs, after

_WINDOW = "300s"


@dataclass(kw_only=True)
class ObservabilityArgs(GcpArgs):
    """Inputs of :class:`Observability`. Child keys for ``transform``: ``channel-<i>``,
    ``latencyAlert``, ``errorAlert``, ``cpuAlert``, ``redisMemoryAlert``, ``uptime``,
    ``logBucket``, ``budget``."""

    alert_emails: Sequence[str]
    """Addresses the alerts notify (at least one)."""
    service_name: pulumi.Input[str]
    """The Cloud Run service the alerts watch."""
    url_map_name: pulumi.Input[str]
    """The load balancer's URL map (latency and error-rate metrics)."""
    domain: str
    """The API's host name, for the uptime check."""
    health_path: str = "/health"
    """Path the uptime check requests."""
    cache_instance_id: pulumi.Input[str] | None = None
    """The Memorystore instance whose memory is watched (none: no Redis alert)."""
    latency_p95_ms: float = 4000
    """Alert above this 95th-percentile latency at the load balancer, in milliseconds."""
    error_rate_percent: float = 0.5
    """Alert above this share of 5xx responses, in percent."""
    cpu_ratio: float = 0.85
    """Alert above this CPU utilisation of the service, as a ratio (0-1]."""
    redis_memory_ratio: float = 0.8
    """Alert above this Redis memory usage, as a ratio (0-1]."""
    log_retention_days: int = 30
    """Retention of the platform's log bucket."""
    billing_account: str
    """The billing account the budget belongs to."""
    budget_amount: float
    """Monthly budget, in ``budget_currency``."""
    budget_currency: str = "USD"
    """Currency of the budget (the billing account's)."""
    budget_thresholds_percent: Sequence[int] = field(default_factory=lambda: [50, 80, 100])
    """Percent of the budget (actual spend) that notify."""


def _validate(args: ObservabilityArgs) -> None:
    bad = [e for e in args.alert_emails if validation.email(e)]
    if bad:
        raise ValueError(f"ObservabilityArgs.alert_emails: not e-mail addresses: {bad}")
    if not args.alert_emails:
        raise ValueError("ObservabilityArgs.alert_emails=[]: alerts need at least one address")
    if not 0 < args.error_rate_percent < 100:
        raise ValueError(f"ObservabilityArgs.error_rate_percent={args.error_rate_percent}: must be between 0 and 100")
    for key in ("cpu_ratio", "redis_memory_ratio"):
        if not 0 < getattr(args, key) <= 1:
            raise ValueError(f"ObservabilityArgs.{key}={getattr(args, key)}: a ratio in (0, 1]")
    if not 1 <= args.log_retention_days <= 3650:
        raise ValueError(f"ObservabilityArgs.log_retention_days={args.log_retention_days}: must be 1-3650")
    if args.budget_amount <= 0:
        raise ValueError(f"ObservabilityArgs.budget_amount={args.budget_amount}: must be > 0")


class Observability(Block):
    channel_ids: list[pulumi.Output[str]]
    """Ids of the e-mail notification channels."""

    def __init__(self, name: str, args: ObservabilityArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        _validate(args)
        super().__init__("ai-platform:gcp:Observability", name, args, opts)
        self._args = args
        channels = [
            self.child(
                f"channel-{index}",
                monitoring.NotificationChannel,
                monitoring.NotificationChannelArgs(
                    project=args.project,
                    type="email",
                    display_name=f"AI platform alerts: {email}",
                    labels={"email_address": email},
                    user_labels=dict(args.tags),
                ),
                after(args),
                name=f"email-{index}",
            )
            for index, email in enumerate(args.alert_emails)
        ]
        self.channel_ids = [c.id for c in channels]
        run = pulumi.Output.concat(
            'resource.type = "cloud_run_revision" AND resource.labels.service_name = "', args.service_name, '"'
        )
        self._alert(
            "latencyAlert",
            f"API p95 latency above {args.latency_p95_ms:g} ms",
            pulumi.Output.concat(run, ' AND metric.type = "run.googleapis.com/request_latencies"'),
            args.latency_p95_ms,
            aligner="ALIGN_PERCENTILE_95",
        )
        lb = pulumi.Output.concat(
            'resource.type = "https_lb_rule" AND resource.labels.url_map_name = "', args.url_map_name, '"'
        )
        self._ratio_alert(
            "errorAlert",
            f"Load balancer 5xx above {args.error_rate_percent:g} % of requests",
            pulumi.Output.concat(
                lb,
                ' AND metric.type = "loadbalancing.googleapis.com/https/request_count"'
                " AND metric.labels.response_code_class = 500",
            ),
            pulumi.Output.concat(lb, ' AND metric.type = "loadbalancing.googleapis.com/https/request_count"'),
            args.error_rate_percent / 100,
        )
        self._alert(
            "cpuAlert",
            f"Cloud Run CPU above {args.cpu_ratio:.0%}",
            pulumi.Output.concat(run, ' AND metric.type = "run.googleapis.com/container/cpu/utilizations"'),
            args.cpu_ratio,
            aligner="ALIGN_PERCENTILE_99",
        )
        if args.cache_instance_id is not None:
            self._alert(
                "redisMemoryAlert",
                f"Redis memory above {args.redis_memory_ratio:.0%}",
                pulumi.Output.concat(
                    'resource.type = "redis_instance" AND '
                    'resource.labels.instance_id = monitoring.regex.full_match(".*/',
                    args.cache_instance_id,
                    '") AND metric.type = "redis.googleapis.com/stats/memory/usage_ratio"',
                ),
                args.redis_memory_ratio,
                aligner="ALIGN_MAX",
            )
        self.child(
            "uptime",
            monitoring.UptimeCheckConfig,
            monitoring.UptimeCheckConfigArgs(
                project=args.project,
                display_name=f"API {args.health_path}",
                timeout="10s",
                period="60s",
                http_check=monitoring.UptimeCheckConfigHttpCheckArgs(
                    path=args.health_path, port=443, use_ssl=True, validate_ssl=True
                ),
                monitored_resource=monitoring.UptimeCheckConfigMonitoredResourceArgs(
                    type="uptime_url", labels={"host": args.domain, "project_id": args.project}
                ),
                user_labels=dict(args.tags),
            ),
            after(args),
            name="uptime",
        )
        self.child(
            "logBucket",
            logging.ProjectBucketConfig,
            logging.ProjectBucketConfigArgs(
                project=args.project, location="global", bucket_id="_Default", retention_days=args.log_retention_days
            ),
            after(args),
            name="logs",
        )
        project = organizations.get_project_output(project_id=args.project, opts=pulumi.InvokeOptions(parent=self))
        self.child(
            "budget",
            billing.Budget,
            billing.BudgetArgs(
                billing_account=args.billing_account,
                display_name=f"ai-platform {pulumi.get_stack()}",
                budget_filter=billing.BudgetBudgetFilterArgs(
                    projects=[pulumi.Output.concat("projects/", project.number)]
                ),
                amount=billing.BudgetAmountArgs(
                    specified_amount=billing.BudgetAmountSpecifiedAmountArgs(
                        currency_code=args.budget_currency, units=str(int(args.budget_amount))
                    )
                ),
                threshold_rules=[
                    billing.BudgetThresholdRuleArgs(threshold_percent=p / 100) for p in args.budget_thresholds_percent
                ]
                + [billing.BudgetThresholdRuleArgs(threshold_percent=1.0, spend_basis="FORECASTED_SPEND")],
                all_updates_rule=billing.BudgetAllUpdatesRuleArgs(monitoring_notification_channels=self.channel_ids),
            ),
            after(args),
            name="budget",
        )
        self.register_outputs({"channelIds": self.channel_ids})

    def _policy(self, key: str, title: str, condition: monitoring.AlertPolicyConditionArgs) -> None:
        self.child(
            key,
            monitoring.AlertPolicy,
            monitoring.AlertPolicyArgs(
                project=self._args.project,
                display_name=title,
                combiner="OR",
                conditions=[condition],
                notification_channels=self.channel_ids,
                user_labels=dict(self._args.tags),
                severity="CRITICAL" if key == "errorAlert" else "WARNING",
            ),
            after(self._args),
            name=key.removesuffix("Alert").lower() + "-alert",
        )

    def _alert(self, key: str, title: str, metric_filter: pulumi.Input[str], threshold: float, *, aligner: str) -> None:
        self._policy(
            key,
            title,
            monitoring.AlertPolicyConditionArgs(
                display_name=title,
                condition_threshold=monitoring.AlertPolicyConditionConditionThresholdArgs(
                    filter=metric_filter,
                    comparison="COMPARISON_GT",
                    threshold_value=threshold,
                    duration=_WINDOW,
                    aggregations=[
                        monitoring.AlertPolicyConditionConditionThresholdAggregationArgs(
                            alignment_period="60s", per_series_aligner=aligner, cross_series_reducer="REDUCE_MAX"
                        )
                    ],
                ),
            ),
        )

    def _ratio_alert(
        self, key: str, title: str, errors: pulumi.Input[str], total: pulumi.Input[str], ratio: float
    ) -> None:
        rate = [
            monitoring.AlertPolicyConditionConditionThresholdAggregationArgs(
                alignment_period="60s", per_series_aligner="ALIGN_RATE", cross_series_reducer="REDUCE_SUM"
            )
        ]
        self._policy(
            key,
            title,
            monitoring.AlertPolicyConditionArgs(
                display_name=title,
                condition_threshold=monitoring.AlertPolicyConditionConditionThresholdArgs(
                    filter=errors,
                    denominator_filter=total,
                    aggregations=rate,
                    denominator_aggregations=[
                        monitoring.AlertPolicyConditionConditionThresholdDenominatorAggregationArgs(
                            alignment_period="60s", per_series_aligner="ALIGN_RATE", cross_series_reducer="REDUCE_SUM"
                        )
                    ],
                    comparison="COMPARISON_GT",
                    threshold_value=ratio,
                    duration=_WINDOW,
                ),
            ),
        )
