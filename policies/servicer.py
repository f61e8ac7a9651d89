"""The SDK's Analyzer servicer, converting a request's properties once instead of once per policy.

``pulumi_policy``'s servicer turns a resource's properties into Python values (``MessageToDict``,
``deserialize_properties``, the unknown-checking proxy) again for every policy it runs. With a
dozen resource policies and seven stack policies, that conversion is most of the pack's time on
large stacks (measured: about two thirds of an AnalyzeStack over 5,000 resources). Within one
``Analyze`` or ``AnalyzeStack`` call this servicer lets every policy share the converted
properties; everything else -- levels, config, diagnostics and their messages -- is the SDK's own
code, unchanged.

Sharing is safe for this pack because no check writes to the properties: the framework hands
checks plain copies (``policies.framework.plain``). ``Remediate`` (which may rewrite
properties) is left as it is.

``Configure`` refuses the ``remediate`` level for a policy with no automatic fix (the SDK would
quietly treat it as mandatory), so ``pulumi preview --policy-pack-config`` and the offline check
both stop with a message naming the policy and the levels it accepts.

:func:`install` must run before ``PolicyPack(...)`` is constructed (``policies/__main__.py``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import grpc
from pulumi.runtime.proto import analyzer_pb2
from pulumi_policy import ResourceValidationPolicy
from pulumi_policy import policy as sdk

from policies.errors import problems_message

FIXLESS_LEVELS = ("advisory", "mandatory", "disabled")

_request = threading.local()


@contextmanager
def _one_request() -> Iterator[None]:
    _request.memo = {}
    try:
        yield
    finally:
        _request.memo = None


def request_memo() -> dict[Any, Any] | None:
    """The current request's memo (None outside a request, e.g. in-process runs), for values every
    policy of one request would otherwise rebuild (the framework's stack view)."""
    return getattr(_request, "memo", None)


def once(convert: Callable[[Any], Any], value: Any) -> Any:
    """``convert(value)``, computed once per ``value`` object within a request; outside one, every time.

    For conversions every policy repeats on the same properties (the framework's plain copies too).
    """
    memo: dict[tuple[Any, int], tuple[Any, Any]] | None = getattr(_request, "memo", None)
    if memo is None:
        return convert(value)
    key = (convert, id(value))
    hit = memo.get(key)
    if hit is not None and hit[0] is value:
        return hit[1]
    result = convert(value)
    memo[key] = (value, result)  # keeping ``value`` alive keeps its id unique within the request
    return result


def _shared_within_a_request(convert: Callable[..., Any]) -> Callable[..., Any]:
    """``convert`` computed once per value object within a request (calls with more arguments pass through)."""

    def shared(value: Any, *rest: Any) -> Any:
        return convert(value, *rest) if rest else once(convert, value)

    return shared


class _JsonFormat:
    """The servicer's view of ``google.protobuf.json_format``, with ``MessageToDict`` shared."""

    def __init__(self, module: Any) -> None:
        self._module = module
        self.MessageToDict = _shared_within_a_request(module.MessageToDict)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._module, name)


def remediable(policy: Any) -> bool:
    """Whether a policy has an automatic fix, so that its ``remediate`` level means something."""
    return isinstance(policy, ResourceValidationPolicy) and policy.has_remediation()


def remediate_refusals(policies: list[Any], remediate: list[str]) -> list[str]:
    """One problem per policy set to ``remediate`` that has no automatic fix."""
    fixable = sorted(p.name for p in policies if remediable(p))
    return [
        f'{name} = "remediate": {name} has no automatic fix; allowed: {", ".join(FIXLESS_LEVELS)} '
        f"(remediate is for {', '.join(fixable)})"
        for name in remediate
        if name not in fixable and name in {p.name for p in policies}
    ]


class SharedConversionServicer(sdk._PolicyAnalyzerServicer):
    def Configure(self, request: Any, context: Any) -> Any:
        policies = getattr(self, "_PolicyAnalyzerServicer__policies", [])
        remediate = analyzer_pb2.REMEDIATE
        asked = sorted(name for name, entry in request.policyConfig.items() if entry.enforcementLevel == remediate)
        problems = remediate_refusals(policies, asked)
        if problems:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, problems_message(problems))
        return super().Configure(request, context)

    def Analyze(self, request: Any, context: Any) -> Any:
        with _one_request():
            return super().Analyze(request, context)

    def AnalyzeStack(self, request: Any, context: Any) -> Any:
        with _one_request():
            return super().AnalyzeStack(request, context)

    def _get_resource_options(self, request: Any) -> Any:
        return once(super()._get_resource_options, request)

    def _get_provider_resource(self, request: Any) -> Any:
        return once(super()._get_provider_resource, request)


_SDK_NAMES = ("json_format", "deserialize_properties", "unknown_checking_proxy", "_PolicyAnalyzerServicer")
_SERVICER_METHODS = ("Analyze", "AnalyzeStack", "Configure", "_get_resource_options", "_get_provider_resource")


def install() -> bool:
    """Make ``PolicyPack`` serve with :class:`SharedConversionServicer` (idempotent).

    Returns False, leaving the SDK as it is (correct, only slower), when the installed
    pulumi-policy no longer has the private names this relies on.
    """
    namespace: dict[str, Any] = sdk.__dict__  # the names the SDK's servicer looks up when it runs
    if namespace.get("_PolicyAnalyzerServicer") is SharedConversionServicer:
        return True
    stock = namespace.get("_PolicyAnalyzerServicer")
    if any(name not in namespace for name in _SDK_NAMES) or not all(
        callable(getattr(stock, method, None)) for method in _SERVICER_METHODS
    ):
        return False
    namespace["json_format"] = _JsonFormat(namespace["json_format"])
    for name in ("deserialize_properties", "unknown_checking_proxy"):
        namespace[name] = _shared_within_a_request(namespace[name])
    namespace["_PolicyAnalyzerServicer"] = SharedConversionServicer
    return True
