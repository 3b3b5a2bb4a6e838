"""Files that hold candidate data: owner-only (0600) from the first byte.

``open(path, "w")`` followed by ``chmod`` leaves a window in which another
local user can open the file (and keep the descriptor after the chmod), and
a crash in between leaves it world-readable for good. Here the mode goes to
``os.open`` itself, so the file never exists with looser permissions; the
umask can only take bits away. A file that already existed with looser bits
is tightened before anything is written into it.

``write_private`` writes under a temporary name in the same directory and
renames over the target only on success: an export that fails midway leaves
no half-written file under the final name (and the temporary one is removed).
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

PRIVATE_MODE = 0o600
_FLAGS = {"w": os.O_WRONLY | os.O_CREAT | os.O_TRUNC,
          "a": os.O_WRONLY | os.O_CREAT | os.O_APPEND,
          "x": os.O_WRONLY | os.O_CREAT | os.O_EXCL}


def _tighten(fd: int) -> None:
    if stat.S_IMODE(os.fstat(fd).st_mode) & 0o077:
        os.fchmod(fd, PRIVATE_MODE)


def open_private(path: Path | str, mode: str = "w", *, encoding: str | None = "utf-8",
                 newline: str | None = None) -> IO[Any]:
    """Open ``path`` for writing (``w``, ``a`` or ``x``, plus ``b`` for bytes), created 0600."""
    binary = "b" in mode
    base = mode.replace("b", "")
    if base not in _FLAGS:
        raise ValueError(f"open_private mode {mode!r}: use w, a or x (optionally with b)")
    fd = os.open(path, _FLAGS[base] | getattr(os, "O_CLOEXEC", 0), PRIVATE_MODE)
    try:
        _tighten(fd)
        if binary:
            return os.fdopen(fd, base + "b")
        return os.fdopen(fd, base, encoding=encoding, newline=newline)
    except BaseException:
        os.close(fd)
        raise


@contextmanager
def write_private(path: Path | str, mode: str = "w", *, encoding: str | None = "utf-8",
                  newline: str | None = None) -> Iterator[IO[Any]]:
    """Write a whole file atomically: a 0600 temporary file, renamed over ``path`` on success."""
    target = Path(path)
    if target.exists() and not target.is_file():  # /dev/stdout, a FIFO: nothing to rename over
        with open_private(target, mode, encoding=None if "b" in mode else encoding, newline=newline) as handle:
            yield handle
        return
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")  # 0600
    try:
        with (os.fdopen(fd, "wb") if "b" in mode
              else os.fdopen(fd, "w", encoding=encoding, newline=newline)) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_private_text(path: Path | str, text: str, *, encoding: str = "utf-8") -> None:
    """``Path.write_text`` for a file with personal data: atomic and 0600."""
    with write_private(path, encoding=encoding) as handle:
        handle.write(text)
