"""The `interview-sync` command line: parsing and rendering only.

This module assembles the CLI: the root options, then one module per SPEC
command group, each registering its commands on ``base.app`` when imported
(the import order below is the order of `--help`). Every command calls into
the library and maps its one error hierarchy to exit codes (through
``ExitStatus`` in ``base.handles_errors``), so a script sees 0 / 1 / 2 / 75 and
one line on stderr.

- ``poll_cmd``: poll (the cron job)
- ``invite_cmd``: invite, no-show (a recruiter's one-offs on one application)
- ``status_cmd``: status
- ``setup_cmd``: init, demo
- ``audit_cmd``: purge, audit export / verify (compliance)
- ``golive_cmd``: doctor, selftest, fixtures (go-live)
- ``history_cmd``, ``replay_cmd``, ``report_cmd``: history, replay, report
- ``run_cmd``: run (the long-running mode)
- ``sandbox_cmd``: sandbox serve / move / book / cancel / reschedule / block / no-show
"""

from __future__ import annotations

import sys
from importlib import metadata
from typing import Optional

import typer

from . import (  # noqa: F401 - each registers its commands on import, in this order
    poll_cmd, invite_cmd, status_cmd, setup_cmd, audit_cmd, golive_cmd, history_cmd, replay_cmd, report_cmd,
    run_cmd, sandbox_cmd,
)
from .base import G, app

__all__ = ["G", "app", "main"]


def _print_version(value: bool) -> None:
    if value:
        try:
            version = metadata.version("interview-sync")
        except metadata.PackageNotFoundError:  # running from a source tree that was never installed
            from .. import __version__ as version
        print(f"interview-sync {version}")
        raise typer.Exit()


@app.callback()
def main_options(
    config: Optional[str] = typer.Option(None, "--config", help="Config file (default: $INTERVIEW_SYNC_CONFIG, "
                                         "then ./interview-sync.toml)."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="More detail (never secrets or full payloads)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Only errors."),
    version: bool = typer.Option(False, "--version", is_eager=True, expose_value=False, callback=_print_version,
                                 help="Print the version and exit."),
) -> None:
    G.reset(config, verbose, quiet)


def main() -> None:
    try:
        app(standalone_mode=True, prog_name="interview-sync")
    except KeyboardInterrupt:
        sys.exit(130)
