"""Observability under the mock runtime: alarms and thresholds, topic policy, dashboard, budget, logs."""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pulumi_aws as aws
import pytest

from components.aws.mocks import ACCOUNT
from components.aws.observability import Observability, ObservabilityArgs
from components.testing import Graph, GraphResource, plan

REGION = "eu-west-1"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
TOPIC = "aws:sns/topic:Topic"
KMS = f"arn:aws:kms:{REGION}:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
LB = "app/ai-alb/50dc6c495c0c9188"
TG = "targetgroup/ai-tg/73e2d6bc24d8a067"


def _args(**overrides: object) -> ObservabilityArgs:
    args = ObservabilityArgs(
        kms_key_arn=KMS,
        alert_emails=["oncall@example.com", "platform+alerts@example.org"],
        load_balancer_arn_suffix=LB,
        target_group_arn_suffix=TG,
        cluster_name="ai-cluster",
        service_name="ai-api",
        cache_member_cluster_ids=[pulumi.Output.from_input("redis-abc-001"), "redis-abc-002"],
        budget_monthly_usd=250.0,
        tags={"stack": "aws-prod", "project": "ai-platform"},
    )
    for name, value in overrides.items():
        setattr(args, name, value)
    return args


def _build(args: ObservabilityArgs) -> Graph:
    def program() -> None:
        obs = Observability("obs", args)
        pulumi.export("topic", obs.alert_topic_arn)
        pulumi.export("dashboard", obs.dashboard_name)
        pulumi.export("budget", obs.budget_name)
        pulumi.export("alarms", pulumi.Output.all(**obs.alarm_arns))
        pulumi.export("logs", pulumi.Output.all(**obs.log_group_names))

    return plan(program, stack="aws-prod", config={"aws:region": REGION})


def _topic_arn(graph: Graph) -> str:
    """The alert topic's ARN as the provider answered it (``arn:aws:sns:<region>:<account>:<name>``)."""
    arn = graph.one(TOPIC).outputs["arn"]
    assert arn.startswith(f"arn:aws:sns:{REGION}:{ACCOUNT}:obs-alerts-")
    return arn


def _alarms(graph: Graph) -> dict[str, dict[str, Any]]:
    return {r.name.removeprefix("obs-alarm-"): r.inputs for r in graph.of_type(ALARM)}


def test_alarm_set_and_actions_on_alarm_and_ok() -> None:
    graph = _build(_args())
    alarms = _alarms(graph)
    topic_arn = _topic_arn(graph)
    assert set(alarms) == {"latencyP95", "errorRate", "cpu", "redisMemory0", "redisMemory1"}
    for key, alarm in alarms.items():
        assert alarm["alarmActions"] == [topic_arn], key
        assert alarm["okActions"] == [topic_arn], key
        assert alarm["actionsEnabled"] is True, key
        assert alarm["comparisonOperator"] == "GreaterThanThreshold", key
        assert (alarm["evaluationPeriods"], alarm["datapointsToAlarm"]) == (5, 3), key
        assert alarm["name"] == f"ai-platform-aws-prod-obs-{key}", key
        assert alarm["tags"] == {"stack": "aws-prod", "project": "ai-platform"}, key


def test_latency_alarm_is_p95_target_response_time_above_4s_not_breaching_when_idle() -> None:
    alarm = _alarms(_build(_args()))["latencyP95"]
    assert alarm["namespace"] == "AWS/ApplicationELB"
    assert alarm["metricName"] == "TargetResponseTime"
    assert alarm["extendedStatistic"] == "p95"
    assert "statistic" not in alarm
    assert alarm["threshold"] == 4.0
    assert alarm["dimensions"] == {"LoadBalancer": LB, "TargetGroup": TG}
    assert alarm["period"] == 60
    assert alarm["treatMissingData"] == "notBreaching"
    assert alarm["evaluateLowSampleCountPercentiles"] == "ignore"


