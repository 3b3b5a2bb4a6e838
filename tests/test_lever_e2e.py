"""Lever × Calendly end to end over loopback: stage change → one invite + one note → booking → confirmation.

The tool runs unchanged against the sandbox's Lever flavour; the Calendly
sandbox finds the booking link in the note the Lever adapter wrote, which the
sandbox files under both the opportunity id and the seed number ("17001").
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest
import requests
from harness import Harness

from interview_sync.invitation import State
from interview_sync.sandbox.lever import opportunity_id

ZOE = "17001"
ZOE_OPPORTUNITY = opportunity_id(17001)
ZOE_EMAIL = "zoe+nurse@example.org"
MARIA = "maria.delgado@mercyvalley.example"
SLOT = datetime(2026, 12, 3, 18, 0, tzinfo=timezone.utc)  # Thursday 10:00 in Sacramento


@pytest.fixture
def h(tmp_path: Path) -> Iterator[Harness]:
    harness = Harness(tmp_path, ats="lever", scheduler="calendly")
    try:
        report = harness.poll()  # the baseline: records, sends nothing
        assert not report.errors and harness.emails() == []
        yield harness
    finally:
        harness.close()


def _plain(message) -> str:  # noqa: ANN001 - an email.message.EmailMessage
    return message.get_body(preferencelist=("plain",)).get_content()


def test_lever_stage_change_invites_once_then_booking_confirms(h: Harness) -> None:
    assert h.ctx.db.count_applications() == 10  # confidential postings' candidates are listed too

    h.at(0.1)
    h.sandbox.move(ZOE, "Phone Screen")
    report = h.poll()
    assert not report.errors, report.errors

    invites = h.emails_to(ZOE_EMAIL, "invite")
    assert len(invites) == 1
    assert str(invites[0]["To"]) == f"Zoë O'Brien-Nguyễn <{ZOE_EMAIL}>"
    body = _plain(invites[0])
    assert h.server.url + "/d/" in body and "Maria Delgado" in body
    inv = h.invitation(ZOE_OPPORTUNITY)
    assert inv.state is State.INVITED and inv.link_url and inv.link_url in body
    notes = h.notes(ZOE)
    assert len(notes) == 1 and inv.link_url in notes[0]
    assert h.notes(ZOE_OPPORTUNITY) == notes  # the same note under the Lever id

    state = requests.get(f"{h.server.url}/_admin/lever/opportunities/{ZOE_OPPORTUNITY}", timeout=5).json()
    assert [n["user"] for n in state["notes"]] == ["c1a5e2b8-0000-4000-8000-000000004005"]  # perform_as

    h.at(0.2)
    assert not h.poll().errors  # our own note bumped updatedAt: re-read, nothing new sent
    assert len(h.emails_to(ZOE_EMAIL, "invite")) == 1 and len(h.notes(ZOE)) == 1

    h.at(3)
    h.sandbox.book(ZOE, at=SLOT)
    report = h.poll()
    assert not report.errors, report.errors
    inv = h.invitation(ZOE_OPPORTUNITY)
    assert inv.state is State.BOOKED and inv.interview_start == SLOT
    confirmations = h.emails_to(ZOE_EMAIL, "confirmation")
    assert len(confirmations) == 1
    assert "Thursday, December 3, 2026 at 10:00 AM PST" in _plain(confirmations[0])
    assert len(h.emails_to(MARIA, "hm_booking")) == 1
    assert len(h.emails_to(ZOE_EMAIL, "invite")) == 1


def test_lever_archived_opportunity_leaves_the_stage(h: Harness) -> None:
    h.at(0.1)
    h.sandbox.move(ZOE, "Phone Screen")
    h.poll()
    assert h.invitation(ZOE_OPPORTUNITY).state is State.INVITED

    h.at(1)
    h.sandbox.set_status(ZOE, "rejected")
    report = h.poll()
    assert not report.errors, report.errors
    assert h.invitation(ZOE_OPPORTUNITY).state is State.CLOSED
    assert len(h.emails_to(ZOE_EMAIL, "invite")) == 1
