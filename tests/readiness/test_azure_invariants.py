"""The Azure invariants pass on the shipped stacks and fail when the fix they guard is reverted."""

from __future__ import annotations

from dataclasses import replace

from components.azure import readiness
from components.readiness import Finding, check
from tests.readiness.graphs import planned, without_dependency


def names(graph_findings: list[Finding]) -> list[str]:
    return [str(f) for f in graph_findings]


def test_the_shipped_prod_stack_is_ready() -> None:
    assert names(readiness.findings(planned("azure-prod"))) == []


def test_the_app_must_wait_for_each_grant_to_its_identity() -> None:
    graph = planned("azure-prod")
    broken = without_dependency(graph, "ai-platform-service-app", "ai-platform-secrets-readers-app")
    found = names(check(broken, [readiness.role_assignments_before_the_app]))
    assert len(found) == 1 and "does not wait for ai-platform-secrets-readers-app" in found[0]
    broken = without_dependency(graph, "ai-platform-service-app", "ai-platform-cache-access-app")
    assert "ai-platform-cache-access-app" in " ".join(names(check(broken, [readiness.role_assignments_before_the_app])))


def test_the_gateway_must_wait_for_its_certificate_role() -> None:
    broken = without_dependency(
        planned("azure-prod"), "ai-platform-gateway-agw", "ai-platform-gateway-certificateReader"
    )
    (found,) = names(check(broken, [readiness.identity_used_after_its_roles]))
    assert "ai-platform-gateway-agw acts as" in found


def test_a_zone_group_must_wait_for_its_zone_link() -> None:
    broken = without_dependency(
        planned("azure-prod"), "ai-platform-network-pe-vault-dns", "ai-platform-network-link-vault"
    )
    (found,) = names(check(broken, [readiness.private_dns_linked_first]))
    assert "does not wait for ai-platform-network-link-vault" in found


def test_a_diagnostic_setting_must_name_a_resource_that_has_logs() -> None:
    graph = planned("azure-prod")
    setting = graph.named("ai-platform-observability-diag-vault")
    identity = graph.one("azure-native:managedidentity:UserAssignedIdentity", "ai-platform-identity-identity")
    moved = replace(setting, property_dependencies={**setting.property_dependencies, "resourceUri": [identity.urn]})
    broken = replace(graph, resources=[moved if r.urn == setting.urn else r for r in graph.resources])
    (found,) = names(check(broken, [readiness.diagnostic_settings_supported]))
    assert "has no diagnostic log categories" in found


def test_the_database_admin_must_not_be_the_apps_identity() -> None:
    graph = planned("azure-prod")
    admin = graph.one("azure-native:dbforpostgresql:AdministratorsMicrosoftEntra")
    app_identity = graph.one("azure-native:managedidentity:UserAssignedIdentity", "ai-platform-identity-identity")
    dedicated = graph.one("azure-native:managedidentity:UserAssignedIdentity", "ai-platform-dbadmin-identity")
    assert admin.property_dependencies["objectId"] == [dedicated.urn]
    assert check(graph, [readiness.database_admin_is_not_the_app]) == []
    moved = replace(admin, property_dependencies={**admin.property_dependencies, "objectId": [app_identity.urn]})
    broken = replace(graph, resources=[moved if r.urn == admin.urn else r for r in graph.resources])
    (found,) = names(check(broken, [readiness.database_admin_is_not_the_app]))
    assert "ai-platform-identity-identity is PostgreSQL's Entra administrator and the identity of" in found


def test_a_key_vault_named_value_must_wait_for_the_services_vault_role() -> None:
    graph = planned("azure-prod")
    named = graph.one("azure-native:apimanagement:NamedValue")
    assert check(graph, [readiness.key_vault_named_values_after_the_role]) == []
    broken = without_dependency(graph, named.name, "ai-platform-apim-vaultReader")
    (found,) = names(check(broken, [readiness.key_vault_named_values_after_the_role]))
    assert "does not wait for ai-platform-apim-vaultReader" in found
