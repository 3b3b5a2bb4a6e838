"""Log lines on stderr, each stamped with an ISO 8601 UTC instant.

Cron and systemd append our stderr to a file or the journal; a cron log
without times cannot be matched to a vendor's incident window. The library
only calls ``logging.getLogger(__name__)``; this is the one place that
decides where those lines go and how they look.
"""

from __future__ import annotations

import logging
import sys
from datetime import datetime, timezone
from typing import Any


class IsoFormatter(logging.Formatter):
    """``2026-11-24T09:00:00.123Z WARNING urllib3.connectionpool: ...``"""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802 - logging API
        instant = datetime.fromtimestamp(record.created, tz=timezone.utc)
        return instant.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is when a record arrives, not when the handler
    was made (test runners swap it per invocation; a stale one would be closed)."""

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(IsoFormatter())

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        pass  # StreamHandler.__init__ assigns one; ours is always the current stderr


def configure(*, verbose: bool = False, quiet: bool = False) -> None:
    """Send log records to stderr: warnings by default, info with --verbose, errors with --quiet."""
    root = logging.getLogger()
    if not any(isinstance(h, StderrHandler) for h in root.handlers):
        root.addHandler(StderrHandler())
    root.setLevel(logging.ERROR if quiet else logging.INFO if verbose else logging.WARNING)
