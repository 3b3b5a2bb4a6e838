"""Issue 11: the `doctor --probe` runner and `--probe-writes`.

The vendor probe modules are written separately; these tests put stand-in
modules under the names the runner looks for (``interview_sync.probe.greenhouse``
...) so they test the runner itself: how it finds a module, what it hands it
(a read view, over a session that only reads), how failures become lines, and
that the sandbox sees no write after `doctor --probe`. The harness clock is
pinned and handed to the CLI in place of the system clock.
"""

from __future__ import annotations

import json
import sys
import types
from collections.abc import Callable
from typing import Any

import pytest
from harness import Harness
from typer.testing import CliRunner

from interview_sync.cli.app import app
from interview_sync.doctor import Check
from interview_sync.errors import VendorError
from interview_sync.probe import ReadView, WriteRefused, probe_adapter, run_probe, vendor_of
from interview_sync.probe.writes import run_probe_writes

WRITE_VERBS = ("POST", "PUT", "PATCH", "DELETE")


def _install(monkeypatch: pytest.MonkeyPatch, vendor: str, probe: Callable[..., list[Check]]) -> None:
    module = types.ModuleType(f"interview_sync.probe.{vendor}")
    module.probe = probe  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, module.__name__, module)


def _greenhouse_probe(seen: dict[str, Any]) -> Callable[..., list[Check]]:
    """Reads like a vendor probe would (Protocol reads and a raw helper), then tries to write
    both ways and reports what the runner let it do."""

    def probe(adapter: Any, *, sample: int) -> list[Check]:
        seen["adapter"], seen["sample"] = adapter, sample
        apps = []
        for app in adapter.changed_applications(None):
            apps.append(app)
            if len(apps) >= sample:
                break
        rows = adapter._all("/application_stages", {"application_ids": apps[0].id})
        checks = [Check("applications sampled", bool(apps), f"{len(apps)} read; {len(rows)} stage row(s)")]
        for name, attempt in (("protocol write", lambda: adapter.add_note(apps[0], "probe")),
                              ("raw write", lambda: adapter._send("POST", adapter.base_url + "/notes", json={}))):
            try:
                attempt()
            except WriteRefused as exc:
                checks.append(Check(name, True, f"refused: {exc.message}"))
            else:
                checks.append(Check(name, False, "a write got through"))
        return checks

    return probe


def _calendly_probe(adapter: Any, *, sample: int) -> list[Check]:
    host = adapter.find_host("maria.delgado@mercyvalley.example")
    return [Check("host found", host is not None, host.uri if host else "none")]


def test_runner_hands_each_vendor_module_a_read_view(harness: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, Any] = {}
    _install(monkeypatch, "greenhouse", _greenhouse_probe(seen))
    _install(monkeypatch, "calendly", _calendly_probe)
    checks = run_probe(harness.settings, clock=harness.clock, sample=3, sleeper=lambda s: None)
    assert [(c.name, c.ok) for c in checks] == [("applications sampled", True), ("protocol write", True),
                                                 ("raw write", True), ("host found", True)]
    assert isinstance(seen["adapter"], ReadView) and seen["sample"] == 3
    assert "refused POST" in checks[2].detail and "/v3/notes" in checks[2].detail


