"""`doctor --probe` vendor modules for the schedulers, called directly (the runner
and the CLI live elsewhere): every line OK against the sandbox, and a seeded
mismatch turns exactly the line that checks it red, with a fix."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest
from harness import Harness

from interview_sync.clock import FixedClock
from interview_sync.doctor import Check
from interview_sync.http import VendorSession
from interview_sync.probe import calcom as calcom_probe
from interview_sync.probe import calendly as calendly_probe
from interview_sync.sandbox.client import SANDBOX_CALCOM_HOST_KEYS, SANDBOX_CALCOM_KEY
from interview_sync.scheduler.calcom import CalcomScheduler

JAMES, PRIYA = "james.oconnor@mercyvalley.example", "priya.raman@mercyvalley.example"


def booked_world(tmp_path: Path, scheduler: str) -> Harness:
    """Two invitations booked, one of them rescheduled: every record kind exists."""
    h = Harness(tmp_path, scheduler=scheduler)
    h.poll()
    h.at(0.1)
    for application_id in ("17001", "17003"):
        h.sandbox.move(application_id, "Phone Screen")
    assert not h.poll().errors
    h.at(1)
    for application_id in ("17001", "17003"):
        h.sandbox.book(application_id)
    h.at(2)
    h.sandbox.reschedule("17001", datetime(2026, 12, 3, 18, 0, tzinfo=timezone.utc))
    return h


@pytest.fixture(params=["calendly", "calcom"])
def world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Harness]:
    h = booked_world(tmp_path, request.param)
    try:
        yield h
    finally:
        h.close()


def run(h: Harness) -> list[Check]:
    module = calcom_probe if h.scheduler == "calcom" else calendly_probe
    return module.probe(h.ctx.scheduler, sample=10)  # type: ignore[arg-type]


def test_every_line_is_ok_against_the_sandbox_and_reads_only(world: Harness) -> None:
    session = world.ctx.scheduler.session  # type: ignore[attr-defined]
    session.calls.clear()
    checks = run(world)
    assert len(checks) >= 7
    assert [c for c in checks if not c.ok] == []
    assert all(c.detail and not c.detail.startswith("not checked") for c in checks), checks
    assert {call.split(" ", 1)[0] for call in session.calls} == {"GET"}


def test_calendly_member_without_timezone_fails_one_line(tmp_path: Path) -> None:
    h = booked_world(tmp_path, "calendly")
    try:
        list(h.world.data["calendly"]["users"].values())[-1]["timezone"] = None  # not the first event type's owner
        failed = [c for c in run(h) if not c.ok]
        assert [c.name for c in failed] == ["calendly: memberships carry user uri, email and timezone"]
        assert failed[0].fix and "1" in failed[0].detail
    finally:
        h.close()


def test_calcom_host_key_of_another_host_fails_one_line(tmp_path: Path) -> None:
    h = booked_world(tmp_path, "calcom")
    try:
        keys = dict(SANDBOX_CALCOM_HOST_KEYS, **{JAMES: SANDBOX_CALCOM_HOST_KEYS[PRIYA]})
        swapped = CalcomScheduler(base_url=h.server.url + "/v2", api_key=SANDBOX_CALCOM_KEY, host_keys=keys,
                                  clock=FixedClock(h.clock.now()), session=VendorSession("calcom"))
        failed = [c for c in calcom_probe.probe(swapped) if not c.ok]
        assert [c.name for c in failed] == ["cal.com: each scheduler.host_keys key acts as its host"]
        assert "host's own API key" in failed[0].fix and SANDBOX_CALCOM_HOST_KEYS[PRIYA] not in failed[0].detail
    finally:
        h.close()
