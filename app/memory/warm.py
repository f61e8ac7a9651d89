"""The warm tier: sessions idle past APP_MEMORY_HOT_IDLE_S, in PostgreSQL until used again or expired.

The table `mem_sessions` is created at start-up if missing. Turns are kept as JSON text, not jsonb:
JSON escapes a NUL character, which PostgreSQL text and jsonb cannot hold. A row is written only if it is newer
than the one there (last use, then version), so a slow mover never overwrites a fresher copy.
"""

import json
from typing import Any

from app.memory.hot import Session

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS mem_sessions ("
    " owner text NOT NULL, session_id text NOT NULL, epoch text NOT NULL, version bigint NOT NULL,"
    " summary text NOT NULL, folded integer NOT NULL, dropped integer NOT NULL, turns text NOT NULL,"
    " created_at double precision NOT NULL, updated_at double precision NOT NULL,"
    " PRIMARY KEY (owner, session_id))",
    "CREATE INDEX IF NOT EXISTS mem_sessions_updated ON mem_sessions (updated_at)",
)


def _session(row: Any) -> Session:
    return Session(
        owner=row["owner"],
        session_id=row["session_id"],
        epoch=row["epoch"],
        version=row["version"],
        summary=row["summary"],
        folded=row["folded"],
        dropped=row["dropped"],
        created=row["created_at"],
        updated=row["updated_at"],
        turns=json.loads(row["turns"]),
    )


class WarmStore:
    def __init__(self, pool: Any) -> None:
        self.pool = pool

    @classmethod
    async def create(cls, pool: Any) -> "WarmStore":
        async with pool.acquire() as conn:
            for statement in _SCHEMA:
                await conn.execute(statement)
        return cls(pool)

    async def put(self, s: Session) -> None:
        await self.pool.execute(
            "INSERT INTO mem_sessions (owner, session_id, epoch, version, summary, folded, dropped, turns, "
            "created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) "
            "ON CONFLICT (owner, session_id) DO UPDATE SET epoch = EXCLUDED.epoch, version = EXCLUDED.version, "
            "summary = EXCLUDED.summary, folded = EXCLUDED.folded, dropped = EXCLUDED.dropped, "
            "turns = EXCLUDED.turns, created_at = EXCLUDED.created_at, updated_at = EXCLUDED.updated_at "
            "WHERE (mem_sessions.updated_at, mem_sessions.version) < (EXCLUDED.updated_at, EXCLUDED.version)",
            s.owner,
            s.session_id,
            s.epoch,
            s.version,
            s.summary.replace("\x00", ""),
            s.folded,
            s.dropped,
            json.dumps(s.turns, ensure_ascii=False),
            s.created,
            s.updated,
        )

    async def get(self, owner: str, session_id: str, not_before: float) -> Session | None:
        """The caller's session, unless it was last used before `not_before` (expired)."""
        row = await self.pool.fetchrow(
            "SELECT owner, session_id, epoch, version, summary, folded, dropped, turns, created_at, updated_at "
            "FROM mem_sessions WHERE owner = $1 AND session_id = $2 AND updated_at >= $3",
            owner,
            session_id,
            not_before,
        )
        return _session(row) if row else None

    async def remove(self, s: Session) -> None:
        """Drop the row that was restored into Redis (not a newer one written meanwhile)."""
        await self.pool.execute(
            "DELETE FROM mem_sessions WHERE owner = $1 AND session_id = $2 AND epoch = $3 AND version = $4",
            s.owner,
            s.session_id,
            s.epoch,
            s.version,
        )

    async def delete(self, owner: str, session_id: str) -> bool:
        status = await self.pool.execute(
            "DELETE FROM mem_sessions WHERE owner = $1 AND session_id = $2", owner, session_id
        )
        return status != "DELETE 0"

    async def expire(self, not_before: float) -> int:
        status = await self.pool.execute("DELETE FROM mem_sessions WHERE updated_at < $1", not_before)
        return int(status.rsplit(" ", 1)[-1])
