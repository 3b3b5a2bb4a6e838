"""The clocks tests run on: CI's shifted wall clock reaches test subprocesses and only
them, a child can be pinned to its sandbox's time, and the sandbox reads an injected clock.

``INTERVIEW_SYNC_TEST_CLOCK_SHIFT_DAYS`` is honoured by tests/clockshift/sitecustomize.py,
which only a test run puts on ``PYTHONPATH``; the tool itself must ignore it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone

from harness import CLOCKSHIFT_DIR, REPO, child_env

SHIFT_ENV = "INTERVIEW_SYNC_TEST_CLOCK_SHIFT_DAYS"
PRINT_NOW = "from interview_sync.clock import SystemClock; print(SystemClock().now().isoformat())"


def _real_now() -> datetime:
    """Today as the machine knows it, undoing this session's own shift (if any)."""
    days = int(os.environ.get(SHIFT_ENV, "").strip() or 0)
    return datetime.now(timezone.utc) - timedelta(days=days)


def _child_now(*, shift: str, with_clockshift: bool) -> datetime:
    paths = [str(CLOCKSHIFT_DIR)] if with_clockshift else []
    env = {**os.environ, SHIFT_ENV: shift, "PYTHONPATH": os.pathsep.join([*paths, str(REPO)])}
    done = subprocess.run([sys.executable, "-c", PRINT_NOW], env=env, capture_output=True, text=True,
                          timeout=60, check=True)
    return datetime.fromisoformat(done.stdout.strip())


def test_a_test_subprocess_runs_on_the_shifted_clock() -> None:
    shifted = _child_now(shift="-400", with_clockshift=True)
    assert abs(shifted - (_real_now() - timedelta(days=400))) < timedelta(minutes=5)


def test_the_tool_ignores_the_shift_variable_outside_a_test_run() -> None:
    unshifted = _child_now(shift="400", with_clockshift=False)
    assert abs(unshifted - _real_now()) < timedelta(minutes=5)


def test_a_bad_shift_stops_the_child_with_a_message() -> None:
    env = {**os.environ, SHIFT_ENV: "next year", "PYTHONPATH": str(CLOCKSHIFT_DIR)}
    done = subprocess.run([sys.executable, "-c", "pass"], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode != 0 and SHIFT_ENV in done.stderr and "whole number" in done.stderr


def test_a_pinned_child_reads_the_sandbox_time_even_in_a_shifted_run() -> None:
    at = datetime(2026, 11, 30, 16, 0, tzinfo=timezone.utc)
    done = subprocess.run([sys.executable, "-c", PRINT_NOW], env=child_env(wall_clock=at), capture_output=True,
                          text=True, timeout=60, check=True)
    assert datetime.fromisoformat(done.stdout.strip()) == at


def test_a_sandbox_world_reads_its_injected_clock_until_pinned() -> None:
    from interview_sync.clock import FixedClock
    from interview_sync.sandbox import World

    at = datetime(2026, 11, 30, 16, 0, tzinfo=timezone.utc)
    world = World(clock=FixedClock(at))
    assert world.now() == at
    world.fixed_now = at + timedelta(hours=1)
    assert world.now() == at + timedelta(hours=1)
