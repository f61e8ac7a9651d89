"""What each AWS resource type of the platform costs a month (the engine: components/cost).

Prices are in ``prices.json`` beside this file (us-east-1 and eu-west-1, list prices, free
tiers not deducted). Adding a type: one entry in ``prices.json`` and one formula in ``PRICED``
(or one line in ``FREE``/``NOT_PRICED``).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from components.cost import GB, HOURS_PER_MONTH, Charge, Context, compute_hours, request_charge, rule_set_charges
from components.testing import GraphResource

PRICES = Path(__file__).with_name("prices.json")

H = HOURS_PER_MONTH


def nat_gateway(r: GraphResource, ctx: Context) -> list[Charge]:
    gateways = len(ctx.graph.of_type(r.type))
    gb, why = ctx.usage(r, "gbProcessed", ctx.edge_gb / gateways, "model API traffic split over the NAT gateways")
    return [Charge("NAT gateway hours", H, "nat-gateway-hour"), Charge("data processed", gb, "nat-gateway-gb", why)]


def eip(r: GraphResource, ctx: Context) -> list[Charge]:
    return [Charge("public IPv4 address hours", H, "public-ipv4-hour")]


def vpc_endpoint(r: GraphResource, ctx: Context) -> list[Charge]:
    if r.inputs.get("vpcEndpointType", "Gateway") == "Gateway":
        return []  # gateway endpoints (S3, DynamoDB) have no charge
    zones = len(r.inputs.get("subnetIds") or [1])
    gb, why = ctx.usage(r, "gbProcessed", 1.0, "stated default: 1 GB a month")
    return [
        Charge(f"endpoint hours x {zones} AZ", H * zones, "interface-endpoint-hour"),
        Charge("data processed", gb, "interface-endpoint-gb", why),
    ]


def load_balancer(r: GraphResource, ctx: Context) -> list[Charge]:
    # one LCU: 1 GB processed an hour or 25 new connections a second (one request per connection)
    default = max(ctx.edge_gb, ctx.requests / (25 * 3600))
    lcu, why = ctx.usage(r, "lcuHours", default, "max(GB processed, requests / 90,000) a month")
    charges = [Charge("load balancer hours", H, "alb-hour"), Charge("LCU hours", lcu, "alb-lcu-hour", why)]
    if not r.inputs.get("internal", False):
        zones = len(r.inputs.get("subnets") or [])
        charges.append(Charge(f"public IPv4 addresses x {zones} AZ", H * zones, "public-ipv4-hour"))
        gb, out_why = ctx.usage(r, "gbOut", ctx.edge_gb, "requests x traffic.bytesPerRequest")
        charges.append(Charge("data transfer out to the internet", gb, "data-transfer-out-gb", out_why))
    return charges


def web_acl(r: GraphResource, ctx: Context) -> list[Charge]:
    return rule_set_charges(r, ctx, ("waf-web-acl-month", "waf-rule-month", "waf-requests-million"))


def fargate_service(r: GraphResource, ctx: Context) -> list[Charge]:
    tasks = int(r.inputs.get("desiredCount") or 0)
    definitions = ctx.referenced(r, "taskDefinition")
    if not definitions:
        return []
    task = definitions[0].inputs
    vcpu = int(task["cpu"]) / 1024
    memory_gb = int(task["memory"]) / 1024
    arm = (task.get("runtimePlatform") or {}).get("cpuArchitecture") == "ARM64"
    suffix = "-arm" if arm else ""
    extra, why = ctx.usage(r, "extraTasks", 0, "average tasks above the minimum; stated default: none")
    keys = (f"fargate-vcpu-hour{suffix}", f"fargate-gb{suffix}")
    charges = compute_hours(tasks, vcpu, memory_gb, keys, "tasks")
    if extra:
        charges += [replace(c, usage=why) for c in compute_hours(extra, vcpu, memory_gb, keys, "scaled-out tasks")]
    return charges


def replication_group(r: GraphResource, ctx: Context) -> list[Charge]:
    nodes = int(r.inputs.get("numCacheClusters") or 1)
    node_type = r.inputs["nodeType"]
    return [Charge(f"{node_type} node hours x {nodes}", H * nodes, f"elasticache-{node_type}-hour")]


def aurora_cluster(r: GraphResource, ctx: Context) -> list[Charge]:
    gb, why = ctx.usage(r, "storageGb", ctx.traffic("databaseGb"), "traffic.databaseGb")
    io, io_why = ctx.usage(r, "ioMillions", ctx.requests * 10 / 1e6, "10 I/O requests per API request")
    return [
        Charge("storage", gb, "aurora-storage-gb-month", why),
        Charge("I/O requests", io, "aurora-io-million", io_why),
    ]


def aurora_instance(r: GraphResource, ctx: Context) -> list[Charge]:
    if r.inputs.get("instanceClass") != "db.serverless":
        return [Charge("instance hours", H, f"rds-{r.inputs.get('instanceClass')}-hour")]
    cluster = ctx.referenced(r, "clusterIdentifier")
    scaling = (cluster[0].inputs.get("serverlessv2ScalingConfiguration") or {}) if cluster else {}
    minimum = float(scaling.get("minCapacity", 0.5))
    extra, why = ctx.usage(r, "extraAcu", 0, "average ACUs above the minimum; stated default: none")
    charges = [Charge(f"ACU hours ({minimum:g} ACU minimum)", minimum * H, "aurora-serverless-acu-hour")]
    if extra:
        charges.append(Charge("ACU hours above the minimum", extra * H, "aurora-serverless-acu-hour", why))
    return charges


#: log group (by the block it belongs to) -> its default monthly ingestion in GB, and why
def _log_ingest(r: GraphResource, ctx: Context) -> tuple[float, str]:
    block = ctx.block(r)
    if block == "container runtime":
        return ctx.log_gb, "requests x traffic.logBytesPerRequest"
    if block == "gateway":  # WAF logs: about 1.5 KB per inspected request
        return ctx.requests * 1_500 / GB, "requests x 1.5 KB WAF log record"
    if block == "network":  # flow logs: about 150 bytes per record, one record per flow
        return ctx.requests * 2 * 150 / GB, "2 flows per request x 150 B record"
    return 0.5, "stated default: 0.5 GB a month"


def log_group(r: GraphResource, ctx: Context) -> list[Charge]:
    default, why = _log_ingest(r, ctx)
    gb, why = ctx.usage(r, "ingestedGb", default, why)
    days = int(r.inputs.get("retentionInDays") or 3653)
    stored = gb * days / 30.4
    return [
        Charge("logs ingested", gb, "logs-ingest-gb", why),
        Charge(f"logs stored ({days} days kept)", stored, "logs-storage-gb-month", why),
    ]


def metric_alarm(r: GraphResource, ctx: Context) -> list[Charge]:
    queries = r.inputs.get("metricQueries") or []
    metrics = sum(1 for q in queries if "metric" in q) or 1
    high_resolution = int(r.inputs.get("period") or 60) < 60
    key = "alarm-high-resolution-metric-month" if high_resolution else "alarm-metric-month"
    return [Charge(f"alarm metrics x {metrics}", metrics, key)]


def dashboard(r: GraphResource, ctx: Context) -> list[Charge]:
    return [Charge("dashboard", 1, "dashboard-month")]


def sqs_queue(r: GraphResource, ctx: Context) -> list[Charge]:
    is_dead_letter = "redrivePolicy" not in r.inputs
    workers = ctx.spec.worker_min_replicas
    # send + receive + delete per job; each idle worker long-polls every receiveWaitTimeSeconds
    wait = int(r.inputs.get("receiveWaitTimeSeconds") or 20)
    default = 0.0 if is_dead_letter else (3 * ctx.jobs + workers * H * 3600 / wait) / 1e6
    why = "dead-letter queue: failures only" if is_dead_letter else f"3 per job + {workers} workers polling"
    millions, why = ctx.usage(r, "requestsMillions", default, why)
    return [Charge("requests", millions, "sqs-requests-million", why)]


def kms_key(r: GraphResource, ctx: Context) -> list[Charge]:
    requests, why = ctx.usage(r, "requestsTenThousands", 10, "stated default: 100,000 requests a month")
    return [Charge("key", 1, "kms-key-month"), Charge("requests", requests, "kms-requests-10k", why)]


def secret(r: GraphResource, ctx: Context) -> list[Charge]:
    calls, why = ctx.usage(r, "apiCallsTenThousands", 1, "stated default: 10,000 reads a month")
    return [Charge("secret", 1, "secret-month"), Charge("API calls", calls, "secret-api-10k", why)]


def ecr_repository(r: GraphResource, ctx: Context) -> list[Charge]:
    gb, why = ctx.usage(r, "storedGb", 5, "stated default: 5 GB of images kept")
    return [Charge("image storage", gb, "ecr-storage-gb-month", why)]


def s3_bucket(r: GraphResource, ctx: Context) -> list[Charge]:
    # the platform's only bucket holds the load balancer's access logs (~500 B per request)
    months = ctx.spec.log_retention_days / 30.4
    default = ctx.requests * 500 / GB * months
    gb, why = ctx.usage(r, "storedGb", default, f"access logs, 500 B per request, kept {months:.1f} months")
    return [Charge("storage", gb, "s3-standard-gb-month", why)]


def _architecture(r: GraphResource) -> str:
    return "arm" if "arm64" in (r.inputs.get("architectures") or ()) else "x86"


def lambda_function(r: GraphResource, ctx: Context) -> list[Charge]:
    gb = float(r.inputs.get("memorySize") or 128) / 1024
    # the function waits for the model while it runs: its billed duration is the upstream's latency
    ms, why = ctx.usage(r, "averageDurationMs", 1500, "stated default: 1.5 s a request (the model call)")
    seconds = ctx.requests * ms / 1000 * gb
    arch = _architecture(r)
    return [
        request_charge(r, ctx, "lambda-requests-million"),
        Charge(f"duration ({gb:g} GB x {ms:g} ms a request)", seconds, f"lambda-{arch}-gb-second", why),
    ]


def provisioned_concurrency(r: GraphResource, ctx: Context) -> list[Charge]:
    count = int(r.inputs.get("provisionedConcurrentExecutions") or 0)
    function = ctx.referenced(r, "functionName")
    memory = float(function[0].inputs.get("memorySize") or 128) / 1024 if function else 0.125
    arch = _architecture(function[0]) if function else "x86"
    seconds = count * memory * H * 3600
    return [Charge(f"warm environments ({count} x {memory:g} GB)", seconds, f"lambda-{arch}-provisioned-gb-second")]


def rest_api_stage(r: GraphResource, ctx: Context) -> list[Charge]:
    return [request_charge(r, ctx, "apigateway-rest-requests-million")]


PRICED = {
    "aws:ec2/natGateway:NatGateway": nat_gateway,
    "aws:ec2/eip:Eip": eip,
    "aws:ec2/vpcEndpoint:VpcEndpoint": vpc_endpoint,
    "aws:lb/loadBalancer:LoadBalancer": load_balancer,
    "aws:wafv2/webAcl:WebAcl": web_acl,
    "aws:ecs/service:Service": fargate_service,
    "aws:elasticache/replicationGroup:ReplicationGroup": replication_group,
    "aws:rds/cluster:Cluster": aurora_cluster,
    "aws:rds/clusterInstance:ClusterInstance": aurora_instance,
    "aws:cloudwatch/logGroup:LogGroup": log_group,
    "aws:cloudwatch/metricAlarm:MetricAlarm": metric_alarm,
    "aws:cloudwatch/dashboard:Dashboard": dashboard,
    "aws:sqs/queue:Queue": sqs_queue,
    "aws:kms/key:Key": kms_key,
    "aws:secretsmanager/secret:Secret": secret,
    "aws:ecr/repository:Repository": ecr_repository,
    "aws:s3/bucket:Bucket": s3_bucket,
    "aws:lambda/function:Function": lambda_function,
    "aws:lambda/provisionedConcurrencyConfig:ProvisionedConcurrencyConfig": provisioned_concurrency,
    "aws:apigateway/stage:Stage": rest_api_stage,
}

_NO_CHARGE = "no charge of its own"
FREE = {
    "aws:apigateway/account:Account": "the account's CloudWatch role setting",
    "aws:apigateway/basePathMapping:BasePathMapping": _NO_CHARGE,
    "aws:apigateway/deployment:Deployment": _NO_CHARGE,
    "aws:apigateway/domainName:DomainName": "regional custom domains are free (the certificate is ACM's)",
    "aws:apigateway/integration:Integration": _NO_CHARGE,
    "aws:apigateway/method:Method": _NO_CHARGE,
    "aws:apigateway/methodSettings:MethodSettings": _NO_CHARGE,
    "aws:apigateway/resource:Resource": _NO_CHARGE,
    "aws:apigateway/restApi:RestApi": "billed per request on its stage",
    "aws:lambda/alias:Alias": _NO_CHARGE,
    "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig": _NO_CHARGE,
    "aws:lambda/permission:Permission": _NO_CHARGE,
    "aws:acm/certificate:Certificate": "public ACM certificates are free",
    "aws:acm/certificateValidation:CertificateValidation": _NO_CHARGE,
    "aws:appautoscaling/policy:Policy": _NO_CHARGE,
    "aws:appautoscaling/target:Target": _NO_CHARGE,
    "aws:budgets/budget:Budget": "the first two budgets of an account are free",
    "aws:costexplorer/costAllocationTag:CostAllocationTag": _NO_CHARGE,
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": _NO_CHARGE,
    "aws:ec2/flowLog:FlowLog": "billed as the log group it writes to",
    "aws:ec2/internetGateway:InternetGateway": _NO_CHARGE,
    "aws:ec2/route:Route": _NO_CHARGE,
    "aws:ec2/routeTable:RouteTable": _NO_CHARGE,
    "aws:ec2/routeTableAssociation:RouteTableAssociation": _NO_CHARGE,
    "aws:ec2/securityGroup:SecurityGroup": _NO_CHARGE,
    "aws:ec2/subnet:Subnet": _NO_CHARGE,
    "aws:ec2/vpc:Vpc": _NO_CHARGE,
    "aws:ecr/lifecyclePolicy:LifecyclePolicy": _NO_CHARGE,
    "aws:ecs/cluster:Cluster": "Fargate tasks are billed on the service",
    "aws:ecs/taskDefinition:TaskDefinition": "billed on the service that runs it",
    "aws:elasticache/parameterGroup:ParameterGroup": _NO_CHARGE,
    "aws:elasticache/subnetGroup:SubnetGroup": _NO_CHARGE,
    "aws:iam/role:Role": "IAM is free",
    "aws:iam/rolePolicy:RolePolicy": "IAM is free",
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": "IAM is free",
    "aws:kms/alias:Alias": _NO_CHARGE,
    "aws:lb/listener:Listener": "billed on the load balancer",
    "aws:lb/targetGroup:TargetGroup": "billed on the load balancer",
    "aws:rds/clusterParameterGroup:ClusterParameterGroup": _NO_CHARGE,
    "aws:rds/subnetGroup:SubnetGroup": _NO_CHARGE,
    "aws:route53/record:Record": "alias queries to a load balancer are free; the zone is not the stack's",
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": _NO_CHARGE,
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": _NO_CHARGE,
    "aws:s3/bucketPolicy:BucketPolicy": _NO_CHARGE,
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": _NO_CHARGE,
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": _NO_CHARGE,
    "aws:s3/bucketVersioning:BucketVersioning": "the access logs are written once (no old versions)",
    "aws:secretsmanager/secretVersion:SecretVersion": "billed on the secret",
    "aws:sns/topic:Topic": "alert volumes stay in the always-free tier (1,000 e-mails a month)",
    "aws:sns/topicPolicy:TopicPolicy": _NO_CHARGE,
    "aws:sns/topicSubscription:TopicSubscription": _NO_CHARGE,
    "aws:sqs/queuePolicy:QueuePolicy": _NO_CHARGE,
    "aws:sqs/redriveAllowPolicy:RedriveAllowPolicy": _NO_CHARGE,
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": _NO_CHARGE,
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": _NO_CHARGE,
    "aws:wafv2/webAclAssociation:WebAclAssociation": _NO_CHARGE,
    "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration": "billed as the log group it writes to",
    "docker-build:index:Image": "built in CI; its storage is billed on the repository",
}

NOT_PRICED: dict[str, str] = {}
