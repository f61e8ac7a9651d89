"""GET /health (liveness), GET /ready (dependencies and providers), GET /metrics (Prometheus)."""

import asyncio
import os

from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest, multiprocess

from app.api.deps import GatewayDep
from app.breaker import OPEN
from app.schemas import CheckResult

router = APIRouter(tags=["operations"])


@router.get("/health")
async def health() -> dict[str, str]:
    """Liveness: the process serves requests. It checks no dependency, so a Redis outage never restarts pods."""
    return {"status": "ok"}


@router.get(
    "/ready", response_model=CheckResult, responses={503: {"model": CheckResult, "description": "A check failed"}}
)
async def ready(request: Request, gw: GatewayDep) -> Response:
    """Readiness: every configured dependency answers and at least one provider target is usable."""
    checks: dict[str, str] = {}
    for name, probe in request.app.state.dependency_checks.items():
        try:
            async with asyncio.timeout(2):
                await probe()
            checks[name] = "ok"
        except Exception as exc:  # any failure of a probe means not ready
            checks[name] = f"failed: {type(exc).__name__}: {exc}"[:300]
    unusable = gw.router.unusable()
    usable = [f"{b.provider}/{b.model}" for b in gw.router.breakers if b.provider not in unusable and b.state != OPEN]
    if usable:
        checks["providers"] = f"ok ({len(usable)} usable targets)"
    else:
        reasons = [f"{name}: {why}" for name, why in unusable.items()] or [
            "no usable target (circuits open or none configured)"
        ]
        checks["providers"] = "failed: " + "; ".join(reasons)
    ok = all(v.startswith("ok") for v in checks.values())
    body = CheckResult(status="ready" if ok else "not_ready", checks=checks)
    return Response(body.model_dump_json(), status_code=200 if ok else 503, media_type="application/json")


@router.get("/metrics", include_in_schema=False)
async def metrics() -> Response:
    """Prometheus exposition; with several workers, PROMETHEUS_MULTIPROC_DIR aggregates them."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
