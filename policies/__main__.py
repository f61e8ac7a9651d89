"""The policy pack's entry point, run by `pulumi preview --policy-pack policies` (and offline).

The engine starts ``python -m pulumi.policy <engine> <pack-dir>``, which runs this file; the
PolicyPack constructor serves the Analyzer gRPC protocol and prints its port on stdout.

A published pack is unpacked into a folder of the engine's choosing (not named ``policies``,
with no project around it), so this file first binds its own folder as the ``policies``
package: the pack always runs its own code, whatever its folder is called and whatever else
is on the path.
"""

import gc
import importlib.util
import sys
from pathlib import Path


def _bind_own_folder() -> None:
    folder = Path(__file__).resolve().parent
    loaded = sys.modules.get("policies")
    if loaded is not None and Path(loaded.__file__ or "").resolve().parent == folder:
        return
    spec = importlib.util.spec_from_file_location(
        "policies", folder / "__init__.py", submodule_search_locations=[str(folder)]
    )
    assert spec is not None and spec.loader is not None
    package = importlib.util.module_from_spec(spec)
    sys.modules["policies"] = package
    spec.loader.exec_module(package)


_bind_own_folder()

from pulumi_policy import EnforcementLevel, PolicyPack  # noqa: E402 -- after the folder is bound

from policies import servicer  # noqa: E402
from policies.pack import PACK_DESCRIPTION, PACK_NAME, policies  # noqa: E402

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
