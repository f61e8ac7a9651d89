"""Conversation memory for `session_id`: hot turns in Redis, summaries by the small tier, idle sessions in PostgreSQL.

- `hot`: the Redis store; every change is one Lua script, so replicas never lose each other's turns.
- `warm`: the PostgreSQL table idle sessions move to, and come back from on their next request.
- `conversation`: prompt assembly under the token budget, the summariser and the mover of idle sessions.
"""
