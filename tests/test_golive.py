"""Issue 5 acceptance for the go-live tooling: selftest, fixtures and doctor.

selftest runs the scenarios against private sandboxes with ``config.example.toml``
(passes), a broken template and a route with a missing event type (fails,
naming the row). doctor runs against a real sandbox on loopback and a real
aiosmtpd server; each injected fault (revoked token, unknown stage, blocked
hiring manager, refused SMTP password, world-readable secrets, broken
template) must show up as its own failed line while the others stay green.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from harness import wall_clock_at
from typer.testing import CliRunner

from interview_sync import selftest as selftest_module
from interview_sync.cli.app import app
from interview_sync.clock import FixedClock
from interview_sync.config import Settings, load_settings
from interview_sync.doctor import REVIEW_CURSOR, Check, run_checks
from interview_sync.fixtures import SCENARIOS, START, by_name, load
from interview_sync.sandbox import SandboxServer, World, build_app
from interview_sync.sandbox.client import SandboxClient
from interview_sync.selftest import run_selftest, write_markdown
from interview_sync.starter import sandbox_config, write_config
from interview_sync.state import StateDB

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "config.example.toml"
PRIYA = "priya.raman@mercyvalley.example"
SMTP_USER, SMTP_PASSWORD = "talent", "correct horse battery staple"


def example_copy(tmp_path: Path, *replacements: tuple[str, str]) -> Path:
    """config.example.toml, copied into tmp_path with textual edits (each must apply)."""
    text = EXAMPLE.read_text(encoding="utf-8")
    for old, new in replacements:
        assert old in text, old
        text = text.replace(old, new, 1)
    path = tmp_path / "interview-sync.toml"
    path.write_text(text, encoding="utf-8")
    path.chmod(0o600)
    return path


def cli(*args: str) -> Any:
    # Imported here, not at collection: until cli/app.py imports golive_cmd itself, an early import
    # would add these commands to the shared app before test_docs compares README with --help.
    import interview_sync.cli.golive_cmd  # noqa: F401 - registers doctor, fixtures, selftest

    return CliRunner().invoke(app, list(args))


# --- selftest -------------------------------------------------------------------------------------

def test_selftest_passes_every_scenario_with_the_example_config(tmp_path: Path) -> None:
    results = run_selftest(load_settings(EXAMPLE), workdir=tmp_path / "runs")
    assert len(results) >= 10 and len({r.name for r in results}) == len(results)
    assert [r.name for r in results if not r.passed] == [], [r.differences for r in results if not r.passed]
    by = {r.name: r for r in results}
    # the observations are real, not two empty dicts agreeing
    standard = by["standard-booking"].observed
    assert standard["emails"] == {"17002 candidate confirmation": 1, "17002 candidate invite": 1,
                                  "17002 candidate reminder_candidate": 1, "17002 hm hm_booking": 1,
                                  "17002 hm reminder_hm": 1}  # the example config has no [feedback] url
    assert standard["states"] == {"17002": "closed"}
    assert by["no-response-followup-flag"].observed["tags"] == {"17005": ["Scheduling: needs recruiter"]}
    assert by["bounced-address"].observed["alerts"] == {"17008": ["address-refused"]}
    assert by["leadership-vs-clinical"].observed["event_types"] == {"17001": "phone-screen-30",
                                                                   "17004": "leadership-video-60"}
    assert by["special-characters"].observed["recipients"] == {"17001": ["Zoë O'Brien-Nguyễn <zoe+nurse@example.org>"]}
    assert by["reschedule"].observed["emails"]["17004 hm hm_booking"] == 2
    # issue 14: texts with consent, STOP then START, a reply to the recruiter, a Spanish reader
    assert by["text-consent-stop-start"].observed["texts"] == {"17002 confirmation": 1, "17002 invite": 1}
    assert by["text-consent-stop-start"].observed["consent"] == {"17002": "granted"}
    assert by["text-question-to-recruiter"].observed["alerts"] == {"17007": ["sms_reply"]}
    assert by["spanish-candidate"].observed["languages"] == {"17001": "en", "17002": "es"}
    # mail stayed in the private outboxes
    assert list((tmp_path / "runs" / "standard-booking" / "outbox").glob("*.eml"))

    report = write_markdown(results, tmp_path / "golive.md", config_path=EXAMPLE, now=START)
    text = report.read_text(encoding="utf-8")
    assert "- Date: 2026-11-30 16:00 UTC" in text and str(EXAMPLE) in text
    assert f"{len(results)} of {len(results)} scenarios passed" in text
    for result in results:
        assert f"{result.name} — PASS" in text and result.description in text
    assert text.count("- Expected: ") == text.count("- Observed: ") == len(results)


def test_selftest_fails_naming_the_row_when_a_template_is_broken(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    templates = tmp_path / "templates" / "default"
    templates.mkdir(parents=True)
    (templates / "invite.txt.j2").write_text("Hello {{ candidate_name \n", encoding="utf-8")
    config = example_copy(tmp_path, ('# template_dir = "templates"', 'template_dir = "templates"'))
    monkeypatch.setattr(selftest_module, "SCENARIOS", (by_name("standard-booking"), by_name("missing-hiring-manager")))
    report = tmp_path / "report.md"
    result = cli("--config", str(config), "selftest", "--report", str(report))
    assert result.exit_code == 1, result.output
    assert "selftest: 1 of 2 scenario(s) failed: standard-booking" in result.stderr
    assert "invite.txt.j2" in result.stdout  # the observed column says why
    text = report.read_text(encoding="utf-8")
    assert "standard-booking — FAIL" in text and "missing-hiring-manager — PASS" in text
    assert "emails[17002 candidate invite]: expected 1, observed 0" in text


def test_selftest_fails_naming_the_rows_when_a_route_points_at_a_missing_event_type(tmp_path: Path) -> None:
    config = example_copy(tmp_path, ('event_type = "phone-screen-30"', 'event_type = "phone-screen-15"'))
    chosen = [by_name("standard-booking"), by_name("hm-fully-blocked"), by_name("leadership-vs-clinical")]
    results = {r.name: r for r in run_selftest(load_settings(config), scenarios=chosen)}
    assert not results["standard-booking"].passed  # Nursing → the broken route
    assert "alerts[17002]: expected none, observed [event-type-missing]" in results["standard-booking"].differences
    assert not results["leadership-vs-clinical"].passed
    assert any("17001" in d for d in results["leadership-vs-clinical"].differences)
    assert not any("17004" in d for d in results["leadership-vs-clinical"].differences)  # leadership route is fine
    assert results["hm-fully-blocked"].passed  # Respiratory Care takes the catch-all route


def test_selftest_json_lists_every_scenario(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(selftest_module, "SCENARIOS", (by_name("duplicate-trigger"),))
    result = cli("--config", str(EXAMPLE), "selftest", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["ok"] is True
    (row,) = data["results"]
    assert row["name"] == "duplicate-trigger" and row["passed"] is True
    assert row["observed"]["emails"] == {"17002 candidate invite": 1}


# --- fixtures -------------------------------------------------------------------------------------

def test_fixtures_cover_the_issue_list_and_use_the_seed_applications() -> None:
    names = {s.name for s in SCENARIOS}
    assert names == {"standard-booking", "hm-fully-blocked", "special-characters", "no-response-followup-flag",
                     "cancel-after-booking", "missing-hiring-manager", "duplicate-trigger", "reschedule",
                     "stage-exit-after-booking", "leadership-vs-clinical", "no-email-or-opted-out",
                     "bounce-after-acceptance", "candidate-replies", "bounced-address", "text-consent-stop-start",
                     "text-question-to-recruiter", "spanish-candidate"}
    for scenario in SCENARIOS:
        assert scenario.anchor in scenario.applications
        assert all(17001 <= int(a) <= 17010 for a in scenario.applications)
        assert any(step.action == "poll" for step in scenario.steps) and scenario.setup_steps()
    listed = cli("fixtures", "list", "--json")
    assert listed.exit_code == 0
    assert [row["name"] for row in json.loads(listed.stdout)] == [s.name for s in SCENARIOS]


@pytest.fixture
def sandbox() -> Iterator[tuple[World, SandboxServer]]:
    world = World()
    world.fixed_now = START
    server = SandboxServer(build_app(world)).start()
    try:
        yield world, server
    finally:
        server.stop()


def test_fixtures_load_puts_the_starting_position_into_a_running_sandbox(
        sandbox: tuple[World, SandboxServer]) -> None:
    world, server = sandbox
    result = cli("fixtures", "load", "hm-fully-blocked", "leadership-vs-clinical", "--sandbox-url", server.url)
    assert result.exit_code == 0, result.output
    gh = world.data["greenhouse"]
    stages = {row["id"]: row["name"] for row in gh["job_interview_stages"].values()}

    def stage_of(app_id: int) -> str:
        """Through the application's current stage visit, as Harvest v3 links them."""
        application = gh["applications"][app_id]
        visit = gh["application_stages"][application["stage_id"]]
        assert visit["current"] and stages[visit["job_interview_stage_id"]] == application["stage_name"]
        return application["stage_name"]

    assert stage_of(17003) == "First Interview"
    assert stage_of(17004) == "First Interview"
    assert stage_of(17001) == "Phone Screen"
    assert stage_of(17002) == "Application Review"  # not chosen: untouched
    assert world.data["calendly"]["blocks"]  # Priya's calendar is full
    lines = load([by_name("no-email-or-opted-out")], server.url)
    assert any("skipped" in line and "can_email" in line for line in lines)
    assert cli("fixtures", "load", "no-such", "--sandbox-url", server.url).exit_code == 2