def test_doctor_probe_sends_no_write_to_the_sandbox(harness: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    _install(monkeypatch, "greenhouse", _greenhouse_probe({}))
    _install(monkeypatch, "calendly", _calendly_probe)
    monkeypatch.setattr("interview_sync.cli.golive_cmd.SystemClock", lambda: harness.clock)
    harness.world.requests.clear()
    result = CliRunner().invoke(app, ["--config", str(harness.config_path), "doctor", "--probe", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["ok"] is True and len(data["checks"]) == 4
    sent = dict(harness.world.requests)
    assert sent.get("GET /v3/applications", 0) >= 1 and sent.get("GET /organization_memberships", 0) >= 1
    writes = {endpoint: n for endpoint, n in sent.items() if endpoint.split()[0] in WRITE_VERBS}
    assert writes == {"POST /auth/token": 1}  # minting the read token is the only POST


def test_a_vendor_without_a_probe_module_is_one_failed_line() -> None:
    class WorkdayATS:
        name = "workday"

    WorkdayATS.__module__ = "interview_sync.ats.workday"
    checks = probe_adapter("ats", WorkdayATS(), sample=5)
    assert [(c.name, c.ok, c.detail) for c in checks] == [("ats probe (workday)", False, "no probe for workday yet")]
    assert vendor_of(WorkdayATS()) == "workday"


def test_a_failing_probe_is_a_line_and_the_session_is_restored(harness: Harness,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(adapter: Any, *, sample: int) -> list[Check]:
        raise VendorError("greenhouse", "GET /v3/application_stages was refused (403)", "grant the permission")

    _install(monkeypatch, "greenhouse", broken)
    _install(monkeypatch, "calendly", lambda adapter, *, sample: [])
    ats = harness.ctx.ats
    session = ats.session  # type: ignore[attr-defined]
    checks = run_probe(harness.settings, clock=harness.clock, ats=ats, scheduler=harness.ctx.scheduler)
    assert [(c.name, c.ok) for c in checks] == [("ats probe (greenhouse)", False), ("scheduler probe (calendly)", False)]
    assert checks[0].detail == "greenhouse: GET /v3/application_stages was refused (403)"
    assert checks[0].fix == "grant the permission"
    assert checks[1].detail == "the probe checked nothing"
    assert ats.session is session  # type: ignore[attr-defined]  # the poll's adapter writes again afterwards


def test_doctor_probe_exits_1_on_a_failed_line_and_probe_writes_needs_probe(
        harness: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    _install(monkeypatch, "greenhouse", lambda adapter, *, sample: [Check("stage ids", False, "no match", "fix")])
    _install(monkeypatch, "calendly", _calendly_probe)
    monkeypatch.setattr("interview_sync.cli.golive_cmd.SystemClock", lambda: harness.clock)
    base = ["--config", str(harness.config_path), "doctor"]
    result = CliRunner().invoke(app, [*base, "--probe"])
    assert result.exit_code == 1
    assert "stage ids\tFAIL\tno match\tfix" in result.stdout and "1 check(s) failed: stage ids" in result.stderr
    alone = CliRunner().invoke(app, [*base, "--probe-writes", "17001"])
    assert alone.exit_code == 2 and "--probe-writes needs --probe" in alone.stderr


@pytest.mark.parametrize("ats", ["greenhouse", "lever"])
def test_probe_writes_adds_a_note_and_the_tag_then_removes_the_tag(tmp_path: Any, ats: str) -> None:
    h = Harness(tmp_path, ats=ats)
    try:
        before = h.ats_record("17001")
        checks = run_probe_writes(h.settings, h.app_id("17001"), clock=h.clock, ats=h.ctx.ats)
        assert [(c.name, c.ok) for c in checks] == [("probe-writes application", True), ("probe-writes note", True),
                                                    ("probe-writes tag", True), ("probe-writes tag removal", True)]
        assert "interview-sync has no way to delete notes" in checks[1].detail
        after = h.ats_record("17001")
        assert len(after["notes"]) == len(before["notes"]) + 1
        assert after["notes"][-1].startswith("[interview-sync] doctor --probe-writes test note (2026-11-30T16:00:00Z)")
        assert after["tags"] == before["tags"]  # the flag tag came off again
        # a tag the candidate already carried is not the probe's to remove
        app = h.ctx.ats.get_application(h.app_id("17001"))
        h.ctx.ats.add_tag(app, h.settings.ats.flag_tag)
        again = run_probe_writes(h.settings, h.app_id("17001"), clock=h.clock, ats=h.ctx.ats)
        assert [(c.name, c.ok) for c in again] == [("probe-writes application", True), ("probe-writes note", True),
                                                   ("probe-writes tag", True)]
        assert "was already on application" in again[2].detail
        assert h.settings.ats.flag_tag in h.ats_record("17001")["tags"]
    finally:
        h.close()


def test_probe_writes_says_what_failed(harness: Harness) -> None:
    missing = run_probe_writes(harness.settings, "424242", clock=harness.clock, ats=harness.ctx.ats)
    assert [(c.name, c.ok) for c in missing] == [("probe-writes application", False)]
    assert missing[0].detail == "greenhouse: application 424242 not found"

    class NoRemoval:
        """An adapter without remove_tag: the line says to remove the tag by hand."""

        def __init__(self, inner: Any) -> None:
            self.inner = inner

        def get_application(self, application_id: str) -> Any:
            return self.inner.get_application(application_id)

        def add_note(self, app: Any, body: str) -> None:
            raise VendorError("greenhouse", "POST /v3/notes was refused (403)", "check the scopes")

        def add_tag(self, app: Any, tag: str) -> None:
            self.inner.add_tag(app, tag)

    checks = run_probe_writes(harness.settings, "17001", clock=harness.clock, ats=NoRemoval(harness.ctx.ats))
    assert [(c.name, c.ok) for c in checks] == [("probe-writes application", True), ("probe-writes note", False),
                                                ("probe-writes tag", True), ("probe-writes tag removal", False)]
    assert checks[1].detail == "greenhouse: POST /v3/notes was refused (403)"
    assert checks[3].fix == "remove 'Scheduling: needs recruiter' from application 17001 by hand in the ATS"


def test_readme_documents_doctor_probe() -> None:
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    assert "--probe-writes APPLICATION_ID  With --probe" in readme  # the generated reference
    assert "`doctor --probe` reads a small sample" in readme and "read-only by construction" in readme
