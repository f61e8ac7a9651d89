"""POST /v1/jobs and GET /v1/jobs/{id}: asynchronous generate, summarize and chat (only with a queue configured)."""

import logging
from typing import Annotated

from fastapi import APIRouter, Body, Header, HTTPException, Path, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from redis.exceptions import RedisError

from app.api.deps import ERROR_RESPONSES, ClientIP, GatewayDep, PrincipalDep
from app.jobs import Jobs
from app.jobs.models import JOB_ID_PATTERN, JobRequest, JobStatus
from app.jobs.store import IdempotencyConflict
from app.queues import QueueError
from app.routing import UnknownModel

router = APIRouter(prefix="/v1", tags=["jobs"])
log = logging.getLogger("app.jobs")

UNAVAILABLE = {"description": "The queue or the job store is unavailable; retry (same Idempotency-Key)"}
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=255,
        pattern=r"^[\x21-\x7e]+$",
        description="Retries with the same key (and body) get the same job instead of a new one.",
    ),
]
JobId = Annotated[str, Path(pattern=JOB_ID_PATTERN, description="The id POST /v1/jobs answered.")]


def _jobs(request: Request) -> Jobs:
    return request.app.state.jobs


def _unavailable(exc: Exception) -> HTTPException:
    log.error("job queue or store failed: %s", exc)
    return HTTPException(503, "the job queue is unavailable", headers={"retry-after": "1"})


@router.post(
    "/jobs",
    status_code=202,
    response_model=JobStatus,
    responses={
        **ERROR_RESPONSES,
        409: {"description": "The Idempotency-Key was already used by this caller with a different body"},
        503: UNAVAILABLE,
    },
)
async def submit_job(
    body: Annotated[JobRequest, Body()],
    request: Request,
    gw: GatewayDep,
    who: PrincipalDep,
    ip: ClientIP,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Queue a generate, summarize or chat request; 202 with the job (poll its `Location`)."""
    try:
        gw.router.resolve(body.request.model, body.request.to_chat())
    except UnknownModel as exc:
        allowed = ", ".join(exc.known) or "none configured"
        raise RequestValidationError(
            [
                {
                    "type": "value_error",
                    "loc": ("body", "request", "model"),
                    "msg": f"unknown model {exc.model!r}; allowed: {allowed}",
                    "input": exc.model,
                }
            ]
        ) from None
    jobs = _jobs(request)
    payload = body.request.model_dump(mode="json", exclude_none=True)
    try:
        job, replayed = await jobs.submit(who, ip, body.kind, payload, idempotency_key)
    except IdempotencyConflict:
        raise HTTPException(
            409, f"Idempotency-Key {idempotency_key!r} was already used with a different body; use a new key"
        ) from None
    except (QueueError, RedisError) as exc:
        raise _unavailable(exc) from None
    if job is None:  # the replayed job expired between two calls: only with a TTL of a second or so
        raise HTTPException(503, "the job expired at once; check APP_JOB_TTL_S", headers={"retry-after": "1"})
    headers = {"location": f"/v1/jobs/{job.id}"}
    if replayed:
        headers["idempotent-replayed"] = "true"
    return Response(job.view().model_dump_json(), 202, headers=headers, media_type="application/json")


@router.get(
    "/jobs/{job_id}",
    response_model=JobStatus,
    responses={
        401: ERROR_RESPONSES[401],
        404: {"description": "No such job for this caller (unknown, expired or another caller's)"},
        503: UNAVAILABLE,
    },
)
async def get_job(job_id: JobId, request: Request, who: PrincipalDep) -> Response:
    """The job's status, attempts and, once it succeeded, its result; it expires APP_JOB_TTL_S after it ends."""
    try:
        job = await _jobs(request).store.get(job_id)
    except RedisError as exc:
        raise _unavailable(exc) from None
    if job is None or job.owner.id != who.id:
        raise HTTPException(404, f"no job {job_id} for this caller (unknown, expired or another caller's)")
    return Response(job.view().model_dump_json(), media_type="application/json")
