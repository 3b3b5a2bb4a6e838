"""Calendar invites (.ics, iTIP) for the hiring manager's calendar.

One interview keeps one UID for its whole life; a reschedule is a REQUEST
with a higher SEQUENCE and a cancel is a CANCEL with a higher SEQUENCE still,
which is how Outlook and Google match updates to the event they already have.
Times are written in UTC so no VTIMEZONE block is needed and no client
guesses a zone.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from icalendar import Calendar, Event, vCalAddress

from interview_sync.clock import ensure_utc
from interview_sync.sanitize import multi_line, one_line

PRODID = "-//interview-sync//interview-sync 0.1//EN"
_STATUS = {"REQUEST": "CONFIRMED", "CANCEL": "CANCELLED"}


def _one_line(value: str) -> str:
    return one_line(value)


def _multi_line(value: str) -> str:
    """Keep line breaks (as LF), drop bidi controls, blank every other control character."""
    return multi_line(value).strip()


def _cn(name: str) -> str:
    # A DQUOTE cannot appear inside a quoted parameter (RFC 5545 §3.1); RFC 6868's
    # ^' escape is not understood by Outlook, so use an apostrophe instead. A
    # backslash before the next delimiter reads back as an escape in icalendar
    # (CN=\;CUTYPE=... swallows the next parameter), so it becomes a slash.
    return _one_line(name).replace('"', "'").replace("\\", "/")


def _address(name: str, email: str, **params: str) -> vCalAddress:
    email = _one_line(email)
    if not email or "@" not in email:
        raise ValueError(f"calendar address {email!r} is not an email address")
    address = vCalAddress(f"mailto:{email}")
    if name and _cn(name):
        address.params["CN"] = _cn(name)
    for key, value in params.items():
        address.params[key] = value
    return address


def build_ics(*, method: Literal["REQUEST", "CANCEL"], uid: str, sequence: int, start: datetime,
              end: datetime, dtstamp: datetime, summary: str, description: str,
              location: str | None, organizer: tuple[str, str],
              attendees: list[tuple[str, str]], url: str | None = None) -> bytes:
    """One VEVENT in a VCALENDAR with METHOD, as CRLF-terminated, folded bytes."""
    if method not in _STATUS:
        raise ValueError(f"method {method!r}: use REQUEST or CANCEL")
    if sequence < 0:
        raise ValueError(f"sequence {sequence} must be >= 0")
    start_utc, end_utc = ensure_utc(start), ensure_utc(end)
    if end_utc <= start_utc:
        raise ValueError(f"end {end_utc.isoformat()} is not after start {start_utc.isoformat()}")
    if not attendees:
        raise ValueError("an invite needs at least one attendee")

    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", method)

    event = Event()
    event.add("uid", _one_line(uid))
    event.add("sequence", sequence)
    event.add("dtstamp", ensure_utc(dtstamp))
    event.add("dtstart", start_utc)
    event.add("dtend", end_utc)
    event.add("summary", _one_line(summary))
    if description:
        event.add("description", _multi_line(description))
    if location:
        event.add("location", _one_line(location))
    if url:
        event.add("url", _one_line(url))
    event.add("status", _STATUS[method])
    event.add("transp", "OPAQUE")
    event.add("organizer", _address(*organizer))
    for name, email in attendees:
        event.add("attendee", _address(name, email, CUTYPE="INDIVIDUAL", ROLE="REQ-PARTICIPANT",
                                       PARTSTAT="NEEDS-ACTION", RSVP="TRUE" if method == "REQUEST" else "FALSE"))
    cal.add_component(event)
    return cal.to_ical()


def event_uid(ref: str, sender: str) -> str:
    """``<ref>@<domain of the from address>``: globally unique, as RFC 5545 asks of a UID.

    The reference is unique within one deployment; the sending domain makes it
    unique across every organisation whose invites land in the same calendar.
    """
    domain = sender.rpartition("@")[2].strip(" >").lower() or "interview-sync.invalid"
    return f"{_one_line(ref)}@{domain}"


# Schedulers that already put the booking in the invitee's calendar themselves:
# Calendly emails the invitee a calendar invitation or an .ics confirmation, and
# Cal.com's attendee confirmation carries a METHOD:REQUEST .ics (docs/vendors.md).
# The sandbox stands in for Calendly.
SCHEDULER_SENDS_INVITE = {"calendly": True, "calcom": True, "sandbox": True}


def sends_candidate_invite(setting: Literal["auto", "always", "never"], scheduler: str) -> bool:
    """Whether the candidate's confirmation carries our own calendar invite.

    ``auto`` avoids a second copy of the interview in the candidate's calendar
    where the scheduler already sent one; an unknown scheduler gets ours.
    """
    if setting == "always":
        return True
    if setting == "never":
        return False
    return not SCHEDULER_SENDS_INVITE.get(scheduler, False)


def candidate_invite(*, method: Literal["REQUEST", "CANCEL"], uid: str, sequence: int, start: datetime,
                     end: datetime, dtstamp: datetime, summary: str, location: str | None, join_url: str | None,
                     organizer: tuple[str, str], candidate: tuple[str, str]) -> bytes:
    """The candidate's copy of the interview: same UID and SEQUENCE as the hiring manager's,
    the candidate as the only attendee, and nothing from the hiring manager's notes."""
    description = f"Join: {join_url}" if join_url else ""
    return build_ics(method=method, uid=uid, sequence=sequence, start=start, end=end, dtstamp=dtstamp,
                     summary=summary, description=description, location=join_url or location,
                     organizer=organizer, attendees=[candidate])
