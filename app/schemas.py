"""Request and response bodies; the limits here are what the OpenAPI schema and the 422s report."""

from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

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


class DocumentsRequest(_Body):
    texts: list[Annotated[str, Field(min_length=1, max_length=20_000, pattern=NO_NUL)]] = Field(
        min_length=1, max_length=64
    )


class DocumentsResponse(BaseModel):
    ids: list[int]


class SearchRequest(_Body):
    query: str = Field(min_length=1, max_length=10_000, pattern=NO_NUL)
    k: Annotated[int, Field(ge=1, le=50), BeforeValidator(_whole_number)] = 5


class SearchHit(BaseModel):
    id: int
    text: str
    score: float


class SearchResponse(BaseModel):
    results: list[SearchHit]
