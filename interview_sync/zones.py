"""Which time zone each reader sees, and how a time is written for them.

Times are UTC inside (DESIGN); a zone is chosen only when a time is rendered
for a person. The candidate reads times in the zone they booked in (the
scheduler reports it), before that in the zone of the job's office
(``[offices]``), else ``policy.timezone``. A hiring manager reads times in
their scheduler account's zone, else the same fallback. Zone names from
vendors are untrusted text: one that ``zoneinfo`` does not know is ignored
rather than allowed to break a poll.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def known_zone(name: object) -> str | None:
    """``name`` if it is an IANA zone this machine knows, else None (never raises)."""
    if not isinstance(name, str) or not name.strip() or len(name) > 64:
        return None
    try:
        ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None
    return name.strip()


def office_zone(office: str | None, offices: Mapping[str, str]) -> str | None:
    """The ``[offices]`` zone of a job's office; office names match case-insensitively
    because recruiters type them by hand in the config and in the ATS."""
    if not office:
        return None
    wanted = office.strip().casefold()
    return next((zone for name, zone in offices.items() if name.strip().casefold() == wanted), None)


def fallback_zone(office: str | None, offices: Mapping[str, str], default: str) -> str:
    """The zone used before we know the reader's own: the office's, else ``default``."""
    return known_zone(office_zone(office, offices)) or default


def candidate_zone(booked: object, office: str | None, offices: Mapping[str, str], default: str) -> str:
    """The candidate's zone: the one they booked in, else the office's, else ``default``."""
    return known_zone(booked) or fallback_zone(office, offices, default)


def manager_zone(host: object, office: str | None, offices: Mapping[str, str], default: str) -> str:
    """The hiring manager's zone: their scheduler account's, else the office's, else ``default``."""
    return known_zone(host) or fallback_zone(office, offices, default)


def _clock(local: datetime) -> str:
    return f"{local.strftime('%I:%M %p').lstrip('0')} {local.tzname()}"


def _day(local: datetime) -> str:
    return f"{local:%A, %B} {local.day}, {local.year}"


def format_local(value: datetime, zone: str) -> str:
    """``Tuesday, December 1, 2026 at 9:00 AM PST (America/Los_Angeles)``: the abbreviation
    alone is ambiguous (CST is three zones), the IANA name alone is unfamiliar."""
    local = value.astimezone(ZoneInfo(zone))
    return f"{_day(local)} at {_clock(local)} ({zone})"


def format_range(start: datetime, end: datetime, zone: str) -> str:
    """``Tuesday, December 1, 2026 at 9:00 AM PST – 9:30 AM PST (America/Los_Angeles)``.
    Each end names its own abbreviation (a DST change can fall inside) and the end
    names its own date when the interview runs past midnight."""
    first, last = start.astimezone(ZoneInfo(zone)), end.astimezone(ZoneInfo(zone))
    until = _clock(last) if first.date() == last.date() else f"{_day(last)} at {_clock(last)}"
    return f"{_day(first)} at {_clock(first)} – {until} ({zone})"
