"""Policy config as `--policy-pack-config`: levels, settings, defaults and one clear error."""

from __future__ import annotations

from pathlib import Path

import pytest

from policies.analyzer import PackInfo, PolicyInfo
from policies.catalog import RULES
from policies.config import load_config_file, resolve_config
from policies.errors import PolicyConfigError


@pytest.fixture(scope="module")
def info() -> PackInfo:
    """The pack's info as GetAnalyzerInfo reports it (numbers arrive as floats over the wire)."""

    def wire(schema: dict) -> dict:
        return {k: float(v) if isinstance(v, int) and not isinstance(v, bool) else v for k, v in schema.items()}

    return PackInfo(
        "ai-platform-production",
        "0.0.1",
        "",
        [
            PolicyInfo(
                r.name,
                r.description,
                r.enforcement.value,
                r.severity.value,
                r.remediation,
                r.scope,
                {"properties": {k: wire(dict(v)) for k, v in r.config.items()}} if r.config else {},
            )
            for r in RULES
        ],
    )


def test_no_config_gives_every_policy_its_level_and_defaults(info: PackInfo) -> None:
    resolved = resolve_config(None, info)
    assert set(resolved) == {r.name for r in RULES}
    assert resolved["kms-key-rotation"] == {"enforcementLevel": "mandatory", "maximumRotationDays": 365}
    assert resolved["insecure-opt-outs"] == {"enforcementLevel": "advisory", "allowed": []}


def test_levels_settings_and_all(info: PackInfo) -> None:
    resolved = resolve_config(
        {
            "all": "advisory",
            "tls-in-transit": {"minimumTlsVersion": "1.3"},
            "encryption-at-rest": "disabled",
            "log-retention": {"enforcementLevel": "mandatory", "minimumRetentionDays": 90},
        },
        info,
    )
    assert resolved["tls-in-transit"]["enforcementLevel"] == "advisory"
    assert resolved["tls-in-transit"]["minimumTlsVersion"] == "1.3"
    assert "allowedAlbSslPolicies" in resolved["tls-in-transit"]  # defaults kept beside the setting
    assert resolved["encryption-at-rest"] == {"enforcementLevel": "disabled"}
    assert resolved["log-retention"] == {"enforcementLevel": "mandatory", "minimumRetentionDays": 90}
    assert resolved["required-tags"]["enforcementLevel"] == "advisory"


def test_every_problem_is_named_in_one_error(info: PackInfo) -> None:
    with pytest.raises(PolicyConfigError) as raised:
        resolve_config(
            {
                "tls-in-transt": "mandatory",
                "all": "block",
                "kms-key-rotation": {"maximumRotationDays": 0, "enforcementLevel": "strict"},
                "tls-in-transit": {"minimumTlsVersion": "1.1", "ciphers": ["x"]},
                "required-tags": 3,
            },
            info,
        )
    message = str(raised.value)
    assert "invalid policy config (7 problem(s))" in message
    assert 'tls-in-transt = "mandatory": not a policy of ai-platform-production; policies: ' in message
    assert 'all = "block": not an enforcement level; allowed: advisory, mandatory, remediate, disabled' in message
    assert 'kms-key-rotation.enforcementLevel = "strict": not an enforcement level' in message
    assert "kms-key-rotation.maximumRotationDays = 0: 0 is less than the minimum of 1" in message
    assert 'tls-in-transit.minimumTlsVersion = "1.1": "1.1" is not one of "1.2" or "1.3"' in message
    assert 'tls-in-transit.ciphers = ["x"]: not a setting of tls-in-transit; settings: allowedAlbSslPolicies' in message
    assert "required-tags = 3: expected an enforcement level" in message


def test_config_files_are_json_objects(tmp_path: Path) -> None:
    path = tmp_path / "policy.json"
    path.write_text('{"all": "advisory"}')
    assert load_config_file(path) == {"all": "advisory"}
    path.write_text("[1]")
    with pytest.raises(PolicyConfigError, match="must be a JSON object"):
        load_config_file(path)
    path.write_text("{")
    with pytest.raises(PolicyConfigError, match="not valid JSON"):
        load_config_file(path)
