"""Issue 2 acceptance over real loopback HTTP: stage change → one invite, one note, no repeats.

Issue 6: every test runs for all four ATS × scheduler pairs (``ZOE`` is the seed
number the sandbox admin routes take; ``harness.app_id`` maps it to the tool's id).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from harness import Harness, child_env

from interview_sync.lock import RunLock
from interview_sync.poll import ATS_CURSOR, SCHEDULER_CURSOR

ZOE = "17001"
ZOE_EMAIL = "zoe+nurse@example.org"


@pytest.fixture
def harness(paired_harness: Harness) -> Harness:
    """Overrides conftest's default pair: each test runs for every ATS × scheduler pair."""
    return paired_harness


def _invites(h: Harness) -> list:
    return [m for m in h.emails() if m["X-Interview-Sync-Kind"] == "invite"]


def test_first_run_is_a_baseline_and_sends_nothing(harness: Harness) -> None:
    report = harness.poll()
    assert report.outcomes == [] and not report.errors
    assert harness.emails() == []
    assert harness.ctx.db.count_applications() == 10
    assert harness.ctx.db.get_cursor(ATS_CURSOR) is not None


def test_stage_change_gives_exactly_one_invite_and_one_note(harness: Harness) -> None:
    harness.poll()
    harness.at(0.1)
    harness.sandbox.move(ZOE, "Phone Screen")
    report = harness.poll()
    assert not report.errors, report.errors
    invites = _invites(harness)
    assert len(invites) == 1
    message = invites[0]
    assert str(message["To"]) == f"Zoë O'Brien-Nguyễn <{ZOE_EMAIL}>"
    body = message.get_body(preferencelist=("plain",)).get_content()
    assert harness.server.url + "/d/" in body  # a booking link from the sandbox scheduler
    assert "Maria Delgado" in body and "maria.delgado@" not in body  # names the HM, never their email
    notes = harness.notes(ZOE)
    assert len(notes) == 1 and "Booking link:" in notes[0]
    inv = harness.invitation(harness.app_id(ZOE))
    # the link carries the invitation's reference where the scheduler hands it back on the booking
    ref_param = "metadata%5Bref%5D=" if harness.scheduler == "calcom" else "utm_content="
    assert inv.state == "invited" and inv.link_url and ref_param in inv.link_url

    # re-poll, an overlapping re-read and the note's own updated_at bump: nothing more
    harness.at(0.2)
    harness.poll()
    harness.ctx.db.set_cursor(ATS_CURSOR, "2026-11-29T00:00:00Z")  # force a long overlap
    harness.ctx.db.set_cursor(SCHEDULER_CURSOR, "2026-11-29T00:00:00Z")
    harness.poll()
    # duplicate trigger: moved out and back in (manual re-advance)
    harness.sandbox.move(ZOE, "Application Review")
    harness.poll()
    harness.sandbox.move(ZOE, "Phone Screen")
    harness.poll()
    assert len(_invites(harness)) == 1
    assert len([n for n in harness.notes(ZOE) if "booking link sent" in n.lower()]) == 1


def test_link_carries_reference_and_prefill(harness: Harness) -> None:
    from urllib.parse import parse_qs, urlsplit

    harness.poll()
    harness.sandbox.move(ZOE, "Phone Screen")
    harness.poll()
    inv = harness.invitation(harness.app_id(ZOE))
    query = parse_qs(urlsplit(inv.link_url).query)
    # Calendly echoes utm_content on the invitee; Cal.com returns booking metadata[ref] instead
    ref_param = "metadata[ref]" if harness.scheduler == "calcom" else "utm_content"
    assert query[ref_param] == [inv.ref]
    assert query["email"] == [ZOE_EMAIL]
    assert query["name"] == ["Zoë O'Brien-Nguyễn"]


def test_dry_run_sends_writes_and_advances_nothing(harness: Harness) -> None:
    harness.poll()
    cursor = harness.ctx.db.get_cursor(ATS_CURSOR)
    audit_rows = harness.ctx.db.audit_count()
    harness.at(1)
    harness.sandbox.move(ZOE, "Phone Screen")
    notes_before = harness.notes(ZOE)
    report = harness.poll(dry_run=True)
    (ref,) = {p.ref for p in harness.last_plan}  # one invitation, planned end to end
    assert [(p.action, p.key) for p in harness.last_plan] == [
        ("save", f"{ref}:stage_entered"), ("save", f"{ref}:enriched"), ("link", f"{ref}:link:0"),
        ("save", f"{ref}:link_created"), ("email", f"{ref}:invite:0"), ("save", f"{ref}:invited"),
        ("ats", f"{ref}:note:invite:0")]
    assert "invite → zoe+nurse@example.org" in [p.detail for p in harness.last_plan]
    assert report.outcomes == []
    assert harness.emails() == []
    assert harness.notes(ZOE) == notes_before
    assert harness.ctx.db.get_cursor(ATS_CURSOR) == cursor
    assert harness.ctx.db.invitations() == []
    assert harness.ctx.db.audit_count() == audit_rows
    # the real run afterwards still sees the change, and does what was planned
    plan = [(p.action, p.key) for p in harness.last_plan]
    assert [(p.action, p.key) for p in harness.poll().performed] == plan
    assert len(_invites(harness)) == 1 and harness.invitation(harness.app_id(ZOE)).ref == ref


