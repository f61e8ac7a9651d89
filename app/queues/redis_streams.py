"""Redis Streams (Kubernetes and local runs): a consumer group; leases are reclaimed with XAUTOCLAIM.

A message delivered to a worker stays in the group's pending entries until XACK. When a worker
dies, its entries go idle and, once idle longer than the lease, the next `receive` of any
worker claims them. Delays (retry later) wait in a sorted set and are moved back onto the
stream when due. Acked entries are deleted, so the stream holds only unfinished work. The Redis client is the
app's own (closed by the app).
"""

import os
import socket
import uuid
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError, ResponseError

from app.queues.base import Message, Queue, QueueError

GROUP = "ai-workers"
MAX_BLOCK_MS = 1000  # below the app client's 2 s socket timeout: a blocking read never looks like a dead socket

# Move due delayed messages onto the stream (Redis's clock, so every worker agrees).
PROMOTE_LUA = """
local now = redis.call('TIME')
local ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local due = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ms, 'LIMIT', 0, 100)
for _, member in ipairs(due) do
  local sep = string.find(member, '|', 1, true)
  redis.call('XADD', KEYS[1], '*', 'b', string.sub(member, sep + 1))
  redis.call('ZREM', KEYS[2], member)
end
return #due
"""

# Renew a lease: reset the entry's idle time, but only while this consumer still holds it
# (a worker that stalled past its lease must not take back an entry another worker now runs).
EXTEND_LUA = """
local pending = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[2], ARGV[2], 1)
if #pending == 0 or pending[1][2] ~= ARGV[3] then return 0 end
redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[3], 0, ARGV[2], 'JUSTID')
return 1
"""

# Take an entry off the stream and park it in the delayed set until now + ARGV[3] ms.
DELAY_LUA = """
local now = redis.call('TIME')
local ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
redis.call('ZADD', KEYS[2], ms + tonumber(ARGV[3]), ARGV[2])
redis.call('XACK', KEYS[1], ARGV[4], ARGV[1])
redis.call('XDEL', KEYS[1], ARGV[1])
return 1
"""


class RedisStreamQueue(Queue):
    backend = "redis"

    def __init__(self, redis: Redis, stream: str, dead_letter: str | None = None) -> None:
        self.redis = redis
        self.name = stream
        self.delayed = f"{stream}:delayed"
        self.dead = dead_letter or f"{stream}:dead"
        self.consumer = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self._promote = redis.register_script(PROMOTE_LUA)
        self._delay = redis.register_script(DELAY_LUA)
        self._extend = redis.register_script(EXTEND_LUA)
        self._group_ready = False

    async def _ensure_group(self) -> None:
        """Create the group at id 0, so messages sent before any worker started are consumed too."""
        if self._group_ready:
            return
        try:
            await self.redis.xgroup_create(self.name, GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        self._group_ready = True

    async def send(self, body: bytes) -> str:
        try:
            await self._ensure_group()
            entry = await self.redis.xadd(self.name, {"b": body})
        except RedisError as exc:
            raise QueueError(f"redis stream {self.name}: {exc}") from exc
        return entry.decode() if isinstance(entry, bytes) else str(entry)

    async def receive(self, max_messages: int, lease_s: int, wait_s: float) -> list[Message]:
        try:
            await self._ensure_group()
            await self._promote(keys=[self.name, self.delayed])
            # entries idle longer than the lease belong to a dead (or stuck) worker: take them over
            _next, claimed, *_ = await self.redis.xautoclaim(
                self.name, GROUP, self.consumer, min_idle_time=lease_s * 1000, start_id="0-0", count=max_messages
            )
            entries: list[Any] = list(claimed)
            if len(entries) < max_messages:
                read: Any = await self.redis.xreadgroup(
                    GROUP,
                    self.consumer,
                    {self.name: ">"},
                    count=max_messages - len(entries),
                    block=max(1, min(MAX_BLOCK_MS, int(wait_s * 1000))) if not entries else None,
                )
                for _stream, fresh in read or []:
                    entries.extend(fresh)
        except RedisError as exc:
            raise QueueError(f"redis stream {self.name}: {exc}") from exc
        out = []
        for entry_id, fields in entries:
            ident = entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)
            out.append(Message(ident, fields[b"b"], ident))
        return out

    async def extend(self, message: Message, lease_s: int) -> None:
        try:
            held = await self._extend(keys=[self.name], args=[GROUP, message.handle, self.consumer])
        except RedisError as exc:
            raise QueueError(f"redis stream {self.name}: {exc}") from exc
        if not held:
            raise QueueError(f"redis stream {self.name}: entry {message.id} is no longer leased to this worker")

    async def ack(self, message: Message) -> None:
        try:
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.xack(self.name, GROUP, message.handle)
                pipe.xdel(self.name, message.handle)
                await pipe.execute()
        except RedisError as exc:
            raise QueueError(f"redis stream {self.name}: {exc}") from exc

    async def retry_later(self, message: Message, delay_s: float) -> None:
        member = f"{uuid.uuid4().hex}|".encode() + message.body
        try:
            await self._delay(keys=[self.name, self.delayed], args=[message.handle, member, int(delay_s * 1000), GROUP])
        except RedisError as exc:
            raise QueueError(f"redis stream {self.name}: {exc}") from exc

    async def dead_letter(self, message: Message, reason: str) -> None:
        try:
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.xadd(self.dead, {"b": message.body, "reason": reason[:1000]})
                pipe.xack(self.name, GROUP, message.handle)
                pipe.xdel(self.name, message.handle)
                await pipe.execute()
        except RedisError as exc:
            raise QueueError(f"redis stream {self.name}: {exc}") from exc

    async def depth(self) -> int:
        """Entries not yet delivered: the stream's length less the pending (in-flight) ones."""
        try:
            await self._ensure_group()
            async with self.redis.pipeline(transaction=False) as pipe:
                pipe.xlen(self.name)
                pipe.xpending(self.name, GROUP)
                length, pending = await pipe.execute()
        except RedisError as exc:
            raise QueueError(f"redis stream {self.name}: {exc}") from exc
        return max(0, int(length) - int(pending["pending"]))
