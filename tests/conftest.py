from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from harness import PAIRS, Harness


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
