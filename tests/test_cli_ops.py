"""Issue 10, "an operable command line": exit codes, --version/-h/completion, global options
after the command, time-zone errors, `init --sandbox --port`, baseline progress, log
timestamps and a purge that says what it does and asks first."""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
import requests
from harness import Harness, wall_clock_at
from rich.console import Console
from typer.testing import CliRunner

from interview_sync import clock as clock_module
from interview_sync.audit import purge_summary
from interview_sync.audit import purge as run_purge
from interview_sync.cli import app as cli_app
from interview_sync.cli import base as cli_base
from interview_sync.cli import audit_cmd, logs, sandbox_cmd
from interview_sync.cli.progress import BaselineProgress
from interview_sync.clock import FixedClock
from interview_sync.config import load_settings
from interview_sync.errors import ConfigError, ExitStatus, InterviewSyncError, LockHeld, StateError, VendorError
from interview_sync.invitation import PERSONAL_FIELDS, Invitation, State
from interview_sync.poll import lock_for, run_poll
from interview_sync.sandbox import SandboxServer, World, build_app
from interview_sync.sandbox.client import configured_sandbox_url
from interview_sync.starter import sandbox_config, write_config
from interview_sync.state import StateDB

ROOT = Path(__file__).resolve().parents[1]
T0 = datetime(2026, 11, 24, 9, 0, tzinfo=timezone.utc)
ISO_LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?Z ")


def invoke(*args: str, **kwargs: Any) -> Any:
    return CliRunner().invoke(cli_app.app, list(args), **kwargs)


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, harness: Harness) -> Iterator[Any]:
    """The real CLI in-process on the harness's clock, with no real sleeping between retries."""
    real = cli_base.build_context

    def on_harness(settings: Any, **kwargs: Any) -> Any:
        kwargs["clock"] = kwargs.get("clock") or harness.clock
        return real(settings, sleeper=lambda s: None, **kwargs)

    monkeypatch.setattr(cli_base, "build_context", on_harness)

    def run(*args: str) -> Any:
        with wall_clock_at(harness.clock.now()):  # the CLI reads vendors on the real clock: the sandbox's
            return invoke("--config", str(harness.config_path), *args)

    yield run


# --- exit codes -------------------------------------------------------------------------


def test_exit_status_per_code() -> None:
    assert ExitStatus.for_cycle(0) is ExitStatus.OK and int(ExitStatus.OK) == 0
    assert ExitStatus.for_cycle(2) is ExitStatus.FAILED and int(ExitStatus.FAILED) == 1
    assert ExitStatus.for_error(VendorError("greenhouse", "500 after retries")) == 1
    assert ExitStatus.for_error(InterviewSyncError("anything else")) == 1
    assert ExitStatus.for_error(ConfigError("policy.timezone", "fix it")) == 2
    assert ExitStatus.for_error(StateError("no state database")) == 2
    assert ExitStatus.for_error(LockHeld("another poll runs")) == 75


def test_poll_with_only_alerts_exits_0_and_unhanded_failure_exits_1(harness: Harness, cli: Any) -> None:
    harness.poll()  # baseline
    harness.at(0.1)
    harness.sandbox.move("17006", "Phone Screen")  # no hiring manager: an alert, the tool doing its job
    alerted = cli("poll", "--now", harness.clock.now().isoformat(), "--json")
    assert alerted.exit_code == 0, alerted.output
    assert '"alerts": 1' in alerted.stdout

    harness.at(0.2)
    harness.fault_scheduler_write(500, times=10)  # still failing after the HTTP retries; retried next poll
    harness.sandbox.move("17001", "Phone Screen")
    failed = cli("poll", "--now", harness.clock.now().isoformat())
    assert failed.exit_code == 1, failed.output
    assert "attempt 1/3" in failed.stderr  # nobody was told yet, so the exit code tells


def test_poll_exits_75_while_another_holds_the_lock(harness: Harness, cli: Any) -> None:
    with lock_for(harness.ctx):
        result = cli("poll")
    assert result.exit_code == 75, result.output


