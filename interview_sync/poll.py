"""One poll cycle: read ATS changes, read scheduler changes, fire due timers, act.

Cursors overlap and keys dedupe: each cursor is re-read from a few minutes
before its last value (our own ATS note bumps ``updated_at``; vendors' clocks
drift), and every effect is keyed, so re-reads are harmless. A cursor moves
to the run's start time only after everything read under it was handled.

Two instants per run: timers fire at ``ctx.clock`` (``poll --now`` moves it),
but read windows and cursors follow ``ctx.read_clock``, the real time at the
vendors. Were cursors stamped with a ``--now`` in the future, the next
real-time poll would ask only for changes after that instant and miss every
booking cancelled or stage moved in between.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from . import workflow as wf
from .clock import iso, parse_instant
from .context import Context
from .errors import VendorError
from .executor import Executor, Outcome, RunReport
from .invitation import Invitation, State, invitation_ref
from .lock import RunLock
from .models import Application, Booking
from .state import AppSnapshot

ATS_CURSOR = "ats"
SCHEDULER_CURSOR = "scheduler"


@dataclass
class PlannedAction:
    """What `--dry-run` shows: one line per action the real run would take."""

    application_id: str
    ref: str
    action: str
    detail: str


def snapshot_of(app: Application) -> AppSnapshot:
    return AppSnapshot(id=app.id, candidate_id=app.candidate_id, job_id=app.job_id, stage_id=app.stage_id,
                       stage_name=app.stage_name, status=app.status, updated_at=app.updated_at)


def lock_for(ctx: Context) -> RunLock:
    path = ctx.settings.state.path
    return RunLock(path.with_name(path.name + ".lock"))


class PollCycle:
    """The poll, parameterised by dry-run; one instance per run."""

    def __init__(self, ctx: Context, *, dry_run: bool = False, backfill: bool = False) -> None:
        self.ctx = ctx
        self.db = ctx.db
        self.dry_run = dry_run
        self.backfill = backfill
        self.report = RunReport()
        self.executor = Executor(ctx, self.report)
        self.plan: list[PlannedAction] = []
        self.policy = wf.Policy.from_settings(ctx.settings)
        self.now = ctx.clock.now()  # timers, workflow and audit times
        self.read_at = ctx.read_clock.now()  # vendor read windows and cursors
        self.stages = ctx.settings.ats.interview_stages
        self.acted: set[str] = set()  # refs already acted on in this cycle

    # --- helpers --------------------------------------------------------------------

    def _act(self, inv: Invitation, actions: list[wf.Action]) -> Invitation:
        if not actions:
            return inv
        self.acted.add(inv.ref)
        if self.dry_run:
            for action in actions:
                self.plan.append(PlannedAction(inv.application_id, inv.ref, action.kind, action.describe()))
            return inv
        return self.executor.run(inv, actions)

    def _since(self, name: str) -> datetime | None:
        """The cursor less the overlap; a cursor ahead of the read clock (stamped by an
        older ``poll --now`` in the future, or a clock set back) counts as now."""
        value = self.db.get_cursor(name)
        if not value:
            return None
        overlap = timedelta(minutes=self.ctx.settings.ats.overlap_minutes)
        return min(parse_instant(value), self.read_at) - overlap

    # --- the cycle ------------------------------------------------------------------

    def run(self) -> RunReport:
        if not self.dry_run:
            self.executor.recover_stranded()
        ats_ok = self._read_ats()
        sched_ok = self._read_scheduler()
        self._fire_timers()
        for bad in self.ctx.bad_records:
            self.report.errors.append(f"skipped a record: {bad}")
        if not self.dry_run:
            with self.db.transaction():
                if ats_ok:
                    self.db.set_cursor(ATS_CURSOR, iso(self.read_at))
                    self.db.mark_baselined(ATS_CURSOR)
                if sched_ok:
                    self.db.set_cursor(SCHEDULER_CURSOR, iso(self.read_at))
        return self.report

    def _read_ats(self) -> bool:
        first_run = not self.db.is_baselined(ATS_CURSOR)
        since = None if first_run else self._since(ATS_CURSOR)
        try:
            for app in self.ctx.ats.changed_applications(since):
                self._on_application(app, first_run)
        except VendorError as exc:
            self.report.errors.append(f"reading the ATS stopped: {exc}")
            return False
        return True

    def _on_application(self, app: Application, first_run: bool) -> None:
        previous = self.db.get_application(app.id)
        in_stage = wf.in_configured_stage(app, self.stages)
        entered = in_stage and (previous is None or previous.stage_id != app.stage_id
                                or previous.status not in ("in_process", "active"))
        if first_run:
            entered = in_stage and self.backfill
        for inv in self.db.invitations(application_id=app.id):
            if wf.closes_on_stage_exit(inv) and (inv.stage_id != app.stage_id or not app.active):
                self._act(inv, wf.on_stage_left(inv, app))
            elif not first_run:
                self.executor.apps[app.id] = app
                self._act(inv, wf.on_application_changed(inv, app))
        step = None
        if entered and app.stage_id is not None:
            existing = self.db.get_invitation(invitation_ref(app.id, app.stage_id))
            step = wf.on_stage_entered(app, existing, self.now)
        if self.dry_run:
            if step:
                self._act(step.invitation, step.actions)
            return
        with self.db.transaction():
            self.db.put_application(snapshot_of(app))
            if step:
                self.db.save_invitation(step.invitation)
                self.db.audit("stage_entered", at=self.now, ref=step.invitation.ref, application_id=app.id,
                              candidate_id=app.candidate_id, channel="ats", actor=self.ctx.actor,
                              detail=f"{app.stage_name} (stage changed {iso(step.invitation.stage_changed_at)})")
        if step:
            self.executor.apps[app.id] = app
            self._act(step.invitation, step.actions)

    def _read_scheduler(self) -> bool:
        since = self._since(SCHEDULER_CURSOR)
        try:
            bookings = sorted(self.ctx.scheduler.changed_bookings(since, self.read_at),
                              key=lambda b: (b.updated_at or b.created_at or self.now, b.status != "canceled"))
        except VendorError as exc:
            self.report.errors.append(f"reading the scheduler stopped: {exc}")
            return False
        for booking in bookings:
            inv = self._match(booking)
            if inv is not None:
                self._act(inv, wf.on_booking(inv, booking, self._still_in_stage(inv)))
        return True

    def _still_in_stage(self, inv: Invitation) -> bool:
        """Per the last ATS read: is the application still in the invitation's stage?"""
        snapshot = self.db.get_application(inv.application_id)
        if snapshot is None:
            return True
        return snapshot.stage_id == inv.stage_id and snapshot.status in ("in_process", "active")

    def _match(self, booking: Booking) -> Invitation | None:
        """By the reference we carried in the link; else by invitee email + host."""
        if booking.ref:
            inv = self.db.get_invitation(booking.ref)
            if inv is not None:
                return inv
        by_uri = self.db.find_by_booking(booking.uri)
        if by_uri is not None:
            return by_uri
        if booking.old_booking_uri:
            by_old = self.db.find_by_booking(booking.old_booking_uri)
            if by_old is not None:
                return by_old
        if booking.email and booking.host_email:
            candidates = [i for i in self.db.find_by_email_host(booking.email, booking.host_email)
                          if i.state is not State.CLOSED]
            if candidates:
                return max(candidates, key=lambda i: i.created_at)
        return None

    def _fire_timers(self) -> None:
        for inv in self.db.open_invitations():
            if inv.state is State.PENDING and inv.ref in self.acted:
                continue  # its invite just failed in this cycle: the retry belongs to the next poll
            self._act(inv, wf.due(inv, self.now, self.policy))


def run_poll(ctx: Context, *, dry_run: bool = False, backfill: bool = False) -> tuple[RunReport, list[PlannedAction]]:
    """Take the run lock (unless dry-run), run one cycle, return what happened."""
    cycle = PollCycle(ctx, dry_run=dry_run, backfill=backfill)
    if dry_run:
        return cycle.run(), cycle.plan
    with lock_for(ctx), ctx.transport:
        return cycle.run(), cycle.plan


def summarise(outcomes: Iterable[Outcome]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for outcome in outcomes:
        counts[f"{outcome.action}:{outcome.result}"] = counts.get(f"{outcome.action}:{outcome.result}", 0) + 1
    return counts
