"""Poll benchmark: vendor requests, CPU, wall time and memory per poll, at 1k–100k applications.

Not a pass/fail test: it prints a table (and the targets next to it) for the
README's Performance section. For each size N:

- a sandbox with N bulk applications runs in its own process
  (``bench/sandbox_proc.py``), so the tool's CPU and memory are its own;
- the tool runs in a fresh worker process per N (peak RSS is per process),
  with a fixed clock moved in step with the sandbox's;
- polls: the first (baseline) poll, idle polls, a poll after K applications
  moved into an interview stage (each becomes an invitation: link, email,
  ATS note), and an idle poll after that;
- each N runs once per ``--candidate-batch`` size: 1 is the unbatched
  "before" (one candidate read per invitation), 50 the batched "after".

Per poll: vendor requests by endpoint (deltas of the sandbox's own counters),
wall time, the tool's CPU time (``time.process_time`` in the worker), peak RSS
of the worker so far, the Python heap peak of the poll (tracemalloc, measured
on a separate repeat so it does not skew CPU), and requests saved versus a
naive full scan (ceil(N / per_page) list pages + N detail reads).

    python bench/poll_bench.py                    # N = 1k, 10k, 100k; K = 10, 100; batch 1 and 50
    python bench/poll_bench.py --sizes 1000 --changes 10 --candidate-batch 50
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import requests

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # run from a checkout without installing

from interview_sync.clock import FixedClock, iso  # noqa: E402
from interview_sync.config import load_settings  # noqa: E402
from interview_sync.context import build_context  # noqa: E402
from interview_sync.poll import run_poll  # noqa: E402
from interview_sync.sandbox.bulk import bulk_application_id  # noqa: E402
from interview_sync.starter import sandbox_config, write_config  # noqa: E402

START = datetime(2026, 11, 30, 16, 0, tzinfo=timezone.utc)
PER_PAGE = 500  # Harvest's documented maximum; the tool's ats.per_page
STAGE = "Phone Screen"


# --------------------------------------------------------------------------- sandbox process


class SandboxProcess:
    """The sandbox in a child process, stopped by its own pid."""

    def __init__(self, applications: int) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(HERE / "sandbox_proc.py"), "--applications", str(applications),
             "--now", iso(START - timedelta(hours=1)), "--no-stage-history"],
            stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(HERE.parent)})
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().split()
        if len(line) != 2 or line[0] != "READY":
            self.stop()
            raise RuntimeError("the bench sandbox did not start")
        self.url = line[1]

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def vendor_of(label: str) -> str | None:
    """Endpoint label (``GET /v3/applications``) -> vendor; admin traffic is ours, not the tool's."""
    path = label.split(" ", 1)[1]
    if path.startswith("/_admin"):
        return None
    if path.startswith("/v3/") or path == "/auth/token":
        return "greenhouse"
    return "calendly"


# --------------------------------------------------------------------------- worker (the tool)


class Worker:
    """One N: the tool in this process, polling the sandbox at ``url``."""

    def __init__(self, url: str, n: int, directory: Path, batch: int) -> None:
        self.url, self.n, self.batch = url, n, batch
        config = sandbox_config(url, state_path=str(directory / "state.db"), outbox_dir=str(directory / "outbox"))
        config["ats"]["per_page"] = PER_PAGE
        path = directory / "interview-sync.toml"
        write_config(path, config)
        self.settings = load_settings(path)
        self.clock = FixedClock(START)
        self.sleeps: list[float] = []
        self.ctx = build_context(self.settings, clock=self.clock, sleeper=self.sleeps.append)
        self.ctx.ats.candidate_batch = batch  # type: ignore[attr-defined]  # the sandbox ATS is Greenhouse
        self.hours = 0.0
        self._admin("/_admin/clock", {"now": iso(START)})

    def _admin(self, path: str, body: dict[str, Any]) -> None:
        requests.post(self.url + path, json=body, timeout=60).raise_for_status()

    def counts(self) -> Counter[str]:
        return Counter(requests.get(self.url + "/_admin/requests", timeout=60).json())

    def advance(self, minutes: float) -> None:
        self.hours += minutes / 60
        self.clock.set(START + timedelta(hours=self.hours))
        self._admin("/_admin/clock", {"now": iso(self.clock.now())})

    def move(self, k: int, first: int) -> None:
        for index in range(first, first + k):
            self._admin("/_admin/move", {"application_id": str(bulk_application_id(index)), "stage": STAGE})

    def poll(self, label: str, k: int = 0, heap: bool = False) -> dict[str, Any]:
        before = self.counts()
        wall, cpu = time.perf_counter(), time.process_time()
        report, _ = run_poll(self.ctx)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        delta = self.counts() - before
        by_vendor: Counter[str] = Counter()
        endpoints: dict[str, int] = {}
        for endpoint, count in delta.items():
            vendor = vendor_of(endpoint)
            if vendor is not None:
                by_vendor[vendor] += count
                endpoints[endpoint] = count
        row = {"n": self.n, "batch": self.batch, "poll": label, "k": k, "greenhouse": by_vendor["greenhouse"],
               "calendly": by_vendor["calendly"], "endpoints": endpoints, "wall_s": wall, "cpu_s": cpu,
               "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
               "sent": sum(1 for o in report.outcomes if o.result == "sent"), "errors": len(report.errors),
               "known": self.ctx.db.count_applications()}
        if heap:
            row["heap_mb"] = self.heap_peak()
        return row

    def heap_peak(self) -> float:
        """Python heap peak of one more idle poll (tracemalloc; excluded from the CPU figure)."""
        self.advance(1)
        tracemalloc.start()
        try:
            run_poll(self.ctx)
            return tracemalloc.get_traced_memory()[1] / 2**20
        finally:
            tracemalloc.stop()


