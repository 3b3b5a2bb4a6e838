"""Bench-only sandbox launcher: build the app, seed N bulk applications, serve.

The benchmarks run the sandbox in its own process so the tool's CPU time and
memory are measured honestly (`interview-sync sandbox serve` cannot bulk-seed).
Prints one line ``READY <url>`` once listening, then serves until terminated.

    python bench/sandbox_proc.py --applications 10000 --now 2026-11-30T15:00:00Z
"""

from __future__ import annotations

import argparse
import sys

from interview_sync.clock import parse_instant
from interview_sync.sandbox import SandboxServer, World, build_app
from interview_sync.sandbox.bulk import seed_bulk


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--applications", type=int, default=0, help="bulk applications to seed")
    parser.add_argument("--now", default=None, help="fix the sandbox clock at this ISO 8601 instant")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--no-stage-history", action="store_true",
                        help="omit bulk application_stages rows (keeps the sandbox's own scans cheap)")
    args = parser.parse_args(argv)
    world = World()
    if args.now:
        world.fixed_now = parse_instant(args.now)
    server = SandboxServer(build_app(world))
    seed_bulk(world, args.applications, stage_history=not args.no_stage_history)
    print(f"READY {server.url}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.httpd.server_close()


if __name__ == "__main__":
    sys.exit(main())