# --- doctor ---------------------------------------------------------------------------------------

def doctor_settings(tmp_path: Path, url: str, **sections: dict[str, Any]) -> tuple[Settings, Path]:
    config = sandbox_config(url)
    for section, values in sections.items():
        config.setdefault(section, {}).update(values)
    path = tmp_path / "interview-sync.toml"
    write_config(path, config)
    return load_settings(path), path


def doctor(settings: Settings, path: Path, **kw: Any) -> list[Check]:
    return run_checks(settings, clock=FixedClock(START), config_file=path, sleeper=lambda s: None, **kw)


def failed(checks: list[Check]) -> list[str]:
    return [c.name for c in checks if not c.ok]


def test_doctor_passes_against_the_sandbox_and_records_the_review(tmp_path: Path,
                                                                  sandbox: tuple[World, SandboxServer]) -> None:
    _, server = sandbox
    settings, path = doctor_settings(tmp_path, server.url)
    StateDB.open(settings.state.path).close()
    checks = doctor(settings, path)
    assert failed(checks) == [], [(c.name, c.detail) for c in checks if not c.ok]
    names = [c.name for c in checks]
    for expected in ("config", "ats credentials", "ats token expiry", "scheduler credentials",
                     "stage 'Phone Screen'", "field mappings", "hiring manager Priya Raman",
                     "route 1 event type 'leadership-video-60'", "email outbox", "templates 'default'",
                     "state database", "secrets", "quarterly review"):
        assert expected in names, expected
    by = {c.name: c for c in checks}
    assert "expires 2026-11-30T17:00:00Z (in 60 min)" in by["ats token expiry"].detail
    assert "candidate email 9/10" in by["field mappings"].detail  # 17009 has no email: data, not mapping
    assert "integrity_check ok" in by["state database"].detail
    assert "next review by 2027-03-01" in by["quarterly review"].detail
    with StateDB.open(settings.state.path, readonly=True) as db:
        assert db.get_cursor(REVIEW_CURSOR) == "2026-11-30T16:00:00Z"
    again = {c.name: c for c in doctor(settings, path)}
    assert "previous: 2026-11-30" in again["quarterly review"].detail


