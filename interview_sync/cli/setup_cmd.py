"""`interview-sync init` and `demo`: a starter config, and the whole job on the built-in sandbox."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from ..config import config_path
from ..errors import ConfigError
from . import render
from .base import G, app, flavour, handles_errors


@app.command()
@handles_errors
def init(
    sandbox: bool = typer.Option(False, "--sandbox", help="A config that runs against the built-in sandbox."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing file."),
    ats: str = typer.Option("greenhouse", "--ats", help="With --sandbox: the ATS wire format (greenhouse, lever)."),
    scheduler: str = typer.Option("calendly", "--scheduler", help="With --sandbox: the scheduler wire format "
                                  "(calendly, calcom)."),
    port: Optional[int] = typer.Option(None, "--port", min=1, max=65535, help="With --sandbox: the port the "
                                       "sandbox listens on (default 8765)."),
) -> None:
    """Write a starter interview-sync.toml."""
    from ..sandbox.client import DEFAULT_PORT
    from ..starter import example_config_text, sandbox_config, write_config, write_config_text

    if port is not None and not sandbox:
        raise ConfigError("--port applies only with --sandbox", "add --sandbox, or drop --port")
    path = config_path(G.config)
    if path.exists() and not force:
        raise ConfigError(f"{path} already exists", "pass --force to overwrite it")
    if sandbox:
        url = f"http://127.0.0.1:{port or DEFAULT_PORT}"
        write_config(path, sandbox_config(url, ats=flavour("--ats", ats), scheduler=flavour("--scheduler", scheduler)))
    else:
        write_config_text(path, example_config_text())
    serve = "interview-sync sandbox serve" + (f" --port {port}" if port else "")
    render.info(f"wrote {path}" + (f"  (start the sandbox with `{serve}`)" if sandbox else
                                   "  (put secrets in INTERVIEW_SYNC_* variables, then run `interview-sync doctor`)"))


@app.command()
@handles_errors
def demo(
    directory: Path = typer.Option(Path("interview-sync-demo"), "--dir", help="Where config, state and "
                                   "emails go."),
    ats: str = typer.Option("greenhouse", "--ats", help="The sandbox ATS wire format (greenhouse, lever)."),
    scheduler: str = typer.Option("calendly", "--scheduler", help="The sandbox scheduler wire format "
                                  "(calendly, calcom)."),
    live: bool = typer.Option(False, "--live", help="Real time instead: `run` woken by the sandbox's signed "
                              "webhooks, showing the seconds from a change to its email."),
) -> None:
    """The whole job in one command against a private sandbox, over simulated days (--live: real seconds)."""
    from ..demo import run_demo
    from ..demo_live import run_live_demo

    result = (run_live_demo if live else run_demo)(directory, say=lambda line: render.info(line, G.quiet),
                                                   ats=flavour("--ats", ats),
                                                   scheduler=flavour("--scheduler", scheduler))
    rows = [[f"{r.at:%a %H:%M}", r.outcome.application_id, r.outcome.action, r.outcome.result,
             r.outcome.recipient or "", Path(r.outcome.path).name if r.outcome.path else r.outcome.detail]
            for r in result.rows]
    render.table("What was sent", ["when (UTC)", "application", "message", "result", "to", "file / detail"], rows)
    sent = sum(1 for r in result.rows if r.outcome.path)  # candidate, hiring-manager and alert emails
    render.info(f"\n{sent} emails written to {result.directory / 'outbox'}\nconfig: {result.config_path}\n"
                f"inspect: interview-sync --config {result.config_path} status")
