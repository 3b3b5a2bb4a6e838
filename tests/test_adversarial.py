"""Hostile data, failing vendors, broken state, and secrets: the tool must hold.

- Parsers (Hypothesis): every vendor record, however malformed (missing
  fields, wrong types, huge strings, control characters, NULs), becomes a
  parsed record or one BadRecord; a listing never crashes and never drops the
  good records around a bad one.
- Vendor faults injected through the sandbox's ``/_admin/faults`` (5xx,
  gateway timeouts, truncated JSON, 401 mid-poll, revoked/expired tokens):
  state stays consistent (the cursor does not move past what was not read,
  nothing is sent twice) and the next poll does the work.
- A corrupt or read-only state DB: one clear line, exit 2, nothing sent.
- Secrets never appear in ``--verbose`` output, logs, exceptions, exports,
  the state DB file or the outbox.
"""

from __future__ import annotations

import logging
import os
import re
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import requests
import responses
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from harness import START, Harness, wall_clock_at
from interview_sync.ats import greenhouse as gh_adapter
from interview_sync.ats.greenhouse import GreenhouseATS
from interview_sync.cli.app import app as cli
from interview_sync.clock import FixedClock, iso
from interview_sync.errors import BadRecord
from interview_sync.http import VendorSession
from interview_sync.models import AppStatus
from interview_sync.scheduler.calendly import CalendlyScheduler
from interview_sync.starter import sandbox_config, write_config

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))

# --------------------------------------------------------------------------- strategies

NASTY_TEXT = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["", " ", "\x00", "a\x00b", "\u202egnp.exe", "\r\n", "\ud7ff", "null", "None",
                     "9" * 5000, "x" * 100_000, "2026-11-30T16:00:00Z", "2026-13-45T99:99:99Z",
                     "in_process", "Phone Screen", "-1", "1e999", "\x1b[31m"]),
)
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(min_value=-2**70, max_value=2**70),
                    st.floats(allow_nan=True, allow_infinity=True), NASTY_TEXT)
JSON = st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                      st.dictionaries(NASTY_TEXT, inner, max_size=3)),
                    max_leaves=6)


def records(fields: list[str], values: st.SearchStrategy[Any] = JSON,
            scalar_only: tuple[str, ...] = ()) -> st.SearchStrategy[dict[str, Any]]:
    """Dicts with any subset of ``fields`` set to anything (``scalar_only`` fields: any scalar)."""
    return st.fixed_dictionaries({}, optional={name: SCALARS if name in scalar_only else values for name in fields})


APPLICATION_FIELDS = ["id", "candidate_id", "job_id", "stage_id", "stage_name", "status", "updated_at",
                      "custom_fields"]
APPLICATIONS = records(APPLICATION_FIELDS)
T0 = datetime(2026, 11, 30, 16, 0, tzinfo=timezone.utc)
GH = "https://harvest.greenhouse.example/v3"
TOKEN_URL = "https://auth.greenhouse.example/token"
CAL = "https://api.calendly.example"


def good_application(app_id: int) -> dict[str, Any]:
    return {"id": app_id, "candidate_id": app_id - 10000, "job_id": 101, "stage_id": 10102,
            "stage_name": "Phone Screen", "status": "in_process", "updated_at": "2026-11-30T15:00:00.000Z"}


# --------------------------------------------------------------------------- Greenhouse parsers


@FUZZ
@given(st.one_of(JSON, APPLICATIONS))
def test_greenhouse_application_parser_returns_or_raises_bad_record(record: Any) -> None:
    try:
        listed = gh_adapter._parse_application(record)
    except BadRecord as exc:
        assert str(exc).startswith("greenhouse application")
        assert "\x00" not in str(exc)[:60] or "field" in str(exc)  # names the field, not the payload
        return
    app = listed.app
    assert app.id and app.candidate_id and app.status in {AppStatus(s) for s in gh_adapter.STATUSES}
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in app.custom.items())


