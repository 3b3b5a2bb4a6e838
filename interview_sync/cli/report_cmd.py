"""`interview-sync report`: the outcome metrics per ISO week, with their targets."""

from __future__ import annotations

from datetime import datetime, time, tzinfo
from pathlib import Path
from typing import Optional
from zoneinfo import ZoneInfo

import typer

from ..clock import SystemClock
from ..errors import ConfigError, LocalIOError
from ..private_files import write_private_text
from ..state import StateDB
from . import render
from .base import G, app, handles_errors, instant, settings


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
    from ..report_channels import COLUMNS, channel_figures, channel_rows

    cfg = settings()
    tz = ZoneInfo(cfg.policy.timezone)
    at = instant(now, "--now") if now else SystemClock().now()
    since_at = _since(since, tz)
    db = StateDB.open(cfg.state.path, readonly=True)
    try:
        start = window_start(now=at, since=since_at, weeks=weeks, tz=tz)
        result = compute_report(db.iter_invitations(since=start), now=at, since=since_at, weeks=weeks,
                                manual_minutes=cfg.report.manual_minutes_per_schedule,
                                alert_minutes=cfg.report.minutes_per_alert, tz=tz, mail_counts=db.mail_counts())
        channels = channel_figures((i for i in db.iter_invitations(since=start) if start is None
                                    or i.stage_changed_at >= start), db.outbox_rows(), db.sms_rows(),
                                   {r["phone"] for r in db.consents() if r["state"] == "revoked"}, at)
    finally:
        db.close()
    if html is not None:
        from ..report_html import render_html

        try:
            write_private_text(html, render_html(result, channels))
        except OSError as exc:
            raise LocalIOError.from_os_error(exc, html, "--html") from None
        if not G.quiet:
            render.notice(f"report page written to {html}")
    if json_out:
        render.emit_json(result.to_dict() | {"channels": [f.to_dict() for f in channels]})
        return
    if G.quiet:
        return
    render.table("Outcome metrics (overall)", ["metric", "overall", "target", "result"],
                 [[r.label, r.value, r.target, fmt_mark(r.passed) if r.has_target else ""]
                  for r in summary_rows(result)])
    render.table("Per ISO week of the stage change", list(WEEKLY_COLUMNS), weekly_rows(result))
    render.table("Per channel (candidates reached on it)", list(COLUMNS), channel_rows(channels))
