"""Observability: encrypted log groups, an encrypted SNS alert topic with e-mail subscriptions,
CloudWatch alarms at the spec's thresholds, a dashboard and a monthly AWS Budget.

Alarms (all notify the topic on ALARM and on OK; missing data is treated per alarm):

* ``latencyP95``: ALB ``TargetResponseTime`` p95 > 4 s (target 2.5 s). Missing data = not breaching
  (no requests, no latency); low-sample percentiles are ignored so one slow call at night does not page.
* ``errorRate``: metric math ``100 * (ELB 5xx + target 5xx) / requests`` > 0.5 % (availability < 99.5 %).
  Missing data = not breaching (no requests, nothing failed).
* ``cpu``: ECS service ``CPUUtilization`` average > 85 %. Missing data = missing (INSUFFICIENT_DATA):
  no CPU samples means no running task, which is not high CPU; the 5xx alarm reports the outage.
* ``redisMemory<i>``: ElastiCache ``DatabaseMemoryUsagePercentage`` maximum > 80 % per node.
  Missing data = missing: a node being replaced reports nothing for a while.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from components.aws.logs import log_group
from components.aws.policy_documents import AwsContext, Statement, aws_context, document
from components.base import Block, BlockArgs

_EMAIL = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"
)
#: 5xx (load balancer + targets) as a percentage of requests, over the ``requests``/``elb5xx``/``target5xx`` series.
ERROR_RATE_EXPRESSION = "100 * (FILL(elb5xx, 0) + FILL(target5xx, 0)) / requests"
#: AWS Budgets allows at most five notifications per budget.
MAX_BUDGET_NOTIFICATIONS = 5


@dataclass(frozen=True)
class LambdaMetrics:
    """Where the Lambda runtime's metrics are: the function (and its alias) and the REST API stage."""

    function_name: pulumi.Input[str]
    """The function's name (dimension ``FunctionName``)."""
    alias_name: pulumi.Input[str]
    """The alias callers invoke (dimension ``Resource`` is ``<function>:<alias>``)."""
    api_name: pulumi.Input[str]
    """The REST API's name (dimension ``ApiName``)."""
    stage_name: pulumi.Input[str]
    """The REST API's stage (dimension ``Stage``)."""


@dataclass(kw_only=True)
class ObservabilityArgs(BlockArgs):
    """Inputs of :class:`Observability`."""

    kms_key_arn: pulumi.Input[str]
    """Customer-managed key for the log groups and the alert topic (its policy must let CloudWatch
    alarms and Budgets use it: see ``SecretStore``'s key policy)."""
    alert_emails: Sequence[str] = field(default_factory=list)
    """Addresses subscribed to the alert topic (each must confirm the subscription e-mail)."""
    load_balancer_arn_suffix: pulumi.Input[str] | None = None
    """``app/<name>/<id>``: the ALB's ``arn_suffix`` (CloudWatch dimension ``LoadBalancer``)."""
    target_group_arn_suffix: pulumi.Input[str] | None = None
    """``targetgroup/<name>/<id>``: the app target group's ``arn_suffix``."""
    cluster_name: pulumi.Input[str] | None = None
    """ECS cluster name (dimension ``ClusterName``)."""
    service_name: pulumi.Input[str] | None = None
    """ECS service name (dimension ``ServiceName``). These four for the container runtime; for the
    Lambda runtime ``function`` instead."""
    function: LambdaMetrics | None = None
    """The Lambda runtime's function and REST API: its alarms and dashboard replace the ALB/ECS ones."""
    cache_member_cluster_ids: Sequence[pulumi.Input[str]] = field(default_factory=list)
    """ElastiCache node ids (``Cache.member_cluster_ids``): one memory alarm each. Default none."""
    latency_p95_threshold_seconds: float = 4.0
    """Seed: end-to-end latency alert above 4 s (the target is 2.5 s)."""
    error_rate_threshold_percent: float = 0.5
    """5xx as a share of requests; 0.5 % = availability below the seed's 99.5 %."""
    cpu_threshold_percent: float = 85.0
    """Seed: CPU above 85 %."""
    redis_memory_threshold_percent: float = 80.0
    """Seed: Redis memory above 80 %."""
    period_seconds: int = 60
    """Alarm period; ALB and ECS publish one-minute metrics (a multiple of 60)."""
    evaluation_periods: int = 5
    """Periods looked at; with ``datapoints_to_alarm`` = 3: 3 bad minutes out of 5 alarm (no flapping)."""
    datapoints_to_alarm: int = 3
    budget_monthly_usd: float
    """Monthly cost budget in USD (> 0)."""
    budget_thresholds_percent: Sequence[float] = (50.0, 80.0, 100.0)
    """Notify when the actual monthly cost passes these shares of the budget."""
    budget_forecast_threshold_percent: float | None = 100.0
    """Notify when the forecast passes this share; ``None`` for none."""
    budget_tag_key: str | None = "stack"
    """Cost filter: only costs of resources tagged ``<key>=<tags[key]>`` (the tag must be in ``tags``).
    The block activates the key as a cost allocation tag (account-wide, kept when the stack is
    destroyed: other stacks in the account use it too); AWS accepts that only once the tag has
    appeared in billing data, up to a day after the first tagged resource. ``None`` budgets the
    whole account."""
    log_group_keys: Sequence[str] = ()
    """Extra log groups to create (encrypted, with retention), e.g. ``("worker",)`` for a process that
    has no block of its own. Default none: each block makes its own (the container service its app logs)."""
    log_retention_days: int = 30
    """Retention of those log groups (a CloudWatch retention value). Default 30 days."""


