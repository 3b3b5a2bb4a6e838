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
from .mail.message import parse_mailbox
from .mail.oauth import EXCHANGE_SMTP_SCOPE, GRAPH_SCOPE, email_tokens
from .mail.render import TemplateRenderer
from .mail.transport import FileTransport, SmtpTransport, Transport
from .mailbox.base import MailboxReader
from .mailbox.factory import build_reader
from .providers import build
from .scheduler.base import Scheduler
from .state import StateDB


@dataclass
class Context:
    """One command's world.

    Two clocks, because ``poll --now`` moves timers only: ``clock`` is the
    instant the workflow is evaluated at (deadlines, reminders, audit times),
    while ``read_clock`` is the real time at the vendors, which read windows,
    cursors and the adapters (token expiry, rate-limit resets, "no slots in the
    past") must follow so that a later real-time poll does not skip what
    changed in between. Unless a caller splits them (the CLI's ``poll``) both
    are the same clock: tests, ``selftest``, ``demo`` and ``replay`` move one
    simulated clock for the tool and its sandbox together.
    """

    settings: Settings
    clock: Clock
    db: StateDB
    ats: ATS
    scheduler: Scheduler
    transport: Transport
    renderer: TemplateRenderer
    actor: str = "interview-sync"
    bad_records: list[BadRecord] = field(default_factory=list)
    vendor_clock: Clock | None = None  # read_clock, when it differs from clock
    sms: Any = None  # an SmsChannel when [sms] is on
    mailbox: MailboxReader | None = None  # where bounces and replies come back; None: not read

    @property
    def read_clock(self) -> Clock:
        return self.vendor_clock or self.clock

    def close(self) -> None:
        self.transport.close()
        if self.mailbox is not None:
            self.mailbox.close()
        self.db.close()


def os_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no passwd entry in some containers
        return "unknown"


def build_ats(settings: Settings, clock: Clock, on_bad_record: Callable[[BadRecord], None],
              sleeper: Callable[[float], None] | None = None) -> ATS:
    """The adapter the registry names for ``ats.provider``, from its own config keys."""
    adapter: ATS = build("ats", settings.ats, clock=clock, on_bad_record=on_bad_record, sleeper=sleeper)
    return adapter


def build_scheduler(settings: Settings, clock: Clock, on_bad_record: Callable[[BadRecord], None],
                    sleeper: Callable[[float], None] | None = None) -> Scheduler:
    """The adapter the registry names for ``scheduler.provider``, from its own config keys."""
    adapter: Scheduler = build("scheduler", settings.scheduler, clock=clock, on_bad_record=on_bad_record,
                               sleeper=sleeper)
    return adapter


def build_sms(settings: Settings, sleeper: Callable[[float], None] | None = None) -> Any:
    """The text-message channel, or None with ``sms.provider = "none"``. Checks that the
    ``[sms]`` extra (phonenumbers) is installed now, not at the first text."""
    sms = settings.sms
    if sms.provider == "none":
        return None
    from .http import VendorSession
    from .sms.phone import to_e164
    from .sms.twilio import TwilioChannel

    to_e164("+12025550100")  # raises the one-line ConfigError naming the extra when it is missing
    return TwilioChannel(base_url=sms.base_url, account_sid=sms.account_sid,
                         auth_token=sms.auth_token.get_secret_value(), session=VendorSession("twilio", sleeper=sleeper),
                         from_number=sms.from_, messaging_service_sid=sms.messaging_service_sid)


def build_transport(settings: Settings, clock: Clock | None = None) -> Transport:
    mail = settings.email
    if mail.transport == "file":
        return FileTransport(mail.outbox_dir, clock=clock)
    mailbox = parse_mailbox(mail.from_, "email.from").addr_spec
    if mail.transport == "graph":
        from .mail.graph import GraphTransport

        return GraphTransport(mailbox, email_tokens(mail, GRAPH_SCOPE, mailbox), graph_url=mail.graph_url)
    if mail.smtp_auth == "xoauth2":
        user = mail.smtp_username or mailbox
        return SmtpTransport(mail.smtp_host, mail.smtp_port, mail.smtp_security, user, None,
                             tokens=email_tokens(mail, EXCHANGE_SMTP_SCOPE, user))
    return SmtpTransport(mail.smtp_host, mail.smtp_port, mail.smtp_security, mail.smtp_username or None,
                         mail.smtp_password.get_secret_value() or None)


def build_context(settings: Settings, *, clock: Clock | None = None, read_clock: Clock | None = None,
                  db: StateDB | None = None, transport: Transport | None = None, readonly: bool = False,
                  sleeper: Callable[[float], None] | None = None, **overrides: Any) -> Context:
    """``clock`` times the workflow; ``read_clock`` (default: the same clock) the vendor reads."""
    clock = clock or SystemClock()
    reads = read_clock or clock
    bad: list[BadRecord] = []
    state = db or StateDB.open(settings.state.path, readonly=readonly)
    return Context(
        settings=settings,
        clock=clock,
        db=state,
        ats=overrides.get("ats") or build_ats(settings, reads, bad.append, sleeper),
        scheduler=overrides.get("scheduler") or build_scheduler(settings, reads, bad.append, sleeper),
        transport=transport or build_transport(settings, clock),
        renderer=TemplateRenderer(settings.email.template_dir),
        actor=overrides.get("actor", "interview-sync"),
        bad_records=bad,
        vendor_clock=None if reads is clock else reads,
        sms=overrides["sms"] if "sms" in overrides else build_sms(settings, sleeper),
        mailbox=overrides["mailbox"] if "mailbox" in overrides else build_reader(settings, reads),
    )
