"""`invite` and `no-show`: library functions that run under the run lock; the CLI only parses and prints."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from harness import Harness

from interview_sync.errors import ConfigError, LockHeld
from interview_sync.invitation import State
from interview_sync.invite import InviteResult, invite
from interview_sync.lock import RunLock
from interview_sync.no_show import record_no_show

ZOE, ZOE_EMAIL = "17001", "zoe+nurse@example.org"
SLOT = datetime(2026, 12, 3, 18, 0, tzinfo=timezone.utc)


def _in_stage(h: Harness) -> None:
    h.poll()  # the baseline: nothing is invited for what was already there
    h.at(0.5)
    h.sandbox.move(ZOE, "Phone Screen")


def _audit(h: Harness, event: str) -> list[Any]:
    return [row for row in h.ctx.db.iter_audit() if row["event"] == event]


def test_invite_takes_the_lock_before_it_saves_anything(harness: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("USER", "rita")
    monkeypatch.setenv("LOGNAME", "rita")
    _in_stage(harness)
    with RunLock(harness.settings.state.path):  # a poll is running
        result = harness.cli("invite", ZOE)
    assert result.exit_code == 75, result.output
    assert harness.ctx.db.invitations(application_id=ZOE) == []  # no half-made invitation for the poll to trip on
    assert _audit(harness, "manual_invite") == [] and harness.emails() == []
    result = harness.cli("invite", ZOE)
    assert result.exit_code == 0, result.output
    inv = harness.invitation(ZOE)
    assert inv.state is State.INVITED and inv.manual_interventions == 1
    assert [row["actor"] for row in _audit(harness, "manual_invite")] == ["user:rita"]
    assert len(harness.emails_to(ZOE_EMAIL, "invite")) == 1


def test_invite_is_a_library_function_and_a_resend_uses_the_retry_transition(harness: Harness) -> None:
    _in_stage(harness)
    ctx = harness.ctx
    ctx.actor = "user:lib"
    dry = invite(ctx, ZOE, dry_run=True)
    assert dry.result is InviteResult.WOULD_SEND and ctx.db.invitations(application_id=ZOE) == []
    first = invite(ctx, ZOE)
    assert first.result is InviteResult.RAN and not first.report.errors
    link = harness.invitation(ZOE).link_url
    assert invite(ctx, ZOE).result is InviteResult.ALREADY_INVITED
    with pytest.raises(ConfigError, match="--reason"):
        invite(ctx, ZOE, resend=True)
    harness.at(1)
    again = invite(ctx, ZOE, resend=True, reason="candidate lost the email")
    assert again.result is InviteResult.RAN and not again.report.errors
    inv = harness.invitation(ZOE)
    assert inv.state is State.INVITED and inv.link_generation == 1 and inv.link_url != link
    assert inv.manual_interventions == 2
    assert [r["detail"] for r in _audit(harness, "manual_resend")] == ["candidate lost the email"]
    assert len(_audit(harness, "retry")) == 1  # the executor's own transition, not a copy of it
    assert len(harness.emails_to(ZOE_EMAIL, "invite")) == 2


def test_no_show_takes_the_lock_and_changes_nothing_while_a_poll_runs(harness: Harness) -> None:
    _in_stage(harness)
    harness.at(1)
    harness.poll()
    harness.at(3)
    harness.sandbox.book(ZOE, at=SLOT)
    harness.poll()
    inv = harness.invitation(ZOE)
    assert inv.state is State.BOOKED and inv.interview_end is not None
    harness.clock.set(inv.interview_end + timedelta(hours=1))
    db, scheduler, clock = harness.ctx.db, harness.ctx.scheduler, harness.clock
    with RunLock(harness.settings.state.path), pytest.raises(LockHeld):
        record_no_show(db, scheduler, clock, ZOE, reason="no answer", actor="user:t")
    assert harness.invitation(ZOE).no_show is False and _audit(harness, "no_show") == []
    done = record_no_show(db, scheduler, clock, ZOE, reason="no answer", actor="user:t")
    assert done.scheduler_marked and harness.invitation(ZOE).no_show is True
