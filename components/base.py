"""Shared machinery every building block uses: tagging, child naming and the transform hook.

Each building block is a ``pulumi.ComponentResource`` that creates its children through
:meth:`Block.child`, so three promises hold for every resource the library creates:

* it is parented to its block (so the resource tree reads like the architecture);
* it carries the block's tags when its args class accepts ``tags`` (or the cloud's
  equivalent, ``labels`` on GCP), so no block can forget them;
* a caller can adjust it before it is registered through ``transform={"<key>": fn}``,
  the escape hatch for anything the typed args do not expose (as SST's ``transform``).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

import pulumi

R = TypeVar("R", bound=pulumi.Resource)
A = TypeVar("A")

Transform = Callable[[Any, pulumi.ResourceOptions], "tuple[Any, pulumi.ResourceOptions] | None"]
"""``fn(args, opts)``: mutate the provider args object / options in place, or return a
replacement ``(args, opts)`` pair. Keys are the child keys each block documents."""


@dataclass(kw_only=True)
class BlockArgs:
    """The interface every building block shares (as Azure Verified Modules do)."""

    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags (labels on GCP) applied to every taggable child resource."""
    transform: Mapping[str, Transform] = field(default_factory=dict)
    """Escape hatch: child key -> function adjusting that child's args/options."""


#: provider SDKs whose ``tags``/``labels`` argument is the cloud's resource tagging; other
#: packages may use the same name for something else (docker-build's ``tags`` are image tags)
TAGGING_PACKAGES = ("pulumi_aws", "pulumi_azure_native", "pulumi_gcp")


@functools.cache
def _accepts(args_type: type, attribute: str) -> bool:
    """True when a cloud provider's args class takes ``attribute`` as resource tags (cached:
    introspection is slow)."""
    if args_type.__module__.split(".", 1)[0] not in TAGGING_PACKAGES:
        return False
    try:
        return attribute in inspect.signature(args_type.__init__).parameters
    except (TypeError, ValueError):
        return False


class Block(pulumi.ComponentResource):
    """Base class of every building block; see the module docstring for what it guarantees."""

    #: name of the tagging argument on this cloud's resources
    tag_attribute: str = "tags"

    def __init__(
        self,
        type_token: str,
        name: str,
        common: BlockArgs,
        opts: pulumi.ResourceOptions | None = None,
        *,
        props: Mapping[str, Any] | None = None,
    ) -> None:
        """``props`` are recorded as the component's inputs, where policies can read them."""
        super().__init__(type_token, name, dict(props) if props else None, opts)
        self._block_name = name
        self._tags = dict(common.tags)
        self._transforms = dict(common.transform)

    def child(
        self,
        key: str,
        factory: Callable[[str, A, pulumi.ResourceOptions], R],
        args: A,
        opts: pulumi.ResourceOptions | None = None,
        *,
        name: str | None = None,
    ) -> R:
        """Create a child resource named ``<block>-<name or key>`` with tags and transform applied."""
        self._apply_tags(args)
        merged = pulumi.ResourceOptions.merge(pulumi.ResourceOptions(parent=self), opts)
        hook = self._transforms.get(key)
        if hook is not None:
            replaced = hook(args, merged)
            if replaced is not None:
                args, merged = replaced
        return factory(f"{self._block_name}-{name or key}", args, merged)

    def _apply_tags(self, args: Any) -> None:
        if not self._tags or not _accepts(type(args), self.tag_attribute):
            return
        own = getattr(args, self.tag_attribute, None) or {}
        setattr(args, self.tag_attribute, {**self._tags, **own})