class Observability(Block):
    """Alert topic, alarms, dashboard, budget and log groups for one deployment.

    Transform keys: ``logGroup:<key>``, ``alertTopic``, ``alertTopicPolicy``, ``subscription:<email>``,
    ``alarm:latencyP95``, ``alarm:errorRate``, ``alarm:cpu``, ``alarm:redisMemory<i>``, ``dashboard``, ``budget``,
    ``costAllocationTag``.
    """

    alert_topic_arn: pulumi.Output[str]
    """ARN of the SNS topic alarms and budget alerts publish to."""
    dashboard_name: pulumi.Output[str]
    """Name of the CloudWatch dashboard."""
    budget_name: pulumi.Output[str]
    """Name of the AWS Budget."""
    alarm_arns: dict[str, pulumi.Output[str]]
    """Alarm name -> ARN of every CloudWatch alarm."""
    log_group_names: dict[str, pulumi.Output[str]]
    """Log group key -> name of the log groups this block creates."""
    log_group_arns: dict[str, pulumi.Output[str]]
    """Log group key -> ARN of the log groups this block creates."""

    def __init__(self, name: str, args: ObservabilityArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        tag_value = _validate(args)
        super().__init__("ai-platform:aws:Observability", name, args, opts)
        ctx = aws_context(self)
        prefix = re.sub(r"[^A-Za-z0-9_-]", "-", f"{pulumi.get_project()}-{pulumi.get_stack()}-{name}")

        self.log_group_names = {}
        self.log_group_arns = {}
        for key in args.log_group_keys:
            group = log_group(
                self,
                f"logGroup:{key}",
                retention_days=args.log_retention_days,
                kms_key_arn=args.kms_key_arn,
                name=f"log-{key}",
            )
            self.log_group_names[key] = group.name
            self.log_group_arns[key] = group.arn

        topic = self.child(
            "alertTopic",
            aws.sns.Topic,
            aws.sns.TopicArgs(display_name=f"{prefix} alerts"[:100], kms_master_key_id=args.kms_key_arn),
            name="alerts",
        )
        topic_policy_resource = self.child(
            "alertTopicPolicy",
            aws.sns.TopicPolicy,
            aws.sns.TopicPolicyArgs(
                arn=topic.arn,
                policy=pulumi.Output.all(ctx, topic.arn).apply(lambda v: document(topic_policy(v[0], v[1]))),
            ),
            name="alerts-policy",
        )
        for email in args.alert_emails:
            # Named by address, not position: removing one address must not re-subscribe the others
            # (each new subscription waits for its recipient to confirm it again).
            self.child(
                f"subscription:{email}",
                aws.sns.TopicSubscription,
                aws.sns.TopicSubscriptionArgs(topic=topic.arn, protocol="email", endpoint=email),
                name=f"alerts-{email.lower()}",
            )

        self.alarm_arns = {}
        alarms = _alarm_specs(args)
        for key, spec in alarms.items():
            alarm = self.child(
                f"alarm:{key}",
                aws.cloudwatch.MetricAlarm,
                aws.cloudwatch.MetricAlarmArgs(
                    name=f"{prefix}-{key}",
                    alarm_description=spec.description,
                    comparison_operator="GreaterThanThreshold",
                    threshold=spec.threshold,
                    evaluation_periods=args.evaluation_periods,
                    datapoints_to_alarm=args.datapoints_to_alarm,
                    treat_missing_data=spec.missing,
                    namespace=spec.namespace,
                    metric_name=spec.metric,
                    dimensions=spec.dimensions,
                    statistic=spec.statistic,
                    extended_statistic=spec.extended_statistic,
                    evaluate_low_sample_count_percentiles="ignore" if spec.extended_statistic else None,
                    period=args.period_seconds if spec.metric else None,
                    metric_queries=spec.queries,
                    actions_enabled=True,
                    alarm_actions=[topic.arn],
                    ok_actions=[topic.arn],
                ),
                name=f"alarm-{key}",
            )
            self.alarm_arns[key] = alarm.arn

        dashboard = self.child(
            "dashboard",
            aws.cloudwatch.Dashboard,
            aws.cloudwatch.DashboardArgs(
                dashboard_name=prefix,
                dashboard_body=_lambda_dashboard_body(args, args.function, ctx)
                if args.function is not None
                else pulumi.Output.all(
                    ctx,
                    args.load_balancer_arn_suffix,
                    args.target_group_arn_suffix,
                    args.cluster_name,
                    args.service_name,
                    *args.cache_member_cluster_ids,
                ).apply(lambda v: json.dumps(_dashboard(args, v[0], v[1], v[2], v[3], v[4], list(v[5:])))),
            ),
        )

        thresholds = [("ACTUAL", t) for t in args.budget_thresholds_percent]
        if args.budget_forecast_threshold_percent is not None:
            thresholds.append(("FORECASTED", args.budget_forecast_threshold_percent))
        notifications = [
            aws.budgets.BudgetNotificationArgs(
                comparison_operator="GREATER_THAN",
                notification_type=kind,
                threshold=threshold,
                threshold_type="PERCENTAGE",
                subscriber_sns_topic_arns=[topic.arn],
            )
            for kind, threshold in thresholds
        ]
        waits: list[pulumi.Resource] = [topic_policy_resource]
        if args.budget_tag_key is not None:
            # without an active cost allocation tag the budget's tag filter matches no cost at all
            waits.append(
                self.child(
                    "costAllocationTag",
                    aws.costexplorer.CostAllocationTag,
                    aws.costexplorer.CostAllocationTagArgs(tag_key=args.budget_tag_key, status="Active"),
                    pulumi.ResourceOptions(retain_on_delete=True),
                    name="cost-tag",
                )
            )
        budget = self.child(
            "budget",
            aws.budgets.Budget,
            aws.budgets.BudgetArgs(
                name=prefix[:100],
                account_id=ctx.apply(lambda c: c.account_id),
                budget_type="COST",
                time_unit="MONTHLY",
                limit_amount=f"{args.budget_monthly_usd:.2f}",
                limit_unit="USD",
                cost_filters=(
                    [
                        aws.budgets.BudgetCostFilterArgs(
                            name="TagKeyValue", values=[f"user:{args.budget_tag_key}${tag_value}"]
                        )
                    ]
                    if args.budget_tag_key is not None
                    else None
                ),
                notifications=notifications,
            ),
            # The topic policy must exist before Budgets validates it can publish.
            pulumi.ResourceOptions(depends_on=waits),
        )

        self.alert_topic_arn = topic.arn
        self.dashboard_name = dashboard.dashboard_name
        self.budget_name = budget.name
        self.register_outputs(
            {
                "alertTopicArn": topic.arn,
                "dashboardName": dashboard.dashboard_name,
                "budgetName": budget.name,
                "alarmArns": self.alarm_arns,
                "logGroupNames": self.log_group_names,
            }
        )


@dataclass(frozen=True)
class _AlarmSpec:
    description: str
    threshold: float
    missing: str
    namespace: str | None = None
    metric: str | None = None
    dimensions: Mapping[str, pulumi.Input[str]] | None = None
    statistic: str | None = None
    extended_statistic: str | None = None
    queries: list[aws.cloudwatch.MetricAlarmMetricQueryArgs] | None = None


def sum_query(
    query_id: str, namespace: str, metric: str, dimensions: Mapping[str, pulumi.Input[str]], period: int
) -> aws.cloudwatch.MetricAlarmMetricQueryArgs:
    """One summed metric series of an alarm's metric math (not returned itself)."""
    return aws.cloudwatch.MetricAlarmMetricQueryArgs(
        id=query_id,
        return_data=False,
        metric=aws.cloudwatch.MetricAlarmMetricQueryMetricArgs(
            namespace=namespace, metric_name=metric, dimensions=dimensions, stat="Sum", period=period
        ),
    )


def _alarm_specs(args: ObservabilityArgs) -> dict[str, _AlarmSpec]:
    specs = _lambda_alarm_specs(args, args.function) if args.function is not None else _container_alarm_specs(args)
    for index, node in enumerate(args.cache_member_cluster_ids):
        specs[f"redisMemory{index}"] = _AlarmSpec(
            description=f"Redis node {index} memory above {args.redis_memory_threshold_percent} %",
            threshold=args.redis_memory_threshold_percent,
            missing="missing",
            namespace="AWS/ElastiCache",
            metric="DatabaseMemoryUsagePercentage",
            dimensions={"CacheClusterId": node},
            statistic="Maximum",
        )
    return specs


def _container_alarm_specs(args: ObservabilityArgs) -> dict[str, _AlarmSpec]:
    assert args.load_balancer_arn_suffix is not None and args.target_group_arn_suffix is not None
    assert args.cluster_name is not None and args.service_name is not None  # _validate
    lb = {"LoadBalancer": args.load_balancer_arn_suffix}

    def alb_query(query_id: str, metric: str) -> aws.cloudwatch.MetricAlarmMetricQueryArgs:
        return sum_query(query_id, "AWS/ApplicationELB", metric, lb, args.period_seconds)

    specs = {
        "latencyP95": _AlarmSpec(
            description=f"p95 target response time above {args.latency_p95_threshold_seconds} s (target 2.5 s)",
            threshold=args.latency_p95_threshold_seconds,
            missing="notBreaching",
            namespace="AWS/ApplicationELB",
            metric="TargetResponseTime",
            dimensions={**lb, "TargetGroup": args.target_group_arn_suffix},
            extended_statistic="p95",
        ),
        "errorRate": _AlarmSpec(
            description=(
                f"5xx above {args.error_rate_threshold_percent} % of requests "
                f"(availability below {100 - args.error_rate_threshold_percent} %)"
            ),
            threshold=args.error_rate_threshold_percent,
            missing="notBreaching",
            queries=[
                alb_query("requests", "RequestCount"),
                alb_query("elb5xx", "HTTPCode_ELB_5XX_Count"),
                alb_query("target5xx", "HTTPCode_Target_5XX_Count"),
                aws.cloudwatch.MetricAlarmMetricQueryArgs(
                    id="errorRate",
                    label="5xx share of requests (%)",
                    expression=ERROR_RATE_EXPRESSION,
                    return_data=True,
                ),
            ],
        ),
        "cpu": _AlarmSpec(
            description=f"ECS service CPU above {args.cpu_threshold_percent} %",
            threshold=args.cpu_threshold_percent,
            missing="missing",
            namespace="AWS/ECS",
            metric="CPUUtilization",
            dimensions={"ClusterName": args.cluster_name, "ServiceName": args.service_name},
            statistic="Average",
        ),
    }
    return specs


#: Lambda errors as a percentage of invocations (``errors``/``invocations`` series)
FUNCTION_ERROR_EXPRESSION = "100 * FILL(errors, 0) / invocations"


def _lambda_alarm_specs(args: ObservabilityArgs, fn: LambdaMetrics) -> dict[str, _AlarmSpec]:
    """The Lambda runtime's alarms: the stage's 5xx share, the function's error share, any
    throttle (reserved concurrency reached), and the function's p95 duration."""
    function = {
        "FunctionName": fn.function_name,
        "Resource": pulumi.Output.concat(fn.function_name, ":", fn.alias_name),
    }

    def query(query_id: str, metric: str) -> aws.cloudwatch.MetricAlarmMetricQueryArgs:
        return sum_query(query_id, "AWS/Lambda", metric, function, args.period_seconds)

    return {
        "latencyP95": _AlarmSpec(
            description=f"p95 function duration above {args.latency_p95_threshold_seconds} s (target 2.5 s)",
            threshold=args.latency_p95_threshold_seconds * 1000,  # Lambda reports milliseconds
            missing="notBreaching",
            namespace="AWS/Lambda",
            metric="Duration",
            dimensions=function,
            extended_statistic="p95",
        ),
        "errorRate": _AlarmSpec(
            description=(
                f"REST API 5xx above {args.error_rate_threshold_percent} % of requests "
                f"(availability below {100 - args.error_rate_threshold_percent} %)"
            ),
            threshold=args.error_rate_threshold_percent / 100,  # 5XXError's average is the share
            missing="notBreaching",
            namespace="AWS/ApiGateway",
            metric="5XXError",
            dimensions={"ApiName": fn.api_name, "Stage": fn.stage_name},
            statistic="Average",
        ),
        "functionErrors": _AlarmSpec(
            description=f"function errors above {args.error_rate_threshold_percent} % of invocations",
            threshold=args.error_rate_threshold_percent,
            missing="notBreaching",
            queries=[
                query("invocations", "Invocations"),
                query("errors", "Errors"),
                aws.cloudwatch.MetricAlarmMetricQueryArgs(
                    id="errorRate",
                    label="function errors (%)",
                    expression=FUNCTION_ERROR_EXPRESSION,
                    return_data=True,
                ),
            ],
        ),
        "throttles": _AlarmSpec(
            description="function throttled: reserved concurrency reached (raise it, or the spike is abuse)",
            threshold=0,
            missing="notBreaching",
            namespace="AWS/Lambda",
            metric="Throttles",
            dimensions=function,
            statistic="Sum",
        ),
    }


def _lambda_dashboard_body(
    args: ObservabilityArgs, fn: LambdaMetrics, ctx: pulumi.Output[AwsContext]
) -> pulumi.Output[str]:
    def body(v: list[Any]) -> str:
        context, function, alias, api, stage = v
        resource = ["FunctionName", function, "Resource", f"{function}:{alias}"]

        def widget(x: int, y: int, title: str, metrics: list[list[object]]) -> dict[str, object]:
            properties = {
                "title": title,
                "region": context.region,
                "view": "timeSeries",
                "stacked": False,
                "period": args.period_seconds,
                "metrics": metrics,
            }
            return {"type": "metric", "x": x, "y": y, "width": 12, "height": 6, "properties": properties}

        lam = "AWS/Lambda"
        widgets = [
            widget(
                0,
                0,
                "Function duration (ms)",
                [[lam, "Duration", *resource, {"stat": s, "label": s}] for s in ("p50", "p95", "p99")],
            ),
            widget(
                12,
                0,
                "Invocations, errors, throttles",
                [[lam, m, *resource, {"stat": "Sum"}] for m in ("Invocations", "Errors", "Throttles")],
            ),
            widget(
                0,
                6,
                "Concurrent executions",
                [[lam, "ConcurrentExecutions", "FunctionName", function, {"stat": "Maximum"}]],
            ),
            widget(
                12,
                6,
                "REST API requests and errors",
                [
                    ["AWS/ApiGateway", m, "ApiName", api, "Stage", stage, {"stat": "Sum"}]
                    for m in ("Count", "4XXError", "5XXError")
                ],
            ),
        ]
        return json.dumps({"widgets": widgets})

    return pulumi.Output.all(ctx, fn.function_name, fn.alias_name, fn.api_name, fn.stage_name).apply(body)


def topic_policy(ctx: AwsContext, topic_arn: str) -> list[Statement]:
    """Only this account's CloudWatch alarms and Budgets may publish; TLS only."""
    return [
        {
            "Sid": "CloudWatchAlarmsOfThisAccountPublish",
            "Effect": "Allow",
            "Principal": {"Service": "cloudwatch.amazonaws.com"},
            "Action": "sns:Publish",
            "Resource": topic_arn,
            "Condition": {
                "ArnLike": {"aws:SourceArn": f"arn:{ctx.partition}:cloudwatch:{ctx.region}:{ctx.account_id}:alarm:*"}
            },
        },
        {
            "Sid": "BudgetsOfThisAccountPublish",
            "Effect": "Allow",
            "Principal": {"Service": "budgets.amazonaws.com"},
            "Action": "sns:Publish",
            "Resource": topic_arn,
            "Condition": {
                "StringEquals": {"aws:SourceAccount": ctx.account_id},
                "ArnLike": {"aws:SourceArn": f"arn:{ctx.partition}:budgets::{ctx.account_id}:*"},
            },
        },
        {
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "sns:Publish",
            "Resource": topic_arn,
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        },
    ]


def _dashboard(
    args: ObservabilityArgs,
    ctx: AwsContext,
    lb: str,
    tg: str,
    cluster: str,
    service: str,
    nodes: list[str],
) -> dict[str, object]:
    def widget(x: int, y: int, title: str, metrics: list[list[object]], **extra: object) -> dict[str, object]:
        properties: dict[str, object] = {
            "title": title,
            "region": ctx.region,
            "view": "timeSeries",
            "stacked": False,
            "period": args.period_seconds,
            "metrics": metrics,
            **extra,
        }
        return {"type": "metric", "x": x, "y": y, "width": 12, "height": 6, "properties": properties}

    alb = "AWS/ApplicationELB"
    latency = [
        [alb, "TargetResponseTime", "LoadBalancer", lb, "TargetGroup", tg, {"stat": s, "label": s}]
        for s in ("p50", "p95", "p99")
    ]
    threshold = {"horizontal": [{"label": "alarm", "value": args.latency_p95_threshold_seconds}]}
    traffic: list[list[object]] = [
        [alb, "RequestCount", "LoadBalancer", lb, {"stat": "Sum", "id": "requests"}],
        [alb, "HTTPCode_Target_5XX_Count", "LoadBalancer", lb, {"stat": "Sum", "id": "target5xx"}],
        [alb, "HTTPCode_ELB_5XX_Count", "LoadBalancer", lb, {"stat": "Sum", "id": "elb5xx"}],
        [
            {
                "expression": ERROR_RATE_EXPRESSION,
                "label": "5xx %",
                "id": "errorRate",
                "yAxis": "right",
            }
        ],
    ]
    ecs = [
        ["AWS/ECS", metric, "ClusterName", cluster, "ServiceName", service, {"stat": "Average"}]
        for metric in ("CPUUtilization", "MemoryUtilization")
    ]
    redis = [
        ["AWS/ElastiCache", "DatabaseMemoryUsagePercentage", "CacheClusterId", node, {"stat": "Maximum"}]
        for node in nodes
    ]
    widgets = [
        widget(0, 0, "Latency (target response time, s)", latency, annotations=threshold),
        widget(12, 0, "Requests and 5xx", traffic),
        widget(0, 6, "ECS CPU and memory (%)", ecs, yAxis={"left": {"min": 0, "max": 100}}),
    ]
    if redis:
        widgets.append(widget(12, 6, "Redis memory (%)", redis, yAxis={"left": {"min": 0, "max": 100}}))
    return {"widgets": widgets}


def _validate(args: ObservabilityArgs) -> str | None:
    """Check the args; return the budget's tag value."""
    for email in args.alert_emails:
        if not _EMAIL.match(email):
            raise ValueError(f"ObservabilityArgs.alert_emails entry {email!r} is not an e-mail address")
    if len({e.lower() for e in args.alert_emails}) != len(args.alert_emails):
        raise ValueError(f"ObservabilityArgs.alert_emails has duplicates: {list(args.alert_emails)}")
    positives = {
        "latency_p95_threshold_seconds": args.latency_p95_threshold_seconds,
        "budget_monthly_usd": args.budget_monthly_usd,
    }
    for field_name, value in positives.items():
        if not value > 0:
            raise ValueError(f"ObservabilityArgs.{field_name}={value} is invalid: must be > 0")
    percents = {
        "error_rate_threshold_percent": args.error_rate_threshold_percent,
        "cpu_threshold_percent": args.cpu_threshold_percent,
        "redis_memory_threshold_percent": args.redis_memory_threshold_percent,
    }
    for field_name, value in percents.items():
        if not 0 < value < 100:
            raise ValueError(f"ObservabilityArgs.{field_name}={value} is invalid: a percentage between 0 and 100")
    if args.period_seconds < 60 or args.period_seconds % 60:
        raise ValueError(f"ObservabilityArgs.period_seconds={args.period_seconds} is invalid: a multiple of 60")
    if not 1 <= args.datapoints_to_alarm <= args.evaluation_periods:
        raise ValueError(
            f"ObservabilityArgs.datapoints_to_alarm={args.datapoints_to_alarm} is invalid: "
            f"1..evaluation_periods ({args.evaluation_periods})"
        )
    if args.evaluation_periods * args.period_seconds > 86400:
        raise ValueError(
            f"ObservabilityArgs.evaluation_periods={args.evaluation_periods} x period_seconds={args.period_seconds} "
            "is invalid: CloudWatch evaluates at most one day"
        )
    thresholds = [*args.budget_thresholds_percent]
    if args.budget_forecast_threshold_percent is not None:
        thresholds.append(args.budget_forecast_threshold_percent)
    if not thresholds or len(thresholds) > MAX_BUDGET_NOTIFICATIONS or any(t <= 0 for t in thresholds):
        raise ValueError(
            f"ObservabilityArgs.budget_thresholds_percent={list(args.budget_thresholds_percent)} with "
            f"budget_forecast_threshold_percent={args.budget_forecast_threshold_percent} is invalid: 1 to "
            f"{MAX_BUDGET_NOTIFICATIONS} notifications in all, each threshold > 0"
        )
    container = (args.load_balancer_arn_suffix, args.target_group_arn_suffix, args.cluster_name, args.service_name)
    given = sum(c is not None for c in container)
    if given != (0 if args.function is not None else len(container)):
        raise ValueError(
            "ObservabilityArgs: give either function (the Lambda runtime) or all of load_balancer_arn_suffix, "
            "target_group_arn_suffix, cluster_name and service_name (the container runtime)"
        )
    if len(set(args.log_group_keys)) != len(args.log_group_keys):
        raise ValueError(f"ObservabilityArgs.log_group_keys has duplicates: {list(args.log_group_keys)}")
    if args.budget_tag_key is None:
        return None
    value = args.tags.get(args.budget_tag_key)
    if not value:
        raise ValueError(
            f"ObservabilityArgs.budget_tag_key={args.budget_tag_key!r} is not among the block's tags "
            f"{sorted(args.tags)}: the budget would filter on a tag no resource carries"
        )
    return value
