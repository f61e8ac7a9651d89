"""The app under Mangum, as AWS Lambda runs it behind a REST API: API Gateway proxy events
(payload version 1) fed to ``app.lambda_handler.handler`` in process, answered as the same
requests are over HTTP by ``python -m app`` with the same settings.

Secrets come from moto's Secrets Manager at cold start (the function's environment holds only
their ARNs), and stay cached: a secret deleted after the cold start does not stop the next call.
"""

import base64
import contextlib
import json
import os
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import yaml

from app import lambda_handler
from tests.app.queue_servers import AWS_ENV, SqsServer
from tests.app.support import API_KEY, BASE_ENV, AppProcess, StartApp, Upstream, routing_table

#: the settings both runtimes get, as the platform gives them to a Lambda function
SECRET_VARIABLES = ("APP_API_KEYS_SHA256", "FAKE_PRIMARY_KEY")
#: fields that differ on every answer (generated ids, timestamps)
VOLATILE = ("id", "created")


def rest_event(method: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> dict[str, Any]:
    """An API Gateway REST API proxy event (``{proxy+}``, payload v1) as a custom domain delivers it."""
    sent = {"Host": "api.example.com", "User-Agent": "pytest", **(headers or {})}
    if body is not None:
        sent["Content-Type"] = "application/json"
    raw = None if body is None else json.dumps(body)
    return {
        "resource": "/{proxy+}",
        "path": path,
        "httpMethod": method,
        "headers": sent,
        "multiValueHeaders": {k: [v] for k, v in sent.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": {"proxy": path.lstrip("/")},
        "stageVariables": None,
        "requestContext": {
            "resourcePath": "/{proxy+}",
            "httpMethod": method,
            "path": path,
            "stage": "api",
            "requestId": str(uuid.uuid4()),
            "accountId": "123456789012",
            "apiId": "a1b2c3d4e5",
            "domainName": "api.example.com",
            "protocol": "HTTP/1.1",
            "identity": {"sourceIp": "203.0.113.7", "userAgent": "pytest"},
        },
        "body": raw,
        "isBase64Encoded": False,
    }


def decoded(response: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
    """Status, lower-cased headers and body of a Lambda proxy response."""
    headers = {k.lower(): v for k, v in (response.get("headers") or {}).items()}
    for key, values in (response.get("multiValueHeaders") or {}).items():
        headers[key.lower()] = ", ".join(values)
    body = response.get("body") or ""
    raw = base64.b64decode(body) if response.get("isBase64Encoded") else body.encode()
    return response["statusCode"], headers, raw


def comparable(body: bytes) -> Any:
    parsed = json.loads(body)
    if isinstance(parsed, dict):
        return {k: v for k, v in parsed.items() if k not in VOLATILE}
    return parsed


def secrets_client(server: SqsServer) -> Any:  # a botocore client has no static type
    import botocore.session

    return botocore.session.get_session().create_client(
        "secretsmanager",
        region_name="us-east-1",
        endpoint_url=server.endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


@pytest.fixture(scope="module")
def settings(upstream: Upstream, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    routing_file = tmp_path_factory.mktemp("lambda") / "routing.yaml"
    routing_file.write_text(yaml.safe_dump(routing_table(upstream.url)))
    return {**BASE_ENV, "APP_ROUTING_FILE": str(routing_file), "APP_RESPONSE_STREAMING": "false"}


@pytest.fixture(scope="module")
def http_app(start_app: StartApp, settings: dict[str, str]) -> AppProcess:
    """The same app over HTTP (uvicorn), secrets as plain environment as ECS injects them."""
    return start_app({k: v for k, v in settings.items() if k != "APP_ROUTING_FILE"}, wait=True)


@pytest.fixture(scope="module")
def function_env(sqs_server: SqsServer, settings: dict[str, str]) -> Iterator[dict[str, str]]:
    """The function's environment: plain settings, and for each secret only its ARN (in moto)."""
    secrets = secrets_client(sqs_server)
    env = {k: v for k, v in settings.items() if k not in SECRET_VARIABLES}
    arns = []
    for name in SECRET_VARIABLES:
        arn = secrets.create_secret(Name=f"lambda-test/{name}-{uuid.uuid4().hex[:6]}", SecretString=settings[name])[
            "ARN"
        ]
        env[f"{name}{lambda_handler.SECRET_ARN_SUFFIX}"] = arn
        arns.append(arn)
    env.update(AWS_ENV)
    env["AWS_ENDPOINT_URL_SECRETS_MANAGER"] = sqs_server.endpoint
    yield env
    for arn in arns:
        with contextlib.suppress(secrets.exceptions.ResourceNotFoundException):
            secrets.delete_secret(SecretId=arn, ForceDeleteWithoutRecovery=True)


@pytest.fixture(scope="module")
def invoke(function_env: dict[str, str]) -> Iterator[Any]:
    """``handler(event, context)`` after a cold start in this process's environment (restored after)."""
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update({k: v for k, v in saved.items() if not k.startswith(("APP_", "AWS_"))})
    os.environ.update(function_env)
    lambda_handler.adapter.cache_clear()  # a fresh execution environment
    try:
        yield lambda event: lambda_handler.handler(event, None)
    finally:
        lambda_handler.adapter.cache_clear()
        os.environ.clear()
        os.environ.update(saved)


AUTH = {"Authorization": f"Bearer {API_KEY}"}
CASES = {
    "generate": ("POST", "/generate", {"prompt": "Say hello", "model": "plain", "max_tokens": 50}, AUTH),
    "chat": (
        "POST",
        "/v1/chat/completions",
        {"model": "plain", "messages": [{"role": "user", "content": "Say hello"}], "max_tokens": 50},
        AUTH,
    ),
    "health": ("GET", "/health", None, {}),
    "ready": ("GET", "/ready", None, {}),
    "models": ("GET", "/v1/models", None, AUTH),
    "stream refused": ("POST", "/generate", {"prompt": "Say hello", "model": "plain", "stream": True}, AUTH),
    "chat stream refused": (
        "POST",
        "/v1/chat/completions",
        {"model": "plain", "messages": [{"role": "user", "content": "hi"}], "stream": True},
        AUTH,
    ),
    "invalid body": ("POST", "/generate", {"prompt": "", "model": "plain"}, AUTH),
    "no credentials": ("POST", "/generate", {"prompt": "Say hello"}, {}),
    "unknown route": ("GET", "/nope", None, AUTH),
}
#: headers whose values must agree between the two runtimes
SAME_HEADERS = ("content-type", "x-upstream-provider", "x-upstream-model", "www-authenticate")


@pytest.mark.parametrize("case", list(CASES))
def test_lambda_event_answers_as_http(case: str, invoke: Any, http_app: AppProcess) -> None:
    method, path, body, headers = CASES[case]
    status, got_headers, got_body = decoded(invoke(rest_event(method, path, body, headers)))
    with httpx.Client(base_url=http_app.url, timeout=30) as client:
        expected = client.request(method, path, json=body, headers=headers)
    assert status == expected.status_code, got_body
    assert comparable(got_body) == comparable(expected.content)
    for name in SAME_HEADERS:
        assert got_headers.get(name) == expected.headers.get(name), name
    assert got_headers.get("x-request-id")


def test_success_cases_succeed(invoke: Any) -> None:
    """The comparison above is only meaningful if the happy paths are happy."""
    for case, status in (("generate", 200), ("chat", 200), ("health", 200), ("ready", 200)):
        method, path, body, headers = CASES[case]
        got, _, raw = decoded(invoke(rest_event(method, path, body, headers)))
        assert got == status, (case, raw)
    _, _, raw = decoded(invoke(rest_event(*CASES["generate"])))
    assert json.loads(raw)["text"]


def test_stream_true_is_a_400_naming_the_container_runtime(invoke: Any) -> None:
    status, headers, raw = decoded(invoke(rest_event(*CASES["stream refused"])))
    assert status == 400
    detail = json.loads(raw)["detail"]
    assert "stream=true" in detail and "ECS Fargate" in detail and "app.runtime: container" in detail
    assert headers["content-type"] == "application/json"


def test_api_gateway_request_id_becomes_the_apps(invoke: Any) -> None:
    event = rest_event("GET", "/health")
    _, headers, _ = decoded(invoke(event))
    assert headers["x-request-id"] == event["requestContext"]["requestId"]
    own = rest_event("GET", "/health", headers={"X-Request-ID": "caller-id-1"})
    _, headers, _ = decoded(invoke(own))
    assert headers["x-request-id"] == "caller-id-1"


def test_function_environment_holds_only_secret_arns(function_env: dict[str, str]) -> None:
    for name in SECRET_VARIABLES:
        assert name not in function_env
        assert function_env[f"{name}_SECRET_ARN"].startswith("arn:aws:secretsmanager:")


def test_secrets_are_cached_for_the_execution_environment(
    invoke: Any, function_env: dict[str, str], sqs_server: SqsServer
) -> None:
    """After the cold start the secrets are not read again: deleting one does not break a call."""
    assert decoded(invoke(rest_event(*CASES["generate"])))[0] == 200
    secrets_client(sqs_server).delete_secret(
        SecretId=function_env["APP_API_KEYS_SHA256_SECRET_ARN"], ForceDeleteWithoutRecovery=True
    )
    assert decoded(invoke(rest_event(*CASES["generate"])))[0] == 200


def test_cold_start_names_an_unreadable_secret() -> None:
    env = {"APP_API_KEYS_SHA256_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:gone-AbCdEf"}

    def fetch(arn: str) -> str:
        raise RuntimeError("ResourceNotFoundException")

    with pytest.raises(lambda_handler.ColdStartError, match="APP_API_KEYS_SHA256_SECRET_ARN=arn:aws:secretsmanager"):
        lambda_handler.load_secrets(env, fetch)
    both = {**env, "APP_API_KEYS_SHA256": "x"}
    with pytest.raises(lambda_handler.ColdStartError, match="both set"):
        lambda_handler.load_secrets(both, lambda arn: "v")
