"""Builds the world a command runs in: clock, state, adapters, mail.

Everything with side effects is constructed here, from settings, so tests and
`selftest` can inject their own pieces (a fixed clock, a sandbox URL, a
recording transport) and the library code never reaches for globals.
"""

from __future__ import annotations

import getpass
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .ats.base import ATS
from .clock import Clock, SystemClock
from .config import Settings
from .errors import BadRecord
from .http import VendorSession
from .mail.render import TemplateRenderer
from .mail.transport import FileTransport, SmtpTransport, Transport
from .providers import provider
from .scheduler.base import Scheduler
from .state import StateDB


@dataclass
class Context:
    settings: Settings
    clock: Clock
    db: StateDB
    ats: ATS
    scheduler: Scheduler
    transport: Transport
    renderer: TemplateRenderer
    actor: str = "interview-sync"
    bad_records: list[BadRecord] = field(default_factory=list)

    def close(self) -> None:
        self.transport.close()
        self.db.close()


def os_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no passwd entry in some containers
        return "unknown"


def build_ats(settings: Settings, clock: Clock, on_bad_record: Callable[[BadRecord], None],
              sleeper: Callable[[float], None] | None = None) -> ATS:
    """The adapter the registry names for ``ats.provider``, from its own config keys."""
    section = settings.ats
    entry = provider("ats", section.provider)
    adapter: ATS = entry.adapter(**section.adapter_args(), session=VendorSession(entry.wire, sleeper=sleeper),
                                 clock=clock, per_page=section.per_page, on_bad_record=on_bad_record)
    return adapter


def build_scheduler(settings: Settings, clock: Clock, on_bad_record: Callable[[BadRecord], None],
                    sleeper: Callable[[float], None] | None = None) -> Scheduler:
    """The adapter the registry names for ``scheduler.provider``, from its own config keys."""
    section = settings.scheduler
    entry = provider("scheduler", section.provider)
    adapter: Scheduler = entry.adapter(**section.adapter_args(), session=VendorSession(entry.wire, sleeper=sleeper),
                                       clock=clock, on_bad_record=on_bad_record)
    return adapter


def build_transport(settings: Settings, clock: Clock | None = None) -> Transport:
    mail = settings.email
    if mail.transport == "file":
        return FileTransport(mail.outbox_dir, clock=clock)
    return SmtpTransport(mail.smtp_host, mail.smtp_port, mail.smtp_security, mail.smtp_username or None,
                         mail.smtp_password.get_secret_value() or None)


def build_context(settings: Settings, *, clock: Clock | None = None, db: StateDB | None = None,
                  transport: Transport | None = None, readonly: bool = False,
                  sleeper: Callable[[float], None] | None = None, **overrides: Any) -> Context:
    clock = clock or SystemClock()
    bad: list[BadRecord] = []
    state = db or StateDB.open(settings.state.path, readonly=readonly)
    return Context(
        settings=settings,
        clock=clock,
        db=state,
        ats=overrides.get("ats") or build_ats(settings, clock, bad.append, sleeper),
        scheduler=overrides.get("scheduler") or build_scheduler(settings, clock, bad.append, sleeper),
        transport=transport or build_transport(settings, clock),
        renderer=TemplateRenderer(settings.email.template_dir),
        actor=overrides.get("actor", "interview-sync"),
        bad_records=bad,
    )
