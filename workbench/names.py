"""Validation of user-given names (games, models, presets) with 'did you mean' errors."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class UnknownNameError(ValueError):
    """A name that is not among the valid ones; the message lists the closest valid names."""


def closest_names(name: str, valid: Iterable[str], n: int = 5) -> list[str]:
    """Return up to `n` valid names closest to `name` (case-insensitive)."""
    valid = list(valid)
    by_lower = {v.lower(): v for v in valid}
    hits = difflib.get_close_matches(name.lower(), list(by_lower), n=n, cutoff=0.4)
    if not hits:  # substring matches catch prefixes like "resnet" -> resnet14, resnet20, ...
        hits = [v for v in by_lower if name.lower() in v or v in name.lower()][:n]
    return [by_lower[h] for h in hits]


def check_name(name: str, valid: Iterable[str], what: str) -> str:
    """Return `name` if valid, else raise UnknownNameError naming the closest valid names."""
    valid = sorted(valid)
    if name in valid:
        return name
    close = closest_names(name, valid)
    hint = f" Did you mean: {', '.join(close)}?" if close else ""
    listing = ", ".join(valid) if len(valid) <= 30 else f"{len(valid)} names"
    raise UnknownNameError(f"unknown {what} {name!r}.{hint} Valid {what}s: {listing}.")
