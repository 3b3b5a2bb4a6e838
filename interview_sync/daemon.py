"""`interview-sync run`: poll cycles on an interval, woken early by webhooks.

The loop only schedules; each cycle is the same :func:`run_poll` a cron
``poll`` runs, under the same lock, so a cron poll and ``run`` never overlap:
when the lock is held the cycle is skipped and tried again an interval later.

- Interval with jitter (±10 %), so many installations do not hit a vendor in step.
- A cycle that ends with errors (a vendor down) backs off exponentially, up
  to ``max_backoff``; the first good cycle resets it.
- :meth:`Daemon.wake` asks for a cycle now. Wakes coalesce: any number that
  arrive while waiting give one cycle, any number during a cycle one more.
  A wake waits for ``min_gap`` after the previous cycle began, so a storm of
  webhooks cannot turn into back-to-back cycles.
- :meth:`Daemon.stop` (SIGTERM/SIGINT) lets the cycle in hand finish its
  current step: the poll's own deadline check is told "time is up", so it
  stops between steps exactly as it does at ``poll.deadline_seconds``, saves
  what was done, and the lock is released on the way out.
- Memory stays flat: the context (vendor sessions, adapter caches) is
  rebuilt every ``context_max_age`` seconds and after any crash, and the
  per-session counters and skipped-record list are drained every cycle.

Clock, sleeping and randomness are injected, so tests run the loop without waiting.
"""

from __future__ import annotations

import inspect
import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .context import Context
from .errors import InterviewSyncError, LockHeld
from .executor import RunReport
from .metrics import DaemonMetrics
from .poll import run_poll

log = logging.getLogger(__name__)

STOP_OFFSET = 1e9  # what the poll's deadline timer jumps by once a stop is asked for
OK, FAILED, LOCKED, STOPPED = "ok", "failed", "locked", "stopped"

Poller = Callable[..., tuple[RunReport, Any]]
Waiter = Callable[[threading.Condition, float], Any]


def _wait(cond: threading.Condition, seconds: float) -> None:
    cond.wait(seconds)


def accepts_timer(poll: Poller) -> bool:
    """Does ``poll`` take the deadline ``timer`` keyword? Without it a stop waits for the
    cycle's end (still bounded by ``poll.deadline_seconds``) instead of its current step."""
    try:
        parameters = inspect.signature(poll).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.name == "timer" or p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters)


@dataclass
class CycleResult:
    result: str  # ok | failed | locked | stopped
    seconds: float
    report: RunReport = field(default_factory=RunReport)
    reason: str = ""  # why it was not ok: one line, no candidate data


def failure_reason(report: RunReport) -> str:
    """A line for /healthz: vendor-level lines are safe to show; per-invitation ones may
    name a person, so they are only counted (the log has them)."""
    vendor_lines = [line for line in report.errors if line.startswith("reading ")]
    if vendor_lines:
        return vendor_lines[0][:300]
    return f"{len(report.errors)} error(s) in the last cycle; see the log"


class Health:
    """``/healthz``: healthy while the last good cycle (or the start) is younger than ``threshold``."""

    def __init__(self, threshold: float, wall: Callable[[], float]) -> None:
        self.threshold = threshold
        self.wall = wall
        self.started = wall()
        self.last_success: float | None = None
        self.last_reason = "no cycle has finished yet"

    def record(self, cycle: CycleResult) -> None:
        if cycle.result == OK:
            self.last_success = self.wall()
            self.last_reason = ""
        elif cycle.result != STOPPED:
            self.last_reason = cycle.reason

    def status(self) -> tuple[bool, str]:
        since = self.last_success if self.last_success is not None else self.started
        age = self.wall() - since
        if age <= self.threshold:
            what = f"last good cycle {age:.0f} s ago" if self.last_success is not None else "starting"
            return True, f"ok: {what} (threshold {self.threshold:g} s)"
        what = f"no good cycle for {age:.0f} s" if self.last_success is not None else \
            f"no good cycle since the start {age:.0f} s ago"
        return False, f"unhealthy: {what} (threshold {self.threshold:g} s): {self.last_reason}"