def test_doctor_cli_exit_codes(tmp_path: Path, sandbox: tuple[World, SandboxServer]) -> None:
    _, server = sandbox
    with wall_clock_at(START):  # the CLI reads the system clock: in this world it is the sandbox's
        _cli_exit_codes(tmp_path, server)


def _cli_exit_codes(tmp_path: Path, server: SandboxServer) -> None:
    _, path = doctor_settings(tmp_path, server.url)
    ok = cli("--config", str(path), "doctor", "--json")
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.stdout)["ok"] is True
    path.chmod(0o644)  # the sandbox secrets are in this file
    bad = cli("--config", str(path), "doctor")
    assert bad.exit_code == 1
    assert "doctor: 1 check(s) failed: secrets" in bad.stderr
    assert "INTERVIEW_SYNC_ATS__CLIENT_SECRET" in bad.stdout
    missing = cli("--config", str(tmp_path / "nope.toml"), "doctor")
    assert missing.exit_code == 2 and "config" in missing.stdout


def test_doctor_revoked_token_is_its_own_failed_line(tmp_path: Path, sandbox: tuple[World, SandboxServer]) -> None:
    _, server = sandbox
    settings, path = doctor_settings(tmp_path, server.url)
    requests.post(f"{server.url}/_admin/greenhouse/revoke", json={}, timeout=10).raise_for_status()
    checks = {c.name: c for c in doctor(settings, path)}
    assert not checks["ats credentials"].ok and "401" in checks["ats credentials"].detail
    assert "sandbox-secret" not in checks["ats credentials"].detail  # never the secret
    for unaffected in ("config", "scheduler credentials", "email outbox", "templates 'default'", "secrets"):
        assert checks[unaffected].ok, unaffected


