"""`interview-sync replay`: a recorded stream through the workflow, simulated clock."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from ..errors import ConfigError
from . import render
from .base import G, app, exit_for, handles_errors, settings


@app.command()
@handles_errors
def replay(
    file: Path = typer.Argument(..., help="A JSONL stream written by `poll --record`."),
    state_db: Optional[Path] = typer.Option(None, "--state-db", help="State to replay into (default: a scratch "
                                            "DB; pass a copy of the state at the recording's start)."),
    apply: bool = typer.Option(False, "--apply", help="Send the emails through the configured transport."),
) -> None:
    """Feed a recorded stream through the workflow with a simulated clock; print every action."""
    from ..executor import RunReport
    from ..record import replay as run_replay

    if not file.exists():
        raise ConfigError(f"{file} not found", "record one with `interview-sync poll --record FILE.jsonl`")
    try:
        polls = run_replay(settings(), file, state_db=state_db, apply=apply)
    except ValueError as exc:
        raise ConfigError(str(exc), "pass a file written by `poll --record`") from None
    rows = [[f"{p.at:%Y-%m-%d %H:%M}", o.application_id, o.action,
             "would send" if o.result == "sent" and not apply else o.result, o.recipient or "", o.detail]
            for p in polls for o in p.report.outcomes]
    if not G.quiet:
        render.table(f"Replay of {file.name}", ["poll (UTC)", "application", "action", "result", "recipient",
                                                "detail"], rows)
        render.err.print(f"replayed {len(polls)} polls; " + ("messages sent through the configured transport"
                         if apply else "nothing was sent (use --apply to send)"), markup=False)
    total = RunReport()
    for p in polls:
        total.alerts += p.report.alerts
        total.errors.extend(p.report.errors)
    exit_for(total)
