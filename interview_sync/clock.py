"""The injected clock: everything that asks "what time is it" asks one of these."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(timezone.utc)


class FixedClock:
    """A clock that only moves when told to (tests, `--now`, replay, selftest)."""

    def __init__(self, at: datetime) -> None:
        self._at = ensure_utc(at)

    def now(self) -> datetime:
        return self._at

    def set(self, at: datetime) -> None:
        self._at = ensure_utc(at)

    def advance(self, **kwargs: float) -> datetime:
        self._at += timedelta(**kwargs)
        return self._at


def ensure_utc(value: datetime) -> datetime:
    """Naive datetimes are refused upstream; aware ones are normalised to UTC."""
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value.isoformat()} has no offset")
    return value.astimezone(timezone.utc)


def parse_instant(text: str) -> datetime:
    """Parse ISO 8601 with offset (``Z`` allowed) into a UTC datetime."""
    cleaned = text.strip()
    if cleaned.endswith("Z"):
        cleaned = cleaned[:-1] + "+00:00"
    value = datetime.fromisoformat(cleaned)
    if value.tzinfo is None:
        raise ValueError(f"{text!r} has no UTC offset; write e.g. 2026-11-24T09:00:00Z")
    return value.astimezone(timezone.utc)


def iso(value: datetime) -> str:
    """UTC ISO 8601 with a Z suffix and second precision, as vendors write it."""
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
