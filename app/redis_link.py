"""The limiter's own Redis connection: opened by redis-py, then read by hiredis straight from the transport.

Every request waits for one limiter round trip, so its cost is what the limits add to latency. redis-py's
asyncio connection reads a reply through a stream reader (a coroutine resumed per line) and writes through
a stream writer it drains; taking over the transport with a protocol whose `data_received` feeds hiredis's
reader and resolves the oldest waiting callback halved the round trip on this machine
(benchmarks/limits_benchmark.py, app/README.md "Performance").

redis-py still does everything a connection needs to start: the URL, TLS and its CA, AUTH with a password
or a credential provider (Entra tokens), SELECT. A reply always goes to the oldest command, so a caller that
stops waiting (a timeout, a cancelled request) never puts the connection out of step.
"""

import asyncio
import functools
from collections import deque
from collections.abc import Callable
from typing import Any

import hiredis
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError, ResponseError

#: called once per command with its reply, or with the exception that stands for it
Reply = Callable[[Any], None]


def resolve(future: asyncio.Future[Any], reply: Any) -> None:
    """Settle ``future`` with ``reply`` (raised when it is an exception), unless nobody waits for it any more."""
    if not future.done():
        if isinstance(reply, Exception):
            future.set_exception(reply)
        else:
            future.set_result(reply)


def _error(reply: hiredis.ReplyError) -> ResponseError:
    message = str(reply)
    return NoScriptError(message) if message.startswith("NOSCRIPT") else ResponseError(message)


class _Replies(asyncio.Protocol):
    """Parses replies as they arrive and hands each to the oldest command still waiting."""

    def __init__(self, previous: asyncio.BaseProtocol) -> None:
        self.previous = previous  # redis-py's stream protocol: told when the connection closes, so it can clean up
        self.reader = hiredis.Reader()
        self.waiting: deque[Reply] = deque()
        self.closed = False

    def data_received(self, data: bytes) -> None:
        self.reader.feed(data)
        while (reply := self.reader.gets()) is not False:
            self.waiting.popleft()(_error(reply) if isinstance(reply, hiredis.ReplyError) else reply)

    def eof_received(self) -> bool:
        return False  # the server closed its side: close ours too (connection_lost follows)

    def connection_lost(self, exc: Exception | None) -> None:
        self.fail(RedisConnectionError(f"Redis closed the connection ({exc or 'end of stream'})"))
        self.previous.connection_lost(exc)

    def fail(self, error: Exception) -> None:
        self.closed = True
        while self.waiting:
            self.waiting.popleft()(error)


class Link:
    """One connection from `redis`'s pool, for commands sent without awaiting anything but their reply."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self._connection: Any = None  # the redis-py connection whose socket this link reads
        self._transport: asyncio.WriteTransport | None = None
        self._replies: _Replies | None = None

    @property
    def ready(self) -> bool:
        """Open, so `send` goes out at once (otherwise `open` first)."""
        return self._replies is not None and not self._replies.closed

    async def open(self) -> None:
        """Connect (and authenticate) through redis-py, then read the socket here."""
        await self.close()
        connection = await self.redis.connection_pool.get_connection()
        writer = getattr(connection, "_writer", None)
        if writer is None:  # redis-py's asyncio Connection keeps its stream writer there (redis>=5)
            await self.redis.connection_pool.release(connection)
            raise RuntimeError("redis-py's connection exposes no stream writer to take the transport from")
        transport: asyncio.WriteTransport = writer.transport
        replies = _Replies(transport.get_protocol())
        transport.set_protocol(replies)
        self._connection, self._transport, self._replies = connection, transport, replies

    def send(self, command: tuple[Any, ...], on_reply: Reply) -> None:
        """Write `command`; `on_reply` gets its reply (or the error that ended the connection)."""
        assert self._transport is not None and self._replies is not None and self.ready
        self._replies.waiting.append(on_reply)
        self._transport.write(hiredis.pack_command(command))

    async def call(self, *command: Any) -> Any:
        """Send one command and wait for its reply (raised if it is an error)."""
        if not self.ready:
            await self.open()
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.send(command, functools.partial(resolve, future))
        return await future

    def abort(self, error: Exception) -> None:
        """Give up on the connection (a server that stopped answering): every waiting command gets `error`."""
        if self._replies is not None:
            self._replies.fail(error)
        if self._transport is not None:
            self._transport.abort()

    async def close(self) -> None:
        """Close the socket and return the (now disconnected) connection to its pool."""
        connection, self._connection = self._connection, None
        if self._transport is not None:
            self._transport.close()
        self._transport = self._replies = None
        if connection is not None:
            await connection.disconnect(nowait=True)
            await self.redis.connection_pool.release(connection)
