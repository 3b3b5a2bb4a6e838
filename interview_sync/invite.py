"""`invite`: a recruiter's one-off invitation for one application, run like a poll step.

It takes the run lock before it reads or writes anything, so it never runs
beside a poll (which would see its outbox claim as stranded, or race it to
the same invitation), and it changes state only through the workflow and the
planner: a new invitation is planned by the workflow's stage-entry rule, a
resend is the planner's retry flow.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from . import transitions as tr
from . import workflow as wf
from .clock import iso
from .context import Context
from .errors import ConfigError
from .executor import RunReport
from .invitation import Invitation, State, invitation_ref
from .lock import RunLock
from .models import Application
from .planner import drive
from .poll import PollCycle


class InviteResult(Enum):
    RAN = "ran"  # the invitation ran; the report says how it went
    ALREADY_INVITED = "already_invited"  # nothing sent: an invitation exists and no --resend
    WOULD_SEND = "would_send"  # dry run, no invitation yet
    WOULD_RESEND = "would_resend"  # dry run, --resend of an existing one


@dataclass
class Invited:
    result: InviteResult
    application: Application
    ref: str
    existing: Invitation | None = None
    report: RunReport = field(default_factory=RunReport)


def invite(ctx: Context, application_id: str, *, resend: bool = False, reason: str | None = None,
           dry_run: bool = False) -> Invited:
    """Invite one application now (or say why not); a dry run changes nothing and takes no lock."""
    if resend and not reason:
        raise ConfigError("--resend needs --reason", "say why, e.g. --reason \"candidate corrected email\"")
    if dry_run:
        return _decide(ctx, application_id, resend=resend, dry_run=True)
    with RunLock(ctx.settings.state.path):
        decided = _decide(ctx, application_id, resend=resend, dry_run=False)
        if decided.result is InviteResult.RAN:
            with ctx.transport:
                _run(ctx, decided, reason)
        return decided


def _decide(ctx: Context, application_id: str, *, resend: bool, dry_run: bool) -> Invited:
    app = ctx.ats.get_application(application_id)
    if not wf.in_configured_stage(app, ctx.settings.ats.interview_stages) or app.stage_id is None:
        raise ConfigError(f"application {application_id} is in stage {app.stage_name!r} ({app.status}), "
                          "not a configured interview stage",
                          "move it in the ATS, or add the stage to ats.interview_stages")
    ref = invitation_ref(app.id, app.stage_id)
    existing = ctx.db.get_invitation(ref)
    if existing is not None and resend and existing.state is State.BOOKED:
        when = iso(existing.interview_start) if existing.interview_start else "an interview"
        raise ConfigError(f"application {application_id} is booked for {when}; a new link would orphan that booking",
                          "cancel or reschedule it in the scheduler; the next poll sends a new link")
    if existing is not None and not resend:
        return Invited(InviteResult.ALREADY_INVITED, app, ref, existing)
    if dry_run:
        return Invited(InviteResult.WOULD_RESEND if existing else InviteResult.WOULD_SEND, app, ref, existing)
    return Invited(InviteResult.RAN, app, ref, existing)


def _run(ctx: Context, decided: Invited, reason: str | None) -> None:
    """The manual audit row first (who asked and why), then the planned actions, through the
    same planner and executor as a poll."""
    cycle = PollCycle(ctx)
    cycle.apps[decided.application.id] = decided.application
    if decided.existing is None:
        step = wf.on_stage_entered(decided.application, None, cycle.now)
        assert step is not None  # in a configured stage, with a stage id: checked above
        inv, actions, event = step.invitation, step.actions, "manual_invite"
    else:
        inv, event = decided.existing, "manual_resend"
        actions = [wf.Action(wf.RETRY, inv.ref, f"{inv.ref}:retry:{inv.link_generation + 1}",
                             reason=f"resent by hand: {reason}")]
    inv = tr.copy(tr.manual(inv), updated_at=cycle.now)
    inv = drive(cycle.planner.record(inv, event, reason or "invite command"), cycle.executor.perform)
    cycle.act(inv, actions)
    decided.report = cycle.report
