"""Job status, results and Idempotency-Keys in Redis (prefix `aijob:`), each with a TTL: results expire.

One hash per job. Attempts are counted here, not by the queue, so every backend counts them the
same way, a worker killed mid-job included (its attempt was counted when it started).
"""

import hashlib
import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis

from app.auth import Principal
from app.jobs.models import TERMINAL, JobError, JobKind, JobState, JobStatus

PREFIX = "aijob:"

CREATE_LUA = """
if #KEYS > 1 then
  local existing = redis.call('GET', KEYS[2])
  if existing then return existing end
end
redis.call('HSET', KEYS[1], unpack(ARGV, 3))
redis.call('EXPIRE', KEYS[1], ARGV[1])
if #KEYS > 1 then redis.call('SET', KEYS[2], ARGV[2], 'EX', ARGV[1]) end
return ''
"""

# count an attempt unless the job is gone or finished; answers {attempts, status}
START_LUA = """
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return {0, ''} end
if status == 'succeeded' or status == 'failed' or status == 'dead_letter' then return {0, status} end
local attempts = redis.call('HINCRBY', KEYS[1], 'attempts', 1)
redis.call('HSET', KEYS[1], 'status', 'running', 'updated_at', ARGV[1])
return {attempts, 'running'}
"""

# update only a job that still exists (an expired job is never resurrected)
UPDATE_LUA = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if tonumber(ARGV[2]) ~= 0 then redis.call('HINCRBY', KEYS[1], 'attempts', ARGV[2]) end
redis.call('HSET', KEYS[1], unpack(ARGV, 3))
if tonumber(ARGV[1]) > 0 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return 1
"""


@dataclass(slots=True)
class Job:
    id: str
    owner: Principal
    ip: str
    kind: JobKind
    request: dict[str, Any]
    status: JobState
    attempts: int
    created_at: float
    updated_at: float
    expires_at: float
    result: dict[str, Any] | None
    error: dict[str, Any] | None

    def view(self) -> JobStatus:
        return JobStatus(
            id=self.id,
            kind=self.kind,
            status=self.status,
            attempts=self.attempts,
            created_at=self.created_at,
            updated_at=self.updated_at,
            expires_at=self.expires_at,
            result=self.result,
            error=JobError(**self.error) if self.error else None,
        )


class IdempotencyConflict(Exception):
    """The Idempotency-Key was used before by this caller with a different body."""


def body_digest(request: dict[str, Any], kind: str) -> str:
    return hashlib.sha256(json.dumps([kind, request], sort_keys=True, separators=(",", ":")).encode()).hexdigest()


class JobStore:
    def __init__(self, redis: Redis, ttl_s: int) -> None:
        self.redis = redis
        self.ttl_s = ttl_s
        self._create = redis.register_script(CREATE_LUA)
        self._start = redis.register_script(START_LUA)
        self._update = redis.register_script(UPDATE_LUA)

    @staticmethod
    def _key(job_id: str) -> str:
        return f"{PREFIX}job:{job_id}"

    @staticmethod
    def _idempotency_key(owner: Principal, key: str) -> str:
        """Scoped to the caller: two callers may use the same key for different jobs."""
        digest = hashlib.sha256(f"{owner.id}\n{key}".encode()).hexdigest()
        return f"{PREFIX}idem:{digest}"

    async def create(
        self, owner: Principal, ip: str, kind: JobKind, request: dict[str, Any], idempotency_key: str | None
    ) -> tuple[str, bool]:
        """Store a new queued job; with a key already used by this caller, the earlier job's id and True."""
        job_id = f"job_{uuid.uuid4().hex}"
        digest = body_digest(request, kind)
        now = time.time()
        fields = {
            "id": job_id,
            "owner": owner.id,
            "owner_kind": owner.kind,
            "ip": ip,
            "kind": kind,
            "request": json.dumps(request, separators=(",", ":")),
            "status": "queued",
            "attempts": 0,
            "created_at": now,
            "updated_at": now,
            "expires_at": now + self.ttl_s,
        }
        keys = [self._key(job_id)]
        if idempotency_key is not None:
            keys.append(self._idempotency_key(owner, idempotency_key))
        args: list[Any] = [self.ttl_s, f"{job_id}|{digest}"]
        for name, value in fields.items():
            args += [name, value]
        existing = await self._create(keys=keys, args=args)
        if not existing:
            return job_id, False
        earlier, _, earlier_digest = existing.decode().partition("|")
        if earlier_digest != digest:
            raise IdempotencyConflict(earlier)
        return earlier, True

    async def get(self, job_id: str) -> Job | None:
        raw: dict[Any, Any] = await self.redis.hgetall(self._key(job_id))  # pyright: ignore[reportGeneralTypeIssues]
        if not raw:
            return None
        f = {k.decode(): v.decode() for k, v in raw.items()}
        return Job(
            id=f["id"],
            owner=Principal(f["owner"], f["owner_kind"]),
            ip=f["ip"],
            kind=f["kind"],  # pyright: ignore[reportArgumentType]
            request=json.loads(f["request"]),
            status=f["status"],  # pyright: ignore[reportArgumentType]
            attempts=int(f["attempts"]),
            created_at=float(f["created_at"]),
            updated_at=float(f["updated_at"]),
            expires_at=float(f["expires_at"]),
            result=json.loads(f["result"]) if f.get("result") else None,
            error=json.loads(f["error"]) if f.get("error") else None,
        )

    async def delete(self, job_id: str, owner: Principal, idempotency_key: str | None) -> None:
        """Forget a job that could not be queued, and its Idempotency-Key, so a retry starts afresh."""
        keys = [self._key(job_id)]
        if idempotency_key is not None:
            keys.append(self._idempotency_key(owner, idempotency_key))
        await self.redis.delete(*keys)

    async def start(self, job_id: str) -> tuple[int, str]:
        """Count an attempt: (attempts, 'running'); (0, status) when finished; (0, '') when expired or unknown."""
        attempts, status = await self._start(keys=[self._key(job_id)], args=[time.time()])
        return int(attempts), status.decode() if isinstance(status, bytes) else str(status)

    async def _set(self, job_id: str, attempts_delta: int, refresh_ttl: bool, **fields: Any) -> None:
        now = time.time()
        fields["updated_at"] = now
        if refresh_ttl:
            fields["expires_at"] = now + self.ttl_s
        args: list[Any] = [self.ttl_s if refresh_ttl else 0, attempts_delta]
        for name, value in fields.items():
            args += [name, value]
        await self._update(keys=[self._key(job_id)], args=args)

    async def finish(
        self, job_id: str, status: JobState, result: dict[str, Any] | None = None, error: JobError | None = None
    ) -> None:
        """A terminal state; the result stays readable for the TTL from now, then expires."""
        assert status in TERMINAL
        await self._set(
            job_id,
            0,
            True,
            status=status,
            result=json.dumps(result, separators=(",", ":")) if result is not None else "",
            error=error.model_dump_json() if error is not None else "",
        )

    async def retrying(self, job_id: str, error: JobError) -> None:
        await self._set(job_id, 0, False, status="retrying", error=error.model_dump_json())

    async def release(self, job_id: str) -> None:
        """A worker gave the job back unfinished (draining): queued again, the attempt not counted."""
        await self._set(job_id, -1, False, status="queued")
