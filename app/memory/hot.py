"""The hot tier: each session's recent turns and summary in Redis, changed only by Lua scripts.

Keys (prefix `mem:`): `mem:{h}:turns` (a list of JSON turns, appended at the tail),
`mem:{h}:meta` (a hash: owner, session id, epoch, version, summary, counts, times),
`mem:{h}:lock` (the summariser's lock) and `mem:idle` (a sorted set: session -> last use, on
Redis's clock). `h` hashes the caller and the session id, so a caller can only ever name its
own sessions. Appends are one script (RPUSH + meta + expiry + index), so replicas writing the
same session never lose turns; the summary and the move to PostgreSQL commit only if nothing
changed underneath them (epoch, version, lock token).
"""

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis

PREFIX = "mem:"
IDLE = PREFIX + "idle"

_NOW = "local t = redis.call('TIME') local now = tonumber(t[1]) + tonumber(t[2]) / 1000000\n"

# KEYS: turns, meta, idle. ARGV: ttl, member, owner, sid, epoch, max_turns, turn...
_APPEND = (
    _NOW
    + """
if redis.call('EXISTS', KEYS[2]) == 0 then
  redis.call('HSET', KEYS[2], 'owner', ARGV[3], 'sid', ARGV[4], 'epoch', ARGV[5], 'version', 0,
    'summary', '', 'folded', 0, 'dropped', 0, 'created', now)
end
for i = 7, #ARGV do redis.call('RPUSH', KEYS[1], ARGV[i]) end
local n = redis.call('LLEN', KEYS[1])
local cap = tonumber(ARGV[6])
if n > cap then
  redis.call('LTRIM', KEYS[1], n - cap, -1)
  redis.call('HINCRBY', KEYS[2], 'dropped', n - cap)
  n = cap
end
redis.call('HINCRBY', KEYS[2], 'version', 1)
redis.call('HSET', KEYS[2], 'updated', now)
redis.call('EXPIRE', KEYS[1], ARGV[1])
redis.call('EXPIRE', KEYS[2], ARGV[1])
redis.call('ZADD', KEYS[3], now, ARGV[2])
return n
"""
)

# KEYS: turns, meta, idle. ARGV: member, touch (1: mark as used now, so the mover leaves it alone)
_READ = (
    _NOW
    + """
if redis.call('EXISTS', KEYS[2]) == 0 then return false end
if ARGV[2] == '1' then redis.call('ZADD', KEYS[3], now, ARGV[1]) end
return {redis.call('HGETALL', KEYS[2]), redis.call('LRANGE', KEYS[1], 0, -1)}
"""
)

# KEYS: turns, meta, idle. ARGV: ttl, member, then meta field/value pairs, '--', turn...
_RESTORE = (
    _NOW
    + """
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
local i = 3
while ARGV[i] ~= '--' do
  redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1])
  i = i + 2
end
for j = i + 1, #ARGV do redis.call('RPUSH', KEYS[1], ARGV[j]) end
redis.call('EXPIRE', KEYS[1], ARGV[1])
redis.call('EXPIRE', KEYS[2], ARGV[1])
redis.call('ZADD', KEYS[3], now, ARGV[2])
return 1
"""
)

# KEYS: turns, meta, lock. ARGV: token, epoch, count folded, new summary
_FOLD = """
if redis.call('GET', KEYS[3]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[3])
if redis.call('HGET', KEYS[2], 'epoch') ~= ARGV[2] then return 0 end
redis.call('LTRIM', KEYS[1], tonumber(ARGV[3]), -1)
redis.call('HSET', KEYS[2], 'summary', ARGV[4])
redis.call('HINCRBY', KEYS[2], 'folded', tonumber(ARGV[3]))
redis.call('HINCRBY', KEYS[2], 'version', 1)
return 1
"""

# KEYS: lock. ARGV: token
_UNLOCK = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0"

# KEYS: idle. ARGV: idle seconds, how many
_IDLE = (
    _NOW
    + """
return redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[1]), 'LIMIT', 0, tonumber(ARGV[2]))
"""
)

# KEYS: turns, meta, idle, lock. ARGV: member, version read, idle seconds
_EVICT = (
    _NOW
    + """
if redis.call('EXISTS', KEYS[4]) == 1 then return 0 end
if redis.call('HGET', KEYS[2], 'version') ~= ARGV[2] then return 0 end
local score = redis.call('ZSCORE', KEYS[3], ARGV[1])
if score and tonumber(score) > now - tonumber(ARGV[3]) then return 0 end
redis.call('DEL', KEYS[1], KEYS[2])
redis.call('ZREM', KEYS[3], ARGV[1])
return 1
"""
)

# KEYS: turns, meta, idle, lock. ARGV: member
_DELETE = """
local existed = redis.call('EXISTS', KEYS[2])
redis.call('DEL', KEYS[1], KEYS[2], KEYS[4])
redis.call('ZREM', KEYS[3], ARGV[1])
return existed
"""


