"""Issue 3 acceptance: every row of SPEC §2, end to end over loopback, on one simulated clock.

Each test drives a private sandbox the way a recruiter, a candidate and a
hiring manager would (move, book, cancel, reschedule, block), runs real polls,
and then reads what reached people: the .eml outbox (recipient, kind header,
content, the .ics parsed with ``icalendar``) and the sandbox ATS's own record
of notes and tags. Times are hours after the harness start (Monday
2026-11-30 16:00 UTC, 08:00 in the hosts' America/Los_Angeles).

Issue 6: every test runs for all four ATS × scheduler pairs. People are named by
seed number ("17001"); ``h.app_id`` gives the id the tool itself uses. Where the
vendors legitimately differ, the test branches and says why.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import icalendar
import pytest
import requests
from harness import Harness

from interview_sync.errors import DeliveryError, InterviewSyncError
from interview_sync.invitation import State

UTC = timezone.utc
ZOE, ZOE_EMAIL = "17001", "zoe+nurse@example.org"
ZOE_NAME = "Zoë O'Brien-Nguyễn"
MARIA = "maria.delgado@mercyvalley.example"  # HM of job 101 (Zoe, Marcus)
JAMES = "james.oconnor@mercyvalley.example"  # HM of job 104 (Kwame)
TOM = "tom.becker@mercyvalley.example"  # recruiter of jobs 101, 102, 105
DANA = "dana.whitfield@mercyvalley.example"  # recruiter of jobs 103, 104
TALENT = "talent@mercyvalley.example"
SENDER_DOMAIN = TALENT.rpartition("@")[2]  # the .ics UID is <ref>@<from domain>
FLAG_TAG = "Scheduling: needs recruiter"
FEEDBACK_URL = "https://forms.mercyvalley.example/interview-feedback"

# Thursday 2026-12-03 10:00 PST: 74 h after the start, a free 30-minute slot on Maria's grid.
SLOT = datetime(2026, 12, 3, 18, 0, tzinfo=UTC)
SLOT_HOURS = 74.0


# --- reading what reached people ---------------------------------------------------------

def text(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


def calendars(message: EmailMessage) -> list[icalendar.Calendar]:
    """Every calendar part of a message (inline text/calendar and the .ics file)."""
    found = []
    for part in message.walk():
        if part.get_content_type() in ("text/calendar", "application/ics"):
            payload = part.get_payload(decode=True)
            found.append(icalendar.Calendar.from_ical(payload))
    return found


def vevent(message: EmailMessage) -> tuple[icalendar.Calendar, Any]:
    """The one VEVENT the message carries; both copies of the invite must agree."""
    cals = calendars(message)
    assert cals, "no calendar part"
    first = cals[0].to_ical()
    assert all(c.to_ical() == first for c in cals), "inline and attached .ics differ"
    (event,) = cals[0].walk("VEVENT")
    return cals[0], event


def check_ics(message: EmailMessage, *, method: str, uid: str, sequence: int, start: datetime,
              minutes: int, stamp: datetime, attendee: str) -> None:
    cal, event = vevent(message)
    assert str(cal["METHOD"]) == method
    assert str(event["UID"]) == uid
    assert int(event["SEQUENCE"]) == sequence
    for name, expected in (("DTSTART", start), ("DTEND", start + timedelta(minutes=minutes)),
                           ("DTSTAMP", stamp)):
        value = event.decoded(name)
        assert value.utcoffset() == timedelta(0), f"{name} is not UTC"
        assert value == expected, name
        assert event[name].to_ical().decode().endswith("Z"), f"{name} not written in UTC"
    assert str(event["ORGANIZER"]).lower() == f"mailto:{TALENT}"
    attendees = event["ATTENDEE"] if isinstance(event["ATTENDEE"], list) else [event["ATTENDEE"]]
    assert [str(a).lower() for a in attendees] == [f"mailto:{attendee}"]
    assert str(event["STATUS"]) == ("CANCELLED" if method == "CANCEL" else "CONFIRMED")


def only(h: Harness, address: str, kind: str) -> EmailMessage:
    found = h.emails_to(address, kind)
    assert len(found) == 1, f"{len(found)} {kind} emails to {address}"
    return found[0]


def kinds(h: Harness) -> list[tuple[str, str]]:
    """(recipient address, kind) of every email, sorted; the outbox's file order is wall-clock."""
    pairs = []
    for m in h.emails():
        address = m["To"].addresses[0].addr_spec
        pairs.append((address, str(m["X-Interview-Sync-Kind"])))
    return sorted(pairs)


def note_bodies(h: Harness, application_id: str) -> list[str]:
    """The text of every note on the application in the sandbox ATS, oldest first."""
    return list(h.ats_record(application_id)["notes"])


def link_in(body: str, h: Harness) -> str:
    (line,) = [ln.strip() for ln in body.splitlines() if ln.strip().startswith(h.server.url + "/d/")]
    return line


# --- scenario helpers ------------------------------------------------------------------

@pytest.fixture
def harness(paired_harness: Harness) -> Harness:
    """Every test here runs once per ATS × scheduler pair (issue 6); tests that build
    their own Harness take conftest's ``pair`` for the same effect."""
    return paired_harness


