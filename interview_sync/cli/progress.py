"""Progress of a first poll's baseline: a live counter on a terminal, periodic lines otherwise.

A first run reads every application in the ATS (tens of thousands at a large
health system) before it can record the baseline; minutes of silence look
like a hang to the person at the terminal and to whoever reads the cron log.
The library only calls back with a count (it never imports rich); how the
count is shown is decided here.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TextIO

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn

from ..clock import Clock, iso

LINE_EVERY = 1000  # applications between two plain lines
LINE_SECONDS = 30.0  # ... or seconds, whichever comes first


class BaselineProgress:
    """A :data:`interview_sync.poll.Progress` callback; call :meth:`close` when the poll returns."""

    def __init__(self, *, live: Console | None, stream: TextIO, clock: Clock,
                 every: int = LINE_EVERY, seconds: float = LINE_SECONDS) -> None:
        self.live = live  # a terminal console: show a live counter there
        self.stream = stream  # otherwise: timestamped lines here
        self.clock = clock
        self.every = every
        self.interval = timedelta(seconds=seconds)
        self._display: Progress | None = None
        self._task: TaskID | None = None
        self._last_line = clock.now()
        self._last_count = 0

    def __call__(self, count: int) -> None:
        if self.live is not None:
            self._show(count)
            return
        now = self.clock.now()
        if count - self._last_count >= self.every or now - self._last_line >= self.interval:
            self.stream.write(f"{iso(now)} baseline: {count} applications read\n")
            self.stream.flush()
            self._last_line, self._last_count = now, count

    def _show(self, count: int) -> None:
        if self._display is None:
            self._display = Progress(SpinnerColumn(), TextColumn("baseline: {task.completed} applications read"),
                                     TimeElapsedColumn(), console=self.live, transient=True)
            self._display.start()
            self._task = self._display.add_task("baseline", total=None)
        assert self._task is not None
        self._display.update(self._task, completed=count)

    def close(self) -> None:
        if self._display is not None:
            self._display.stop()
            self._display = None
