"""`interview-sync demo --live`: the long-running mode in real time, against a private sandbox.

The sandbox sends signed webhooks to a `run` loop listening on loopback; a
stage move and then a booking each wake a cycle, and the demo says how many
seconds passed between the change and the email leaving. Real clock, no
simulated days: this shows speed, `demo` (without --live) shows the whole
workflow.
"""

from __future__ import annotations

import secrets
import shutil
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from .config import load_settings
from .context import Context, build_context
from .daemon import Daemon
from .demo import DemoResult, DemoRow
from .executor import Outcome, RunReport
from .listener import Listener
from .poll import run_poll
from .sandbox import SandboxServer, World, build_app
from .sandbox.client import SandboxClient
from .sandbox.webhooks import register
from .starter import sandbox_config, write_config
from .webhooks import WebhookGate

WAIT = 30.0  # seconds the demo waits for an email before saying so


class _Watch:
    """Collects each cycle's outcomes and lets the demo wait for one of a kind."""

    def __init__(self) -> None:
        self.outcomes: list[tuple[float, Outcome]] = []
        self.cycles = 0
        self.cond = threading.Condition()

    def poll(self, ctx: Context, **kwargs: Any) -> tuple[RunReport, Any]:
        report, plan = run_poll(ctx, **kwargs)
        with self.cond:
            self.cycles += 1
            self.outcomes.extend((time.monotonic(), o) for o in report.outcomes)
            self.cond.notify_all()
        return report, plan

    def wait(self, test: Callable[[], bool]) -> bool:
        with self.cond:
            return self.cond.wait_for(test, WAIT)

    def first(self, action: str, after: int) -> tuple[float, Outcome] | None:
        return next(((t, o) for t, o in self.outcomes[after:] if o.action == action and o.result == "sent"), None)


def run_live_demo(directory: Path, *, say: Callable[[str], None] = print, ats: str = "greenhouse",
                  scheduler: str = "calendly") -> DemoResult:
    directory = directory.resolve()
    directory.mkdir(parents=True, exist_ok=True)
    for stale in ("interview-sync.db", "interview-sync.db-wal", "interview-sync.db-shm", "interview-sync.db.lock"):
        (directory / stale).unlink(missing_ok=True)
    shutil.rmtree(directory / "outbox", ignore_errors=True)
    server = SandboxServer(build_app(World(), ats=ats, scheduler=scheduler)).start()  # the real clock
    config_path = directory / "interview-sync.toml"
    write_config(config_path, sandbox_config(server.url, ats=ats, scheduler=scheduler))
    settings = load_settings(config_path)
    result = DemoResult(directory, config_path, sandbox_url=server.url)
    keys = {ats: secrets.token_hex(16), scheduler: secrets.token_hex(16)}
    watch = _Watch()
    daemon = Daemon(lambda: build_context(settings), poll=watch.poll, every=3600, min_gap=0.0)
    listener = Listener("127.0.0.1", 0, daemon=daemon, gate=WebhookGate(keys)).start()
    runner = threading.Thread(target=daemon.run, name="demo-run", daemon=True)
    sandbox = SandboxClient(server.url)
    try:
        for vendor, key in keys.items():
            register(server.url, vendor, f"{listener.url}/webhooks/{vendor}", key)
        runner.start()
        watch.wait(lambda: watch.cycles >= 1)
        say(f"run: listening on {listener.url}, a cycle every hour unless a webhook wakes it; baseline recorded")
        for change, action, do in (
                (f"{ats}: application 17001 moved to Phone Screen", "invite",
                 lambda: sandbox.move("17001", "Phone Screen")),
                (f"{scheduler}: the candidate booked a slot", "confirmation",
                 lambda: sandbox.book("17001", at=_next_weekday_morning()))):
            seen = len(watch.outcomes)
            started = time.monotonic()
            do()
            if not watch.wait(lambda: watch.first(action, seen) is not None):
                say(f"{change}: no '{action}' email within {WAIT:g} s (see the log)")
                continue
            at, _ = watch.first(action, seen)  # type: ignore[misc]
            say(f"{change} → '{action}' email left {at - started:.1f} s later (woken by a signed {_vendor(change)} "
                "webhook)")
            result.rows.extend(DemoRow(datetime.now(timezone.utc), o) for _, o in watch.outcomes[seen:])
    finally:
        daemon.stop()
        runner.join(WAIT)
        listener.stop()
        server.stop()
    return result


def _vendor(change: str) -> str:
    return change.split(":", 1)[0]


def _next_weekday_morning() -> datetime:
    """A slot the sandbox's hosts are bookable in: 10:00 America/Los_Angeles, two weekdays ahead."""
    day = datetime.now(timezone.utc) + timedelta(days=2)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day.replace(hour=18, minute=0, second=0, microsecond=0)
