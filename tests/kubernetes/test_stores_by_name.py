"""Cache and VectorStore given the SecretStore's names (``secret_name``, ``issuer_name``) instead of
the store object, as their facades are (a resource cannot be an argument across languages): the
same objects, ordered by depending on the store."""

from __future__ import annotations

from typing import Any

import pulumi
import pytest

from components.kubernetes.cache import Cache, CacheArgs
from components.kubernetes.readiness import findings
from components.kubernetes.secrets import SecretStore
from components.kubernetes.vector_store import VectorStore, VectorStoreArgs
from components.testing import Graph
from tests.kubernetes.conftest import DIGEST, NAMESPACE, TAGS, plan_block, secret_store

COMMON: dict[str, Any] = {"tags": TAGS, "namespace": NAMESPACE, "part_of": "ai-api", "image": DIGEST}
CACHE: dict[str, Any] = {"auth_token": "t" * 32, "auth_token_key": "redisAuthToken"}


def _store_block(block: str, given: dict[str, Any], opts: pulumi.ResourceOptions | None = None) -> None:
    """A Cache (``cache``) or VectorStore (``vector-store``) with ``given`` besides the common arguments."""
    if block == "cache":
        Cache("redis", CacheArgs(**COMMON, **CACHE, **given), opts)
    else:
        VectorStore("pg", VectorStoreArgs(**COMMON, **given), opts)


def _build(block: str, store: SecretStore, by_name: bool, opts: pulumi.ResourceOptions | None = None) -> None:
    given: dict[str, Any] = {"secret_store": store}
    if by_name:
        given = {"issuer_name": store.issuer_name}
        if block == "cache":
            given["secret_name"] = store.secret_name
    _store_block(block, given, opts)


def _planned(block: str, *, by_name: bool, depend: bool = False) -> Graph:
    def program() -> None:
        store = secret_store()
        _build(block, store, by_name, pulumi.ResourceOptions(depends_on=[store]) if depend else None)

    return plan_block(program)


def _objects(graph: Graph) -> list[tuple[str, str, Any]]:
    return sorted((r.type, r.name, r.inputs) for r in graph.resources if r.custom)


@pytest.mark.parametrize("block", ["cache", "vector-store"])
def test_by_name_the_store_builds_the_same_objects(block: str) -> None:
    assert _objects(_planned(block, by_name=True, depend=True)) == _objects(_planned(block, by_name=False))


@pytest.mark.parametrize("block", ["cache", "vector-store"])
def test_by_name_the_store_must_be_depended_on(block: str) -> None:
    """Without the object the block cannot wait for the Issuer itself: the readiness check finds a
    certificate issued before its Issuer exists; ``depends_on=[store]`` (a facade's ``dependsOn``) fixes it."""
    unordered = {f.invariant for f in findings(_planned(block, by_name=True))}
    assert "issuers-before-certificates" in unordered
    assert findings(_planned(block, by_name=True, depend=True)) == []


@pytest.mark.parametrize(
    ("block", "given", "words"),
    [
        ("cache", {}, r"CacheArgs\.secret_name: required without secret_store"),
        ("cache", {"secret_name": "store-app"}, r"CacheArgs\.secret_store: required, or issuer_name"),
        ("vector-store", {"issuer_name": ""}, r"VectorStoreArgs\.secret_store: required, or issuer_name"),
        ("vector-store", {"issuer_name": "store-ca", "store": True}, r"VectorStoreArgs: issuer_name given with"),
        ("cache", {"secret_name": "x", "store": True}, r"CacheArgs: secret_name given with secret_store"),
    ],
)
def test_the_store_or_its_names_not_neither_nor_both(block: str, given: dict[str, Any], words: str) -> None:
    def program() -> None:
        values = dict(given)
        if values.pop("store", False):
            values["secret_store"] = secret_store()
        _store_block(block, values)

    with pytest.raises(ValueError, match=words):
        plan_block(program)
