"""The providers the pack knows: how their resources carry tags on the wire, and which of them bill.

The pack is published on its own, without the component library, so it keeps this small table
itself rather than reading ``components.targets``; ``tests/policies/test_standalone.py`` fails if
the two disagree.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TagStyle:
    word: str
    """What the target calls them, for messages: ``tags`` or ``labels``."""
    wire_paths: tuple[str, ...]
    """Dotted camelCase input paths where they appear on the wire, first match wins."""


TAGS = TagStyle("tags", ("tags",))
LABELS = TagStyle("labels", ("labels", "userLabels", "resourceLabels"))
METADATA_LABELS = TagStyle("labels", ("metadata.labels",))


@dataclass(frozen=True)
class Provider:
    package: str
    """The type-token package (``aws`` in ``aws:sqs/queue:Queue``)."""
    tag_style: TagStyle
    billed: bool
    """A cloud that bills the stack (a budget is expected there); not a cluster-only target."""


PROVIDERS: dict[str, Provider] = {
    provider.package: provider
    for provider in (
        Provider("aws", TAGS, billed=True),
        Provider("gcp", LABELS, billed=True),
        Provider("azure-native", TAGS, billed=True),
        Provider("kubernetes", METADATA_LABELS, billed=False),
    )
}

MANAGED_PACKAGES = tuple(PROVIDERS)
"""Packages of every provider the platform deploys with."""
BILLED_PACKAGES = tuple(name for name, provider in PROVIDERS.items() if provider.billed)


def tag_style(package: str) -> TagStyle:
    """How resources of ``package`` carry tags; plain ``tags`` for providers the pack does not know."""
    provider = PROVIDERS.get(package)
    return provider.tag_style if provider is not None else TAGS
