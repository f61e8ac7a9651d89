"""The run's JSON document, its thresholds, a readable Markdown report, and the comparison of two runs."""

import statistics
from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any

from app.evals.runner import Options, Outcome

METRICS = ("format", "relevance", "groundedness")
# the seed's end-to-end latency target (seed 002: < 2.5 s; alert above 4 s)
LATENCY_TARGET_S = 2.5


@dataclass(frozen=True, slots=True)
class Thresholds:
    """A run fails when a value is past its limit; None turns a check off."""

    min_format: float | None = 0.9
    min_relevance: float | None = 0.5
    min_groundedness: float | None = 0.5
    max_p50_s: float | None = None
    max_p95_s: float | None = LATENCY_TARGET_S
    max_error_rate: float | None = 0.0
    max_cost_usd: float | None = None


def percentile(values: list[float], q: float) -> float | None:
    """Linear interpolation between the closest ranks (numpy's default); None for no values."""
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[round(q) - 1] if q < 100 else max(values)


def _item(outcome: Outcome) -> dict[str, Any]:
    a = outcome.answer
    return {
        "id": outcome.item.id,
        "endpoint": outcome.item.endpoint,
        "tags": outcome.item.tags,
        "status": a.status,
        "error": a.error,
        "latency_s": round(a.latency_s, 4),
        "ttft_s": None if a.ttft_s is None else round(a.ttft_s, 4),
        "provider": a.provider,
        "model": a.model,
        "cached": a.cached,
        "usage": a.usage,
        "cost_usd": outcome.cost_usd,
        "judge": outcome.judge,
        "judge_cost_usd": outcome.judge_cost_usd,
        "scores": {name: asdict(score) for name, score in outcome.scores.items()},
        "answer": a.text[:2000],
        "sources": [s.get("id") for s in a.sources],
    }


def _summary(outcomes: list[Outcome]) -> dict[str, Any]:
    latencies = [o.answer.latency_s for o in outcomes]
    first_text = [t for o in outcomes if (t := o.answer.ttft_s) is not None]
    errors = sum(1 for o in outcomes if not o.answer.ok)
    costs = [o.cost_usd for o in outcomes if o.answer.ok]
    unpriced = sorted({o.answer.model or "?" for o in outcomes if o.answer.ok and o.cost_usd is None})
    scores: dict[str, Any] = {}
    for name in METRICS:
        values = [v for o in outcomes if (v := o.scores[name].value) is not None]
        scores[name] = {
            "mean": round(statistics.fmean(values), 4) if values else None,
            "applicable": len(values),
            "not_applicable": len(outcomes) - len(values),
            "basis": dict(Counter(o.scores[name].basis for o in outcomes)),
        }
    judged = Counter(o.judge.split(":", 1)[0] for o in outcomes if o.answer.ok)
    return {
        "items": len(outcomes),
        "errors": errors,
        "error_rate": round(errors / len(outcomes), 4),
        "latency_s": {
            "p50": percentile(latencies, 50),
            "p95": percentile(latencies, 95),
            "max": max(latencies),
            "mean": statistics.fmean(latencies),
        },
        "ttft_s": {"p50": percentile(first_text, 50), "p95": percentile(first_text, 95), "items": len(first_text)},
        "cost_usd": {
            "total": sum(c for c in costs if c is not None),
            "per_item": statistics.fmean([c for c in costs if c is not None] or [0.0]),
            "unpriced_models": unpriced,
            "judge_total": sum(o.judge_cost_usd or 0.0 for o in outcomes),
        },
        "scores": scores,
        "judge": {"verdicts": judged["verdict"], "unparseable": judged["unparseable"], "failed": judged["failed"]},
    }


