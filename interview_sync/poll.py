"""One poll cycle: read ATS changes, read scheduler changes, fire due timers, act.

Cursors overlap and keys dedupe: each cursor is re-read from a few minutes
before its last value (our own ATS note bumps ``updated_at``; vendors' clocks
drift), and every effect is keyed, so re-reads are harmless. A cursor moves
to the run's start time only after everything read under it was handled.

A poll is bounded: each change listing reads at most ``max_pages`` pages and
the cycle stops between steps once ``poll.deadline_seconds`` have passed. A
listing stopped early keeps its cursor and saves the vendor's position of the
first unread page (``<cursor>:resume``) with the instant the listing began
(``<cursor>:started``); the next poll continues there, and when the listing
finally ends the cursor moves to that first instant, so nothing changed while
the listing spanned polls is skipped.

Two instants per run: timers fire at ``ctx.clock`` (``poll --now`` moves it),
but read windows and cursors follow ``ctx.read_clock``, the real time at the
vendors. Were cursors stamped with a ``--now`` in the future, the next
real-time poll would ask only for changes after that instant and miss every
booking cancelled or stage moved in between.

Each workflow action runs as reads first (enrichment, the outbox state of
its invite), then the planner's flow, whose steps the executor performs. A
dry run is the same cycle on a scratch copy of the state with effects that
only record: its plan is the list of steps a real run would perform, if
every effect succeeded (a dry run cannot know an SMTP refusal or a vendor
error on a write; it does make the reads, so enrichment alerts show).
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from . import workflow as wf
from .clock import iso, parse_instant
from .context import Context
from .errors import LocalIOError, RetryTooLate, VendorError
from .effects import RecordingEffects, VendorEffects
from .enrich import Enricher
from .executor import Executor, Outcome, RunReport
from .invitation import Invitation, State
from .lock import RunLock
from .mailbox import intake
from .mailbox.plan import on_mail
from .models import Application, Booking, BookingStatus
from .paging import Paging
from .planner import InviteReads, Planner, drive, invite_target
from .sms.host import PlannedHost, texted, texts_for
from .state import AppSnapshot, StateDB
from .steps import Performed

ATS_CURSOR = "ats"
SCHEDULER_CURSOR = "scheduler"
MAILBOX_CURSOR = "mailbox"
RESUME = ":resume"
STARTED = ":started"


@dataclass
class Listing:
    """How one change listing ended: ``done`` (the cursor may move), or paused
    with ``resume`` (the next poll continues there), or neither (it failed)."""

    done: bool = False
    resume: str | None = None
    failed_at_start: bool = False  # the saved resume position itself was refused


Progress = Callable[[int], None]
"""Told the running count of applications a first run has read: a baseline over
tens of thousands of applications takes minutes, and silence looks like a hang."""


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

    def __init__(self, ctx: Context, *, dry_run: bool = False, backfill: bool = False,
                 timer: Callable[[], float] = time.monotonic, progress: Progress | None = None) -> None:
        """``timer`` measures the poll deadline (monotonic seconds; injectable for tests)."""
        self.ctx = ctx
        self.timer = timer
        self.progress = progress
        self.started = timer()
        self.deadline = ctx.settings.poll.deadline_seconds
        self.stop_reason = ""  # why the cycle stopped before its last step
        self.dry_run = dry_run
        self.db = scratch_copy(ctx.db) if dry_run else ctx.db
        self.backfill = backfill
        self.report = RunReport()
        self.now = ctx.clock.now()  # timers, workflow and audit times
        self.apps: dict[str, Application] = {}  # this run's listing records, reused by enrichment
        self.planner = Planner(ctx.settings, wf.Policy.from_settings(ctx.settings), self.now,
                               getattr(ctx.ats, "application_url", None))
        self.enricher = Enricher(ctx.settings, self.planner.policy, ctx.ats, ctx.scheduler, self.db, self.now,
                                 self.apps)
        effects = RecordingEffects() if dry_run else VendorEffects(ctx, self.apps)
        self.executor = Executor(self.db, ctx.clock, effects, self.report, ctx.actor)
        # texts (issue 14): off in a dry run, whose plan then shows the email each text falls back to
        self.texts = texts_for(ctx) if not dry_run else None
        self.text_host = PlannedHost(ctx, self.db, self.executor, self.planner)
        if self.texts is not None:
            self.executor.texts = self.text_host.text_handler(self.texts)
        self.read_at = ctx.read_clock.now()  # vendor read windows and cursors
        self.stages = ctx.settings.ats.interview_stages
        self.acted: set[str] = set()  # refs already acted on in this cycle
        self.first_run = False  # decided under the run lock, in _read_ats
        self.read = 0  # applications read from the ATS in this cycle

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
        if prior not in ("sent", "unknown") and texted(self.db, inv.ref, target.key):
            prior = "sent"  # a text-only route reached the candidate (or holds the text for their morning)
        if prior in ("sent", "unknown") or not target.needs_link:
            return InviteReads(prior)
        return InviteReads(prior, self.enricher.read(inv))

    def expired(self) -> bool:
        return self.timer() - self.started >= self.deadline

    def _go_on(self, step: str) -> bool:
        """Between steps: False (and one line saying so) once the cycle must stop."""
        if not self.stop_reason and self.expired():
            self.stop_reason = (f"poll stopped at its deadline (poll.deadline_seconds = {self.deadline:g}) "
                                f"before {step}; what was done is saved and the next poll continues")
            self.report.errors.append(self.stop_reason)
        return not self.stop_reason

    def _paging(self, name: str, max_pages: int) -> Paging:
        return Paging.budget(max_pages, self.db.get_cursor(name + RESUME), self.expired)

    def _listing_now(self, name: str) -> datetime:
        """The instant the listing began: this run, or the earlier poll a paused listing started in."""
        started = self.db.get_cursor(name + STARTED)
        return parse_instant(started) if started and self.db.get_cursor(name + RESUME) else self.read_at

    def _paused(self, listing: Listing, paging: Paging, vendor: str, what: str, key: str) -> Listing:
        """Say why a listing stopped early; a page-cap pause is routine (a notice), a deadline is not."""
        listing.resume = paging.resume
        if paging.stopped == "page cap":
            self.report.notices.append(f"{vendor}: read {paging.pages} pages of {what}, the cap ({key} = "
                                       f"{paging.max_pages}); the next poll continues from there")
        elif paging.stopped == "deadline":
            self._go_on(f"reading all {what}")
        return listing

    def _settle(self, name: str, listing: Listing) -> None:
        """Move the cursor for a finished listing, save the position of a paused one."""
        if listing.done:
            self.db.set_cursor(name, iso(self._listing_now(name)))
            self.db.set_cursor(name + RESUME, "")
        elif listing.resume:
            self.db.set_cursor(name + STARTED, iso(self._listing_now(name)))
            self.db.set_cursor(name + RESUME, listing.resume)
        elif listing.failed_at_start:
            self.db.set_cursor(name + RESUME, "")  # a stale position: start the listing over (cursor unchanged)

    def _read_failed(self, what: str, exc: VendorError, paging: Paging) -> Listing:
        self.report.errors.append(f"reading {what} stopped: {exc}")
        if isinstance(exc, RetryTooLate):
            self.stop_reason = str(exc)  # the vendor asked us to go away: end the cycle now
        return Listing(failed_at_start=bool(paging.start) and paging.pages == 0)

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
        self._recover_stranded()
        ats = self._read_ats()
        sched = self._read_scheduler() if self._go_on("reading the scheduler") else Listing()
        if self.texts is not None and self._go_on("reading text messages"):
            self._read_texts()  # before any timer fires: a STOP read now holds back this poll's texts
        mail_cursor = self._read_mailbox() if self.ctx.mailbox and self._go_on("reading the mailbox") else None
        if self._go_on("firing due timers"):
            self._fire_timers()
        for bad in self.ctx.bad_records:
            self.report.errors.append(f"skipped a record: {bad}")
        with self.db.transaction():  # a dry run's copy: thrown away
            self._settle(ATS_CURSOR, ats)
            if ats.done:
                self.db.mark_baselined(ATS_CURSOR)
                if self.first_run:
                    self.report.baseline = self.read
            self._settle(SCHEDULER_CURSOR, sched)
            if mail_cursor:
                self.db.set_cursor(MAILBOX_CURSOR, mail_cursor)
        return self.report

    def _recover_stranded(self) -> None:
        """Rows a killed run left in ``sending`` become ``unknown``, each alerted
        (DESIGN: a crash between claim and record alerts instead of resending)."""
        for row in self.db.stranded_rows():
            inv = self.db.get_invitation(row["ref"])
            if inv is not None:
                drive(self.planner.settle(inv, row), self.executor.perform)

    def _read_ats(self) -> Listing:
        self.first_run = not self.db.is_baselined(ATS_CURSOR)
        since = None if self.first_run else self._since(ATS_CURSOR)
        paging = self._paging(ATS_CURSOR, self.ctx.settings.ats.max_pages)
        try:
            for app in self.ctx.ats.changed_applications(since, paging):
                if self.expired():  # mid-page: the next poll re-reads this page (keys dedupe)
                    self._go_on("reading all changed applications")
                    return Listing(resume=paging.current)
                self._on_application(app, self.first_run)
                self.read += 1
                if self.first_run and self.progress is not None:
                    self.progress(self.read)
        except VendorError as exc:
            return self._read_failed("the ATS", exc, paging)
        if paging.resume:
            return self._paused(Listing(), paging, self.ctx.ats.name, "changed applications", "ats.max_pages")
        return Listing(done=True)

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

    def _read_scheduler(self) -> Listing:
        since = self._since(SCHEDULER_CURSOR)
        paging = self._paging(SCHEDULER_CURSOR, self.ctx.settings.scheduler.max_pages)
        try:
            bookings = sorted(self.ctx.scheduler.changed_bookings(since, self._listing_now(SCHEDULER_CURSOR),
                                                                  paging),
                              key=lambda b: (b.updated_at or b.created_at or self.now,
                                             b.status is not BookingStatus.CANCELED))
        except VendorError as exc:
            return self._read_failed("the scheduler", exc, paging)
        for booking in bookings:
            if not self._go_on("handling every booking read"):
                return Listing()  # the same pages are read again next poll
            inv = self._match(booking)
            if inv is not None:
                in_stage = wf.still_in_stage(inv, self.db.get_application(inv.application_id))
                self.act(inv, wf.on_booking(inv, booking, in_stage))
        if paging.resume:
            return self._paused(Listing(), paging, self.ctx.scheduler.name, "changed bookings", "scheduler.max_pages")
        return Listing(done=True)

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

    def _read_mailbox(self) -> str | None:
        """Bounces and replies since the mailbox cursor, each matched to our own Message-IDs
        and acted on once (keys per message). Before the timers, so a reply read now holds
        a follow-up that is due now. Returns the cursor to store, or None to read the same
        messages again next poll (a read or a handler failed)."""
        assert self.ctx.mailbox is not None
        try:
            batch = self.ctx.mailbox.read(self.db.get_cursor(MAILBOX_CURSOR), self.read_at)
        except VendorError as exc:
            self.report.errors.append(f"reading the mailbox stopped: {exc}")
            return None
        errors = len(self.report.errors)
        for item in batch.mails:
            if not self._go_on("handling every message read from the mailbox"):
                return None
            matched = intake.match(self.db, item.raw)
            if matched is not None:
                inv, event = matched
                # re-read in a later poll's window: an action whose key is settled was carried out
                self.act(inv, [a for a in on_mail(inv, event) if self.db.outbox_state(a.key) in (None, "failed")])
        return batch.cursor if len(self.report.errors) == errors else None

    def _fire_timers(self) -> None:
        for inv in self.db.open_invitations():
            if not self._go_on("firing every due timer"):
                return  # timers need no cursor: the rest fire next poll
            if inv.state is State.PENDING and inv.ref in self.acted:
                continue  # its invite just failed in this cycle: the retry belongs to the next poll
            self.act(inv, wf.due(inv, self.now, self.planner.policy))
        if self.texts is not None:
            self.texts.flush(self.text_host)  # texts that waited out quiet hours

    def _read_texts(self) -> None:
        """Delivery status and replies; a provider outage is reported and retried next poll."""
        assert self.texts is not None
        try:
            self.texts.read(self.text_host)
        except VendorError as exc:
            self.report.errors.append(f"reading text messages failed: {exc}")


def run_poll(ctx: Context, *, dry_run: bool = False, backfill: bool = False,
             timer: Callable[[], float] = time.monotonic,
             progress: Progress | None = None) -> tuple[RunReport, list[PlannedAction]]:
    """Take the run lock (unless dry-run), run one cycle, return what happened.

    A dry run returns its plan (every step, in order) and a report with only its
    errors and notices: nothing was sent, so there are no outcomes and no alerts."""
    with local_failures(ctx):
        if dry_run:
            cycle = PollCycle(ctx, dry_run=True, backfill=backfill, timer=timer, progress=progress)
            try:
                report = cycle.run()
            finally:
                cycle.db.close()
            return RunReport(errors=report.errors, notices=report.notices, baseline=report.baseline), \
                report.performed
        with lock_for(ctx), ctx.transport:
            return PollCycle(ctx, backfill=backfill, timer=timer, progress=progress).run(), []


@contextmanager
def local_failures(ctx: Context) -> Iterator[None]:
    """A disk that fails under the poll (SQLite I/O error, full disk, read-only file) ends it
    with one line naming the path (exit 2), not a traceback. The state stays consistent:
    each step's transaction rolled back, an interrupted send is left to the outbox's crash
    path, and the cursors did not move, so the next poll picks up where this one stopped."""
    try:
        yield
    except sqlite3.Error as exc:
        raise ctx.db.explain(exc) from None
    except OSError as exc:
        if exc.filename is None:  # not a file-system error (sockets have their own handling)
            raise
        raise LocalIOError.from_os_error(exc, exc.filename) from None


def summarise(outcomes: Iterable[Outcome]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for outcome in outcomes:
        counts[f"{outcome.action}:{outcome.result}"] = counts.get(f"{outcome.action}:{outcome.result}", 0) + 1
    return counts
