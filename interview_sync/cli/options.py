"""The global options (--config, --verbose, --quiet), accepted before or after the command.

SPEC §3 writes them before the command (`interview-sync --config x.toml poll`),
but people type `interview-sync poll --config x.toml` just as often. Rather
than declaring the three options again on every command, the root group
lends its own declarations to each leaf command (hidden from that command's
help) and strips their values before the command's function is called, so a
command never sees them and a new command gets them for free.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable, Iterator
from typing import Any, Optional

from typer.core import TyperGroup

from . import logs

GLOBAL_NAMES = ("config", "verbose", "quiet")


class Globals:
    """What the global options said for this invocation (the root callback resets it)."""

    config: Optional[str] = None
    verbose: bool = False
    quiet: bool = False

    def reset(self, config: Optional[str], verbose: bool, quiet: bool) -> None:
        self.config, self.verbose, self.quiet = config, verbose, quiet
        logs.configure(verbose=verbose, quiet=quiet)

    def absorb(self, config: Optional[str], verbose: bool, quiet: bool) -> None:
        """Options given after the command add to (and, for --config, override) those before it."""
        self.reset(config if config is not None else self.config, self.verbose or verbose, self.quiet or quiet)


G = Globals()


def _leaves(commands: dict[str, Any]) -> Iterator[Any]:
    for command in commands.values():
        if isinstance(command, TyperGroup):
            yield from _leaves(command.commands)
        else:
            yield command


def _absorbing(callback: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(callback)
    def wrapper(**kwargs: Any) -> Any:
        G.absorb(*(kwargs.pop(name) for name in GLOBAL_NAMES))
        return callback(**kwargs)

    return wrapper


class GlobalOptionsGroup(TyperGroup):
    """The root group: its --config/--verbose/--quiet also work after any sub-command."""

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        lent = [param for param in self.params if param.name in GLOBAL_NAMES]
        assert [p.name for p in lent] == list(GLOBAL_NAMES), "the root callback declares the global options"
        for command in _leaves(self.commands):
            if command.callback is None or any(p.name in GLOBAL_NAMES for p in command.params):
                continue
            for param in lent:
                hidden = copy.copy(param)
                hidden.hidden = True
                command.params.append(hidden)
            command.callback = _absorbing(command.callback)
