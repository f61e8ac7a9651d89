"""Each priced AWS type against a figure computed by hand from the published price.

The figures below are worked out from the price pages named in components/aws/prices.json
(us-east-1 for aws-prod, eu-west-1 for aws-dev); usage-based quantities are fixed by a usage
file so that every figure can be checked by hand. 730 hours a month.
"""

from __future__ import annotations

import pytest

from components.cost import Estimate, LineItem, estimate
from components.cost.usage import parse
from tests.cost.conftest import planned

USAGE = {
    "traffic": {"requestsPerMonth": 1_000_000, "llmModels": {"gpt-4o-mini": 1.0}},
    "resources": {
        "ai-platform-network-nat-0": {"gbProcessed": 100},
        "ai-platform-network-endpoint-logs": {"gbProcessed": 50},
        "ai-platform-gateway-alb": {"lcuHours": 1000, "gbOut": 200},
        "ai-platform-gateway-waf": {"requestsMillions": 10},
        "ai-platform-service-service": {"extraTasks": 1.5},
        "ai-platform-vectors-cluster": {"storageGb": 40, "ioMillions": 5},
        "ai-platform-vectors-instance-0": {"extraAcu": 2},
        "ai-platform-service-logs": {"ingestedGb": 10},
        "ai-platform-queue-queue": {"requestsMillions": 2},
        "ai-platform-secrets-key": {"requestsTenThousands": 30},
        "ai-platform-secrets-secret-openaiApiKey": {"apiCallsTenThousands": 4},
        "ai-platform-registry-repo": {"storedGb": 12},
        "ai-platform-gateway-access-logs": {"storedGb": 100},
    },
}


@pytest.fixture(scope="module")
def prod() -> Estimate:
    graph, spec = planned("aws-prod")
    return estimate(graph, spec, parse(USAGE, "usage.yaml"))


@pytest.fixture(scope="module")
def dev() -> Estimate:
    graph, spec = planned("aws-dev")
    return estimate(graph, spec)


def items(result: Estimate, resource: str) -> dict[str, LineItem]:
    found = {item.description: item for item in result.items if item.resource == resource}
    assert found, f"no line items for {resource}"
    return found


def monthly(result: Estimate, resource: str) -> float:
    return sum(item.monthly for item in items(result, resource).values())


def test_nat_gateway_hours_and_data(prod: Estimate, dev: Estimate) -> None:
    # us-east-1: $0.045/hour, $0.045/GB; eu-west-1: $0.048/hour
    assert monthly(prod, "ai-platform-network-nat-0") == pytest.approx(730 * 0.045 + 100 * 0.045)
    assert items(dev, "ai-platform-network-nat-0")["NAT gateway hours"].monthly == pytest.approx(35.04)
    assert len([i for i in prod.items if i.description == "NAT gateway hours"]) == 3  # one per zone in prod


def test_public_ipv4_address(prod: Estimate) -> None:
    assert monthly(prod, "ai-platform-network-nat-eip-0") == pytest.approx(3.65)  # $0.005/hour


def test_interface_endpoints_per_zone_and_gateway_endpoint_free(prod: Estimate, dev: Estimate) -> None:
    # $0.01 per AZ-hour x 3 AZ + $0.01/GB in us-east-1; $0.011 per AZ-hour x 2 AZ in eu-west-1
    assert monthly(prod, "ai-platform-network-endpoint-logs") == pytest.approx(3 * 730 * 0.01 + 50 * 0.01)
    assert items(dev, "ai-platform-network-endpoint-ecr-api")["endpoint hours x 2 AZ"].monthly == pytest.approx(16.06)
    assert not [i for i in prod.items if i.resource == "ai-platform-network-s3-endpoint"]


def test_application_load_balancer(prod: Estimate) -> None:
    # $0.0225/hour + $0.008/LCU-hour + 3 public IPv4 at $0.005/hour + $0.09/GB out
    expected = 730 * 0.0225 + 1000 * 0.008 + 3 * 730 * 0.005 + 200 * 0.09
    assert monthly(prod, "ai-platform-gateway-alb") == pytest.approx(expected)


