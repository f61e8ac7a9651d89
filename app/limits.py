"""Requests- and tokens-per-minute limits per key and per IP, and daily cost budgets per key.

With Redis, one Lua script checks and reserves every limit atomically, so the limits hold across
replicas; windows slide over per-second buckets using Redis's clock. The script runs batches (the
admissions of concurrent requests and pending settlements, in order), so a request costs one round
trip and nothing is decided locally (no pre-admission that could overshoot). Without Redis an in-process
store with the same algorithm is used (one replica only). Token reservations are estimates made
before the call and corrected to the real usage afterwards (`settle`).
"""

import asyncio
import hashlib
import json
import logging
import math
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError, RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from app.observability import RATE_LIMITED
from app.redis_link import Link, resolve
from app.settings import Settings

log = logging.getLogger("app.limits")

WINDOW_S = 60
DAY_S = 86_400

# Each window is a hash of per-second buckets (field: the second) plus two bookkeeping fields: 't', the
# sum of the live buckets, and 'o', the oldest second that may still hold one. An admission therefore
# reads two fields and drops only the seconds that went stale since the last one (usually none), instead
# of summing the whole window: the script's cost no longer grows with the request rate.
#
# One script runs a batch of operations in order (see `encode`): admissions ('a') and settlements ('s').
# The batch travels as one JSON argument (an array per operation: kind, key count, arguments) and the
# answer as one JSON string (Redis's built-in cjson on the script's side): encoding and parsing a RESP
# value per number cost the app more CPU than the script itself.
# Admission arguments: window, n limits, budget (micro-USD, 0 = none), then limit and cost per limit;
# keys: the n windows, then the budget key. It answers {allowed, failing index, wait, used, now, used...}.
# Settlement arguments: n, the reservation's second, cost (USD), then the token delta per limit.
LIMITS_LUA = """
local now = tonumber(redis.call('TIME')[1])

local function admit(KEYS, ARGV)
  local window = tonumber(ARGV[1])
  local n = tonumber(ARGV[2])
  local budget = tonumber(ARGV[3])
  local oldest = now - window + 1
  local used = {}
  for i = 1, n do
    local limit = tonumber(ARGV[2 + 2 * i])
    local cost = tonumber(ARGV[3 + 2 * i])
    local state = redis.call('HMGET', KEYS[i], 't', 'o')
    local total = tonumber(state[1] or '0')
    local from = tonumber(state[2] or oldest)
    if from < oldest then
      if oldest - from >= window then
        redis.call('DEL', KEYS[i])
        total = 0
      else
        local stale = {}
        for sec = from, oldest - 1 do stale[#stale + 1] = sec end
        for _, v in ipairs(redis.call('HMGET', KEYS[i], unpack(stale))) do
          if v then total = total - tonumber(v) end
        end
        redis.call('HDEL', KEYS[i], unpack(stale))
        redis.call('HSET', KEYS[i], 't', total, 'o', oldest)
      end
    end
    used[i] = total
    if limit > 0 and total + cost > limit then
      if cost > limit then return {0, i, -1, total, now} end
      local live, fields = {}, redis.call('HGETALL', KEYS[i])
      for j = 1, #fields, 2 do
        local sec = tonumber(fields[j])
        if sec then live[#live + 1] = {sec, tonumber(fields[j + 1])} end
      end
      table.sort(live, function(a, b) return a[1] < b[1] end)
      local need, freed, wait = total + cost - limit, 0, window
      for _, bucket in ipairs(live) do
        freed = freed + bucket[2]
        if freed >= need then wait = bucket[1] + window - now break end
      end
      return {0, i, wait, total, now}
    end
  end
  if budget > 0 then
    local spent = tonumber(redis.call('GET', KEYS[n + 1]) or '0')
    if spent * 1000000 >= budget then return {0, n + 1, 86400 - now % 86400, spent * 1000000, now} end
  end
  for i = 1, n do
    local cost = tonumber(ARGV[3 + 2 * i])
    if cost > 0 then
      redis.call('HINCRBY', KEYS[i], 't', cost)
      if redis.call('HINCRBY', KEYS[i], now, cost) == cost then
        -- a new second: the key lives a window past its newest bucket (set once a second, not per request)
        redis.call('HSETNX', KEYS[i], 'o', oldest)
        redis.call('EXPIRE', KEYS[i], window + 5)
      end
    end
  end
  local out = {1, 0, 0, 0, now}
  for i = 1, n do out[#out + 1] = used[i] end
  return out
end

local function settle(KEYS, ARGV)
  local n = tonumber(ARGV[1])
  for i = 1, n do
    local delta = tonumber(ARGV[3 + i])
    if delta ~= 0 and redis.call('HEXISTS', KEYS[i], ARGV[2]) == 1 then
      redis.call('HINCRBY', KEYS[i], ARGV[2], delta)
      redis.call('HINCRBY', KEYS[i], 't', delta)
    end
  end
  local cost = tonumber(ARGV[3])
  if cost > 0 and #KEYS > n then
    redis.call('INCRBYFLOAT', KEYS[n + 1], ARGV[3])
    redis.call('EXPIRE', KEYS[n + 1], 172800)
  end
  return 1
end

local out, k = {}, 0
for _, op in ipairs(cjson.decode(ARGV[1])) do
  local nkeys, keys, args = op[2], {}, {}
  for i = 1, nkeys do keys[i] = KEYS[k + i] end
  for i = 3, #op do args[i - 2] = op[i] end
  k = k + nkeys
  if op[1] == 'a' then out[#out + 1] = admit(keys, args) else out[#out + 1] = settle(keys, args) end
end
return cjson.encode(out)
"""


