"""Observability: Log Analytics, workspace-based Application Insights (Entra ID ingestion only),
diagnostic settings, an action group, metric alerts at the seed's thresholds and a budget."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any

import pulumi

from components import validation
from components.azure.identity import assign_role
from components.base import Block, BlockArgs

#: resource types whose logs reach Log Analytics only through a diagnostic setting (``allLogs``)
DIAGNOSABLE_TYPES = frozenset(
    {
        "azure-native:network:ApplicationGateway",
        "azure-native:apimanagement:ApiManagementService",
        "azure-native:keyvault:Vault",
        "azure-native:redisenterprise:Database",
        "azure-native:dbforpostgresql:Server",
        "azure-native:servicebus:Namespace",
        "azure-native:containerregistry:Registry",
        "azure-native:cognitiveservices:Account",
        "azure-native:app:ManagedEnvironment",
    }
)


@dataclass(frozen=True)
class Alert:
    """One metric alert: ``metric`` of ``namespace`` on ``scope`` crosses ``threshold``."""

    key: str
    scope: pulumi.Input[str]
    namespace: str
    metric: str
    operator: str
    threshold: float
    aggregation: str
    description: str


@dataclass(kw_only=True)
class ObservabilityArgs(BlockArgs):
    """Inputs of :class:`Observability`. Child keys for ``transform``: ``workspace``, ``appInsights``,
    ``actionGroup``, ``budget``, ``diagnostics-<key>``, ``alert-<key>``, ``telemetry-<key>``,
    ``availabilityTest``."""

    resource_group_name: pulumi.Input[str]
    """Resource group the block's resources are created in."""
    resource_group_id: pulumi.Input[str]
    """Id of that resource group (the budget's scope)."""
    location: str
    """Azure region of the block's resources."""
    retention_days: int = 30
    """Retention of the Log Analytics workspace."""
    alert_emails: list[str] = field(default_factory=list)
    """Addresses the action group notifies."""
    budget_monthly_amount: float = 100.0
    """Monthly budget of the resource group."""
    budget_thresholds_percent: list[int] = field(default_factory=lambda: [50, 80, 100])
    """Percent of the budget (actual spend) that notify."""


