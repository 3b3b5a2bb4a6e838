"""Issue 13: the candidate's own calendar invite, and a globally unique .ics UID.

``candidate_calendar_invite`` is ``auto`` by default: off where the scheduler
already puts the booking in the invitee's calendar (Calendly, Cal.com), so the
interview never shows up twice. ``always`` adds a METHOD:REQUEST with the
candidate as attendee to the confirmation, keeps the UID across reschedules and
sends METHOD:CANCEL with the cancellation notice.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import icalendar
import pytest
from harness import Harness

from interview_sync.ics import candidate_invite, event_uid, sends_candidate_invite

UTC = timezone.utc
ZOE, ZOE_EMAIL = "17001", "zoe+nurse@example.org"
MARIA = "maria.delgado@mercyvalley.example"
SLOT = datetime(2026, 12, 3, 18, 0, tzinfo=UTC)
LATER = datetime(2026, 12, 4, 18, 0, tzinfo=UTC)


def events(message: EmailMessage) -> list[tuple[str, Any]]:
    """(METHOD, VEVENT) of every calendar part; inline and attached copies must agree."""
    found = []
    for part in message.walk():
        if part.get_content_type() in ("text/calendar", "application/ics"):
            cal = icalendar.Calendar.from_ical(part.get_payload(decode=True))
            (event,) = cal.walk("VEVENT")
            found.append((str(cal["METHOD"]), event))
    assert len({(m, e.to_ical()) for m, e in found}) <= 1, "inline and attached .ics differ"
    return found


def one(h: Harness, address: str, kind: str) -> EmailMessage:
    (message,) = h.emails_to(address, kind)
    return message


@pytest.mark.parametrize("setting,scheduler,expected", [
    ("auto", "calendly", False), ("auto", "calcom", False), ("auto", "sandbox", False),
    ("auto", "some-new-scheduler", True), ("always", "calendly", True), ("never", "some-new-scheduler", False)])
def test_the_setting_decides_by_scheduler(setting: Any, scheduler: str, expected: bool) -> None:
    assert sends_candidate_invite(setting, scheduler) is expected


def test_uid_carries_the_sending_domain() -> None:
    assert event_uid("is-17001-abc", "talent@MercyValley.example") == "is-17001-abc@mercyvalley.example"
    data = candidate_invite(method="REQUEST", uid=event_uid("is-1", "t@mv.example"), sequence=1, start=SLOT,
                            end=LATER, dtstamp=SLOT, summary="Interview: Nurse", location="Room 4",
                            join_url=None, organizer=("Talent", "t@mv.example"), candidate=("Zoë", ZOE_EMAIL))
    (event,) = icalendar.Calendar.from_ical(data).walk("VEVENT")
    assert str(event["UID"]) == "is-1@mv.example" and int(event["SEQUENCE"]) == 1
    assert str(event["ATTENDEE"]) == f"mailto:{ZOE_EMAIL}" and str(event["LOCATION"]) == "Room 4"


@pytest.fixture
def always(tmp_path: Path) -> Iterator[Harness]:
    h = Harness(tmp_path, config_changes={"email": {"candidate_calendar_invite": "always"}})
    try:
        h.poll()
        yield h
    finally:
        h.close()


def test_always_sends_the_candidate_request_update_and_cancel_under_one_uid(always: Harness) -> None:
    h = always
    h.at(0.1)
    h.sandbox.move(ZOE, "Phone Screen")
    h.poll()
    assert events(one(h, ZOE_EMAIL, "invite")) == []  # nothing to put in a calendar yet
    h.at(3)
    h.sandbox.book(ZOE, at=SLOT)
    h.poll()
    ref = h.invitation(h.app_id(ZOE)).ref
    ((method, event),) = events(one(h, ZOE_EMAIL, "confirmation"))[:1]
    assert method == "REQUEST" and str(event["UID"]) == f"{ref}@mercyvalley.example"
    assert str(event["ATTENDEE"]) == f"mailto:{ZOE_EMAIL}" and int(event["SEQUENCE"]) == 0
    assert event.decoded("DTSTART") == SLOT
    (_, hm_event), *_ = events(one(h, MARIA, "hm_booking"))
    assert str(hm_event["UID"]) == str(event["UID"])  # one interview, one UID in both calendars
    assert "Notes" not in str(event.get("DESCRIPTION", ""))  # the HM's notes stay with the HM

    h.at(5)
    h.sandbox.reschedule(ZOE, at=LATER)
    h.poll()
    confirmations = h.emails_to(ZOE_EMAIL, "confirmation")
    assert len(confirmations) == 2
    (method, moved), *_ = events(confirmations[1])
    assert method == "REQUEST" and str(moved["UID"]) == str(event["UID"]) and int(moved["SEQUENCE"]) == 1
    assert moved.decoded("DTSTART") == LATER

    h.at(7)
    h.sandbox.cancel(ZOE)
    h.poll()
    (relink,) = h.emails_to(ZOE_EMAIL, "relink")
    (method, cancelled), *_ = events(relink)
    assert method == "CANCEL" and str(cancelled["UID"]) == str(event["UID"]) and int(cancelled["SEQUENCE"]) == 2
    assert str(cancelled["STATUS"]) == "CANCELLED"


def test_auto_with_calendly_adds_no_second_invite(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    try:
        h.poll()
        h.at(0.1)
        h.sandbox.move(ZOE, "Phone Screen")
        h.poll()
        h.at(3)
        h.sandbox.book(ZOE, at=SLOT)
        h.poll()
        assert events(one(h, ZOE_EMAIL, "confirmation")) == []
        assert events(one(h, MARIA, "hm_booking"))  # the hiring manager still gets ours
    finally:
        h.close()
