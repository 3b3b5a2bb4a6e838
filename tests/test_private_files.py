"""Files that hold candidate data are 0600 from the first byte, and recordings name no one.

Every test here runs under umask 022 (the usual default, which leaves a plain
``open()`` at 0644) with ``chmod``/``fchmod`` turned into no-ops: a file that is
only tightened *after* it was created, with a window in between, stays 0644
and fails the test.
"""

from __future__ import annotations

import errno
import json
import os
import re
import stat
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
from harness import Harness
from typer.testing import CliRunner

from interview_sync import audit
from interview_sync.cli.app import app
from interview_sync.clock import iso
from interview_sync.private_files import open_private, write_private, write_private_text
from interview_sync.record import attach_recorder, replay
from interview_sync.sandbox import seed

runner = CliRunner()


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def strict_umask(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """umask 022 and no after-the-fact chmod: only a mode given at creation counts."""
    monkeypatch.setattr(os, "chmod", lambda *a, **k: None)
    monkeypatch.setattr(os, "fchmod", lambda *a, **k: None)
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


# --- the helper ------------------------------------------------------------------------------


def test_open_private_creates_owner_only_files(tmp_path: Path, strict_umask: None) -> None:
    for mode in ("w", "a", "x", "wb"):
        path = tmp_path / f"f-{mode}"
        with open_private(path, mode) as handle:
            handle.write(b"x" if "b" in mode else "x")
        assert _mode(path) == 0o600, mode
    with pytest.raises(ValueError, match="use w, a or x"):
        open_private(tmp_path / "r", "r")


def test_open_private_tightens_a_looser_existing_file(tmp_path: Path) -> None:
    path = tmp_path / "old.jsonl"
    path.write_text("kept\n", encoding="utf-8")
    path.chmod(0o644)
    with open_private(path, "a") as handle:
        handle.write("added\n")
    assert _mode(path) == 0o600
    assert path.read_text(encoding="utf-8") == "kept\nadded\n"


def test_write_private_leaves_nothing_behind_when_it_fails(tmp_path: Path, strict_umask: None) -> None:
    target = tmp_path / "export.csv"
    with pytest.raises(OSError):
        with write_private(target) as handle:
            handle.write("half a file")
            raise OSError(errno.ENOSPC, "No space left on device")
    assert list(tmp_path.iterdir()) == []
    target.write_text("the previous export\n", encoding="utf-8")
    with pytest.raises(RuntimeError):
        with write_private(target) as handle:
            handle.write("partial")
            raise RuntimeError("stopped")
    assert target.read_text(encoding="utf-8") == "the previous export\n"
    assert [p.name for p in tmp_path.iterdir()] == ["export.csv"]
    write_private_text(target, "complete\n")
    assert target.read_text(encoding="utf-8") == "complete\n" and _mode(target) == 0o600


# --- every file kind the tool writes ---------------------------------------------------------


def _invite_one(h: Harness) -> None:
    h.at(0)
    h.poll()
    h.sandbox.move("17001", "Phone Screen")
    h.at(1)
    h.poll()


def test_poll_record_file_is_private(harness: Harness, tmp_path: Path, strict_umask: None) -> None:
    stream = tmp_path / "stream.jsonl"
    result = runner.invoke(app, ["--config", str(harness.config_path), "poll", "--now", iso(harness.at(0)),
                                 "--record", str(stream)])
    assert result.exit_code == 0, result.output
    assert stream.exists() and _mode(stream) == 0o600


def test_poll_record_into_a_missing_directory_is_one_line(harness: Harness, tmp_path: Path) -> None:
    stream = tmp_path / "no-such-dir" / "stream.jsonl"
    result = runner.invoke(app, ["--config", str(harness.config_path), "poll", "--now", iso(harness.at(0)),
                                 "--record", str(stream)])
    assert result.exit_code == 2, result.output
    assert result.stderr.count("\n") == 1 and str(stream) in result.stderr and "--record" in result.stderr


def test_report_html_is_private(harness: Harness, tmp_path: Path, strict_umask: None) -> None:
    _invite_one(harness)
    page = tmp_path / "report.html"
    result = runner.invoke(app, ["--config", str(harness.config_path), "report", "--now", iso(harness.at(2)),
                                 "--html", str(page)])
    assert result.exit_code == 0, result.output
    assert page.read_text(encoding="utf-8").startswith("<!") and _mode(page) == 0o600


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_audit_export_file_is_private(harness: Harness, tmp_path: Path, strict_umask: None, fmt: str) -> None:
    _invite_one(harness)
    out = tmp_path / f"audit.{fmt}"
    result = runner.invoke(app, ["--config", str(harness.config_path), "audit", "export", "--format", fmt,
                                 "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "zoe+nurse@example.org" in out.read_text(encoding="utf-8") and _mode(out) == 0o600


def test_audit_export_failing_midway_leaves_no_partial_file(harness: Harness, tmp_path: Path,
                                                            strict_umask: None,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    _invite_one(harness)
    rows = 0
    real = audit.invitation_record

    def record_then_fail(inv):  # type: ignore[no-untyped-def]
        nonlocal rows
        rows += 1
        if rows > 1:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(inv)

    harness.sandbox.move("17003", "First Interview")
    harness.at(2)
    harness.poll()
    monkeypatch.setattr(audit, "invitation_record", record_then_fail)
    out = tmp_path / "exports" / "invitations.csv"
    out.parent.mkdir()
    result = runner.invoke(app, ["--config", str(harness.config_path), "audit", "export", "--kind", "invitations",
                                 "-o", str(out)])
    assert result.exit_code == 2, result.output
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.output
    assert str(out) in result.stderr and "no space left" in result.stderr
    assert list(out.parent.iterdir()) == []  # neither the final name nor a temporary file


def test_selftest_report_is_private(tmp_path: Path, strict_umask: None) -> None:
    from interview_sync.selftest import write_markdown

    path = write_markdown([], tmp_path / "golive.md", config_path="interview-sync.toml")
    assert Path(path).exists() and _mode(Path(path)) == 0o600


def test_init_config_is_private(tmp_path: Path, strict_umask: None) -> None:
    for args, name in ((["init"], "a.toml"), (["init", "--sandbox"], "b.toml")):
        path = tmp_path / name
        result = runner.invoke(app, ["--config", str(path), *args])
        assert result.exit_code == 0, result.output
        assert _mode(path) == 0o600


def test_demo_outputs_are_private(tmp_path: Path, strict_umask: None) -> None:
    from interview_sync.demo import run_demo

    run_demo(tmp_path / "demo", say=lambda line: None)
    files = [p for p in (tmp_path / "demo").rglob("*") if p.is_file()]
    kinds = {p.suffix for p in files}
    assert {".toml", ".db", ".eml"} <= kinds
    assert {p.name: oct(_mode(p)) for p in files if _mode(p) != 0o600} == {}
    assert _mode(tmp_path / "demo" / "outbox") == 0o700


def test_replay_outputs_are_private(harness: Harness, tmp_path: Path, strict_umask: None) -> None:
    stream = tmp_path / "stream.jsonl"
    harness.recorded_poll(stream, 0)
    harness.sandbox.move("17001", "Phone Screen")
    harness.recorded_poll(stream, 1)
    replay(harness.settings, stream, workdir=tmp_path / "replay")
    files = [p for p in (tmp_path / "replay").rglob("*") if p.is_file()]
    assert files and {p.name: oct(_mode(p)) for p in files if _mode(p) != 0o600} == {}


# --- pseudonymised recordings ----------------------------------------------------------------


def _lifecycle(h: Harness, stream: Path) -> list:  # type: ignore[type-arg]
    """Invites, bookings, a reschedule, a cancel, follow-ups, a flag, notes: every kind of answer."""
    reports = [h.recorded_poll(stream, 0)]
    for application, stage in (("17001", "Phone Screen"), ("17002", "Phone Screen"),
                               ("17003", "First Interview"), ("17004", "First Interview"),
                               ("17006", "Phone Screen"), ("17009", "Phone Screen")):
        h.sandbox.move(application, stage)
    reports.append(h.recorded_poll(stream, 0.5))
    h.sandbox.book("17001", at=h.start + timedelta(days=2, hours=1))
    h.sandbox.book("17002", at=h.start + timedelta(days=1, hours=5))
    reports.append(h.recorded_poll(stream, 5))
    h.sandbox.reschedule("17002", h.start + timedelta(days=4, hours=2))
    h.sandbox.cancel("17001")
    reports.append(h.recorded_poll(stream, 26))
    reports.append(h.recorded_poll(stream, 50))
    reports.append(h.recorded_poll(stream, 76))
    return reports


def _actions(reports) -> list[tuple[str, str, str]]:  # type: ignore[no-untyped-def]
    return [(o.application_id, o.action, o.result) for r in reports for o in getattr(r, "report", r).outcomes]


def test_pseudonymised_recording_names_no_one(paired_harness: Harness, tmp_path: Path) -> None:
    stream = tmp_path / "stream.jsonl"
    live = _lifecycle(paired_harness, stream)
    kinds = {action for _, action, _ in _actions(live)}
    assert {"invite", "confirmation", "hm_booking", "hm_cancel", "relink", "followup", "recruiter_alert"} <= kinds
    text = stream.read_text(encoding="utf-8")
    assert "create_link" in text and "add_note" in text and "get_job" in text  # the answers were recorded
    leaks = []
    for person in [*seed.CANDIDATES, *seed.USERS]:
        for value in (person["first_name"], person["last_name"], person["email"]):
            if not value:
                continue
            forms = {value, quote(value), quote(value, safe=""), value.replace(" ", "+")}
            for form in forms:
                if re.search(r"(?<!\w)" + re.escape(form) + r"(?!\w)", text, re.IGNORECASE):
                    leaks.append(form)
    assert leaks == []
    assert "+1 916 555" not in text
    # the pseudonyms are still usable: the replay takes the same actions as the live run
    replayed = replay(paired_harness.settings, stream, workdir=tmp_path / "replay")
    assert _actions(replayed) == _actions(live)


def test_raw_recording_keeps_the_names(harness: Harness, tmp_path: Path) -> None:
    """The check above can fail: the same run recorded with --raw contains the seeded people."""
    stream = tmp_path / "raw.jsonl"
    harness.at(0)
    harness.poll()
    harness.sandbox.move("17001", "Phone Screen")
    harness.at(1)
    real = harness.ctx.ats, harness.ctx.scheduler
    with open_private(stream, "a") as out:
        attach_recorder(harness.ctx, out, raw=True)
        harness.poll()
    harness.ctx.ats, harness.ctx.scheduler = real
    text = stream.read_text(encoding="utf-8")
    assert "zoe+nurse@example.org" in text and "maria.delgado@mercyvalley.example" in text
    assert all(json.loads(line)["kind"] in ("poll", "call") for line in text.splitlines())
