"""Policy config, read like ``pulumi preview --policy-pack-config FILE``.

The file is a JSON object mapping a policy name (or ``"all"``) to an enforcement level
(``"advisory"``, ``"mandatory"``, ``"remediate"``, ``"disabled"``) or to an object with an optional
``"enforcementLevel"`` and the policy's settings. Settings are validated against the config
schema each policy declares in ``GetAnalyzerInfo`` and the schema's defaults are filled in, so the
pack is configured with every policy's full settings and level, as the engine does.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from policies.analyzer import PackInfo, PolicyInfo
from policies.errors import PolicyConfigError, problems_message
from policies.framework import plain

LEVELS = ("advisory", "mandatory", "remediate", "disabled")
ALL = "all"


def load_config_file(path: Path) -> dict[str, Any]:
    try:
        document = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise PolicyConfigError(f"policy config {path}: no such file") from None
    except ValueError as error:
        raise PolicyConfigError(f"policy config {path} is not valid JSON: {error}") from None
    if not isinstance(document, dict):
        raise PolicyConfigError(
            f"policy config {path} must be a JSON object mapping policy names to a level or settings"
        )
    return document


def _show(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def _schema(policy: PolicyInfo) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": policy.config_schema.get("properties") or {},
        "required": list(policy.config_schema.get("required") or []),
    }


def _check_level(where: str, value: Any, problems: list[str]) -> str | None:
    if isinstance(value, str) and value in LEVELS:
        return value
    problems.append(f"{where} = {_show(value)}: not an enforcement level; allowed: {', '.join(LEVELS)}")
    return None


def _check_settings(policy: PolicyInfo, settings: dict[str, Any], problems: list[str]) -> None:
    import jsonschema_rs

    schema = _schema(policy)
    known = schema["properties"]
    for key in settings:
        if key not in known:
            allowed = f"settings: {', '.join(sorted(known))}" if known else "it has no settings"
            problems.append(f"{policy.name}.{key} = {_show(settings[key])}: not a setting of {policy.name}; {allowed}")
    validator = jsonschema_rs.validator_for(plain(schema))
    for error in validator.iter_errors({k: v for k, v in settings.items() if k in known}):
        path = ".".join(str(p) for p in error.instance_path)
        value: Any = settings
        for part in error.instance_path:
            value = value[part]
        where = f"{policy.name}.{path}" if path else policy.name
        problems.append(f"{where} = {_show(value)}: {error.message}")


def resolve_config(raw: Mapping[str, Any] | None, info: PackInfo) -> dict[str, dict[str, Any]]:
    """Every policy's level and settings (defaults filled in), or one error naming every problem."""
    raw = dict(raw or {})
    problems: list[str] = []
    by_name = {p.name: p for p in info.policies}
    all_level: str | None = None
    if ALL in raw:
        all_level = _check_level(ALL, raw.pop(ALL), problems)
    resolved: dict[str, dict[str, Any]] = {}
    for name, value in raw.items():
        if name not in by_name:
            problems.append(
                f"{name} = {_show(value)}: not a policy of {info.name}; policies: {', '.join(sorted(by_name))} "
                f'(or "all" for every policy\'s level)'
            )
            continue
        policy = by_name[name]
        if isinstance(value, str):
            level = _check_level(name, value, problems)
            resolved[name] = {"enforcementLevel": level} if level else {}
        elif isinstance(value, dict):
            settings = {k: v for k, v in value.items() if k != "enforcementLevel"}
            entry: dict[str, Any] = {}
            if "enforcementLevel" in value:
                level = _check_level(f"{name}.enforcementLevel", value["enforcementLevel"], problems)
                if level:
                    entry["enforcementLevel"] = level
            _check_settings(policy, settings, problems)
            entry.update(settings)
            resolved[name] = entry
        else:
            problems.append(
                f"{name} = {_show(value)}: expected an enforcement level ({', '.join(LEVELS)}) "
                'or an object with "enforcementLevel" and settings'
            )
    if problems:
        raise PolicyConfigError(problems_message(problems))
    for policy in info.policies:
        entry = resolved.setdefault(policy.name, {})
        entry.setdefault("enforcementLevel", all_level or policy.level)
        for key, schema in (policy.config_schema.get("properties") or {}).items():
            if "default" in schema and key not in entry:
                entry[key] = plain(schema["default"])
    return resolved
