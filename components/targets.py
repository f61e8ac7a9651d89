"""The targets registry: the one place that lists the clouds (and Kubernetes) the platform deploys to.

Each :class:`Target` names its folder, ``components/<folder>/``, which holds by convention:

* ``spec.py``: ``SECTION`` (the pydantic model of the stack file's ``ai-platform:<name>``
  section) and ``check(spec, values)`` (the target's cross-key rules, as ``Problem``\\ s);
* ``platform.py``: ``AiPlatform(name, spec, secrets, *, project_root, opts)``;
* ``mocks.py``: ``resource_outputs(type, name, inputs)`` and ``call_result(token, args)``, the
  offline answers of the target's provider;
* ``readiness.py``: ``INVARIANTS``, the deploy-readiness checks of the target's planned graphs.
* ``cost.py`` + ``prices.json``: what each of its resource types costs a month (``PRICED``,
  ``FREE``, ``NOT_PRICED`` and the price table; the engine is ``components.cost``).

Adding a target is one folder plus one entry in ``TARGETS``; no other file in ``components/``
names a cloud (``tests/test_targets.py`` fails if one does). Modules are imported lazily, so
reading the registry costs nothing.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from components.tagging import LABELS, METADATA_LABELS, TAGS, TagStyle


@dataclass(frozen=True)
class Target:
    """One deployment target and everything the shared code needs to know about it."""

    name: str
    """The value of ``ai-platform:cloud`` and the name of the stack file's section."""
    title: str
    """How messages and docs name it."""
    available: bool
    """False while its folder is being built: the spec accepts the name, ``plan``/``up`` refuse it."""
    provider_packages: tuple[str, ...]
    """Type-token packages of its provider (``aws`` in ``aws:sqs/queue:Queue``)."""
    sdk_module: str
    """The provider's Python SDK module (``pulumi_aws``): its args classes take the tags."""
    tag_style: TagStyle
    """How its resources carry the platform's tags: tags, labels or ``metadata.labels``."""
    region_key: str | None = None
    """The provider config key holding the region (``aws:region``), if the target has one."""
    region_hint: str = ""
    """An example for the error that asks for the region."""
    stack_prefix: str = ""
    """Shipped stacks are ``stacks/Pulumi.<stack_prefix>-*.yaml`` (default: the target's name)."""

    @property
    def stacks_glob(self) -> str:
        return f"Pulumi.{self.stack_prefix or self.name}-*.yaml"

    @property
    def package(self) -> str:
        return f"components.{self.name}"

    def module(self, name: str) -> ModuleType:
        """The target's ``components/<name>/<module>.py`` (``spec``, ``platform``, ``mocks``, ``readiness``)."""
        if not self.available:
            raise NotAvailable(self)
        return importlib.import_module(f"{self.package}.{name}")

    def platform_class(self) -> Any:
        return self.module("platform").AiPlatform

    def readiness_findings(self, graph: Any) -> list[Any]:
        """The target's deploy-readiness findings on a planned graph (empty: ready to deploy)."""
        return self.module("readiness").findings(graph)


class NotAvailable(LookupError):
    """The target is registered but not built yet."""

    def __init__(self, target: Target) -> None:
        self.target = target
        super().__init__(f"{target.name} is not available in this release yet; available: {', '.join(available())}")


TARGETS: dict[str, Target] = {
    target.name: target
    for target in (
        Target(
            name="aws",
            title="AWS",
            available=True,
            provider_packages=("aws",),
            sdk_module="pulumi_aws",
            tag_style=TAGS,
            region_key="aws:region",
            region_hint="pulumi config set aws:region us-east-1",
        ),
        Target(
            name="gcp",
            title="Google Cloud",
            available=True,
            provider_packages=("gcp",),
            sdk_module="pulumi_gcp",
            tag_style=LABELS,
            region_key="gcp:region",
            region_hint="pulumi config set gcp:region europe-west1",
        ),
        Target(
            name="azure",
            title="Azure",
            available=True,
            provider_packages=("azure-native",),
            sdk_module="pulumi_azure_native",
            tag_style=TAGS,
            region_key="azure-native:location",
            region_hint="pulumi config set azure-native:location westeurope",
        ),
        Target(
            name="kubernetes",
            title="Kubernetes",
            available=True,
            provider_packages=("kubernetes",),
            sdk_module="pulumi_kubernetes",
            tag_style=METADATA_LABELS,
            stack_prefix="k8s",
        ),
    )
}


def names() -> tuple[str, ...]:
    """Every registered target, available or not (the values ``ai-platform:cloud`` accepts)."""
    return tuple(TARGETS)


def available() -> tuple[str, ...]:
    return tuple(name for name, target in TARGETS.items() if target.available)


def get(name: str) -> Target:
    """The registered target ``name`` (KeyError names the registered ones)."""
    try:
        return TARGETS[name]
    except KeyError:
        raise KeyError(f"unknown target {name!r}; registered: {', '.join(TARGETS)}") from None


def for_package(package: str) -> Target | None:
    """The target whose provider owns type-token package ``package`` (``aws``, ``azure-native``)."""
    for target in TARGETS.values():
        if package in target.provider_packages:
            return target
    return None


def for_type(type_token: str) -> Target | None:
    """The target of a resource type token: a provider type (``aws:sqs/queue:Queue``) or one of
    this library's components (``ai-platform:aws:Queue``)."""
    package, _, rest = type_token.partition(":")
    if package == "ai-platform":
        return TARGETS.get(rest.split(":", 1)[0])
    return for_package(package)