@FUZZ
@given(records(["id", "first_name", "last_name", "email_addresses", "emails", "phone_numbers", "can_email"]))
def test_greenhouse_candidate_parser_returns_or_raises_bad_record(record: dict[str, Any]) -> None:
    try:
        candidate = gh_adapter._parse_candidate(record)
    except BadRecord:
        return
    assert isinstance(candidate.first_name, str) and isinstance(candidate.can_email, bool)
    assert candidate.email is None or isinstance(candidate.email, str)


@FUZZ
@given(st.one_of(JSON, records(["id", "first_name", "last_name", "name", "primary_email", "emails", "job_title"])))
def test_greenhouse_user_parser_returns_or_raises_bad_record(record: Any) -> None:
    try:
        person = gh_adapter._parse_user(record)
    except BadRecord:
        return
    assert person.id and isinstance(person.name, str)


def greenhouse(sleeper: Any = None) -> GreenhouseATS:
    return GreenhouseATS(base_url=GH, token_url=TOKEN_URL, client_id="id", client_secret="s", user_id="4005",
                         session=VendorSession("greenhouse", sleeper=sleeper or (lambda s: None)),
                         clock=FixedClock(T0), per_page=100)


@FUZZ
@given(bad=st.lists(st.one_of(JSON, APPLICATIONS), min_size=1, max_size=4),
       positions=st.lists(st.integers(min_value=0, max_value=6), min_size=4, max_size=4))
def test_greenhouse_listing_keeps_every_good_record_around_bad_ones(bad: list[Any], positions: list[int]) -> None:
    good = [good_application(17001 + i) for i in range(3)]
    page: list[Any] = list(good)
    for record, where in zip(bad, positions):
        page.insert(min(where, len(page)), record)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add(responses.POST, TOKEN_URL, json={"access_token": "t", "expires_in": 3600})
        mock.add(responses.GET, f"{GH}/applications", json=page)
        mock.add(responses.GET, f"{GH}/application_stages", json=[])
        mock.add(responses.GET, f"{GH}/job_interview_stages", json=[])
        ats = greenhouse()
        apps = list(ats.changed_applications(None))
    ids = [a.id for a in apps]
    for record in good:
        assert str(record["id"]) in ids, "a good record was lost next to a bad one"
    parsed_bad = len(apps) - len(good)
    assert parsed_bad + len(ats.bad_records) >= len(bad)  # each bad one: parsed (it was valid) or reported
    assert len(ats.bad_records) <= len(bad)  # at most one report per record


@pytest.mark.parametrize("status", [[], {"x": 1}])
def test_greenhouse_unhashable_status_is_one_bad_record_not_a_crash(status: Any) -> None:
    page = [good_application(17001), {**good_application(17002), "status": status}, good_application(17003)]
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add(responses.POST, TOKEN_URL, json={"access_token": "t", "expires_in": 3600})
        mock.add(responses.GET, f"{GH}/applications", json=page)
        mock.add(responses.GET, f"{GH}/application_stages", json=[])
        mock.add(responses.GET, f"{GH}/job_interview_stages", json=[])
        ats = greenhouse()
        apps = list(ats.changed_applications(None))
    assert [a.id for a in apps] == ["17001", "17003"] and len(ats.bad_records) == 1


# --------------------------------------------------------------------------- Calendly parsers

EVENT_FIELDS = ["uri", "start_time", "end_time", "location", "event_memberships", "cancellation", "status",
                "updated_at", "event_type"]
INVITEE_FIELDS = ["uri", "email", "name", "tracking", "status", "updated_at", "created_at", "cancel_url",
                  "reschedule_url", "rescheduled", "new_invitee", "old_invitee", "cancellation", "no_show"]
NESTED = {"location", "event_memberships", "cancellation", "tracking"}
# Scalars anywhere, but nested objects only as dicts (or missing): the shapes the parser handles today.
TAME = st.one_of(SCALARS.filter(lambda v: v is not None), st.dictionaries(NASTY_TEXT, SCALARS, max_size=3))


