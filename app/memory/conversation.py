"""One conversation's path: restore, assemble the prompt under the token budget, record, summarise, move.

The prompt sent upstream is the request's system messages, the session's summary, as many of
the most recent turns as fit APP_MEMORY_TOKEN_BUDGET (estimated tokens), then the new messages.
After a successful answer the new turns and the answer are appended; once twice
APP_MEMORY_RECENT_TURNS are held, the older ones are folded into the summary by the small tier,
in the background, through the gateway (same limits, fallback and accounting as any call).
Sessions idle past APP_MEMORY_HOT_IDLE_S move to PostgreSQL and come back on their next request.
"""

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import asyncpg
from fastapi import HTTPException
from fastapi.exceptions import RequestValidationError
from redis.asyncio import Redis
from redis.exceptions import RedisError

from app.auth import Principal
from app.memory.hot import HotStore, Session, member
from app.memory.warm import WarmStore
from app.providers.base import ChatRequest, Delta, estimate_tokens
from app.resilience import StreamStart
from app.routing import TIERS, RoutingConfig
from app.service import Gateway
from app.settings import Settings, SettingsError

log = logging.getLogger("app.memory")

SUMMARY_HEADER = "Summary of the earlier conversation:\n"
SUMMARISE_INSTRUCTIONS = (
    "You keep a running summary of a conversation between a user and an assistant. Merge the new turns "
    "into the summary so far. Keep names, numbers, facts, decisions, preferences and open questions; drop "
    "small talk. Write plain sentences, at most {words} words. Reply with the summary only."
)
SYSTEM_ROLES = ("system", "developer")
SWEEP_BATCH = 100  # sessions per look at the idle index
SWEEP_ROUNDS = 10  # looks per sweep at most, so sessions that cannot move now never keep a sweep going
DOWN = (RedisError, asyncpg.PostgresError, asyncpg.InterfaceError, OSError)  # a store failed: 503, never 500


def summary_alias(routing: RoutingConfig, wanted: str | None) -> str:
    """The alias summaries go to: APP_MEMORY_SUMMARY_MODEL, else the smallest tier, else the default model."""
    if wanted is not None:
        if wanted in routing.models:
            return wanted
        tiers: dict[str, str] = {str(tier): alias for tier, alias in routing.tiers.items()}
        if wanted in tiers:
            return tiers[wanted]
        raise SettingsError(
            f"APP_MEMORY_SUMMARY_MODEL={wanted!r} is not a model alias or configured tier of the routing table "
            f"({', '.join([*routing.models, *routing.tiers]) or 'none'})"
        )
    for tier in TIERS:
        if tier in routing.tiers:
            return routing.tiers[tier]
    if routing.default_model and routing.default_model in routing.models:
        return routing.default_model
    raise SettingsError(
        "conversation memory needs a model for summaries: configure tiers.small in the routing table, "
        "set APP_MEMORY_SUMMARY_MODEL, or turn memory off with APP_MEMORY_ENABLED=false"
    )


def tokens(messages: list[dict[str, Any]]) -> int:
    """The app's token estimate (4 characters a token), per message."""
    return sum(estimate_tokens(len(m["content"])) for m in messages)


def _refuse(field_name: str, value: object, message: str) -> RequestValidationError:
    return RequestValidationError(
        [{"type": "value_error", "loc": ("body", field_name), "msg": message, "input": value}]
    )


def assemble(
    summary: str, turns: list[dict[str, Any]], new: list[dict[str, str]], budget: int, field_name: str
) -> list[dict[str, str]]:
    """System messages, summary, the newest turns that fit, the new messages: at most `budget` tokens."""
    used = tokens(new)
    if used > budget:
        raise _refuse(
            field_name,
            f"{used} estimated tokens",
            f"the new messages alone are about {used} tokens; with session_id at most {budget} "
            "(APP_MEMORY_TOKEN_BUDGET) are allowed",
        )
    context: list[dict[str, str]] = []
    if summary:
        note = {"role": "system", "content": SUMMARY_HEADER + summary}
        if used + tokens([note]) <= budget:
            context.append(note)
            used += tokens([note])
    recent: list[dict[str, str]] = []
    for turn in reversed(turns):
        message = {"role": turn["role"], "content": turn["content"]}
        cost = tokens([message])
        if used + cost > budget:
            break
        recent.append(message)
        used += cost
    system = [m for m in new if m["role"] in SYSTEM_ROLES]
    rest = [m for m in new if m["role"] not in SYSTEM_ROLES]
    return [*system, *context, *reversed(recent), *rest]


