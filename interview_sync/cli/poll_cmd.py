"""`interview-sync poll`: one sync cycle, the cron job."""

from __future__ import annotations

import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any, Optional

import typer

from ..clock import FixedClock, SystemClock
from ..poll import run_poll
from . import base, render
from .base import G, app, exit_for, handles_errors, instant, outcome_rows, settings
from .progress import BaselineProgress


@app.command()
@handles_errors
def poll(
    dry_run: bool = typer.Option(False, "--dry-run", help="Print the plan; change nothing anywhere."),
    backfill: bool = typer.Option(False, "--backfill", help="On the first run, invite applications already "
                                  "in an interview stage."),
    now: Optional[str] = typer.Option(None, "--now", help="Evaluate timers as of this ISO 8601 instant; "
                                     "vendor reads and cursors stay on the real clock."),
    json_out: bool = typer.Option(False, "--json", help="Machine-readable output."),
    record: Optional[Path] = typer.Option(None, "--record", help="Append what the vendors answered to this "
                                          "JSONL file, for `replay` (personal fields pseudonymised)."),
    raw: bool = typer.Option(False, "--raw", help="With --record: keep names and addresses as they are."),
) -> None:
    """One sync cycle (the cron job). Exit 0 done (recruiter alerts included), 1 something failed and nobody was
    alerted, 2 usage/config/local I/O, 75 another poll holds the lock."""
    cfg = settings()
    clock = FixedClock(instant(now, "--now")) if now else None
    ctx = base.context(cfg, clock=clock, read_clock=SystemClock(), readonly=False)  # --now moves timers only
    progress = None if G.quiet else BaselineProgress(live=render.err if render.err.is_terminal else None,
                                                      stream=sys.stderr, clock=SystemClock())
    try:
        if record is not None and not dry_run:
            from ..record import attach_recorder, open_recording

            with open_recording(record) as handle:
                recorder = attach_recorder(ctx, handle, raw=raw, backfill=backfill)
                report, plan = run_poll(ctx, dry_run=dry_run, backfill=backfill, progress=progress)
            recorder.check()
        else:
            report, plan = run_poll(ctx, dry_run=dry_run, backfill=backfill, progress=progress)
    finally:
        if progress is not None:
            progress.close()
        ctx.close()
    if G.verbose:
        _print_request_counts(ctx)
    if json_out:
        render.emit_json({"dry_run": dry_run, "plan": [asdict(p) for p in plan],
                          "outcomes": [asdict(o) for o in report.outcomes], "alerts": report.alerts,
                          "errors": report.errors, "notices": report.notices, "baseline": report.baseline})
    elif dry_run:
        render.table("Plan (dry run: nothing was changed)", ["application", "ref", "action", "detail"],
                     [[p.application_id, p.ref, p.action, p.detail] for p in plan])
    elif not G.quiet:
        if report.outcomes:
            render.table("Poll", ["application", "action", "result", "recipient", "detail"], outcome_rows(report))
        if report.baseline is not None:
            render.info(f"baseline recorded: {report.baseline} applications")
        elif not report.outcomes and not report.errors and not report.notices:
            render.info("poll: nothing to do")
    if not json_out:
        for line in report.notices:
            render.info(line, quiet=G.quiet)
    exit_for(report)


def _print_request_counts(ctx: Any) -> None:
    """`--verbose`: what this run cost the vendors (endpoints and counts; no payloads)."""
    for adapter in (ctx.ats, ctx.scheduler):
        session = getattr(adapter, "session", None)
        calls = getattr(session, "calls", None) or {}
        total = sum(calls.values())
        render.err.print(f"{adapter.name}: {total} request(s)" + "".join(
            f"\n  {count:>4}  {endpoint}" for endpoint, count in sorted(calls.items())), markup=False)
