"""`interview-sync audit ...` and `purge`: the compliance record."""

from __future__ import annotations

import sqlite3
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Optional

import typer

from ..errors import ConfigError, ExitStatus, LocalIOError
from ..private_files import write_private
from . import render
from .base import G, app, audit_app, handles_errors, settings

MIN_RETENTION_DAYS = 365  # EEOC: keep hiring records at least a year; a shorter purge is confirmed first


def _date(text: Optional[str], option: str) -> datetime | None:
    """A date (YYYY-MM-DD, midnight UTC) or a full ISO 8601 instant."""
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ConfigError(f"{option} {text!r} is not a date", "write YYYY-MM-DD or an ISO 8601 instant") from None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def _open_db(readonly: bool = True):  # type: ignore[no-untyped-def]
    from ..state import StateDB

    return StateDB.open(settings().state.path, readonly=readonly)


@audit_app.command("export")
@handles_errors
def export(
    since: Optional[str] = typer.Option(None, "--since", help="From this date/instant (inclusive)."),
    until: Optional[str] = typer.Option(None, "--until", help="Up to this date/instant (exclusive)."),
    fmt: str = typer.Option("csv", "--format", help="csv (spreadsheet-safe) or jsonl (raw)."),
    kind: str = typer.Option("events", "--kind", help="events (one row per audit event) or invitations."),
    output: Optional[Path] = typer.Option(None, "-o", "--output", help="File to write (default: stdout); "
                                          "created 0600, and only once the export is complete."),
    excel: bool = typer.Option(False, "--excel", help="Start the CSV with a UTF-8 byte-order mark so Excel "
                               "shows accented names right (CSV only)."),
) -> None:
    """Compliance export of the audit log or the invitation records."""
    from ..audit import export as run_export

    if fmt not in ("csv", "jsonl"):
        raise ConfigError(f"--format {fmt!r}", "use csv or jsonl")
    if kind not in ("events", "invitations"):
        raise ConfigError(f"--kind {kind!r}", "use events or invitations")
    if excel and fmt != "csv":
        raise ConfigError(f"--excel is for CSV only, not --format {fmt}", "drop --excel, or use --format csv")
    start, end = _date(since, "--since"), _date(until, "--until")
    db = _open_db()
    try:
        if output is None:
            count = run_export(db, kind=kind, fmt=fmt, since=start, until=end, out=sys.stdout, excel=excel)
        else:
            with write_private(output, newline="") as handle:
                count = run_export(db, kind=kind, fmt=fmt, since=start, until=end, out=handle, excel=excel)
    except OSError as exc:
        raise LocalIOError.from_os_error(exc, output or "standard output", "-o") from None
    except sqlite3.Error as exc:
        raise db.explain(exc) from None
    finally:
        db.close()
    if output is not None and not G.quiet:
        render.notice(f"{count} rows written to {output}")


@audit_app.command("verify")
@handles_errors
def verify() -> None:
    """Check the audit log's hash chain; exit 1 naming the first broken row."""
    from ..audit import verify_chain

    db = _open_db()
    try:
        result = verify_chain(db)
    finally:
        db.close()
    if result.ok:
        render.info(f"audit log intact: {result.rows} rows", G.quiet)
        return
    render.error_line(f"audit log broken at row {result.first_bad_seq}: {result.reason}")
    raise typer.Exit(int(ExitStatus.NEEDS_ATTENTION))


def _can_ask() -> bool:
    """Is a person at the keyboard to answer a confirmation?"""
    return sys.stdin is not None and sys.stdin.isatty()


@app.command()
@handles_errors
def purge(
    older_than: int = typer.Option(..., "--older-than", min=0, help="Retention in days (e.g. 1461 = 4 years)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Say what would be removed; change nothing."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Under 365 days: purge without asking."),
) -> None:
    """Remove personal data of closed invitations past retention; the audit chain stays verifiable.
    Under 365 days it asks first (or needs --yes)."""
    from ..audit import purge as run_purge
    from ..audit import purge_summary
    from ..clock import SystemClock

    if older_than < MIN_RETENTION_DAYS:
        render.err.print(f"warning: --older-than {older_than} is under 1 year; EEOC rules ask employers to keep "
                         "hiring records at least one year", markup=False)
    now = SystemClock().now()
    db = _open_db(readonly=dry_run)
    try:
        preview = run_purge(db, older_than_days=older_than, now=now, dry_run=True)
        for line in purge_summary(preview):
            render.info(line, G.quiet)
        if dry_run or not preview.invitations:
            return
        if older_than < MIN_RETENTION_DAYS and not yes:
            if not _can_ask():
                raise ConfigError(f"--older-than {older_than} is under {MIN_RETENTION_DAYS} days and there is no "
                                  "terminal to confirm on", "pass --yes to purge anyway, or --dry-run to look first")
            if not typer.confirm(f"Remove this personal data of {preview.invitations} invitation(s)?",
                                 default=False, err=True):
                render.info("nothing purged")
                return
        result = run_purge(db, older_than_days=older_than, now=now, dry_run=False)
    finally:
        db.close()
    render.info(f"purged: {result.invitations} invitation(s); {result.audit_rows} audit row(s) blanked", G.quiet)
