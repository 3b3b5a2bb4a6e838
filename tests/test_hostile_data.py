"""Hostile vendor text (long names, bidi overrides, control characters, rich markup,
spreadsheet formulas) and a failing local disk, end to end."""

from __future__ import annotations

import email
import email.policy
import errno
import io
import os
import sqlite3
import tempfile
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from email.header import decode_header, make_header
from email.utils import parseaddr
from pathlib import Path

import pytest
from harness import Harness, wall_clock_at
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console
from typer.testing import CliRunner

from interview_sync.audit import neutralise
from interview_sync.cli import render
from interview_sync.cli.app import app
from interview_sync.clock import iso
from interview_sync.ics import build_ics
from interview_sync.invitation import Invitation, State
from interview_sync.mail.message import NAME_LIMIT, build_message
from interview_sync.mail.render import SUBJECT_LIMIT, Rendered
from interview_sync.sandbox import seed
from interview_sync.sanitize import BIDI_CONTROLS, clean, one_line
from interview_sync.state import StateDB

runner = CliRunner()
T0 = datetime(2026, 11, 30, 16, 0, tzinfo=timezone.utc)
LONG_NAME = ("Aureliana" * 9)[:78] + " " + ("Bartholomew" * 8)[:78]  # two 78-character words: 157 characters
BIDI = "\u202e\u202a\u202b\u202c\u202d\u2066\u2067\u2068\u2069"
CONTROLS = "\x00\x07\x1b[31m\x7f\x85\x9b"


def _message(name: str, subject: str) -> bytes:
    rendered = Rendered(subject=subject, text="Hello\n", html="<p>Hello</p>", kind="invite")
    msg = build_message(sender="Talent <talent@example.org>", to_name=name, to_email="zoe@example.org",
                        rendered=rendered, message_id="<ref.1@example.org>", date=T0)
    return msg.as_bytes(policy=email.policy.SMTP)


def _parsed(data: bytes) -> email.message.EmailMessage:
    return email.message_from_bytes(data, policy=email.policy.default)  # type: ignore[return-value]


def _display_name(data: bytes) -> str:
    """The To display name as a mail client shows it. (The stdlib's address parser puts a
    space between two adjacent encoded-words, which RFC 2047 §6.2 says to drop; the
    older decoder gets it right.)"""
    raw = email.message_from_bytes(data, policy=email.policy.compat32)["To"]
    return parseaddr(str(make_header(decode_header(raw))))[0]


# --- headers ---------------------------------------------------------------------------------


def test_a_157_character_two_word_name_yields_a_well_formed_message() -> None:
    assert len(LONG_NAME) == 157 and LONG_NAME.count(" ") == 1
    data = _message(LONG_NAME, f"Your interview, {LONG_NAME}")
    head, _, body = data.partition(b"\r\n\r\n")
    assert all(line.strip() for line in head.split(b"\r\n")), "a blank line inside the headers ends them"
    parsed = _parsed(data)
    for header in ("From", "To", "Subject", "Date", "Message-ID", "MIME-Version", "Content-Type"):
        assert parsed[header] is not None, header
    assert b"Subject:" not in body and b"Date:" not in body and b"From:" not in body
    shown = _display_name(data)
    assert len(shown) == NAME_LIMIT and shown.endswith("…") and shown == LONG_NAME[:NAME_LIMIT - 1] + "…"
    assert parsed["To"].addresses[0].addr_spec == "zoe@example.org"
    assert max(len(line) for line in data.split(b"\r\n")) <= 998


def test_bidi_and_control_characters_never_reach_a_header() -> None:
    name = f"Zo{BIDI}ë{CONTROLS} O'Brien"
    parsed = _parsed(_message(name, f"Interview {BIDI}with{CONTROLS} us"))
    for value in (parsed["To"].addresses[0].display_name, str(parsed["Subject"])):
        assert not set(value) & BIDI_CONTROLS
        assert all(ch.isprintable() for ch in value), repr(value)
    assert parsed["To"].addresses[0].display_name == "Zoë [31m O'Brien"