def run_worker(url: str, n: int, changes: list[int], batch: int) -> None:
    with tempfile.TemporaryDirectory(prefix="poll-bench-") as tmp:
        worker = Worker(url, n, Path(tmp), batch)
        emit = lambda row: print(json.dumps(row), flush=True)  # noqa: E731
        emit(worker.poll("baseline (first run)"))
        for _ in range(2):
            worker.advance(10)
            emit(worker.poll("idle"))
        worker.advance(10)
        emit(worker.poll("idle", heap=True))
        first = 0
        for k in changes:
            worker.advance(10)
            worker.move(k, first)
            first += k
            worker.advance(1)
            emit(worker.poll("changes", k=k))
            # Our own ATS notes bumped updated_at, and the cursor re-reads
            # ats.overlap_minutes (10) back: the next two polls see the K again.
            for _ in range(2):
                worker.advance(10)
                emit(worker.poll("echo of own notes", k=k))
            worker.advance(10)
            emit(worker.poll("idle after changes", heap=True))
        worker.ctx.close()


# --------------------------------------------------------------------------- parent: table


def naive(n: int) -> int:
    return math.ceil(n / PER_PAGE) + n


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram = ""
    try:
        kb = int(next(l for l in Path("/proc/meminfo").read_text().splitlines() if l.startswith("MemTotal")).split()[1])
        ram = f", {kb / 2**20:.0f} GiB RAM"
    except (OSError, StopIteration, ValueError):
        pass
    return (f"{os.cpu_count()} CPU ({cpu}){ram}, Python {platform.python_version()}, "
            f"{platform.system()} {platform.release()}")


def print_table(rows: list[dict[str, Any]]) -> None:
    head = (f"{'N':>7} {'batch':>5} {'poll':<22} {'K':>4} {'GH req':>7} {'Cal req':>7} {'wall s':>8} "
            f"{'tool CPU s':>10} "
            f"{'peak RSS MB':>11} {'heap MB':>8} {'sent':>5} {'naive req':>9} {'saved':>8}")
    print(head)
    print("-" * len(head))
    for r in rows:
        heap = f"{r['heap_mb']:.1f}" if "heap_mb" in r else ""
        saved = naive(r["n"]) - r["greenhouse"]
        print(f"{r['n']:>7} {r['batch']:>5} {r['poll']:<22} {r['k'] or '':>4} {r['greenhouse']:>7} {r['calendly']:>7} "
              f"{r['wall_s']:>8.2f} {r['cpu_s']:>10.3f} {r['rss_mb']:>11.1f} {heap:>8} {r['sent']:>5} "
              f"{naive(r['n']):>9} {saved:>8}")


def print_endpoints(rows: list[dict[str, Any]]) -> None:
    print("\nRequests by endpoint (largest N; first poll of each kind)")
    largest = max(r["n"] for r in rows)
    shown: set[tuple[str, int]] = set()
    batched = max(r["batch"] for r in rows)
    for r in rows:
        if r["n"] != largest or r["batch"] != batched or (r["poll"], r["k"]) in shown:
            continue
        shown.add((r["poll"], r["k"]))
        parts = ", ".join(f"{e} ×{c}" for e, c in sorted(r["endpoints"].items(), key=lambda x: (-x[1], x[0])))
        print(f"  {r['poll']}{' K=' + str(r['k']) if r['k'] else ''}: {parts or '(none)'}")


