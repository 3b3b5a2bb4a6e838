"""A recruiter's one-offs, `invite` and `no-show`: the library half (the CLI only parses and prints).

Both run under the run lock from the first write, so a poll never sees an
invite's claim as stranded nor saves an invitation over a no-show mark. An
invite goes through the same planner and executor as a poll: the invitation
is recorded (``manual_invite`` / ``manual_resend``), then its invite is
planned and performed like any other.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import transitions as tr
from . import workflow as wf
from .clock import Clock, iso
from .context import Context
from .errors import ConfigError, InterviewSyncError
from .executor import RunReport
from .invitation import Invitation, State, invitation_ref
from .models import Booking
from .planner import drive
from .poll import PollCycle, lock_for
from .scheduler.base import Scheduler
from .state import StateDB


@dataclass
class ManualInvite:
    """``done`` with the run's report; or ``already`` / ``would`` with the invitation's ref."""

    status: str
    ref: str
    stage_name: str | None = None
    existing: Invitation | None = None
    report: RunReport | None = None


def invite_application(ctx: Context, application_id: str, *, resend: bool, reason: str | None,
                       dry_run: bool = False) -> ManualInvite:
    """Invite (or with ``resend``, invite again) one application now."""
    if resend and not reason:
        raise ConfigError("--resend needs --reason", "say why, e.g. --reason \"candidate corrected email\"")
    app = ctx.ats.get_application(application_id)
    if not wf.in_configured_stage(app, ctx.settings.ats.interview_stages) or app.stage_id is None:
        raise ConfigError(f"application {application_id} is in stage {app.stage_name!r} ({app.status}), not a "
                          "configured interview stage", "move it in the ATS, or add the stage to "
                          "ats.interview_stages")
    ref = invitation_ref(app.id, app.stage_id)
    existing = ctx.db.get_invitation(ref)
    if existing is not None and resend and existing.state is State.BOOKED:
        raise ConfigError(f"application {application_id} is booked for "
                          f"{iso(existing.interview_start) if existing.interview_start else 'an interview'}; "
                          "a new link would orphan that booking",
                          "cancel or reschedule it in the scheduler; the next poll sends a new link")
    if existing is not None and not resend:
        return ManualInvite("already", ref, app.stage_name, existing)
    if dry_run:
        return ManualInvite("would", ref, app.stage_name, existing)
    with lock_for(ctx), ctx.transport:  # never beside a poll: it would see our claim as stranded
        cycle = PollCycle(ctx)
        cycle.apps[app.id] = app
        if existing is None:
            step = wf.on_stage_entered(app, None, cycle.now)
            assert step is not None
            inv, event = tr.manual(step.invitation), "manual_invite"
        else:
            inv, event = tr.resent(existing), "manual_resend"
        inv = drive(cycle.planner.record(inv, event, reason or "invite command"), cycle.executor.perform)
        cycle.act(inv, [wf.Action(wf.INVITE, inv.ref, f"{inv.ref}:invite:{inv.link_generation}")])
    return ManualInvite("done", ref, app.stage_name, existing, cycle.report)


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


def record_no_show(db: StateDB, scheduler: Scheduler | None, clock: Clock, application_id: str, *,
                   reason: str | None, actor: str) -> NoShowResult:
    """Mark the application's latest past booked interview as a no-show.

    Local record first in importance: the report reads it. The scheduler is
    told too (so its own reporting agrees); if it refuses or is unreachable the
    local mark still stands and the audit row says so. Nothing else changes
    (no counters, no state), and a second call is a no-op.
    """
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
    inv = tr.copy(tr.marked_no_show(inv), updated_at=now, last_action="no_show")
    with db.transaction():
        db.save_invitation(inv)
        db.audit("no_show", at=now, ref=inv.ref, application_id=inv.application_id,
                 candidate_id=inv.candidate_id, channel="scheduler", actor=actor,
                 detail=f"{reason or 'no-show command'}; {note}")
    return NoShowResult(inv, already_marked=False, scheduler_marked=marked, scheduler_note=note)


def mark_no_show(ctx: Context, application_id: str, *, reason: str | None) -> NoShowResult:
    """`interview-sync no-show`: :func:`record_no_show` under the run lock."""
    with lock_for(ctx):
        return record_no_show(ctx.db, ctx.scheduler, ctx.clock, application_id, reason=reason, actor=ctx.actor)
