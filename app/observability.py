"""Metrics, tracing, JSON logs with PII redaction, and the request ID every log line and upstream call carries."""

import asyncio
import json
import logging
import re
import sys
import time
import uuid
from contextvars import ContextVar
from typing import Any

from opentelemetry import propagate, trace
from prometheus_client import Counter, Gauge, Histogram

from app.settings import Settings

_request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
_REQUEST_ID_OK = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")

tracer = trace.get_tracer("app")

# --- Prometheus metrics -----------------------------------------------------------------------
_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)
HTTP_LATENCY = Histogram(
    "ai_http_request_duration_seconds",
    "Time to the end of the response.",
    ["route", "method", "status"],
    buckets=_LATENCY_BUCKETS,
)
UPSTREAM_LATENCY = Histogram(
    "ai_upstream_request_duration_seconds",
    "Upstream call time (to the first chunk when streaming).",
    ["provider", "model", "outcome"],
    buckets=_LATENCY_BUCKETS,
)
TOKENS = Counter("ai_tokens_total", "Tokens in (prompt) and out (completion).", ["provider", "model", "direction"])
COST = Counter("ai_cost_usd_total", "Cost from the price table.", ["provider", "model"])
UPSTREAM_ERRORS = Counter("ai_upstream_errors_total", "Failed upstream calls.", ["provider", "model", "kind"])
FALLBACKS = Counter("ai_fallbacks_total", "Requests moved on from a target.", ["provider", "model", "reason"])
CIRCUIT_STATE = Gauge(
    "ai_circuit_state",
    "Circuit per target: 0 closed, 1 half-open, 2 open.",
    ["provider", "model"],
    multiprocess_mode="max",
)
CACHE = Counter(
    "ai_cache_requests_total",
    "Cache look-ups by kind: exact and semantic (responses), embedding and retrieval (RAG queries).",
    ["kind", "result"],
)
RATE_LIMITED = Counter("ai_ratelimit_rejections_total", "Requests refused by a limit.", ["scope", "limit"])


def current_request_id() -> str | None:
    return _request_id.get()


def bind_request_id(incoming: str | None) -> str:
    """Keep a well-formed incoming X-Request-ID, otherwise make one; bind it to this task."""
    request_id = incoming if incoming and _REQUEST_ID_OK.match(incoming) else uuid.uuid4().hex
    _request_id.set(request_id)
    return request_id


def inject_trace_headers(headers: dict[str, str]) -> None:
    propagate.inject(headers)


# --- Tracing --------------------------------------------------------------------------------
def setup_tracing(settings: Settings) -> None:
    """Install an OTLP/HTTP exporter when APP_OTLP_ENDPOINT is set; otherwise spans are no-ops."""
    if not settings.otlp_endpoint:
        return
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": settings.service_name}))
    endpoint = settings.otlp_endpoint.rstrip("/")
    if not endpoint.endswith("/v1/traces"):
        endpoint += "/v1/traces"
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint), schedule_delay_millis=500))
    trace.set_tracer_provider(provider)


def shutdown_tracing() -> None:
    provider = trace.get_tracer_provider()
    shutdown = getattr(provider, "shutdown", None)
    if callable(shutdown):
        shutdown()


# --- Logging --------------------------------------------------------------------------------
_REDACTIONS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]{8,}"), "Bearer [REDACTED]"),
    (re.compile(r"\b(?:sk|pk|rk)-[A-Za-z0-9_-]{8,}\b|\bsk-ant-[A-Za-z0-9_-]{8,}\b"), "[REDACTED_KEY]"),
    (
        re.compile(r"(?i)\b(api[_-]?key|x-api-key|token|secret|password)(\"?\s*[:=]\s*\"?)[^\s\",;]{4,}"),
        r"\1\2[REDACTED]",
    ),
    (re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"), "[REDACTED_JWT]"),
    (re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"), "[REDACTED_EMAIL]"),
    (re.compile(r"\b(?:\d[ -]?){12,18}\d\b"), "[REDACTED_CARD]"),
    (re.compile(r"(?<![\w.])\+?\d{1,3}?[ .-]?\(?\d{2,4}\)?[ .-]?\d{3,4}[ .-]?\d{3,4}\b"), "[REDACTED_PHONE]"),
]


# All of them in one pattern: most log text holds none, and one scan is cheaper than seven substitutions.
_ANY_REDACTION = re.compile(
    "|".join(f"(?i:{p.pattern[4:]})" if p.pattern.startswith("(?i)") else f"(?:{p.pattern})" for p, _ in _REDACTIONS)
)


def redact(text: str) -> str:
    """Mask e-mails, phone and card numbers, API keys, JWTs and bearer tokens."""
    if not _ANY_REDACTION.search(text):
        return text
    for pattern, replacement in _REDACTIONS:
        text = pattern.sub(replacement, text)
    return text


class JSONFormatter(logging.Formatter):
    """One JSON object a line, redacted, with the request ID of the task that logged it."""

    _STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "color_message"}

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        request_id = _request_id.get()
        if request_id:
            entry["request_id"] = request_id
        fields = vars(record)
        for key in fields.keys() - self._STANDARD:  # the extra fields (a set difference: one C call)
            if not key.startswith("_"):
                value = fields[key]
                entry[key] = redact(value) if isinstance(value, str) else value
        if record.exc_info:
            entry["exception"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, default=str)


class BatchingStreamHandler(logging.StreamHandler):
    """Writes lines at once but flushes them together: within FLUSH_DELAY_S on the event loop (a
    write system call per batch instead of per line), at once for warnings and errors or off the loop."""

    FLUSH_DELAY_S = 0.05

    def __init__(self) -> None:
        super().__init__(sys.stdout)
        self._pending: asyncio.TimerHandle | None = None

    def flush(self) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no event loop here (start-up, shut-down, another thread): now
            self._flush_now()
            return
        if self._pending is None:
            self._pending = loop.call_later(self.FLUSH_DELAY_S, self._flush_now)

    def _flush_now(self) -> None:
        """Write what is buffered (also when the loop that was to do it has gone: at exit)."""
        if self._pending is not None:
            self._pending.cancel()
            self._pending = None
        super().flush()

    def emit(self, record: logging.LogRecord) -> None:
        super().emit(record)
        if record.levelno >= logging.WARNING:
            super().flush()

    def close(self) -> None:
        super().flush()
        super().close()


def buffer_log_output() -> None:
    """In the long-lived server only (`python -m app`): write the log through a block buffer of its own.

    With PYTHONUNBUFFERED=1 (as the image sets it) sys.stdout writes every line at once, a system call per
    request's access line, which the batching above is there to avoid. Whoever calls this flushes at exit
    (`logging.shutdown`), also when a signal ends the process; Lambda and the worker keep plain stdout."""
    for handler in logging.getLogger().handlers:
        if isinstance(handler, BatchingStreamHandler) and handler.stream is sys.stdout:
            try:
                descriptor = sys.stdout.fileno()
            except (AttributeError, OSError, ValueError):  # not a file (a test's capture): leave it
                return
            buffered = open(  # noqa: SIM115 - lives as long as the handler, which flushes it
                descriptor, "w", buffering=1 << 16, encoding="utf-8", errors="backslashreplace", closefd=False
            )
            handler.setStream(buffered)


def setup_logging(settings: Settings) -> None:
    handler = BatchingStreamHandler()
    handler.setFormatter(JSONFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level.upper())
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    logging.getLogger("uvicorn.access").disabled = True  # the app writes its own access log
