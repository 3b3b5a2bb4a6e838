"""An end-to-end harness: a private sandbox on loopback, the tool, and one shared clock.

Tests move time with ``at(hours)`` (sandbox and tool together), drive people
through the sandbox admin API, run real polls, and read what reached people
from the .eml outbox and the sandbox's own records.

The harness runs any ATS × scheduler pair (:data:`PAIRS`). Tests name people
by their seed application number ("17001"): the sandbox admin routes accept it
for every flavour, and :meth:`Harness.app_id` maps it to the id the tool's ATS
adapter uses (a Lever opportunity uuid), so one test body reads the same for
every pair and vendor differences stay visible where a test branches on them.
"""

from __future__ import annotations

import email
import email.policy
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Callable

import pytest
import requests
import time_machine
from typer.testing import CliRunner, Result

from interview_sync.clock import FixedClock, iso
from interview_sync.config import Settings, load_settings
from interview_sync.context import Context, build_context
from interview_sync.executor import RunReport
from interview_sync.invitation import Invitation, invitation_ref
from interview_sync.poll import run_poll
from interview_sync.steps import Performed
from interview_sync.sandbox import SandboxServer, World, build_app
from interview_sync.sandbox.client import SandboxClient
from interview_sync.sandbox.lever import opportunity_id
from interview_sync.starter import sandbox_config, write_config

START = datetime(2026, 11, 30, 16, 0, tzinfo=timezone.utc)  # Monday 08:00 in Sacramento

# Every supported ATS × scheduler pair, for ``@pytest.fixture(params=PAIRS)``.
PAIRS = [pytest.param(("greenhouse", "calendly"), id="gh-calendly"),
         pytest.param(("greenhouse", "calcom"), id="gh-calcom"),
         pytest.param(("lever", "calendly"), id="lever-calendly"),
         pytest.param(("lever", "calcom"), id="lever-calcom")]

# Where each scheduler flavour creates a booking link (a POST), and the name of that
# endpoint as the tool reports it in an alert. Cal.com's path carries the event type
# id; the fault matches by prefix and private-link creation is the only POST under it.
_LINK_WRITES = {"calendly": ("/scheduling_links", "scheduling_links"),
                "calcom": ("/v2/event-types/", "private-links")}


REPO = Path(__file__).resolve().parents[1]
CLOCKSHIFT_DIR = Path(__file__).resolve().parent / "clockshift"  # the test-only sitecustomize


def wall_clock_at(at: datetime) -> Any:
    """Pin this process's wall clock (``SystemClock``, ``datetime.now``) at ``at``.

    For in-process CLI runs: the CLI reads vendors on the real clock, and in a
    test's world the real time is its sandbox's simulated time."""
    return time_machine.travel(at, tick=False)


def child_env(wall_clock: datetime | None = None) -> dict[str, str]:
    """The environment for a tool subprocess: this checkout first on the path, what the
    session already put there kept (the shifted clock's directory), and with
    ``wall_clock`` the child's real clock pinned there (see tests/clockshift)."""
    paths = [str(REPO)]
    extra: dict[str, str] = {}
    if wall_clock is not None:
        paths.append(str(CLOCKSHIFT_DIR))
        extra["INTERVIEW_SYNC_TEST_WALL_CLOCK"] = iso(wall_clock)
    if os.environ.get("PYTHONPATH"):
        paths.append(os.environ["PYTHONPATH"])
    return {**os.environ, **extra, "PYTHONPATH": os.pathsep.join(paths)}


FAILED_RESULTS = frozenset({"refused", "failed", "vendor_error"})


def check_plan(plan: list[Performed], performed: list[Performed]) -> None:
    """Assert that a real poll did what its dry run planned (issue 12): the same steps, kind
    and key, in order. A dry run assumes every effect succeeds, so where a real step failed,
    that invitation agrees with the plan up to and including the failed step (what follows
    is the planner's answer to the failure); every other invitation still matches exactly."""
    failed_at: dict[str, int] = {}
    per_ref: dict[str, list[Performed]] = {}
    for step in performed:
        per_ref.setdefault(step.ref, []).append(step)
        if step.result in FAILED_RESULTS and step.ref not in failed_at:
            failed_at[step.ref] = len(per_ref[step.ref])
    planned: dict[str, list[Performed]] = {}
    for step in plan:
        planned.setdefault(step.ref, []).append(step)

    def pairs(steps: list[Performed]) -> list[tuple[str, str]]:
        return [(s.action, s.key) for s in steps]

    for ref, upto in failed_at.items():
        assert pairs(per_ref[ref][:upto]) == pairs(planned.get(ref, [])[:upto]), f"{ref}: diverged before failing"
    assert pairs([s for s in performed if s.ref not in failed_at]) == \
        pairs([s for s in plan if s.ref not in failed_at]), "the real run did not do what the dry run planned"