def tame_records(fields: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({}, optional={
        name: (st.dictionaries(st.sampled_from(["utm_content", "location", "join_url", "reason",
                                                 "canceler_type", "user_email"]), SCALARS, max_size=3)
               if name in NESTED and name != "event_memberships"
               else st.lists(st.dictionaries(st.sampled_from(["user_email"]), SCALARS, max_size=1), max_size=2)
               if name == "event_memberships" else TAME)
        for name in fields})


def good_event(n: int) -> dict[str, Any]:
    return {"uri": f"{CAL}/scheduled_events/ev{n}", "start_time": "2026-12-02T17:00:00.000000Z",
            "end_time": "2026-12-02T17:30:00.000000Z", "status": "active", "updated_at": "2026-11-30T15:59:00.000000Z",
            "event_memberships": [{"user_email": "maria.delgado@mercyvalley.example"}], "location": {}}


def good_invitee(n: int) -> dict[str, Any]:
    return {"uri": f"{CAL}/scheduled_events/ev{n}/invitees/in{n}", "email": f"c{n}@example.org", "name": "C",
            "status": "active", "tracking": {"utm_content": f"is-{n}"}, "updated_at": "2026-11-30T15:59:00.000000Z"}


def calendly_listing(events: list[dict[str, Any]], invitees: dict[str, list[Any]]) -> tuple[list[Any], list[BadRecord]]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add(responses.GET, f"{CAL}/users/me", json={"resource": {"uri": f"{CAL}/users/me1",
                                                                      "current_organization": f"{CAL}/organizations/o"}})
        mock.add(responses.GET, f"{CAL}/scheduled_events", json={"collection": events, "pagination": {}})
        for event_id, rows in invitees.items():
            mock.add(responses.GET, f"{CAL}/scheduled_events/{event_id}/invitees",
                     json={"collection": rows, "pagination": {}})
        scheduler = CalendlyScheduler(base_url=CAL, api_token="t", session=VendorSession("calendly"),
                                      clock=FixedClock(T0))
        bookings = list(scheduler.changed_bookings(T0 - timedelta(hours=1), T0))
    return bookings, scheduler.bad_records


@FUZZ
@given(event=tame_records(EVENT_FIELDS), invitee=tame_records(INVITEE_FIELDS))
def test_calendly_listing_keeps_good_bookings_around_a_bad_invitee(event: dict[str, Any],
                                                                   invitee: dict[str, Any]) -> None:
    bad_event = {**good_event(2), **event, "uri": f"{CAL}/scheduled_events/ev2",
                 "updated_at": "2026-11-30T15:59:00.000000Z"}
    bookings, bad = calendly_listing([good_event(1), bad_event, good_event(3)],
                                     {"ev1": [good_invitee(1)], "ev2": [invitee], "ev3": [good_invitee(3)]})
    refs = {b.ref for b in bookings}
    assert {"is-1", "is-3"} <= refs, "a good booking was lost next to a bad one"
    assert len(bookings) + len(bad) == 3  # the odd one is either a booking or exactly one report


@pytest.mark.parametrize("field, value", [("tracking", ["is-2"]), ("location", "Room 5"),
                                          ("cancellation", "no"), ("event_memberships", ["maria@x"])])
def test_calendly_wrong_nested_type_is_one_bad_record_not_a_crash(field: str, value: Any) -> None:
    invitee, event = good_invitee(2), good_event(2)
    (invitee if field in ("tracking", "cancellation") else event)[field] = value
    bookings, bad = calendly_listing([good_event(1), event, good_event(3)],
                                     {"ev1": [good_invitee(1)], "ev2": [invitee], "ev3": [good_invitee(3)]})
    assert {b.ref for b in bookings} == {"is-1", "is-3"} and len(bad) == 1


# --------------------------------------------------------------------------- vendor faults


def fault(h: Harness, path: str, status: int, times: int = 1, body: Any = None,
          headers: dict[str, str] | None = None) -> None:
    for _ in range(times):
        spec: dict[str, Any] = {"path": path, "status": status, "headers": headers or {}}
        if body is not None:
            spec["body"] = body
        requests.post(f"{h.server.url}/_admin/faults", json=spec, timeout=5).raise_for_status()


def sent(h: Harness) -> Counter[tuple[str, str]]:
    return Counter((str(m["To"]), str(m["X-Interview-Sync-Kind"])) for m in h.emails())


@pytest.fixture
def baselined(harness: Harness) -> Harness:
    """A sandbox whose baseline is recorded, with 17001 just moved into an interview stage."""
    harness.at(0)
    assert not harness.poll().errors
    harness.at(0.1)
    harness.sandbox.move("17001", "Phone Screen")
    return harness


RETRIES = 3  # VendorSession's default: a fault must repeat retries + 1 times to outlast it


@pytest.mark.parametrize("label, path, status, times, body", [
    ("500s", "/v3/applications", 500, RETRIES + 1, None),
    ("gateway timeouts", "/v3/applications", 504, RETRIES + 1, None),
    ("truncated JSON", "/v3/applications", 200, 1, '[{"id": 17001, "candidate_id": 70'),
    ("JSON of the wrong shape", "/v3/applications", 200, 1, {"applications": []}),
    ("revoked token", "/v3/applications", 401, 2, None),  # the adapter re-mints once on 401
])
def test_ats_read_fault_keeps_cursor_and_next_poll_does_the_work(baselined: Harness, label: str, path: str,
                                                                 status: int, times: int, body: Any) -> None:
    h = baselined
    cursor = h.ctx.db.get_cursor("ats")
    fault(h, path, status, times, body)
    report = h.poll()
    assert any("reading the ATS stopped" in e for e in report.errors), (label, report.errors)
    assert h.ctx.db.get_cursor("ats") == cursor, "the cursor moved past changes that were not read"
    assert h.ctx.db.invitations(application_id="17001") == []
    assert not h.emails()
    h.at(0.2)
    assert not h.poll().errors
    h.at(0.3)
    h.poll()
    assert sent(h) == Counter({("Zoë O'Brien-Nguyễn <zoe+nurse@example.org>", "invite"): 1})


@pytest.mark.parametrize("status, times, body", [(500, RETRIES + 1, None),
                                                 (200, 1, '{"collection": [{"uri": "x", "upd')])
def test_scheduler_read_fault_keeps_its_cursor(baselined: Harness, status: int, times: int, body: Any) -> None:
    h = baselined
    assert not h.poll().errors  # invite 17001
    h.sandbox.book("17001", at=START + timedelta(days=2))
    h.at(1)
    cursor = h.ctx.db.get_cursor("scheduler")
    fault(h, "/scheduled_events", status, times, body)
    report = h.poll()
    assert any("reading the scheduler stopped" in e for e in report.errors)
    assert h.ctx.db.get_cursor("scheduler") == cursor
    assert h.invitation("17001").state.value == "invited"
    h.at(1.1)
    assert not h.poll().errors
    h.at(1.2)
    h.poll()
    assert h.invitation("17001").state.value == "booked"
    kinds = Counter(kind for _, kind in sent(h).elements())
    assert kinds["invite"] == 1 and kinds["confirmation"] == 1 and kinds["hm_booking"] == 1


def test_401_mid_poll_on_a_detail_read_is_retried_next_poll_without_duplicates(baselined: Harness) -> None:
    h = baselined
    fault(h, "/v3/candidates", 401, times=2)  # after the listing: the candidate read for the invite
    report = h.poll()
    assert report.errors and not h.emails()
    assert h.invitation("17001").state.value == "pending"
    h.at(0.2)
    h.poll()
    h.at(0.3)
    h.poll()
    assert sent(h) == Counter({("Zoë O'Brien-Nguyễn <zoe+nurse@example.org>", "invite"): 1})
    assert len(h.notes("17001")) == 1


def test_token_expired_early_on_the_server_is_reminted_transparently(baselined: Harness) -> None:
    h = baselined
    with h.world.lock:
        for grant in h.world.data["greenhouse"]["tokens"].values():
            grant["expires_at"] = h.world.now() - timedelta(seconds=1)
    mints = h.world.requests["POST /auth/token"]
    report = h.poll()
    assert not report.errors
    assert h.world.requests["POST /auth/token"] == mints + 1
    assert sent(h)[("Zoë O'Brien-Nguyễn <zoe+nurse@example.org>", "invite")] == 1


def test_revoked_credentials_mid_run_stop_cleanly_and_recover(baselined: Harness) -> None:
    h = baselined
    requests.post(f"{h.server.url}/_admin/greenhouse/revoke", timeout=5)
    cursor = h.ctx.db.get_cursor("ats")
    report = h.poll()
    assert report.errors and h.ctx.db.get_cursor("ats") == cursor and not h.emails()
    requests.post(f"{h.server.url}/_admin/greenhouse/restore", timeout=5)
    h.at(0.2)
    assert not h.poll().errors
    assert len(h.emails_to("zoe+nurse@example.org", "invite")) == 1


# --------------------------------------------------------------------------- state DB


def cli_config(tmp: Path, url: str, name: str = "interview-sync.toml", **email: Any) -> Path:
    """A config of its own under ``tmp`` (the harness keeps its files in the test's tmp_path)."""
    config = sandbox_config(url, state_path=str(tmp / "state.db"), outbox_dir=str(tmp / "outbox"))
    config["email"].update(email)
    path = tmp / name
    write_config(path, config)
    return path


def run_cli(config: Path, *args: str, env: dict[str, str] | None = None, wall_clock: datetime | None = None) -> Any:
    """The CLI in-process; ``wall_clock`` pins the real time it reads vendors at (the sandbox's)."""
    if wall_clock is not None:
        with wall_clock_at(wall_clock):
            return run_cli(config, *args, env=env)
    return CliRunner().invoke(cli, ["--config", str(config), *args], env=env, catch_exceptions=False)


@pytest.fixture
def live(harness: Harness) -> Harness:
    harness.at(0)
    harness.sandbox.move("17001", "Phone Screen")
    return harness


def assert_nothing_sent(h: Harness, tmp: Path) -> None:
    assert not list((tmp / "outbox").glob("*.eml")) if (tmp / "outbox").exists() else True
    assert h.world.requests["POST /scheduling_links"] == 0
    assert h.world.requests["POST /v3/notes"] == 0


def test_corrupt_state_db_is_one_line_exit_2_and_nothing_sent(live: Harness, tmp_path: Path) -> None:
    tmp_path = tmp_path / "cli"
    tmp_path.mkdir()
    config = cli_config(tmp_path, live.server.url)
    (tmp_path / "state.db").write_bytes(b"this is not a database\x00" * 200)
    result = run_cli(config, "poll", "--backfill", "--now", iso(live.clock.now()))
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "corrupt" in lines[0] and "state.db" in lines[0], result.output
    assert "Traceback" not in result.output
    assert_nothing_sent(live, tmp_path)


def test_read_only_state_db_is_one_line_exit_2_and_nothing_sent(live: Harness, tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    tmp_path = tmp_path / "cli"
    tmp_path.mkdir()
    config = cli_config(tmp_path, live.server.url)
    db = tmp_path / "state.db"
    assert run_cli(config, "status").exit_code == 2  # no DB yet: status refuses, creates nothing
    from interview_sync.state import StateDB

    StateDB.open(db).close()  # a valid, migrated, empty store
    db.chmod(0o444)
    if os.geteuid() == 0:  # root ignores file modes: make the open fail the way it does for everyone else
        real_open = os.open

        def refusing_open(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
            if Path(path) == db and flags & (os.O_RDWR | os.O_WRONLY):
                raise PermissionError(13, "Permission denied", str(path))
            return real_open(path, flags, *args, **kwargs)

        monkeypatch.setattr("interview_sync.state.db.os.open", refusing_open)
    result = run_cli(config, "poll", "--backfill", "--now", iso(live.clock.now()))
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "read-only" in lines[0], result.output
    assert_nothing_sent(live, tmp_path)


# --------------------------------------------------------------------------- secrets

SECRETS = {
    "client_secret": "gh-CLIENT-SECRET-7f3a9c1e5d",
    "api_token": "cal-API-TOKEN-2b8e6d4f0a",
    "smtp_password": "smtp-PASSWORD-9c7e5a3b1d",
}


@pytest.fixture
def secret_sandbox(harness: Harness, monkeypatch: pytest.MonkeyPatch) -> Iterator[Harness]:
    """The sandbox accepts only the distinctive secrets (module constants read per request)."""
    monkeypatch.setattr("interview_sync.sandbox.greenhouse.CLIENT_SECRET", SECRETS["client_secret"])
    monkeypatch.setattr("interview_sync.sandbox.calendly.API_TOKEN", SECRETS["api_token"])
    harness.at(0)
    yield harness


def secret_env() -> dict[str, str]:
    return {"INTERVIEW_SYNC_ATS__CLIENT_SECRET": SECRETS["client_secret"],
            "INTERVIEW_SYNC_SCHEDULER__API_TOKEN": SECRETS["api_token"],
            "INTERVIEW_SYNC_EMAIL__SMTP_PASSWORD": SECRETS["smtp_password"]}


def leaks(text: str | bytes) -> list[str]:
    blob = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
    return [name for name, value in SECRETS.items() if value in blob or value.lower() in blob.lower()]


def test_secrets_never_reach_output_logs_exports_db_or_outbox(secret_sandbox: Harness, tmp_path: Path,
                                                              caplog: pytest.LogCaptureFixture) -> None:
    h = secret_sandbox
    tmp_path = tmp_path / "cli"
    tmp_path.mkdir()
    config = cli_config(tmp_path, h.server.url)
    for key in ("client_secret", "api_token"):  # only in the environment, as the README says
        text = config.read_text(encoding="utf-8")
        config.write_text(re.sub(rf'^{key} = ".*"$', "", text, flags=re.M), encoding="utf-8")
    env = secret_env()
    caplog.set_level(logging.DEBUG)
    captured: list[str] = []

    def poll(hours: float, *extra: str) -> None:
        now = h.at(hours)
        result = run_cli(config, "--verbose", "poll", *extra, "--now", iso(now), env=env, wall_clock=now)
        captured.append(result.output)

    poll(0)  # baseline
    h.sandbox.move("17001", "Phone Screen")
    h.sandbox.move("17003", "First Interview")
    fault(h, "/v3/candidates", 401, times=2)  # an auth error mid-poll: its message must not carry the secret
    fault(h, "/scheduled_events", 500, times=RETRIES + 1)
    poll(0.1)
    poll(0.2)
    h.sandbox.book("17001", at=START + timedelta(days=2))
    poll(1)
    requests.post(f"{h.server.url}/_admin/greenhouse/revoke", timeout=5)
    poll(2)  # every Greenhouse call refused: 401 messages everywhere
    requests.post(f"{h.server.url}/_admin/greenhouse/restore", timeout=5)
    poll(3, "--dry-run")
    poll(3, "--json")
    # an SMTP transport that cannot connect, with a username and the password set
    smtp_config = cli_config(tmp_path, h.server.url, "smtp.toml", transport="smtp", smtp_host="127.0.0.1", smtp_port=9,
                             smtp_security="none", smtp_username="talent")
    h.sandbox.move("17004", "First Interview")
    captured.append(run_cli(smtp_config, "--verbose", "poll", "--now", iso(h.at(4)), env=env,
                            wall_clock=h.clock.now()).output)
    for kind in ("events", "invitations"):
        for fmt in ("csv", "jsonl"):
            result = run_cli(config, "audit", "export", "--kind", kind, "--format", fmt, env=env)
            assert result.exit_code == 0, result.output
            captured.append(result.output)
    captured.append(run_cli(config, "--verbose", "status", env=env).output)

    assert any("request(s)" in out for out in captured), "--verbose printed nothing to check"
    outbox = list((tmp_path / "outbox").glob("*.eml"))
    assert outbox, "the polls sent nothing: the check would be vacuous"
    found = {
        "cli output": leaks("\n".join(captured)),
        "logs": leaks("\n".join(r.getMessage() for r in caplog.records)),
        "state db": leaks(b"".join(p.read_bytes() for p in tmp_path.glob("state.db*") if p.is_file())),
        "outbox": leaks(b"".join(p.read_bytes() for p in outbox)),
    }
    assert found == {k: [] for k in found}


def test_vendor_errors_and_session_reprs_carry_no_secret(secret_sandbox: Harness) -> None:
    h = secret_sandbox
    requests.post(f"{h.server.url}/_admin/greenhouse/revoke", timeout=5)
    ats = GreenhouseATS(base_url=f"{h.server.url}/v3", token_url=f"{h.server.url}/auth/token",
                        client_id="sandbox-client", client_secret=SECRETS["client_secret"], user_id="4005",
                        session=VendorSession("greenhouse", sleeper=lambda s: None), clock=h.clock)
    with pytest.raises(Exception) as caught:
        ats.get_candidate("7001")
    chain, exc = [], caught.value
    while exc is not None:
        chain.append(f"{exc!r} {exc}")
        exc = exc.__cause__ or exc.__context__
    assert leaks("\n".join(chain)) == []


# --------------------------------------------------------------------------- rate-limit pacing


class SimClock:
    def __init__(self, start: float) -> None:
        self.t = start

    def __call__(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.t += seconds


def test_a_burst_against_the_sandbox_limiter_gets_no_429_and_near_minimum_time(harness: Harness) -> None:
    """120 requests at 50 per 10 s, in simulated time shared by the sandbox limiter and the session."""
    sim = SimClock(1_796_054_400.0)  # a window boundary
    gh = harness.world.data["greenhouse"]
    gh["rate_clock"], gh["rate_limit"] = sim, {"limit": 50, "window": 10}
    token = requests.post(f"{harness.server.url}/auth/token", auth=("sandbox-client", "sandbox-secret"),
                          data={"grant_type": "client_credentials", "sub": "4005"}, timeout=5).json()
    session = VendorSession("greenhouse", sleeper=sim.sleep, clock=sim, retries=0)
    start = sim.t
    for _ in range(120):  # retries=0: a single 429 would raise
        session.request("GET", f"{harness.server.url}/v3/users", params={"per_page": "1"},
                        headers={"Authorization": f"Bearer {token['access_token']}"})
    floor = 20.0  # the third window opens at +20 s
    assert floor <= sim.t - start <= floor * 1.1 + 10 * 0.1  # the last window's spread tail is at most 1/11 of it


@pytest.mark.parametrize("headers, expected_wait", [
    ({"X-RateLimit-Limit": "50", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "8"}, 8.05),  # Calendly: delay
    ({"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(1_000_000_000 + 4)}, 4.05),  # Greenhouse: Unix time
    ({"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str((1_000_000_000 + 6) * 1000)}, 6.05),  # ms
    ({"X-RateLimit-Limit-Default": "120", "X-RateLimit-Remaining-Default": "0",  # Cal.com: named buckets
      "X-RateLimit-Reset-Default": str(1_000_000_000 + 3), "X-RateLimit-Remaining-Burst": "9",
      "X-RateLimit-Reset-Burst": "1"}, 3.05),
    ({"X-RateLimit-Limit": "50", "X-RateLimit-Remaining": "40", "X-RateLimit-Reset": "8"}, 0.0),
    ({"X-RateLimit-Remaining": "zero", "X-RateLimit-Reset": "soon"}, 0.0),  # unreadable: no pacing
])
def test_pacer_reads_each_vendors_rate_limit_dialect(headers: dict[str, str], expected_wait: float) -> None:
    from interview_sync.http import RatePacer

    sim = SimClock(1_000_000_000.0)
    pacer = RatePacer(sim, sim.sleep)
    pacer.observe(headers)
    assert pacer.delay() == pytest.approx(expected_wait)
    assert pacer.before_request() == pytest.approx(expected_wait) and sim.t == pytest.approx(1e9 + expected_wait)