@pytest.fixture
def h(harness: Harness) -> Harness:
    """The shared harness, baselined at hour 0 (the first poll records, sends nothing)."""
    harness.poll()
    assert harness.emails() == []
    return harness


def invite(h: Harness, application_id: str = ZOE, stage: str = "Phone Screen", at: float = 0.1) -> Any:
    h.at(at)
    h.sandbox.move(application_id, stage)
    return h.poll()


def book(h: Harness, application_id: str = ZOE, when: datetime = SLOT, at: float = 3.0) -> Any:
    h.at(at)
    h.sandbox.book(application_id, at=when)
    return h.poll()


def poll_at(h: Harness, hours: float) -> Any:
    h.at(hours)
    return h.poll()


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, harness: Harness) -> Iterator[Any]:
    """Run the real CLI in-process against the harness's config, its wall clock pinned
    to the harness clock (commands without ``--now``, and every vendor read)."""
    monkeypatch.setenv("USER", "rita")
    monkeypatch.setenv("LOGNAME", "rita")
    yield harness.cli


# --- SPEC §2, row by row -----------------------------------------------------------------

def test_standard_booking_within_24h_then_reminders_and_feedback(h: Harness) -> None:
    report = invite(h)
    assert report.alerts == 0 and not report.errors
    inv = h.invitation(h.app_id(ZOE))
    assert inv.state is State.INVITED
    assert inv.deadline_at == h.start + timedelta(hours=48.1)
    message = only(h, ZOE_EMAIL, "invite")
    body = text(message)
    assert link_in(body, h) == inv.link_url
    assert "Maria Delgado" in body and "30-minute phone call" in body
    assert "Wednesday, December 2, 2026 at 8:06 AM PST" in body  # the deadline, candidate's zone
    assert kinds(h) == [(ZOE_EMAIL, "invite")]
    (note,) = note_bodies(h, ZOE)
    assert inv.link_url in note and inv.ref in note

    booked_poll = h.at(3)
    h.sandbox.book(ZOE, at=SLOT)
    report = h.poll()
    assert report.alerts == 0 and not report.errors
    inv = h.invitation(h.app_id(ZOE))
    assert inv.state is State.BOOKED and inv.interview_start == SLOT
    assert inv.booked_at is not None and inv.booked_at - inv.stage_changed_at < timedelta(hours=24)
    confirmation = text(only(h, ZOE_EMAIL, "confirmation"))
    assert "Thursday, December 3, 2026 at 10:00 AM PST" in confirmation
    assert "America/Los_Angeles" in confirmation
    assert "phone call" in confirmation and "Call:" in confirmation  # format and dial-in
    assert "licensure" in confirmation  # what to expect (the route's notes)
    hm_mail = only(h, MARIA, "hm_booking")
    hm_text = text(hm_mail)
    assert ZOE_NAME in hm_text and "Registered Nurse – ICU (Nights)" in hm_text
    check_ics(hm_mail, method="REQUEST", uid=f"{inv.ref}@{SENDER_DOMAIN}", sequence=0, start=SLOT,
              minutes=30, stamp=booked_poll, attendee=MARIA)
    _, event = vevent(hm_mail)
    assert ZOE_NAME in str(event["SUMMARY"]) and "Registered Nurse" in str(event["DESCRIPTION"])
    notes = note_bodies(h, ZOE)
    assert len(notes) == 2 and "Interview booked" in notes[1]
    assert "Thursday, December 3, 2026 at 10:00 AM PST" in notes[1]
    assert "Book by" not in notes[1]  # the booking deadline is over once booked

    # no follow-up for a booked invitation; the reminder window opens at SLOT - 24 h
    for hours in (48.5, SLOT_HOURS - 24.1):
        poll_at(h, hours)
    assert len(h.emails()) == 3
    poll_at(h, SLOT_HOURS - 23.9)
    reminder = text(only(h, ZOE_EMAIL, "reminder_candidate"))
    assert "Thursday, December 3, 2026 at 10:00 AM PST" in reminder
    assert "Zoë" in text(only(h, MARIA, "reminder_hm"))
    for hours in (SLOT_HOURS - 12, SLOT_HOURS - 0.5, SLOT_HOURS + 0.1):
        poll_at(h, hours)
    assert len(h.emails_to(ZOE_EMAIL, "reminder_candidate")) == 1
    assert len(h.emails_to(MARIA, "reminder_hm")) == 1

    # feedback request 2 h after the end (SLOT + 30 min)
    poll_at(h, SLOT_HOURS + 0.5 + 1.9)
    assert h.emails_to(MARIA, "feedback_request") == []
    poll_at(h, SLOT_HOURS + 0.5 + 2.0)
    feedback = text(only(h, MARIA, "feedback_request"))
    assert FEEDBACK_URL in feedback and ZOE_NAME in feedback
    assert h.invitation(h.app_id(ZOE)).state is State.CLOSED
    poll_at(h, SLOT_HOURS + 100)
    assert kinds(h) == sorted([(ZOE_EMAIL, "invite"), (ZOE_EMAIL, "confirmation"), (MARIA, "hm_booking"),
                               (ZOE_EMAIL, "reminder_candidate"), (MARIA, "reminder_hm"),
                               (MARIA, "feedback_request")])