class Observability(Block):
    """Where every log, metric and alert of the platform goes."""

    workspace_id: pulumi.Output[str]
    """Id of the Log Analytics workspace."""
    workspace_customer_id: pulumi.Output[str]
    """Customer (workspace) id of that workspace."""
    app_insights_id: pulumi.Output[str]
    """Id of the Application Insights resource."""
    connection_string: pulumi.Output[str]
    """Connection string of Application Insights."""
    action_group_id: pulumi.Output[str]
    """Id of the action group alerts notify."""

    def __init__(self, name: str, args: ObservabilityArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        _validate(args)
        super().__init__("ai-platform:azure:Observability", name, args, opts)
        import pulumi_azure_native.applicationinsights as applicationinsights
        import pulumi_azure_native.consumption as consumption
        import pulumi_azure_native.monitor as monitor
        import pulumi_azure_native.operationalinsights as operationalinsights

        self._args = args
        rg = args.resource_group_name
        workspace = self.child(
            "workspace",
            operationalinsights.Workspace,
            operationalinsights.WorkspaceArgs(
                resource_group_name=rg,
                location=args.location,
                sku=operationalinsights.WorkspaceSkuArgs(name="PerGB2018"),
                retention_in_days=args.retention_days,
                features=operationalinsights.WorkspaceFeaturesArgs(disable_local_auth=True),
            ),
        )
        insights = self.child(
            "appInsights",
            applicationinsights.Component,
            applicationinsights.ComponentArgs(
                resource_group_name=rg,
                location=args.location,
                kind="web",
                application_type="web",
                ingestion_mode="LogAnalytics",
                workspace_resource_id=workspace.id,
                retention_in_days=args.retention_days,
                disable_local_auth=True,
            ),
            name="insights",
        )
        group = self.child(
            "actionGroup",
            monitor.ActionGroup,
            monitor.ActionGroupInitArgs(
                resource_group_name=rg,
                location="global",
                enabled=True,
                group_short_name="ai-oncall",
                email_receivers=[
                    monitor.MicrosoftCommonEmailReceiverArgs(
                        name=f"email-{i}", email_address=email, use_common_alert_schema=True
                    )
                    for i, email in enumerate(args.alert_emails)
                ],
            ),
            name="oncall",
        )
        today = datetime.date.today()
        self.child(
            "budget",
            consumption.Budget,
            consumption.BudgetArgs(
                scope=args.resource_group_id,
                amount=args.budget_monthly_amount,
                category="Cost",
                time_grain="Monthly",
                time_period=consumption.BudgetTimePeriodArgs(start_date=f"{today:%Y-%m}-01T00:00:00Z"),
                notifications={
                    f"actual{percent}": consumption.NotificationArgs(
                        enabled=True,
                        operator="GreaterThanOrEqualTo",
                        threshold=percent,
                        threshold_type="Actual",
                        contact_emails=args.alert_emails,
                        contact_groups=[group.id],
                    )
                    for percent in args.budget_thresholds_percent
                }
                | {
                    "forecast100": consumption.NotificationArgs(
                        enabled=True,
                        operator="GreaterThanOrEqualTo",
                        threshold=100,
                        threshold_type="Forecasted",
                        contact_emails=args.alert_emails,
                        contact_groups=[group.id],
                    )
                },
            ),
            # the start month is fixed at creation; later runs must not move it
            pulumi.ResourceOptions(ignore_changes=["timePeriod"]),
            name="budget",
        )
        self.workspace_id = workspace.id
        self.workspace_customer_id = workspace.customer_id
        self.app_insights = insights
        self.app_insights_id = insights.id
        self.connection_string = insights.connection_string
        self.action_group_id = group.id
        self.register_outputs({"workspaceId": workspace.id, "appInsightsId": insights.id, "actionGroupId": group.id})

    def diagnose(self, key: str, resource: pulumi.Resource, resource_id: pulumi.Input[str]) -> pulumi.Resource:
        """Send every log (``allLogs``) and metric of ``resource`` to the workspace."""
        import pulumi_azure_native.monitor as monitor

        return self.child(
            f"diagnostics-{key}",
            monitor.DiagnosticSetting,
            monitor.DiagnosticSettingArgs(
                resource_uri=resource_id,
                name="to-log-analytics",
                workspace_id=self.workspace_id,
                log_analytics_destination_type="Dedicated",
                logs=[monitor.DiagnosticsLogSettingsArgs(category_group="allLogs", enabled=True)],
                metrics=[monitor.DiagnosticsMetricSettingsArgs(category="AllMetrics", enabled=True)],
            ),
            pulumi.ResourceOptions(depends_on=[resource]),
            name=f"diag-{key}",
        )

    def alert(self, alert: Alert) -> pulumi.Resource:
        """A metric alert (typed criteria, so the union's keys reach the engine converted) that
        notifies the action group."""
        import pulumi_azure_native.monitor as monitor

        return self.child(
            f"alert-{alert.key}",
            monitor.MetricAlert,
            monitor.MetricAlertArgs(
                resource_group_name=self._args.resource_group_name,
                location="global",
                description=alert.description,
                enabled=True,
                severity=2,
                scopes=[alert.scope],
                evaluation_frequency="PT1M",
                window_size="PT5M",
                auto_mitigate=True,
                criteria=monitor.MetricAlertSingleResourceMultipleMetricCriteriaArgs(
                    odata_type="Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria",
                    all_of=[
                        monitor.MetricCriteriaArgs(
                            criterion_type="StaticThresholdCriterion",
                            name=alert.key,
                            metric_namespace=alert.namespace,
                            metric_name=alert.metric,
                            operator=alert.operator,
                            threshold=alert.threshold,
                            time_aggregation=alert.aggregation,
                        )
                    ],
                ),
                actions=[monitor.MetricAlertActionArgs(action_group_id=self.action_group_id)],
            ),
            name=f"alert-{alert.key}",
        )

    def availability_test(self, url: str) -> pulumi.Resource:
        """A standard availability test of ``url`` (the public health check) from five regions every
        five minutes: the source of the availability percentage the seed alerts on."""
        import pulumi_azure_native.applicationinsights as applicationinsights

        insights_id = self.app_insights_id

        def linked(name: str, args: Any, opts: pulumi.ResourceOptions) -> pulumi.Resource:
            # Azure shows a test under its Application Insights only with this hidden-link tag
            platform = dict(args.tags or {})
            args.tags = insights_id.apply(lambda i: {**platform, f"hidden-link:{i}": "Resource"})
            return applicationinsights.WebTest(name, args, opts)

        return self.child(
            "availabilityTest",
            linked,
            applicationinsights.WebTestArgs(
                resource_group_name=self._args.resource_group_name,
                location=self._args.location,
                kind=applicationinsights.WebTestKind.STANDARD,
                web_test_kind=applicationinsights.WebTestKind.STANDARD,
                synthetic_monitor_id="health",
                enabled=True,
                frequency=300,
                timeout=30,
                retry_enabled=True,
                locations=[
                    applicationinsights.WebTestGeolocationArgs(location=location)
                    for location in (
                        "emea-nl-ams-azr",
                        "emea-gb-db3-azr",
                        "us-va-ash-azr",
                        "us-ca-sjc-azr",
                        "apac-sg-sin-azr",
                    )
                ],
                request=applicationinsights.WebTestPropertiesRequestArgs(request_url=url, http_verb="GET"),
                validation_rules=applicationinsights.WebTestPropertiesValidationRulesArgs(
                    expected_http_status_code=200, s_sl_check=True, s_sl_cert_remaining_lifetime_check=7
                ),
            ),
            name="availability",
        )

    def grant_telemetry(self, key: str, principal_id: pulumi.Input[str]) -> pulumi.Resource:
        """Monitoring Metrics Publisher on Application Insights: local auth is off, so the app's
        identity sends the telemetry."""
        return assign_role(self, f"telemetry-{key}", "Monitoring Metrics Publisher", self.app_insights_id, principal_id)


def _validate(args: ObservabilityArgs) -> None:
    if not 30 <= args.retention_days <= 730:
        raise ValueError(f"ObservabilityArgs.retention_days={args.retention_days}: allowed 30 to 730 (Log Analytics)")
    bad = [e for e in args.alert_emails if validation.email(e)]
    if bad:
        raise ValueError(f"ObservabilityArgs.alert_emails: not e-mail addresses: {bad}")
    if args.budget_monthly_amount <= 0:
        raise ValueError(f"ObservabilityArgs.budget_monthly_amount={args.budget_monthly_amount}: must be positive")
