"""Move this process's wall clock for a test run; honoured only under tests/.

Two knobs, read at interpreter start-up:

- ``INTERVIEW_SYNC_TEST_CLOCK_SHIFT_DAYS=N``: the clock runs N days from
  today. CI reruns the suite at +400 and -400 days to prove that no test,
  sandbox, seed or fixture depends on the real date.
- ``INTERVIEW_SYNC_TEST_WALL_CLOCK=<ISO 8601>``: the clock stands still at that
  instant. A test that starts ``interview-sync poll --now ...`` in a subprocess
  pins the child's real clock (which reads and cursors follow) to its sandbox's
  simulated time. It wins over the shift: a pinned instant is already chosen.

Why a ``sitecustomize`` module: the pytest process gets the shift from
``tests/conftest.py``, which loads this file; processes the tests start get it
because conftest (or ``harness.child_env``) puts this directory first on
``PYTHONPATH``, and Python imports the first ``sitecustomize`` on the path at
start-up. The tool itself never reads either variable: this directory lives
only in the source tree's tests/, it is not in the wheel, and nothing outside a
test run puts it on the path, so no production code path lets an environment
variable change the clock of a real poll.

Both use time-machine, which moves wall-clock reads (``time.time``,
``datetime.now``) in every thread; monotonic clocks (timeouts, sleeps) are
untouched.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

SHIFT_ENV = "INTERVIEW_SYNC_TEST_CLOCK_SHIFT_DAYS"
WALL_ENV = "INTERVIEW_SYNC_TEST_WALL_CLOCK"


def shift_days(environ: Mapping[str, str] = os.environ) -> int:
    """The requested shift in whole days (0 when unset); a bad value stops the run."""
    text = environ.get(SHIFT_ENV, "").strip()
    if not text:
        return 0
    try:
        return int(text)
    except ValueError:
        raise SystemExit(f"{SHIFT_ENV}={text!r} is not a whole number of days; use e.g. 400 or -400") from None


def pinned_at(environ: Mapping[str, str] = os.environ) -> datetime | None:
    """The instant to stand still at, if any; it must carry its UTC offset."""
    text = environ.get(WALL_ENV, "").strip()
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        value = None
    if value is None or value.tzinfo is None:
        raise SystemExit(f"{WALL_ENV}={text!r} is not an ISO 8601 instant with offset; use e.g. 2026-11-30T16:00:00Z")
    return value


def start() -> Any:
    """Start travelling if either knob asks for it; return the traveller (None if not)."""
    at = pinned_at()
    days = shift_days()
    if at is None and not days:
        return None
    import time_machine

    if at is not None:
        traveller = time_machine.travel(at, tick=False)
    else:
        traveller = time_machine.travel(datetime.now(timezone.utc) + timedelta(days=days), tick=True)
    traveller.start()
    return traveller


TRAVELLER = start()