def test_booked_inside_the_reminder_window_gets_no_separate_reminder(h: Harness) -> None:
    invite(h)
    tomorrow = datetime(2026, 12, 1, 17, 0, tzinfo=UTC)  # 09:00 PST, 25 h after the start
    book(h, when=tomorrow, at=2)  # booked 23 h before: the confirmation is the reminder
    for hours in (10, 20, 24.5):
        poll_at(h, hours)
    assert h.emails_to(ZOE_EMAIL, "reminder_candidate") == []
    assert h.emails_to(MARIA, "reminder_hm") == []


def test_hiring_manager_fully_blocked_alerts_recruiter_and_sends_nothing(h: Harness) -> None:
    h.sandbox.block(MARIA, days=30)
    report = invite(h)
    assert report.alerts > 0
    inv = h.invitation(h.app_id(ZOE))
    assert inv.state is State.NEEDS_ATTENTION and inv.link_url is None
    assert "no free" in (inv.attention_reason or "")
    assert h.emails_to(ZOE_EMAIL) == []
    alert = text(only(h, TOM, "recruiter_alert"))  # the job's recruiter, not the default inbox
    assert h.app_id(ZOE) in alert and "Maria Delgado" in alert and "10 days" in alert and "--resend" in alert
    assert kinds(h) == [(TOM, "recruiter_alert")]
    assert note_bodies(h, ZOE) == []  # no link, so no note pointing at one
    for hours in (1, 50, 80):
        poll_at(h, hours)
    assert kinds(h) == [(TOM, "recruiter_alert")]  # one alert, no outreach, ever


def test_special_characters_survive_invite_booking_and_ics(h: Harness) -> None:
    kwame, kwame_email = "17004", "kwame.mensah@example.org"
    invite(h, kwame, "First Interview")  # job "Nurse Unit Manager – Med/Surg", HM James O'Connor
    leadership = datetime(2026, 12, 3, 17, 0, tzinfo=UTC)  # 09:00 PST on a 60-minute grid
    book(h, kwame, when=leadership)
    inv = h.invitation(h.app_id(kwame))
    assert inv.interview_format == "video" and inv.duration_minutes == 60
    invite_mail = only(h, kwame_email, "invite")
    assert "James O'Connor" in text(invite_mail) and "Med/Surg" in str(invite_mail["Subject"])
    hm_mail = only(h, JAMES, "hm_booking")
    assert str(hm_mail["To"]) == "James O'Connor <james.oconnor@mercyvalley.example>"
    check_ics(hm_mail, method="REQUEST", uid=f"{inv.ref}@{SENDER_DOMAIN}", sequence=0, start=leadership,
              minutes=60, stamp=h.start + timedelta(hours=3), attendee=JAMES)
    _, event = vevent(hm_mail)
    assert event["ATTENDEE"].params["CN"] == "James O'Connor"
    assert "Nurse Unit Manager – Med/Surg" in str(event["SUMMARY"])

    # and the other way round: a candidate name with diacritics and apostrophes, plus-addressed
    invite(h, ZOE, at=4)
    book(h, ZOE, at=5)
    confirmation = only(h, ZOE_EMAIL, "confirmation")
    assert str(confirmation["To"]) == f"{ZOE_NAME} <{ZOE_EMAIL}>"
    _, event = vevent(only(h, MARIA, "hm_booking"))
    assert f"Candidate: {ZOE_NAME}" in str(event["DESCRIPTION"])
    assert "Zo%C3%AB" in h.invitation(h.app_id(ZOE)).link_url  # prefill percent-encoded UTF-8


def test_no_response_one_followup_then_flag_and_never_a_third_email(h: Harness) -> None:
    invite(h)
    link = h.invitation(h.app_id(ZOE)).link_url
    poll_at(h, 48.0)  # 0.1 h before the deadline
    assert h.emails_to(ZOE_EMAIL, "followup") == []
    poll_at(h, 48.2)
    followup = text(only(h, ZOE_EMAIL, "followup"))
    assert link_in(followup, h) == link  # the same link
    assert "Thursday, December 3, 2026 at 8:12 AM PST" in followup  # the new 24 h deadline
    inv = h.invitation(h.app_id(ZOE))
    assert inv.state is State.FOLLOWED_UP and inv.followup_deadline_at == h.start + timedelta(hours=72.2)

    poll_at(h, 60)
    poll_at(h, 72.1)
    assert h.emails_to(TOM) == [] and h.ats_record(ZOE)["tags"] == []
    report = poll_at(h, 72.3)
    assert report.alerts == 1
    assert h.ats_record(ZOE)["tags"] == [FLAG_TAG]
    notes = note_bodies(h, ZOE)
    assert len(notes) == 2 and "flagged for recruiter review" in notes[1]
    alert = text(only(h, TOM, "recruiter_alert"))
    assert h.app_id(ZOE) in alert and "no booking" in alert.lower() and "call or text" in alert
    assert h.invitation(h.app_id(ZOE)).state is State.FLAGGED

    for hours in (80, 100, 150, 300, 1000):
        poll_at(h, hours)
    assert kinds(h) == sorted([(ZOE_EMAIL, "invite"), (ZOE_EMAIL, "followup"), (TOM, "recruiter_alert")])
    assert h.ats_record(ZOE)["tags"] == [FLAG_TAG] and len(note_bodies(h, ZOE)) == 2


