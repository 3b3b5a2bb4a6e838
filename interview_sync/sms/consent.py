"""Consent rules for texts, as pure functions: no I/O, no clock, no database.

Two questions: what does an inbound text mean (opt-out, opt-in, or words for a
person), and may we text this number now. Opt-out is generous on purpose
(TCPA: revocation "by any reasonable means"): the carrier keywords, Spanish
"para"/"baja", and plain sentences that say "stop texting me". Opting back in
is deliberately narrow: only START, so a chatty "yes, thanks!" never re-opens
a number someone closed.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

STOP = "stop"
START = "start"
OTHER = "other"

# Consent states in the ledger.
GRANTED = "granted"
REVOKED = "revoked"

STOP_WORDS = frozenset({"stop", "stopall", "stop all", "unsubscribe", "cancel", "end", "quit", "optout",
                        "opt out", "revoke", "para", "alto", "baja", "basta", "no mas", "no more"})
START_WORDS = frozenset({"start"})
# Plain-words opt-outs: any of these inside a longer reply counts.
STOP_PHRASES = (
    "no more texts", "no more text messages", "no more messages", "stop texting", "stop sending",
    "stop messaging", "stop contacting", "don't text", "dont text", "do not text", "do not contact",
    "don't contact", "remove me", "take me off", "unsubscribe", "opt me out", "not interested in texts",
    "no me envien", "no me manden", "no mas mensajes", "no mas textos", "dejen de enviar", "dejen de mandar",
    "no quiero mensajes", "no quiero recibir", "darme de baja", "dame de baja", "quitenme",
)
_NOT_WORD = re.compile(r"[^a-z' ]+")


def normalise(text: str) -> str:
    """Lower case, accents folded (``más`` → ``mas``), punctuation and spacing collapsed."""
    folded = unicodedata.normalize("NFKD", text or "")
    plain = "".join(ch for ch in folded if not unicodedata.combining(ch)).casefold()
    plain = plain.replace("\u2019", "'")
    return " ".join(_NOT_WORD.sub(" ", plain).split())


def classify(text: str) -> str:
    """:data:`STOP`, :data:`START` or :data:`OTHER` for one inbound text."""
    words = normalise(text)
    if words in STOP_WORDS:
        return STOP
    if words in START_WORDS:
        return START
    padded = f" {words} "
    if any(f" {phrase} " in padded for phrase in STOP_PHRASES):
        return STOP
    return OTHER


@dataclass(frozen=True)
class Verdict:
    """May we text now? ``reason`` names the rule that said no; ``not_before`` is when
    quiet hours end (the text waits until then rather than being dropped)."""

    allowed: bool
    reason: str = "ok"
    not_before: datetime | None = None


def quiet_until(now: datetime, zone: str, window: tuple[int, int]) -> datetime | None:
    """None when ``now`` is inside the texting window in ``zone`` (minutes after local
    midnight, start inclusive, end exclusive); else the next window opening, as an
    aware instant. Built from the local date, so a DST change overnight is honoured."""
    tz = ZoneInfo(zone)
    local = now.astimezone(tz)
    minute = local.hour * 60 + local.minute
    start, end = window
    if start <= minute < end:
        return None
    day = local.date() if minute < start else local.date() + timedelta(days=1)
    opening = datetime(day.year, day.month, day.day, start // 60, start % 60, tzinfo=tz)
    return opening.astimezone(now.tzinfo)


def may_text(*, consent: str | None, in_stage: bool, sent: int, limit: int, now: datetime, zone: str,
             window: tuple[int, int]) -> Verdict:
    """The rules in the order a recruiter would ask them: consent on record, still in
    the stage, under the per-invitation cap, inside the candidate's waking hours."""
    if consent != GRANTED:
        return Verdict(False, "opted out" if consent == REVOKED else "no consent on record")
    if not in_stage:
        return Verdict(False, "the application left the stage")
    if sent >= limit:
        return Verdict(False, f"{limit} texts already sent for this invitation")
    opening = quiet_until(now, zone, window)
    if opening is not None:
        return Verdict(False, "quiet hours in the candidate's time zone", opening)
    return Verdict(True)