def test_backfill_invites_applications_already_in_stage(harness: Harness) -> None:
    harness.sandbox.move(ZOE, "Phone Screen")
    harness.poll(backfill=True)
    assert len(_invites(harness)) == 1


def test_second_concurrent_poll_exits_75(harness: Harness, tmp_path: Path) -> None:
    harness.poll()
    path = harness.settings.state.path
    with RunLock(path.with_name(path.name + ".lock")):
        result = subprocess.run([sys.executable, "-m", "interview_sync", "--config", str(harness.config_path),
                                 "poll"], capture_output=True, text=True, timeout=60,
                                env=child_env())
    assert result.returncode == 75, result.stderr
    assert "lock" in result.stderr.lower()


def test_special_characters_go_through_intact(harness: Harness) -> None:
    harness.poll()
    harness.sandbox.move("17003", "First Interview")  # Siobhán Ní Bhriain, plus-addressed
    harness.poll()
    (message,) = _invites(harness)
    assert str(message["To"]) == "Siobhán Ní Bhriain <siobhan.nibhriain+rt@example.net>"
    assert "Siobhán" in message.get_body(preferencelist=("html",)).get_content()


def test_scheduler_no_show_mark_reaches_the_invitation(harness: Harness) -> None:
    from datetime import timedelta

    harness.poll()
    harness.sandbox.move(ZOE, "Phone Screen")
    harness.poll()
    harness.sandbox.book(ZOE, at=harness.start + timedelta(days=1, hours=2))
    harness.at(1)
    harness.poll()
    harness.at(30)
    harness.poll()
    assert harness.invitation(harness.app_id(ZOE)).no_show is False
    harness.sandbox.no_show(ZOE)
    harness.at(31)
    report = harness.poll()
    assert harness.invitation(harness.app_id(ZOE)).no_show is True
    assert [o.action for o in report.outcomes if o.action == "no_show"] == ["no_show"]
    harness.at(32)
    assert [o for o in harness.poll().outcomes if o.action == "no_show"] == []  # recorded once


def test_re_advance_after_leaving_alerts_the_recruiter_once_and_sends_the_candidate_nothing(
        harness: Harness) -> None:
    harness.poll()
    harness.sandbox.move(ZOE, "Phone Screen")
    harness.poll()
    harness.sandbox.move(ZOE, "Application Review")
    harness.at(1)
    harness.poll()
    harness.sandbox.move(ZOE, "Phone Screen")
    harness.at(2)
    report = harness.poll()
    harness.at(3)
    harness.poll()
    alerts = harness.emails_to("tom.becker@mercyvalley.example", "recruiter_alert")
    assert report.alerts == 1 and len(alerts) == 1
    assert "came back" in alerts[0].get_body(preferencelist=("plain",)).get_content()
    assert len(harness.emails_to(ZOE_EMAIL)) == 1  # the first invite only


def test_an_alert_that_cannot_be_sent_still_surfaces(harness: Harness) -> None:
    """SPEC §2: nothing fails silently — if even the alert can't go out, stderr and exit 1."""
    from interview_sync.errors import DeliveryError

    real = harness.ctx.transport

    class RecruiterMailDown:
        def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
            return getattr(real, name)

        def __enter__(self):  # type: ignore[no-untyped-def]
            real.__enter__()
            return self

        def __exit__(self, *exc: object) -> None:
            real.__exit__(*exc)

        def send(self, message) -> None:  # type: ignore[no-untyped-def]
            if message["X-Interview-Sync-Kind"] == "recruiter_alert":
                raise DeliveryError("the relay is down", "try later")
            real.send(message)

    harness.ctx.transport = RecruiterMailDown()  # type: ignore[assignment]
    harness.poll()
    harness.sandbox.move("17006", "Phone Screen")  # job without a hiring manager: needs an alert
    report = harness.poll()
    assert report.needs_attention
    assert any("ALERT NOT SENT" in e and "no hiring manager" in e for e in report.errors), report.errors
    assert harness.emails_to("tom.becker@mercyvalley.example") == []
    assert harness.invitation(harness.app_id("17006")).state == "needs_attention"
