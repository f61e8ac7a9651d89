"""JSON logs with request IDs and PII redaction, and OTLP traces with a span per upstream call."""

import logging
import time

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
)

from app.observability import JSONFormatter, bind_request_id, redact
from tests.app.support import AppProcess, StartApp, Upstream


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("mail jane.doe+x@example.co.uk now", "jane.doe+x@example.co.uk"),
        ("call +44 20 7946 0958 today", "7946 0958"),
        ("call (555) 123-4567", "123-4567"),
        ("card 4111 1111 1111 1111 ok", "4111 1111 1111 1111"),
        ("card 4111-1111-1111-1111", "4111-1111-1111-1111"),
        ("key sk-proj-abcdefghijklmnop123", "sk-proj-abcdefghijklmnop123"),
        ("anthropic sk-ant-api03-abcdefghijkl", "sk-ant-api03-abcdefghijkl"),
        ("Authorization: Bearer abc.def-ghi_jkl123", "abc.def-ghi_jkl123"),
        ('{"api_key": "s3cr3t-value"}', "s3cr3t-value"),
        ("jwt eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl", "eyJzdWIiOiIxIn0"),
    ],
)
def test_redaction_masks_pii_and_secrets(text: str, secret: str) -> None:
    assert secret not in redact(text)
    assert "REDACTED" in redact(text)


def test_redaction_keeps_ordinary_text() -> None:
    text = "POST /generate 200 in 12.5 ms, 3 retries, model gpt-4o"
    assert redact(text) == text


def test_json_formatter_adds_request_id_and_redacts_extra_fields() -> None:
    bind_request_id("req-42")
    record = logging.LogRecord("t", logging.INFO, __file__, 1, "user %s said hi", ("a@b.example",), None)
    record.detail = "token=abcdef123456"
    line = JSONFormatter().format(record)
    assert '"request_id": "req-42"' in line
    assert "a@b.example" not in line and "abcdef123456" not in line


def test_access_log_lines_are_json_with_request_id(app_server: AppProcess) -> None:
    with app_server.client() as c:
        c.post("/generate", json={"prompt": "hi"}, headers={"x-request-id": "trace-me-123"})
    time.sleep(0.2)
    lines = [e for e in app_server.logs() if e.get("request_id") == "trace-me-123"]
    assert lines and lines[-1]["logger"] == "app.access" and lines[-1]["status"] == 200
    assert "duration_ms" in lines[-1]


def test_otlp_export_has_a_span_per_upstream_call(start_app: StartApp, upstream: Upstream) -> None:
    app = start_app({"APP_OTLP_ENDPOINT": upstream.url, "APP_SERVICE_NAME": "ai-api-test"})
    upstream.script("fb-a", ["status=500", "status=500"])
    before = len(upstream.requests("fb-a"))
    with app.client() as c:
        assert c.post("/generate", json={"prompt": "hi", "model": "fallback"}).status_code == 200
    assert len(upstream.requests("fb-a")) == before + 2
    sent = upstream.requests("fb-b")[-1]["headers"]["traceparent"]
    trace_id = sent.split("-")[1]
    spans = []
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        spans = []
        for body in upstream.traces():
            export = ExportTraceServiceRequest.FromString(body)
            for resource in export.resource_spans:
                for scope in resource.scope_spans:
                    spans += [s for s in scope.spans if s.trace_id.hex() == trace_id]
        if len(spans) >= 4:
            break
        time.sleep(0.2)
    names = sorted(s.name for s in spans if not s.name.startswith("fastapi."))  # FastAPI adds its own spans
    assert names == [
        "POST /generate",
        "upstream backup",
        "upstream primary",
        "upstream primary",
    ], names
    attrs = {a.key: a.value.string_value for s in spans if s.name == "upstream backup" for a in s.attributes}
    assert attrs["llm.model"] == "fb-b"
