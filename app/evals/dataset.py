"""The golden dataset: one JSON object a line, validated strictly so a typo never silently skips a check."""

import json
import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator


class DatasetError(ValueError):
    """A dataset that cannot be used; the message names the file, the line and the field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class Message(_Strict):
    role: Literal["system", "developer", "user", "assistant"]
    content: str = Field(min_length=1)


class FormatSpec(_Strict):
    """What the answer must look like; every given check counts equally in the format score."""

    bullets: Annotated[int, Field(ge=1, le=50)] | None = None  # exactly this many "- " / "1." lines
    json_object: bool = False  # the answer parses as a JSON object
    regex: str | None = None  # the answer contains a match (Python `re`, searched)
    max_chars: Annotated[int, Field(ge=1)] | None = None

    @model_validator(mode="after")
    def _regex_compiles(self) -> "FormatSpec":
        if self.regex is not None:
            try:
                re.compile(self.regex)
            except re.error as exc:
                raise ValueError(f"regex {self.regex!r} does not compile: {exc}") from None
        return self


class Item(_Strict):
    """One question; `prompt` goes to POST /generate, `messages` to POST /v1/chat/completions."""

    id: str = Field(min_length=1, max_length=200)
    prompt: str | None = Field(None, min_length=1, max_length=10_000)
    messages: list[Message] | None = Field(None, min_length=1)
    model: str | None = Field(None, min_length=1, max_length=200)
    max_tokens: Annotated[int, Field(ge=1, le=4000)] = 256
    temperature: Annotated[float, Field(ge=0, le=2)] = 0.0
    stream: bool = False  # ask for SSE: the time to the first text is measured too
    params: dict[str, Any] = Field(default_factory=dict)  # extra body fields, e.g. a deployment's retrieval options
    reference: str | None = Field(None, min_length=1)  # an expected answer: relevance by token overlap
    must_include: list[Annotated[str, Field(min_length=1)]] = Field(default_factory=list)
    must_not_include: list[Annotated[str, Field(min_length=1)]] = Field(default_factory=list)
    format: FormatSpec | None = None
    expect_sources: bool = False  # a retrieval answer: no `sources` scores groundedness 0
    tags: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _one_input(self) -> "Item":
        if (self.prompt is None) == (self.messages is None):
            raise ValueError("give exactly one of `prompt` (POST /generate) and `messages` (POST /v1/chat/completions)")
        reserved = {"prompt", "messages", "model", "max_tokens", "temperature", "stream"} & self.params.keys()
        if reserved:
            raise ValueError(f"params may not set {sorted(reserved)}: they are item fields")
        return self

    @property
    def endpoint(self) -> Literal["generate", "chat"]:
        return "generate" if self.prompt is not None else "chat"

    def question(self) -> str:
        """The text a judge reads as the question."""
        if self.prompt is not None:
            return self.prompt
        return "\n".join(f"{m.role}: {m.content}" for m in self.messages or [])


def _describe(path: Path, line: int, error: ValidationError) -> str:
    parts = []
    for e in error.errors():
        field = ".".join(str(p) for p in e["loc"]) or "(the object)"
        value = e.get("input")
        shown = "" if isinstance(value, dict) else f" (got {json.dumps(value, default=str)[:80]})"
        parts.append(f"{path} line {line}: field {field}{shown}: {e['msg']}")
    return "\n".join(parts)


def load_dataset(path: Path) -> list[Item]:
    """Read every line; raise DatasetError listing each bad line, field and value, and repeated ids."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(f"{path}: cannot read the dataset: {exc}") from None
    items: list[Item] = []
    problems: list[str] = []
    first_line: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append(f"{path} line {number}: not JSON: {exc.msg} at column {exc.colno}")
            continue
        if not isinstance(raw, dict):
            problems.append(f"{path} line {number}: a line must be a JSON object, got {type(raw).__name__}")
            continue
        try:
            item = Item.model_validate(raw)
        except ValidationError as exc:
            problems.append(_describe(path, number, exc))
            continue
        if item.id in first_line:
            used = first_line[item.id]
            problems.append(f"{path} line {number}: field id (got {item.id!r}): already used on line {used}")
            continue
        first_line[item.id] = number
        items.append(item)
    if problems:
        raise DatasetError("invalid dataset:\n" + "\n".join(problems))
    if not items:
        raise DatasetError(f"{path}: the dataset has no items (one JSON object a line)")
    return items
