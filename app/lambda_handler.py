"""The app on AWS Lambda: API Gateway REST proxy events (payload v1) through Mangum, in process.

The function runs the same image as ECS; its image config selects this module instead of the
uvicorn entry point: entry point ``python -m awslambdaric``, command
``app.lambda_handler.handler`` (``components/aws/function.py``). Mangum turns each event into an
ASGI request for the same FastAPI app, so the routes, the settings, ``/health`` (the execution
environment serves) and ``/ready`` (its Redis, PostgreSQL and providers answer) keep their meaning.

Cold start, once per execution environment (the seed's pattern): every ``<NAME>_SECRET_ARN``
variable is read from Secrets Manager and its value becomes ``<NAME>`` in this process only, so
the function's configuration holds ARNs, never values; then the app's lifespan starts (pools,
providers) and stays up for every later invocation. Mangum's own lifespan handling would start
and stop it on every request, so it is off and the cycle is entered here once.

Responses are buffered (Mangum cannot stream), so ``APP_RESPONSE_STREAMING`` is false and
``stream: true`` gets a 400 naming the container runtime.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, MutableMapping
from typing import Any

from mangum import Mangum
from mangum.protocols import LifespanCycle

SECRET_ARN_SUFFIX = "_SECRET_ARN"  # noqa: S105 - a variable-name suffix, not a secret

Fetch = Callable[[str], str]
"""Secret ARN -> its value."""


class ColdStartError(RuntimeError):
    """The execution environment cannot serve: a secret or the settings are wrong (names which)."""


def secrets_manager_fetch(region: str | None) -> Fetch:
    """GetSecretValue through botocore with the function's role (one client per cold start, made
    only when a secret is read)."""

    @functools.cache
    def client() -> Any:  # a botocore client has no static type
        import botocore.session

        return botocore.session.get_session().create_client("secretsmanager", region_name=region)

    def fetch(arn: str) -> str:
        value = client().get_secret_value(SecretId=arn).get("SecretString")
        if not isinstance(value, str):
            raise ColdStartError(f"secret {arn} has no SecretString (binary secrets are not supported)")
        return value

    return fetch


def load_secrets(environ: MutableMapping[str, str], fetch: Fetch) -> list[str]:
    """Put the value of each ``<NAME>_SECRET_ARN`` into ``environ[<NAME>]``; return the names."""
    loaded = []
    for variable in sorted(k for k in environ if k.endswith(SECRET_ARN_SUFFIX)):
        name = variable.removesuffix(SECRET_ARN_SUFFIX)
        if name in environ:
            raise ColdStartError(f"{variable} and {name} are both set: give the secret's ARN only")
        try:
            environ[name] = fetch(environ[variable])
        except ColdStartError:
            raise
        except Exception as exc:  # botocore raises many kinds: say which secret, never its value
            raise ColdStartError(f"{variable}={environ[variable]}: cannot read the secret ({exc})") from exc
        loaded.append(name)
    return loaded


def build(environ: MutableMapping[str, str] | None = None, fetch: Fetch | None = None) -> Mangum:
    """The cold start: secrets, settings, the app and its lifespan, the adapter."""
    from app.main import create_app
    from app.settings import load_settings

    environ = os.environ if environ is None else environ
    environ.setdefault("APP_RESPONSE_STREAMING", "false")
    load_secrets(environ, fetch or secrets_manager_fetch(environ.get("AWS_REGION")))
    application = create_app(load_settings())
    adapter = Mangum(application, lifespan="off")
    # entered once and never left: the environment is frozen between invocations and ends with it
    LifespanCycle(application, "on").__enter__()
    return adapter


@functools.cache
def adapter() -> Mangum:
    """The execution environment's one app: built by the first invocation, kept for the others."""
    return build()


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The Lambda entry point: the API Gateway request ID becomes the app's X-Request-ID when the
    caller sent none, so the access log line and the app's log lines share one ID."""
    headers = event.get("headers") or {}
    request_id = (event.get("requestContext") or {}).get("requestId")
    if request_id and not any(k.lower() == "x-request-id" for k in headers):
        event = {**event, "headers": {**headers, "X-Request-ID": request_id}}
        multi = event.get("multiValueHeaders")
        if multi is not None:
            event["multiValueHeaders"] = {**multi, "X-Request-ID": [request_id]}
    return adapter()(event, context)