def test_docs_and_units_state_the_exit_code_contract() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Exit codes", 1)[1].split("\n## ", 1)[0]
    rows = {line.split("|")[1].strip(" `"): line for line in section.splitlines() if line.startswith("| `")}
    assert sorted(rows) == ["0", "1", "2", "75"]
    assert "alert" in rows["0"] and "nobody" in rows["1"]
    unit = (ROOT / "systemd" / "interview-sync.service").read_text(encoding="utf-8")
    assert re.search(r"^SuccessExitStatus=75$", unit, re.M)
    cron = (ROOT / "cron.example").read_text(encoding="utf-8")
    assert "0 the cycle completed, recruiter alerts included" in cron
    help_text = invoke("poll", "--help").stdout
    assert "Exit 0 done (recruiter alerts included)" in " ".join(help_text.split())


# --- --version, -h, completion, global options after the command -------------------------


def test_version_prints_the_package_version() -> None:
    result = invoke("--version")
    assert result.exit_code == 0
    assert result.stdout == f"interview-sync {metadata.version('interview-sync')}\n"


@pytest.mark.parametrize("path", [[], ["poll"], ["purge"], ["sandbox"], ["sandbox", "move"], ["audit", "verify"],
                                  ["fixtures", "load"]])
def test_dash_h_is_help_everywhere(path: list[str]) -> None:
    result = invoke(*path, "-h")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Usage: ") and "-h, --help" in result.stdout


def test_shell_completion_is_offered() -> None:
    listed = invoke("--help").stdout
    assert "--install-completion" in listed and "--show-completion" in listed
    script = invoke("--show-completion", "bash")
    assert script.exit_code == 0, script.output
    assert "complete" in script.stdout and "_COMPLETE" in script.stdout


def test_global_options_work_after_the_command(tmp_path: Path) -> None:
    config = tmp_path / "elsewhere.toml"
    made = invoke("init", "--sandbox", "--config", str(config))
    assert made.exit_code == 0, made.output
    assert config.exists()
    status = invoke("status", "--config", str(config))
    assert status.exit_code == 2 and "no state database" in status.stderr  # it read *that* config
    quiet = invoke("--config", str(tmp_path / "nope.toml"), "init", "--sandbox", "-q", "--config", str(config),
                   "--force")
    assert quiet.exit_code == 0 and (tmp_path / "nope.toml").exists() is False  # after the command wins
    help_text = invoke("status", "-h").stdout
    assert "--config" not in help_text  # lent by the root, not repeated in every command's help


def test_verbose_after_the_command_reaches_the_command(harness: Harness, cli: Any) -> None:
    harness.poll()
    result = cli("poll", "--now", harness.clock.now().isoformat(), "-v")
    assert result.exit_code == 0, result.output
    assert "request(s)" in result.stderr  # what --verbose adds to a poll


# --- time zones ---------------------------------------------------------------------------


