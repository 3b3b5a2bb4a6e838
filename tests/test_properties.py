"""Issue 3 acceptance 2: a Hypothesis state machine over the real poll cycle.

Why the real system and not fakes: a poll against the loopback sandbox takes
~25 ms, so a few thousand steps fit in the time budget, and the machine then
exercises what production runs — the Greenhouse and Calendly adapters, cursor
overlap, booking matching by reference, the outbox and the SQLite state — not
a model of them. Two seams are wrapped, both at the edge where effects leave
the process: the mail transport (records every message that reached someone,
so a duplicate cannot hide behind the file outbox overwriting a same-named
.eml) and the ATS write calls. Both share one crash plan that raises a
``BaseException`` before or after the n-th effect of a poll: what a SIGKILL
looks like from inside (no ``except Exception`` runs, ``sending`` rows stay).

Invariants, after every step:

* every Message-ID (one per idempotency key) reached its recipient at most once;
* per invitation and recipient: at most one invite, and no more follow-ups,
  confirmations, reminders, .ics requests/cancellations than the scheduler
  (the sandbox's own records, not the tool's) says there were link
  generations and bookings — i.e. at most one of each per booking;
* nothing reaches a candidate during a poll that began after their
  application left the invitation's stage (alerts go to recruiters);
* after every completed poll: nothing waits in ``pending``, no invite or
  follow-up deadline has passed unhandled, no outbox row is still ``sending``
  (no run holds the lock, so it is a dead run's), and every ``unknown`` row
  (a crash between claim and record) is named by an alert a recruiter got;
* at the end of each run (after days of further polls): every invitation is
  booked, flagged, closed or needs_attention.

CI runs a fixed (derandomized) set of 30 runs of 40 steps without shrinking:
the same examples on every run, and a known failure costs seconds. Each bug
the machine found is pinned below as a short deterministic regression test
(all fixed: stale relink deadlines, and ``sending`` rows stranded by a crash,
which each poll now turns into ``unknown`` plus a recruiter alert).
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import parseaddr
from pathlib import Path
from types import TracebackType
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from harness import Harness, check_plan

from interview_sync.executor import RunReport
from interview_sync.invitation import Invitation, State, invitation_ref
from interview_sync.poll import run_poll
from interview_sync.sandbox import calendly as sandbox_calendly
from interview_sync.sandbox import links as sandbox_links

# Zoë and Emily share a hiring manager (job 101), José has another (job 102),
# Marcus has no email address (every invite of his must end in an alert).
APPS = ("17001", "17005", "17002", "17009")
STAGES = ("Phone Screen", "First Interview", "Application Review", "Offer")
CANDIDATE_KINDS = frozenset({"invite", "relink", "followup", "confirmation", "reminder_candidate"})
TERMINAL = frozenset({State.BOOKED, State.FLAGGED, State.CLOSED, State.NEEDS_ATTENTION})


class SimulatedCrash(BaseException):
    """A crash mid-send: BaseException, so the executor's ``except Exception`` never sees it."""


@dataclass(frozen=True)
class Delivered:
    """One message that reached a mailbox."""

    message_id: str
    kind: str
    ref: str
    recipient: str
    text: str
    poll: int


class CrashPlan:
    """One budget shared by every effect seam: the effect after ``budget`` more crashes.

    ``after=True`` performs the effect first (the email left, the record did
    not happen); ``after=False`` crashes before it (nothing left, the
    ``sending`` row is still committed).
    """

    def __init__(self) -> None:
        self.budget: int | None = None
        self.after = False

    def arm(self, budget: int, after: bool) -> None:
        self.budget, self.after = budget, after

    def disarm(self) -> None:
        self.budget = None

    def effect(self, perform: Callable[[], None]) -> None:
        if self.budget is None:
            perform()
            return
        if self.budget > 0:
            self.budget -= 1
            perform()
            return
        self.budget = None
        if self.after:
            perform()
        raise SimulatedCrash()


class RecordingTransport:
    """Wraps the real transport; every message that really went out is recorded."""

    def __init__(self, inner: Any, scenario: Scenario) -> None:
        self.inner = inner
        self.scenario = scenario

    def open(self) -> None:
        self.inner.open()

    def close(self) -> None:
        self.inner.close()

    def __enter__(self) -> RecordingTransport:
        self.inner.__enter__()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.inner.__exit__(exc_type, exc, tb)

    def send(self, msg: EmailMessage) -> None:
        def deliver() -> None:
            self.inner.send(msg)
            self.scenario.record(msg)

        self.scenario.plan.effect(deliver)