def encode(operations: "list[Operation]") -> tuple[list[str], list[str]]:
    """KEYS and ARGV of one LIMITS_LUA call running `operations` in order."""
    keys: list[str] = []
    for op in operations:
        keys += op.keys
    return keys, [json.dumps([[op.kind, len(op.keys), *op.args] for op in operations], separators=(",", ":"))]


def decode(reply: bytes | str) -> list[Any]:
    """One result per operation of the batch (an admission's: its numbers)."""
    return json.loads(reply)


def numbers(result: list[float]) -> list[int]:
    """An admission's answer (numbers arrive as JSON doubles) as ints."""
    return [int(x) for x in result]


@dataclass(slots=True)
class Operation:
    kind: str  # "a" admission, "s" settlement
    keys: list[str]
    args: list[Any]
    result: "asyncio.Future[Any] | None" = None  # None: nobody waits (a settlement)


@dataclass(slots=True)
class Limit:
    scope: str  # "key" or "ip"
    kind: str  # "requests" or "tokens"
    key: str
    limit: int
    cost: int


@dataclass(slots=True)
class Decision:
    allowed: bool
    limits: list[Limit]
    used: list[int] = field(default_factory=list)
    retry_after: int = 0
    failed: str = ""  # e.g. "key requests", "ip tokens", "key budget"
    bucket: int = 0
    budget_key: str | None = None
    reserved_tokens: int = 0

    def headers(self) -> dict[str, str]:
        """X-RateLimit-* headers for the tightest limit of each kind (OpenAI's names plus plain ones)."""
        out: dict[str, str] = {}
        for kind in ("requests", "tokens"):
            rows = [
                (lim, u) for lim, u in zip(self.limits, self.used, strict=False) if lim.kind == kind and lim.limit > 0
            ]
            if not rows:
                continue
            lim, u = min(rows, key=lambda r: r[0].limit - r[1] - r[0].cost)
            remaining = max(0, lim.limit - u - (lim.cost if self.allowed else 0))
            out[f"x-ratelimit-limit-{kind}"] = str(lim.limit)
            out[f"x-ratelimit-remaining-{kind}"] = str(remaining)
            if kind == "requests":
                out["x-ratelimit-limit"] = str(lim.limit)
                out["x-ratelimit-remaining"] = str(remaining)
        out["x-ratelimit-reset"] = str(self.retry_after if not self.allowed else WINDOW_S)
        if not self.allowed:
            out["retry-after"] = str(max(1, self.retry_after))
        return out