@pytest.mark.parametrize("zone", ["Pacific", "Mars/Base", "", "../etc", "America/"])
def test_invalid_timezone_is_one_config_line(tmp_path: Path, zone: str) -> None:
    config = tmp_path / "c.toml"
    config.write_text(f'[policy]\ntimezone = "{zone}"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_settings(config)
    line = str(caught.value)
    assert "\n" not in line and "policy.timezone" in line and "America/Chicago" in line
    result = invoke("--config", str(config), "status")
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and "policy.timezone" in result.stderr


def test_invalid_timezone_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "c.toml"
    config.write_text("", encoding="utf-8")
    monkeypatch.setenv("INTERVIEW_SYNC_POLICY__TIMEZONE", "Pacific")
    with pytest.raises(ConfigError, match="policy.timezone.*INTERVIEW_SYNC_POLICY__TIMEZONE"):
        load_settings(config)


# --- init --sandbox --port and the sandbox drive commands ----------------------------------


@pytest.fixture
def server() -> Iterator[SandboxServer]:
    world = World()
    world.fixed_now = T0
    running = SandboxServer(build_app(world)).start()
    try:
        yield running
    finally:
        running.stop()


def _stage(server: SandboxServer, application: str) -> str:
    response = requests.get(f"{server.url}/_admin/greenhouse/applications/{application}", timeout=10)
    response.raise_for_status()
    return str(response.json()["stage_name"])


def test_init_port_and_drive_commands_follow_the_config(tmp_path: Path, server: SandboxServer) -> None:
    port = int(server.url.rsplit(":", 1)[1])
    config = tmp_path / "interview-sync.toml"
    made = invoke("--config", str(config), "init", "--sandbox", "--port", str(port))
    assert made.exit_code == 0, made.output
    assert f"sandbox serve --port {port}" in made.stdout
    settings = load_settings(config)
    assert settings.ats.base_url == f"http://127.0.0.1:{port}/v3"
    assert settings.scheduler.base_url == f"http://127.0.0.1:{port}"

    moved = invoke("--config", str(config), "sandbox", "move", "17001", "First Interview")  # no --url
    assert moved.exit_code == 0, moved.output
    assert _stage(server, "17001") == "First Interview"
    loaded = invoke("--config", str(config), "fixtures", "load", "hm-fully-blocked")  # no --sandbox-url
    assert loaded.exit_code == 0, loaded.output
    assert _stage(server, "17003") == "First Interview"


def test_drive_command_without_a_sandbox_config_refuses(tmp_path: Path) -> None:
    config = tmp_path / "real.toml"
    assert invoke("--config", str(config), "init").exit_code == 0  # the production example
    result = invoke("--config", str(config), "sandbox", "block", "someone@example.org")
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1
    assert "names no sandbox" in result.stderr and "--url" in result.stderr
    fixtures = invoke("--config", str(config), "fixtures", "load")
    assert fixtures.exit_code == 2 and "pass --sandbox-url" in fixtures.stderr


@pytest.mark.parametrize("ats", ["greenhouse", "lever"])
def test_the_sandbox_url_is_read_back_from_either_ats_flavour(tmp_path: Path, ats: str) -> None:
    config = tmp_path / "c.toml"
    write_config(config, sandbox_config("http://127.0.0.1:9123", ats=ats, scheduler="calcom"))
    assert configured_sandbox_url(load_settings(config)) == "http://127.0.0.1:9123"


def test_sandbox_serve_defaults_to_the_configured_port(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "c.toml"
    write_config(config, sandbox_config("http://127.0.0.1:9123", ats="lever", scheduler="calcom"))
    monkeypatch.setattr(cli_app.G, "config", str(config))
    assert sandbox_cmd._configured() == ("lever", "calcom", 9123)
    monkeypatch.setattr(cli_app.G, "config", str(tmp_path / "none.toml"))
    assert sandbox_cmd._configured() == ("greenhouse", "calendly", 8765)


def test_init_port_needs_sandbox(tmp_path: Path) -> None:
    result = invoke("--config", str(tmp_path / "c.toml"), "init", "--port", "9000")
    assert result.exit_code == 2 and "--port" in result.stderr
    assert not (tmp_path / "c.toml").exists()


# --- baseline progress and log timestamps --------------------------------------------------


def test_plain_progress_lines_every_thousand_or_every_interval() -> None:
    stream = io.StringIO()
    clock = FixedClock(T0)
    progress = BaselineProgress(live=None, stream=stream, clock=clock, every=1000, seconds=30)
    for count in range(1, 2501):
        progress(count)
    clock.advance(seconds=31)
    progress(2501)  # not a thousand more, but half a minute of silence
    progress.close()
    assert stream.getvalue().splitlines() == [
        "2026-11-24T09:00:00Z baseline: 1000 applications read",
        "2026-11-24T09:00:00Z baseline: 2000 applications read",
        "2026-11-24T09:00:31Z baseline: 2501 applications read",
    ]


def test_terminal_progress_is_a_live_counter() -> None:
    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=80)
    stream = io.StringIO()
    progress = BaselineProgress(live=console, stream=stream, clock=FixedClock(T0))
    for count in range(1, 1201):
        progress(count)
    progress.close()
    assert stream.getvalue() == ""  # no plain lines on a terminal
    assert "applications read" in screen.getvalue()


def test_first_poll_reports_progress_then_the_baseline(harness: Harness, cli: Any) -> None:
    seen: list[int] = []
    report, _ = run_poll(harness.ctx, progress=seen.append)
    assert report.baseline is not None and report.baseline > 0
    assert seen == list(range(1, report.baseline + 1))
    again, _ = run_poll(harness.ctx, progress=seen.append)
    assert again.baseline is None and len(seen) == report.baseline  # later polls are not a baseline


def test_first_poll_on_the_cli_ends_with_the_baseline_line(harness: Harness, cli: Any) -> None:
    count = len(list(harness.ctx.ats.changed_applications(None)))
    result = cli("poll")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-1] == f"baseline recorded: {count} applications"
    assert "baseline recorded" not in cli("poll").stdout


