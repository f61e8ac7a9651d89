"""The plugin's entry point: Pulumi's Python language host runs this file to serve the package
(``PulumiPlugin.yaml``: ``runtime: python``); the schema is inferred from the facades' types."""

import sys
from pathlib import Path

# the component library sits beside this folder: the plugin is this repository's `provider/`
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pulumi.provider.experimental import component_provider_host

from provider import PACKAGE, components

if __name__ == "__main__":
    component_provider_host(components(), name=PACKAGE)
