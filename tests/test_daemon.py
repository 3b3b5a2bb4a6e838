"""`interview-sync run`: the loop, its lock, its stop, its health and its metrics.

Loop timing is tested with an injected clock and waiter (nothing sleeps);
vendor behaviour against the sandbox; the SIGTERM stop against a real
subprocess, checked against the .eml outbox.
"""

from __future__ import annotations

import email
import email.policy
import random
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests

from harness import Harness, child_env

from interview_sync.config import load_settings
from interview_sync.context import Context, build_context
from interview_sync.daemon import FAILED, LOCKED, OK, STOPPED, Daemon
from interview_sync.errors import VendorError
from interview_sync.executor import RunReport
from interview_sync.listener import Listener
from interview_sync.lock import RunLock
from interview_sync.poll import run_poll
from interview_sync.sandbox import SandboxServer, World, build_app
from interview_sync.sandbox.client import SandboxClient
from interview_sync.sandbox.server import Request, Response
from interview_sync.starter import sandbox_config, write_config
from interview_sync.webhooks import WebhookGate, signed_delivery

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 60  # bound for anything a test waits on (threads, subprocesses); never a timing assumption


class FakeTime:
    """Monotonic and wall clock in one; the waiter moves it instead of sleeping."""

    def __init__(self, start: float = 1_000.0) -> None:
        self.now = start
        self.on_wait: list[Any] = []  # callables run (and removed) on the next waits, in order

    def monotonic(self) -> float:
        return self.now

    def waiter(self, cond: threading.Condition, seconds: float) -> None:
        if self.on_wait:
            self.now += self.on_wait.pop(0)()  # the callable says how long "passed" before its event
            return
        self.now += seconds


class Midpoint(random.Random):
    """random() == 0.5: jitter factor exactly 1, so schedules are exact."""

    def random(self) -> float:
        return 0.5


class StubContext:
    """Enough of a Context for a loop whose poll is a fake."""

    def __init__(self) -> None:
        self.ats = self.scheduler = None
        self.bad_records: list[Any] = []
        self.closed = False

    def close(self) -> None:
        self.closed = True


def fake_daemon(poll: Any, clock: FakeTime, **kwargs: Any) -> Daemon:
    kwargs.setdefault("every", 300)
    return Daemon(lambda: StubContext(), poll=poll, monotonic=clock.monotonic, wall=clock.monotonic,
                  waiter=clock.waiter, rng=Midpoint(), **kwargs)  # type: ignore[arg-type,return-value]


def ok_report() -> RunReport:
    return RunReport()


def failed_report() -> RunReport:
    return RunReport(errors=["reading the ATS stopped: greenhouse: GET /v3/applications failed (503)"])


# --- schedule, wakes, backoff -----------------------------------------------------------------


def test_wakes_coalesce_a_burst_in_the_wait_and_a_burst_in_a_cycle_give_one_cycle_each() -> None:
    clock = FakeTime()
    starts: list[float] = []
    daemon: Daemon

    def poll(ctx: Any, **kw: Any) -> tuple[RunReport, list[Any]]:
        starts.append(clock.now)
        if len(starts) == 2:
            for _ in range(50):  # 50 webhooks arrive while cycle 2 runs
                daemon.wake()
        return ok_report(), []

    def burst() -> float:
        for _ in range(50):  # 50 webhooks arrive 10 s into the wait after cycle 1
            daemon.wake()
        return 10.0

    daemon = fake_daemon(poll, clock, min_gap=1.0)
    clock.on_wait.append(burst)
    assert daemon.run(max_cycles=4) == 4
    base = starts[0]
    # 1: at start; 2: the in-wait burst; 3: the in-cycle burst, min_gap after 2 began; 4: the interval.
    assert [s - base for s in starts] == [0.0, 10.0, 11.0, 311.0]