@pytest.mark.parametrize("by", ["invitee", "host"])
def test_cancel_after_booking_sends_new_link_releases_slot_and_restarts_deadlines(h: Harness, by: str) -> None:
    invite(h)
    book(h)
    inv = h.invitation(h.app_id(ZOE))
    first_link, uid = inv.link_url, f"{inv.ref}@{SENDER_DOMAIN}"

    cancelled_at = h.at(10)
    response = requests.post(f"{h.server.url}/_admin/cancel", json={"application_id": ZOE, "by": by},
                             timeout=10)
    assert response.status_code == 200
    report = h.poll()
    assert report.alerts == 0 and not report.errors
    inv = h.invitation(h.app_id(ZOE))
    assert inv.state is State.INVITED and inv.booking_ref is None and inv.interview_start is None
    assert inv.link_url and inv.link_url != first_link
    assert inv.deadline_at == cancelled_at + timedelta(hours=48)
    relink = text(only(h, ZOE_EMAIL, "relink"))
    assert link_in(relink, h) == inv.link_url
    cancel_mail = only(h, MARIA, "hm_cancel")
    check_ics(cancel_mail, method="CANCEL", uid=uid, sequence=1, start=SLOT, minutes=30, stamp=cancelled_at,
              attendee=MARIA)
    assert "Thursday, December 3, 2026 at 10:00 AM PST" in text(cancel_mail)
    notes = note_bodies(h, ZOE)
    assert any("Interview cancelled" in n for n in notes)
    assert inv.link_url in notes[-1]  # the sandbox books through the newest link in the notes

    # the old deadline (48.1) no longer counts; the new one is 58 h
    poll_at(h, 50)
    assert h.emails_to(ZOE_EMAIL, "followup") == []
    poll_at(h, 58.1)
    assert link_in(text(only(h, ZOE_EMAIL, "followup")), h) == inv.link_url

    # the released slot is bookable again, through the new link
    rebooked = h.at(60)
    h.sandbox.book(ZOE, at=SLOT)
    h.poll()
    inv = h.invitation(h.app_id(ZOE))
    assert inv.state is State.BOOKED and inv.interview_start == SLOT
    requests_to_maria = sorted(h.emails_to(MARIA, "hm_booking"), key=lambda m: int(vevent(m)[1]["SEQUENCE"]))
    assert len(requests_to_maria) == 2
    check_ics(requests_to_maria[1], method="REQUEST", uid=uid, sequence=2, start=SLOT, minutes=30,
              stamp=rebooked, attendee=MARIA)
    assert len(h.emails_to(ZOE_EMAIL, "confirmation")) == 2
    assert len(h.emails_to(ZOE_EMAIL, "relink")) == 1 and len(h.emails_to(ZOE_EMAIL, "invite")) == 1


def test_missing_hiring_manager_alerts_and_never_mails_the_candidate(h: Harness) -> None:
    dmitri = "17006"  # job 105 has no hiring manager
    report = invite(h, dmitri)
    assert report.alerts == 1
    inv = h.invitation(h.app_id(dmitri))
    assert inv.state is State.NEEDS_ATTENTION and "no hiring manager" in (inv.attention_reason or "")
    assert h.emails_to("d.volkov@example.net") == []
    alert = text(only(h, TOM, "recruiter_alert"))
    assert h.app_id(dmitri) in alert and "Travel RN – Emergency Department" in alert and "hiring team" in alert
    assert kinds(h) == [(TOM, "recruiter_alert")]
    poll_at(h, 60)
    assert kinds(h) == [(TOM, "recruiter_alert")]


def test_duplicate_triggers_send_one_email(h: Harness) -> None:
    from interview_sync.poll import ATS_CURSOR, SCHEDULER_CURSOR

    invite(h)
    h.sandbox.move(ZOE, "Phone Screen")  # the same stage change again
    h.poll()
    h.poll()
    h.ctx.db.set_cursor(ATS_CURSOR, "2026-11-01T00:00:00Z")  # an overlapping, much older re-read
    h.ctx.db.set_cursor(SCHEDULER_CURSOR, "2026-11-01T00:00:00Z")
    h.poll()
    assert kinds(h) == [(ZOE_EMAIL, "invite")]
    assert len(note_bodies(h, ZOE)) == 1


