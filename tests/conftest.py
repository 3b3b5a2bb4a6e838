from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest

from harness import PAIRS, Harness

from interview_sync.clock import FixedClock
from interview_sync.state import StateDB

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
