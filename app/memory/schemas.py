"""The session id and the bodies of the session routes."""

from typing import Annotated, Literal

from pydantic import BaseModel, Field

SESSION_ID_PATTERN = r"^[A-Za-z0-9._:-]{1,128}$"
SessionId = Annotated[
    str,
    Field(
        min_length=1,
        max_length=128,
        pattern=SESSION_ID_PATTERN,
        description="A conversation chosen by the caller: 1-128 of A-Z a-z 0-9 . _ : -",
    ),
]


class SessionTurn(BaseModel):
    role: str
    content: str
    at: float = Field(description="Unix time the turn was stored")


class SessionOut(BaseModel):
    id: str
    tier: Literal["hot", "warm"] = Field(description="hot: in Redis; warm: moved to PostgreSQL after idling")
    summary: str = Field(description="Summary of the older turns (empty until the first summary)")
    summarized_turns: int = Field(description="How many older turns the summary covers")
    dropped_turns: int = Field(description="Turns dropped unsummarised at the APP_MEMORY_MAX_TURNS cap")
    turns: list[SessionTurn] = Field(description="The recent turns, verbatim, oldest first")
    created_at: float
    updated_at: float