def summary_request(summary: str, turns: list[dict[str, Any]], settings: Settings) -> ChatRequest:
    """The summariser's prompt; each folded turn is clipped so the whole stays within the token budget."""
    share = max(200, settings.memory_token_budget * 4 // max(1, len(turns)))
    lines = []
    for turn in turns:
        content = turn["content"]
        if len(content) > share:
            content = content[:share] + " [...]"
        lines.append(f"{turn['role']}: {content}")
    words = max(20, settings.memory_summary_max_tokens * 3 // 4)
    return ChatRequest(
        [
            {"role": "system", "content": SUMMARISE_INSTRUCTIONS.format(words=words)},
            {
                "role": "user",
                "content": f"Summary so far:\n{summary or '(none yet)'}\n\nNew turns:\n" + "\n".join(lines),
            },
        ],
        max_tokens=settings.memory_summary_max_tokens,
        temperature=0.0,
    )


@contextlib.contextmanager
def _unavailable() -> Iterator[None]:
    """A Redis or PostgreSQL failure is a 503, never a 500."""
    try:
        yield
    except DOWN as exc:
        log.error("conversation memory unavailable: %s", exc)
        raise HTTPException(503, "conversation memory is unavailable", headers={"retry-after": "1"}) from None


@dataclass(slots=True)
class Exchange:
    """One request's view of its session: the prompt to send, and what to store after success."""

    request: ChatRequest
    memory: "Memory | None" = None
    principal: Principal | None = None
    ip: str = ""
    session: Session | None = None
    new_turns: list[dict[str, Any]] = field(default_factory=list)

    async def record(self, answer: str) -> None:
        if self.memory is not None:
            await self.memory.record(self, answer)

    def watch(self, start: StreamStart) -> StreamStart:
        """The same stream; the answer is recorded once it ends normally (not if it breaks or is cut)."""
        if self.memory is None:
            return start
        return replace(start, rest=self._recording(start.first, start.rest))

    async def _recording(self, first: Delta, rest: AsyncIterator[Delta]) -> AsyncIterator[Delta]:
        parts = [first.text]
        try:
            async for delta in rest:
                parts.append(delta.text)
                yield delta
        finally:
            aclose = getattr(rest, "aclose", None)
            if aclose is not None:
                await aclose()
        await self.record("".join(parts))


def owner(principal: Principal) -> str:
    """Whose sessions these are; anonymous callers (APP_AUTH_REQUIRED=false) cannot be told apart, so none."""
    if principal.kind == "anonymous":
        raise HTTPException(
            401,
            "conversation memory needs credentials: anonymous callers cannot be told apart",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return principal.id


async def begin(
    memory: "Memory | None",
    principal: Principal,
    ip: str,
    session_id: str | None,
    request: ChatRequest,
    field_name: str,
) -> Exchange:
    """Without a session_id the request passes unchanged; with one, it carries the session's context."""
    if session_id is None:
        return Exchange(request)
    if memory is None:
        raise _refuse(
            "session_id", session_id, "conversation memory is off here (it needs APP_REDIS_URL and APP_MEMORY_ENABLED)"
        )
    return await memory.begin(principal, ip, session_id, request, field_name)


class Memory:
    def __init__(self, settings: Settings, hot: HotStore, warm: WarmStore | None, gateway: Gateway, alias: str) -> None:
        self.settings = settings
        self.hot = hot
        self.warm = warm
        self.gateway = gateway
        self.alias = alias
        self._tasks: set[asyncio.Task[Any]] = set()
        self._mover: asyncio.Task[None] | None = None

    @classmethod
    async def start(
        cls, settings: Settings, redis: Redis, pool: Any, gateway: Gateway, routing: RoutingConfig
    ) -> "Memory":
        """Create the warm table (if PostgreSQL is configured) and start this replica's mover."""
        warm = await WarmStore.create(pool) if pool is not None else None
        hot = HotStore(redis, settings.memory_session_ttl_s, settings.memory_max_turns)
        memory = cls(settings, hot, warm, gateway, summary_alias(routing, settings.memory_summary_model))
        memory._mover = asyncio.create_task(memory._move_forever(), name="memory-mover")
        return memory

    async def close(self) -> None:
        if self._mover is not None:
            self._mover.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._mover
        if self._tasks:
            _, pending = await asyncio.wait(self._tasks, timeout=10)
            for task in pending:
                task.cancel()

    def _expired_before(self) -> float:
        return time.time() - self.settings.memory_session_ttl_s

    async def begin(
        self, principal: Principal, ip: str, session_id: str, request: ChatRequest, field_name: str
    ) -> Exchange:
        caller = owner(principal)
        name = member(caller, session_id)
        with _unavailable():
            session = await self.hot.read(name, touch=True)
            if session is None and self.warm is not None:
                stored = await self.warm.get(caller, session_id, self._expired_before())
                if stored is not None:
                    if await self.hot.restore(stored):
                        await self.warm.remove(stored)
                    session = await self.hot.read(name, touch=True)
        if session is None:
            session = Session(caller, session_id, uuid.uuid4().hex)
        now = time.time()
        new_turns = [
            {"role": m["role"], "content": m["content"], "at": now}
            for m in request.messages
            if m["role"] not in SYSTEM_ROLES
        ]
        messages = assemble(
            session.summary, session.turns, request.messages, self.settings.memory_token_budget, field_name
        )
        return Exchange(replace(request, messages=messages), self, principal, ip, session, new_turns)

    async def record(self, exchange: Exchange, answer: str) -> None:
        """Append after success; a storage failure now is logged, the answer still goes out."""
        assert exchange.session is not None and exchange.principal is not None
        turns = [*exchange.new_turns, {"role": "assistant", "content": answer, "at": time.time()}]
        try:
            held = await self.hot.append(exchange.session, turns)
        except RedisError as exc:
            log.error("could not store the turns of a session: %s", exc)
            return
        if held >= 2 * self.settings.memory_recent_turns:
            name = member(exchange.session.owner, exchange.session.session_id)
            task = asyncio.create_task(self.summarise(exchange.principal, exchange.ip, name))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def summarise(self, principal: Principal, ip: str, name: str) -> bool:
        """Fold all but the recent turns into the summary; one replica at a time per session."""
        token = uuid.uuid4().hex
        try:
            if not await self.hot.lock(name, token, int(self.settings.request_timeout_s) + 30):
                return False
            try:
                session = await self.hot.read(name)
                count = len(session.turns) - self.settings.memory_recent_turns if session else 0
                if session is None or count <= 0:
                    return False
                request = summary_request(session.summary, session.turns[:count], self.settings)
                call = await self.gateway.admit(principal, ip, self.alias, request, "model")
                text = (await self.gateway.complete(call)).text.strip()
                if not text:
                    log.warning("the summary model answered with nothing; the turns stay verbatim")
                    return False
                return await self.hot.fold(name, token, session.epoch, count, text)
            finally:
                await self.hot.unlock(name, token)
        except (HTTPException, RequestValidationError, RedisError) as exc:
            log.warning("could not summarise a session: %s", getattr(exc, "detail", exc))
            return False

    async def get(self, owner: str, session_id: str) -> tuple[Session, Literal["hot", "warm"]] | None:
        with _unavailable():
            session = await self.hot.read(member(owner, session_id))
            if session is not None:
                return session, "hot"
            if self.warm is not None:
                stored = await self.warm.get(owner, session_id, self._expired_before())
                if stored is not None:
                    return stored, "warm"
        return None

    async def delete(self, owner: str, session_id: str) -> bool:
        with _unavailable():
            hot = await self.hot.delete(member(owner, session_id))
            warm = await self.warm.delete(owner, session_id) if self.warm is not None else False
        return hot or warm

    async def sweep(self) -> int:
        """Move sessions idle past APP_MEMORY_HOT_IDLE_S to PostgreSQL; drop expired ones. Returns moved."""
        idle_s = self.settings.memory_hot_idle_s if self.warm is not None else self.settings.memory_session_ttl_s
        moved = 0
        for _ in range(SWEEP_ROUNDS):
            names = await self.hot.idle(idle_s, SWEEP_BATCH)
            for name in names:
                session = await self.hot.read(name)
                if session is None:  # expired in Redis
                    await self.hot.forget(name)
                    continue
                if self.warm is not None:
                    await self.warm.put(session)
                    moved += await self.hot.evict(name, session.version, idle_s)
            if len(names) < SWEEP_BATCH:
                break
        if self.warm is not None:
            await self.warm.expire(self._expired_before())
        return moved

    async def _move_forever(self) -> None:
        while True:
            await asyncio.sleep(self.settings.memory_sweep_s)
            try:
                moved = await self.sweep()
            except DOWN as exc:
                log.warning("moving idle sessions failed: %s", exc)
                continue
            if moved:
                log.info("moved idle sessions to PostgreSQL", extra={"sessions": moved})
