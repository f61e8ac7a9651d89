"""Azure deploy-readiness invariants: what would stop (or break) the first ``pulumi up`` on Azure.

``findings(graph)`` runs them all with the generic ones; ``ai-platform plan`` and CI call it for
Azure stacks. Each knows its types through small tables, so a new block extends a table.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from components.azure.observability import DIAGNOSABLE_TYPES
from components.readiness import GENERIC, Finding, Invariant, Order, check, finding, invariant
from components.testing import Graph, GraphResource

IDENTITY = "azure-native:managedidentity:UserAssignedIdentity"
CONTAINER_APP = "azure-native:app:ContainerApp"
ZONE = "azure-native:privatedns:PrivateZone"
LINK = "azure-native:privatedns:VirtualNetworkLink"
ZONE_GROUP = "azure-native:network:PrivateDnsZoneGroup"
DIAGNOSTIC_SETTING = "azure-native:monitor:DiagnosticSetting"

#: access grants to an identity: (type, input naming the identity's principal/object id)
GRANTS: tuple[tuple[str, str], ...] = (
    ("azure-native:authorization:RoleAssignment", "principalId"),
    ("azure-native:redisenterprise:AccessPolicyAssignment", "user"),
    ("azure-native:dbforpostgresql:AdministratorsMicrosoftEntra", "objectId"),
)
#: resources that act as an identity: (type, input naming the identity)
IDENTITY_USERS: tuple[tuple[str, str], ...] = (
    (CONTAINER_APP, "identity"),
    ("azure-native:network:ApplicationGateway", "identity"),
)


def _grants_of(order: Order, identity: GraphResource) -> list[GraphResource]:
    return [g for type_token, key in GRANTS for g in order.referencing(type_token, key, identity)]


def _users_of(order: Order, identity: GraphResource, types: Iterable[tuple[str, str]]) -> list[GraphResource]:
    return [u for type_token, key in types for u in order.referencing(type_token, key, identity)]


@invariant("role-assignments-before-the-app")
def role_assignments_before_the_app(order: Order) -> Iterable[Finding]:
    """The app's first revision pulls its image (AcrPull), resolves its Key Vault secrets and
    connects to Redis and PostgreSQL as its identity at start: every grant to that identity must
    exist first, or the revision fails and Container Apps keeps retrying it."""
    for identity in order.graph.of_type(IDENTITY):
        for app in _users_of(order, identity, [(CONTAINER_APP, "identity")]):
            for grant in _grants_of(order, identity):
                if not order.waits_for(app, grant):
                    yield finding(
                        app,
                        grant,
                        message=f"{app.name} uses {identity.name} but does not wait for {grant.name} ({grant.type}): "
                        "add it to the app's depends_on",
                    )


@invariant("identity-used-after-its-roles")
def identity_used_after_its_roles(order: Order) -> Iterable[Finding]:
    """Any resource that acts as a managed identity at creation (the gateway reading its Key Vault
    certificate) fails if its role assignments are not there yet."""
    users = [u for u in IDENTITY_USERS if u[0] != CONTAINER_APP]
    for identity in order.graph.of_type(IDENTITY):
        for user in _users_of(order, identity, users):
            for grant in _grants_of(order, identity):
                if not order.waits_for(user, grant):
                    yield finding(
                        user,
                        grant,
                        message=f"{user.name} acts as {identity.name} but does not wait for {grant.name}: "
                        "add it to depends_on",
                    )


def _waits_for_one(
    order: Order, waiter: GraphResource, prerequisites: list[GraphResource], about: GraphResource, missing: str
) -> Iterator[Finding]:
    """``waiter`` must wait for one of ``prerequisites``; with none, ``missing`` is said about ``about``."""
    if not prerequisites:
        yield finding(waiter, about, message=missing)
    elif not any(order.waits_for(waiter, p) for p in prerequisites):
        first = prerequisites[0]
        yield finding(waiter, first, message=f"{waiter.name} does not wait for {first.name}: add it to depends_on")


@invariant("private-dns-linked-before-zone-group")
def private_dns_linked_first(order: Order) -> Iterable[Finding]:
    """A private endpoint's DNS record lands in its zone, but the VNet resolves it only once the zone
    is linked: a zone group created first leaves clients resolving the public address (and failing)."""
    for group in order.graph.of_type(ZONE_GROUP):
        for zone in order.referenced(group, "privateDnsZoneConfigs", ZONE):
            links = order.referencing(LINK, "privateZoneName", zone)
            missing = f"{zone.name} is not linked to any VNet: add a VirtualNetworkLink"
            yield from _waits_for_one(order, group, links, zone, missing)


@invariant("diagnostic-settings-name-supporting-resources")
def diagnostic_settings_supported(order: Order) -> Iterable[Finding]:
    """A diagnostic setting on a resource type without log categories fails at ``pulumi up``
    (or silently sends nothing); each must name a resource of a type known to support them."""
    for setting in order.graph.of_type(DIAGNOSTIC_SETTING):
        targets = order.referenced(setting, "resourceUri")
        if not targets:
            yield finding(setting, message=f"{setting.name} names no resource of this program in resourceUri")
        for target in targets:
            if target.type not in DIAGNOSABLE_TYPES:
                yield finding(
                    setting,
                    target,
                    message=f"{setting.name} targets {target.name} ({target.type}), which has no diagnostic log "
                    "categories: remove it or add the type to DIAGNOSABLE_TYPES with its categories",
                )


DATABASE_ADMIN = "azure-native:dbforpostgresql:AdministratorsMicrosoftEntra"


@invariant("database-admin-is-not-the-app")
def database_admin_is_not_the_app(order: Order) -> Iterable[Finding]:
    """PostgreSQL's Entra administrator may create roles and extensions and read every database:
    the app gets a database role of its own (vector_store.bootstrap_sql), never the admin."""
    for identity in order.graph.of_type(IDENTITY):
        apps = _users_of(order, identity, [(CONTAINER_APP, "identity")])
        for admin in order.referencing(DATABASE_ADMIN, "objectId", identity) if apps else ():
            yield finding(
                admin,
                identity,
                message=f"{identity.name} is PostgreSQL's Entra administrator and the identity of {apps[0].name}: "
                "make a dedicated identity or an Entra group the administrator, and give the app a role of its own",
            )


NAMED_VALUE = "azure-native:apimanagement:NamedValue"
API_MANAGEMENT = "azure-native:apimanagement:ApiManagementService"
ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment"


@invariant("key-vault-named-values-after-the-vault-role")
def key_vault_named_values_after_the_role(order: Order) -> Iterable[Finding]:
    """API Management reads a Key Vault named value's secret with its own identity when the value is
    created: without its Key Vault role by then, the named value fails."""
    for named in order.graph.of_type(NAMED_VALUE):
        if not named.inputs.get("keyVault"):
            continue
        for service in order.referenced(named, "serviceName", API_MANAGEMENT):
            roles = order.referencing(ROLE_ASSIGNMENT, "principalId", service)
            missing = f"{service.name}'s identity has no role to read {named.name}"
            yield from _waits_for_one(order, named, roles, service, missing)


#: every invariant an Azure stack must pass (the generic ones first)
INVARIANTS: tuple[Invariant, ...] = (
    *GENERIC,
    role_assignments_before_the_app,
    identity_used_after_its_roles,
    private_dns_linked_first,
    diagnostic_settings_supported,
    database_admin_is_not_the_app,
    key_vault_named_values_after_the_role,
)


def findings(graph: Graph) -> list[Finding]:
    """Every readiness finding on a planned Azure graph (empty when it is ready to deploy)."""
    return check(graph, INVARIANTS)
