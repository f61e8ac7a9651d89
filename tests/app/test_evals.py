"""`python -m app.evals`: dataset errors, the scorers, and whole runs against a real app process.

The app runs with the dev provider (dev-echo) and the fake upstream; the judge goes through the
app's own routing, either to the fake upstream's `verdict` model (a parseable verdict) or to
dev-echo (a stub that never gives one, so the deterministic checks carry the scores).
"""

import asyncio
import json
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from app.evals.__main__ import main
from app.evals.dataset import DatasetError, Item, load_dataset
from app.evals.report import Tolerance, compare, percentile
from app.evals.runner import Answer, parse_answer, read_stream
from app.evals.scorers import (
    Score,
    blend,
    format_score,
    groundedness_checks,
    parse_verdict,
    relevance_checks,
    token_f1,
)
from tests.app.support import API_KEY, REPO, AppProcess, StartApp, Upstream, routing_table

# --- the dataset --------------------------------------------------------------------------------


def write_jsonl(path: Path, rows: list[Any]) -> Path:
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n")
    return path


def test_the_shipped_golden_dataset_loads() -> None:
    items = load_dataset(REPO / "app" / "evals" / "golden.jsonl")
    assert len(items) >= 5
    assert {i.endpoint for i in items} == {"generate", "chat"}


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ('{"id": "a", "prompt": "hi"', "line 2: not JSON"),
        ('["a"]', "line 2: a line must be a JSON object, got list"),
        (
            '{"id": "b", "prompt": "hi", "max_tokens": "5"}',
            'line 2: field max_tokens (got "5"): Input should be a valid',
        ),
        ('{"id": "b", "prompt": "hi", "max_tokens": 0}', "line 2: field max_tokens (got 0): Input should be greater"),
        ('{"id": "b", "prompt": "hi", "colour": 1}', "line 2: field colour (got 1): Extra inputs are not permitted"),
        ('{"id": "b"}', "line 2: field (the object): Value error, give exactly one of `prompt`"),
        ('{"id": "b", "prompt": "x", "format": {"regex": "("}}', "line 2: field format: Value error, regex '('"),
        ('{"id": "b", "prompt": "x", "params": {"model": "m"}}', "params may not set ['model']"),
        ('{"id": "a", "prompt": "again"}', "line 2: field id (got 'a'): already used on line 1"),
    ],
)
def test_a_bad_line_is_named_with_its_field_and_value(tmp_path: Path, line: str, expected: str) -> None:
    path = write_jsonl(tmp_path / "d.jsonl", [{"id": "a", "prompt": "fine"}, line])
    with pytest.raises(DatasetError) as caught:
        load_dataset(path)
    assert f"{path} line 2" in str(caught.value)
    assert expected in str(caught.value)


def test_an_empty_or_missing_dataset_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="has no items"):
        load_dataset(write_jsonl(tmp_path / "empty.jsonl", [""]))
    with pytest.raises(DatasetError, match="cannot read"):
        load_dataset(tmp_path / "nowhere.jsonl")


