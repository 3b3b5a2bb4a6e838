"""Which language a candidate reads, and how a time is written in it.

A candidate's language comes from the ATS field named by ``locale.field``
(e.g. ``custom.preferred_language``), else their route's ``locale``, else
``locale.default``. The field is free text typed by people ("Spanish",
"Español", "es-MX"), so it is read generously and ignored when unknown.
English keeps the wording :mod:`interview_sync.zones` has always produced;
other languages are written by Babel (CLDR data), US Spanish for ``es``.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from datetime import datetime
from zoneinfo import ZoneInfo

from . import zones

ENGLISH = "en"
SPANISH = "es"
SUPPORTED = (ENGLISH, SPANISH)
_BABEL_LOCALE = {SPANISH: "es_US"}
_NAMES = {
    ENGLISH: {"en", "eng", "english", "ingles"},
    SPANISH: {"es", "spa", "spanish", "espanol", "castellano"},
}


def read_locale(value: object) -> str | None:
    """``"Español"``, ``"es-MX"``, ``"Spanish"`` → ``"es"``; None for anything else."""
    if not isinstance(value, str) or not value.strip() or len(value) > 40:
        return None
    folded = "".join(ch for ch in unicodedata.normalize("NFKD", value) if not unicodedata.combining(ch))
    word = folded.strip().casefold().replace("_", "-").split("-")[0].split(" ")[0]
    return next((code for code, names in _NAMES.items() if word in names), None)


def field_value(custom: Mapping[str, str], field: str) -> str | None:
    """The value of ``custom.<name>`` (or a bare name) in an application's custom fields."""
    if not field:
        return None
    name = field.removeprefix("custom.")
    wanted = name.casefold()
    return next((v for k, v in custom.items() if k.casefold() == wanted), None)


def pick_locale(custom: Mapping[str, str], field: str, route_locale: str | None, default: str) -> str:
    """The candidate's own language, else the route's, else the default."""
    return read_locale(field_value(custom, field)) or route_locale or default


def _babel(locale: str) -> str:
    return _BABEL_LOCALE.get(locale, locale)


def format_local(value: datetime, zone: str, locale: str = ENGLISH) -> str:
    """``martes 1 de diciembre de 2026, 9:00 a.m. PST (America/Los_Angeles)`` in Spanish;
    English is :func:`interview_sync.zones.format_local` unchanged."""
    if locale == ENGLISH:
        return zones.format_local(value, zone)
    from babel.dates import format_datetime

    local = value.astimezone(ZoneInfo(zone))
    text = format_datetime(local, "EEEE d 'de' MMMM 'de' y, h:mm a", tzinfo=ZoneInfo(zone), locale=_babel(locale))
    return f"{text} {local.tzname()} ({zone})"


def format_range(start: datetime, end: datetime, zone: str, locale: str = ENGLISH) -> str:
    """A start–end range; the end repeats the date only when it falls on another day."""
    if locale == ENGLISH:
        return zones.format_range(start, end, zone)
    from babel.dates import format_datetime

    tz = ZoneInfo(zone)
    first, last = start.astimezone(tz), end.astimezone(tz)
    day = "EEEE d 'de' MMMM 'de' y, h:mm a"
    head = format_datetime(first, day, tzinfo=tz, locale=_babel(locale))
    tail = format_datetime(last, "h:mm a" if first.date() == last.date() else day, tzinfo=tz,
                           locale=_babel(locale))
    return f"{head} {first.tzname()} – {tail} {last.tzname()} ({zone})"


def format_short(value: datetime, zone: str, locale: str = ENGLISH) -> str:
    """A text message's date: ``Tue Dec 1, 9:00 AM PST`` / ``mar 1 dic, 9:00 a.m. PST``."""
    from babel.dates import format_datetime

    tz = ZoneInfo(zone)
    local = value.astimezone(tz)
    pattern = "EEE MMM d, h:mm a" if locale == ENGLISH else "EEE d MMM, h:mm a"
    return f"{format_datetime(local, pattern, tzinfo=tz, locale=_babel(locale))} {local.tzname()}"
