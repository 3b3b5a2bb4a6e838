"""Shared fixtures, and the shifted clock of CI's clock-proof step.

With ``INTERVIEW_SYNC_TEST_CLOCK_SHIFT_DAYS=N`` set, the whole session runs with
the process clock moved N days from today (see tests/clockshift/sitecustomize.py
for how, and why subprocesses follow).
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest

from harness import CLOCKSHIFT_DIR, PAIRS, Harness

from interview_sync.clock import FixedClock
from interview_sync.state import StateDB


def _start_clock_shift() -> None:
    """Shift this process now (before any test runs) and every child it starts.

    A pytest-xdist worker is such a child: the controller's PYTHONPATH already made
    Python import tests/clockshift/sitecustomize.py at the worker's start-up, so its
    clock is moved; travelling again here would move it twice."""
    already = sys.modules.get("sitecustomize")
    if getattr(already, "TRAVELLER", None) is not None and \
            Path(getattr(already, "__file__", "")).resolve().parent == CLOCKSHIFT_DIR.resolve():
        return
    spec = importlib.util.spec_from_file_location("clockshift_site", CLOCKSHIFT_DIR / "sitecustomize.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if module.TRAVELLER is not None:
        path = os.environ.get("PYTHONPATH", "")
        os.environ["PYTHONPATH"] = os.pathsep.join([str(CLOCKSHIFT_DIR), *([path] if path else [])])


_start_clock_shift()

STATE_CLOCK = datetime(2026, 11, 24, 9, 0, tzinfo=timezone.utc)  # the state/audit tests' T0


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "state.db"


@pytest.fixture
def db(db_path: Path) -> Iterator[StateDB]:
    """A state database on disk whose own timestamps come from a fixed clock."""
    store = StateDB.open(db_path, clock=FixedClock(STATE_CLOCK))
    yield store
    store.close()


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[Harness]:
    """Greenhouse × Calendly, the default pair; modules that cover every pair override
    this with ``paired_harness``."""
    h = Harness(tmp_path)
    try:
        yield h
    finally:
        h.close()


@pytest.fixture(params=PAIRS)
def pair(request: pytest.FixtureRequest) -> tuple[str, str]:
    """(ats, scheduler): a test that asks for it runs once per supported vendor pair."""
    return request.param


@pytest.fixture
def paired_harness(tmp_path: Path, pair: tuple[str, str]) -> Iterator[Harness]:
    ats, scheduler = pair
    h = Harness(tmp_path, ats=ats, scheduler=scheduler)
    try:
        yield h
    finally:
        h.close()
