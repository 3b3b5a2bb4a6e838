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
from harness import Harness
from rich.console import Console
from typer.testing import CliRunner

from interview_sync import clock as clock_module
from interview_sync.cli import app as cli_app
from interview_sync.clock import FixedClock
from interview_sync.config import load_settings
from interview_sync.errors import ConfigError, ExitStatus, InterviewSyncError, LockHeld, StateError, VendorError
from interview_sync.invitation import PERSONAL_FIELDS, Invitation, State
from interview_sync.poll import run_poll
from interview_sync.sandbox import SandboxServer, World, build_app
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
    real = cli_app.build_context

    def on_harness(settings: Any, **kwargs: Any) -> Any:
        kwargs["clock"] = kwargs.get("clock") or harness.clock
        return real(settings, sleeper=lambda s: None, **kwargs)

    monkeypatch.setattr(cli_app, "build_context", on_harness)
    yield lambda *args: invoke("--config", str(harness.config_path), *args)


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
