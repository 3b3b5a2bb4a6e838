"""`interview-sync history`: one candidate's whole story from the audit log, in local time."""

from __future__ import annotations

import typer

from . import render
from .base import app, handles_errors, settings


@app.command()
@handles_errors
def history(
    application_id: str = typer.Argument(..., help="The ATS application id (as `status` shows it)."),
    json_out: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """One candidate's whole story from the audit log: every email, link, booking, note and alert,
    in local time."""
    from ..history import as_dict, load_history
    from ..state import StateDB

    cfg = settings()
    db = StateDB.open(cfg.state.path, readonly=True)
    try:
        story = load_history(db, cfg, application_id)
    finally:
        db.close()
    if json_out:
        render.emit_json(as_dict(story))
        return
    render.info(f"{story.candidate} — {story.job or 'job not read yet'} (application {story.application_id})")
    for inv in story.invitations:
        render.info(f"  {inv.stage_name}: {inv.state} (ref {inv.ref})")
    render.info(f"  times in {story.zone}")
    width = max((len(e.local) for e in story.entries), default=0)
    for entry in story.entries:
        render.info(f"{entry.local:<{width}}  {entry.text}")