def test_without_wakes_cycles_follow_the_interval_with_bounded_jitter() -> None:
    clock = FakeTime()
    starts: list[float] = []

    def poll(ctx: Any, **kw: Any) -> tuple[RunReport, list[Any]]:
        starts.append(clock.now)
        return ok_report(), []

    daemon = Daemon(lambda: StubContext(), poll=poll, every=300, monotonic=clock.monotonic,  # type: ignore[arg-type,return-value]
                    wall=clock.monotonic, waiter=clock.waiter, rng=random.Random(7))
    daemon.run(max_cycles=200)
    gaps = [b - a for a, b in zip(starts, starts[1:])]
    assert all(270.0 <= g <= 330.0 for g in gaps)  # ±10 %
    assert len({round(g, 3) for g in gaps}) > 100  # and really jittered


def test_a_failing_vendor_backs_off_exponentially_to_the_cap_and_recovers() -> None:
    clock = FakeTime()
    outcomes = [failed_report] * 6 + [ok_report] * 2
    starts: list[float] = []

    def poll(ctx: Any, **kw: Any) -> tuple[RunReport, list[Any]]:
        starts.append(clock.now)
        return outcomes[len(starts) - 1](), []

    daemon = fake_daemon(poll, clock, every=60, max_backoff=300)
    daemon.run(max_cycles=8)
    gaps = [b - a for a, b in zip(starts, starts[1:])]
    assert gaps == [60.0, 120.0, 240.0, 300.0, 300.0, 300.0, 60.0]


def test_a_crashing_cycle_is_survived_and_its_context_replaced() -> None:
    clock = FakeTime()
    made: list[StubContext] = []
    calls = 0

    def poll(ctx: Any, **kw: Any) -> tuple[RunReport, list[Any]]:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise RuntimeError("boom")
        if calls == 3:
            raise VendorError("greenhouse", "GET /v3/applications timed out")
        return ok_report(), []

    def make() -> StubContext:
        made.append(StubContext())
        return made[-1]

    daemon = Daemon(make, poll=poll, every=60, monotonic=clock.monotonic, wall=clock.monotonic,  # type: ignore[arg-type]
                    waiter=clock.waiter, rng=Midpoint())
    daemon.run(max_cycles=4)
    assert calls == 4
    assert len(made) == 3 and made[0].closed and made[1].closed and made[2].closed  # the last closed on exit
    assert daemon.metrics.registry.get_sample_value("interview_sync_cycles_total", {"result": "failed"}) == 2
    assert "timed out" in daemon.health.last_reason or daemon.health.last_success is not None


def test_the_context_is_rebuilt_after_its_max_age() -> None:
    clock = FakeTime()
    made: list[StubContext] = []

    def make() -> StubContext:
        made.append(StubContext())
        return made[-1]

    daemon = Daemon(make, poll=lambda ctx, **kw: (ok_report(), []), every=60,  # type: ignore[arg-type]
                    context_max_age=100, monotonic=clock.monotonic, wall=clock.monotonic, waiter=clock.waiter,
                    rng=Midpoint())
    daemon.run(max_cycles=5)  # cycles at 0, 60, 120, 180, 240
    assert len(made) == 3  # fresh at 0, 120 and 240: adapter caches never outlive 100 s
    assert all(c.closed for c in made)


def test_stop_during_a_cycle_tells_the_poll_time_is_up_and_ends_the_loop() -> None:
    clock = FakeTime()
    seen: list[float] = []
    daemon: Daemon

    def poll(ctx: Any, *, timer: Any, **kw: Any) -> tuple[RunReport, list[Any]]:
        before = timer()
        daemon.stop()
        seen.append(timer() - before)  # the deadline clock jumped: PollCycle.expired() turns True
        return ok_report(), []

    daemon = fake_daemon(poll, clock)
    assert daemon.run() == 1
    assert seen[0] > 1e6
    assert daemon.metrics.registry.get_sample_value("interview_sync_cycles_total", {"result": STOPPED}) == 1


