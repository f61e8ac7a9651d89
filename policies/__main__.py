"""The policy pack's entry point, run by `pulumi preview --policy-pack policies` (and offline).

The engine starts ``python -m pulumi.policy <engine> policies``, which runs this file; the
PolicyPack constructor serves the Analyzer gRPC protocol and prints its port on stdout.
"""

import gc

from pulumi_policy import EnforcementLevel, PolicyPack

from policies import servicer
from policies.pack import PACK_DESCRIPTION, PACK_NAME, policies

# Each Analyze call builds and drops thousands of small dicts and lists (the SDK deserialises a
# resource's properties once per policy); with the collector's default thresholds, full
# collections over everything imported cost more than the checks on large stacks. Freeze what
# start-up loaded and collect the young generation less often.
gc.freeze()
gc.set_threshold(20_000, 50, 100)
servicer.install()  # properties converted once per request, not once per policy

PolicyPack(
    name=PACK_NAME,
    description=PACK_DESCRIPTION,
    policies=policies(),
    enforcement_level=EnforcementLevel.ADVISORY,
)