def _checks(summary: dict[str, Any], limits: Thresholds) -> list[dict[str, Any]]:
    checks: list[dict[str, Any]] = []

    def check(name: str, value: float | None, limit: float | None, at_least: bool, missing: str) -> None:
        if limit is None:
            return
        if value is None:
            checks.append({"name": name, "value": None, "limit": limit, "ok": True, "note": missing})
            return
        ok = value >= limit if at_least else value <= limit
        checks.append({"name": name, "value": value, "limit": limit, "ok": ok, "note": ""})

    for metric in METRICS:
        limit = getattr(limits, f"min_{metric}")
        missing = f"not applicable: no item had a {metric} score"
        if metric == "groundedness":
            missing = "not applicable: no answer carried retrieved sources"
        check(metric, summary["scores"][metric]["mean"], limit, True, missing)
    check("latency p50 (s)", summary["latency_s"]["p50"], limits.max_p50_s, False, "")
    check("latency p95 (s)", summary["latency_s"]["p95"], limits.max_p95_s, False, "")
    check("error rate", summary["error_rate"], limits.max_error_rate, False, "")
    if limits.max_cost_usd is not None:
        cost = summary["cost_usd"]
        unpriced = cost["unpriced_models"]
        ok = cost["total"] <= limits.max_cost_usd and not unpriced
        note = f"cannot be verified: no price for {', '.join(unpriced)}" if unpriced else ""
        checks.append(
            {"name": "cost (USD)", "value": cost["total"], "limit": limits.max_cost_usd, "ok": ok, "note": note}
        )
    return checks


def build_document(
    options: Options, dataset: str, outcomes: list[Outcome], limits: Thresholds, run_id: str, duration_s: float
) -> dict[str, Any]:
    summary = _summary(outcomes)
    checks = _checks(summary, limits)
    return {
        "run_id": run_id,
        "url": options.url,
        "dataset": dataset,
        "model": options.model,
        "judge_model": options.judge_model,
        "judge_weight": options.judge_weight,
        "concurrency": options.concurrency,
        "duration_s": round(duration_s, 3),
        "thresholds": asdict(limits),
        "summary": summary,
        "checks": checks,
        "passed": all(c["ok"] for c in checks),
        "items": [_item(o) for o in outcomes],
    }


