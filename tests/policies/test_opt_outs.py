"""Every named opt-out is seen by the policy pack: each target's ``<target>.insecure`` field either
waives a condition of some rule (``Rule.waivers``) or only relaxes a spec rule the pack does not
enforce (the section's ``SPEC_ONLY``), and every waiver a rule declares is a real opt-out."""

from __future__ import annotations

from pydantic.alias_generators import to_camel

from components import targets
from components.spec import INSECURE_OPT_OUTS, TargetInsecureSpec
from policies.catalog import RULES
from policies.framework import rule_waivers
from policies.rules import ALL_CHECKS

WAIVERS = rule_waivers(ALL_CHECKS)


def _declared() -> dict[str, type[TargetInsecureSpec]]:
    found: dict[str, type[TargetInsecureSpec]] = {}
    for target in targets.TARGETS.values():
        section = target.module("spec").SECTION
        insecure = section.model_fields.get("insecure")
        if insecure is None:
            continue
        model = insecure.annotation
        assert isinstance(model, type) and issubclass(model, TargetInsecureSpec), target.name
        for name in model.model_fields:
            found[f"{target.name}.{to_camel(name)}"] = model
    return found


def test_every_target_opt_out_is_waived_by_a_rule_or_declared_spec_only() -> None:
    waived = {name for names in WAIVERS.values() for name in names}
    for name, model in _declared().items():
        own = name.split(".", 1)[1]
        assert name in waived or own in model.SPEC_ONLY, f"{name}: no rule waives it and it is not SPEC_ONLY"
        assert not (name in waived and own in model.SPEC_ONLY), f"{name} is both waived and SPEC_ONLY"


def test_every_rule_waiver_is_an_opt_out_a_stack_can_set() -> None:
    declared = set(_declared()) | set(INSECURE_OPT_OUTS)
    for rule, names in WAIVERS.items():
        for name in names:
            assert name in declared, f"{rule} waives {name!r}, which no spec declares"
    for rule in RULES:
        if rule.opt_out:
            assert rule.opt_out in INSECURE_OPT_OUTS, rule.name