def test_waf_web_acl_rules_and_requests(prod: Estimate) -> None:
    # $5 per web ACL, $1 per rule (5 rules: rate, body size, 3 managed groups), $0.60 per million requests
    assert monthly(prod, "ai-platform-gateway-waf") == pytest.approx(5 + 5 * 1 + 10 * 0.60)


def test_fargate_service_tasks(prod: Estimate, dev: Estimate) -> None:
    # us-east-1 x86: $0.04048/vCPU-hour, $0.004445/GB-hour; 3 tasks of 1 vCPU / 2 GB + 1.5 extra on average
    expected = 4.5 * 730 * (1 * 0.04048 + 2 * 0.004445)
    assert monthly(prod, "ai-platform-service-service") == pytest.approx(expected)
    # eu-west-1 is priced as us-east-1 for Linux/x86: $0.04048/vCPU-hour, $0.004445/GB-hour; 1 task of 0.5 vCPU / 1 GB
    assert monthly(dev, "ai-platform-service-service") == pytest.approx(730 * (0.5 * 0.04048 + 1 * 0.004445))  # 18.02


def test_elasticache_nodes(prod: Estimate, dev: Estimate) -> None:
    assert monthly(prod, "ai-platform-cache-redis") == pytest.approx(2 * 730 * 0.219)  # r7g.large, primary + replica
    assert monthly(dev, "ai-platform-cache-redis") == pytest.approx(730 * 0.0176)  # t4g.micro in eu-west-1


def test_aurora_serverless_instances_and_cluster(prod: Estimate, dev: Estimate) -> None:
    # $0.12 per ACU-hour in us-east-1: 1 ACU minimum (+2 ACU on average on the writer)
    assert monthly(prod, "ai-platform-vectors-instance-0") == pytest.approx(3 * 730 * 0.12)
    assert monthly(prod, "ai-platform-vectors-instance-1") == pytest.approx(730 * 0.12)
    # $0.10/GB-month storage, $0.20 per million I/O
    assert monthly(prod, "ai-platform-vectors-cluster") == pytest.approx(40 * 0.10 + 5 * 0.20)
    # eu-west-1: $0.13 per ACU-hour, 0.5 ACU minimum, one instance in dev
    assert monthly(dev, "ai-platform-vectors-instance-0") == pytest.approx(0.5 * 730 * 0.13)


def test_log_group_ingestion_and_retained_storage(prod: Estimate) -> None:
    # $0.50/GB ingested; kept 365 days: 10 GB x 365 / 30.4 stored at $0.03/GB-month
    assert monthly(prod, "ai-platform-service-logs") == pytest.approx(10 * 0.50 + 10 * 365 / 30.4 * 0.03)


def test_alarms_per_metric_and_dashboard(prod: Estimate) -> None:
    assert monthly(prod, "ai-platform-observability-alarm-errorRate") == pytest.approx(0.30)  # 3 metrics x $0.10
    assert monthly(prod, "ai-platform-observability-alarm-cpu") == pytest.approx(0.10)
    assert monthly(prod, "ai-platform-observability-dashboard") == pytest.approx(3.00)


def test_sqs_requests(prod: Estimate) -> None:
    assert monthly(prod, "ai-platform-queue-queue") == pytest.approx(2 * 0.40)  # $0.40 per million


def test_kms_key_and_secrets(prod: Estimate) -> None:
    assert monthly(prod, "ai-platform-secrets-key") == pytest.approx(1 + 30 * 0.03)  # $1/key, $0.03 per 10k
    assert monthly(prod, "ai-platform-secrets-secret-openaiApiKey") == pytest.approx(0.40 + 4 * 0.05)


def test_registry_and_access_log_storage(prod: Estimate) -> None:
    assert monthly(prod, "ai-platform-registry-repo") == pytest.approx(12 * 0.10)  # ECR $0.10/GB-month
    assert monthly(prod, "ai-platform-gateway-access-logs") == pytest.approx(100 * 0.023)  # S3 Standard


def test_llm_tokens_from_the_apps_price_table(prod: Estimate) -> None:
    # gpt-4o-mini at $0.15 / $0.60 per million tokens; 1M requests x 500 in / 200 out tokens
    assert monthly(prod, "gpt-4o-mini") == pytest.approx(1_000_000 * (500 * 0.15 + 200 * 0.60) / 1e6)


