"""`interview-sync doctor`, `fixtures list|load` and `selftest`: the go-live tooling."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Optional

import typer

from ..clock import SystemClock
from ..config import config_path
from ..errors import ConfigError, ExitStatus
from ..sandbox.client import configured_sandbox_url
from . import render
from .base import G, app, handles_errors, settings

if TYPE_CHECKING:
    from ..doctor import Check

fixtures_app = typer.Typer(no_args_is_help=True, help="The synthetic go-live scenarios (see `selftest`).")
app.add_typer(fixtures_app, name="fixtures")


@app.command()
@handles_errors
def doctor(
    json_out: bool = typer.Option(False, "--json", help="Machine-readable output."),
    probe: bool = typer.Option(False, "--probe", help="Instead of the review: read a sample of every record kind "
                               "the adapters use on the live tenant and check each field and id relation they "
                               "rely on (read-only)."),
    probe_writes: Optional[str] = typer.Option(None, "--probe-writes", metavar="APPLICATION_ID",
                                               help="With --probe: also add a note and the flag tag to this (test) "
                                               "application through the ATS adapter, then remove the tag."),
) -> None:
    """The quarterly review: config, credentials, stages, live records, hiring managers, SMTP, templates.
    Exit 1 on any failed check."""
    from ..doctor import config_failure, run_checks

    if probe_writes is not None and not probe:
        raise ConfigError("--probe-writes needs --probe", f"run `interview-sync doctor --probe --probe-writes "
                          f"{probe_writes}`")
    path = config_path(G.config)
    try:
        cfg = settings()
    except ConfigError as exc:
        _print_checks([config_failure(exc)], json_out)
        raise typer.Exit(int(ExitStatus.USAGE)) from None
    if probe:
        from ..probe import run_probe
        from ..probe.writes import run_probe_writes

        checks = run_probe(cfg, clock=SystemClock())
        if probe_writes is not None:
            checks += run_probe_writes(cfg, probe_writes, clock=SystemClock())
    else:
        checks = run_checks(cfg, clock=SystemClock(), config_file=path if path.exists() else None)
    _print_checks(checks, json_out)
    failed = [c.name for c in checks if not c.ok]
    if failed:
        render.error_line(f"doctor: {len(failed)} check(s) failed: {', '.join(failed)}")
        raise typer.Exit(int(ExitStatus.NEEDS_ATTENTION))


def _print_checks(checks: list[Check], json_out: bool) -> None:
    from ..doctor import as_dicts

    if json_out:
        render.emit_json({"ok": all(c.ok for c in checks), "checks": as_dicts(checks)})
        return
    render.table("Doctor", ["check", "result", "detail", "fix"],
                 [[c.name, "ok" if c.ok else "FAIL", c.detail, c.fix] for c in checks])


@fixtures_app.command("list")
@handles_errors
def fixtures_list(json_out: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> None:
    """The go-live scenarios: applications, steps and what must follow."""
    from ..fixtures import SCENARIOS

    if json_out:
        render.emit_json([{"name": s.name, "description": s.description, "applications": list(s.applications),
                           "steps": [step.describe() for step in s.steps],
                           "expected": {"emails": dict(s.expected.emails), "states": dict(s.expected.states),
                                        "alerts": {k: list(v) for k, v in s.expected.alerts.items()}}}
                          for s in SCENARIOS])
        return
    render.table("Go-live scenarios", ["scenario", "applications", "what happens"],
                 [[s.name, ", ".join(s.applications), s.description] for s in SCENARIOS])


@fixtures_app.command("load")
@handles_errors
def fixtures_load(
    names: Optional[list[str]] = typer.Argument(None, help="Scenario names (default: all)."),
    sandbox_url: Optional[str] = typer.Option(None, "--sandbox-url", help="The running sandbox to load into "
                                              "(default: the one the config's ats.base_url names)."),
) -> None:
    """Put the scenarios' starting position into a running sandbox; then `poll` and drive it by hand."""
    from ..fixtures import SCENARIOS, by_name, load

    chosen = None
    if names:
        try:
            chosen = [by_name(name) for name in names]
        except KeyError as exc:
            raise ConfigError(f"no scenario named {exc.args[0]!r}",
                              f"use one of: {', '.join(s.name for s in SCENARIOS)}") from None
    for line in load(chosen, sandbox_url or configured_sandbox_url(settings(), "--sandbox-url")):
        render.info(line, G.quiet)
    render.info("loaded; now run `interview-sync poll` against this sandbox", G.quiet)


@app.command()
@handles_errors
def selftest(
    json_out: bool = typer.Option(False, "--json", help="Machine-readable output."),
    report: Optional[Path] = typer.Option(None, "--report", help="Write the documented results as Markdown."),
) -> None:
    """Run every go-live scenario against a private sandbox with your routes, templates and policy.
    Nothing is sent to real people. Exit 1 on any failure."""
    from ..selftest import run_selftest, summary, write_markdown

    cfg = settings()
    results = run_selftest(cfg)
    if report is not None:
        write_markdown(results, report, config_path=config_path(G.config).resolve())
    if json_out:
        render.emit_json({"ok": all(r.passed for r in results), "results": [r.as_dict() for r in results]})
    else:
        render.table("Self-test", ["scenario", "result", "expected", "observed"],
                     [[r.name, "pass" if r.passed else "FAIL", summary(r.expected),
                       "as expected" if r.passed else " | ".join(r.differences)] for r in results])
        if report is not None:
            render.info(f"report written to {report}", G.quiet)
    failed = [r.name for r in results if not r.passed]
    if failed:
        render.error_line(f"selftest: {len(failed)} of {len(results)} scenario(s) failed: {', '.join(failed)}")
        raise typer.Exit(int(ExitStatus.NEEDS_ATTENTION))
