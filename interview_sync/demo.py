"""`interview-sync demo`: the whole job against a private sandbox, over simulated days.

The sandbox and the tool share one simulated clock, moved in step, so that
deadlines, follow-ups, reminders and the flag all happen in a few seconds.
Everything lands in one directory: config, state DB and the .eml outbox.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from .clock import FixedClock
from .config import load_settings
from .context import build_context
from .executor import Outcome
from .fixtures import candidate_of
from .mail.message import parse_mailbox
from .poll import run_poll
from .sandbox import SandboxServer, World, build_app, mailback
from .sandbox.client import SandboxClient
from .starter import sandbox_config, write_config

# A Monday morning in Sacramento (UTC-8): the hiring managers' workday starts soon.
DEMO_START = datetime(2026, 11, 30, 16, 0, tzinfo=timezone.utc)


@dataclass
class DemoRow:
    at: datetime
    outcome: Outcome


@dataclass
class DemoResult:
    directory: Path
    config_path: Path
    rows: list[DemoRow] = field(default_factory=list)
    sandbox_url: str = ""
    conversation: list[str] = field(default_factory=list)  # the demo's text exchange, one line per text


def run_demo(directory: Path, *, say: Callable[[str], None] = print, start: datetime = DEMO_START,
             ats: str = "greenhouse", scheduler: str = "calendly") -> DemoResult:
    directory = directory.resolve()
    directory.mkdir(parents=True, exist_ok=True)
    for stale in ("interview-sync.db", "interview-sync.db-wal", "interview-sync.db-shm", "interview-sync.db.lock"):
        (directory / stale).unlink(missing_ok=True)
    shutil.rmtree(directory / "outbox", ignore_errors=True)

    world = World()
    world.fixed_now = start - timedelta(hours=1)
    server = SandboxServer(build_app(world, ats=ats, scheduler=scheduler)).start()
    try:
        return _script(directory, server.url, start, say, ats, scheduler, world)
    finally:
        server.stop()


def _script(directory: Path, url: str, start: datetime, say: Callable[[str], None], ats: str,
            scheduler: str, world: World) -> DemoResult:
    config_path = directory / "interview-sync.toml"
    config = sandbox_config(url, ats=ats, scheduler=scheduler)
    texting = _texting_available() and ats == "greenhouse"  # the sandbox fills custom fields there
    if texting:
        config = with_texts(config, url)
    config["mailbox"] = mailback.mailbox_settings(url)  # bounces and replies come back through Graph
    write_config(config_path, config)
    settings = load_settings(config_path)
    clock = FixedClock(start)
    sandbox = SandboxClient(url)
    ctx = build_context(settings, clock=clock)
    result = DemoResult(directory, config_path, sandbox_url=url)

    def at(hours: float) -> None:
        clock.set(start + timedelta(hours=hours))
        sandbox.set_clock(clock.now())

    def poll(label: str) -> None:
        report, _ = run_poll(ctx)
        say(f"{clock.now():%a %d %b %H:%M} UTC  poll: {label} ({len(report.outcomes)} actions)")
        result.rows.extend(DemoRow(clock.now(), o) for o in report.outcomes)

    try:
        at(0)
        poll("first run records a baseline and sends nothing")
        if texting:  # José agreed to texts on his application and reads Spanish first
            sandbox.custom_field("17002", "sms_consent", "Yes")
            sandbox.custom_field("17002", "preferred_language", "Español")
        at(0.1)
        for application_id, stage in (("17001", "Phone Screen"), ("17002", "Phone Screen"),
                                      ("17003", "First Interview"), ("17004", "First Interview"),
                                      ("17005", "Phone Screen"), ("17006", "Phone Screen"),
                                      ("17007", "Phone Screen")):
            sandbox.move(application_id, stage)
        poll("seven applications entered interview stages")
        if texting:
            at(2)
            sandbox.text_from(JOSE_PHONE, "¿Puedo llevar mi certificado en el teléfono?")
            poll("José answered the text with a question: the recruiter gets it")
        at(6)
        sandbox.book("17001", at=start + timedelta(days=2, hours=1))
        sandbox.book("17002", at=start + timedelta(days=1, hours=5))
        poll("two candidates booked")
        at(8)
        mailbox = parse_mailbox(settings.email.from_, "email.from").addr_spec
        for application_id, answer in (("17005", "bounce"), ("17007", "reply")):
            to = candidate_of(application_id)["email"]
            mailback.answer(world, settings.email.outbox_dir, mailbox, to, "invite", answer)
        poll("an invitation bounced and a candidate replied: the recruiter is told")
        at(26)
        sandbox.reschedule("17002", clock.now() + timedelta(days=3, hours=1))
        poll("one candidate rescheduled")
        at(50)
        poll("48 hours without a booking: one follow-up each")
        at(52)
        sandbox.book("17004", at=start + timedelta(days=3, hours=3))
        poll("a late booking after the follow-up")
        at(76)
        poll("no booking after the follow-up: flagged for a recruiter")
        if texting:
            sandbox.text_from(JOSE_PHONE, "para")
            at(77)
            poll("José texted 'para' (stop): no more texts to him, one confirmation")
            result.conversation = conversation(sandbox.texts()["messages"], JOSE_PHONE)
            say("text conversation with José (Spanish, consent from the ATS):")
            for line in result.conversation:
                say(f"  {line}")
        else:
            say("texts skipped: the text conversation needs the [sms] extra (pip install 'interview-sync[sms]') "
                "and the greenhouse sandbox flavour")
    finally:
        ctx.close()
    return result


JOSE_PHONE = "+19165550102"


def _texting_available() -> bool:
    try:
        import phonenumbers  # noqa: F401 - the [sms] extra
    except ImportError:
        return False
    return True


def with_texts(config: dict[str, Any], url: str) -> dict[str, Any]:
    """The sandbox config with the sandbox's Twilio flavour on and every route on email and text."""
    config = dict(config)
    config["sms"] = {"provider": "sandbox", "base_url": url, "account_sid": "AC" + "0" * 32,
                     "auth_token": "sandbox", "from": "+19165550100", "consent_field": "custom.sms_consent"}
    config["locale"] = {"default": "en", "field": "custom.preferred_language"}
    config["routes"] = [dict(route, channels=["email", "sms"]) for route in config["routes"]]
    return config


def conversation(messages: list[dict[str, Any]], phone: str) -> list[str]:
    """``→`` our texts, ``←`` theirs, oldest first, with the provider's last status."""
    lines = []
    for message in messages:
        if phone not in (message["to"], message["from"]):
            continue
        inbound = message["direction"] == "inbound"
        status = "" if inbound else f"  [{message['status']}]"
        lines.append(f"{'←' if inbound else '→'} {message['body']}{status}")
    return lines
