"""Function: the app image as an AWS Lambda function (``app.runtime: lambda``), in the private
subnets, invoked by the REST API (``components/aws/rest_api.py``).

The same image as ECS: the image config selects the Lambda entry point (``python -m awslambdaric``,
command ``app.lambda_handler.handler``) instead of the image's uvicorn ``ENTRYPOINT``; Mangum
runs the FastAPI app in process. Secrets reach the function only as ARNs (``<NAME>_SECRET_ARN``):
the handler reads them from Secrets Manager at cold start and keeps them for the life of the
execution environment, and the role may read exactly those secrets.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import pulumi
import pulumi_aws as aws

from components import validation
from components.aws.container_service import SECRET_REF, app_egress, check_statement, secret_arn_of
from components.aws.iam import service_role
from components.aws.logs import log_group
from components.aws.policy_documents import aws_context, document, read_secrets_statement, service_assume_role_policy
from components.base import Block, BlockArgs

#: how the image runs on Lambda: the runtime interface client calls the Mangum handler
ENTRY_POINT = ("python", "-m", "awslambdaric")
HANDLER = "app.lambda_handler.handler"
WORKING_DIRECTORY = "/srv"
#: a secret's variable in the function's environment: its ARN, never its value
SECRET_ARN_SUFFIX = "_SECRET_ARN"
#: the alias API Gateway invokes (provisioned concurrency needs a qualifier)
ALIAS = "live"
#: Lambda's 4 KB limit on the environment (all names and values together)
MAX_ENVIRONMENT_BYTES = 4096


@dataclass(kw_only=True)
class FunctionArgs(BlockArgs):
    """Inputs of :class:`Function`.

    Child keys for ``transform``: ``logGroup``, ``role``, ``rolePolicy``, ``roleManaged0`` (VPC
    network interfaces), ``roleManaged1`` (X-Ray), ``securityGroup``, ``egressHttps``,
    ``egressVpc``, ``deadLetterQueue``, ``function``, ``alias``, ``provisionedConcurrency``,
    ``invokeConfig``, ``permission:<service>`` (per invoking service).
    """

    vpc_id: pulumi.Input[str]
    """The VPC the function's network interfaces (and its security group) are in."""
    subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]]
    """Private subnets (their NAT reaches the LLM providers; Redis and Aurora are in the VPC)."""
    vpc_cidr_block: pulumi.Input[str]
    """CIDR the function may reach on any port (the data stores)."""
    image: pulumi.Input[str]
    """The app image pinned by digest, in ECR (Lambda pulls only from ECR)."""
    memory_mib: int = 512
    """Seed 001: 512 MB."""
    timeout_seconds: int = 30
    """Seed 001: 30 s."""
    reserved_concurrency: int = 50
    """Caps the function and reserves that much of the account's pool: a spike cannot exhaust it."""
    provisioned_concurrency: int = 0
    """Initialised environments on the alias, against cold starts: ~5.40 USD/month each at 512 MB
    (x86, us-east-1, 0.0000041667 USD per GB-second) plus a lower duration price."""
    architecture: Literal["x86_64", "arm64"] = "x86_64"
    """Must match the image platform (the registry builds linux/amd64)."""
    environment: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """Plain settings; secret-looking names are refused (pass them in ``secrets``)."""
    secrets: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """Variable -> Secrets Manager ARN; the function gets ``<variable>_SECRET_ARN`` and reads the
    value at cold start; the role may read exactly these secrets."""
    kms_key_arn: pulumi.Input[str] | None = None
    """The platform key: the secrets', the log group's and the dead letter queue's."""
    log_retention_days: int = 30
    policy_statements: Sequence[pulumi.Input[Mapping[str, Any]]] = ()
    """The app's own AWS permissions (IAM database connect, Bedrock); wildcard actions refused."""
    tracing: Literal["Active", "PassThrough"] = "Active"
    """X-Ray: ``Active`` samples and traces every invocation."""
    async_retries: int = 2
    """Retries of an asynchronous invocation before its event goes to the dead letter queue."""