def member(owner: str, session_id: str) -> str:
    """The session's Redis name: a digest of caller and id, so no caller can reach another's keys."""
    return hashlib.sha256(f"{owner}\x00{session_id}".encode()).hexdigest()[:40]


def _keys(name: str) -> list[str]:
    base = f"{PREFIX}{{{name}}}"  # a hash tag: the session's own keys share one slot
    return [f"{base}:turns", f"{base}:meta", IDLE, f"{base}:lock"]


@dataclass(slots=True)
class Session:
    """One conversation as stored: the summary of older turns, then the recent turns verbatim."""

    owner: str
    session_id: str
    epoch: str
    version: int = 0
    summary: str = ""
    folded: int = 0
    dropped: int = 0
    created: float = 0.0
    updated: float = 0.0
    turns: list[dict[str, Any]] = field(default_factory=list)

    def meta(self) -> dict[str, str]:
        return {
            "owner": self.owner,
            "sid": self.session_id,
            "epoch": self.epoch,
            "version": str(self.version),
            "summary": self.summary,
            "folded": str(self.folded),
            "dropped": str(self.dropped),
            "created": repr(self.created),
            "updated": repr(self.updated),
        }


def _decode(raw: list[Any]) -> Session:
    flat = [v.decode() if isinstance(v, bytes) else v for v in raw[0]]
    meta = dict(zip(flat[::2], flat[1::2], strict=True))
    return Session(
        owner=meta["owner"],
        session_id=meta["sid"],
        epoch=meta["epoch"],
        version=int(meta.get("version", 0)),
        summary=meta.get("summary", ""),
        folded=int(meta.get("folded", 0)),
        dropped=int(meta.get("dropped", 0)),
        created=float(meta.get("created", 0)),
        updated=float(meta.get("updated", meta.get("created", 0))),
        turns=[json.loads(t) for t in raw[1]],
    )


class HotStore:
    def __init__(self, redis: Redis, ttl_s: int, max_turns: int) -> None:
        self.redis = redis
        self.ttl_s = ttl_s
        self.max_turns = max_turns
        self._append = redis.register_script(_APPEND)
        self._read = redis.register_script(_READ)
        self._restore = redis.register_script(_RESTORE)
        self._fold = redis.register_script(_FOLD)
        self._unlock = redis.register_script(_UNLOCK)
        self._idle = redis.register_script(_IDLE)
        self._evict = redis.register_script(_EVICT)
        self._delete = redis.register_script(_DELETE)

    async def read(self, name: str, touch: bool = False) -> Session | None:
        raw = await self._read(keys=_keys(name)[:3], args=[name, "1" if touch else "0"])
        return _decode(raw) if raw else None

    async def append(self, session: Session, turns: list[dict[str, Any]]) -> int:
        """Add turns at the tail atomically (creating the session if needed); returns the verbatim count."""
        name = member(session.owner, session.session_id)
        args: list[Any] = [self.ttl_s, name, session.owner, session.session_id, session.epoch, self.max_turns]
        args += [json.dumps(t, ensure_ascii=False) for t in turns]
        return int(await self._append(keys=_keys(name)[:3], args=args))

    async def restore(self, session: Session) -> bool:
        """Load a session from the warm tier, unless one of that name is already hot."""
        name = member(session.owner, session.session_id)
        args: list[Any] = [self.ttl_s, name]
        for key, value in session.meta().items():
            args += [key, value]
        args += ["--", *(json.dumps(t, ensure_ascii=False) for t in session.turns)]
        return bool(await self._restore(keys=_keys(name)[:3], args=args))

    async def lock(self, name: str, token: str, ttl_s: int) -> bool:
        return bool(await self.redis.set(_keys(name)[3], token, nx=True, ex=ttl_s))

    async def unlock(self, name: str, token: str) -> None:
        await self._unlock(keys=[_keys(name)[3]], args=[token])

    async def fold(self, name: str, token: str, epoch: str, count: int, summary: str) -> bool:
        """Replace the oldest `count` turns by `summary`, if the lock and the session are still ours."""
        turns, meta, _, lock = _keys(name)
        return bool(await self._fold(keys=[turns, meta, lock], args=[token, epoch, count, summary]))

    async def idle(self, idle_s: float, limit: int) -> list[str]:
        names = await self._idle(keys=[IDLE], args=[idle_s, limit])
        return [n.decode() if isinstance(n, bytes) else n for n in names]

    async def evict(self, name: str, version: int, idle_s: float) -> bool:
        """Drop a moved session, unless it was used, changed or is being summarised meanwhile."""
        return bool(await self._evict(keys=_keys(name), args=[name, version, idle_s]))

    async def forget(self, name: str) -> None:
        """Drop an index entry whose session already expired."""
        await self.redis.zrem(IDLE, name)

    async def delete(self, name: str) -> bool:
        return bool(await self._delete(keys=_keys(name), args=[name]))
