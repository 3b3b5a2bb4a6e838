"""One poll cycle: read ATS changes, read scheduler changes, fire due timers, act.

Cursors overlap and keys dedupe: each cursor is re-read from a few minutes
before its last value (our own ATS note bumps ``updated_at``; vendors' clocks
drift), and every effect is keyed, so re-reads are harmless. A cursor moves
to the run's start time only after everything read under it was handled.

Each workflow action runs as reads first (enrichment, the outbox state of
its invite), then the planner's flow, whose steps the executor performs. A
dry run is the same cycle on a scratch copy of the state with effects that
only record: its plan is the list of steps a real run would perform, if
every effect succeeded (a dry run cannot know an SMTP refusal or a vendor
error on a write; it does make the reads, so enrichment alerts show).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from datetime import datetime, timedelta

from . import workflow as wf
from .clock import iso, parse_instant
from .context import Context
from .effects import RecordingEffects, VendorEffects
from .enrich import Enricher
from .errors import VendorError
from .executor import Executor, Outcome, RunReport
from .invitation import Invitation, State
from .lock import RunLock
from .models import Application, Booking
from .planner import InviteReads, Planner, drive, invite_target
from .state import AppSnapshot, StateDB
from .steps import Performed

ATS_CURSOR = "ats"
SCHEDULER_CURSOR = "scheduler"

PlannedAction = Performed  # what `--dry-run` shows: one line per step the real run would take


def snapshot_of(app: Application) -> AppSnapshot:
    return AppSnapshot(id=app.id, candidate_id=app.candidate_id, job_id=app.job_id, stage_id=app.stage_id,
                       stage_name=app.stage_name, status=app.status, updated_at=app.updated_at)


def lock_for(ctx: Context) -> RunLock:
    path = ctx.settings.state.path
    return RunLock(path.with_name(path.name + ".lock"))


def scratch_copy(db: StateDB) -> StateDB:
    """A private in-memory copy of the state, for a dry run to plan against and throw away."""
    conn = sqlite3.connect(":memory:", isolation_level=None)
    db.conn.backup(conn)
    return StateDB(conn, path=":memory:", readonly=False, clock=db.clock)


class PollCycle:
    """The poll; one instance per run. A dry run gets a scratch state and recording effects."""

    def __init__(self, ctx: Context, *, dry_run: bool = False, backfill: bool = False) -> None:
        self.ctx = ctx
        self.dry_run = dry_run
        self.db = scratch_copy(ctx.db) if dry_run else ctx.db
        self.backfill = backfill
        self.report = RunReport()
        self.now = ctx.clock.now()
        self.apps: dict[str, Application] = {}  # this run's listing records, reused by enrichment
        self.planner = Planner(ctx.settings, wf.Policy.from_settings(ctx.settings), self.now)
        self.enricher = Enricher(ctx.settings, self.planner.policy, ctx.ats, ctx.scheduler, self.now, self.apps)
        effects = RecordingEffects() if dry_run else VendorEffects(ctx, self.apps)
        self.executor = Executor(self.db, ctx.clock, effects, self.report, ctx.actor)
        self.stages = ctx.settings.ats.interview_stages
        self.acted: set[str] = set()  # refs already acted on in this cycle

    # --- helpers --------------------------------------------------------------------

    def act(self, inv: Invitation, actions: list[wf.Action]) -> Invitation:
        """Reads first, then the planner's steps, each performed as it comes."""
        if actions:
            self.acted.add(inv.ref)
        for action in actions:
            inv = drive(self.planner.flow(inv, action, self._reads(inv, action)), self.executor.perform)
        return inv

    def _reads(self, inv: Invitation, action: wf.Action) -> InviteReads | None:
        target = invite_target(inv, action)
        if target is None:
            return None
        prior = self.db.outbox_state(target.key)
        if prior in ("sent", "unknown") or not target.needs_link:
            return InviteReads(prior)
        return InviteReads(prior, self.enricher.read(inv))

    def _since(self, name: str) -> datetime | None:
        value = self.db.get_cursor(name)
        if not value:
            return None
        overlap = timedelta(minutes=self.ctx.settings.ats.overlap_minutes)
        return parse_instant(value) - overlap

    # --- the cycle ------------------------------------------------------------------

    def run(self) -> RunReport:
        self._recover_stranded()
        ats_ok = self._read_ats()
        sched_ok = self._read_scheduler()
        self._fire_timers()
        for bad in self.ctx.bad_records:
            self.report.errors.append(f"skipped a record: {bad}")
        with self.db.transaction():
            if ats_ok:
                self.db.set_cursor(ATS_CURSOR, iso(self.now))
                self.db.mark_baselined(ATS_CURSOR)
            if sched_ok:
                self.db.set_cursor(SCHEDULER_CURSOR, iso(self.now))
        return self.report

    def _recover_stranded(self) -> None:
        """Rows a killed run left in ``sending`` become ``unknown``, each alerted
        (DESIGN: a crash between claim and record alerts instead of resending)."""
        for row in self.db.stranded_rows():
            inv = self.db.get_invitation(row["ref"])
            if inv is not None:
                drive(self.planner.settle(inv, row), self.executor.perform)

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
        entered = wf.stage_entered(app, self.db.get_application(app.id), self.stages,
                                   first_run=first_run, backfill=self.backfill)
        for inv in self.db.invitations(application_id=app.id):
            if wf.closes_on_stage_exit(inv) and (inv.stage_id != app.stage_id or not app.active):
                self.act(inv, wf.on_stage_left(inv, app))
            elif not first_run:
                self.apps[app.id] = app
                self.act(inv, wf.on_application_changed(inv, app))
        step = None
        if entered and app.stage_id is not None:
            step = wf.on_stage_entered(app, self.db.get_invitation(wf.ref_of(app)), self.now)
        if step is None:
            with self.db.transaction():
                self.db.put_application(snapshot_of(app))
            return
        detail = f"{app.stage_name} (stage changed {iso(step.invitation.stage_changed_at)})"
        inv = drive(self.planner.enter(step.invitation, snapshot_of(app), detail), self.executor.perform)
        self.apps[app.id] = app
        self.act(inv, step.actions)

    def _read_scheduler(self) -> bool:
        since = self._since(SCHEDULER_CURSOR)
        try:
            bookings = sorted(self.ctx.scheduler.changed_bookings(since, self.now),
                              key=lambda b: (b.updated_at or b.created_at or self.now, b.status != "canceled"))
        except VendorError as exc:
            self.report.errors.append(f"reading the scheduler stopped: {exc}")
            return False
        for booking in bookings:
            inv = self._match(booking)
            if inv is not None:
                in_stage = wf.still_in_stage(inv, self.db.get_application(inv.application_id))
                self.act(inv, wf.on_booking(inv, booking, in_stage))
        return True

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
            self.act(inv, wf.due(inv, self.now, self.planner.policy))


def run_poll(ctx: Context, *, dry_run: bool = False, backfill: bool = False) -> tuple[RunReport, list[PlannedAction]]:
    """Take the run lock (unless dry-run), run one cycle, return what happened.

    A dry run returns its plan (every step, in order) and a report with only its
    errors: nothing was sent, so there are no outcomes and no alerts."""
    cycle = PollCycle(ctx, dry_run=dry_run, backfill=backfill)
    if dry_run:
        try:
            report = cycle.run()
        finally:
            cycle.db.close()
        return RunReport(errors=report.errors), report.performed
    with lock_for(ctx), ctx.transport:
        return cycle.run(), []


def summarise(outcomes: Iterable[Outcome]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for outcome in outcomes:
        counts[f"{outcome.action}:{outcome.result}"] = counts.get(f"{outcome.action}:{outcome.result}", 0) + 1
    return counts