class Harness:
    def __init__(self, tmp: Path, start: datetime = START, config_changes: dict[str, Any] | None = None,
                 *, ats: str = "greenhouse", scheduler: str = "calendly") -> None:
        self.tmp = tmp
        self.start = start
        self.ats, self.scheduler = ats, scheduler
        self.world = World()
        self.world.fixed_now = start - timedelta(hours=1)
        self.server = SandboxServer(build_app(self.world, ats=ats, scheduler=scheduler)).start()
        self.sandbox = SandboxClient(self.server.url)
        config = sandbox_config(self.server.url, ats=ats, scheduler=scheduler)
        for section, values in (config_changes or {}).items():
            if isinstance(values, dict):
                config.setdefault(section, {}).update(values)
            else:
                config[section] = values
        self.config_path = tmp / "interview-sync.toml"
        write_config(self.config_path, config)
        self.settings: Settings = load_settings(self.config_path)
        self.clock = FixedClock(start)
        self.sandbox.set_clock(start)
        self.ctx: Context = build_context(self.settings, clock=self.clock, sleeper=lambda s: None)

    # time and people ----------------------------------------------------------------
    def at(self, hours: float) -> datetime:
        self.clock.set(self.start + timedelta(hours=hours))
        self.sandbox.set_clock(self.clock.now())
        return self.clock.now()

    def poll(self, **kwargs: Any) -> RunReport:
        report, self.last_plan = run_poll(self.ctx, **kwargs)
        return report

    def recorded_poll(self, stream: Path, hours: float) -> RunReport:
        """One real poll at ``hours`` with ``poll --record``'s recorder appending to ``stream``;
        the harness's own adapters and clock are back afterwards."""
        from interview_sync.private_files import open_private
        from interview_sync.record import attach_recorder

        self.at(hours)
        real = self.ctx.ats, self.ctx.scheduler
        try:
            with open_private(stream, "a") as out:
                attach_recorder(self.ctx, out)
                return self.poll()
        finally:
            self.ctx.ats, self.ctx.scheduler = real
            self.ctx.clock = self.clock

    def cli(self, *args: str) -> Result:
        """``interview-sync --config <this harness's config> ARGS`` in-process, with the
        wall clock pinned to the harness clock: the CLI reads vendors on the real clock
        (SystemClock), and in this world the real time is the sandbox's."""
        from interview_sync.cli.app import app

        with wall_clock_at(self.clock.now()):
            return CliRunner().invoke(app, ["--config", str(self.config_path), *args])

    # what reached people --------------------------------------------------------------
    def emails(self) -> list[EmailMessage]:
        outbox = self.settings.email.outbox_dir
        if not outbox.exists():
            return []
        return [email.message_from_bytes(p.read_bytes(), policy=email.policy.default)  # type: ignore[misc]
                for p in sorted(outbox.glob("*.eml"))]

    def emails_to(self, address: str, kind: str | None = None) -> list[EmailMessage]:
        found = [m for m in self.emails() if address.casefold() in str(m["To"]).casefold()]
        if kind is not None:
            found = [m for m in found if m["X-Interview-Sync-Kind"] == kind]
        return found

    def notes(self, application_id: str) -> list[str]:
        return list(self.world.data.get("notes", {}).get(str(application_id), []))

    def invitation(self, application_id: str, stage_id: str | None = None) -> Invitation:
        invs = self.ctx.db.invitations(application_id=str(application_id))
        if stage_id is not None:
            return next(i for i in invs if i.ref == invitation_ref(str(application_id), stage_id))
        assert len(invs) == 1, invs
        return invs[0]

    # vendor-neutral views ---------------------------------------------------------------
    def app_id(self, seed_number: str) -> str:
        """The application id the tool stores for a seed application ("17001"): invitations,
        ``status`` rows, CLI arguments and alerts use it. Lever's is the opportunity uuid."""
        if self.ats == "lever":
            return opportunity_id(int(seed_number))
        return str(seed_number)

    def ats_record(self, seed_number: str) -> dict[str, Any]:
        """What the sandbox ATS holds for an application: ``notes`` (their text, oldest
        first) and ``tags`` (names), read through the flavour's own admin route."""
        if self.ats == "lever":
            url = f"{self.server.url}/_admin/lever/opportunities/{seed_number}"
        else:
            url = f"{self.server.url}/_admin/greenhouse/applications/{seed_number}"
        response = requests.get(url, timeout=10)
        response.raise_for_status()
        data = response.json()
        notes = [n["text" if self.ats == "lever" else "body"] for n in data["notes"]]  # both in write order
        return {"notes": notes, "tags": list(data["tags"]), "stage_name": data["stage_name"]}

    def fault_scheduler_write(self, status: int, times: int = 1) -> None:
        """Make the next ``times`` booking-link creations fail with ``status``."""
        path, _ = _LINK_WRITES[self.scheduler]
        for _ in range(times):
            self.sandbox.fault(path, status, method="POST")

    @property
    def scheduler_write_name(self) -> str:
        """How the tool names the link-creation endpoint in what it reports."""
        return _LINK_WRITES[self.scheduler][1]

    @property
    def revokes_links(self) -> bool:
        """Cal.com private links are deleted when the application leaves the stage;
        a Calendly single-use link cannot be revoked, so it stays bookable."""
        return self.scheduler == "calcom"

    def invite_and_book(self, seed_number: str, at: datetime | None = None, stage: str = "Phone Screen",
                        before_poll: Callable[[], None] | None = None) -> RunReport:
        """Move the application into ``stage`` at hour 0.1 and poll, then book it (at ``at``,
        else the first free slot) at hour 3 and poll; ``before_poll`` may edit the sandbox's
        booking first, as a candidate's answers on the booking page would."""
        self.at(0.1)
        self.sandbox.move(seed_number, stage)
        self.poll()
        self.at(3)
        self.sandbox.book(seed_number, at=at)
        if before_poll is not None:
            before_poll()
        return self.poll()

    def close(self) -> None:
        self.ctx.close()
        self.server.stop()


@contextmanager
def baselined(tmp: Path, **kwargs: Any) -> Iterator[Harness]:
    """A harness whose first (baseline) poll has run: it records, sends nothing."""
    harness = Harness(tmp, **kwargs)
    try:
        harness.poll()
        yield harness
    finally:
        harness.close()
