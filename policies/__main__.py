"""The policy pack's entry point, run by `pulumi preview --policy-pack policies` (and offline).

The engine starts ``python -m pulumi.policy <engine> policies``, which runs this file; the
PolicyPack constructor serves the Analyzer gRPC protocol and prints its port on stdout.
"""

from pulumi_policy import EnforcementLevel, PolicyPack

from policies.pack import PACK_DESCRIPTION, PACK_NAME, policies

PolicyPack(
    name=PACK_NAME,
    description=PACK_DESCRIPTION,
    policies=policies(),
    enforcement_level=EnforcementLevel.ADVISORY,
)