@settings(max_examples=150, deadline=None)
@given(name=st.text(st.characters(blacklist_categories=("Cs",)), max_size=400)
       | st.lists(st.text("AbZë-'", min_size=1, max_size=200), min_size=1, max_size=4).map(" ".join),
       subject=st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=1200))
def test_no_generated_line_exceeds_998_octets_and_headers_stay_headers(name: str, subject: str) -> None:
    data = _message(name, subject)
    head = data.partition(b"\r\n\r\n")[0]
    assert all(line.strip() for line in head.split(b"\r\n"))
    assert max(len(line) for line in data.split(b"\r\n")) <= 998
    parsed = _parsed(data)
    assert parsed["Date"] is not None and parsed["MIME-Version"] == "1.0"
    assert len(str(parsed["Subject"])) <= SUBJECT_LIMIT
    assert parsed["To"].addresses[0].addr_spec == "zoe@example.org"
    assert len(_display_name(data)) <= NAME_LIMIT


def test_ics_lines_are_folded_and_clean() -> None:
    data = build_ics(method="REQUEST", uid="uid-1@example.org", sequence=0, start=T0, end=T0 + timedelta(hours=1),
                     dtstamp=T0, summary=f"Interview: {LONG_NAME}{BIDI}", description=f"Candidate: {LONG_NAME}\n"
                     f"Notes: {CONTROLS}{'word ' * 300}", location=None,
                     organizer=("Talent", "talent@example.org"), attendees=[(LONG_NAME + BIDI, "hm@example.org")])
    assert max(len(line) for line in data.split(b"\r\n")) <= 75
    text = data.decode("utf-8")
    assert not set(text) & BIDI_CONTROLS and "\x1b" not in text and "\x00" not in text


