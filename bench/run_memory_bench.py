"""Memory bench for `run`: RSS over many idle cycles of the real loop.

The run loop (``interview_sync.daemon.Daemon``) runs real poll cycles against
a sandbox in its own process, in simulated time: the loop's clock moves by
each interval instead of sleeping (every = 60 s, so the hourly context
rebuild happens every 60 cycles, as it would in production). RSS is read from
/proc at checkpoints; a leak shows as a steady climb from the first
checkpoint (after warm-up) to the last.

    python bench/run_memory_bench.py                 # 5,000 cycles (about a minute and a half)
    python bench/run_memory_bench.py --cycles 10000
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # run from a checkout without installing

from interview_sync.config import load_settings  # noqa: E402
from interview_sync.context import build_context  # noqa: E402
from interview_sync.daemon import Daemon  # noqa: E402
from interview_sync.starter import sandbox_config, write_config  # noqa: E402


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class SimulatedTime:
    def __init__(self) -> None:
        self.now = 0.0

    def monotonic(self) -> float:
        return self.now

    def wait(self, cond: threading.Condition, seconds: float) -> None:
        self.now += seconds


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cycles", type=int, default=5000)
    parser.add_argument("--applications", type=int, default=1000, help="bulk applications in the sandbox")
    args = parser.parse_args(argv)
    sandbox = subprocess.Popen([sys.executable, str(HERE / "sandbox_proc.py"), "--applications",
                                str(args.applications), "--no-stage-history"], stdout=subprocess.PIPE, text=True)
    try:
        assert sandbox.stdout is not None
        ready = sandbox.stdout.readline().split()
        if len(ready) != 2 or ready[0] != "READY":
            raise RuntimeError(f"sandbox did not start: {ready}")
        with tempfile.TemporaryDirectory() as tmp:
            config = Path(tmp) / "interview-sync.toml"
            write_config(config, sandbox_config(ready[1]))
            settings = load_settings(config)
            clock = SimulatedTime()
            checkpoints = sorted({10, *(round(args.cycles * f) for f in (0.1, 0.25, 0.5, 0.75)), args.cycles})
            readings: list[tuple[int, float, float]] = []
            started = time.perf_counter()
            daemon: Daemon

            def poll(ctx: Any, **kw: Any) -> Any:
                from interview_sync.poll import run_poll

                result = run_poll(ctx, **kw)
                if daemon.cycles + 1 in checkpoints:
                    readings.append((daemon.cycles + 1, rss_mb(), time.perf_counter() - started))
                return result

            daemon = Daemon(lambda: build_context(settings), poll=poll, every=60, monotonic=clock.monotonic,
                            waiter=clock.wait)
            ran = daemon.run(max_cycles=args.cycles)
            requests = daemon.metrics.registry.get_sample_value
            total = sum(requests("interview_sync_vendor_requests_total", {"vendor": v}) or 0
                        for v in ("greenhouse", "calendly"))
    finally:
        sandbox.terminate()
        sandbox.wait(30)
    print(f"{ran} idle cycles in {readings[-1][2]:.0f} s wall ({total / ran:.2f} vendor requests per cycle)\n")
    print("| cycle | RSS MB | wall s |")
    print("|---|---|---|")
    for cycle, rss, wall in readings:
        print(f"| {cycle:,} | {rss:.1f} | {wall:.0f} |")
    first, last = readings[0][1], readings[-1][1]
    print(f"\nRSS after warm-up (cycle {readings[0][0]}) {first:.1f} MB, after cycle {readings[-1][0]:,} "
          f"{last:.1f} MB: {last - first:+.1f} MB")


if __name__ == "__main__":
    main()
