"""What every generated facade runs: turn the package's inputs into the Python block's args (or
the stack spec), build the block, and expose its outputs under the schema's names.

The component provider hands a facade plain dicts with Python names and enum members; the blocks
take dataclasses with ``Literal`` strings, and ``AiPlatform`` takes a validated ``PlatformSpec``.
"""

from __future__ import annotations

import dataclasses
import inspect
import typing
from collections.abc import Mapping
from enum import Enum
from typing import Any

import pulumi
from pulumi.provider.experimental.util import camel_case
from pulumi.runtime import config as runtime_config
from pydantic import BaseModel

from components import targets
from components.program import PROJECT_ROOT
from components.spec import NAMESPACE, PlatformSpec

WAIT_FIELDS = ("depends_on", "wait_for", "bindings")
"""Block arguments listing resources the block's children wait for (APIs, key and IAM bindings,
role assignments): a facade fills them from its own ``dependsOn``, as resources cannot be
arguments across languages."""


def _plain(value: Any) -> Any:
    """Enum members as the ``Literal`` values the blocks and the spec take."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _entries(value: Any) -> Any:
    """A map or list the engine sent as one output (an entry is secret, or comes from another
    resource) as a map or list of outputs that keep its secrecy and dependencies: blocks need the
    keys while planning (one secret per key). The provider resolves the value before ``construct``."""
    data = value._data if isinstance(value, pulumi.Output) else None  # the SDK keeps it private
    if data is None or not data.done() or data.exception() is not None:
        return value
    resolved = data.result().value
    if isinstance(resolved, dict):
        return {key: value.apply(lambda entries, key=key: entries[key]) for key in resolved}
    if isinstance(resolved, list):
        return [value.apply(lambda items, index=index: items[index]) for index in range(len(resolved))]
    return value


def _inputs(facade: pulumi.ComponentResource, args: Mapping[str, Any]) -> dict[str, Any]:
    """The facade's inputs with enum members as values and plain maps and lists as such (see
    :func:`_entries`); an ``Input[...]`` argument stays as the engine sent it."""
    hints = inspect.get_annotations(type(facade).__init__)["args"].__annotations__
    return {key: _plain(_entries(value) if _collection(hints.get(key)) else value) for key, value in args.items()}


def _collection(annotation: Any) -> bool:
    """A plain ``dict[...]``/``list[...]`` argument (``Required[...]`` unwrapped), not an ``Input``."""
    if typing.get_origin(annotation) in (typing.Required, typing.NotRequired):
        annotation = typing.get_args(annotation)[0]
    return typing.get_origin(annotation) in (dict, list)


def _outputs(facade: pulumi.ComponentResource) -> list[str]:
    """The outputs a facade class declares (its public annotations), in declaration order."""
    return [name for name in inspect.get_annotations(type(facade)) if not name.startswith("_")]


def _expose(facade: pulumi.ComponentResource, values: Mapping[str, Any]) -> None:
    """Set each declared output from ``values`` (by Python name) and register them all."""
    registered: dict[str, Any] = {}
    for name in _outputs(facade):
        value = values.get(name)
        if isinstance(value, dict):
            value = pulumi.Output.all(**value)
        elif isinstance(value, list):
            value = pulumi.Output.all(*value)
        setattr(facade, name, value)
        if value is not None:
            registered[camel_case(name)] = value
    facade.register_outputs(registered)


def wrap(
    facade: pulumi.ComponentResource,
    block: Any,
    args_type: Any,
    name: str,
    args: Mapping[str, Any],
    opts: pulumi.ResourceOptions | None,
    nested: Mapping[str, type] | None = None,
) -> None:
    """Build ``block`` (named as the facade, parented to it) from the facade's inputs; ``nested``
    names the arguments that are small dataclasses (``Pods``), given as dicts or lists of dicts.
    The block waits for the facade's ``dependsOn``, which also fills its :data:`WAIT_FIELDS`."""
    values = _inputs(facade, args)
    for key, cls in (nested or {}).items():
        if key in values:
            values[key] = _dataclass(cls, values[key])
    given: Any = opts.depends_on if opts is not None else None
    waits: list[Any] = list(given) if isinstance(given, (list, tuple)) else [given] if given else []
    for field in dataclasses.fields(args_type):
        if waits and field.name in WAIT_FIELDS:
            values[field.name] = waits
    options = pulumi.ResourceOptions(parent=facade, depends_on=waits or None)
    built = block(name, args_type(**values), options)
    _expose(facade, {output: getattr(built, output, None) for output in _outputs(facade)})


