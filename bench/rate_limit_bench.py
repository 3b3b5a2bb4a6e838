"""Rate-limit pacing benchmark, in simulated time against the sandbox's Greenhouse limiter.

The sandbox enforces a fixed window (default 50 requests per 10 seconds) on
its ``/v3`` routes. Here the limiter, the tool's clock and the tool's sleeper
share one simulated clock, so 1,000 requests "take" minutes of simulated time
but seconds of real time, and the figures are exact:

- section A: 1,000 GETs through one :class:`~interview_sync.http.VendorSession`;
- section B: one poll in which 1,000 applications entered an interview stage
  (each becomes an invitation: candidate read, link, email, ATS note).

Printed per section: requests, 429 responses, simulated elapsed time, the
theoretical minimum, and the overhead over it. The minimum is the fixed-window
floor ``(ceil(R / limit) - 1) * window`` (the last window's requests can go at
its very start); ``R / rate`` (the sustained rate) is shown next to it.

    python bench/rate_limit_bench.py
    python bench/rate_limit_bench.py --requests 500 --invitations 200 --limit 50 --window 10
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout without installing

from interview_sync.config import load_settings  # noqa: E402
from interview_sync.context import build_context  # noqa: E402
from interview_sync.http import VendorSession  # noqa: E402
from interview_sync.poll import run_poll  # noqa: E402
from interview_sync.sandbox import SandboxServer, World, build_app  # noqa: E402
from interview_sync.sandbox.bulk import seed_bulk  # noqa: E402
from interview_sync.sandbox.greenhouse import move_to_stage, stage_id_for  # noqa: E402
from interview_sync.sandbox.server import Request, Response, SandboxApp  # noqa: E402
from interview_sync.starter import sandbox_config, write_config  # noqa: E402

T0 = 1_796_054_400.0  # 2026-12-01T00:00:00Z: a multiple of any whole-second window


class SimTime:
    """One simulated clock for the sandbox limiter, the sandbox world and the tool."""

    def __init__(self, world: World, start: float = T0) -> None:
        self.t = start
        self.world = world
        self.slept = 0.0
        self.sleeps = 0
        world.fixed_now = self.now()

    def seconds(self) -> float:
        return self.t

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.t, tz=timezone.utc)

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            self.t += seconds
            self.slept += seconds
            self.sleeps += 1
            with self.world.lock:
                self.world.fixed_now = self.now()


class Counting429:
    """Counts the sandbox's 429 answers (the tool never sees those urllib3 retried)."""

    def __init__(self, app: SandboxApp) -> None:
        self.count = 0
        self._handle = app.handle
        app.handle = self  # type: ignore[method-assign]

    def __call__(self, request: Request) -> Response:
        response = self._handle(request)
        if response.status == 429:
            self.count += 1
        return response


def sandbox(limit: int, window: float) -> tuple[World, SandboxServer, SimTime, Counting429]:
    world = World()
    sim = SimTime(world)
    app = build_app(world)
    counter = Counting429(app)
    server = SandboxServer(app).start()
    gh = world.data["greenhouse"]
    gh["rate_clock"] = sim.seconds
    gh["rate_limit"] = {"limit": limit, "window": window}
    return world, server, sim, counter


def floor_time(requests_made: int, limit: int, window: float) -> float:
    return (math.ceil(requests_made / limit) - 1) * window


def row(label: str, made: int, throttled: int, elapsed: float, limit: int, window: float, real: float) -> None:
    floor = floor_time(made, limit, window)
    sustained = made * window / limit
    overhead = (elapsed - floor) / floor * 100 if floor else 0.0
    print(f"{label:<34} {made:>8} {throttled:>5} {elapsed:>11.1f} {floor:>10.1f} {sustained:>10.1f} "
          f"{overhead:>9.1f}% {real:>7.1f}")