def test_the_command_exits_2_naming_the_line_for_a_bad_dataset(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "d.jsonl", ['{"id": "x", "prompt": ""}'])
    result = subprocess.run(
        [sys.executable, "-m", "app.evals", "run", "--url", "http://127.0.0.1:9", "--dataset", str(path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2, result.stderr
    assert f"{path} line 1: field prompt" in result.stderr and "at least 1 character" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("url", ["ftp://example.com", "http://", "https://x.example.com/?a=1", "example.com"])
def test_a_bad_url_is_refused_naming_it(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["run", "--url", url])
    assert exited.value.code == 2
    assert f"argument --url: {url!r} is not the app's http(s) base URL" in capsys.readouterr().err


# --- the scorers --------------------------------------------------------------------------------


def item(**fields: Any) -> Item:
    return Item.model_validate({"id": "t", "prompt": "q", **fields})


def test_token_f1_counts_shared_content_words() -> None:
    assert token_f1("Paris is the capital of France", "The capital of France is Paris.") == 1.0
    assert token_f1("Berlin", "Paris") == 0.0
    # answer words {paris, lovely}, reference {paris}: precision 1/2, recall 1 -> F1 2/3
    assert token_f1("Paris is lovely", "Paris") == pytest.approx(2 / 3)


def test_format_checks_each_count_equally() -> None:
    spec = {"bullets": 3, "max_chars": 100}
    assert format_score(item(format=spec), "- a\n- b\n- c").value == 1.0
    two = format_score(item(format=spec), "- a\n- b")
    assert two.value == pytest.approx(2 / 3) and two.notes == ["2 bullet lines instead of 3"]
    assert format_score(item(format={"json_object": True}), '```json\n{"a": 1}\n```').value == 1.0
    assert format_score(item(format={"json_object": True}), "[1]").value == 0.5
    assert format_score(item(format={"regex": r"\b144\b"}), "it is 144.").value == 1.0
    leaked = format_score(item(must_not_include=["sk-"]), "the key is sk-123")
    assert leaked.value == 0.5 and "forbidden 'sk-'" in leaked.notes[0]
    assert format_score(item(), "  ").value == 0.0


def test_relevance_averages_reference_overlap_and_required_phrases() -> None:
    both = relevance_checks(item(reference="Paris", must_include=["Paris", "France"]), "Paris is lovely")
    assert both.value == pytest.approx((2 / 3 + 1 / 2) / 2)
    assert both.notes[-1] == "missing ['France']"
    assert relevance_checks(item(), "anything").value is None


def test_groundedness_is_the_share_of_supported_sentences() -> None:
    sources = ["Invoices are due at the end of the month.", "Late invoices incur a two percent fee."]
    answer = "Invoices are due at the end of the month. The moon is made of cheese."
    score = groundedness_checks(item(), answer, sources)
    assert score.value == 0.5 and score.notes == ["1/2 sentences supported"]
    assert groundedness_checks(item(), "Late invoices incur a fee.", sources).value == 1.0
    assert groundedness_checks(item(), answer, None) == Score(
        None, "n/a", ["no retrieval: the answer carries no sources"]
    )
    expected = groundedness_checks(item(expect_sources=True), answer, [])
    assert expected.value == 0.0 and "expects retrieval" in expected.notes[0]


def test_the_judge_verdict_is_parsed_or_refused() -> None:
    verdict = parse_verdict('Sure! {"relevance": 5, "groundedness": null, "reason": "ok"} hope that helps')
    assert verdict is not None and verdict.relevance == 5 and verdict.groundedness is None
    assert verdict.scale(5) == 1.0 and verdict.scale(1) == 0.0
    assert parse_verdict("- alpha bravo charlie") is None
    assert parse_verdict('{"relevance": 9}') is None  # out of the 1-5 scale
    checks = Score(0.5, "deterministic")
    assert blend(checks, 1.0, 0.25) == Score(0.625, "deterministic+judge")
    assert blend(checks, None, 0.25) is checks
    assert blend(Score(None, "n/a"), 0.75, 0.25).value == 0.75


def test_sources_are_read_from_generate_and_chat_answers() -> None:
    """The retrieval contract: a top-level `sources` list on /generate and /v1/chat/completions JSON."""
    source = {"id": "c1", "document_id": "d1", "score": 0.83, "text": "Paris is in France.", "metadata": {}}
    usage = {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}
    text, sources, got_usage = parse_answer("generate", {"text": "Paris.", "sources": [source], "usage": usage})
    assert (text, sources, got_usage) == ("Paris.", [source], usage)
    chat = {"choices": [{"message": {"role": "assistant", "content": "Paris."}}], "sources": [source]}
    assert parse_answer("chat", chat)[:2] == ("Paris.", [source])
    with pytest.raises(ValueError, match="no answer text"):
        parse_answer("chat", {"choices": []})


def read(endpoint: str, frames: list[str]) -> Answer:
    async def lines() -> AsyncIterator[bytes]:  # the frames line by line, as aiohttp yields them
        for frame in frames:
            for line in frame.split("\n"):
                yield (line + "\n").encode()

    answer = Answer(200, 0.0)
    asyncio.run(read_stream(lines(), endpoint, answer, 0.0))
    return answer


def test_streamed_answers_carry_text_usage_and_the_sources_event() -> None:
    source = {"id": "c1", "document_id": "d1", "score": 0.9, "text": "Paris is in France.", "metadata": {}}
    generate = [
        'data: {"text": "Paris"}\n',
        'data: {"text": " it is."}\n',
        'data: {"finish_reason": "stop", "usage": {"prompt_tokens": 3, "completion_tokens": 2}}\n',
        f"data: {json.dumps({'sources': [source]})}\n",
        "data: [DONE]\n",
    ]
    answer = read("generate", generate)
    assert (answer.text, answer.sources, answer.error) == ("Paris it is.", [source], None)
    assert answer.usage == {"prompt_tokens": 3, "completion_tokens": 2} and answer.ttft_s is not None
    chat = [
        'data: {"choices": [{"index": 0, "delta": {"role": "assistant", "content": "Pa"}}]}\n',
        'data: {"choices": [{"index": 0, "delta": {"content": "ris"}}]}\n',
        "data: [DONE]\n",
    ]
    assert read("chat", chat).text == "Paris"
    assert read("generate", generate[:2]).error == "the stream ended without [DONE]"
    failed = read("generate", [generate[0], 'event: error\ndata: {"error": {"message": "cut"}}\n'])
    assert failed.error == 'the stream failed: {"message": "cut"}'


def test_percentiles_interpolate_between_ranks() -> None:
    values = [float(v) for v in range(1, 21)]  # 1..20
    assert percentile(values, 50) == pytest.approx(10.5)
    assert percentile(values, 95) == pytest.approx(19.05)
    assert percentile([2.0], 95) == 2.0
    assert percentile([], 50) is None


# --- whole runs against a real app --------------------------------------------------------------


@pytest.fixture(scope="module")
def eval_app(start_app: StartApp, upstream: Upstream) -> AppProcess:
    routing = routing_table(upstream.url)
    routing["models"]["judge"] = [{"provider": "primary", "model": "verdict"}]
    return start_app({"APP_DEV_PROVIDER": "true", "APP_RPM_PER_KEY": "0", "APP_TPM_PER_KEY": "0"}, routing)


@pytest.fixture
def prices(tmp_path: Path, upstream: Upstream) -> Path:
    path = tmp_path / "routing.yaml"
    path.write_text(yaml.safe_dump(routing_table(upstream.url)))
    return path


DEV_ITEMS = [
    {"id": "bullets", "prompt": "Summarise the platform.", "model": "dev-echo", "format": {"bullets": 3}},
    {
        "id": "chat",
        "messages": [{"role": "user", "content": "Name a NATO letter."}],
        "model": "dev-echo",
        "must_include": ["- "],
        "format": {"bullets": 3, "max_chars": 400},
    },
    {"id": "priced", "prompt": "Say something.", "model": "plain", "reference": "The quick brown fox"},
]


def run_eval(tmp_path: Path, app: AppProcess, items: list[dict[str, Any]], *flags: str) -> tuple[int, dict[str, Any]]:
    dataset = write_jsonl(tmp_path / "golden.jsonl", list(items))
    out = tmp_path / f"run-{len(list(tmp_path.glob('run-*.json')))}.json"
    status = main(["run", "--url", app.url, "--dataset", str(dataset), "--out", str(out), *flags])
    return status, json.loads(out.read_text())


def test_a_run_scores_latency_cost_and_a_judge_through_the_apps_routing(
    tmp_path: Path, eval_app: AppProcess, prices: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EVAL_API_KEY", API_KEY)
    report = tmp_path / "report.md"
    status, doc = run_eval(
        tmp_path, eval_app, DEV_ITEMS, "--judge-model", "judge", "--prices", str(prices), "--report", str(report)
    )
    assert status == 0, report.read_text()
    assert doc["passed"] and doc["summary"]["errors"] == 0
    items = {i["id"]: i for i in doc["items"]}
    assert items["bullets"]["scores"]["format"]["value"] == 1.0
    assert items["chat"]["endpoint"] == "chat" and items["chat"]["scores"]["format"]["value"] == 1.0
    # the judge (the fake upstream's fixed verdict: relevance 4 -> 0.75) is blended half and half
    chat_relevance = items["chat"]["scores"]["relevance"]
    assert chat_relevance == {"value": 0.5 * 1.0 + 0.5 * 0.75, "basis": "deterministic+judge", "notes": []}
    bullets_relevance = items["bullets"]["scores"]["relevance"]  # no reference: the judge alone
    assert (bullets_relevance["value"], bullets_relevance["basis"]) == (0.75, "judge")
    assert doc["summary"]["judge"] == {"verdicts": 3, "unparseable": 0, "failed": 0}
    # no answer carries sources: groundedness is not applicable everywhere, and the report says so
    assert doc["summary"]["scores"]["groundedness"] == {
        "mean": None,
        "applicable": 0,
        "not_applicable": 3,
        "basis": {"n/a": 3},
    }
    assert "Groundedness: not applicable" in report.read_text()
    # cost from the usage and the price table (plain: 1000 in, 2000 out per million tokens)
    usage = items["priced"]["usage"]
    expected = (usage["prompt_tokens"] * 1000 + usage["completion_tokens"] * 2000) / 1e6
    assert items["priced"]["model"] == "plain" and items["priced"]["cost_usd"] == pytest.approx(expected)
    assert doc["summary"]["cost_usd"]["total"] == pytest.approx(expected)
    assert doc["summary"]["cost_usd"]["unpriced_models"] == ["dev-echo"]
    lat = doc["summary"]["latency_s"]
    assert 0 < lat["p50"] <= lat["p95"] <= lat["max"] < 2.5


def test_streamed_items_measure_the_time_to_the_first_text(
    tmp_path: Path, eval_app: AppProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EVAL_API_KEY", API_KEY)
    streamed = [{**i, "id": f"{i['id']}-stream", "stream": True} for i in DEV_ITEMS[:2]]
    broken = {"id": "midstream", "prompt": "Tell me more.", "model": "midstream", "stream": True}
    status, doc = run_eval(
        tmp_path, eval_app, [*DEV_ITEMS[:2], *streamed, broken], "--max-error-rate", "0.2", "--min-format", "0.8"
    )
    assert status == 0, doc["checks"]
    items = {i["id"]: i for i in doc["items"]}
    for name in ("bullets", "chat"):
        plain, stream = items[name], items[f"{name}-stream"]
        assert stream["answer"] == plain["answer"]  # dev-echo streams the same words
        assert stream["scores"]["format"]["value"] == 1.0
        assert 0 < stream["ttft_s"] <= stream["latency_s"] and plain["ttft_s"] is None
        assert stream["usage"]["completion_tokens"] > 0
    # the primary is cut after two chunks: the app ends the stream with an error event, never [DONE]
    assert items["midstream"]["error"].startswith("the stream failed")
    assert items["midstream"]["ttft_s"] is not None  # its first words did arrive, and count like any latency
    assert doc["summary"]["ttft_s"]["items"] == 3 and doc["summary"]["errors"] == 1


def test_a_stub_judge_leaves_the_deterministic_checks_in_charge(
    tmp_path: Path, eval_app: AppProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EVAL_API_KEY", API_KEY)
    status, doc = run_eval(tmp_path, eval_app, DEV_ITEMS[:2], "--judge-model", "dev-echo", "--min-relevance", "0.9")
    assert status == 0
    assert doc["summary"]["judge"] == {"verdicts": 0, "unparseable": 2, "failed": 0}
    assert all(i["judge"].startswith("unparseable") for i in doc["items"])
    assert doc["summary"]["scores"]["relevance"]["basis"] == {"deterministic": 1, "n/a": 1}


def test_thresholds_fail_the_run_and_name_what_failed(
    tmp_path: Path,
    eval_app: AppProcess,
    prices: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("EVAL_API_KEY", API_KEY)
    # `slow`: the primary target answers after 3 s, past the 1 s read timeout, so the backup answers
    slow = [{"id": "slow", "prompt": "Take your time.", "model": "slow"}, DEV_ITEMS[2]]
    status, doc = run_eval(
        tmp_path, eval_app, slow, "--max-p95-s", "0.5", "--max-cost-usd", "1e-9", "--prices", str(prices)
    )
    assert status == 1
    failed = {c["name"] for c in doc["checks"] if not c["ok"]}
    assert failed == {"latency p95 (s)", "cost (USD)"}
    assert doc["summary"]["latency_s"]["p95"] > 0.5
    assert "FAILED" in capsys.readouterr().out


def test_bad_credentials_are_errors_not_scores(
    tmp_path: Path, eval_app: AppProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EVAL_API_KEY", "not-a-key-0123456789")
    status, doc = run_eval(tmp_path, eval_app, DEV_ITEMS[:1])
    assert status == 1
    (only,) = doc["items"]
    assert only["status"] == 401 and only["error"].startswith("HTTP 401")
    assert doc["summary"]["error_rate"] == 1.0
    assert {c["name"] for c in doc["checks"] if not c["ok"]} >= {"error rate", "format"}


def test_two_runs_compare_and_a_regression_exits_1(
    tmp_path: Path, eval_app: AppProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EVAL_API_KEY", API_KEY)
    status, base = run_eval(tmp_path, eval_app, DEV_ITEMS[:2])
    assert status == 0
    base_path = tmp_path / "base.json"
    base_path.write_text(json.dumps(base))
    # the same run against a stricter format (4 bullets): the format score falls, which is a regression
    stricter = [{**DEV_ITEMS[0], "format": {"bullets": 4}}, DEV_ITEMS[1]]
    status, new = run_eval(tmp_path, eval_app, stricter, "--min-format", "off", "--baseline", str(base_path))
    assert status == 1
    assert new["comparison"]["regressions"] == ["format"]
    assert new["comparison"]["items"] == [{"id": "bullets", "metric": "format", "base": 1.0, "new": 0.5}]
    same = compare(base, base, Tolerance())
    assert same["regressions"] == [] and all(r["delta"] in (0, None) for r in same["rows"])
    new_path = tmp_path / "new.json"
    new_path.write_text(json.dumps(new))
    assert main(["compare", str(base_path), str(new_path)]) == 1
    assert main(["compare", str(base_path), str(base_path)]) == 0
