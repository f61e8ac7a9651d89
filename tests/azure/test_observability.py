"""Observability: workspace-based App Insights without local auth, diagnostic settings, typed alerts, budget."""

from __future__ import annotations

import pulumi
import pytest

from components.azure.observability import Alert, Observability, ObservabilityArgs
from tests.azure.conftest import WHERE, plan_azure

GROUP_ID = "/subscriptions/s/resourceGroups/rg"


def test_workspace_insights_group_and_budget() -> None:
    graph = plan_azure(
        lambda: Observability(
            "obs",
            ObservabilityArgs(
                **WHERE,
                resource_group_id=GROUP_ID,
                retention_days=365,
                alert_emails=["a@example.com"],
                budget_monthly_amount=1000,
                budget_thresholds_percent=[50, 100],
            ),
        )
    )
    assert graph.one("azure-native:operationalinsights:Workspace").inputs["retentionInDays"] == 365
    insights = graph.one("azure-native:applicationinsights:Component").inputs
    assert insights["disableLocalAuth"] is True and insights["ingestionMode"] == "LogAnalytics"
    assert "workspaceResourceId" in insights
    group = graph.one("azure-native:monitor:ActionGroup").inputs
    assert group["emailReceivers"][0]["emailAddress"] == "a@example.com"
    budget = graph.one("azure-native:consumption:Budget").inputs
    assert budget["scope"] == GROUP_ID and budget["amount"] == 1000
    assert sorted(budget["notifications"]) == ["actual100", "actual50", "forecast100"]


def test_diagnostics_send_all_logs_and_alerts_use_typed_criteria() -> None:
    def program() -> None:
        obs = Observability("obs", ObservabilityArgs(**WHERE, resource_group_id=GROUP_ID))
        target = pulumi.CustomResource("azure-native:keyvault:Vault", "kv", {"resourceGroupName": "rg"})
        obs.diagnose("vault", target, target.id)
        obs.alert(Alert("latency", "/x", "microsoft.insights/components", "requests/duration", "GreaterThan", 4000,
                        "Average", "slow"))  # fmt: skip

    graph = plan_azure(program)
    setting = graph.one("azure-native:monitor:DiagnosticSetting").inputs
    assert setting["logs"] == [{"categoryGroup": "allLogs", "enabled": True}] and "workspaceId" in setting
    alert = graph.one("azure-native:monitor:MetricAlert").inputs
    criteria = alert["criteria"]
    # the typed Args class puts the discriminator and camelCase keys on the wire (a dict would not)
    assert criteria["odataType"] == "Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria"
    (criterion,) = criteria["allOf"]
    assert criterion["criterionType"] == "StaticThresholdCriterion" and criterion["threshold"] == 4000
    assert criterion["timeAggregation"] == "Average" and len(alert["actions"]) == 1


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"retention_days": 7}, "ObservabilityArgs.retention_days=7: allowed 30 to 730"),
        ({"alert_emails": ["nope"]}, r"ObservabilityArgs.alert_emails: not e-mail addresses: \['nope'\]"),
        ({"budget_monthly_amount": 0}, "ObservabilityArgs.budget_monthly_amount=0"),
    ],
)
def test_bad_arguments_are_refused(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Observability("obs", ObservabilityArgs(**WHERE, resource_group_id=GROUP_ID, **changes))  # pyright: ignore[reportArgumentType]