def test_fixed_charges_do_not_depend_on_usage(prod: Estimate) -> None:
    graph, spec = planned("aws-prod")
    default = estimate(graph, spec)
    fixed = {(i.resource, i.description): i.monthly for i in prod.items if i.usage is None}
    assert fixed == {(i.resource, i.description): i.monthly for i in default.items if i.usage is None}
    assert prod.fixed == pytest.approx(default.fixed)


@pytest.fixture(scope="module")
def serverless() -> Estimate:
    graph, spec = planned("aws-serverless-prod")
    usage = {
        "traffic": {"requestsPerMonth": 2_000_000, "llmModels": {"gpt-4o-mini": 1.0}},
        "resources": {
            "ai-platform-function-function": {"averageDurationMs": 800},
            "ai-platform-api-stage": {"requestsMillions": 2},
        },
    }
    return estimate(graph, spec, parse(usage, "usage.yaml"))


def test_lambda_requests_duration_and_provisioned_concurrency(serverless: Estimate) -> None:
    # $0.20 per 1M requests; x86 $0.0000166667 per GB-second; 512 MB = 0.5 GB
    function = items(serverless, "ai-platform-function-function")
    assert function["requests"].monthly == pytest.approx(2 * 0.20)
    duration = function["duration (0.5 GB x 800 ms a request)"]
    assert duration.monthly == pytest.approx(2_000_000 * 0.8 * 0.5 * 0.0000166667)  # 13.33
    assert duration.usage and function["requests"].usage
    # provisioned concurrency 2 x 0.5 GB kept warm all month: $0.0000041667 per GB-second, fixed
    warm = monthly(serverless, "ai-platform-function-provisioned")
    assert warm == pytest.approx(2 * 0.5 * 730 * 3600 * 0.0000041667)  # 10.95
    assert all(i.usage is None for i in items(serverless, "ai-platform-function-provisioned").values())


def test_rest_api_requests(serverless: Estimate) -> None:
    # REST API: $3.50 per million requests (first 333 million), us-east-1
    assert monthly(serverless, "ai-platform-api-stage") == pytest.approx(2 * 3.50)


#: every priced AWS type -> the test above that checks its formula by hand
TESTED = {
    "aws:ec2/natGateway:NatGateway": test_nat_gateway_hours_and_data,
    "aws:ec2/eip:Eip": test_public_ipv4_address,
    "aws:ec2/vpcEndpoint:VpcEndpoint": test_interface_endpoints_per_zone_and_gateway_endpoint_free,
    "aws:lb/loadBalancer:LoadBalancer": test_application_load_balancer,
    "aws:wafv2/webAcl:WebAcl": test_waf_web_acl_rules_and_requests,
    "aws:ecs/service:Service": test_fargate_service_tasks,
    "aws:elasticache/replicationGroup:ReplicationGroup": test_elasticache_nodes,
    "aws:rds/cluster:Cluster": test_aurora_serverless_instances_and_cluster,
    "aws:rds/clusterInstance:ClusterInstance": test_aurora_serverless_instances_and_cluster,
    "aws:cloudwatch/logGroup:LogGroup": test_log_group_ingestion_and_retained_storage,
    "aws:cloudwatch/metricAlarm:MetricAlarm": test_alarms_per_metric_and_dashboard,
    "aws:cloudwatch/dashboard:Dashboard": test_alarms_per_metric_and_dashboard,
    "aws:sqs/queue:Queue": test_sqs_requests,
    "aws:kms/key:Key": test_kms_key_and_secrets,
    "aws:secretsmanager/secret:Secret": test_kms_key_and_secrets,
    "aws:ecr/repository:Repository": test_registry_and_access_log_storage,
    "aws:s3/bucket:Bucket": test_registry_and_access_log_storage,
    "aws:lambda/function:Function": test_lambda_requests_duration_and_provisioned_concurrency,
    "aws:lambda/provisionedConcurrencyConfig:ProvisionedConcurrencyConfig": (
        test_lambda_requests_duration_and_provisioned_concurrency
    ),
    "aws:apigateway/stage:Stage": test_rest_api_requests,
}


def test_every_priced_aws_type_has_a_hand_computed_test() -> None:
    from components.aws import cost

    assert sorted(TESTED) == sorted(cost.PRICED)