class Store(Protocol):
    async def admit(self, limits: list[Limit], budget_key: str | None, budget_micro_usd: int) -> list[int]: ...
    async def settle(
        self, limits: list[Limit], bucket: int, deltas: list[int], budget_key: str | None, cost: float
    ) -> None: ...
    async def aclose(self) -> None: ...


class RedisStore:
    """The limits in Redis, the operations of concurrent requests batched into one script call.

    While one batch is in flight, new operations queue; when it returns, everything queued goes in one
    LIMITS_LUA call, which Redis runs atomically, in order, so batching changes no decision: the limits
    stay exact across replicas. Settlements are not awaited: they correct a reservation after the answer,
    so they ride in front of the next batch or go alone after SETTLE_DELAY_S; a request thus costs one
    round trip, not two. A batch is written at once on the limiter's own connection (`Link`) and its reply
    handed out as it is parsed: no task per batch, and a request that stops waiting (a timeout, a client
    gone) takes only its own answer with it.
    """

    SETTLE_DELAY_S = 0.05
    RECOVERIES = 2  # a batch is sent again at most this often (a new connection, then the script reloaded)

    def __init__(self, redis: Redis, timeout_s: float) -> None:
        """`redis` opens (and authenticates) the limiter's connection; each admission waits `timeout_s` at most."""
        self.link = Link(redis)
        self.timeout_s = timeout_s
        self._sha = hashlib.sha1(LIMITS_LUA.encode(), usedforsecurity=False).hexdigest()
        self._queue: list[Operation] = []
        self._in_flight = False  # a batch is with Redis (or being sent again); the next waits for it
        self._idle = asyncio.Event()
        self._idle.set()
        self._timer: asyncio.TimerHandle | None = None
        self._recovering: set[asyncio.Task[None]] = set()

    async def admit(self, limits: list[Limit], budget_key: str | None, budget_micro_usd: int) -> list[int]:
        keys = [lim.key for lim in limits] + ([budget_key] if budget_key else [])
        args: list[int] = [WINDOW_S, len(limits), budget_micro_usd if budget_key else 0]
        for lim in limits:
            args += [lim.limit, lim.cost]
        result: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._queue.append(Operation("a", keys, args, result))
        self._dispatch()
        try:
            async with asyncio.timeout(self.timeout_s):
                return numbers(await result)
        except TimeoutError:
            # Redis stopped answering: drop the connection (the batch in flight fails with this error,
            # later ones go on a new connection) rather than queue every request behind it
            error = self._timed_out()
            self.link.abort(error)
            raise error from None

    async def settle(
        self, limits: list[Limit], bucket: int, deltas: list[int], budget_key: str | None, cost: float
    ) -> None:
        keys = [lim.key for lim in limits] + ([budget_key] if budget_key else [])
        self._queue.append(Operation("s", keys, [len(limits), bucket, cost, *deltas]))
        if self._timer is None and not self._in_flight:
            self._timer = asyncio.get_running_loop().call_later(self.SETTLE_DELAY_S, self._dispatch)

    async def aclose(self) -> None:
        """Send queued settlements now (at shutdown, before the Redis pool closes), then close the connection."""
        self._dispatch()
        try:
            async with asyncio.timeout(self.timeout_s):
                await self._idle.wait()
        except TimeoutError:
            log.error("could not settle usage: Redis did not answer within %s s at shutdown", self.timeout_s)
        await self.link.close()

    def _dispatch(self) -> None:
        """Send everything queued as one script call, unless a batch is in flight (it follows that one)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._in_flight or not self._queue:
            return
        batch, self._queue = self._queue, []
        self._in_flight = True
        self._idle.clear()
        if self.link.ready:
            self._send(batch, self.RECOVERIES)
        else:
            self._recover(batch, self.RECOVERIES, load=False)

    def _send(self, batch: list[Operation], recoveries: int) -> None:
        keys, args = encode(batch)
        command = ("EVALSHA", self._sha, len(keys), *keys, *args)
        self.link.send(command, lambda reply: self._returned(batch, reply, recoveries))

    def _returned(self, batch: list[Operation], reply: Any, recoveries: int) -> None:
        """A batch's reply (or the error standing for it): hand out the results, or send the batch again
        where nothing can have run (NOSCRIPT) or the connection broke. At most RECOVERIES times: if the
        script did run before a connection broke, the batch counts twice, which can only refuse early,
        never admit too much."""
        if recoveries > 0 and isinstance(reply, NoScriptError):  # Redis restarted or flushed its scripts
            self._recover(batch, recoveries - 1, load=True)
            return
        if recoveries > 0 and isinstance(reply, RedisConnectionError):  # a failover, an idle timeout
            self._recover(batch, recoveries - 1, load=False)
            return
        try:
            results = [reply] * len(batch) if isinstance(reply, Exception) else decode(reply)
        except ValueError as exc:
            results = [RedisError(f"unreadable limiter reply: {exc}")] * len(batch)
        self._in_flight = False
        self._deliver(batch, results)
        self._dispatch()
        if not self._in_flight:
            self._idle.set()

    def _recover(self, batch: list[Operation], recoveries: int, load: bool) -> None:
        """Open a new connection (and load the script) in a task of its own, then send `batch` on it."""

        async def recover() -> None:
            error: RedisError
            try:
                async with asyncio.timeout(self.timeout_s):
                    if not self.link.ready:
                        await self.link.open()
                    if load:
                        await self.link.call("SCRIPT", "LOAD", LIMITS_LUA)
            except TimeoutError:
                error = self._timed_out()
            except RedisError as exc:
                error = exc
            except OSError as exc:
                error = RedisConnectionError(str(exc))
            else:
                self._send(batch, recoveries)
                return
            self._returned(batch, error, 0)

        task = asyncio.get_running_loop().create_task(recover())
        self._recovering.add(task)
        task.add_done_callback(self._recovering.discard)

    def _timed_out(self) -> RedisTimeoutError:
        return RedisTimeoutError(f"Redis did not answer within {self.timeout_s} s")

    @staticmethod
    def _deliver(batch: list[Operation], results: list[Any]) -> None:
        for op, result in zip(batch, results, strict=True):
            if op.result is not None:
                resolve(op.result, result)  # unless the request stopped waiting meanwhile
            elif isinstance(result, Exception):
                log.error("could not settle usage: %s", result)


class MemoryStore:
    """The same sliding-window algorithm in process memory (single replica, no Redis)."""

    def __init__(self) -> None:
        self.windows: dict[str, dict[int, int]] = {}
        self.spent: dict[str, float] = {}

    async def admit(self, limits: list[Limit], budget_key: str | None, budget_micro_usd: int) -> list[int]:
        now = int(time.time())
        oldest = now - WINDOW_S + 1
        used: list[int] = []
        for index, lim in enumerate(limits, start=1):
            buckets = self.windows.setdefault(lim.key, {})
            for sec in [s for s in buckets if s < oldest]:
                del buckets[sec]
            total = sum(buckets.values())
            used.append(total)
            if lim.limit > 0 and total + lim.cost > lim.limit:
                if lim.cost > lim.limit:
                    return [0, index, -1, total, now]
                need, freed, wait = total + lim.cost - lim.limit, 0, WINDOW_S
                for sec in sorted(buckets):
                    freed += buckets[sec]
                    if freed >= need:
                        wait = sec + WINDOW_S - now
                        break
                return [0, index, wait, total, now]
        if budget_key and budget_micro_usd > 0:
            spent = self.spent.get(budget_key, 0.0) * 1_000_000
            if spent >= budget_micro_usd:
                return [0, len(limits) + 1, DAY_S - now % DAY_S, int(spent), now]
        for lim in limits:
            if lim.cost > 0:
                buckets = self.windows[lim.key]
                buckets[now] = buckets.get(now, 0) + lim.cost
        return [1, 0, 0, 0, now, *used]

    async def settle(
        self, limits: list[Limit], bucket: int, deltas: list[int], budget_key: str | None, cost: float
    ) -> None:
        for lim, delta in zip(limits, deltas, strict=True):
            buckets = self.windows.get(lim.key, {})
            if delta and bucket in buckets:
                buckets[bucket] += delta
        if budget_key and cost > 0:
            self.spent[budget_key] = self.spent.get(budget_key, 0.0) + cost

    async def aclose(self) -> None:
        pass


class Limiter:
    """Builds the limits that apply to a caller and asks the store to admit them atomically."""

    def __init__(self, settings: Settings, store: Store) -> None:
        self.settings = settings
        self.store = store

    def _limits(self, key_id: str | None, ip: str, tokens: int) -> list[Limit]:
        s = self.settings
        rows = [("ip", ip, s.rpm_per_ip, s.tpm_per_ip)]
        if key_id is not None:
            rows.insert(0, ("key", key_id, s.rpm_per_key, s.tpm_per_key))
        limits: list[Limit] = []
        for scope, ident, rpm, tpm in rows:
            if rpm:
                limits.append(Limit(scope, "requests", f"rlw:{scope}:{ident}:rpm", rpm, 1))
            if tpm:
                limits.append(Limit(scope, "tokens", f"rlw:{scope}:{ident}:tpm", tpm, tokens))
        return limits

    async def admit(self, key_id: str | None, ip: str, tokens: int) -> Decision:
        limits = self._limits(key_id, ip, tokens)
        budget = self.settings.daily_budget_usd_per_key
        budget_key = f"budget:{key_id}:{int(time.time()) // DAY_S}" if key_id is not None and budget > 0 else None
        if not limits and budget_key is None:  # every limit off: nothing to ask the store
            return Decision(True, limits, bucket=int(time.time()), reserved_tokens=tokens)
        result = await self.store.admit(limits, budget_key, round(budget * 1_000_000))
        allowed, index, wait, now = result[0] == 1, result[1], result[2], result[4]
        decision = Decision(allowed, limits, result[5:], bucket=now, budget_key=budget_key, reserved_tokens=tokens)
        if allowed:
            return decision
        decision.used = [0] * len(limits)
        decision.retry_after = WINDOW_S if wait < 0 else max(1, math.ceil(wait))
        if index <= len(limits):
            lim = limits[index - 1]
            decision.used[index - 1] = result[3]
            decision.failed = f"{lim.scope} {lim.kind}"
            if wait < 0:
                decision.failed += f": this request needs {lim.cost} but the limit is {lim.limit} a minute"
            RATE_LIMITED.labels(lim.scope, lim.kind).inc()
        else:
            decision.failed = f"key daily budget of {budget} USD"
            RATE_LIMITED.labels("key", "budget").inc()
        return decision

    async def settle(self, decision: Decision, actual_tokens: int, cost: float) -> None:
        """Replace the token estimate by the real usage and charge the budget."""
        deltas = [actual_tokens - lim.cost if lim.kind == "tokens" else 0 for lim in decision.limits]
        if any(deltas) or (decision.budget_key and cost > 0):
            await self.store.settle(decision.limits, decision.bucket, deltas, decision.budget_key, cost)

    async def aclose(self) -> None:
        await self.store.aclose()
