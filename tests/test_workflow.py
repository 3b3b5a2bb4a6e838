"""The pure core: (invitation, event, now, policy) → actions, with no I/O and no clock."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from interview_sync import workflow as wf
from interview_sync.invitation import Invitation, State, invitation_ref
from interview_sync.models import Application, AppStatus, Booking, BookingStatus
from interview_sync.state import AppSnapshot

T0 = datetime(2026, 11, 30, 16, 0, tzinfo=timezone.utc)
POLICY = wf.Policy(feedback_enabled=True)


def application(stage_id: str = "10102", status: str = "in_process") -> Application:
    return Application(id="17001", candidate_id="7001", job_id="101", stage_id=stage_id, stage_name="Phone Screen",
                       status=status, updated_at=T0)


def invitation(**changes: object) -> Invitation:
    base = Invitation(ref=invitation_ref("17001", "10102"), application_id="17001", candidate_id="7001",
                      job_id="101", stage_id="10102", stage_name="Phone Screen", stage_changed_at=T0, created_at=T0,
                      state=State.INVITED, deadline_at=T0 + timedelta(hours=48), updated_at=T0)
    return replace(base, **changes)  # type: ignore[arg-type]


def booking(uri: str = "inv-1", status: str = "active", **changes: object) -> Booking:
    base = Booking(uri=uri, event_uri="ev-1", ref=None, email="zoe+nurse@example.org", name="Zoë",
                   start=T0 + timedelta(days=2), end=T0 + timedelta(days=2, minutes=30), status=status)
    return replace(base, **changes)  # type: ignore[arg-type]


def kinds(actions: list[wf.Action]) -> list[str]:
    return [a.kind for a in actions]


def test_ref_is_stable_per_application_and_stage() -> None:
    assert invitation_ref("17001", "10102") == invitation_ref("17001", "10102")
    assert invitation_ref("17001", "10102") != invitation_ref("17001", "10103")


def test_a_stage_entry_plans_one_invite_and_a_duplicate_plans_nothing() -> None:
    step = wf.on_stage_entered(application(), None, T0)
    assert step is not None and step.created and kinds(step.actions) == ["invite"]
    assert wf.on_stage_entered(application(), step.invitation, T0 + timedelta(hours=1)) is None


def test_timers_fire_exactly_at_their_instant() -> None:
    inv = invitation()
    assert wf.due(inv, T0 + timedelta(hours=47, minutes=59), POLICY) == []
    assert kinds(wf.due(inv, T0 + timedelta(hours=48), POLICY)) == ["followup"]
    followed = invitation(state=State.FOLLOWED_UP, followup_sent_at=T0 + timedelta(hours=48),
                          followup_deadline_at=T0 + timedelta(hours=72))
    assert wf.due(followed, T0 + timedelta(hours=71), POLICY) == []
    assert kinds(wf.due(followed, T0 + timedelta(hours=72), POLICY)) == ["flag"]
    assert wf.due(invitation(state=State.FLAGGED), T0 + timedelta(days=30), POLICY) == []  # never a third email


def test_reminders_and_feedback_for_a_booked_interview() -> None:
    start = T0 + timedelta(days=3)
    booked = invitation(state=State.BOOKED, booking_ref="inv-1", booked_at=T0, interview_start=start,
                        interview_end=start + timedelta(minutes=30))
    assert wf.due(booked, start - timedelta(hours=25), POLICY) == []
    assert [a.who for a in wf.due(booked, start - timedelta(hours=24), POLICY)] == ["candidate", "hm"]
    assert wf.due(replace(booked, reminder_sent_at=start - timedelta(hours=24)), start - timedelta(hours=1),
                  POLICY) == []
    assert wf.due(replace(booked, reminder_sent_at=start), start + timedelta(hours=2), POLICY) == []
    assert kinds(wf.due(replace(booked, reminder_sent_at=start), start + timedelta(hours=2, minutes=30),
                        POLICY)) == ["feedback"]
    no_feedback = wf.Policy(feedback_enabled=False)
    assert kinds(wf.due(replace(booked, reminder_sent_at=start), start + timedelta(minutes=30), no_feedback)) == [
        "close"]


def test_bookings_cancels_and_reschedules() -> None:
    waiting = invitation()
    assert kinds(wf.on_booking(waiting, booking())) == ["confirm"]
    booked = invitation(state=State.BOOKED, booking_ref="inv-1")
    assert wf.on_booking(booked, booking()) == []  # seen before
    assert kinds(wf.on_booking(booked, booking(status="canceled"))) == ["cancel"]
    assert wf.on_booking(booked, booking(status="canceled", rescheduled=True, new_booking_uri="inv-2")) == []
    assert kinds(wf.on_booking(booked, booking("inv-2", old_booking_uri="inv-1"))) == ["reschedule"]
    assert kinds(wf.on_booking(booked, booking("inv-9"))) == ["alert"]  # a second booking
    assert wf.on_booking(waiting, booking(status="pending")) == []  # not confirmed until accepted


def test_nothing_reaches_the_candidate_after_a_stage_exit() -> None:
    assert kinds(wf.on_booking(invitation(), booking(), in_stage=False)) == ["alert"]
    assert kinds(wf.on_stage_left(invitation(), application(stage_id="10105"))) == ["close"]
    booked = invitation(state=State.BOOKED, booking_ref="inv-1", interview_start=T0 + timedelta(days=2))
    left = wf.on_stage_left(booked, application(status="rejected"))
    assert kinds(left) == ["alert"] and left[0].park


def test_a_parked_invitation_is_retried_only_after_an_ats_change() -> None:
    parked = invitation(state=State.NEEDS_ATTENTION, updated_at=T0 + timedelta(hours=1))
    assert wf.on_application_changed(parked, replace(application(), updated_at=T0)) == []
    assert kinds(wf.on_application_changed(parked, replace(application(), updated_at=T0 + timedelta(hours=2)))) == [
        "retry"]
    booked_parked = replace(parked, booking_ref="inv-1")
    assert wf.on_application_changed(booked_parked, replace(application(), updated_at=T0 + timedelta(hours=2))) == []


def snapshot(stage_id: str = "10102", status: str | None = "active") -> AppSnapshot:
    return AppSnapshot(id="17001", candidate_id="7001", job_id="101", stage_id=stage_id, stage_name="Phone Screen",
                       status=status, updated_at=T0)


def test_a_stage_entry_is_seen_against_the_last_snapshot() -> None:
    stages = ["Phone Screen"]
    entered = [wf.stage_entered(application(), previous, stages, first_run=False, backfill=False)
               for previous in (None, snapshot("10101"), snapshot(status="rejected"), snapshot(status="in_process"),
                                snapshot())]
    assert entered == [True, True, True, False, False]  # new, moved, back from rejected; older GH word; same
    assert not wf.stage_entered(application(), None, stages, first_run=True, backfill=False)  # the baseline
    assert wf.stage_entered(application(), None, stages, first_run=True, backfill=True)
    assert not wf.stage_entered(application(status="rejected"), None, stages, first_run=False, backfill=False)
    assert wf.still_in_stage(invitation(), snapshot()) and wf.still_in_stage(invitation(), None)
    assert not wf.still_in_stage(invitation(), snapshot("10105"))
    assert not wf.still_in_stage(invitation(), snapshot(status="hired"))


def test_statuses_are_one_vocabulary_whatever_word_the_adapter_used() -> None:
    assert application(status="in_process").status is AppStatus.ACTIVE  # Greenhouse's word
    assert application(status="active").active and not application(status="archived").active
    assert booking(status="canceled").status is BookingStatus.CANCELED
    with pytest.raises(ValueError):
        application(status="on_hold")  # a word no adapter maps is refused, not read as closed
