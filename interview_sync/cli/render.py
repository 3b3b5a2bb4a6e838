"""Output for humans and scripts: rich tables on a terminal, stable lines otherwise."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.table import Table

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def is_tty() -> bool:
    return sys.stdout.isatty()


def table(title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """A rich table on a terminal; tab-separated lines with a header otherwise."""
    if is_tty():
        grid = Table(title=title, show_lines=False)
        for column in columns:
            grid.add_column(column)
        for row in rows:
            grid.add_row(*("" if v is None else str(v) for v in row))
        out.print(grid)
        return
    print("\t".join(columns))
    for row in rows:
        print("\t".join("" if v is None else str(v).replace("\t", " ").replace("\n", " ") for v in row))


def emit_json(data: Any) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def error_line(message: str) -> None:
    err.print(f"error: {message}", markup=False)


def info(message: str, quiet: bool = False) -> None:
    if not quiet:
        out.print(message, markup=False)
