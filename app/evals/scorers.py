"""Scores for one answer, each 0..1 or None (not applicable), from deterministic checks and a judge's verdict.

The deterministic checks always run and need no model: format (the item's format spec), relevance
(token F1 against the item's reference answer and the share of `must_include` phrases present)
and groundedness (the share of the answer's sentences whose content words appear in the retrieved
sources). A judge model, when configured and when it answers with a parseable verdict, is blended
in with `judge_weight`; when it does not (a stub model such as dev-echo), the deterministic
checks carry the whole score and the report says so.
"""

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from app.evals.dataset import Item

WORD = re.compile(r"[a-z0-9]+")
SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")
BULLET_LINE = re.compile(r"^\s*(?:[-*\u2022]|\d+[.)])\s+\S")
VERDICT = re.compile(r"\{.*\}", re.DOTALL)
# a sentence counts as grounded when at least this share of its content words occur in the sources
SUPPORTED_SHARE = 0.6
STOPWORDS = frozenset(
    re.split(
        r"\s+",
        "a an and are as at be been but by can could did do does for from had has have he her his how i if in into is "
        "it its me my no not of on or our she so than that the their them then there these they this those to was we "
        "were what when where which who why will with would you your",
    )
)

Basis = Literal["deterministic", "judge", "deterministic+judge", "n/a"]


@dataclass(slots=True)
class Score:
    value: float | None
    basis: Basis
    notes: list[str] = field(default_factory=list)


def content_words(text: str) -> list[str]:
    return [w for w in WORD.findall(text.lower()) if w not in STOPWORDS]


def token_f1(answer: str, reference: str) -> float:
    """SQuAD-style F1 over content words: 1.0 for the same words, 0.0 for none shared."""
    got, want = Counter(content_words(answer)), Counter(content_words(reference))
    common = sum((got & want).values())
    if common == 0:
        return 0.0
    precision, recall = common / sum(got.values()), common / sum(want.values())
    return 2 * precision * recall / (precision + recall)


def format_score(item: Item, text: str) -> Score:
    """The share of format checks passed: a non-empty answer, `must_not_include`, and the item's format spec."""
    checks: list[tuple[bool, str]] = [(bool(text.strip()), "the answer is empty")]
    lowered = text.lower()
    checks += [(phrase.lower() not in lowered, f"contains forbidden {phrase!r}") for phrase in item.must_not_include]
    spec = item.format
    if spec is not None:
        if spec.bullets is not None:
            count = sum(1 for line in text.splitlines() if BULLET_LINE.match(line))
            checks.append((count == spec.bullets, f"{count} bullet lines instead of {spec.bullets}"))
        if spec.json_object:
            checks.append((_is_json_object(text), "not a JSON object"))
        if spec.regex is not None:
            checks.append((re.search(spec.regex, text) is not None, f"no match for /{spec.regex}/"))
        if spec.max_chars is not None:
            checks.append((len(text) <= spec.max_chars, f"{len(text)} characters, over {spec.max_chars}"))
    failed = [why for ok, why in checks if not ok]
    return Score((len(checks) - len(failed)) / len(checks), "deterministic", failed)


def _is_json_object(text: str) -> bool:
    body = text.strip().removeprefix("```json").removeprefix("```").removesuffix("```").strip()
    try:
        return isinstance(json.loads(body), dict)
    except ValueError:
        return False


def relevance_checks(item: Item, text: str) -> Score:
    """Token F1 against `reference` and the share of `must_include` found, averaged; n/a without either."""
    parts: list[float] = []
    notes: list[str] = []
    if item.reference is not None:
        f1 = token_f1(text, item.reference)
        parts.append(f1)
        notes.append(f"token F1 against the reference {f1:.2f}")
    if item.must_include:
        lowered = text.lower()
        missing = [p for p in item.must_include if p.lower() not in lowered]
        parts.append(1 - len(missing) / len(item.must_include))
        if missing:
            notes.append(f"missing {missing}")
    if not parts:
        return Score(None, "n/a", ["no reference or must_include"])
    return Score(sum(parts) / len(parts), "deterministic", notes)


def groundedness_checks(item: Item, text: str, sources: list[str] | None) -> Score:
    """The share of answer sentences whose content words are mostly in the sources; n/a without retrieval."""
    if not sources:
        if item.expect_sources:
            return Score(0.0, "deterministic", ["the item expects retrieval but the answer carries no sources"])
        return Score(None, "n/a", ["no retrieval: the answer carries no sources"])
    vocabulary = set(content_words(" ".join(sources)))
    sentences = [words for s in SENTENCE.split(text) if (words := content_words(s))]
    if not sentences:
        return Score(0.0, "deterministic", ["the answer has no content words"])
    supported = sum(1 for words in sentences if sum(w in vocabulary for w in words) / len(words) >= SUPPORTED_SHARE)
    return Score(supported / len(sentences), "deterministic", [f"{supported}/{len(sentences)} sentences supported"])


# --- the judge ---------------------------------------------------------------------------------

JUDGE_SYSTEM = (
    "You grade an AI assistant's answer. Reply with one JSON object and nothing else: "
    '{"relevance": <1-5>, "groundedness": <1-5 or null>, "reason": "<one sentence>"}. '
    "relevance: how well the answer addresses the question (5 = fully). groundedness: how far every "
    "claim in the answer is supported by the sources (5 = all supported); null when no sources are given."
)


def judge_messages(item: Item, answer: str, sources: list[str] | None) -> list[dict[str, str]]:
    shown = "\n\n".join(f"[{i + 1}] {s}" for i, s in enumerate(sources or [])) or "(none)"
    user = f"Question:\n{item.question()}\n\nSources:\n{shown}\n\nAnswer:\n{answer}"
    if item.reference is not None:
        user += f"\n\nA reference answer:\n{item.reference}"
    return [{"role": "system", "content": JUDGE_SYSTEM}, {"role": "user", "content": user}]


class Verdict(BaseModel):
    model_config = ConfigDict(extra="ignore")
    relevance: int = Field(ge=1, le=5)
    groundedness: int | None = Field(None, ge=1, le=5)
    reason: str = ""

    @staticmethod
    def scale(grade: int) -> float:
        return (grade - 1) / 4


def parse_verdict(text: str) -> Verdict | None:
    """The first JSON object in the judge's reply, if it is a valid verdict; None for anything else."""
    found = VERDICT.search(text)
    if found is None:
        return None
    try:
        return Verdict.model_validate_json(found.group(0))
    except ValidationError:
        return None


def blend(checks: Score, judged: float | None, judge_weight: float) -> Score:
    """Mix the deterministic score with the judge's; either alone stands for the whole when the other is missing."""
    if judged is None:
        return checks
    if checks.value is None:
        return Score(judged, "judge", checks.notes)
    value = (1 - judge_weight) * checks.value + judge_weight * judged
    return Score(value, "deterministic+judge", checks.notes)
