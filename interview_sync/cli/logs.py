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


class IsoFormatter(logging.Formatter):
    """``2026-11-24T09:00:00.123Z WARNING urllib3.connectionpool: ...``"""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802 - logging API
        instant = datetime.fromtimestamp(record.created, tz=timezone.utc)
        return instant.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class _OurHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Marks the handler we installed, so a second configure replaces it and leaves others alone."""


def configure(*, verbose: bool = False, quiet: bool = False) -> None:
    """Route log records to the current stderr: warnings by default, info with --verbose, errors with --quiet."""
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, _OurHandler)]:
        root.removeHandler(handler)
    handler = _OurHandler(sys.stderr)
    handler.setFormatter(IsoFormatter())
    root.addHandler(handler)
    root.setLevel(logging.ERROR if quiet else logging.INFO if verbose else logging.WARNING)
