"""The planner alone: flows driven by scripted results, no vendor, no state, no clock.

Each test feeds results the way an executor would and reads the steps back:
what the planner decides after each outcome is visible without any I/O.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from interview_sync import transitions as tr
from interview_sync import workflow as wf
from interview_sync.alerts import AlertText
from interview_sync.config import Settings, load_settings
from interview_sync.enrich import Enriched, NeedsPerson
from interview_sync.invitation import Invitation, State, invitation_ref
from interview_sync.models import Booking, EventType
from interview_sync.planner import InviteReads, Planner, drive
from interview_sync.starter import sandbox_config, write_config
from interview_sync.steps import Email, Result, Step

T0 = datetime(2026, 11, 30, 16, 0, tzinfo=timezone.utc)
REF = invitation_ref("17001", "10102")
EVENT_TYPE = EventType(uri="et-1", slug="phone-screen-30", name="Phone screen", duration_minutes=30,
                       scheduling_url="https://sched.example/phone", host_uri="host-1")
URL = "https://sched.example/d/abc"


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    path: Path = tmp_path_factory.mktemp("planner") / "interview-sync.toml"
    write_config(path, sandbox_config("http://127.0.0.1:9"))
    return load_settings(path)


def pending() -> Invitation:
    return Invitation(ref=REF, application_id="17001", candidate_id="7001", job_id="101", stage_id="10102",
                      stage_name="Phone Screen", stage_changed_at=T0, created_at=T0, updated_at=T0)


def enriched(inv: Invitation) -> Enriched:
    return Enriched(replace(inv, candidate_name="Zoë", candidate_email="zoe@example.org", hm_name="Maria",
                            hm_email="maria@example.org", route_index=0, event_type="phone-screen-30",
                            recruiter_email="tom@example.org"), EVENT_TYPE)


def run(planner: Planner, inv: Invitation, action: wf.Action, reads: InviteReads | None,
        answer: Callable[[Step], Result] = lambda step: Result()) -> tuple[Invitation, list[Step]]:
    steps: list[Step] = []

    def perform(step: Step) -> Result:
        steps.append(step)
        if step.kind == "link":
            return Result(value=URL)
        return answer(step)

    return drive(planner.flow(inv, action, reads), perform), steps


def keys(steps: list[Step]) -> list[str]:
    return [s.key.removeprefix(REF + ":") for s in steps]


def test_an_invite_carries_the_link_it_made_and_starts_the_policy_deadline(settings: Settings) -> None:
    policy = wf.Policy(booking_deadline=timedelta(hours=3))  # not the configured 48 h: one source of deadlines
    planner = Planner(settings, policy, T0)
    inv, steps = run(planner, pending(), wf.Action(wf.INVITE, REF, f"{REF}:invite:0"),
                     InviteReads(None, enriched(pending())))
    assert keys(steps) == ["enriched", "link:0", "link_created", "invite:0", "invited", "note:invite:0"]
    email = next(s.effect for s in steps if isinstance(s.effect, Email))
    assert email.context["link"] == URL and email.to_email == "zoe@example.org"
    assert inv.state is State.INVITED and inv.link_url == URL and inv.deadline_at == T0 + timedelta(hours=3)


def test_a_refused_address_becomes_an_alert_that_parks_and_nothing_more(settings: Settings) -> None:
    planner = Planner(settings, wf.Policy(), T0)

    def refuse(step: Step) -> Result:
        return Result("refused", message="550 no such user") if step.key.endswith("invite:0") else Result()

    inv, steps = run(planner, pending(), wf.Action(wf.INVITE, REF, f"{REF}:invite:0"),
                     InviteReads(None, enriched(pending())), refuse)
    assert keys(steps) == ["enriched", "link:0", "link_created", "invite:0", "alert:address-refused", "alert"]
    assert inv.state is State.NEEDS_ATTENTION and "550 no such user" in (inv.attention_reason or "")


def test_vendor_errors_are_counted_then_alerted(settings: Settings) -> None:
    planner = Planner(settings, wf.Policy(), T0)
    inv = pending()
    failure = Result("vendor_error", message="503", detail="scheduling_links answered 503")
    steps: list[Step] = []

    def perform(step: Step) -> Result:
        steps.append(step)
        return failure if step.kind == "link" else Result()

    for attempt in (1, 2, 3):
        steps.clear()
        inv = drive(planner.flow(inv, wf.Action(wf.INVITE, REF, f"{REF}:invite:0"),
                                 InviteReads(None, enriched(inv))), perform)
        assert inv.extra[tr.VENDOR_FAILURES] == str(attempt)
        if attempt < 3:
            assert steps[-1].kind == "report" and inv.state is State.PENDING
    assert keys(steps)[-2:] == ["alert:vendor-error", "alert"] and inv.state is State.NEEDS_ATTENTION


def test_a_person_needed_at_enrichment_alerts_and_makes_no_link(settings: Settings) -> None:
    planner = Planner(settings, wf.Policy(), T0)
    found = replace(pending(), candidate_name="Marcus", recruiter_email="tom@example.org")
    need = NeedsPerson(AlertText("no-email", "Marcus has no email address we may use", "add one"), found)
    inv, steps = run(planner, pending(), wf.Action(wf.INVITE, REF, f"{REF}:invite:0"), InviteReads(None, need))
    assert keys(steps) == ["alert:no-email", "alert"] and [s.kind for s in steps] == ["email", "save"]
    assert steps[0].effect.to_email == "tom@example.org"  # type: ignore[union-attr]
    assert inv.state is State.NEEDS_ATTENTION and inv.candidate_name == "Marcus"


def test_a_cancel_is_followed_by_the_relink_in_the_same_plan(settings: Settings) -> None:
    planner = Planner(settings, wf.Policy(), T0)
    start = T0 + timedelta(days=2)
    booked = replace(pending(), state=State.BOOKED, booking_ref="b-1", interview_start=start,
                     interview_end=start + timedelta(minutes=30), link_url="old", hm_email="maria@example.org")
    cancel = Booking(uri="b-1", event_uri="e-1", ref=REF, email="zoe@example.org", name="Zoë", start=start,
                     end=start + timedelta(minutes=30), status="canceled")
    inv, steps = run(planner, booked, wf.on_booking(booked, cancel)[0], InviteReads(None, enriched(booked)))
    assert keys(steps) == ["hm-cancel:b-1", "note:cancel:b-1", "cancelled", "enriched", "link:1", "link_created",
                           "invite:1", "relinked", "note:relink:1"]
    assert next(s for s in steps if s.key.endswith("invite:1")).effect.kind == "relink"  # type: ignore[union-attr]
    assert inv.state is State.INVITED and inv.link_generation == 1 and not tr.relinks(inv)


def test_an_interrupted_send_is_alerted_never_redone(settings: Settings) -> None:
    planner = Planner(settings, wf.Policy(), T0)
    inv = replace(pending(), state=State.INVITED, candidate_email="zoe@example.org", recruiter_email="t@example.org")

    def unknown(step: Step) -> Result:
        return Result("unknown") if step.key == f"{REF}:followup:0" else Result()

    inv, steps = run(planner, inv, wf.Action(wf.FOLLOWUP, REF, f"{REF}:followup:0"), None, unknown)
    assert keys(steps) == ["followup:0", "followup:0:unknown", "alert:unknown:" + REF + ":followup:0", "alert",
                           "followed_up"]
    assert inv.state is State.FOLLOWED_UP and inv.alerts == 1
