"""The offline policy check's errors, in a module light enough for the CLI to import at start-up."""

from __future__ import annotations


class PolicyUsageError(Exception):
    """The user's input to the check is wrong (a config or a file); exit 2 in the CLI."""


class PolicyConfigError(PolicyUsageError):
    """The policy config does not fit the pack; the message names every problem."""


class InputFormatError(PolicyUsageError):
    """The file is none of the formats the offline check reads; the message says what was expected."""


class PackError(Exception):
    """The pack could not be started or did not answer; the message says why, with its stderr."""


def problems_message(problems: list[str]) -> str:
    """One message naming every problem of a policy config (the offline check and the pack's Configure)."""
    return f"invalid policy config ({len(problems)} problem(s)):\n" + "\n".join(f"  - {p}" for p in problems)
