"""An end-to-end harness: a private sandbox on loopback, the tool, and one shared clock.

Tests move time with ``at(hours)`` (sandbox and tool together), drive people
through the sandbox admin API, run real polls, and read what reached people
from the .eml outbox and the sandbox's own records.
"""

from __future__ import annotations

import email
import email.policy
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from interview_sync.clock import FixedClock
from interview_sync.config import Settings, load_settings
from interview_sync.context import Context, build_context
from interview_sync.executor import RunReport
from interview_sync.invitation import Invitation, invitation_ref
from interview_sync.poll import run_poll
from interview_sync.sandbox import SandboxServer, World, build_app
from interview_sync.sandbox.client import SandboxClient
from interview_sync.starter import sandbox_config, write_config

START = datetime(2026, 11, 30, 16, 0, tzinfo=timezone.utc)  # Monday 08:00 in Sacramento


class Harness:
    def __init__(self, tmp: Path, start: datetime = START, config_changes: dict[str, Any] | None = None,
                 *, ats: str = "greenhouse", scheduler: str = "calendly") -> None:
        self.tmp = tmp
        self.start = start
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

    def close(self) -> None:
        self.ctx.close()
        self.server.stop()