def section_a(n: int, limit: int, window: float) -> None:
    world, server, sim, counter = sandbox(limit, window)
    try:
        token = requests.post(f"{server.url}/auth/token", auth=("sandbox-client", "sandbox-secret"),
                              data={"grant_type": "client_credentials", "sub": "4005"}, timeout=10).json()
        session = VendorSession("greenhouse", sleeper=sim.sleep, clock=sim.seconds)
        headers = {"Authorization": f"Bearer {token['access_token']}"}
        real, start = time.perf_counter(), sim.t
        for index in range(n):
            session.request("GET", f"{server.url}/v3/users", params={"per_page": "1"}, headers=headers)
        row(f"A: {n} GETs, one VendorSession", n, counter.count, sim.t - start, limit, window,
            time.perf_counter() - real)
    finally:
        server.stop()


def section_b(n: int, limit: int, window: float) -> dict[str, Any]:
    world, server, sim, counter = sandbox(limit, window)
    world.data["greenhouse"]["rate_limit"] = None  # the baseline poll is not what is measured
    ids = seed_bulk(world, n)
    try:
        with tempfile.TemporaryDirectory(prefix="rate-bench-") as tmp:
            config = sandbox_config(server.url, state_path=f"{tmp}/state.db", outbox_dir=f"{tmp}/outbox")
            config["ats"]["per_page"] = 500
            write_config(Path(tmp) / "interview-sync.toml", config)
            settings = load_settings(Path(tmp) / "interview-sync.toml")
            ctx = build_context(settings, clock=sim, sleeper=sim.sleep)
            for adapter in (ctx.ats, ctx.scheduler):  # the pacer measures waits on the simulated clock too
                adapter.session.pacer.clock = sim.seconds  # type: ignore[attr-defined]
            try:
                run_poll(ctx)  # baseline: records N applications, sends nothing
                sim.sleep(600)
                gh = world.data["greenhouse"]
                with world.lock:
                    for app_id in ids:
                        application = gh["applications"][app_id]
                        move_to_stage(world, application,
                                      gh["job_interview_stages"][stage_id_for(application["job_id"], 1)])
                sim.sleep(60)
                gh["rate_limit"] = {"limit": limit, "window": window}
                gh["_rate"] = {"window_start": 0.0, "count": 0}
                before = sum(c for label, c in world.requests.items() if " /v3/" in label)
                throttled_before = counter.count
                real, start = time.perf_counter(), sim.t
                report, _ = run_poll(ctx)
                elapsed = sim.t - start
                made = sum(c for label, c in world.requests.items() if " /v3/" in label) - before
                throttled = counter.count - throttled_before
                invites = sum(1 for o in report.outcomes if o.action == "invite" and o.result == "sent")
                row(f"B: poll sending {invites} invitations", made - throttled, throttled, elapsed, limit,
                    window, time.perf_counter() - real)
                return {"invites": invites, "errors": report.errors[:3]}
            finally:
                ctx.close()
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--invitations", type=int, default=1000)
    parser.add_argument("--limit", type=int, default=50)
    parser.add_argument("--window", type=float, default=10.0)
    args = parser.parse_args()
    print(f"Greenhouse sandbox limiter: {args.limit} requests per {args.window:g} s (fixed window), simulated time\n")
    print(f"{'':<34} {'requests':>8} {'429s':>5} {'elapsed s':>11} {'minimum s':>10} {'R/rate s':>10} "
          f"{'overhead':>10} {'real s':>7}")
    section_a(args.requests, args.limit, args.window)
    if args.invitations:
        extra = section_b(args.invitations, args.limit, args.window)
        if extra["errors"]:
            print("errors:", *extra["errors"], sep="\n  ")
    print("\nrequests = /v3 requests that were answered (429s counted apart); minimum = (ceil(requests/limit)-1)"
          " x window;\nR/rate = requests / (limit/window); overhead is over the minimum.")


if __name__ == "__main__":
    main()
