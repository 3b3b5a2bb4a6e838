"""Benchmark: `audit export` streams in constant memory.

Builds state databases with N audit rows (hash-chained, as the tool writes
them), then exports each in a fresh process to /dev/null and prints rows,
wall time and peak RSS. Constant memory means the RSS column stays flat as N
grows by 100x.

    python bench/audit_export_bench.py                 # 10k, 100k, 1M rows
    python bench/audit_export_bench.py --rows 20000    # one size
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

CHILD = r"""
import json, resource, sys, time
from interview_sync.audit import export
from interview_sync.state import StateDB
db = StateDB.open(sys.argv[1], readonly=True)
start = time.perf_counter()
with open("/dev/null", "w", encoding="utf-8", newline="") as out:
    rows = export(db, kind="events", fmt=sys.argv[2], out=out)
elapsed = time.perf_counter() - start
print(json.dumps({"rows": rows, "seconds": elapsed,
                  "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def build(path: Path, rows: int) -> float:
    from interview_sync.state import StateDB

    start = time.perf_counter()
    db = StateDB.open(path)
    at = datetime(2026, 1, 1, tzinfo=timezone.utc)
    batch = 50_000
    for offset in range(0, rows, batch):
        with db.transaction():
            for i in range(offset, min(rows, offset + batch)):
                db.audit("email_sent", at=at + timedelta(seconds=i), ref=f"is-{i // 7}-abcdef0123",
                         application_id=str(10_000 + i // 7), candidate_id=str(i // 7), channel="email",
                         recipient=f"candidate{i // 7}+nurse@example.org",
                         detail=f"invite Message-ID <is-{i}.0123456789abcdef0123@mercyvalley.example>")
    db.close()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, action="append", help="row counts (repeatable)")
    parser.add_argument("--format", default="csv", choices=("csv", "jsonl"))
    args = parser.parse_args()
    sizes = args.rows or [10_000, 100_000, 1_000_000]
    print(f"{'rows':>10} {'build s':>9} {'export s':>9} {'rows/s':>10} {'peak RSS MiB':>13}")
    with tempfile.TemporaryDirectory() as tmp:
        for size in sizes:
            path = Path(tmp) / f"audit-{size}.db"
            built = build(path, size)
            result = subprocess.run([sys.executable, "-c", CHILD, str(path), args.format], check=True,
                                    capture_output=True, text=True)
            data = json.loads(result.stdout)
            assert data["rows"] == size, data
            print(f"{size:>10,} {built:>9.1f} {data['seconds']:>9.2f} {size / data['seconds']:>10,.0f} "
                  f"{data['peak_rss_mib']:>13.1f}")


if __name__ == "__main__":
    main()
