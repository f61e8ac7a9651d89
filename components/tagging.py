"""How resources carry the platform's tags: one mechanism, a style per target.

A :class:`TagStyle` says where a provider's resource args take tags (``tags``, ``labels``, or
``metadata.labels`` on objects with metadata) and where the policy pack reads them back in the
wire form. :func:`apply_tags` merges the platform's tags into an args object in that place, and
a resource's own tags win over the platform's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class TagStyle:
    word: str
    """What the target calls them, for messages: ``tags`` or ``labels``."""
    path: tuple[str, ...]
    """Attribute path on a provider args object: ``("tags",)``, ``("metadata", "labels")``."""
    wire_paths: tuple[str, ...]
    """Dotted camelCase input paths where they appear on the wire, first match wins."""


TAGS = TagStyle("tags", ("tags",), ("tags",))
LABELS = TagStyle("labels", ("labels",), ("labels", "userLabels", "resourceLabels"))
METADATA_LABELS = TagStyle("labels", ("metadata", "labels"), ("metadata.labels",))


def _get(holder: Any, name: str) -> Any:
    return holder.get(name) if isinstance(holder, Mapping) else getattr(holder, name, None)


def _set(holder: Any, name: str, value: Any) -> None:
    if isinstance(holder, dict):
        holder[name] = value
    else:
        setattr(holder, name, value)


def apply_tags(args: Any, style: TagStyle, tags: Mapping[str, str]) -> None:
    """Merge ``tags`` into ``args`` at ``style.path`` (creating a dict ``metadata`` if absent)."""
    holder = args
    for part in style.path[:-1]:
        inner = _get(holder, part)
        if inner is None:
            inner = {}
            _set(holder, part, inner)
        holder = inner
    own = _get(holder, style.path[-1]) or {}
    _set(holder, style.path[-1], {**tags, **own})