def test_error_rate_alarm_is_metric_math_over_requests() -> None:
    alarm = _alarms(_build(_args()))["errorRate"]
    assert alarm["threshold"] == 0.5
    assert alarm["treatMissingData"] == "notBreaching"
    assert "metricName" not in alarm and "period" not in alarm
    queries = {q["id"]: q for q in alarm["metricQueries"]}
    assert queries["errorRate"]["expression"] == "100 * (FILL(elb5xx, 0) + FILL(target5xx, 0)) / requests"
    assert queries["errorRate"]["returnData"] is True
    for query_id, metric in (
        ("requests", "RequestCount"),
        ("elb5xx", "HTTPCode_ELB_5XX_Count"),
        ("target5xx", "HTTPCode_Target_5XX_Count"),
    ):
        assert queries[query_id]["returnData"] is False
        assert queries[query_id]["metric"] == {
            "namespace": "AWS/ApplicationELB",
            "metricName": metric,
            "dimensions": {"LoadBalancer": LB},
            "stat": "Sum",
            "period": 60,
        }


def test_cpu_and_redis_memory_alarms_use_the_seed_thresholds() -> None:
    alarms = _alarms(_build(_args()))
    cpu = alarms["cpu"]
    assert (cpu["namespace"], cpu["metricName"], cpu["statistic"]) == ("AWS/ECS", "CPUUtilization", "Average")
    assert cpu["dimensions"] == {"ClusterName": "ai-cluster", "ServiceName": "ai-api"}
    assert cpu["threshold"] == 85
    assert cpu["treatMissingData"] == "missing"
    for index, node in enumerate(("redis-abc-001", "redis-abc-002")):
        redis = alarms[f"redisMemory{index}"]
        assert redis["metricName"] == "DatabaseMemoryUsagePercentage"
        assert redis["namespace"] == "AWS/ElastiCache"
        assert redis["statistic"] == "Maximum"
        assert redis["dimensions"] == {"CacheClusterId": node}
        assert redis["threshold"] == 80
        assert redis["treatMissingData"] == "missing"


def test_thresholds_come_from_the_args() -> None:
    alarms = _alarms(
        _build(
            _args(
                latency_p95_threshold_seconds=3.0,
                error_rate_threshold_percent=1.0,
                cpu_threshold_percent=70.0,
                cache_member_cluster_ids=[],
            )
        )
    )
    assert set(alarms) == {"latencyP95", "errorRate", "cpu"}
    assert (alarms["latencyP95"]["threshold"], alarms["errorRate"]["threshold"], alarms["cpu"]["threshold"]) == (
        3.0,
        1.0,
        70.0,
    )