def _validate(args: FunctionArgs) -> None:
    if not 128 <= args.memory_mib <= 10240:
        raise ValueError(f"FunctionArgs.memory_mib={args.memory_mib}: Lambda allows 128-10240 MB")
    if not 1 <= args.timeout_seconds <= 900:
        raise ValueError(f"FunctionArgs.timeout_seconds={args.timeout_seconds}: Lambda allows 1-900 s")
    if args.reserved_concurrency < 1:
        raise ValueError(
            f"FunctionArgs.reserved_concurrency={args.reserved_concurrency}: reserve at least 1 "
            "(0 would stop the function; none would let a spike take the account's whole pool)"
        )
    if not 0 <= args.provisioned_concurrency <= args.reserved_concurrency:
        raise ValueError(
            f"FunctionArgs.provisioned_concurrency={args.provisioned_concurrency}: must be 0 to "
            f"reserved_concurrency ({args.reserved_concurrency})"
        )
    if args.architecture not in ("x86_64", "arm64"):
        raise ValueError(f"FunctionArgs.architecture={args.architecture!r}: 'x86_64' or 'arm64'")
    if args.tracing not in ("Active", "PassThrough"):
        raise ValueError(f"FunctionArgs.tracing={args.tracing!r}: 'Active' or 'PassThrough'")
    if not 0 <= args.async_retries <= 2:
        raise ValueError(f"FunctionArgs.async_retries={args.async_retries}: Lambda allows 0-2")
    if isinstance(args.image, str) and "@sha256:" not in args.image:
        raise ValueError(f"FunctionArgs.image={args.image!r} is not pinned by digest ('repo@sha256:<64 hex>')")
    for key in args.environment:
        problem = validation.plain_env_var(key)
        if problem:
            raise ValueError(f"FunctionArgs.environment[{key!r}]: {problem}; pass it in `secrets`")
    for key, ref in args.secrets.items():
        problem = validation.env_var_name(key)
        if problem:
            raise ValueError(f"FunctionArgs.secrets[{key!r}]: {problem}")
        if isinstance(ref, str) and not SECRET_REF.match(ref):
            raise ValueError(f"FunctionArgs.secrets[{key!r}]={ref!r} is not a Secrets Manager ARN")
    problem = validation.overlapping_env(args.environment, args.secrets)
    if problem:
        raise ValueError(f"FunctionArgs: {problem}")
    for i, statement in enumerate(args.policy_statements):
        if isinstance(statement, Mapping):
            check_statement(f"FunctionArgs.policy_statements[{i}]", statement)


def function_environment(environment: Mapping[str, str], secrets: Mapping[str, str]) -> dict[str, str]:
    """The function's variables: the plain settings and, per secret, ``<NAME>_SECRET_ARN``."""
    variables = {**environment, **{f"{name}{SECRET_ARN_SUFFIX}": arn for name, arn in secrets.items()}}
    size = sum(len(k) + len(v) for k, v in variables.items())
    if size > MAX_ENVIRONMENT_BYTES:
        raise ValueError(
            f"FunctionArgs.environment with the secrets' ARNs is {size} bytes: Lambda allows "
            f"{MAX_ENVIRONMENT_BYTES}; move large settings (APP_ROUTING) into the image as APP_ROUTING_FILE"
        )
    return variables