def test_doctor_missing_stage_is_its_own_failed_line(tmp_path: Path, sandbox: tuple[World, SandboxServer]) -> None:
    _, server = sandbox
    stages = ["Phone Screen", "First Interview", "Panel Interview", "Final Chat"]
    settings, path = doctor_settings(tmp_path, server.url, ats={"interview_stages": stages})
    checks = doctor(settings, path)
    assert failed(checks) == ["stage 'Final Chat'"]
    (line,) = [c for c in checks if not c.ok]
    assert "Phone Screen" in line.fix  # it lists the spellings the ATS knows


def test_doctor_blocked_hiring_manager_is_its_own_failed_line(tmp_path: Path,
                                                              sandbox: tuple[World, SandboxServer]) -> None:
    _, server = sandbox
    settings, path = doctor_settings(tmp_path, server.url)
    SandboxClient(server.url).block(PRIYA, days=30)
    checks = doctor(settings, path)
    assert failed(checks) == ["hiring manager Priya Raman"]
    (line,) = [c for c in checks if not c.ok]
    assert "no free first-interview-45 slot in the next 10 days" in line.detail


def test_doctor_broken_template_is_its_own_failed_line(tmp_path: Path, sandbox: tuple[World, SandboxServer]) -> None:
    _, server = sandbox
    (tmp_path / "tpl" / "default").mkdir(parents=True)
    (tmp_path / "tpl" / "default" / "followup.subject.j2").write_text("{{ no_such_key }}", encoding="utf-8")
    settings, path = doctor_settings(tmp_path, server.url, email={"template_dir": "tpl"})
    checks = doctor(settings, path)
    assert failed(checks) == ["templates 'default'"]
    (line,) = [c for c in checks if not c.ok]
    assert "1 of 10 kinds fail" in line.detail and "followup.subject.j2" in line.detail


class _Sink:
    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        return "250 OK"


def _authenticator(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
    ok = (isinstance(auth_data, LoginPassword) and auth_data.login == SMTP_USER.encode()
          and auth_data.password == SMTP_PASSWORD.encode())
    return AuthResult(success=ok, handled=False)


@pytest.fixture
def smtp_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    controller = Controller(_Sink(), hostname="127.0.0.1", port=port, authenticator=_authenticator,
                            auth_require_tls=False)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


@pytest.mark.parametrize("password, ok", [("wrong password", False), (SMTP_PASSWORD, True)])
def test_doctor_smtp_login(tmp_path: Path, sandbox: tuple[World, SandboxServer], smtp_port: int,
                           password: str, ok: bool) -> None:
    _, server = sandbox
    settings, path = doctor_settings(tmp_path, server.url, email={
        "transport": "smtp", "smtp_host": "127.0.0.1", "smtp_port": smtp_port, "smtp_security": "none",
        "smtp_username": SMTP_USER, "smtp_password": password})
    checks = doctor(settings, path)
    assert failed(checks) == ([] if ok else ["smtp login"])
    line = next(c for c in checks if c.name == "smtp login")
    if ok:
        assert f"connected as {SMTP_USER}" in line.detail
    else:
        assert "refused the login" in line.detail and password not in line.detail + line.fix
