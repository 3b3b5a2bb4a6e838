"""Calendar invites: what Outlook and Google need to file, update and cancel an event."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from icalendar import Calendar

from interview_sync.ics import PRODID, build_ics

PACIFIC = ZoneInfo("America/Los_Angeles")
START = datetime(2026, 12, 1, 10, 0, tzinfo=PACIFIC)  # 18:00 UTC
STAMP = datetime(2026, 11, 24, 9, 0, tzinfo=timezone.utc)
HM = ("Maria Delgado", "maria.delgado@mercyvalley.example")
ORGANIZER = ("Mercy Valley Talent", "talent@mercyvalley.example")


def make(method: str = "REQUEST", sequence: int = 0, **overrides: object) -> bytes:
    args: dict[str, object] = dict(
        method=method, uid="is-17001-3f9a2c7d1e@mercyvalley.example", sequence=sequence,
        start=START, end=START + timedelta(minutes=30), dtstamp=STAMP,
        summary="Interview: Zoë O'Brien-Nguyễn – Registered Nurse, ICU; nights",
        description="Candidate: Zoë O'Brien-Nguyễn\r\nRole: Registered Nurse – ICU (Nights)\nApplication 17001",
        location="Phone", organizer=ORGANIZER, attendees=[HM],
        url="https://app.greenhouse.io/people/7001?application_id=17001")
    args.update(overrides)
    return build_ics(**args)  # type: ignore[arg-type]


def event_of(data: bytes):  # noqa: ANN201 - icalendar's Event
    cal = Calendar.from_ical(data)
    events = cal.walk("VEVENT")
    assert len(events) == 1
    return cal, events[0]


def test_request_carries_everything_a_calendar_needs() -> None:
    data = make()
    cal, event = event_of(data)
    assert cal["METHOD"] == "REQUEST" and cal["VERSION"] == "2.0" and cal["PRODID"] == PRODID
    assert event["UID"] == "is-17001-3f9a2c7d1e@mercyvalley.example"
    assert event["SEQUENCE"] == 0
    assert event["STATUS"] == "CONFIRMED"
    assert event.decoded("DTSTART") == datetime(2026, 12, 1, 18, 0, tzinfo=timezone.utc)
    assert event.decoded("DTEND") == datetime(2026, 12, 1, 18, 30, tzinfo=timezone.utc)
    assert event.decoded("DTSTAMP") == STAMP
    raw = data.decode()
    assert "DTSTART:20261201T180000Z\r\n" in raw and "DTEND:20261201T183000Z\r\n" in raw
    assert "DTSTAMP:20261124T090000Z\r\n" in raw
    assert "VTIMEZONE" not in raw and "TZID" not in raw
    assert str(event["ORGANIZER"]) == "mailto:talent@mercyvalley.example"
    assert event["ORGANIZER"].params["CN"] == "Mercy Valley Talent"
    attendee = event["ATTENDEE"]
    assert str(attendee) == "mailto:maria.delgado@mercyvalley.example"
    assert attendee.params["RSVP"] == "TRUE" and attendee.params["ROLE"] == "REQ-PARTICIPANT"
    assert event["SUMMARY"] == "Interview: Zoë O'Brien-Nguyễn – Registered Nurse, ICU; nights"
    assert event["DESCRIPTION"] == "Candidate: Zoë O'Brien-Nguyễn\nRole: Registered Nurse – ICU (Nights)\nApplication 17001"
    assert str(event["URL"]).startswith("https://app.greenhouse.io/")


def test_wire_lines_are_crlf_and_folded() -> None:
    data = make()
    assert data.endswith(b"\r\n")
    lines = data.split(b"\r\n")
    assert all(len(line) <= 75 for line in lines), "RFC 5545 §3.1: lines fold at 75 octets"
    assert b"\n" not in data.replace(b"\r\n", b"")


def test_cancel_keeps_uid_and_raises_sequence() -> None:
    _, booked = event_of(make(sequence=0))
    cal, cancelled = event_of(make("CANCEL", sequence=2))
    assert cal["METHOD"] == "CANCEL"
    assert cancelled["STATUS"] == "CANCELLED"
    assert cancelled["UID"] == booked["UID"]
    assert cancelled["SEQUENCE"] == 2
    assert cancelled["ATTENDEE"].params["RSVP"] == "FALSE"


@pytest.mark.parametrize("name", ["Delgado, Maria", "O'Brien-Nguyễn, Zoë", "Ana; María: Pérez", 'Dr. "Max" Power'])
def test_cn_quoting_round_trips(name: str) -> None:
    data = make(attendees=[(name, "hm@example.org"), ("Aisha Bello", "aisha+cna@example.org")])
    _, event = event_of(data)
    attendees = event["ATTENDEE"]
    assert [a.params["CN"] for a in attendees] == [name.replace('"', "'"), "Aisha Bello"]
    assert [str(a) for a in attendees] == ["mailto:hm@example.org", "mailto:aisha+cna@example.org"]
    if "," in name or ";" in name:
        assert f'CN="{name}"'.encode() in data.replace(b"\r\n ", b"")


def test_hostile_text_cannot_add_properties() -> None:
    data = make(summary="Interview\r\nATTENDEE:mailto:evil@attacker.example",
                location="Room 1\nORGANIZER:mailto:evil@attacker.example",
                attendees=[("Maria\r\nATTENDEE:mailto:evil@attacker.example", "hm@example.org")])
    _, event = event_of(data)
    assert str(event["ATTENDEE"]) == "mailto:hm@example.org"
    assert str(event["ORGANIZER"]) == "mailto:talent@mercyvalley.example"
    assert b"\r\nATTENDEE:mailto:evil" not in data


def test_optional_fields_may_be_absent() -> None:
    _, event = event_of(make(location=None, url=None, description=""))
    assert "LOCATION" not in event and "URL" not in event and "DESCRIPTION" not in event


@pytest.mark.parametrize("bad", [
    dict(start=datetime(2026, 12, 1, 10, 0)),  # naive: which zone? refuse
    dict(end=START),  # zero length
    dict(method="PUBLISH"),
    dict(sequence=-1),
    dict(attendees=[]),
    dict(organizer=("Talent", "not-an-email")),
])
def test_invalid_input_is_refused(bad: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        make(**bad)


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")), min_size=1, max_size=60)
       .filter(lambda s: s.strip() != ""))
def test_any_printable_name_round_trips(name: str) -> None:
    _, event = event_of(make(attendees=[(name, "hm@example.org")]))
    expected = " ".join(name.split()).replace('"', "'").replace("\\", "/")
    assert event["ATTENDEE"].params["CN"] == expected
