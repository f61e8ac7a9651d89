"""`python -m app`: serve with uvicorn using APP_HOST, APP_PORT, APP_WORKERS (the container's entrypoint)."""

import logging
import os
import signal
import sys
import tempfile
from types import FrameType

import uvicorn

from app.http_server import CoalescingHttpToolsProtocol
from app.observability import buffer_log_output
from app.settings import SettingsError, load_settings


def main() -> None:
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        sys.exit(2)
    if settings.workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="prometheus-")
    from app.main import create_app

    try:
        application = create_app(settings)  # fails before binding if routing or keys are invalid
    except SettingsError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        sys.exit(2)
    buffer_log_output()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, _flush_logs_and_exit)  # uvicorn restores it, then raises the signal it drained on
    uvicorn.run(
        application if settings.workers == 1 else "app.main:app",
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        loop="uvloop",
        http=CoalescingHttpToolsProtocol,  # httptools, a response in one write
        proxy_headers=True,
        forwarded_allow_ips=settings.forwarded_allow_ips,
        timeout_graceful_shutdown=settings.graceful_shutdown_s,
        log_config=None,
        access_log=False,
        server_header=False,
    )


def _flush_logs_and_exit(sig: int, _frame: FrameType | None) -> None:
    """The signal's default action, after writing the buffered log lines (the last ones: the shutdown's)."""
    logging.shutdown()
    signal.signal(sig, signal.SIG_DFL)
    signal.raise_signal(sig)


if __name__ == "__main__":
    main()
