"""The run lock: a second poll fails at once; a dead holder leaves no stale lock."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from interview_sync.errors import ExitStatus, LockHeld
from interview_sync.lock import RunLock, lock_path_for

ROOT = Path(__file__).resolve().parents[1]

HOLDER = """
import sys
from interview_sync.lock import RunLock
lock = RunLock(sys.argv[1]).acquire()
print("held", flush=True)
sys.stdin.readline()  # hold until the parent closes our stdin
lock.release()
"""


@pytest.fixture
def holder(tmp_path: Path) -> Iterator[subprocess.Popen[str]]:
    """Another process holding the lock on ``tmp_path/state.db``."""
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(tmp_path / "state.db")],
                            cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    yield proc
    if proc.poll() is None:
        proc.kill()
    proc.wait(timeout=10)


def test_lock_path_is_next_to_the_db(tmp_path: Path) -> None:
    assert lock_path_for(tmp_path / "state.db") == tmp_path / "state.db.lock"
    assert lock_path_for(tmp_path / "x.lock") == tmp_path / "x.lock"
    assert RunLock(tmp_path / "state.db").path == tmp_path / "state.db.lock"


def test_second_process_is_refused_immediately(tmp_path: Path,
                                               holder: subprocess.Popen[str]) -> None:
    lock = RunLock(tmp_path / "state.db")
    started = time.monotonic()
    with pytest.raises(LockHeld) as info:
        lock.acquire()
    assert time.monotonic() - started < 1.0  # no waiting: cron gets EX_TEMPFAIL at once
    assert info.value.exit_status == ExitStatus.TEMPFAIL == 75
    assert "state.db.lock" in str(info.value)
    assert not lock.is_locked


def test_lock_is_free_after_holder_exits(tmp_path: Path, holder: subprocess.Popen[str]) -> None:
    assert holder.stdin is not None
    holder.stdin.close()
    assert holder.wait(timeout=10) == 0
    with RunLock(tmp_path / "state.db") as lock:
        assert lock.is_locked
    assert not lock.is_locked


def test_lock_is_free_after_holder_is_killed(tmp_path: Path,
                                             holder: subprocess.Popen[str]) -> None:
    holder.kill()  # a crash: no release() ever runs
    holder.wait(timeout=10)
    with RunLock(tmp_path / "state.db"):
        pass


def test_two_locks_in_one_process_exclude_each_other(tmp_path: Path) -> None:
    first = RunLock(tmp_path / "state.db").acquire()
    with pytest.raises(LockHeld):
        RunLock(tmp_path / "state.db").acquire()
    first.release()
    with RunLock(tmp_path / "state.db"):
        pass


def test_context_manager_releases_on_error(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError):
        with RunLock(tmp_path / "state.db"):
            raise RuntimeError
    with RunLock(tmp_path / "state.db") as again:
        assert again.is_locked