def _dataclass(cls: type, value: Any) -> Any:
    """A dict (or list of dicts) as ``cls``; its lists as tuples (the dataclasses are frozen)."""
    if isinstance(value, list):
        return [_dataclass(cls, item) for item in value]
    return cls(**{key: tuple(item) if isinstance(item, list) else item for key, item in value.items()})


def stack_values(model: type[BaseModel], value: Any) -> Any:
    """A facade's nested inputs (Python names) as a stack file writes them (camelCase keys)."""
    if isinstance(value, list):
        return [stack_values(model, item) for item in value]
    if not isinstance(value, Mapping):
        return _plain(value)
    out: dict[str, Any] = {}
    for key, item in value.items():
        info = model.model_fields.get(key)
        if info is None:
            out[key] = _plain(item)
            continue
        nested = _section_model(info.annotation)
        out[info.alias or key] = _plain(item) if nested is None else stack_values(nested, item)
    return out


def _section_model(annotation: Any) -> type[BaseModel] | None:
    for candidate in (annotation, *getattr(annotation, "__args__", ())):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
        inner = getattr(candidate, "__args__", ())
        if inner and isinstance(inner[0], type) and issubclass(inner[0], BaseModel):
            return inner[0]
    return None


def platform_config(cloud: str, args: Mapping[str, Any]) -> tuple[dict[str, Any], set[str]]:
    """The stack config (``ai-platform:*`` keys) the facade's arguments stand for, and its secret keys.

    The provider's keys (``aws:region``, ``gcp:project``) come from the stack's config, as in a
    Python program (``region`` overrides the region); secret values stand in as placeholders:
    the spec only checks that they are set."""
    target = targets.get(cloud)
    values: dict[str, Any] = {f"{NAMESPACE}:cloud": cloud}
    secrets = dict(args.get("secrets") or {})
    for key, item in args.items():
        if key in ("secrets", "region"):
            continue
        if key == cloud:
            values[f"{NAMESPACE}:{cloud}"] = stack_values(target.module("spec").SECTION, item)
            continue
        info = PlatformSpec.model_fields[key]
        nested = _section_model(info.annotation)
        values[f"{NAMESPACE}:{info.alias or key}"] = _plain(item) if nested is None else stack_values(nested, item)
    # the provider's own config (region, project, ...) as the stack sets it, which the spec checks
    stack_config = dict(runtime_config.CONFIG.get()) or runtime_config.get_config_env()
    for key, item in stack_config.items():
        if key.partition(":")[0] in target.provider_packages:
            values[key] = item
    if target.region_key and args.get("region"):
        values[target.region_key] = args["region"]
    secret_keys = {f"{NAMESPACE}:{key}" for key in secrets}
    values.update(dict.fromkeys(secret_keys, "[secret]"))
    return values, secret_keys


def wrap_platform(facade: pulumi.ComponentResource, cloud: str, name: str, args: Mapping[str, Any]) -> None:
    """Validate the arguments as a stack spec (``SpecError`` lists every problem, as for a stack
    file) and build the target's ``AiPlatform`` under the facade."""
    args = _inputs(facade, args)
    values, secret_keys = platform_config(cloud, args)
    spec = PlatformSpec.from_config(values, secret_keys)
    secrets = {key: pulumi.Output.secret(value) for key, value in (args.get("secrets") or {}).items()}
    platform = spec.target.platform_class()(
        name, spec, secrets, project_root=PROJECT_ROOT, opts=pulumi.ResourceOptions(parent=facade)
    )
    exports = platform.exports()
    _expose(facade, {output: exports.get(camel_case(output)) for output in _outputs(facade)})
