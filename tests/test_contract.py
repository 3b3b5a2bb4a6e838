"""One contract per side: every ATS and every scheduler adapter must pass the same tests.

The suites run the real adapters against the sandbox flavour that speaks
their vendor's wire format (vendor-specific `responses` tests, built from the
documented payloads, live in tests/test_<vendor>.py). A new adapter joins by
adding one subclass with its fixtures.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from interview_sync.ats.base import ATS
from interview_sync.clock import FixedClock
from interview_sync.config import load_settings
from interview_sync.context import build_ats, build_scheduler
from interview_sync.sandbox import SandboxServer, World, build_app
from interview_sync.sandbox.client import SandboxClient
from interview_sync.scheduler.base import Scheduler
from interview_sync.starter import sandbox_config, write_config

START = datetime(2026, 11, 30, 16, 0, tzinfo=timezone.utc)
MARIA = "maria.delgado@mercyvalley.example"


class Sandboxed:
    """A private sandbox of one ATS × scheduler pair and settings pointing at it."""

    ats_flavour = "greenhouse"
    scheduler_flavour = "calendly"

    @pytest.fixture
    def env(self, tmp_path: Any) -> Iterator[dict[str, Any]]:
        world = World()
        world.fixed_now = START - timedelta(hours=1)
        server = SandboxServer(build_app(world, ats=self.ats_flavour, scheduler=self.scheduler_flavour)).start()
        client = SandboxClient(server.url)
        client.set_clock(START)
        path = tmp_path / "c.toml"
        write_config(path, sandbox_config(server.url, ats=self.ats_flavour, scheduler=self.scheduler_flavour))
        clock = FixedClock(START)
        bad: list[Any] = []
        try:
            yield {"world": world, "client": client, "settings": load_settings(path), "clock": clock, "bad": bad}
        finally:
            server.stop()


class ATSContract(Sandboxed):
    def app_id(self, seed_number: int) -> str:
        """The adapter's id for a seed application (vendors differ)."""
        return str(seed_number)

    @pytest.fixture
    def ats(self, env: dict[str, Any]) -> ATS:
        return build_ats(env["settings"], env["clock"], env["bad"].append, sleeper=lambda s: None)

    def test_full_listing_has_every_seed_application(self, ats: ATS, env: dict[str, Any]) -> None:
        apps = {a.id: a for a in ats.changed_applications(None)}
        assert len(apps) == 10 and not env["bad"]
        zoe = apps[self.app_id(17001)]
        assert zoe.stage_name == "Application Review" and zoe.active

    def test_a_move_shows_up_since_the_cursor(self, ats: ATS, env: dict[str, Any]) -> None:
        env["client"].set_clock(START + timedelta(hours=1))
        env["client"].move("17001", "Phone Screen")
        changed = {a.id: a for a in ats.changed_applications(START + timedelta(minutes=30))}
        zoe = changed[self.app_id(17001)]
        assert zoe.stage_name == "Phone Screen" and zoe.stage_id
        assert zoe.stage_changed_at is None or zoe.stage_changed_at >= START
        assert ats.get_application(zoe.id).stage_id == zoe.stage_id

    def test_leaving_the_pipeline_is_inactive(self, ats: ATS, env: dict[str, Any]) -> None:
        env["client"].set_clock(START + timedelta(hours=1))
        env["client"].set_status("17002", "rejected")
        app = ats.get_application(self.app_id(17002))
        assert not app.active

    def test_candidate_names_and_missing_email(self, ats: ATS) -> None:
        zoe = ats.get_candidate(ats.get_application(self.app_id(17001)).candidate_id)
        assert (zoe.first_name, zoe.last_name, zoe.email) == ("Zoë", "O'Brien-Nguyễn", "zoe+nurse@example.org")
        marcus = ats.get_candidate(ats.get_application(self.app_id(17009)).candidate_id)
        assert marcus.email is None

    def test_job_hiring_team(self, ats: ATS) -> None:
        icu = ats.get_job(ats.get_application(self.app_id(17001)).job_id or "")
        assert [p.email for p in icu.hiring_managers] == [MARIA]
        assert icu.recruiters and icu.recruiters[0].email == "tom.becker@mercyvalley.example"
        assert icu.department == "Nursing"
        travel = ats.get_job(ats.get_application(self.app_id(17006)).job_id or "")
        assert travel.hiring_managers == ()

    def test_note_and_tag_land(self, ats: ATS, env: dict[str, Any]) -> None:
        app = ats.get_application(self.app_id(17001))
        ats.add_note(app, "[interview-sync] contract note é")
        ats.add_tag(app, "Scheduling: needs recruiter")
        ats.add_tag(app, "Scheduling: needs recruiter")  # a second flag is harmless
        notes = env["world"].data["notes"]
        assert any("contract note é" in n for n in notes[app.id])

    def test_stage_names_and_auth(self, ats: ATS) -> None:
        assert {"Phone Screen", "First Interview", "Panel Interview"} <= ats.stage_names()
        assert isinstance(ats.check_auth(), dict)


