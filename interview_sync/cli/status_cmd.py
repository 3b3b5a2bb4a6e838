"""`interview-sync status`: the invitations and where each stands."""

from __future__ import annotations

from dataclasses import asdict
from typing import Optional

import typer

from ..clock import iso
from ..errors import ConfigError
from ..invitation import State
from . import render
from .base import app, handles_errors, settings


@app.command()
@handles_errors
def status(
    application_id: Optional[str] = typer.Argument(None, help="Only this application."),
    state: Optional[str] = typer.Option(None, "--state", help="Only invitations in this state "
                                        f"({', '.join(s.value for s in State)})."),
    json_out: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """The invitations and where each stands."""
    if state is not None and state not in {s.value for s in State}:
        raise ConfigError(f"--state {state!r} is not a state", f"use one of {', '.join(s.value for s in State)}")
    cfg = settings()
    from ..state import StateDB

    db = StateDB.open(cfg.state.path, readonly=True)
    try:
        items = db.invitations(state=state, application_id=application_id)
    finally:
        db.close()
    if json_out:
        render.emit_json([{k: (iso(v) if hasattr(v, "astimezone") else v) for k, v in asdict(i).items()}
                          for i in items])
        return
    from ..history import candidate_label

    rows = []
    for inv in items:
        deadline = inv.followup_deadline_at if inv.state is State.FOLLOWED_UP else inv.deadline_at
        rows.append([inv.application_id, candidate_label(inv), inv.job_name or "", inv.stage_name, inv.state.value,
                     iso(deadline) if deadline and inv.state in (State.INVITED, State.FOLLOWED_UP) else "",
                     iso(inv.interview_start) if inv.interview_start else "", inv.last_action or "",
                     inv.attention_reason or ""])
    render.table("Invitations", ["application", "candidate", "job", "stage", "state", "deadline", "interview",
                                 "last action", "note"], rows)