class Function(Block):
    """The app as a container-image Lambda function: private subnets, reserved concurrency, X-Ray,
    an encrypted log group made first, a role whose policies exist before the function, a KMS
    encrypted dead letter queue for asynchronous invocations, and the alias ``live``."""

    function_name: pulumi.Output[str]
    """The Lambda function's name."""
    function_arn: pulumi.Output[str]
    """The Lambda function's ARN (unqualified)."""
    alias_name: pulumi.Output[str]
    """The alias callers invoke (``live``)."""
    invoke_arn: pulumi.Output[str]
    """The alias's invoke ARN: what a REST API integration calls."""
    security_group_id: pulumi.Output[str]
    """The function's security group (the data stores admit it)."""
    role_arn: pulumi.Output[str]
    """The function's execution role."""
    log_group_name: pulumi.Output[str]
    """The function's encrypted log group."""
    dead_letter_queue_name: pulumi.Output[str]
    """Where failed asynchronous invocations go."""

    def __init__(self, name: str, args: FunctionArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        _validate(args)
        super().__init__("ai-platform:aws:Function", name, args, opts)
        lambda_ = aws.lambda_  # loaded when a function is first made, not when the library is imported
        context = aws_context(self)
        logs = log_group(self, "logGroup", retention_days=args.log_retention_days, kms_key_arn=args.kms_key_arn)
        dead_letter = self.child(
            "deadLetterQueue",
            aws.sqs.Queue,
            aws.sqs.QueueArgs(
                kms_master_key_id=args.kms_key_arn,
                kms_data_key_reuse_period_seconds=300,
                message_retention_seconds=14 * 86400,
            ),
            name="async-dlq",
        )
        role = service_role(
            self,
            "role",
            name="function",
            trust_policy=context.apply(lambda c: service_assume_role_policy("lambda.amazonaws.com", c.account_id)),
            description="The app on Lambda: its logs, its secrets, its dead letters and its own AWS calls",
            policy=pulumi.Output.all(
                log_group_arn=logs.arn,
                dead_letter_arn=dead_letter.arn,
                secret_arns=[pulumi.Output.from_input(a).apply(secret_arn_of) for a in args.secrets.values()],
                kms_key_arn=args.kms_key_arn,
                region=context.apply(lambda c: c.region),
                extra=list(args.policy_statements),
            ).apply(lambda v: _function_policy(**v)),
            managed_policy_arns=[
                # ENIs in the private subnets: these EC2 actions take no resource-level scoping
                context.apply(
                    lambda c: f"arn:{c.partition}:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"
                ),
                context.apply(lambda c: f"arn:{c.partition}:iam::aws:policy/AWSXRayDaemonWriteAccess"),
            ],
        )
        sg = self.child(
            "securityGroup",
            aws.ec2.SecurityGroup,
            aws.ec2.SecurityGroupArgs(
                vpc_id=args.vpc_id, description="App function: no ingress; out HTTPS and the VPC (data stores)"
            ),
            name="function-sg",
        )
        app_egress(self, sg.id, args.vpc_cidr_block, "function")
        # ~0.0000166667 USD per GB-second + 0.20 USD per million requests (x86, us-east-1)
        function = self.child(
            "function",
            lambda_.Function,
            lambda_.FunctionArgs(
                package_type="Image",
                image_uri=args.image,
                image_config=lambda_.FunctionImageConfigArgs(
                    entry_points=list(ENTRY_POINT), commands=[HANDLER], working_directory=WORKING_DIRECTORY
                ),
                architectures=[args.architecture],
                role=role.role.arn,
                memory_size=args.memory_mib,
                timeout=args.timeout_seconds,
                reserved_concurrent_executions=args.reserved_concurrency,
                publish=True,
                vpc_config=lambda_.FunctionVpcConfigArgs(subnet_ids=args.subnet_ids, security_group_ids=[sg.id]),
                environment=lambda_.FunctionEnvironmentArgs(
                    variables=pulumi.Output.all(environment=dict(args.environment), secrets=dict(args.secrets)).apply(
                        lambda v: function_environment(v["environment"], v["secrets"])
                    )
                ),
                # the environment holds no secret (ARNs only): Lambda's own key encrypts it, and the
                # platform key's policy need not admit Lambda
                tracing_config=lambda_.FunctionTracingConfigArgs(mode=args.tracing),
                dead_letter_config=lambda_.FunctionDeadLetterConfigArgs(target_arn=dead_letter.arn),
                logging_config=lambda_.FunctionLoggingConfigArgs(log_format="Text", log_group=logs.name),
            ),
            # the role's permissions exist before the first cold start needs them
            pulumi.ResourceOptions(depends_on=role.policies),
            name="function",
        )
        alias = self.child(
            "alias",
            lambda_.Alias,
            lambda_.AliasArgs(
                name=ALIAS,
                function_name=function.name,
                function_version=function.version,
                description="What the REST API invokes",
            ),
            name="alias",
        )
        if args.provisioned_concurrency:
            self.child(
                "provisionedConcurrency",
                lambda_.ProvisionedConcurrencyConfig,
                lambda_.ProvisionedConcurrencyConfigArgs(
                    function_name=function.name,
                    qualifier=alias.name,
                    provisioned_concurrent_executions=args.provisioned_concurrency,
                ),
                name="provisioned",
            )
        self.child(
            "invokeConfig",
            lambda_.FunctionEventInvokeConfig,
            lambda_.FunctionEventInvokeConfigArgs(
                function_name=function.name,
                qualifier=alias.name,
                maximum_retry_attempts=args.async_retries,
                maximum_event_age_in_seconds=6 * 3600,
            ),
            name="invoke-config",
        )
        self._function = function
        self._alias = alias
        self.function_name = function.name
        self.function_arn = function.arn
        self.alias_name = alias.name
        self.invoke_arn = alias.invoke_arn
        self.security_group_id = sg.id
        self.role_arn = role.role.arn
        self.log_group_name = logs.name
        self.dead_letter_queue_name = dead_letter.name
        self.register_outputs(
            {
                "functionName": function.name,
                "functionArn": function.arn,
                "aliasName": alias.name,
                "securityGroupId": sg.id,
                "roleArn": role.role.arn,
                "logGroupName": logs.name,
            }
        )

    def allow_invoke(self, key: str, principal: str, source_arn: pulumi.Input[str]) -> aws.lambda_.Permission:
        """Let ``principal`` (``apigateway.amazonaws.com``) invoke the alias, only from ``source_arn``
        (the REST API's ``execution_arn/*``): the resource policy API Gateway needs."""
        return self.child(
            f"permission:{key}",
            aws.lambda_.Permission,
            aws.lambda_.PermissionArgs(
                action="lambda:InvokeFunction",
                function=self._function.name,
                qualifier=self._alias.name,
                principal=principal,
                source_arn=source_arn,
            ),
            name=f"invoke-{key}",
        )


def _function_policy(
    *,
    log_group_arn: str,
    dead_letter_arn: str,
    secret_arns: Sequence[str],
    kms_key_arn: str | None,
    region: str,
    extra: Sequence[Mapping[str, Any]],
) -> str:
    """Least privilege for the function: write its log group, send to its dead letter queue, read
    exactly its secrets (decrypting through Secrets Manager and SQS only), and the app's own calls."""
    statements: list[Mapping[str, Any]] = [
        {
            "Sid": "WriteLogs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": f"{log_group_arn}:*",
        },
        {"Sid": "DeadLetters", "Effect": "Allow", "Action": "sqs:SendMessage", "Resource": dead_letter_arn},
    ]
    if secret_arns:
        statements.append(read_secrets_statement(secret_arns))
    if kms_key_arn:
        statements.append(
            {
                "Sid": "DecryptThroughServices",
                "Effect": "Allow",
                "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
                "Resource": kms_key_arn,
                "Condition": {
                    "StringEquals": {
                        "kms:ViaService": [f"secretsmanager.{region}.amazonaws.com", f"sqs.{region}.amazonaws.com"]
                    }
                },
            }
        )
    for i, statement in enumerate(extra):  # statements that were Outputs are checked once resolved
        check_statement(f"FunctionArgs.policy_statements[{i}]", statement)
        statements.append(dict(statement))
    return document(statements)
