"""One poll at a time: a non-blocking file lock next to the state database.

The lock is an OS advisory lock (flock) held on ``<state db>.lock``: the kernel
releases it when the holder exits, even on a crash or ``kill -9``, so there
is never a stale lock to clean up. A second run fails at once with
:class:`LockHeld` (exit 75, EX_TEMPFAIL) instead of queueing behind cron.
"""

from __future__ import annotations

from pathlib import Path
from types import TracebackType

import filelock

from .errors import LockHeld

LOCK_SUFFIX = ".lock"


def lock_path_for(path: Path | str) -> Path:
    """``x.db`` → ``x.db.lock``; a path already ending in ``.lock`` is used as is."""
    path = Path(path)
    return path if path.name.endswith(LOCK_SUFFIX) else path.with_name(path.name + LOCK_SUFFIX)


class RunLock:
    """``RunLock(state_db_path)``: acquire → hold for the run → release.

    ``path`` may be the state database (the lock goes to ``<db>.lock``) or
    the lock file itself. Usable as a context manager.
    """

    def __init__(self, path: Path | str) -> None:
        self.path = lock_path_for(path)
        # thread_local=False: the run may hand work to threads; the lock belongs to the process
        self._lock = filelock.FileLock(self.path, timeout=0, mode=0o600, thread_local=False)

    def acquire(self) -> RunLock:
        try:
            self._lock.acquire(timeout=0)
        except filelock.Timeout:
            raise LockHeld(f"another interview-sync run holds {self.path}",
                           "nothing to do: this run was skipped; the lock is released as soon "
                           "as that run exits") from None
        return self

    def release(self) -> None:
        if self._lock.is_locked:
            self._lock.release()

    @property
    def is_locked(self) -> bool:
        return bool(self._lock.is_locked)

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.release()
