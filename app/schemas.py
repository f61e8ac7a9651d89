"""Request and response bodies; the limits here are what the OpenAPI schema and the 422s report."""

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

from app.memory.schemas import SessionId
from app.providers.base import ChatRequest


def _whole_number(value: object) -> object:
    """JSON Schema counts 3.0 as an integer; accept it as 3 and nothing looser."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


Int = Annotated[int, BeforeValidator(_whole_number)]
TokenCount = Annotated[
    int, Field(ge=1, le=128_000), BeforeValidator(_whole_number)
]  # this order keeps the bounds in the schema


# The retrieval option and the cited sources (models at the end of this file)
def _absent(value: object) -> bool:
    return value is None


SOURCES_FIELD = Field(
    None,
    exclude_if=_absent,
    description="With `retrieval`: the chunks the answer was grounded on (also their ids in X-Sources).",
)
RETRIEVAL_FIELD = Field(None, description="Retrieve the caller's documents and answer from them (cites `sources`).")


class _Body(BaseModel):
    """Strict: no silent coercion (e.g. `false` is not a number), unknown fields rejected, and no
    NaN or infinity (not JSON numbers: `NaN`, `1e400`)."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)


class GenerateRequest(_Body):
    prompt: str = Field(min_length=1, max_length=10_000, description="The prompt, 1 to 10,000 characters.")
    max_tokens: Annotated[int, Field(ge=1, le=4000), BeforeValidator(_whole_number)] = 1000
    temperature: float = Field(0.7, ge=0, le=2)
    stream: bool = False
    model: str | None = Field(
        None, min_length=1, max_length=200, description="Alias, tier or 'auto'; default from the routing table."
    )
    session_id: SessionId | None = None  # conversation memory (app/memory/)
    retrieval: "RetrievalOptions | None" = RETRIEVAL_FIELD

    def to_chat(self) -> ChatRequest:
        return ChatRequest([{"role": "user", "content": self.prompt}], self.max_tokens, self.temperature)


class UsageOut(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class GenerateResponse(BaseModel):
    id: str
    model: str
    text: str
    finish_reason: str
    usage: UsageOut
    cached: bool
    sources: "list[Source] | None" = SOURCES_FIELD


SUMMARY_PROMPT = (
    "Summarize the text below in exactly three bullet points, one line each, each starting with '- '. "
    "Reply with the three bullet points only.\n\nText:\n"
)


class SummarizeRequest(_Body):
    text: str = Field(min_length=1, max_length=50_000, description="The text to summarize, up to 50,000 characters.")
    model: str | None = Field(None, min_length=1, max_length=200)

    def to_chat(self) -> ChatRequest:
        return ChatRequest([{"role": "user", "content": SUMMARY_PROMPT + self.text}], 400, 0.0)


class SummarizeResponse(BaseModel):
    id: str
    model: str
    bullets: list[str] = Field(min_length=3, max_length=3)
    usage: UsageOut
    cached: bool


class TextPart(BaseModel):
    model_config = ConfigDict(strict=True)
    type: Literal["text"]
    text: str


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)
    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[TextPart] | None = None
    name: str | None = None

    def text(self) -> str:
        if isinstance(self.content, list):
            return "".join(part.text for part in self.content)
        return self.content or ""


class StreamOptions(BaseModel):
    model_config = ConfigDict(strict=True)
    include_usage: bool = False


class ChatCompletionRequest(BaseModel):
    """The OpenAI Chat Completions request; unknown fields are ignored, unsupported ones rejected."""

    model_config = ConfigDict(extra="ignore", strict=True, allow_inf_nan=False)
    model: str = Field(min_length=1, max_length=200)
    messages: list[ChatMessage] = Field(min_length=1, max_length=1000)
    max_tokens: TokenCount | None = None
    max_completion_tokens: TokenCount | None = None
    temperature: float | None = Field(None, ge=0, le=2)
    top_p: float | None = Field(None, ge=0, le=1)
    n: Literal[1] = 1
    stop: str | Annotated[list[str], Field(max_length=4)] | None = None
    stream: bool = False
    stream_options: StreamOptions | None = None
    seed: Int | None = None
    presence_penalty: float | None = Field(None, ge=-2, le=2)
    frequency_penalty: float | None = Field(None, ge=-2, le=2)
    user: str | None = Field(None, max_length=256)
    session_id: SessionId | None = None  # extension (OpenAI clients: extra_body); conversation memory
    retrieval: "RetrievalOptions | None" = RETRIEVAL_FIELD

    @field_validator("messages")
    @classmethod
    def _total_size(cls, messages: list[ChatMessage]) -> list[ChatMessage]:
        size = sum(len(m.text()) for m in messages)
        if size > 1_000_000:
            raise ValueError(f"messages hold {size} characters; at most 1,000,000 are allowed")
        return messages

    def to_chat(self) -> ChatRequest:
        stop = [self.stop] if isinstance(self.stop, str) else self.stop
        return ChatRequest(
            [{"role": m.role, "content": m.text()} for m in self.messages],
            self.max_completion_tokens or self.max_tokens,
            self.temperature,
            self.top_p,
            stop,
            self.seed,
            self.presence_penalty,
            self.frequency_penalty,
        )


class ChoiceMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str


class Choice(BaseModel):
    index: int = 0
    message: ChoiceMessage
    finish_reason: str


class ChatCompletion(BaseModel):
    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[Choice]
    usage: UsageOut
    sources: "list[Source] | None" = SOURCES_FIELD


class ModelCard(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int = 0
    owned_by: str


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelCard]


class CheckResult(BaseModel):
    status: Literal["ready", "not_ready"]
    checks: dict[str, str]


# PostgreSQL text cannot hold NUL characters, so documents and queries may not contain them.
NO_NUL = r"^[^\x00]*$"

# --- Retrieval-augmented generation (app/retrieval/) ------------------------------------------
MetadataKey = Annotated[str, Field(min_length=1, max_length=64, pattern=NO_NUL)]
MetadataValue = (
    Annotated[str, Field(max_length=1000, pattern=NO_NUL)]
    | bool
    | Annotated[int, Field(ge=-(2**53), le=2**53)]
    | Annotated[float, Field(allow_inf_nan=False)]
)


def _key_pattern_in_property_names(schema: dict[str, Any]) -> None:
    """Pydantic states a key pattern as patternProperties, which admits other keys: say it in propertyNames."""
    ((pattern, values),) = schema.pop("patternProperties").items()
    schema["propertyNames"]["pattern"] = pattern
    schema["additionalProperties"] = values


Metadata = Annotated[
    dict[MetadataKey, MetadataValue],
    Field(
        max_length=32,
        description="Flat metadata: up to 32 keys, each a string, number or boolean.",
        json_schema_extra=_key_pattern_in_property_names,
    ),
]


class DocumentIn(_Body):
    text: str = Field(min_length=1, max_length=200_000, pattern=NO_NUL, description="Split into chunks on ingestion.")
    metadata: Metadata = Field(default_factory=dict)


class DocumentsRequest(_Body):
    documents: list[DocumentIn] = Field(min_length=1, max_length=64)


class DocumentAdded(BaseModel):
    id: str
    chunk_ids: list[str]


class DocumentsResponse(BaseModel):
    documents: list[DocumentAdded]


class DocumentInfo(BaseModel):
    id: str
    metadata: dict[str, str | bool | int | float]
    chunks: int
    chars: int
    created_at: datetime


class DocumentList(BaseModel):
    documents: list[DocumentInfo]
    next_cursor: int | None = Field(description="Pass as `cursor` for the next page; null on the last page.")


class RetrievalOptions(_Body):
    """Which of the caller's chunks to retrieve: the k nearest with at least `min_score` that match `filter`."""

    k: Annotated[int, Field(ge=1, le=50), BeforeValidator(_whole_number)] = 4
    min_score: float = Field(0.0, ge=-1, le=1, description="Minimum cosine similarity, -1 to 1.")
    filter: Metadata = Field(default_factory=dict, description="Only chunks whose document metadata has these values.")


class SearchRequest(RetrievalOptions):
    query: str = Field(min_length=1, max_length=10_000, pattern=NO_NUL)


class Source(BaseModel):
    """A retrieved chunk, as cited by retrieval-augmented answers (the `sources` field and X-Sources)."""

    id: str
    document_id: str
    score: float
    text: str
    metadata: dict[str, str | bool | int | float]


class SearchResponse(BaseModel):
    results: list[Source]


for _model in (GenerateRequest, GenerateResponse, ChatCompletionRequest, ChatCompletion):
    _model.model_rebuild()  # their retrieval fields refer to the models above