class CrashingATS:
    """The real ATS adapter; only its writes go through the crash plan."""

    def __init__(self, inner: Any, plan: CrashPlan) -> None:
        self._inner = inner
        self._plan = plan

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def add_note(self, application: Any, body: str) -> None:
        self._plan.effect(lambda: self._inner.add_note(application, body))

    def add_tag(self, application: Any, tag: str) -> None:
        self._plan.effect(lambda: self._inner.add_tag(application, tag))


def _text(msg: EmailMessage) -> str:
    body = msg.get_body(preferencelist=("plain",))
    return body.get_content() if body is not None else ""


class Scenario:
    """The sandbox world plus the tool, with the recording/crashing seams and the invariant checks.

    The state machine drives one of these; the pinned regression scenarios below drive it by hand.
    """

    def __init__(self, tmp: Path) -> None:
        self.h = Harness(tmp)
        self.plan = CrashPlan()
        self.delivered: list[Delivered] = []
        self.polls = 0
        self.allowed: frozenset[str] = frozenset()  # refs whose application sits in their stage this poll
        self.minutes = 0
        self.h.ctx.transport = RecordingTransport(self.h.ctx.transport, self)  # type: ignore[assignment]
        self.h.ctx.ats = CrashingATS(self.h.ctx.ats, self.plan)  # type: ignore[assignment]

    def close(self) -> None:
        self.h.close()

    # --- what people and time do ---------------------------------------------------------

    def record(self, msg: EmailMessage) -> None:
        self.delivered.append(Delivered(
            message_id=str(msg["Message-ID"]), kind=str(msg["X-Interview-Sync-Kind"]),
            ref=str(msg["X-Interview-Sync-Ref"]), recipient=parseaddr(str(msg["To"]))[1].casefold(),
            text=_text(msg), poll=self.polls))

    @property
    def now(self) -> datetime:
        return self.h.clock.now()

    def advance(self, minutes: int) -> None:
        self.minutes += minutes
        self.h.at(self.minutes / 60)

    def move(self, app: str, stage: str) -> None:
        self.h.sandbox.move(app, stage)

    def set_status(self, app: str, status: str) -> None:
        self.h.sandbox.set_status(app, status)

    def book(self, app: str, slot: int) -> None:
        """The candidate books through the latest link in their ATS notes, at the slot-th offered time."""
        event_type = self.apps_with_link()[app]
        self.h.sandbox.book(app, at=self._free_slot(event_type, slot))

    def cancel(self, app: str, by: str = "invitee") -> None:
        self.h.sandbox._post("/_admin/cancel", {"application_id": app, "by": by})  # the client has no `by`

    def reschedule(self, app: str, slot: int) -> None:
        event_type = self.apps_booked()[app]
        at = self._free_slot(event_type, slot)
        assert at is not None
        self.h.sandbox.reschedule(app, at)

    def poll(self) -> RunReport:
        """A poll that must complete; the after-poll invariants are checked, and what it
        did must be what a dry run of it planned (issue 12)."""
        _, plan = run_poll(self.h.ctx, dry_run=True)
        report = self.run_poll()
        assert report is not None
        check_plan(plan, report.performed)
        self.check_completed_poll(report)
        return report

    def crash(self, budget: int, after: bool) -> RunReport | None:
        """A poll killed at its (budget+1)-th email or ATS write, before or after it happened."""
        self.plan.arm(budget, after)
        report = self.run_poll()
        if report is not None:  # fewer effects than the budget: it simply completed
            self.check_completed_poll(report)
        return report

    def run_poll(self) -> RunReport | None:
        """One poll; None when the crash plan fired."""
        self.polls += 1
        self.allowed = self._in_stage_refs()
        try:
            return self.h.poll()
        except SimulatedCrash:
            return None
        finally:
            self.plan.disarm()

    # --- reading the sandbox's own records -----------------------------------------------

    def _in_stage_refs(self) -> frozenset[str]:
        """From the ATS's records: the invitation refs whose application is active in that stage."""
        wanted = {s.casefold() for s in self.h.settings.ats.interview_stages}
        with self.h.world.lock:
            gh = self.h.world.data["greenhouse"]
            refs = set()
            for app in gh["applications"].values():
                visit = gh["application_stages"].get(app["stage_id"])  # the current stage visit
                stage = gh["job_interview_stages"].get(visit["job_interview_stage_id"]) if visit else None
                if app["status"] == "in_process" and stage and stage["name"].casefold() in wanted:
                    refs.add(invitation_ref(str(app["id"]), str(stage["id"])))
        return frozenset(refs)

    def _free_slot(self, event_type_id: str, index: int) -> datetime | None:
        """The ``index``-th free start in the next two weeks (wrapping), as the booking page offers."""
        with self.h.world.lock:
            state = self.h.world.data["calendly"]
            et = state["event_types"][event_type_id]
            slots = sandbox_calendly._free_slots(state, et, self.now, self.now + timedelta(days=14), self.now)
        return slots[index % len(slots)] if slots else None

    def apps_with_link(self) -> dict[str, str]:
        """Applications whose ATS notes carry an unused booking link of ours → its event type."""
        found: dict[str, str] = {}
        with self.h.world.lock:
            state = self.h.world.data["calendly"]
            for app in APPS:
                link = sandbox_links.latest_link_for(self.h.world, state, app)
                if link is not None and state["links"][link[0]]["used"] < state["links"][link[0]]["max_event_count"]:
                    found[app] = state["links"][link[0]]["event_type"]
        return found

    def apps_booked(self) -> dict[str, str]:
        """Applications with an active booking in the scheduler → its event type."""
        found: dict[str, str] = {}
        with self.h.world.lock:
            state = self.h.world.data["calendly"]
            for app in APPS:
                invitee = sandbox_calendly._current_invitee(self.h.world, state, app)
                if invitee is not None:
                    found[app] = state["events"][invitee["event"]]["event_type"]
        return found

    def _scheduler_truth(self) -> tuple[Counter[str], Counter[str]]:
        """Per invitation ref, from the sandbox: bookings made (each reschedule is a new one) and
        real cancellations (not the old half of a reschedule)."""
        bookings: Counter[str] = Counter()
        cancels: Counter[str] = Counter()
        with self.h.world.lock:
            for invitee in self.h.world.data["calendly"]["invitees"].values():
                ref = invitee.get("utm_content")
                if not ref:
                    continue
                bookings[ref] += 1
                if invitee["status"] == "canceled" and not invitee["rescheduled"]:
                    cancels[ref] += 1
        return bookings, cancels

    def invitations(self) -> list[Invitation]:
        return self.h.ctx.db.invitations()

    # --- invariants ----------------------------------------------------------------------

    def check_always(self) -> None:
        self.check_no_message_twice()
        self.check_at_most_one_of_each_per_booking()
        self.check_nothing_to_candidates_after_leaving_the_stage()

    def check_no_message_twice(self) -> None:
        twice = [mid for mid, n in Counter(d.message_id for d in self.delivered).items() if n > 1]
        assert not twice, f"delivered more than once: {twice}"

    def check_at_most_one_of_each_per_booking(self) -> None:
        bookings, cancels = self._scheduler_truth()
        counts = Counter((d.ref, d.recipient, d.kind) for d in self.delivered)
        for (ref, recipient, kind), n in counts.items():
            limit = {
                "invite": 1,
                "relink": cancels[ref],
                "followup": 1 + cancels[ref],  # one per link generation
                "confirmation": bookings[ref],
                "hm_booking": bookings[ref],
                "reminder_candidate": bookings[ref],
                "reminder_hm": bookings[ref],
                "feedback_request": bookings[ref],
                "hm_cancel": cancels[ref],
            }.get(kind)
            if limit is not None:
                assert n <= limit, (f"{n} x {kind} to {recipient} for {ref}; the scheduler saw "
                                    f"{bookings[ref]} booking(s) and {cancels[ref]} cancellation(s)")

    def check_nothing_to_candidates_after_leaving_the_stage(self) -> None:
        for d in self.delivered:
            if d.kind in CANDIDATE_KINDS and d.poll == self.polls:
                assert d.ref in self.allowed, (
                    f"{d.kind} reached the candidate ({d.recipient}) for {d.ref} in poll {d.poll}, "
                    "after the application had left that stage")

    def check_completed_poll(self, report: RunReport) -> None:
        """After a poll that ran to its end, under the run lock, nothing may be left half-done."""
        now = self.now
        feedback_after = timedelta(hours=self.h.settings.policy.feedback_after_hours)
        for inv in self.invitations():
            where = f"{inv.ref} ({inv.state.value}) at {now.isoformat()}, last action {inv.last_action}"
            assert inv.state is not State.PENDING, f"still pending after a completed poll: {where}"
            if inv.state is State.INVITED:
                assert inv.deadline_at is not None and inv.deadline_at > now, \
                    f"booking deadline {inv.deadline_at} passed without a follow-up: {where}"
            if inv.state is State.FOLLOWED_UP:
                assert inv.followup_deadline_at is not None and inv.followup_deadline_at > now, \
                    f"follow-up deadline {inv.followup_deadline_at} passed without a flag: {where}"
            if inv.state is State.BOOKED and inv.interview_end is not None:
                assert now < inv.interview_end + feedback_after, f"interview over, no feedback request: {where}"
        rows = {row["key"]: row for row in self.h.ctx.db.outbox_rows()}
        # no run holds the lock now, so a `sending` row can only be a dead run's: it must have been found
        stale = [key for key, row in rows.items() if row["state"] == "sending"]
        assert not stale, f"left in `sending` by a crashed run and never turned into an alert: {stale}"
        alerts = [d for d in self.delivered if d.kind == "recruiter_alert"]

        def named(row: dict[str, Any], depth: int = 0) -> bool:
            """An alert a recruiter got names its kind and invitation — or names the unconfirmed
            alert that was about it."""
            if any(a.ref == row["ref"] and f"while sending {row['kind']};" in a.text for a in alerts):
                return True
            about = rows.get(f"{row['ref']}:alert:unknown:{row['key']}")
            return depth < 5 and about is not None and about["state"] == "unknown" and named(about, depth + 1)

        for key, row in rows.items():
            if row["state"] == "unknown":
                assert named(row), f"unconfirmed {row['kind']} ({key}) was never named in an alert a recruiter got"

    def check_settles(self) -> None:
        """Days of further polls: every invitation reaches booked, flagged, closed or needs_attention."""
        for _ in range(5):
            self.advance(3 * 24 * 60)
            self.poll()
            self.check_always()
        stuck = [(i.ref, i.state.value, i.last_action) for i in self.invitations() if i.state not in TERMINAL]
        assert not stuck, f"invitations that never settled: {stuck}"


