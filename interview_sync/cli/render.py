"""Output for humans and scripts: rich tables on a terminal, stable lines otherwise."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..sanitize import clean, multi_line

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def is_tty() -> bool:
    return sys.stdout.isatty()


def _cell(value: Any) -> str:
    return "" if value is None else clean(str(value))


def table(title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """A rich table on a terminal; tab-separated lines with a header otherwise.

    Cells are vendor data (names, job titles, notes): on a terminal they go in as
    ``Text``, never as markup, so ``[/bold]Mallory`` is a name and not a closing tag,
    and in both modes control characters (terminal escapes) and bidi overrides are
    stripped first.
    """
    if is_tty():
        grid = Table(title=Text(clean(title)), show_lines=False)
        for column in columns:
            grid.add_column(Text(column))
        for row in rows:
            grid.add_row(*(Text(_cell(v)) for v in row))
        out.print(grid)
        return
    print("\t".join(columns))
    for row in rows:
        print("\t".join(_cell(v) for v in row))


def emit_json(data: Any) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def error_line(message: str) -> None:
    err.print(Text(f"error: {multi_line(message)}"))


def notice(message: str) -> None:
    """A status line on stderr (what was written where), as plain text."""
    err.print(Text(multi_line(message)))


def info(message: str, quiet: bool = False) -> None:
    if not quiet:
        out.print(Text(multi_line(message)))
