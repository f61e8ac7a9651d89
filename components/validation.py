"""Validators written once, used by the stack spec and the building blocks alike.

Each returns ``None`` for a good value, else the reason in words ("must be ..."), so the spec can
report it at the stack-file key and a block can raise it with its own argument name: the two
can no longer disagree about what is allowed.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable

_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")
_SECRET_LIKE = re.compile(r"KEY|SECRET|TOKEN|PASSWORD|CREDENTIAL", re.IGNORECASE)
_DIGEST_REF = re.compile(r"^[a-z0-9.\-:/_]+@sha256:[0-9a-f]{64}$")
_CONFIG_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]*$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")

SECRET_WORDS = "KEY/SECRET/TOKEN/PASSWORD/CREDENTIAL"


def domain_name(value: str) -> str | None:
    if _DOMAIN.match(value):
        return None
    return "must be a lower-case DNS name such as api.example.com (labels of a-z, 0-9 and inner hyphens)"


def env_var_name(name: str) -> str | None:
    if _ENV_NAME.match(name):
        return None
    return f"{name!r} is not an environment variable name (A-Z, 0-9, _; not starting with a digit)"


def looks_secret(name: str) -> bool:
    """Whether a variable's name says it holds a secret, so a plain value for it is refused."""
    return bool(_SECRET_LIKE.search(name))


def plain_env_var(name: str) -> str | None:
    """A plain (non-secret) environment variable: a valid name that does not look secret."""
    if looks_secret(name):
        return f"{name!r} looks like a secret ({SECRET_WORDS}): pass it as a secret reference, never plain"
    return env_var_name(name)


def overlapping_env(plain: Iterable[str], secret: Iterable[str]) -> str | None:
    both = sorted(set(plain) & set(secret))
    return f"{both} are both plain environment and secrets: give each variable once" if both else None


def config_key(name: str) -> str | None:
    """A Pulumi config key name within the project's namespace (a secret's, ``openaiApiKey``)."""
    return None if _CONFIG_KEY.match(name) else f"{name!r} is not a config key name"


def digest_ref(value: str) -> str | None:
    if _DIGEST_REF.match(value):
        return None
    return "must be an image reference pinned by digest: <registry>/<repo>@sha256:<64 hex digits>"


def email(value: str) -> str | None:
    return None if _EMAIL.match(value) else "is not an e-mail address"


def private_cidr(value: str, *, min_prefix: int, max_prefix: int) -> str | None:
    try:
        network = ipaddress.IPv4Network(value, strict=True)
    except ValueError as error:
        return f"must be an IPv4 CIDR block such as 10.0.0.0/16 ({error})"
    if not min_prefix <= network.prefixlen <= max_prefix:
        return f"prefix /{network.prefixlen} is not allowed: use /{min_prefix} to /{max_prefix} so every subnet fits"
    if not network.is_private:
        return "must be a private (RFC 1918) range"
    return None