class PollMachine(RuleBasedStateMachine):
    """Recruiters move applications, candidates book/cancel/reschedule, time jumps, polls run or crash."""

    def __init__(self) -> None:
        super().__init__()
        self.tmp = Path(tempfile.mkdtemp(prefix="interview-sync-props-"))
        self.s = Scenario(self.tmp)

    @initialize(stages=st.lists(st.sampled_from(STAGES[:2] * 3 + STAGES[2:]), min_size=len(APPS),
                                max_size=len(APPS)))
    def start(self, stages: list[str]) -> None:
        """A baseline poll (sends nothing); recruiters move applications (mostly into interview
        stages); the first real poll invites them."""
        report = self.s.run_poll()
        assert report is not None and not report.outcomes
        for app, stage in zip(APPS, stages):
            self.s.move(app, stage)
        self.s.advance(5)
        self.s.poll()

    # --- people --------------------------------------------------------------------------

    @rule(app=st.sampled_from(APPS), stage=st.sampled_from(STAGES))
    def move(self, app: str, stage: str) -> None:
        self.s.move(app, stage)

    @rule(app=st.sampled_from(APPS), status=st.sampled_from(("rejected", "in_process")))
    def set_status(self, app: str, status: str) -> None:
        self.s.set_status(app, status)

    @precondition(lambda self: bool(self.s.apps_with_link()))
    @rule(data=st.data(), slot=st.integers(0, 60))
    def book(self, data: st.DataObject, slot: int) -> None:
        self.s.book(data.draw(st.sampled_from(sorted(self.s.apps_with_link()))), slot)

    @precondition(lambda self: bool(self.s.apps_booked()))
    @rule(data=st.data(), by=st.sampled_from(("invitee", "host")))
    def cancel(self, data: st.DataObject, by: str) -> None:
        self.s.cancel(data.draw(st.sampled_from(sorted(self.s.apps_booked()))), by)

    @precondition(lambda self: bool(self.s.apps_booked()))
    @rule(data=st.data(), slot=st.integers(0, 60))
    def reschedule(self, data: st.DataObject, slot: int) -> None:
        self.s.reschedule(data.draw(st.sampled_from(sorted(self.s.apps_booked()))), slot)

    # --- time and the tool ---------------------------------------------------------------

    @rule(minutes=st.one_of(st.integers(1, 120), st.integers(120, 4 * 24 * 60)))
    def advance(self, minutes: int) -> None:
        self.s.advance(minutes)

    @rule(minutes=st.one_of(st.integers(1, 180), st.integers(180, 3 * 24 * 60)))
    def tick(self, minutes: int) -> None:
        """Time passes and the cron job runs: the common case, so it is its own rule."""
        self.s.advance(minutes)
        self.s.poll()

    @rule()
    def poll(self) -> None:
        self.s.poll()

    @rule(budget=st.integers(0, 6), after=st.booleans())
    def crash(self, budget: int, after: bool) -> None:
        self.s.crash(budget, after)

    @invariant()
    def always(self) -> None:
        self.s.check_always()

    def teardown(self) -> None:
        try:
            if sys.exc_info()[0] is None:  # judge how a run ends only if it did not already fail
                self.s.check_settles()
        finally:
            self.s.close()
            shutil.rmtree(self.tmp, ignore_errors=True)