def test_every_eml_of_a_run_with_hostile_names_is_well_formed(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    candidates = [dict(c) for c in seed.CANDIDATES]
    candidates[0].update(first_name="A" * 78 + BIDI, last_name="[/bold]" + "B" * 78 + CONTROLS)
    monkeypatch.setattr(seed, "CANDIDATES", candidates)
    h = Harness(tmp_path)
    try:
        h.at(0)
        h.poll()
        h.sandbox.move("17001", "Phone Screen")
        h.at(1)
        h.poll()
        h.sandbox.book("17001", at=h.start + timedelta(days=2, hours=1))
        h.at(2)
        h.poll()
        files = sorted(h.settings.email.outbox_dir.glob("*.eml"))
        kinds = set()
        for path in files:
            data = path.read_bytes()
            assert max(len(line) for line in data.split(b"\r\n")) <= 998, path.name
            head = data.partition(b"\r\n\r\n")[0]
            assert all(line.strip() for line in head.split(b"\r\n")), path.name
            parsed = _parsed(data)
            kinds.add(parsed["X-Interview-Sync-Kind"])
            assert parsed["Subject"] is not None and parsed["Date"] is not None
            assert not set(str(parsed["To"]) + str(parsed["Subject"])) & BIDI_CONTROLS
        assert {"invite", "confirmation", "hm_booking"} <= kinds
    finally:
        h.close()


# --- one sanitising rule ---------------------------------------------------------------------


def test_clean_strips_bidi_and_blanks_controls() -> None:
    assert clean(f"a{BIDI}b") == "ab"
    assert clean("a\x00b\x1bc\x7fd\x85e\u2028f") == "a b c d e f"
    assert clean("a\tb\nc", keep="\t\n") == "a\tb\nc"
    assert one_line(" Zoë \r\n O'Brien\u202e ") == "Zoë O'Brien"


# --- CSV -------------------------------------------------------------------------------------


@pytest.mark.parametrize("cell", ["=1+1", " =1+1", "\t=1+1", "\r\n=1", "\n@SUM(A1)", "  +1", " -1", "@x",
                                  "\uff1d1+1", "\uff0b1", "\uff0d1", "\uff20SUM(A1)", " \uff1dcmd",
                                  "\u3000=1", "\tcmd", "\rcmd"])
def test_csv_guard_catches_formulas_behind_whitespace_and_full_width(cell: str) -> None:
    assert neutralise(cell).startswith("'")


@pytest.mark.parametrize("cell", ["Zoë O'Brien-Nguyễn", "2026-11-30T16:00:00+00:00", "a=b", "Ward 3 – ICU",
                                  "zoe+nurse@example.org"])
def test_csv_guard_leaves_ordinary_text_alone(cell: str) -> None:
    assert neutralise(cell) == cell


def test_csv_cells_lose_bidi_and_control_characters() -> None:
    assert neutralise(f"Mallory{BIDI}\x00\x1b[2J") == "Mallory  [2J"
    assert neutralise(f"{BIDI}=HYPERLINK(\"x\")") == "'=HYPERLINK(\"x\")"


def _export(h: Harness, *args: str) -> object:
    return runner.invoke(app, ["--config", str(h.config_path), "audit", "export", *args])


def test_audit_export_excel_writes_a_utf8_bom(harness: Harness, tmp_path: Path) -> None:
    harness.at(0)
    harness.poll()
    harness.sandbox.move("17001", "Phone Screen")
    harness.at(1)
    harness.poll()
    out = tmp_path / "invitations.csv"
    result = _export(harness, "--kind", "invitations", "--excel", "-o", str(out))
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    data = out.read_bytes()
    assert data.startswith(b"\xef\xbb\xbfinvitation_ref,")
    assert "Registered Nurse – ICU" in data.decode("utf-8")
    plain = tmp_path / "plain.csv"
    assert _export(harness, "--kind", "invitations", "-o", str(plain)).exit_code == 0  # type: ignore[attr-defined]
    assert plain.read_bytes().startswith(b"invitation_ref,")
    jsonl = _export(harness, "--format", "jsonl", "--excel")
    assert jsonl.exit_code == 2  # type: ignore[attr-defined]
    assert jsonl.stderr.count("\n") == 1 and "CSV only" in jsonl.stderr  # type: ignore[attr-defined]


# --- terminal output -------------------------------------------------------------------------


@pytest.fixture
def terminal(monkeypatch: pytest.MonkeyPatch) -> Iterator[io.StringIO]:
    """What `status` prints on a real terminal (rich, colours and all)."""
    screen = io.StringIO()
    monkeypatch.setattr(render, "out", Console(file=screen, force_terminal=True, width=250, highlight=False,
                                               soft_wrap=True))
    monkeypatch.setattr(render, "is_tty", lambda: True)
    yield screen


def _hostile_invitation(db_path: Path) -> None:
    db = StateDB.open(db_path)
    try:
        db.save_invitation(Invitation(
            ref="is-17001-aaaaaaaaaa", application_id="17001", candidate_id="7001", job_id="101", stage_id="2",
            stage_name="[/bold]Mallory", stage_changed_at=T0, created_at=T0, state=State.NEEDS_ATTENTION,
            candidate_name="[/bold]Mallory", last_action="[red]alert[/red]",
            attention_reason=f"[/bold]Mallory{BIDI} has no email\x1b[2J address"))
    finally:
        db.close()


def test_status_prints_markup_in_names_as_text_on_a_terminal(harness: Harness, terminal: io.StringIO) -> None:
    _hostile_invitation(harness.settings.state.path)
    result = runner.invoke(app, ["--config", str(harness.config_path), "status"])
    assert result.exit_code == 0, result.output
    shown = terminal.getvalue()
    assert "[/bold]Mallory" in shown and "[red]alert[/red]" in shown
    assert "Mallory has no email [2J address" in shown
    assert "\x1b[2J" not in shown and not set(shown) & BIDI_CONTROLS


def test_status_plain_lines_are_clean(harness: Harness) -> None:
    _hostile_invitation(harness.settings.state.path)
    result = runner.invoke(app, ["--config", str(harness.config_path), "status"])
    assert result.exit_code == 0, result.output
    row = result.stdout.splitlines()[1].split("\t")
    assert row[1] == "[/bold]Mallory" and row[-1] == "[/bold]Mallory has no email [2J address"


# --- a failing local disk during a poll ------------------------------------------------------


def _poll(h: Harness, hours: float) -> object:
    at = h.at(hours)
    with wall_clock_at(at):  # the CLI reads vendors on the real clock: here, the sandbox's time
        return runner.invoke(app, ["--config", str(h.config_path), "poll", "--now", iso(at)])


def _one_line_exit_2(result: object, *needles: str) -> None:
    assert result.exit_code == 2, result.output  # type: ignore[attr-defined]
    stderr = result.stderr  # type: ignore[attr-defined]
    assert stderr.count("\n") == 1 and stderr.startswith("error: "), stderr
    assert "Traceback" not in result.output and result.exception is None or isinstance(  # type: ignore[attr-defined]
        result.exception, SystemExit)  # type: ignore[attr-defined]
    for needle in needles:
        assert needle in stderr, (needle, stderr)


def _then_exactly_one_invite(h: Harness) -> None:
    """The next poll finishes the job, and nothing reaches the candidate twice."""
    result = _poll(h, 2)
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    assert len(h.emails_to("zoe+nurse@example.org", "invite")) == 1
    assert h.invitation("17001").state is State.INVITED
    assert [p for p in h.settings.email.outbox_dir.iterdir() if not p.name.endswith(".eml")] == []
    again = _poll(h, 3)
    assert again.exit_code == 0 and len(h.emails_to("zoe+nurse@example.org", "invite")) == 1  # type: ignore[attr-defined]


def _enter_stage(h: Harness) -> None:
    assert _poll(h, 0).exit_code == 0  # type: ignore[attr-defined]
    h.sandbox.move("17001", "Phone Screen")


def test_read_only_outbox_ends_the_poll_with_one_line(harness: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    _enter_stage(harness)
    outbox = harness.settings.email.outbox_dir
    outbox.mkdir(parents=True, exist_ok=True)
    real = tempfile.mkstemp

    def read_only(*args, **kwargs):  # type: ignore[no-untyped-def]
        if Path(kwargs.get("dir", "")) == outbox:  # tests run as root, where chmod 0500 would not stop a write
            raise OSError(errno.EROFS, "Read-only file system", str(outbox))
        return real(*args, **kwargs)

    monkeypatch.setattr(tempfile, "mkstemp", read_only)
    _one_line_exit_2(_poll(harness, 1), str(outbox), "not writable", "email.outbox_dir")
    monkeypatch.setattr(tempfile, "mkstemp", real)
    assert harness.emails() == []
    _then_exactly_one_invite(harness)


def test_full_disk_ends_the_poll_with_one_line(harness: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    _enter_stage(harness)
    real = os.fsync

    def disk_full(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    _one_line_exit_2(_poll(harness, 1), str(harness.settings.email.outbox_dir), "no space left")
    monkeypatch.setattr(os, "fsync", real)
    assert harness.emails() == []  # no half-written .eml, not even a temporary file
    _then_exactly_one_invite(harness)


def test_sqlite_disk_io_error_ends_the_poll_with_one_line(harness: Harness,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    _enter_stage(harness)
    real = StateDB.mark_sent
    failures = iter([True])

    def io_error(self: StateDB, key: str, *args, **kwargs):  # type: ignore[no-untyped-def]
        if ":invite:" in key and next(failures, False):
            raise sqlite3.OperationalError("disk I/O error")
        return real(self, key, *args, **kwargs)

    monkeypatch.setattr(StateDB, "mark_sent", io_error)
    _one_line_exit_2(_poll(harness, 1), str(harness.settings.state.path), "disk I/O error")
    # the email went out but its row stayed 'sending': the crash path alerts, it never resends
    assert len(harness.emails_to("zoe+nurse@example.org", "invite")) == 1
    result = _poll(harness, 2)
    # a recruiter alert, as after any crash (whether alerts exit 0 or 1 is not this test's business)
    assert result.exit_code in (0, 1), result.output  # type: ignore[attr-defined]
    assert len(harness.emails_to("zoe+nurse@example.org", "invite")) == 1
    alerts = [m for m in harness.emails() if m["X-Interview-Sync-Kind"] == "recruiter_alert"]
    assert len(alerts) == 1 and "may or may not" in alerts[0].get_body(("plain",)).get_content()
    assert _poll(harness, 3).exit_code == 0  # type: ignore[attr-defined]
    assert len(harness.emails_to("zoe+nurse@example.org", "invite")) == 1
