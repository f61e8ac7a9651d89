"""Every error is JSON: validation errors, HTTP errors and unexpected failures.

FastAPI's own handlers echo the offending `input` with the standard JSON encoder, which cannot write
non-finite numbers (`1e400`, `NaN`) or lone surrogates (`"\\ud800"`): the 422 became a plain-text 500
and the connection was dropped. These handlers make what they echo strict JSON first.
"""

import json
import logging
import math
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.utils import is_body_allowed_for_status_code
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse, Response

log = logging.getLogger("app.errors")


def json_safe(value: Any) -> Any:
    """A copy of a JSON-like value that strict JSON can hold: non-finite floats become their names
    ("inf", "-inf", "nan") and strings that UTF-8 cannot encode (lone surrogates) show them escaped."""
    if isinstance(value, str):
        try:
            value.encode()
        except UnicodeEncodeError:
            return value.encode("utf-8", "backslashreplace").decode()
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if isinstance(value, dict):
        return {json_safe(str(k)): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value


class StrictJSONResponse(JSONResponse):
    """JSON that never fails to render: whatever it is given is made strict JSON first."""

    def render(self, content: Any) -> bytes:
        return json.dumps(json_safe(content), ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()


async def validation_error(request: Request, exc: Exception) -> Response:
    """422 with FastAPI's `detail` list (`loc`, `msg`, `input`, `ctx`), whatever the input held."""
    assert isinstance(exc, RequestValidationError)
    return StrictJSONResponse({"detail": jsonable_encoder(exc.errors())}, status_code=422)


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if not is_body_allowed_for_status_code(exc.status_code):
        return Response(status_code=exc.status_code, headers=exc.headers)
    return StrictJSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)


async def internal_error(request: Request, exc: Exception) -> Response:
    """A bug: a JSON 500 (the request ID says which log line holds the traceback), never the traceback."""
    return StrictJSONResponse({"detail": "internal error"}, status_code=500)


# What a body needs to hold for `json.loads` to give a non-finite float or a lone surrogate: the NaN
# or Infinity literals, a 3-digit exponent or a 300-digit number (overflow), a \\uD800-\\uDFFF escape.
_SUSPECT = re.compile(rb"NaN|Infinity|[eE][+]?[0-9]{3}|[0-9]{300}|\\u[dD][89a-fA-F]", re.ASCII)


Found = tuple[tuple[str | int, ...], str, Any]


def _not_json(value: Any, loc: tuple[str | int, ...]) -> Found | None:
    """Where a parsed body holds what strict JSON cannot, why, and the value; or None."""
    if isinstance(value, float) and not math.isfinite(value):
        return loc, "NaN, Infinity and numbers beyond +-1.8e308 are not valid JSON numbers", value
    if isinstance(value, str):
        try:
            value.encode()
        except UnicodeEncodeError:
            return loc, "a lone UTF-16 surrogate (\\ud800-\\udfff) is not a Unicode character", value
    elif isinstance(value, dict):
        for key, item in value.items():
            found = _not_json(key, (*loc, key)) or _not_json(item, (*loc, key))
            if found:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = _not_json(item, (*loc, index))
            if found:
                return found
    return None


async def strict_json_body(request: Request) -> None:
    """Refuse bodies that are not strict JSON anywhere, ignored fields included (a 422 naming where).

    Python's parser accepts NaN, Infinity, 1e400 and lone surrogates; the models refuse them in their
    own fields, but a field a model ignores (OpenAI bodies ignore unknown fields) would let them in.
    """
    check_strict_json(await request.body())


def check_strict_json(raw: bytes) -> None:
    """The check itself (app.api.body_route runs it without the dependency): a regular-expression scan
    keeps the walk to the rare bodies that could hold what strict JSON cannot."""
    if not _SUSPECT.search(raw):
        return
    try:
        body = json.loads(raw)
    except ValueError:
        return  # not a JSON body: the route answers for it
    found = _not_json(body, ("body",))
    if found:
        loc, why, value = found
        raise RequestValidationError([{"type": "json_invalid", "loc": loc, "msg": why, "input": value}])


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(Exception, internal_error)
