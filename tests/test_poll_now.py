"""`poll --now` moves timers only (issue 10).

The reproduction from the issue: after ``poll --now <tomorrow>`` the next
real-time poll must see a booking cancelled (or a stage moved) in between,
because vendor read windows and cursors follow the real clock, not ``--now``.
The CLI runs in-process with the wall clock pinned to the sandbox's clock
(``Harness.cli``), so "real time" is the same instant for the tool and its
vendors, and nothing here depends on today's date.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from harness import Harness

from interview_sync.clock import iso, parse_instant
from interview_sync.invitation import State
from interview_sync.poll import ATS_CURSOR, SCHEDULER_CURSOR

ZOE, ZOE_EMAIL = "17001", "zoe+nurse@example.org"
EMILY, EMILY_EMAIL = "17005", "emily.chen@example.com"


@pytest.fixture
def harness(paired_harness: Harness) -> Harness:
    return paired_harness


def _invited(h: Harness, seed_number: str) -> None:
    """Baseline at the start, then the application enters Phone Screen and is invited."""
    h.poll()
    h.at(0.1)
    h.sandbox.move(seed_number, "Phone Screen")
    h.poll()


def _poll_now(h: Harness, later: timedelta) -> None:
    result = h.cli("--quiet", "poll", "--now", iso(h.clock.now() + later))
    assert result.exit_code in (0, 1), result.output


def test_a_cancel_after_poll_now_tomorrow_is_handled_by_the_next_real_poll(harness: Harness) -> None:
    h = harness
    _invited(h, ZOE)
    h.at(0.2)
    h.sandbox.book(ZOE, at=h.start + timedelta(days=3, hours=2))  # Thursday 10:00 in Sacramento
    h.poll()
    assert h.invitation(h.app_id(ZOE)).state is State.BOOKED
    read_at = h.at(0.3)
    _poll_now(h, timedelta(days=1))
    cursors = [h.ctx.db.get_cursor(name) or "" for name in (ATS_CURSOR, SCHEDULER_CURSOR)]
    h.at(0.4)
    h.sandbox.cancel(ZOE)
    report = h.poll()
    assert not report.errors, report.errors
    inv = h.invitation(h.app_id(ZOE))
    assert inv.state is State.INVITED and inv.booking_ref is None  # the cancel, seen at once
    assert len(h.emails_to(ZOE_EMAIL, "relink")) == 1
    # `poll --now` stamped its cursors with the real time of its reads, not with --now
    assert [parse_instant(c) for c in cursors] == [read_at, read_at]


def test_poll_now_fires_timers_at_now_but_the_next_real_poll_still_sees_a_stage_move(harness: Harness) -> None:
    h = harness
    _invited(h, EMILY)
    assert len(h.emails_to(EMILY_EMAIL, "invite")) == 1
    h.at(0.2)
    _poll_now(h, timedelta(hours=49))  # past the 48 h booking deadline: the follow-up timer fires
    assert len(h.emails_to(EMILY_EMAIL, "followup")) == 1
    h.at(0.3)
    h.sandbox.move(ZOE, "Phone Screen")
    h.poll()
    assert len(h.emails_to(ZOE_EMAIL, "invite")) == 1


def test_a_cursor_left_in_the_future_by_an_older_poll_now_is_read_from_now(harness: Harness) -> None:
    h = harness
    h.poll()
    tomorrow = iso(h.clock.now() + timedelta(days=1))
    h.ctx.db.set_cursor(ATS_CURSOR, tomorrow)  # what `poll --now <tomorrow>` used to leave behind
    h.ctx.db.set_cursor(SCHEDULER_CURSOR, tomorrow)
    h.at(0.1)
    h.sandbox.move(ZOE, "Phone Screen")
    h.poll()
    assert len(h.emails_to(ZOE_EMAIL, "invite")) == 1
