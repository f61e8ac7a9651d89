"""Resource quantities as container specs write them: CPU (``"250m"``) and bytes (``"512Mi"``)."""

from __future__ import annotations

_UNITS = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12}


def cpu_cores(quantity: str | int | float) -> float:
    """A CPU quantity in cores: ``"250m"`` -> 0.25, ``"1"`` -> 1."""
    text = str(quantity)
    return int(text[:-1]) / 1000 if text.endswith("m") else float(text)


def gib(quantity: str | int | float) -> float:
    """A memory or storage quantity in GiB: ``"512Mi"`` -> 0.5, ``"1.0Gi"`` -> 1 (plain numbers are bytes)."""
    text = str(quantity)
    for suffix, factor in _UNITS.items():
        if text.endswith(suffix):
            return float(text[: -len(suffix)]) * factor / 2**30
    return float(text) / 2**30