# CI runs a fixed set of examples (derandomized), without shrinking, so a known failure is fast and
# the same on every run. To hunt for new failures with random examples and shrinking:
#   INTERVIEW_SYNC_EXPLORE=1 .venv/bin/pytest tests/test_properties.py -k Machine
EXPLORE = os.environ.get("INTERVIEW_SYNC_EXPLORE") == "1"
PollMachine.TestCase.settings = settings(
    max_examples=300 if EXPLORE else 30, stateful_step_count=40, deadline=None,
    derandomize=not EXPLORE, database=None if not EXPLORE else settings.default.database,
    phases=tuple(Phase) if EXPLORE else (Phase.explicit, Phase.generate),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
TestPollMachine = PollMachine.TestCase


# --- pinned scenarios: each failure the machine found, as a short deterministic test --------------


@pytest.fixture
def scenario(tmp_path: Path) -> Iterator[Scenario]:
    s = Scenario(tmp_path)
    report = s.run_poll()  # baseline
    assert report is not None and not report.outcomes
    try:
        yield s
    finally:
        s.close()


def _book_then_cancel(s: Scenario, app: str, *, wait_for_followup: bool) -> None:
    s.move(app, "Phone Screen")
    s.advance(5)
    s.poll()
    if wait_for_followup:
        s.advance(49 * 60)
        s.poll()
        assert s.invitations()[0].state is State.FOLLOWED_UP
    s.book(app, 3)
    s.advance(5)
    s.poll()
    assert s.invitations()[0].state is State.BOOKED
    s.advance(50 * 60)  # past the first link's booking deadline
    s.cancel(app)


def test_crash_after_the_invite_left_alerts_instead_of_resending(scenario: Scenario) -> None:
    scenario.move("17001", "Phone Screen")
    scenario.advance(5)
    assert scenario.crash(0, after=True) is None  # the invite reached Zoë; the run died before recording it
    scenario.advance(5)
    scenario.poll()
    scenario.check_always()
    assert [d.kind for d in scenario.delivered].count("invite") == 1
    (alert,) = [d for d in scenario.delivered if d.kind == "recruiter_alert"]
    assert "while sending invite;" in alert.text
    assert scenario.invitations()[0].state is State.INVITED


def test_a_relink_lost_in_a_crash_gets_its_own_deadline(scenario: Scenario) -> None:
    _book_then_cancel(scenario, "17001", wait_for_followup=False)
    assert scenario.crash(2, after=True) is None  # .ics CANCEL, ATS note, then the new link's email: killed
    scenario.advance(1)
    scenario.poll()  # settles the relink (its email is `unknown`, alerted)
    (inv,) = scenario.invitations()
    assert inv.deadline_at is not None and inv.deadline_at >= scenario.now + timedelta(hours=47), inv.deadline_at
    scenario.advance(1)
    scenario.poll()
    assert [d.kind for d in scenario.delivered].count("followup") == 0  # not two minutes after the new link


def test_a_relink_lost_in_a_crash_still_ends_in_a_follow_up_or_flag(scenario: Scenario) -> None:
    _book_then_cancel(scenario, "17001", wait_for_followup=True)
    assert scenario.crash(2, after=False) is None
    for _ in range(5):
        scenario.advance(2 * 24 * 60)
        scenario.run_poll()
    (inv,) = scenario.invitations()
    assert inv.state is State.FLAGGED, (inv.state, inv.last_action)  # new link: follow-up, then the flag


def test_a_crash_during_the_invite_note_is_found_and_alerted(scenario: Scenario) -> None:
    scenario.move("17001", "Phone Screen")
    scenario.advance(5)
    assert scenario.crash(1, after=False) is None  # the invite went out; killed before the ATS note
    scenario.advance(5)
    scenario.poll()  # check_completed_poll: no `sending` row may survive a completed poll
