"""Deploy readiness of the Lambda runtime (``aws-serverless``): each invariant passes the planned
graph and reports it once the fix is taken out (a failing fixture per invariant)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from components.aws import readiness
from components.readiness import Invariant, check
from components.testing import Graph
from tests.readiness.graphs import graph, planned, resource, with_input, without_dependency

STACK = "aws-serverless"
FUNCTION = "ai-platform-function-function"
PERMISSION = "ai-platform-function-invoke-apiGateway"


def findings(source: Graph, invariant: Invariant) -> list[str]:
    return [f.message for f in check(source, [invariant])]


def without(source: Graph, name: str) -> Graph:
    """``source`` without resource ``name`` (and nothing waiting for it)."""
    gone = source.named(name).urn
    kept = [r for r in source.resources if r.urn != gone]
    return replace(
        source,
        resources=[
            replace(
                r,
                dependencies=[u for u in r.dependencies if u != gone],
                property_dependencies={k: [u for u in v if u != gone] for k, v in r.property_dependencies.items()},
            )
            for r in kept
        ],
    )


@pytest.mark.parametrize(
    "invariant",
    [readiness.api_gateway_may_invoke, readiness.log_groups_before_writers, readiness.compute_waits_for_role_policies],
)
@pytest.mark.parametrize("stack", [STACK, f"{STACK}-prod"])
def test_the_serverless_stacks_pass(stack: str, invariant: Invariant) -> None:
    assert findings(planned(stack), invariant) == []


def test_an_integration_without_the_invoke_permission_is_reported() -> None:
    [message] = findings(without(planned(STACK), PERMISSION), readiness.api_gateway_may_invoke)
    assert "ai-platform-api-proxy-lambda invokes ai-platform-function-function:live" in message
    assert "no aws:lambda/permission:Permission lets apigateway.amazonaws.com invoke it" in message


def test_a_permission_for_another_qualifier_does_not_count() -> None:
    source = with_input(planned(STACK), PERMISSION, "qualifier", None)
    [message] = findings(source, readiness.api_gateway_may_invoke)
    assert "(qualifier 'live')" in message


def test_a_permission_without_the_apis_source_arn_is_reported() -> None:
    source = without_dependency(planned(STACK), PERMISSION, "ai-platform-api-api")
    [message] = findings(source, readiness.api_gateway_may_invoke)
    assert message.startswith(f"{PERMISSION} lets apigateway.amazonaws.com invoke ai-platform-function-function:live")
    assert "without a sourceArn of the integrating API" in message


def test_a_function_created_before_its_log_group_is_reported() -> None:
    """In the stack the function also waits for the group through its role policy (which names the
    group): here it waits for nothing."""
    group = resource("aws:cloudwatch/logGroup:LogGroup", "fn-log", outputs={"name": "fn-log-1"})
    function = resource("aws:lambda/function:Function", "fn", {"loggingConfig": {"logGroup": "fn-log-1"}})
    [message] = findings(graph(group, function), readiness.log_groups_before_writers)
    assert message == (
        "fn (aws:lambda/function:Function) writes to fn-log ('fn-log-1') but does not wait for it: "
        "make it depend on the log group"
    )
    waiting = resource(
        "aws:lambda/function:Function", "fn", {"loggingConfig": {"logGroup": "fn-log-1"}}, depends_on=[group]
    )
    assert findings(graph(group, waiting), readiness.log_groups_before_writers) == []


def test_a_function_writing_to_the_default_group_nobody_creates_is_reported() -> None:
    function = resource("aws:lambda/function:Function", "fn", {"name": "fn-1"})
    [message] = findings(graph(function), readiness.log_groups_before_writers)
    assert "writes to log group '/aws/lambda/fn-1', which the program does not create" in message


def test_a_function_created_before_its_role_policies_is_reported() -> None:
    source = without_dependency(planned(STACK), FUNCTION, "ai-platform-function-function-policy")
    [message] = findings(source, readiness.compute_waits_for_role_policies)
    assert message.startswith(f"{FUNCTION} (aws:lambda/function:Function) runs with ai-platform-function-function-role")
    assert "does not wait for its policy ai-platform-function-function-policy" in message
