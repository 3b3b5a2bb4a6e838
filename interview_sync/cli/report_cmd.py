"""`interview-sync report` (the outcome metrics) and `no-show` (the one input they need from a person)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, tzinfo
from pathlib import Path
from typing import Optional
from zoneinfo import ZoneInfo

import typer

from ..clock import Clock, SystemClock, parse_instant
from ..errors import ConfigError, ExitStatus, InterviewSyncError, LocalIOError
from ..invitation import Invitation, State
from ..models import Booking
from ..private_files import write_private_text
from ..scheduler.base import Scheduler
from ..state import StateDB
from . import render
from .app import G, app, handles_errors, settings


def _instant(text: str, option: str) -> datetime:
    try:
        return parse_instant(text)
    except ValueError as exc:
        raise ConfigError(f"{option} {text!r}: {exc}", "write an ISO 8601 instant, e.g. 2026-11-24T09:00:00Z") from None


def _since(text: Optional[str], tz: tzinfo) -> datetime | None:
    """A date is midnight in the report's time zone (the weeks are cut there too); an
    instant with an offset is taken as written."""
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ConfigError(f"--since {text!r} is not a date", "write YYYY-MM-DD or an ISO 8601 instant") from None
    if value.tzinfo is None:
        value = datetime.combine(value.date(), time(0), tzinfo=tz) if len(text.strip()) <= 10 \
            else value.replace(tzinfo=tz)
    return value


@app.command()
@handles_errors
def report(
    since: Optional[str] = typer.Option(None, "--since", help="Only stage changes from this date (YYYY-MM-DD, "
                                        "midnight in policy.timezone) or ISO 8601 instant."),
    weeks: Optional[int] = typer.Option(None, "--weeks", min=1, help="Only the last N ISO weeks, the current "
                                        "one included."),
    json_out: bool = typer.Option(False, "--json", help="Machine-readable output."),
    html: Optional[Path] = typer.Option(None, "--html", help="Also write a self-contained HTML page with a "
                                        "weekly chart per metric."),
    now: Optional[str] = typer.Option(None, "--now", help="Evaluate as of this ISO 8601 instant (replay, tests)."),
) -> None:
    """Outcome metrics per ISO week and overall, with the targets beside them."""
    from ..report import WEEKLY_COLUMNS, compute_report, fmt_mark, summary_rows, weekly_rows, window_start

    cfg = settings()
    tz = ZoneInfo(cfg.policy.timezone)
    at = _instant(now, "--now") if now else SystemClock().now()
    since_at = _since(since, tz)
    db = StateDB.open(cfg.state.path, readonly=True)
    try:
        start = window_start(now=at, since=since_at, weeks=weeks, tz=tz)
        result = compute_report(db.iter_invitations(since=start), now=at, since=since_at, weeks=weeks,
                                manual_minutes=cfg.report.manual_minutes_per_schedule,
                                alert_minutes=cfg.report.minutes_per_alert, tz=tz, mail_counts=db.mail_counts())
    finally:
        db.close()
    if html is not None:
        from ..report_html import render_html

        try:
            write_private_text(html, render_html(result))
        except OSError as exc:
            raise LocalIOError.from_os_error(exc, html, "--html") from None
        if not G.quiet:
            render.notice(f"report page written to {html}")
    if json_out:
        render.emit_json(result.to_dict())
        return
    if G.quiet:
        return
    render.table("Outcome metrics (overall)", ["metric", "overall", "target", "result"],
                 [[r.label, r.value, r.target, fmt_mark(r.passed) if r.has_target else ""]
                  for r in summary_rows(result)])
    render.table("Per ISO week of the stage change", list(WEEKLY_COLUMNS), weekly_rows(result))


# --- no-show -----------------------------------------------------------------------------


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
    with db.transaction():
        inv.no_show = True
        inv.updated_at = now
        inv.last_action = "no_show"
        db.save_invitation(inv)
        db.audit("no_show", at=now, ref=inv.ref, application_id=inv.application_id,
                 candidate_id=inv.candidate_id, channel="scheduler", actor=actor,
                 detail=f"{reason or 'no-show command'}; {note}")
    return NoShowResult(inv, already_marked=False, scheduler_marked=marked, scheduler_note=note)


@app.command("no-show")
@handles_errors
def no_show(
    application_id: str = typer.Argument(..., help="The ATS application id."),
    reason: Optional[str] = typer.Option(None, "--reason", help="Context for the audit log."),
) -> None:
    """Record that the candidate did not attend a booked interview (feeds the no-show rate)."""
    from ..context import build_scheduler, os_user

    cfg = settings()
    clock = SystemClock()
    bad: list[object] = []
    scheduler = build_scheduler(cfg, clock, bad.append)
    db = StateDB.open(cfg.state.path)
    try:
        result = record_no_show(db, scheduler, clock, application_id, reason=reason, actor=f"user:{os_user()}")
    finally:
        db.close()
    start = result.invitation.interview_start
    when = f"{start:%Y-%m-%d %H:%M} UTC" if start else "?"
    if result.already_marked:
        render.info(f"{application_id}: the interview of {when} is already recorded as a no-show", G.quiet)
        return
    render.info(f"{application_id}: no-show recorded for the interview of {when} ({result.scheduler_note})",
                G.quiet)
    if not result.scheduler_marked and result.invitation.booking_ref is not None:
        raise typer.Exit(int(ExitStatus.NEEDS_ATTENTION))
