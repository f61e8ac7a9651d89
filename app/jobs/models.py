"""Job bodies (a generate, summarize or chat request that never streams) and the job status document."""

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from app.schemas import ChatCompletionRequest, GenerateRequest, SummarizeRequest

JobKind = Literal["generate", "summarize", "chat"]
JobState = Literal["queued", "running", "retrying", "succeeded", "failed", "dead_letter"]
TERMINAL: tuple[JobState, ...] = ("succeeded", "failed", "dead_letter")

# the synchronous route each kind runs through, so a job's result is exactly that route's answer
ROUTES: dict[str, str] = {"generate": "/generate", "summarize": "/summarize", "chat": "/v1/chat/completions"}
JOB_ID_PATTERN = r"^job_[0-9a-f]{32}$"
JOB_REQUESTS = ("GenerateJobRequest", "ChatJobRequest")  # OpenAPI components whose `model` lists the aliases


def _no_stream(value: bool) -> bool:
    if value:
        raise ValueError("a job's answer is stored, never streamed: leave stream out or set it to false")
    return value


# a strict boolean that must be false (Literal[False] would also take 0, since 0 == False in Python)
NoStream = Annotated[
    bool, AfterValidator(_no_stream), Field(description="Jobs never stream.", json_schema_extra={"enum": [False]})
]


class GenerateJobRequest(GenerateRequest):
    stream: NoStream = False


class ChatJobRequest(ChatCompletionRequest):
    """The Chat Completions body; inside a job (a native route) unknown fields are refused."""

    model_config = ConfigDict(extra="forbid", strict=True)
    stream: NoStream = False


class _JobBody(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class GenerateJob(_JobBody):
    kind: Literal["generate"]
    request: GenerateJobRequest


class SummarizeJob(_JobBody):
    kind: Literal["summarize"]
    request: SummarizeRequest


class ChatJob(_JobBody):
    kind: Literal["chat"]
    request: ChatJobRequest


JobRequest = Annotated[GenerateJob | SummarizeJob | ChatJob, Field(discriminator="kind")]


class JobError(BaseModel):
    status: int = Field(description="The HTTP status the synchronous route would have answered.")
    message: str


class JobStatus(BaseModel):
    id: str
    kind: JobKind
    status: JobState = Field(
        description="queued, running, retrying (failed, waiting for its next attempt), succeeded, failed "
        "(a permanent error: not retried) or dead_letter (every attempt failed; moved to the dead letter)"
    )
    attempts: int
    created_at: float
    updated_at: float
    expires_at: float = Field(description="Unix time after which the job and its result are gone (404).")
    result: dict[str, Any] | None = Field(
        None, description="When succeeded: the JSON the synchronous route answers (/generate, /summarize or chat)."
    )
    error: JobError | None = None
