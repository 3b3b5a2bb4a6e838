"""Helpers the vendor probes share: one Check line from a sample of records."""

from __future__ import annotations

from typing import Any

from ..clock import parse_instant
from ..doctor import Check


def is_instant(value: Any) -> bool:
    """An ISO 8601 instant the adapters can parse."""
    if not value:
        return False
    try:
        parse_instant(str(value))
    except ValueError:
        return False
    return True


def sample_check(name: str, total: int, bad: list[str], fix: str, *, note: str = "") -> Check:
    """``ok`` when no sampled record broke the rule; the detail counts them and names
    a few that did (by their last path segment, never by personal data)."""
    if total == 0:
        return Check(name, True, "not checked: no records to sample")
    detail = f"{total - len(bad)}/{total} match" + (f"; {note}" if note else "")
    if bad:
        detail += "; e.g. " + ", ".join(str(b).rstrip("/").rsplit("/", 1)[-1] for b in bad[:3])
    return Check(name, not bad, detail, fix if bad else "")
