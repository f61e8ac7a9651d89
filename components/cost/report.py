"""The estimate as text (``infracost breakdown`` style) and the diff of two estimates' JSON."""

from __future__ import annotations

from typing import Any

from components.cost import LLM_BLOCK, Estimate

USAGE_MARK = "*"


def _money(value: float) -> str:
    return f"{value:,.2f}"


def render(estimate: Estimate) -> str:
    """Total first, then one line per block with its resources' quantities, units and prices."""
    region = estimate.region or "no region"
    lines = [
        f"Monthly estimate for {estimate.stack} ({estimate.target}, {region}), "
        f"prices of {estimate.table_taken.isoformat()} from {estimate.table}",
        "",
        f"TOTAL {_money(estimate.total)} {estimate.currency}/month: fixed {_money(estimate.fixed)} "
        f"+ usage-based {_money(estimate.usage_based)} ({USAGE_MARK})",
        "",
        f"  {'':<58}{'quantity':>14}  {'unit':<18}{'unit price':>11}{'monthly':>12}",
    ]
    for block, items in estimate.blocks().items():
        lines.append(f"{block:<94}{_money(sum(i.monthly for i in items)):>12}")
        resource = None
        for item in items:
            if item.resource != resource:
                resource = item.resource
                lines.append(f"  {item.resource} ({item.type})")
            mark = f" {USAGE_MARK}" if item.usage is not None else ""
            label = (item.description + mark)[:56]
            lines.append(
                f"    {label:<56}{item.quantity:>14,.2f}  {item.unit:<18}{item.unit_price:>11.5g}"
                f"{_money(item.monthly):>12}"
            )
    lines += ["", f"{USAGE_MARK} rests on usage assumptions:"]
    for key, value, source in estimate.assumptions:
        figure = f"{value:,.0f}" if isinstance(value, float | int) and value >= 1000 else f"{value}"
        lines.append(f"    {key} = {figure}  ({source})")
    lines.append("  per resource (override in the usage file's `resources:` section):")
    shown: set[tuple[str, str]] = set()
    for item in estimate.items:
        if item.usage is not None and item.block != LLM_BLOCK and (item.resource, item.usage) not in shown:
            shown.add((item.resource, item.usage))
            lines.append(f"    {item.resource}: {item.usage}")
    free = sum(estimate.free.values())
    lines += ["", f"free: {free} resources of {len(estimate.free)} types (IAM, policies, associations...)"]
    if estimate.not_priced:
        lines.append(f"not priced ({len(estimate.not_priced)}):")
        lines += [f"    {u.resource} ({u.type}): {u.reason}" for u in estimate.not_priced]
    else:
        lines.append("not priced: none")
    lines += ["", *budget_lines(estimate)]
    return "\n".join(lines)


def budget_lines(estimate: Estimate) -> list[str]:
    """The budget against the estimate, and its alert thresholds as money."""
    budget = estimate.budget
    alerts = ", ".join(f"{p} % = {_money(budget * p / 100)}" for p in estimate.thresholds)
    share = 100 * estimate.fixed / budget
    verdict = "holds the fixed baseline" if estimate.fixed <= budget else "is BELOW the fixed baseline"
    return [
        f"budget {_money(budget)} {estimate.currency}/month ({verdict}: {share:.0f} % of it is fixed cost; "
        f"estimate with usage {100 * estimate.total / budget:.0f} %)",
        f"budget alerts at {alerts} {estimate.currency}",
    ]


def diff(base: dict[str, Any], head: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """What HEAD adds or removes per block against BASE (two estimates' JSON): Markdown and JSON."""
    base_blocks = {b["name"]: b for b in base.get("blocks", [])}
    head_blocks = {b["name"]: b for b in head.get("blocks", [])}
    rows = []
    for name in sorted(set(base_blocks) | set(head_blocks)):
        before = base_blocks.get(name, {}).get("monthly", 0.0)
        after = head_blocks.get(name, {}).get("monthly", 0.0)
        added, removed = _resource_changes(base_blocks.get(name), head_blocks.get(name))
        rows.append(
            {
                "block": name,
                "base": before,
                "head": after,
                "change": round(after - before, 2),
                "added": added,
                "removed": removed,
            }
        )
    total = {"base": base.get("total", 0.0), "head": head.get("total", 0.0)}
    total["change"] = round(total["head"] - total["base"], 2)
    currency = head.get("currency", "USD")
    lines = [
        f"### Monthly cost: {head.get('stack')} {_signed(total['change'])} {currency} "
        f"({_money(total['base'])} -> {_money(total['head'])})",
        "",
        "| block | base | head | change | resources added / removed |",
        "|---|---:|---:|---:|---|",
    ]
    for row in rows:
        if row["change"] or row["added"] or row["removed"]:
            changes = ", ".join([*(f"+{n}" for n in row["added"]), *(f"-{n}" for n in row["removed"])])
            lines.append(
                f"| {row['block']} | {_money(row['base'])} | {_money(row['head'])} | "
                f"{_signed(row['change'])} | {changes} |"
            )
    if all(not (r["change"] or r["added"] or r["removed"]) for r in rows):
        lines.append("| (no change) | | | 0.00 | |")
    fixed = {"base": base.get("fixed", 0.0), "head": head.get("fixed", 0.0)}
    lines += ["", f"Fixed baseline {_money(fixed['base'])} -> {_money(fixed['head'])} {currency}/month."]
    return "\n".join(lines), {"total": total, "fixed": fixed, "blocks": rows}


def _resource_changes(base: dict[str, Any] | None, head: dict[str, Any] | None) -> tuple[list[str], list[str]]:
    before = {r["name"] for r in (base or {}).get("resources", [])}
    after = {r["name"] for r in (head or {}).get("resources", [])}
    return sorted(after - before), sorted(before - after)


def _signed(value: float) -> str:
    return f"+{_money(value)}" if value > 0 else _money(value)


def side_by_side(estimates: list[Estimate]) -> str:
    """Stacks' estimates as one Markdown table: a row per block, a column per stack (the README's)."""
    names = sorted({block for e in estimates for block in e.blocks()}, key=lambda b: (b == LLM_BLOCK, b))
    header = " | ".join(f"{e.stack} ({e.region or 'no region'})" for e in estimates)
    lines = [f"| USD a month | {header} |", "|---|" + "---:|" * len(estimates)]
    for name in names:
        cells = []
        for e in estimates:
            items = e.blocks().get(name, [])
            fixed = sum(i.monthly for i in items if i.usage is None)
            total = sum(i.monthly for i in items)
            cells.append(f"{_money(total)} (fixed {_money(fixed)})")
        lines.append(f"| {name} | {' | '.join(cells)} |")
    lines.append(f"| **fixed baseline** | {' | '.join(f'**{_money(e.fixed)}**' for e in estimates)} |")
    lines.append(f"| usage-based (default assumptions) | {' | '.join(_money(e.usage_based) for e in estimates)} |")
    lines.append(f"| **total** | {' | '.join(f'**{_money(e.total)}**' for e in estimates)} |")
    lines.append(f"| budget | {' | '.join(_money(e.budget) for e in estimates)} |")
    dates = ", ".join(sorted({f"{e.table} of {e.table_taken.isoformat()}" for e in estimates}))
    lines += ["", f"Prices: {dates}."]
    return "\n".join(lines)