def test_reschedule_updates_confirmation_and_ics_without_a_new_link(h: Harness) -> None:
    invite(h)
    book(h)
    inv = h.invitation(h.app_id(ZOE))
    link, uid = inv.link_url, f"{inv.ref}@{SENDER_DOMAIN}"
    later = SLOT + timedelta(days=1, hours=1)  # Friday 11:00 PST
    moved = h.at(20)
    h.sandbox.reschedule(ZOE, later)
    report = h.poll()
    assert report.alerts == 0 and not report.errors
    inv = h.invitation(h.app_id(ZOE))
    assert inv.state is State.BOOKED and inv.interview_start == later and inv.reschedules == 1
    assert inv.link_url == link
    confirmations = h.emails_to(ZOE_EMAIL, "confirmation")
    assert len(confirmations) == 2
    assert any("Friday, December 4, 2026 at 11:00 AM PST" in text(m) for m in confirmations)
    invites = sorted(h.emails_to(MARIA, "hm_booking"), key=lambda m: int(vevent(m)[1]["SEQUENCE"]))
    assert len(invites) == 2
    check_ics(invites[1], method="REQUEST", uid=uid, sequence=1, start=later, minutes=30, stamp=moved,
              attendee=MARIA)
    assert h.emails_to(ZOE_EMAIL, "relink") == [] and len(h.emails_to(ZOE_EMAIL, "invite")) == 1
    assert h.emails_to(MARIA, "hm_cancel") == []
    assert "Interview rescheduled" in note_bodies(h, ZOE)[-1]
    # reminders follow the new time, once each
    poll_at(h, SLOT_HOURS - 23)  # inside the old window only
    assert h.emails_to(ZOE_EMAIL, "reminder_candidate") == []
    poll_at(h, SLOT_HOURS + 25 - 23.9)
    poll_at(h, SLOT_HOURS + 25 - 10)
    assert len(h.emails_to(ZOE_EMAIL, "reminder_candidate")) == 1
    assert len(h.emails_to(MARIA, "reminder_hm")) == 1


def test_stage_exit_before_booking_stops_everything(h: Harness) -> None:
    invite(h)
    link = h.invitation(h.app_id(ZOE)).link_url
    assert link
    h.at(5)
    h.sandbox.set_status(ZOE, "rejected")
    report = h.poll()
    assert report.alerts == 0
    inv = h.invitation(h.app_id(ZOE))
    assert inv.state is State.CLOSED
    for hours in (48.5, 73, 200):
        poll_at(h, hours)
    assert kinds(h) == [(ZOE_EMAIL, "invite")]
    assert h.ats_record(ZOE)["tags"] == []
    h.at(201)
    if h.revokes_links:
        # Cal.com: the private link was deleted when the application left the stage, so a
        # late booking is refused at the booking page and there is nothing to alert about.
        assert requests.get(link, timeout=10).status_code == 404
        late = requests.post(f"{h.server.url}/_admin/book", json={"url": link}, timeout=10)
        assert late.status_code == 400
        with pytest.raises(InterviewSyncError, match="no private link"):
            h.sandbox.book(ZOE)
        report = h.poll()
        assert report.alerts == 0 and not report.errors
        assert kinds(h) == [(ZOE_EMAIL, "invite")]
    else:
        # Calendly cannot revoke a single-use link: a late booking reaches a person, not the candidate
        h.sandbox.book(ZOE)
        report = h.poll()
        assert report.alerts == 1
        assert "booked after the application left" in text(only(h, TOM, "recruiter_alert"))
        assert h.emails_to(ZOE_EMAIL, "confirmation") == [] and h.emails_to(MARIA) == []
    assert h.invitation(h.app_id(ZOE)).state is State.CLOSED


def test_stage_exit_while_waiting_for_a_person_closes_the_invitation(h: Harness, cli: Any) -> None:
    h.sandbox.block(MARIA)
    invite(h)
    assert h.invitation(h.app_id(ZOE)).state is State.NEEDS_ATTENTION
    h.at(5)
    h.sandbox.set_status(ZOE, "rejected")
    h.poll()
    assert h.invitation(h.app_id(ZOE)).state is State.CLOSED  # off the recruiter's to-do list
    assert json.loads(cli("status", "--state", "needs_attention", "--json").stdout) == []
    assert kinds(h) == [(TOM, "recruiter_alert")]


def test_stage_exit_after_booking_alerts_recruiter_and_stops_reminders(h: Harness) -> None:
    invite(h)
    book(h)
    h.at(10)
    h.sandbox.move(ZOE, "Offer")  # advanced straight to an offer, interview still on the books
    report = h.poll()
    assert report.alerts == 1
    inv = h.invitation(h.app_id(ZOE))
    assert inv.state is State.NEEDS_ATTENTION and inv.interview_start == SLOT
    alert = text(only(h, TOM, "recruiter_alert"))
    assert h.app_id(ZOE) in alert and "Offer" in alert and "booked" in alert and "cancel the interview" in alert
    for hours in (SLOT_HOURS - 23, SLOT_HOURS - 1, SLOT_HOURS + 3, SLOT_HOURS + 50):
        poll_at(h, hours)
    assert kinds(h) == sorted([(ZOE_EMAIL, "invite"), (ZOE_EMAIL, "confirmation"), (MARIA, "hm_booking"),
                               (TOM, "recruiter_alert")])  # no reminders, no feedback request


def test_without_feedback_configured_the_invitation_closes_after_the_interview(
        tmp_path: Path, pair: tuple[str, str]) -> None:
    h = Harness(tmp_path, config_changes={"feedback": {"url": ""}}, ats=pair[0], scheduler=pair[1])
    try:
        h.poll()
        invite(h)
        book(h)
        for hours in (SLOT_HOURS - 20, SLOT_HOURS + 0.6, SLOT_HOURS + 3):
            poll_at(h, hours)
        assert h.emails_to(MARIA, "feedback_request") == []
        assert h.invitation(h.app_id(ZOE)).state is State.CLOSED
        assert len(h.emails_to(MARIA, "reminder_hm")) == 1
    finally:
        h.close()