class Daemon:
    """The run loop. ``make_context`` builds a fresh :class:`Context` (vendor sessions,
    state DB, transport); ``poll`` is :func:`run_poll` unless a test replaces it."""

    def __init__(self, make_context: Callable[[], Context], *, every: float, poll: Poller = run_poll,
                 metrics: DaemonMetrics | None = None, health_threshold: float = 900.0,
                 max_backoff: float = 900.0, jitter: float = 0.1, min_gap: float = 1.0,
                 context_max_age: float = 3600.0, wall: Callable[[], float] = time.time,
                 monotonic: Callable[[], float] = time.monotonic, rng: random.Random | None = None,
                 waiter: Waiter = _wait) -> None:
        self.make_context = make_context
        self.every = every
        self.poll = poll
        self._poll_kwargs: dict[str, Any] = {"timer": self._poll_timer} if accepts_timer(poll) else {}
        self.metrics = metrics or DaemonMetrics()
        self.health = Health(health_threshold, wall)
        self.max_backoff = max(max_backoff, every)
        self.jitter = jitter
        self.min_gap = min_gap
        self.context_max_age = context_max_age
        self.wall = wall
        self.monotonic = monotonic
        self.rng = rng or random.Random()
        self.waiter = waiter
        self.cycles = 0
        self.failures = 0  # consecutive failed cycles (the backoff exponent)
        self._cond = threading.Condition()
        self._woken = False
        self._stopping = False
        self._ctx: Context | None = None
        self._ctx_born = 0.0

    # --- asked from other threads -------------------------------------------------------

    def wake(self) -> None:
        """Ask for a cycle as soon as ``min_gap`` allows (coalesced with any pending wake)."""
        with self._cond:
            self._woken = True
            self._cond.notify_all()

    def stop(self) -> None:
        """Finish the step in hand, then leave :meth:`run`."""
        self._stopping = True  # seen at once by the cycle's deadline timer
        with self._cond:
            self._cond.notify_all()

    def request_stop_from_signal(self, signum: int, frame: Any) -> None:
        """A signal handler: set the flag now, notify from a thread (a handler must not
        take a lock the interrupted code may hold). A second signal means "now": the
        step in hand is abandoned the way a crash abandons it (the outbox makes that safe)."""
        if self._stopping:
            log.warning("second stop signal: exiting without finishing the step in hand")
            raise KeyboardInterrupt
        self._stopping = True
        threading.Thread(target=self.stop, name="run-stop", daemon=True).start()

    @property
    def stopping(self) -> bool:
        return self._stopping

    # --- the loop -----------------------------------------------------------------------

    def run(self, *, max_cycles: int | None = None) -> int:
        """Cycle until stopped (or ``max_cycles``); return the number of cycles run."""
        next_due = self.monotonic()  # the first cycle runs at once
        last_start: float | None = None
        ran = 0
        try:
            while True:
                with self._cond:
                    if self._stopping or (max_cycles is not None and ran >= max_cycles):
                        break
                    now = self.monotonic()
                    due = next_due
                    if self._woken:
                        due = min(due, now if last_start is None else max(now, last_start + self.min_gap))
                    if now < due:
                        self.waiter(self._cond, due - now)
                        continue
                    self._woken = False
                last_start = self.monotonic()
                cycle = self.run_cycle()
                ran += 1
                next_due = self.monotonic() + self.delay_after(cycle)
        finally:
            self.close()
        return ran

    def delay_after(self, cycle: CycleResult) -> float:
        """Seconds until the next scheduled cycle: the interval, or the backoff after a failure."""
        if cycle.result == FAILED:
            self.failures += 1
            base = min(self.every * 2 ** (self.failures - 1), self.max_backoff)
        else:
            if cycle.result == OK:
                self.failures = 0
            base = self.every
        return max(0.0, base * (1.0 + self.jitter * (2.0 * self.rng.random() - 1.0)))

    def _poll_timer(self) -> float:
        """The poll's deadline clock: jumps far ahead once a stop is asked for."""
        return self.monotonic() + (STOP_OFFSET if self._stopping else 0.0)

    def run_cycle(self) -> CycleResult:
        started = self.monotonic()
        ctx: Context | None = None
        try:
            ctx = self._context()
            report, _ = self.poll(ctx, **self._poll_kwargs)
        except LockHeld:
            cycle = CycleResult(LOCKED, self.monotonic() - started,
                                reason="another interview-sync run holds the lock; this cycle was skipped")
        except InterviewSyncError as exc:
            self._drop_context()
            cycle = CycleResult(FAILED, self.monotonic() - started, reason=str(exc)[:300])
        except Exception as exc:  # noqa: BLE001 - one bad cycle must not end a long-running process
            log.debug("cycle crashed", exc_info=True)
            self._drop_context()
            cycle = CycleResult(FAILED, self.monotonic() - started,
                                reason=f"the cycle crashed ({type(exc).__name__}); run with --verbose for details")
        else:
            result = STOPPED if self._stopping else FAILED if report.errors else OK
            cycle = CycleResult(result, self.monotonic() - started, report,
                                failure_reason(report) if result == FAILED else "")
        finally:
            if ctx is not None:
                self._drain(ctx)
        self.cycles += 1
        self._record(cycle)
        return cycle

    def _record(self, cycle: CycleResult) -> None:
        self.metrics.cycle(cycle.result, cycle.seconds, cycle.report.outcomes, cycle.report.alerts)
        if cycle.result == OK:
            self.metrics.last_success.set(self.wall())
        self.health.record(cycle)
        actions = len(cycle.report.outcomes)
        if cycle.result == OK:
            log.info("cycle %d ok in %.2f s: %d action(s), %d alert(s)", self.cycles, cycle.seconds, actions,
                     cycle.report.alerts)
        elif cycle.result == STOPPED:
            log.warning("cycle %d stopped on request after %.2f s: %d action(s) done and saved; the next run "
                        "continues", self.cycles, cycle.seconds, actions)
        else:
            log.warning("cycle %d %s: %s", self.cycles, cycle.result, cycle.reason)
            for line in cycle.report.errors:
                log.warning("  %s", line)

    # --- the context --------------------------------------------------------------------

    def _context(self) -> Context:
        if self._ctx is not None and self.monotonic() - self._ctx_born >= self.context_max_age:
            self._drop_context()  # fresh sessions and adapter caches (new stages, jobs) now and then
        if self._ctx is None:
            self._ctx = self.make_context()
            self._ctx_born = self.monotonic()
        return self._ctx

    def _drain(self, ctx: Context) -> None:
        """Move this cycle's vendor counters into the metrics and empty what would grow."""
        for adapter in (ctx.ats, ctx.scheduler):
            session = getattr(adapter, "session", None)
            calls, statuses = getattr(session, "calls", None), getattr(session, "statuses", None)
            if session is None or calls is None or statuses is None:
                continue
            self.metrics.vendor(session.vendor, sum(calls.values()), statuses.get(429, 0))
            calls.clear()
            statuses.clear()
        ctx.bad_records.clear()  # reported by this cycle; the poll would report them again every cycle

    def _drop_context(self) -> None:
        ctx, self._ctx = self._ctx, None
        if ctx is not None:
            try:
                ctx.close()
            except Exception:  # noqa: BLE001 - closing a broken context must not mask why it broke
                log.debug("closing the context failed", exc_info=True)

    def close(self) -> None:
        self._drop_context()