# --- the lock shared with `poll` ---------------------------------------------------------------


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[Harness]:
    h = Harness(tmp_path)
    try:
        yield h
    finally:
        h.close()


def daemon_for(h: Harness, clock: FakeTime | None = None, **kwargs: Any) -> Daemon:
    clock = clock or FakeTime()
    return Daemon(lambda: build_context(h.settings, clock=h.clock, sleeper=lambda s: None), every=60,
                  monotonic=clock.monotonic, wall=clock.monotonic, waiter=clock.waiter, rng=Midpoint(), **kwargs)


def test_a_cycle_is_skipped_while_a_poll_holds_the_lock(harness: Harness) -> None:
    daemon = daemon_for(harness)
    before = sum(harness.world.requests.values())
    with RunLock(harness.settings.state.path):  # a cron `poll` in progress
        cycle = daemon.run_cycle()
    assert cycle.result == LOCKED
    assert sum(harness.world.requests.values()) == before  # nothing was read under someone else's lock
    assert daemon.run_cycle().result == OK  # the lock is free again: the next cycle runs
    daemon.close()


def test_poll_is_refused_while_a_run_cycle_holds_the_lock(harness: Harness) -> None:
    inside, release = threading.Event(), threading.Event()

    def make() -> Context:
        ctx = build_context(harness.settings, clock=harness.clock, sleeper=lambda s: None)
        listing = ctx.ats.changed_applications

        def held(*args: Any, **kwargs: Any) -> Any:
            inside.set()
            release.wait(TIMEOUT)
            yield from listing(*args, **kwargs)

        ctx.ats.changed_applications = held  # type: ignore[method-assign]
        return ctx

    daemon = Daemon(make, every=60)
    results: list[Any] = []
    worker = threading.Thread(target=lambda: results.append(daemon.run_cycle()))
    worker.start()
    try:
        assert inside.wait(TIMEOUT)
        cron = subprocess.run([sys.executable, "-m", "interview_sync", "--config", str(harness.config_path), "poll"],
                              cwd=ROOT, env=child_env(), capture_output=True, text=True,
                              timeout=TIMEOUT)
    finally:
        release.set()
        worker.join(TIMEOUT)
    assert cron.returncode == 75, cron.stderr
    assert "lock" in cron.stderr
    assert results[0].result == OK
    daemon.close()


# --- health and metrics against the sandbox ------------------------------------------------------


def get(url: str) -> requests.Response:
    return requests.get(url, timeout=10)


def test_health_turns_503_with_the_reason_when_the_ats_is_down(harness: Harness) -> None:
    clock = FakeTime()
    daemon = daemon_for(harness, clock, health_threshold=600)
    listener = Listener("127.0.0.1", 0, daemon=daemon, gate=WebhookGate({})).start()
    try:
        assert daemon.run_cycle().result == OK
        assert get(listener.url + "/healthz").status_code == 200
        for _ in range(8):  # the ATS answers 503 to every listing (each cycle: 1 try + 3 retries)
            harness.sandbox.fault("/v3/applications", 503)
        clock.now += 300
        assert daemon.run_cycle().result == FAILED
        assert get(listener.url + "/healthz").status_code == 200  # one bad cycle is within the threshold
        clock.now += 301
        assert daemon.run_cycle().result == FAILED
        answer = get(listener.url + "/healthz")
        assert answer.status_code == 503
        assert "no good cycle for 601 s (threshold 600 s)" in answer.text
        assert "reading the ATS stopped: greenhouse" in answer.text
        clock.now += 10
        assert daemon.run_cycle().result == OK  # the ATS is back
        assert get(listener.url + "/healthz").status_code == 200
        metrics = get(listener.url + "/metrics").text
        assert 'interview_sync_cycles_total{result="failed"} 2.0' in metrics
        assert 'interview_sync_cycles_total{result="ok"} 2.0' in metrics
    finally:
        listener.stop()
        daemon.close()