def test_log_lines_carry_iso_timestamps(capsys: pytest.CaptureFixture[str]) -> None:
    try:
        logs.configure()
        logging.getLogger("interview_sync.test").warning("vendor slow")
        logging.getLogger("interview_sync.test").info("hidden at default verbosity")
        logs.configure(verbose=True)
        logging.getLogger("interview_sync.test").info("shown with --verbose")
        lines = capsys.readouterr().err.splitlines()
    finally:
        logs.configure()
    assert len(lines) == 2, lines
    assert all(ISO_LINE.match(line) for line in lines), lines
    assert lines[0].endswith("WARNING interview_sync.test: vendor slow")
    assert lines[1].endswith("INFO interview_sync.test: shown with --verbose")


# --- purge --------------------------------------------------------------------------------


@pytest.fixture
def retention(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A config whose state holds two closed invitations, 400 and 100 days old at T0 (the purge's now)."""
    db = StateDB.open(tmp_path / "state.db", clock=FixedClock(T0))
    for ref, days in (("old", 400), ("recent", 100)):
        when = T0 - timedelta(days=days)
        db.save_invitation(Invitation(ref=ref, application_id="app-" + ref, candidate_id="cand-" + ref,
                                      job_id="j", stage_id="s", stage_name="Phone", stage_changed_at=when,
                                      created_at=when, updated_at=when, state=State.CLOSED,
                                      candidate_name="Zoë " + ref, candidate_email=f"{ref}@example.org"))
        db.audit("invite_sent", at=when, ref=ref, application_id="app-" + ref, candidate_id="cand-" + ref,
                 channel="email", recipient=f"{ref}@example.org", detail="invited")
    db.close()
    config = tmp_path / "interview-sync.toml"
    config.write_text('[state]\npath = "state.db"\n', encoding="utf-8")
    monkeypatch.setattr(clock_module, "SystemClock", lambda: FixedClock(T0))
    return config


def _purged(config: Path) -> set[str]:
    db = StateDB.open(config.parent / "state.db", readonly=True)
    try:
        return {inv.ref for inv in db.invitations() if inv.purged}
    finally:
        db.close()


def test_purge_summary_says_what_goes_and_what_stays(retention: Path) -> None:
    result = invoke("--config", str(retention), "purge", "--older-than", "30", "--dry-run")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "2 invitation(s)" in out and "between 2025-10-20 and 2026-08-16" in out and "cutoff 2026-10-25" in out
    assert "removes: candidate name, candidate email" in out and "detail of 2 audit row(s)" in out
    assert "keeps:" in out and "audit verify" in out
    assert _purged(retention) == set()


def test_purge_under_a_year_without_a_terminal_refuses(retention: Path) -> None:
    result = invoke("--config", str(retention), "purge", "--older-than", "30")
    assert result.exit_code == 2
    assert "--yes" in result.stderr.splitlines()[-1]
    assert _purged(retention) == set()


def test_purge_under_a_year_asks(retention: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(audit_cmd, "_can_ask", lambda: True)
    declined = invoke("--config", str(retention), "purge", "--older-than", "30", input="n\n")
    assert declined.exit_code == 0, declined.output
    assert "nothing purged" in declined.stdout and _purged(retention) == set()
    accepted = invoke("--config", str(retention), "purge", "--older-than", "30", input="y\n")
    assert accepted.exit_code == 0, accepted.output
    assert "purged: 2 invitation(s)" in accepted.stdout and _purged(retention) == {"old", "recent"}


def test_purge_with_yes_or_a_year_or_more_does_not_ask(retention: Path) -> None:
    long = invoke("--config", str(retention), "purge", "--older-than", "365")
    assert long.exit_code == 0, long.output
    assert _purged(retention) == {"old"}
    short = invoke("--config", str(retention), "purge", "--older-than", "30", "--yes")
    assert short.exit_code == 0, short.output
    assert _purged(retention) == {"old", "recent"}


def test_purge_summary_lists_every_personal_field(db: StateDB) -> None:
    summary = purge_summary(run_purge(db, older_than_days=1, now=T0, dry_run=True))
    assert summary == ["nothing to purge: no closed, flagged or needs-attention invitation last changed before "
                       "2026-11-23"]
    db.save_invitation(Invitation(ref="r", application_id="a", candidate_id="c", job_id="j", stage_id="s",
                                  stage_name="Phone", stage_changed_at=T0 - timedelta(days=9),
                                  created_at=T0 - timedelta(days=9), updated_at=T0 - timedelta(days=9),
                                  state=State.FLAGGED))
    removes = purge_summary(run_purge(db, older_than_days=1, now=T0, dry_run=True))[1]
    assert all(name.replace("_", " ") in removes for name in PERSONAL_FIELDS)
