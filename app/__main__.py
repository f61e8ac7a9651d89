"""`python -m app`: serve with uvicorn using APP_HOST, APP_PORT, APP_WORKERS (the container's entrypoint)."""

import os
import sys
import tempfile

import uvicorn

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
    uvicorn.run(
        application if settings.workers == 1 else "app.main:app",
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        loop="uvloop",
        http="httptools",
        proxy_headers=True,
        forwarded_allow_ips=settings.forwarded_allow_ips,
        timeout_graceful_shutdown=settings.graceful_shutdown_s,
        log_config=None,
        access_log=False,
        server_header=False,
    )


if __name__ == "__main__":
    main()