def test_metrics_count_actions_alerts_requests_and_429s(harness: Harness) -> None:
    daemon = daemon_for(harness)
    assert daemon.run_cycle().result == OK  # the baseline
    harness.sandbox.move("17001", "Phone Screen")
    harness.sandbox.fault("/v3/applications", 429, headers={"Retry-After": "0"})
    cycle = daemon.run_cycle()
    assert cycle.result == OK and cycle.report.outcomes
    value = daemon.metrics.registry.get_sample_value
    for outcome in cycle.report.outcomes:
        expected = sum(1 for o in cycle.report.outcomes if (o.action, o.result) == (outcome.action, outcome.result))
        assert value("interview_sync_actions_total", {"kind": outcome.action, "outcome": outcome.result}) == expected
    assert value("interview_sync_vendor_rate_limited_total", {"vendor": "greenhouse"}) == 1
    sent = sum(harness.world.requests.values())
    counted = value("interview_sync_vendor_requests_total", {"vendor": "greenhouse"}) + \
        value("interview_sync_vendor_requests_total", {"vendor": "calendly"})
    assert 0 < counted <= sent  # logical requests (a retried one counts once); the sandbox sees every try
    assert value("interview_sync_last_success_timestamp_seconds") is not None
    ctx = daemon._ctx
    assert ctx is not None and not ctx.ats.session.calls and not ctx.scheduler.session.calls  # drained: no growth
    daemon.close()


def test_webhooks_over_http_wake_the_loop_and_invalid_ones_are_counted(harness: Harness) -> None:
    """50 signed deliveries arrive during a cycle: each is accepted (202), and they give one more cycle."""
    gate_open, in_cycle = threading.Event(), threading.Event()
    cycles = 0
    daemon: Daemon

    def poll(ctx: Any, **kw: Any) -> tuple[RunReport, list[Any]]:
        nonlocal cycles
        cycles += 1
        if cycles == 1:
            in_cycle.set()
            gate_open.wait(TIMEOUT)
        return ok_report(), []

    def waiter(cond: threading.Condition, seconds: float) -> None:
        if cycles >= 2:
            daemon.stop()  # idle after the coalesced cycle: nothing was left pending
            return
        cond.wait(min(seconds, TIMEOUT))

    daemon = Daemon(lambda: StubContext(), poll=poll, every=3600, min_gap=0.0, waiter=waiter)  # type: ignore[arg-type,return-value]
    gate = WebhookGate({"calendly": "key"})
    listener = Listener("127.0.0.1", 0, daemon=daemon, gate=gate).start()
    runner = threading.Thread(target=daemon.run)
    runner.start()
    try:
        assert in_cycle.wait(TIMEOUT)

        def deliver(n: int) -> int:
            import time

            body, headers = signed_delivery("calendly", "key", {"event": "invitee.created", "n": n}, time.time())
            return requests.post(listener.url + "/webhooks/calendly", data=body, headers=headers,
                                 timeout=10).status_code

        with ThreadPoolExecutor(max_workers=10) as pool:
            statuses = list(pool.map(deliver, range(50)))
        assert statuses == [202] * 50
        forged = requests.post(listener.url + "/webhooks/calendly", data=b"{}", timeout=10,
                               headers={"Calendly-Webhook-Signature": "t=1,v1=00"})
        assert forged.status_code == 401
        assert requests.post(listener.url + "/webhooks/greenhouse", data=b"{}", timeout=10).status_code == 404
    finally:
        gate_open.set()
        runner.join(TIMEOUT)
        listener.stop()
    assert not runner.is_alive()
    assert cycles == 2
    value = daemon.metrics.registry.get_sample_value
    assert value("interview_sync_webhooks_total", {"vendor": "calendly", "result": "valid"}) == 50
    assert value("interview_sync_webhooks_total", {"vendor": "calendly", "result": "bad-signature"}) == 1


# --- SIGTERM mid-cycle, a real process --------------------------------------------------------------

