"""The `interview-sync` command line: parsing and rendering only.

Every command calls into the library and maps its one error hierarchy to
exit codes here (through ``ExitStatus``), so a script sees 0 / 1 / 2 / 75 and
one line on stderr.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from dataclasses import asdict
from importlib import metadata
from pathlib import Path
from typing import Any, Optional, TypeVar

import typer

from .. import workflow as wf
from ..clock import FixedClock, SystemClock, iso, parse_instant
from ..config import Settings, config_path, load_settings
from ..context import build_context, os_user
from ..errors import ConfigError, ExitStatus, InterviewSyncError
from ..executor import Executor, RunReport
from ..invitation import State, invitation_ref
from ..poll import lock_for, run_poll
from . import render
from .options import G, GlobalOptionsGroup
from .progress import BaselineProgress

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


def settings() -> Settings:
    return load_settings(G.config)


def _exit_for(report: RunReport) -> None:
    """Alerts are the tool doing its job (exit 0); each error line is work nobody was told about (exit 1)."""
    for line in report.errors:
        render.error_line(line)
    status = ExitStatus.for_cycle(len(report.errors))
    if status is not ExitStatus.OK:
        raise typer.Exit(int(status))


def _outcome_rows(report: RunReport) -> list[list[Any]]:
    return [[o.application_id, o.action, o.result, o.recipient or "", o.detail] for o in report.outcomes]


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
    clock = FixedClock(_instant(now, "--now")) if now else None
    ctx = build_context(cfg, clock=clock, read_clock=SystemClock(), readonly=False)  # --now moves timers only
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
            render.table("Poll", ["application", "action", "result", "recipient", "detail"], _outcome_rows(report))
        if report.baseline is not None:
            render.info(f"baseline recorded: {report.baseline} applications")
        elif not report.outcomes and not report.errors and not report.notices:
            render.info("poll: nothing to do")
    if not json_out:
        for line in report.notices:
            render.info(line, quiet=G.quiet)
    _exit_for(report)


def _print_request_counts(ctx: Any) -> None:
    """`--verbose`: what this run cost the vendors (endpoints and counts; no payloads)."""
    for adapter in (ctx.ats, ctx.scheduler):
        session = getattr(adapter, "session", None)
        calls = getattr(session, "calls", None) or {}
        total = sum(calls.values())
        render.err.print(f"{adapter.name}: {total} request(s)" + "".join(
            f"\n  {count:>4}  {endpoint}" for endpoint, count in sorted(calls.items())), markup=False)


def flavour(option: str, value: str) -> str:
    """A sandbox wire format named on the command line, checked."""
    from ..sandbox import ATS_FLAVOURS, SCHEDULER_FLAVOURS

    allowed = ATS_FLAVOURS if option == "--ats" else SCHEDULER_FLAVOURS
    if value not in allowed:
        raise ConfigError(f"{option} {value!r} is not a sandbox flavour", f"use one of {', '.join(allowed)}")
    return value


def _instant(text: str, option: str) -> Any:
    try:
        return parse_instant(text)
    except ValueError as exc:
        raise ConfigError(f"{option} {text!r}: {exc}", "write an ISO 8601 instant, e.g. 2026-11-24T09:00:00Z") from None


@app.command()
@handles_errors
def invite(
    application_id: str = typer.Argument(..., help="The ATS application id."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Show what would happen; send nothing."),
    resend: bool = typer.Option(False, "--resend", help="Invite again even if already invited (needs --reason)."),
    reason: Optional[str] = typer.Option(None, "--reason", help="Why (recorded in the audit log)."),
) -> None:
    """A recruiter's one-off: run the invitation for one application now."""
    if resend and not reason:
        raise ConfigError("--resend needs --reason", "say why, e.g. --reason \"candidate corrected email\"")
    cfg = settings()
    ctx = build_context(cfg)
    ctx.actor = f"user:{os_user()}"
    try:
        app_record = ctx.ats.get_application(application_id)
        if not wf.in_configured_stage(app_record, cfg.ats.interview_stages) or app_record.stage_id is None:
            raise ConfigError(f"application {application_id} is in stage {app_record.stage_name!r} "
                              f"({app_record.status}), not a configured interview stage",
                              "move it in the ATS, or add the stage to ats.interview_stages")
        ref = invitation_ref(app_record.id, app_record.stage_id)
        existing = ctx.db.get_invitation(ref)
        if existing is not None and resend and existing.state is State.BOOKED:
            raise ConfigError(f"application {application_id} is booked for "
                              f"{iso(existing.interview_start) if existing.interview_start else 'an interview'}; "
                              "a new link would orphan that booking",
                              "cancel or reschedule it in the scheduler; the next poll sends a new link")
        if existing is not None and not resend:
            render.info(f"{application_id}: already invited ({existing.state}, ref {ref}); "
                        "use --resend --reason to send again")
            return
        if dry_run:
            render.info(f"{application_id}: would {'re-send' if existing else 'send'} an invitation for "
                        f"{app_record.stage_name!r} (ref {ref})")
            return
        report = RunReport()
        executor = Executor(ctx, report)
        executor.apps[app_record.id] = app_record
        now = ctx.clock.now()
        if existing is None:
            step = wf.on_stage_entered(app_record, None, now)
            assert step is not None
            inv = step.invitation
            inv.manual_interventions += 1
            event = "manual_invite"
        else:
            inv = existing
            inv.link_generation += 1
            inv.link_url = None
            inv.state = State.PENDING
            inv.attention_reason = None
            inv.manual_interventions += 1
            event = "manual_resend"
        with ctx.db.transaction():
            ctx.db.save_invitation(inv)
            ctx.db.audit(event, at=now, ref=inv.ref, application_id=inv.application_id,
                         candidate_id=inv.candidate_id, actor=ctx.actor, detail=reason or "invite command")
        with lock_for(ctx), ctx.transport:  # never beside a poll: it would see our claim as stranded
            executor.run(inv, [wf.Action(wf.INVITE, inv.ref, f"{inv.ref}:invite:{inv.link_generation}")])
    finally:
        ctx.close()
    if not G.quiet:
        render.table("Invite", ["application", "action", "result", "recipient", "detail"], _outcome_rows(report))
    _exit_for(report)


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
) -> None:
    """The whole job in one command against a private sandbox, over simulated days."""
    from ..demo import run_demo

    result = run_demo(directory, say=lambda line: render.info(line, G.quiet), ats=flavour("--ats", ats),
                      scheduler=flavour("--scheduler", scheduler))
    rows = [[f"{r.at:%a %H:%M}", r.outcome.application_id, r.outcome.action, r.outcome.result,
             r.outcome.recipient or "", Path(r.outcome.path).name if r.outcome.path else r.outcome.detail]
            for r in result.rows]
    render.table("What was sent", ["when (UTC)", "application", "message", "result", "to", "file / detail"], rows)
    sent = sum(1 for r in result.rows if r.outcome.path)  # candidate, hiring-manager and alert emails
    render.info(f"\n{sent} emails written to {result.directory / 'outbox'}\nconfig: {result.config_path}\n"
                f"inspect: interview-sync --config {result.config_path} status")


def main() -> None:
    try:
        app(standalone_mode=True, prog_name="interview-sync")
    except KeyboardInterrupt:
        sys.exit(130)


from . import audit_cmd, consent_cmd, golive_cmd, history_cmd, replay_cmd, report_cmd, sandbox_cmd  # noqa: E402,F401 - register their sub-commands on import