class TestGreenhouseContract(ATSContract):
    ats_flavour = "greenhouse"


class TestLeverContract(ATSContract):
    ats_flavour = "lever"

    def app_id(self, seed_number: int) -> str:
        from interview_sync.sandbox.lever import opportunity_id

        return opportunity_id(seed_number)


class SchedulerContract(Sandboxed):
    @pytest.fixture
    def scheduler(self, env: dict[str, Any]) -> Scheduler:
        return build_scheduler(env["settings"], env["clock"], env["bad"].append, sleeper=lambda s: None)

    def _link(self, scheduler: Scheduler, ref: str) -> tuple[Any, str]:
        host = scheduler.find_host(MARIA)
        assert host is not None
        event_type = scheduler.get_event_type(host, "phone-screen-30")
        assert event_type is not None
        return event_type, scheduler.create_link(event_type, name="Zoë O'Brien-Nguyễn",
                                                 email="zoe+nurse@example.org", ref=ref,
                                                 expires_at=START + timedelta(days=4))

    def test_host_lookup(self, scheduler: Scheduler) -> None:
        host = scheduler.find_host(MARIA)
        assert host is not None and host.email == MARIA
        assert scheduler.find_host("nobody@mercyvalley.example") is None

    def test_event_types_by_slug(self, scheduler: Scheduler) -> None:
        host = scheduler.find_host(MARIA)
        assert host is not None
        event_type = scheduler.get_event_type(host, "leadership-video-60")
        assert event_type is not None and event_type.duration_minutes == 60
        assert scheduler.get_event_type(host, "no-such-event") is None

    def test_availability_and_blocking(self, scheduler: Scheduler, env: dict[str, Any]) -> None:
        event_type, _ = self._link(scheduler, "is-contract-1")
        times = scheduler.available_times(event_type, START, START + timedelta(days=10))
        local = [t.astimezone(ZoneInfo("America/Los_Angeles")) for t in times]
        assert times and all(t >= START for t in times)
        assert all(t.weekday() < 5 and 8 <= t.hour < 17 for t in local)  # the hosts' workday
        env["client"].block(MARIA)
        assert scheduler.available_times(event_type, START, START + timedelta(days=10)) == []

    def test_booking_carries_the_reference(self, scheduler: Scheduler, env: dict[str, Any]) -> None:
        _, url = self._link(scheduler, "is-contract-2")
        env["client"]._post("/_admin/book", {"url": url})
        bookings = [b for b in scheduler.changed_bookings(START - timedelta(minutes=5), START)
                    if b.status == "active"]
        assert len(bookings) == 1
        booking = bookings[0]
        assert booking.ref == "is-contract-2"
        assert booking.email == "zoe+nurse@example.org" and booking.host_email == MARIA
        assert booking.end > booking.start >= START

    def test_cancel_and_reschedule_chain(self, scheduler: Scheduler, env: dict[str, Any]) -> None:
        _, url = self._link(scheduler, "is-contract-3")
        env["client"]._post("/_admin/book", {"url": url, "application_id": "contract"})
        env["client"].set_clock(START + timedelta(hours=2))
        first = next(b for b in scheduler.changed_bookings(START - timedelta(minutes=5), START) if b.status == "active")
        env["client"]._post("/_admin/reschedule", {"application_id": "contract",
                                                   "at": "2026-12-03T18:00:00Z"})
        now = START + timedelta(hours=2)
        changed = list(scheduler.changed_bookings(START + timedelta(hours=1), now))
        new = [b for b in changed if b.status == "active"]
        assert len(new) == 1 and new[0].old_booking_uri == first.uri and new[0].ref == "is-contract-3"
        assert new[0].start == datetime(2026, 12, 3, 18, 0, tzinfo=timezone.utc)


class TestCalendlyContract(SchedulerContract):
    scheduler_flavour = "calendly"


class TestCalcomContract(SchedulerContract):
    scheduler_flavour = "calcom"
