"""Phone numbers in E.164, through ``phonenumbers`` (the ``[sms]`` extra, imported lazily
so an email-only install never needs it)."""

from __future__ import annotations

from typing import Any

from ..errors import ConfigError


def _library() -> Any:
    try:
        import phonenumbers
    except ImportError:
        raise ConfigError("sms needs the phonenumbers package, which is not installed",
                          "pip install 'interview-sync[sms]' (or set sms.provider = \"none\")") from None
    return phonenumbers


def to_e164(raw: str | None, region: str = "US") -> str | None:
    """``(916) 555-0142`` → ``+19165550142``; None for anything that is not a possible,
    valid number (a typo, an extension-only value, free text from an ATS field)."""
    if not raw or not raw.strip() or len(raw) > 40:
        return None
    lib = _library()
    try:
        parsed = lib.parse(raw, region)
    except lib.NumberParseException:
        return None
    if not lib.is_valid_number(parsed):
        return None
    return str(lib.format_number(parsed, lib.PhoneNumberFormat.E164))


def is_landline(e164: str) -> bool:
    """True when the numbering plan says this number is a fixed line (it cannot take a
    text). Many US numbers are FIXED_LINE_OR_MOBILE: those are tried, and a carrier's
    30006 answer settles it."""
    lib = _library()
    try:
        kind = lib.number_type(lib.parse(e164, None))
    except lib.NumberParseException:
        return False
    return bool(kind == lib.PhoneNumberType.FIXED_LINE)


def masked(e164: str) -> str:
    """``+1916•••0142``: enough to tell numbers apart in logs and outcomes."""
    if len(e164) < 8:
        return "•••"
    return f"{e164[:5]}•••{e164[-4:]}"