def test_topic_is_encrypted_and_only_this_accounts_alarms_and_budgets_publish() -> None:
    graph = _build(_args())
    topic = graph.one(TOPIC)
    topic_arn = _topic_arn(graph)
    assert topic.inputs["kmsMasterKeyId"] == KMS
    policy_record = graph.one("aws:sns/topicPolicy:TopicPolicy")
    assert policy_record.inputs["arn"] == topic_arn
    statements = {s["Sid"]: s for s in policy_record.json_input("policy")["Statement"]}
    alarms = statements["CloudWatchAlarmsOfThisAccountPublish"]
    assert alarms["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert alarms["Action"] == "sns:Publish"
    assert alarms["Resource"] == topic_arn
    assert alarms["Condition"] == {"ArnLike": {"aws:SourceArn": f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:*"}}
    budgets = statements["BudgetsOfThisAccountPublish"]
    assert budgets["Principal"] == {"Service": "budgets.amazonaws.com"}
    assert budgets["Condition"] == {
        "StringEquals": {"aws:SourceAccount": ACCOUNT},
        "ArnLike": {"aws:SourceArn": f"arn:aws:budgets::{ACCOUNT}:*"},
    }
    deny = statements["DenyInsecureTransport"]
    assert deny["Effect"] == "Deny"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_each_email_is_subscribed_under_a_name_that_does_not_shift() -> None:
    graph = _build(_args())
    topic_arn = _topic_arn(graph)
    subscriptions = graph.of_type("aws:sns/topicSubscription:TopicSubscription")
    assert sorted(s.name for s in subscriptions) == [
        "obs-alerts-oncall@example.com",
        "obs-alerts-platform+alerts@example.org",
    ]
    assert sorted((s.inputs["protocol"], s.inputs["endpoint"], s.inputs["topic"]) for s in subscriptions) == [
        ("email", "oncall@example.com", topic_arn),
        ("email", "platform+alerts@example.org", topic_arn),
    ]


def test_budget_is_monthly_cost_filtered_by_the_stack_tag_with_notifications() -> None:
    graph = _build(_args())
    topic_arn = _topic_arn(graph)
    budget = graph.one("aws:budgets/budget:Budget").inputs
    assert budget["name"] == "ai-platform-aws-prod-obs"
    assert budget["accountId"] == ACCOUNT
    assert (budget["budgetType"], budget["timeUnit"]) == ("COST", "MONTHLY")
    assert (budget["limitAmount"], budget["limitUnit"]) == ("250.00", "USD")
    assert budget["costFilters"] == [{"name": "TagKeyValue", "values": ["user:stack$aws-prod"]}]
    notifications = budget["notifications"]
    assert isinstance(notifications, list)
    assert [(n["notificationType"], n["threshold"]) for n in notifications] == [
        ("ACTUAL", 50),
        ("ACTUAL", 80),
        ("ACTUAL", 100),
        ("FORECASTED", 100),
    ]
    for notification in notifications:
        assert notification["comparisonOperator"] == "GREATER_THAN"
        assert notification["thresholdType"] == "PERCENTAGE"
        assert notification["subscriberSnsTopicArns"] == [topic_arn]


def test_budget_without_tag_filter_covers_the_account() -> None:
    budget = _build(_args(budget_tag_key=None, budget_forecast_threshold_percent=None)).one("aws:budgets/budget:Budget")
    assert "costFilters" not in budget.inputs
    assert len(budget.inputs["notifications"]) == 3


def test_dashboard_shows_latency_percentiles_errors_cpu_memory_and_redis() -> None:
    graph = _build(_args())
    dashboard: GraphResource = graph.one("aws:cloudwatch/dashboard:Dashboard")
    assert dashboard.inputs["dashboardName"] == "ai-platform-aws-prod-obs"
    body = json.loads(str(dashboard.inputs["dashboardBody"]))
    widgets = {w["properties"]["title"]: w["properties"] for w in body["widgets"]}
    assert set(widgets) == {
        "Latency (target response time, s)",
        "Requests and 5xx",
        "ECS CPU and memory (%)",
        "Redis memory (%)",
    }
    assert all(w["region"] == REGION for w in widgets.values())
    latency = widgets["Latency (target response time, s)"]["metrics"]
    assert [m[-1]["stat"] for m in latency] == ["p50", "p95", "p99"]
    assert latency[0][:6] == ["AWS/ApplicationELB", "TargetResponseTime", "LoadBalancer", LB, "TargetGroup", TG]
    ecs = widgets["ECS CPU and memory (%)"]["metrics"]
    assert [m[1] for m in ecs] == ["CPUUtilization", "MemoryUtilization"]
    redis = widgets["Redis memory (%)"]["metrics"]
    assert [m[3] for m in redis] == ["redis-abc-001", "redis-abc-002"]
    traffic = widgets["Requests and 5xx"]["metrics"]
    assert traffic[-1][0]["expression"] == "100 * (FILL(elb5xx, 0) + FILL(target5xx, 0)) / requests"


def test_no_log_groups_by_default() -> None:
    assert _build(_args()).of_type("aws:cloudwatch/logGroup:LogGroup") == []


def test_log_groups_are_encrypted_with_retention() -> None:
    graph = _build(_args(log_group_keys=["app", "worker"], log_retention_days=90))
    groups = {r.name: r for r in graph.of_type("aws:cloudwatch/logGroup:LogGroup")}
    assert set(groups) == {"obs-log-app", "obs-log-worker"}
    assert all(g.inputs["kmsKeyId"] == KMS and g.inputs["retentionInDays"] == 90 for g in groups.values())
    assert graph.outputs["logs"] == {"app": groups["obs-log-app"].id, "worker": groups["obs-log-worker"].id}


def test_outputs() -> None:
    graph = _build(_args())
    assert graph.outputs["topic"] == _topic_arn(graph)
    assert graph.outputs["dashboard"] == "ai-platform-aws-prod-obs"
    assert graph.outputs["budget"] == "ai-platform-aws-prod-obs"
    alarms = graph.outputs["alarms"]
    assert isinstance(alarms, dict)
    # an alarm's ARN ends with its name, here the name the block gives it
    assert alarms["cpu"] == f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:ai-platform-aws-prod-obs-cpu"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"alert_emails": ["not-an-email"]}, r"alert_emails entry 'not-an-email' is not an e-mail address"),
        ({"alert_emails": ["a@b"]}, r"alert_emails entry 'a@b' is not an e-mail address"),
        ({"alert_emails": ["a@example.com", "A@example.com"]}, r"alert_emails has duplicates"),
        ({"budget_monthly_usd": 0.0}, r"ObservabilityArgs.budget_monthly_usd=0.0 is invalid: must be > 0"),
        ({"latency_p95_threshold_seconds": -1.0}, r"latency_p95_threshold_seconds=-1.0 is invalid"),
        ({"error_rate_threshold_percent": 0.0}, r"error_rate_threshold_percent=0.0 is invalid: a percentage"),
        ({"cpu_threshold_percent": 150.0}, r"cpu_threshold_percent=150.0 is invalid"),
        ({"redis_memory_threshold_percent": 100.0}, r"redis_memory_threshold_percent=100.0 is invalid"),
        ({"period_seconds": 90}, r"period_seconds=90 is invalid: a multiple of 60"),
        ({"datapoints_to_alarm": 6}, r"datapoints_to_alarm=6 is invalid: 1..evaluation_periods \(5\)"),
        ({"evaluation_periods": 1500, "datapoints_to_alarm": 1}, r"CloudWatch evaluates at most one day"),
        ({"budget_thresholds_percent": [10.0, 20.0, 30.0, 40.0, 50.0]}, r"1 to 5 notifications in all"),
        ({"budget_thresholds_percent": [-5.0]}, r"each threshold > 0"),
        ({"budget_tag_key": "team"}, r"budget_tag_key='team' is not among the block's tags \['project', 'stack'\]"),
        ({"log_group_keys": ["app", "app"]}, r"log_group_keys has duplicates"),
        ({"log_group_keys": ["app"], "log_retention_days": 10}, r"log retention_days=10 is not a CloudWatch retention"),
    ],
)
def test_invalid_args_are_rejected(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _build(_args(**overrides))


def test_transform_keys_reach_the_documented_children() -> None:
    def quieter(args: object, opts: pulumi.ResourceOptions) -> None:
        assert isinstance(args, aws.cloudwatch.MetricAlarmArgs)
        args.threshold = 95

    def yearly(args: object, opts: pulumi.ResourceOptions) -> None:
        assert isinstance(args, aws.budgets.BudgetArgs)
        args.time_unit = "ANNUALLY"

    graph = _build(_args(transform={"alarm:cpu": quieter, "budget": yearly}))
    assert _alarms(graph)["cpu"]["threshold"] == 95
    assert graph.one("aws:budgets/budget:Budget").inputs["timeUnit"] == "ANNUALLY"