def check_targets(rows: list[dict[str, Any]]) -> None:
    idle = [r for r in rows if r["poll"].startswith("idle")]  # echo polls are change polls, not idle
    worst = max((max(r["greenhouse"], r["calendly"]) for r in idle), default=0)
    cpu = max((r["cpu_s"] for r in idle if r["n"] == max(x["n"] for x in rows)), default=0.0)
    print("\nTargets")
    print(f"  idle poll <= 2 requests per vendor, any N ........ worst {worst}: {'OK' if worst <= 2 else 'MISSED'}")
    print(f"  idle poll tool CPU < 1 s at the largest N ........ worst {cpu:.3f} s: {'OK' if cpu < 1 else 'MISSED'}")
    for r in rows:
        if r["poll"] == "changes":
            lists = r["endpoints"].get("GET /v3/applications", 0)
            bound = math.ceil(r["k"] / PER_PAGE) + 1
            print(f"  N={r['n']:>6} K={r['k']:>3} batch={r['batch']:>2}: {lists} application list request(s) "
                  f"(O(K/page) bound {bound}): {'OK' if lists <= bound else 'MISSED'}; "
                  f"{r['greenhouse'] / max(r['k'], 1):.2f} GH + {r['calendly'] / max(r['k'], 1):.2f} Calendly "
                  f"requests per invitation")
    print_batching(rows)


def print_batching(rows: list[dict[str, Any]]) -> None:
    """Greenhouse requests per invitation, unbatched (before) against batched (after) candidate reads."""
    changes = {(r["n"], r["k"], r["batch"]): r for r in rows if r["poll"] == "changes"}
    batches = sorted({b for _, _, b in changes})
    if len(batches) < 2:
        return
    before, after = batches[0], batches[-1]
    print(f"\nGreenhouse requests per invitation, candidate reads batch={before} (before) vs batch={after} (after)")
    for n, k in sorted({(n, k) for n, k, _ in changes}):
        if (n, k, before) in changes and (n, k, after) in changes:
            old, new = changes[(n, k, before)], changes[(n, k, after)]
            reads = [r["endpoints"].get("GET /v3/candidates", 0) for r in (old, new)]
            print(f"  N={n:>6} K={k:>3}: {old['greenhouse'] / k:.2f} -> {new['greenhouse'] / k:.2f} "
                  f"(candidate reads {reads[0]} -> {reads[1]})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    parser.add_argument("--changes", type=int, nargs="+", default=[10, 100])
    parser.add_argument("--candidate-batch", type=int, nargs="+", default=[1, 50],
                        help="candidate ids per read (1 = unbatched, the 'before'; 50 = batched)")
    parser.add_argument("--worker", nargs=3, metavar=("URL", "N", "BATCH"), help=argparse.SUPPRESS)
    parser.add_argument("--json", action="store_true", help="print the raw rows as JSON too")
    args = parser.parse_args()
    if args.worker:
        run_worker(args.worker[0], int(args.worker[1]), args.changes, int(args.worker[2]))
        return
    print(f"machine: {machine()}")
    print(f"per_page {PER_PAGE}; naive full scan = ceil(N/{PER_PAGE}) list pages + N detail reads\n")
    rows: list[dict[str, Any]] = []
    for n in args.sizes:
        for batch in args.candidate_batch:
            sandbox = SandboxProcess(n)  # a fresh world per run: the previous run moved applications
            try:
                out = subprocess.run([sys.executable, __file__, "--worker", sandbox.url, str(n), str(batch),
                                      "--changes", *map(str, args.changes)], capture_output=True, text=True,
                                     check=False, env={**os.environ, "PYTHONPATH": str(HERE.parent)})
            finally:
                sandbox.stop()
            if out.returncode != 0:
                sys.stderr.write(out.stderr[-2000:])
                raise SystemExit(f"worker for N={n} batch={batch} failed ({out.returncode})")
            rows.extend(json.loads(line) for line in out.stdout.splitlines() if line.startswith("{"))
    print_table(rows)
    print_endpoints(rows)
    check_targets(rows)
    if args.json:
        print(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
