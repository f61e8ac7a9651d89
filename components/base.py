"""Shared machinery every building block uses: tagging, child naming and the transform hook.

Each building block is a ``pulumi.ComponentResource`` that creates its children through
:meth:`Block.child`, so three promises hold for every resource the library creates:

* it is parented to its block (so the resource tree reads like the architecture);
* it carries the block's tags where its target's provider takes them (``tags``, ``labels``
  or ``metadata.labels``: the target's :class:`~components.tagging.TagStyle` in the registry),
  so no block can forget them;
* stateful children (``stateful=True``: databases, caches, keys, secrets) are protected
  (``protect``) when the block's ``protect`` is on, so ``pulumi destroy`` cannot drop data;
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

from components import targets
from components.decisions import platform_tags, policy_facts
from components.tagging import apply_tags

R = TypeVar("R", bound=pulumi.Resource)
A = TypeVar("A")

Transform = Callable[[Any, pulumi.ResourceOptions], "tuple[Any, pulumi.ResourceOptions] | None"]
"""``fn(args, opts)``: mutate the provider args object / options in place, or return a
replacement ``(args, opts)`` pair. Keys are the child keys each block documents."""


@dataclass(kw_only=True)
class BlockArgs:
    """The interface every building block shares (the same tags, transform and protection on every block)."""

    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags (in the target's style: tags or labels) applied to every taggable child resource."""
    protect: bool = False
    """Protect the block's stateful children (data, keys, secrets) from deletion (prod default)."""
    transform: Mapping[str, Transform] = field(default_factory=dict)
    """Escape hatch: child key -> function adjusting that child's args/options."""


@functools.cache
def _accepts(args_type: type, sdk_module: str, attribute: str) -> bool:
    """True when ``args_type`` is one of the target provider's args classes and takes
    ``attribute`` (cached: introspection is slow). Other packages may use the same name for
    something else (docker-build's ``tags`` are image tags)."""
    if args_type.__module__.split(".", 1)[0] != sdk_module:
        return False
    try:
        parameter = inspect.signature(args_type.__init__).parameters.get(attribute)
    except (TypeError, ValueError):
        return False
    # a list of that name is no tag map (API Management's named values take ``tags: Sequence[str]``)
    return parameter is not None and "Sequence[" not in str(parameter.annotation)


class Block(pulumi.ComponentResource):
    """Base class of every building block; see the module docstring for what it guarantees."""

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
        self._protect_stateful = common.protect
        self._target = targets.for_type(type_token)

    def child(
        self,
        key: str,
        factory: Callable[[str, A, pulumi.ResourceOptions], R],
        args: A,
        opts: pulumi.ResourceOptions | None = None,
        *,
        name: str | None = None,
        stateful: bool = False,
    ) -> R:
        """Create a child resource named ``<block>-<name or key>`` with tags and transform applied;
        ``stateful`` children are protected when the block's ``protect`` is on."""
        self._apply_tags(args)
        own = pulumi.ResourceOptions(parent=self, protect=True if stateful and self._protect_stateful else None)
        merged = pulumi.ResourceOptions.merge(own, opts)
        hook = self._transforms.get(key)
        if hook is not None:
            replaced = hook(args, merged)
            if replaced is not None:
                args, merged = replaced
        return factory(f"{self._block_name}-{name or key}", args, merged)

    def _apply_tags(self, args: Any) -> None:
        target = self._target
        if not self._tags or target is None:
            return
        if _accepts(type(args), target.sdk_module, target.tag_style.path[0]):
            apply_tags(args, target.tag_style, self._tags)


class PlatformBlock(Block):
    """What every target's ``AiPlatform`` shares: the platform's tags, and the policy facts
    (environment, opt-outs) registered as its inputs and, by :meth:`register_exports`, its outputs:
    the engine keeps a component's registered outputs as its state, which stack policies read."""

    def __init__(self, name: str, spec: Any, opts: pulumi.ResourceOptions | None = None) -> None:
        self.stack = pulumi.get_stack()
        self.tags = platform_tags(spec, self.stack)
        self.policy_facts: dict[str, Any] = policy_facts(spec)
        super().__init__(
            f"ai-platform:{spec.cloud}:AiPlatform", name, BlockArgs(tags=self.tags), opts, props=self.policy_facts
        )

    def exports(self) -> dict[str, Any]:
        """The stack outputs (each target names its own)."""
        raise NotImplementedError

    def register_exports(self) -> None:
        self.register_outputs({**self.exports(), **self.policy_facts})
