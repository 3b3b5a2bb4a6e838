"""A recruiter's one-off `invite`: the library half (the CLI only parses and prints).

It runs under the run lock from the first write, so a poll never sees its
claim as stranded, and goes through the same planner and executor as a poll:
the invitation is recorded (``manual_invite`` / ``manual_resend``), then its
invite is planned and performed like any other.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import transitions as tr
from . import workflow as wf
from .clock import iso
from .context import Context
from .errors import ConfigError
from .executor import RunReport
from .invitation import Invitation, State, invitation_ref
from .planner import drive
from .poll import PollCycle, lock_for


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