def test_scheduler_error_is_retried_then_alerted_after_three_failures(h: Harness) -> None:
    h.fault_scheduler_write(500, times=3)  # the flavour's link-creation endpoint
    report = invite(h)
    assert report.errors and report.alerts == 0
    assert h.invitation(h.app_id(ZOE)).state is State.PENDING and h.emails() == []
    report = poll_at(h, 0.5)
    assert report.errors and report.alerts == 0
    report = poll_at(h, 1)
    assert report.alerts == 1
    assert h.invitation(h.app_id(ZOE)).state is State.NEEDS_ATTENTION
    alert = text(only(h, TOM, "recruiter_alert"))
    assert "3 times" in alert and h.scheduler_write_name in alert
    assert h.emails_to(ZOE_EMAIL) == []


class FlakyTransport:
    """The first send fails with a temporary SMTP error; the rest go to the file outbox."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.failures = inner, 1
        self.sent_paths = inner.sent_paths

    def __enter__(self) -> "FlakyTransport":
        self.inner.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.inner.__exit__(*exc)

    def open(self) -> None:
        self.inner.open()

    def close(self) -> None:
        self.inner.close()

    def send(self, message: EmailMessage) -> None:
        if self.failures:
            self.failures -= 1
            raise DeliveryError("451 4.3.0 try again later", "wait", permanent=False)
        self.inner.send(message)


def test_temporary_smtp_failure_is_retried_next_poll_with_the_same_link(h: Harness) -> None:
    h.ctx.transport = FlakyTransport(h.ctx.transport)
    report = invite(h)
    assert report.errors and report.alerts == 0 and h.emails() == []
    link = h.invitation(h.app_id(ZOE)).link_url
    assert link and h.invitation(h.app_id(ZOE)).state is State.PENDING
    report = poll_at(h, 0.5)
    assert not report.errors
    message = only(h, ZOE_EMAIL, "invite")
    assert link_in(text(message), h) == link
    inv = h.invitation(h.app_id(ZOE))
    assert inv.state is State.INVITED and inv.deadline_at == h.start + timedelta(hours=48.5)
    assert len(note_bodies(h, ZOE)) == 1


def test_late_cron_fires_each_timer_once(h: Harness) -> None:
    invite(h)
    report = poll_at(h, 24 * 6)  # the cron was down for six days
    assert [o.action for o in report.outcomes] == ["followup"]
    inv = h.invitation(h.app_id(ZOE))
    assert inv.followup_deadline_at == h.start + timedelta(hours=24 * 6 + 24)  # counted from the send
    poll_at(h, 24 * 6 + 1)
    assert len(h.emails_to(ZOE_EMAIL, "followup")) == 1 and h.emails_to(TOM) == []
    poll_at(h, 24 * 12)  # down again
    poll_at(h, 24 * 12 + 1)
    assert len(h.emails_to(TOM, "recruiter_alert")) == 1
    assert h.ats_record(ZOE)["tags"] == [FLAG_TAG]
    assert len(h.emails_to(ZOE_EMAIL)) == 2


def test_late_cron_after_booking_reminds_once_and_asks_feedback_once(h: Harness) -> None:
    kwame = "17004"
    invite(h, kwame, "First Interview")
    when = datetime(2026, 12, 8, 18, 0, tzinfo=UTC)  # Tuesday, a week out, 60-minute grid
    book(h, kwame, when=when)
    hours_to = (when - h.start).total_seconds() / 3600
    poll_at(h, hours_to - 2)  # first poll in days, 2 h before the interview
    assert len(h.emails_to("kwame.mensah@example.org", "reminder_candidate")) == 1
    assert len(h.emails_to(JAMES, "reminder_hm")) == 1
    poll_at(h, hours_to + 1 + 72)  # the next one three days after the interview
    poll_at(h, hours_to + 1 + 73)
    assert len(h.emails_to(JAMES, "feedback_request")) == 1
    assert len(h.emails_to("kwame.mensah@example.org", "reminder_candidate")) == 1


def test_unknown_route_alerts(tmp_path: Path, pair: tuple[str, str]) -> None:
    nursing_only = [{"match": {"department": "Nursing"}, "event_type": "phone-screen-30",
                     "duration_minutes": 30, "format": "phone"}]
    h = Harness(tmp_path, config_changes={"routes": nursing_only}, ats=pair[0], scheduler=pair[1])
    try:
        h.poll()
        report = invite(h, "17003", "First Interview")  # Respiratory Care: no route fits
        assert report.alerts == 1
        inv = h.invitation(h.app_id("17003"))
        assert inv.state is State.NEEDS_ATTENTION and "[[routes]]" in (inv.attention_reason or "")
        assert h.emails_to("siobhan.nibhriain+rt@example.net") == []
        alert = text(only(h, DANA, "recruiter_alert"))
        assert h.app_id("17003") in alert and "Respiratory Care" in alert and "catch-all" in alert
    finally:
        h.close()


def test_candidate_without_email_alerts(h: Harness) -> None:
    marcus = "17009"
    report = invite(h, marcus)
    assert report.alerts == 1
    inv = h.invitation(h.app_id(marcus))
    assert inv.state is State.NEEDS_ATTENTION and "no email" in (inv.attention_reason or "")
    alert = text(only(h, TOM, "recruiter_alert"))
    assert h.app_id(marcus) in alert and "Marcus Johnson" in alert
    assert kinds(h) == [(TOM, "recruiter_alert")]
    assert note_bodies(h, marcus) == []


class RefusingTransport:
    """Delivers through the real file transport, except to one refused address."""

    def __init__(self, inner: Any, refused: str) -> None:
        self.inner, self.refused = inner, refused
        self.sent_paths = inner.sent_paths

    def __enter__(self) -> "RefusingTransport":
        self.inner.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.inner.__exit__(*exc)

    def open(self) -> None:
        self.inner.open()

    def close(self) -> None:
        self.inner.close()

    def send(self, message: EmailMessage) -> None:
        if self.refused in str(message["To"]):
            raise DeliveryError(f"550 5.1.1 <{self.refused}>: recipient address rejected",
                                "correct the address", permanent=True)
        self.inner.send(message)


def test_address_refused_by_smtp_alerts_and_is_not_retried(h: Harness) -> None:
    h.ctx.transport = RefusingTransport(h.ctx.transport, ZOE_EMAIL)
    report = invite(h)
    assert report.alerts == 1
    inv = h.invitation(h.app_id(ZOE))
    assert inv.state is State.NEEDS_ATTENTION and "rejected" in (inv.attention_reason or "")
    alert = text(only(h, TOM, "recruiter_alert"))
    assert h.app_id(ZOE) in alert and "correct the candidate's email" in alert
    assert note_bodies(h, ZOE) == []  # no note claiming a link went out
    for hours in (1, 49, 80):
        poll_at(h, hours)
    assert kinds(h) == [(TOM, "recruiter_alert")]


@pytest.mark.parametrize("start, expect_deadline, expect_interview", [
    # US DST ends Sunday 2026-11-01 02:00: invite Friday 09:00 PDT, deadline 48 h later is 08:00 PST
    (datetime(2026, 10, 30, 16, 0, tzinfo=UTC), "Sunday, November 1, 2026 at 8:00 AM PST",
     "Monday, November 2, 2026 at 9:00 AM PST"),
    # US DST starts Sunday 2027-03-14 02:00: invite Friday 08:00 PST, deadline is 09:00 PDT
    (datetime(2027, 3, 12, 16, 0, tzinfo=UTC), "Sunday, March 14, 2027 at 9:00 AM PDT",
     "Monday, March 15, 2027 at 10:00 AM PDT"),
])
def test_dst_crossing_keeps_deadlines_and_reminders_on_utc_instants(
        tmp_path: Path, pair: tuple[str, str], start: datetime, expect_deadline: str,
        expect_interview: str) -> None:
    h = Harness(tmp_path, start=start, ats=pair[0], scheduler=pair[1])
    try:
        h.poll()
        invite(h, at=0)
        inv = h.invitation(h.app_id(ZOE))
        assert inv.deadline_at == start + timedelta(hours=48)  # 48 real hours, not 48 wall-clock hours
        assert expect_deadline in text(only(h, ZOE_EMAIL, "invite"))

        # Emily (same hiring manager) books on Saturday, before the change, for Monday 17:00 UTC;
        # her reminder is due 24 real hours earlier, on Sunday after the change.
        emily, emily_email = "17005", "emily.chen@example.com"
        invite(h, emily, at=0.5)
        interview = start + timedelta(hours=72 + 1)
        book(h, emily, when=interview, at=20)
        emily_ref = h.invitation(h.app_id(emily)).ref
        assert expect_interview in text(only(h, emily_email, "confirmation"))
        check_ics(only(h, MARIA, "hm_booking"), method="REQUEST", uid=f"{emily_ref}@{SENDER_DOMAIN}",
                  sequence=0, start=interview, minutes=30, stamp=start + timedelta(hours=20), attendee=MARIA)

        poll_at(h, 47.9)
        assert h.emails_to(ZOE_EMAIL, "followup") == []
        poll_at(h, 48.0)
        assert len(h.emails_to(ZOE_EMAIL, "followup")) == 1
        poll_at(h, 72 + 1 - 24 - 0.1)  # 24 real hours before, minus 6 minutes
        assert h.emails_to(emily_email, "reminder_candidate") == []
        poll_at(h, 72 + 1 - 24 + 0.1)
        assert expect_interview in text(only(h, emily_email, "reminder_candidate"))
        assert len(h.emails_to(MARIA, "reminder_hm")) == 1
    finally:
        h.close()


# --- commands --------------------------------------------------------------------------

def test_poll_exits_0_when_an_alert_was_raised(h: Harness, cli: Any) -> None:
    """SPEC §3: an alert is the tool doing its job, so the cycle completed (exit 0)."""
    h.at(0.1)
    h.sandbox.move(ZOE, "Phone Screen")
    quiet = cli("poll", "--now", h.clock.now().isoformat())
    assert quiet.exit_code == 0, quiet.output
    assert len(h.emails_to(ZOE_EMAIL, "invite")) == 1

    h.sandbox.block(JAMES)
    h.at(0.2)
    h.sandbox.move("17004", "First Interview")
    result = cli("poll", "--now", h.clock.now().isoformat(), "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["alerts"] == 1 and data["errors"] == []
    assert [o["action"] for o in data["outcomes"]] == ["recruiter_alert"]
    assert len(h.emails_to(DANA, "recruiter_alert")) == 1


def test_invite_command_reports_already_invited_and_resends_with_audit(h: Harness, cli: Any) -> None:
    invite(h)
    first_link = h.invitation(h.app_id(ZOE)).link_url
    h.at(1)
    result = cli("invite", h.app_id(ZOE))
    assert result.exit_code == 0, result.output
    assert "already invited" in result.output
    assert kinds(h) == [(ZOE_EMAIL, "invite")]

    assert cli("invite", h.app_id(ZOE), "--resend").exit_code == 2  # a resend needs a reason

    h.at(2)
    result = cli("invite", h.app_id(ZOE), "--resend", "--reason", "candidate lost the email")
    assert result.exit_code == 0, result.output
    inv = h.invitation(h.app_id(ZOE))
    assert inv.link_url and inv.link_url != first_link
    assert inv.state is State.INVITED and inv.deadline_at == h.start + timedelta(hours=50)
    second = [m for m in h.emails_to(ZOE_EMAIL) if inv.link_url in text(m)]
    assert len(second) == 1
    assert "cancel" not in text(second[0]).lower()  # a resend is not a cancellation notice
    rows = [r for r in h.ctx.db.iter_audit() if r["event"] == "manual_resend"]
    assert len(rows) == 1
    assert rows[0]["actor"] == "user:rita" and rows[0]["detail"] == "candidate lost the email"
    assert any(inv.link_url in n for n in note_bodies(h, ZOE))
    # the candidate books through the resent link: one booking, normal confirmation
    book(h, at=3)
    assert h.invitation(h.app_id(ZOE)).state is State.BOOKED


def test_resend_refuses_a_booked_invitation(h: Harness, cli: Any) -> None:
    invite(h)
    book(h)
    h.at(4)
    result = cli("invite", h.app_id(ZOE), "--resend", "--reason", "oops")
    assert result.exit_code == 2
    assert "booked" in result.output
    inv = h.invitation(h.app_id(ZOE))
    assert inv.state is State.BOOKED and inv.interview_start == SLOT
    assert len(h.emails_to(ZOE_EMAIL)) == 2  # invite + confirmation, nothing new


def test_resend_after_needs_attention_invites_once_the_fix_is_in(h: Harness, cli: Any) -> None:
    h.sandbox.block(MARIA, days=11)
    invite(h)
    assert h.invitation(h.app_id(ZOE)).state is State.NEEDS_ATTENTION
    h.at(11 * 24 + 1)  # the block has ended: Maria has time again
    result = cli("invite", h.app_id(ZOE), "--resend", "--reason", "Maria opened her calendar")
    assert result.exit_code == 0, result.output
    inv = h.invitation(h.app_id(ZOE))
    assert inv.state is State.INVITED and inv.link_url
    message = h.emails_to(ZOE_EMAIL)
    assert len(message) == 1 and "cancel" not in text(message[0]).lower()


def test_status_lists_invitations_and_filters_by_state(h: Harness, cli: Any) -> None:
    invite(h)
    invite(h, "17006", at=0.2)  # no hiring manager → needs_attention
    result = cli("status", "--json")
    assert result.exit_code == 0, result.output
    zoe, dmitri = h.app_id(ZOE), h.app_id("17006")
    rows = {r["application_id"]: r for r in json.loads(result.stdout)}
    assert rows[zoe]["state"] == "invited" and rows[dmitri]["state"] == "needs_attention"
    assert rows[zoe]["deadline_at"].startswith("2026-12-02T16:06")
    result = cli("status", "--state", "needs_attention", "--json")
    assert [r["application_id"] for r in json.loads(result.stdout)] == [dmitri]
    result = cli("status", "--state", "needs_attention")
    assert result.exit_code == 0 and dmitri in result.output and zoe not in result.output
    assert cli("status", "--state", "bogus").exit_code == 2


def test_needs_attention_is_retried_once_the_ats_changes(tmp_path: Path) -> None:
    """SPEC §2: a parked invitation waits "until a person acts (`invite --resend`, or the ATS
    changes)". Marcus (17009) has no email: alert; the recruiter adds one in the ATS; the next
    poll invites him without any command, and a re-read without a change does nothing."""
    h = Harness(tmp_path)
    try:
        h.poll()
        h.sandbox.move("17009", "Phone Screen")
        h.at(0.5)
        first = h.poll()
        assert first.alerts == 1 and h.invitation("17009").state == "needs_attention"
        h.at(1)
        h.poll()  # nothing changed in the ATS: no retry, no second alert
        assert len(h.emails_to("tom.becker@mercyvalley.example", "recruiter_alert")) == 1
        h.sandbox._post("/_admin/greenhouse/candidate-email",
                        {"application_id": "17009", "email": "marcus.johnson+cna@example.org"})
        h.at(2)
        h.poll()
        invites = h.emails_to("marcus.johnson+cna@example.org", "invite")
        assert len(invites) == 1
        inv = h.invitation("17009")
        assert inv.state == "invited" and inv.candidate_email == "marcus.johnson+cna@example.org"
        events = [r["event"] for r in h.ctx.db.iter_audit() if r["invitation_ref"] == inv.ref]
        assert "retry" in events
        h.at(3)
        h.poll()
        assert len(h.emails_to("marcus.johnson+cna@example.org")) == 1
    finally:
        h.close()