MOVES = (("17001", "Phone Screen"), ("17002", "Phone Screen"), ("17003", "First Interview"),
         ("17004", "First Interview"))  # each gets an invitation (17006's job has no host: an alert instead)


def invites(outbox: Path) -> list[str]:
    """The invitation refs in the outbox, one per .eml that is an invitation."""
    refs = []
    for path in sorted(outbox.glob("*.eml")):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        if message["X-Interview-Sync-Kind"] == "invite":
            refs.append(str(message["X-Interview-Sync-Ref"]))
    return refs


def test_sigterm_mid_cycle_finishes_the_step_in_hand_and_loses_or_duplicates_nothing(tmp_path: Path) -> None:
    world = World()  # the real clock on both sides: the tool runs as a separate process
    app = build_app(world)
    held, release = threading.Event(), threading.Event()
    links = 0
    handle = app.handle

    def slow_second_link(request: Request) -> Response:
        nonlocal links
        if request.method == "POST" and request.path == "/scheduling_links":
            links += 1
            if links == 2:  # the second invitation's link: hold it until the test has sent SIGTERM
                held.set()
                release.wait(TIMEOUT)
        return handle(request)

    app.handle = slow_second_link  # type: ignore[method-assign]
    with SandboxServer(app) as server:
        config = tmp_path / "interview-sync.toml"
        write_config(config, sandbox_config(server.url))
        settings = load_settings(config)
        ctx = build_context(settings)
        try:
            run_poll(ctx)  # the baseline
            for application_id, stage in MOVES:
                SandboxClient(server.url).move(application_id, stage)
            proc = subprocess.Popen([sys.executable, "-m", "interview_sync", "--config", str(config), "run",
                                     "--every", "3600"], cwd=ROOT, env=child_env(),
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            try:
                assert held.wait(TIMEOUT), "the run never reached the second invitation"
                proc.send_signal(signal.SIGTERM)
                release.set()
                out, err = proc.communicate(timeout=TIMEOUT)
            finally:
                release.set()
                if proc.poll() is None:
                    proc.kill()
                    proc.wait(TIMEOUT)
            assert proc.returncode == 0, err
            assert "stopped cleanly after 1 cycle" in out
            outbox = settings.email.outbox_dir
            first = invites(outbox)
            assert len(first) == 2  # the invitation in hand was finished, and nothing after it was started
            assert not RunLock(settings.state.path).acquire().release()  # the lock was released on exit
            report, _ = run_poll(ctx)  # the next cycle (cron or run) picks up the rest
            assert not report.errors
        finally:
            ctx.close()
    refs = invites(outbox)
    assert len(refs) == len(set(refs)) == len(MOVES)  # every candidate invited, none twice
    assert set(first) <= set(refs)
    assert links == len(MOVES)  # and no booking link was created twice


def test_run_refuses_a_bad_listen_address_in_one_line(tmp_path: Path) -> None:
    config = tmp_path / "interview-sync.toml"
    write_config(config, sandbox_config("http://127.0.0.1:9"))
    result = subprocess.run([sys.executable, "-m", "interview_sync", "--config", str(config), "run",
                             "--listen", "localhost:http"], cwd=ROOT, env=child_env(),
                            capture_output=True, text=True, timeout=TIMEOUT)
    assert result.returncode == 2
    assert "--listen" in result.stderr and "127.0.0.1:8787" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_health_before_any_cycle_counts_from_the_start_on_the_injected_clock() -> None:
    clock = FakeTime(start=0.0)
    daemon = fake_daemon(lambda ctx, **kw: (ok_report(), []), clock, health_threshold=60)
    assert daemon.health.status()[0]
    clock.now += 61
    healthy, reason = daemon.health.status()
    assert not healthy and "no good cycle since the start 61 s ago" in reason


# --- the sandbox sends signed webhooks ----------------------------------------------------------------


@pytest.mark.parametrize("ats,scheduler", [("greenhouse", "calendly"), ("lever", "calcom")])
def test_a_sandbox_stage_move_wakes_the_loop_and_the_invitation_leaves(tmp_path: Path, ats: str,
                                                                       scheduler: str) -> None:
    from interview_sync.sandbox.webhooks import register

    h = Harness(tmp_path, ats=ats, scheduler=scheduler)
    done: list[RunReport] = []
    second = threading.Event()

    def poll(ctx: Context, **kw: Any) -> tuple[RunReport, Any]:
        report, plan = run_poll(ctx, **kw)
        done.append(report)
        if len(done) == 2:
            second.set()
        return report, plan

    daemon = Daemon(lambda: build_context(h.settings, clock=h.clock, sleeper=lambda s: None), poll=poll,
                    every=3600, min_gap=0.0)
    gate = WebhookGate({ats: "ats-secret", scheduler: "sched-secret"})
    listener = Listener("127.0.0.1", 0, daemon=daemon, gate=gate).start()
    runner = threading.Thread(target=daemon.run)
    try:
        register(h.server.url, ats, f"{listener.url}/webhooks/{ats}", "ats-secret")
        register(h.server.url, scheduler, f"{listener.url}/webhooks/{scheduler}", "sched-secret")
        h.poll()  # the baseline, so the move below is a change
        runner.start()  # its first cycle is at once; with every=3600 a second one can only come from a wake
        h.sandbox.move("17001", "Phone Screen")
        assert second.wait(TIMEOUT), "the webhook never woke a cycle"
    finally:
        daemon.stop()
        runner.join(TIMEOUT)
        listener.stop()
        h.close()
    invited = [o for report in done for o in report.outcomes if o.action == "invite" and o.result == "sent"]
    assert [o.application_id for o in invited] == [h.app_id("17001")]
    assert daemon.metrics.registry.get_sample_value("interview_sync_webhooks_total",
                                                    {"vendor": ats, "result": "valid"}) == 1


def test_demo_live_shows_each_email_leaving_seconds_after_its_change(tmp_path: Path) -> None:
    from interview_sync.demo_live import run_live_demo

    lines: list[str] = []
    result = run_live_demo(tmp_path / "demo", say=lines.append)
    sent = [line for line in lines if "email left" in line]
    assert len(sent) == 2, lines  # the invitation after the move, the confirmation after the booking
    assert {r.outcome.action for r in result.rows} >= {"invite", "confirmation"}
    assert len(list((tmp_path / "demo" / "outbox").glob("*.eml"))) >= 3


def test_a_second_stop_signal_means_now() -> None:
    daemon = fake_daemon(lambda ctx, **kw: (ok_report(), []), FakeTime())
    daemon.request_stop_from_signal(signal.SIGTERM, None)
    assert daemon.stopping
    with pytest.raises(KeyboardInterrupt):
        daemon.request_stop_from_signal(signal.SIGTERM, None)


def test_run_config_names_the_key_and_the_fix(tmp_path: Path) -> None:
    from interview_sync.errors import ConfigError

    config = tmp_path / "interview-sync.toml"
    config.write_text('[run]\nlisten = "localhost:port"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_settings(config)
    assert "run.listen" in str(info.value) and "127.0.0.1:8787" in str(info.value)
    config.write_text("[webhooks]\ncalendly_signing_key = \"s3cr3t-value\"\n", encoding="utf-8")
    settings = load_settings(config)
    assert "s3cr3t" not in repr(settings.webhooks)
    assert settings.webhooks.calendly_signing_key.get_secret_value() == "s3cr3t-value"


def test_a_poll_without_the_timer_keyword_is_called_without_it() -> None:
    """If run_poll ever loses its deadline timer, cycles still run (a stop then waits for the cycle's end)."""
    clock = FakeTime()
    calls: list[Any] = []

    def poll(ctx: Any) -> tuple[RunReport, list[Any]]:
        calls.append(ctx)
        return ok_report(), []

    assert fake_daemon(poll, clock).run(max_cycles=2) == 2 and len(calls) == 2
