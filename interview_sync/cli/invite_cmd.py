"""`interview-sync invite` and `no-show`: a recruiter's one-offs on one application.

Parsing and printing only: :mod:`interview_sync.invite` and
:mod:`interview_sync.no_show` do the work, under the run lock.
"""

from __future__ import annotations

from typing import Optional

import typer

from ..errors import ExitStatus
from ..invite import InviteResult, invite as run_invite
from . import base, render
from .base import G, app, exit_for, handles_errors, outcome_rows, settings


@app.command()
@handles_errors
def invite(
    application_id: str = typer.Argument(..., help="The ATS application id."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Show what would happen; send nothing."),
    resend: bool = typer.Option(False, "--resend", help="Invite again even if already invited (needs --reason)."),
    reason: Optional[str] = typer.Option(None, "--reason", help="Why (recorded in the audit log)."),
) -> None:
    """A recruiter's one-off: run the invitation for one application now."""
    from ..context import os_user

    ctx = base.context(settings())
    ctx.actor = f"user:{os_user()}"
    try:
        done = run_invite(ctx, application_id, resend=resend, reason=reason, dry_run=dry_run)
    finally:
        ctx.close()
    if done.result is InviteResult.ALREADY_INVITED:
        assert done.existing is not None
        render.info(f"{application_id}: already invited ({done.existing.state}, ref {done.ref}); "
                    "use --resend --reason to send again")
        return
    if done.result is not InviteResult.RAN:
        verb = "re-send" if done.result is InviteResult.WOULD_RESEND else "send"
        render.info(f"{application_id}: would {verb} an invitation for {done.application.stage_name!r} "
                    f"(ref {done.ref})")
        return
    if not G.quiet:
        render.table("Invite", ["application", "action", "result", "recipient", "detail"], outcome_rows(done.report))
    exit_for(done.report)


@app.command("no-show")
@handles_errors
def no_show(
    application_id: str = typer.Argument(..., help="The ATS application id."),
    reason: Optional[str] = typer.Option(None, "--reason", help="Context for the audit log."),
) -> None:
    """Record that the candidate did not attend a booked interview (feeds the no-show rate)."""
    from ..context import os_user
    from ..no_show import no_show as mark_no_show

    result = mark_no_show(settings(), application_id, reason=reason, actor=f"user:{os_user()}")
    start = result.invitation.interview_start
    when = f"{start:%Y-%m-%d %H:%M} UTC" if start else "?"
    if result.already_marked:
        render.info(f"{application_id}: the interview of {when} is already recorded as a no-show", G.quiet)
        return
    render.info(f"{application_id}: no-show recorded for the interview of {when} ({result.scheduler_note})",
                G.quiet)
    if not result.scheduler_marked and result.invitation.booking_ref is not None:
        raise typer.Exit(int(ExitStatus.NEEDS_ATTENTION))
