"""What every command module shares: the Typer app objects, the global options,
error mapping and the small parsing/rendering helpers.

Command modules import this module and register themselves on ``app``;
``cli/app.py`` only imports them in order, so no command module ever imports
``cli/app.py`` (tests/test_shape.py checks that the import graph has no cycle).
Commands build their context through ``base.build_context`` (looked up at call
time) so a test can hand every command the same fixed clock in one place.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

import typer

from ..config import Settings, load_settings
from ..context import build_context
from ..errors import ConfigError, ExitStatus, InterviewSyncError
from ..executor import RunReport
from . import render
from .options import G, GlobalOptionsGroup

__all__ = ["G", "app", "audit_app", "build_context", "context", "exit_for", "flavour", "handles_errors", "instant",
           "outcome_rows", "sandbox_app", "settings"]

app = typer.Typer(no_args_is_help=True, rich_markup_mode=None, cls=GlobalOptionsGroup,
                  context_settings={"help_option_names": ["-h", "--help"]},
                  help="Turn ATS stage changes into booked interviews: links, emails, reminders, audit. "
                       "--config, --verbose and --quiet also work after the command.")
sandbox_app = typer.Typer(no_args_is_help=True, help="Run and drive the built-in vendor sandbox.")
audit_app = typer.Typer(no_args_is_help=True, help="Compliance: export and verify the audit log.")
app.add_typer(sandbox_app, name="sandbox")
app.add_typer(audit_app, name="audit")

F = TypeVar("F", bound=Callable[..., Any])


def handles_errors(func: F) -> F:
    """Map library errors to one stderr line and the documented exit code."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except InterviewSyncError as exc:
            render.error_line(str(exc))
            raise typer.Exit(int(ExitStatus.for_error(exc))) from None

    return wrapper  # type: ignore[return-value]


def settings() -> Settings:
    return load_settings(G.config)


def exit_for(report: RunReport) -> None:
    """Alerts are the tool doing its job (exit 0); each error line is work nobody was told about (exit 1)."""
    for line in report.errors:
        render.error_line(line)
    status = ExitStatus.for_cycle(len(report.errors))
    if status is not ExitStatus.OK:
        raise typer.Exit(int(status))


def outcome_rows(report: RunReport) -> list[list[Any]]:
    return [[o.application_id, o.action, o.result, o.recipient or "", o.detail] for o in report.outcomes]


def flavour(option: str, value: str) -> str:
    """A sandbox wire format named on the command line, checked."""
    from ..sandbox import ATS_FLAVOURS, SCHEDULER_FLAVOURS

    allowed = ATS_FLAVOURS if option == "--ats" else SCHEDULER_FLAVOURS
    if value not in allowed:
        raise ConfigError(f"{option} {value!r} is not a sandbox flavour", f"use one of {', '.join(allowed)}")
    return value


def instant(text: str, option: str) -> datetime:
    """An ISO 8601 instant given as ``option``, or a one-line usage error."""
    from ..clock import parse_instant

    try:
        return parse_instant(text)
    except ValueError as exc:
        raise ConfigError(f"{option} {text!r}: {exc}", "write an ISO 8601 instant, e.g. 2026-11-24T09:00:00Z") from None


def context(cfg: Settings, **kwargs: Any) -> Any:
    """The command's Context, through the module attribute so tests can replace ``build_context``."""
    return build_context(cfg, **kwargs)