def _num(value: float | None, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def render(document: dict[str, Any]) -> str:
    """The Markdown report: verdict, thresholds, scores and how they were obtained, latency, cost, failures."""
    s = document["summary"]
    lines = [
        f"# Evaluation of {document['url']}: {'PASSED' if document['passed'] else 'FAILED'}",
        "",
        f"Dataset `{document['dataset']}`, {s['items']} items, {s['errors']} errors, run `{document['run_id']}` "
        f"in {document['duration_s']:.1f} s (concurrency {document['concurrency']}).",
        "",
        "| check | value | limit | result |",
        "| --- | --- | --- | --- |",
    ]
    for c in document["checks"]:
        result = ("ok" if c["ok"] else "**FAIL**") + (f" ({c['note']})" if c["note"] else "")
        lines.append(f"| {c['name']} | {_num(c['value'], 4)} | {c['limit']} | {result} |")
    lines += ["", "| score | mean | items scored | not applicable | basis |", "| --- | --- | --- | --- | --- |"]
    for name in METRICS:
        sc = s["scores"][name]
        basis = ", ".join(f"{k}: {v}" for k, v in sorted(sc["basis"].items()))
        lines.append(f"| {name} | {_num(sc['mean'])} | {sc['applicable']} | {sc['not_applicable']} | {basis} |")
    if s["scores"]["groundedness"]["applicable"] == 0:
        lines += ["", "Groundedness: not applicable, no answer carried retrieved `sources`."]
    judge = document["judge_model"]
    if judge is None:
        lines += ["", "Judge: none configured; every score comes from the deterministic checks."]
    else:
        j = s["judge"]
        lines += [
            "",
            f"Judge `{judge}` (weight {document['judge_weight']}): {j['verdicts']} verdicts, {j['unparseable']} "
            f"unparseable, {j['failed']} failed. Items without a verdict are scored by the deterministic checks "
            "alone (a stub judge such as dev-echo never gives one).",
        ]
    lat, cost = s["latency_s"], s["cost_usd"]
    lines += [
        "",
        f"Latency (end to end, seconds): p50 {_num(lat['p50'])}, p95 {_num(lat['p95'])}, max {_num(lat['max'])} "
        f"(target < {LATENCY_TARGET_S})"
        + (
            f"; time to the first text of {s['ttft_s']['items']} streamed answers: p50 {_num(s['ttft_s']['p50'])}, "
            f"p95 {_num(s['ttft_s']['p95'])}."
            if s["ttft_s"]["items"]
            else "."
        ),
        f"Cost: {cost['total']:.6f} USD for answers ({cost['per_item']:.6f} per item), "
        f"{cost['judge_total']:.6f} USD for judging"
        + (f"; no price for {', '.join(cost['unpriced_models'])}" if cost["unpriced_models"] else "")
        + ".",
    ]
    weak = [
        i
        for i in document["items"]
        if i["error"] or any(v["value"] is not None and v["value"] < 1 for v in i["scores"].values())
    ]
    if weak:
        lines += ["", "| item | problem |", "| --- | --- |"]
        for i in weak:
            problems = [i["error"]] if i["error"] else []
            for name, v in i["scores"].items():
                if v["value"] is not None and v["value"] < 1 and not i["error"]:
                    problems.append(f"{name} {v['value']:.2f}" + (f": {'; '.join(v['notes'])}" if v["notes"] else ""))
            cell = " / ".join(problems).replace("|", r"\|")
            lines.append(f"| {i['id']} | {cell} |")
    return "\n".join(lines) + "\n"


# --- two runs ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Tolerance:
    score_drop: float = 0.05  # a mean score may fall this much (absolute) before it is a regression
    latency_growth: float = 0.2  # p50/p95 may grow by this share
    latency_floor_s: float = 0.05  # and by this much in seconds, so that millisecond jitter is no regression
    cost_growth: float = 0.2


def compare(base: dict[str, Any], new: dict[str, Any], tolerance: Tolerance) -> dict[str, Any]:
    """Metric by metric, and item by item for items in both runs; regressions past the tolerance."""
    rows: list[dict[str, Any]] = []

    def row(name: str, old: float | None, now: float | None, regressed: bool) -> None:
        delta = None if old is None or now is None else now - old
        rows.append({"metric": name, "base": old, "new": now, "delta": delta, "regression": regressed})

    bs, ns = base["summary"], new["summary"]
    for name in METRICS:
        old, now = bs["scores"][name]["mean"], ns["scores"][name]["mean"]
        row(name, old, now, old is not None and now is not None and now < old - tolerance.score_drop)
    for q in ("p50", "p95"):
        old, now = bs["latency_s"][q], ns["latency_s"][q]
        row(
            f"latency {q} (s)",
            old,
            now,
            old is not None
            and now is not None
            and now > old * (1 + tolerance.latency_growth)
            and now - old > tolerance.latency_floor_s,
        )
    old, now = bs["cost_usd"]["per_item"], ns["cost_usd"]["per_item"]
    row("cost per item (USD)", old, now, now > old * (1 + tolerance.cost_growth) and now - old > 1e-9)
    old, now = bs["error_rate"], ns["error_rate"]
    row("error rate", old, now, now > old)
    before = {i["id"]: i for i in base["items"]}
    items = []
    for i in new["items"]:
        b = before.get(i["id"])
        if b is None:
            continue
        for name in METRICS:
            was, is_ = b["scores"][name]["value"], i["scores"][name]["value"]
            if was is not None and is_ is not None and is_ < was - tolerance.score_drop:
                items.append({"id": i["id"], "metric": name, "base": was, "new": is_})
    regressions = [r["metric"] for r in rows if r["regression"]]
    return {"base": base["run_id"], "new": new["run_id"], "rows": rows, "items": items, "regressions": regressions}


def render_comparison(result: dict[str, Any]) -> str:
    verdict = "REGRESSED: " + ", ".join(result["regressions"]) if result["regressions"] else "no regression"
    lines = [
        f"# Run `{result['new']}` against `{result['base']}`: {verdict}",
        "",
        "| metric | base | new | delta | |",
        "| --- | --- | --- | --- | --- |",
    ]
    for r in result["rows"]:
        mark = "**regression**" if r["regression"] else ""
        lines.append(f"| {r['metric']} | {_num(r['base'], 4)} | {_num(r['new'], 4)} | {_num(r['delta'], 4)} | {mark} |")
    if result["items"]:
        lines += ["", "Items that scored lower:", ""]
        lines += [f"- {i['id']}: {i['metric']} {i['base']:.2f} -> {i['new']:.2f}" for i in result["items"]]
    return "\n".join(lines) + "\n"
