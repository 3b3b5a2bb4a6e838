"""`no-show`: record that a candidate missed a booked interview (the report's no-show rate).

The one outcome metric input that only a person can give. It runs under the
run lock like every other writer of the state database.
"""

from __future__ import annotations

from dataclasses import dataclass

from .clock import Clock, SystemClock
from .config import Settings
from .errors import ConfigError, InterviewSyncError
from .invitation import Invitation, State
from .lock import RunLock
from .models import Booking
from .scheduler.base import Scheduler
from .state import StateDB


@dataclass(frozen=True)
class NoShowResult:
    invitation: Invitation
    already_marked: bool
    scheduler_marked: bool
    scheduler_note: str  # what happened at the scheduler, for the person and the audit row


def _booking(inv: Invitation) -> Booking:
    """Enough of a Booking for ``Scheduler.mark_no_show`` (it needs the invitee/booking URI)."""
    assert inv.booking_ref is not None and inv.interview_start is not None
    return Booking(uri=inv.booking_ref, event_uri=inv.event_uri or "", ref=inv.ref,
                   email=inv.candidate_email or "", name=inv.candidate_name or "",
                   start=inv.interview_start, end=inv.interview_end or inv.interview_start,
                   status="active", host_email=inv.hm_email)


def no_show(settings: Settings, application_id: str, *, reason: str | None, actor: str,
            clock: Clock | None = None) -> NoShowResult:
    """`no-show` for a loaded config: its state database and scheduler, then :func:`record_no_show`."""
    from .context import build_scheduler

    clock = clock or SystemClock()
    scheduler = build_scheduler(settings, clock, lambda bad: None)  # the mark reads no listing
    db = StateDB.open(settings.state.path)
    try:
        return record_no_show(db, scheduler, clock, application_id, reason=reason, actor=actor)
    finally:
        db.close()


def record_no_show(db: StateDB, scheduler: Scheduler | None, clock: Clock, application_id: str, *,
                   reason: str | None, actor: str) -> NoShowResult:
    """Mark the application's latest past booked interview as a no-show, under the run lock.

    Local record first in importance: the report reads it. The scheduler is
    told too (so its own reporting agrees); if it refuses or is unreachable the
    local mark still stands and the audit row says so. Nothing else changes
    (no counters, no state), and a second call is a no-op.
    """
    if db.path == ":memory:":
        return _record(db, scheduler, clock, application_id, reason=reason, actor=actor)
    with RunLock(db.path):
        return _record(db, scheduler, clock, application_id, reason=reason, actor=actor)


def _record(db: StateDB, scheduler: Scheduler | None, clock: Clock, application_id: str, *,
            reason: str | None, actor: str) -> NoShowResult:
    now = clock.now()
    past = [inv for inv in db.invitations(application_id=application_id)
            if inv.state in (State.BOOKED, State.CLOSED) and inv.booked_at is not None
            and inv.interview_start is not None and inv.interview_start <= now]
    if not past:
        raise ConfigError(f"application {application_id} has no booked interview whose start time has passed",
                          f"check `interview-sync status {application_id}`; a no-show can be recorded once "
                          "the interview time has passed")
    inv = max(past, key=lambda i: i.interview_start or now)
    if inv.no_show:
        return NoShowResult(inv, already_marked=True, scheduler_marked=False, scheduler_note="already recorded")
    marked = False
    if inv.booking_ref is None:
        note = "no scheduler booking reference; recorded locally only"
    elif scheduler is None:
        note = "scheduler not configured; recorded locally only"
    else:
        try:
            scheduler.mark_no_show(_booking(inv))
            marked, note = True, "marked at the scheduler"
        except InterviewSyncError as exc:
            note = f"scheduler did not accept the mark ({exc.message}); recorded locally only"
    with db.transaction():
        inv.no_show = True
        inv.updated_at = now
        inv.last_action = "no_show"
        db.save_invitation(inv)
        db.audit("no_show", at=now, ref=inv.ref, application_id=inv.application_id,
                 candidate_id=inv.candidate_id, channel="scheduler", actor=actor,
                 detail=f"{reason or 'no-show command'}; {note}")
    return NoShowResult(inv, already_marked=False, scheduler_marked=marked, scheduler_note=note)
