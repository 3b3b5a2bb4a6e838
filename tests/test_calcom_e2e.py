"""Cal.com end to end: the real tool against the sandbox's Cal.com flavour on loopback.

Invite with a private Cal.com link, book, reschedule, a second booking on the
single-use link (a recruiter alert), and a booking that waits for the host's
confirmation. Times are hours after the harness start (Monday 2026-11-30
16:00 UTC, 08:00 in the hosts' America/Los_Angeles).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import icalendar
import pytest
import requests
from harness import Harness

from interview_sync.invitation import State

UTC = timezone.utc
ZOE, ZOE_EMAIL, ZOE_NAME = "17001", "zoe+nurse@example.org", "Zoë O'Brien-Nguyễn"
MARIA = "maria.delgado@mercyvalley.example"
TOM = "tom.becker@mercyvalley.example"  # recruiter of job 101
SLOT = datetime(2026, 12, 3, 18, 0, tzinfo=UTC)  # Thursday 10:00 PST on Maria's 30-minute grid


@pytest.fixture
def h(tmp_path: Path) -> Iterator[Harness]:
    harness = Harness(tmp_path, scheduler="calcom")
    try:
        harness.poll()  # the baseline poll records, sends nothing
        assert harness.emails() == []
        yield harness
    finally:
        harness.close()


def text(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


def dtstart(message: EmailMessage) -> datetime:
    for part in message.walk():
        if part.get_content_type() in ("text/calendar", "application/ics"):
            (event,) = icalendar.Calendar.from_ical(part.get_payload(decode=True)).walk("VEVENT")
            return event["DTSTART"].dt.astimezone(UTC)
    raise AssertionError("no calendar part")


def invite(h: Harness) -> str:
    h.at(0.1)
    h.sandbox.move(ZOE, "Phone Screen")
    report = h.poll()
    assert report.alerts == 0 and not report.errors, report.errors
    (mail,) = h.emails_to(ZOE_EMAIL, "invite")
    link = h.invitation(ZOE).link_url
    assert link is not None and link in text(mail)
    return link


def test_invite_book_reschedule_then_second_booking_alerts(h: Harness) -> None:
    link = invite(h)
    parts = urlsplit(link)
    assert parts.netloc == urlsplit(h.server.url).netloc and parts.path.startswith("/d/")
    query = parse_qs(parts.query)
    inv = h.invitation(ZOE)
    assert query == {"name": [ZOE_NAME], "email": [ZOE_EMAIL], "metadata[ref]": [inv.ref]}
    (stored,) = h.world.data["calcom"]["links"].values()
    assert stored["maxUsageCount"] == 1 and stored["expiresAt"] is None  # Cal.com takes one limit, not both

    h.at(3)
    h.sandbox.book(ZOE, at=SLOT)
    report = h.poll()
    assert report.alerts == 0 and not report.errors, report.errors
    inv = h.invitation(ZOE)
    assert inv.state is State.BOOKED and inv.interview_start == SLOT
    assert len(h.emails_to(ZOE_EMAIL, "confirmation")) == 1
    (hm_mail,) = h.emails_to(MARIA, "hm_booking")
    assert dtstart(hm_mail) == SLOT

    later = SLOT + timedelta(days=1, hours=1)  # Friday 11:00 PST
    h.at(20)
    h.sandbox.reschedule(ZOE, later)
    report = h.poll()
    assert report.alerts == 0 and not report.errors, report.errors
    inv = h.invitation(ZOE)
    assert inv.state is State.BOOKED and inv.interview_start == later and inv.reschedules == 1
    confirmations = h.emails_to(ZOE_EMAIL, "confirmation")
    assert len(confirmations) == 2 and any("Friday, December 4, 2026" in text(m) for m in confirmations)
    assert sorted(dtstart(m) for m in h.emails_to(MARIA, "hm_booking")) == [SLOT, later]
    assert h.emails_to(ZOE_EMAIL, "relink") == [] and h.emails_to(MARIA, "hm_cancel") == []

    assert requests.post(f"{h.server.url}/_admin/book", json={"application_id": ZOE}, timeout=5).status_code == 410
    h.at(22)
    forced = requests.post(f"{h.server.url}/_admin/calcom/book-twice", json={"application_id": ZOE}, timeout=5)
    assert forced.status_code == 201, forced.text
    report = h.poll()
    assert report.alerts == 1
    (alert,) = h.emails_to(TOM, "recruiter_alert")
    assert "second booking" in text(alert)
    inv = h.invitation(ZOE)
    assert inv.interview_start == later  # the first booking stands
    assert len(h.emails_to(ZOE_EMAIL, "confirmation")) == 2


def test_pending_booking_is_confirmed_only_once_accepted(h: Harness) -> None:
    invite(h)
    h.at(3)
    held = requests.post(f"{h.server.url}/_admin/calcom/pending", json={"application_id": ZOE, "at": "2026-12-03T18:00:00Z"},
                         timeout=5)
    assert held.status_code == 201, held.text
    h.poll()
    assert h.invitation(ZOE).state is not State.BOOKED
    assert h.emails_to(ZOE_EMAIL, "confirmation") == [] and h.emails_to(MARIA, "hm_booking") == []
    h.at(5)
    assert requests.post(f"{h.server.url}/_admin/calcom/accept", json={"application_id": ZOE},
                         timeout=5).status_code == 200
    report = h.poll()
    assert not report.errors, report.errors
    assert h.invitation(ZOE).state is State.BOOKED and h.invitation(ZOE).interview_start == SLOT
    assert len(h.emails_to(ZOE_EMAIL, "confirmation")) == 1 and len(h.emails_to(MARIA, "hm_booking")) == 1


def test_leaving_the_stage_revokes_the_private_link(h: Harness) -> None:
    link = invite(h)
    assert requests.get(link, timeout=5).status_code == 200
    h.at(5)
    h.sandbox.set_status(ZOE, "rejected")
    report = h.poll()
    assert not report.errors, report.errors
    assert h.invitation(ZOE).state is State.CLOSED
    assert h.world.data["calcom"]["links"] == {}
    assert requests.get(link, timeout=5).status_code == 404
    assert requests.post(f"{h.server.url}/_admin/book", json={"url": link}, timeout=5).status_code == 400
