"""Routing rules: which event type, format and host an application gets.

``[[routes]]`` are tried in order; the first whose every ``match`` key fits
wins. An empty ``match`` is a catch-all. Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from .config import Route
from .models import Application, Job


def _facts(app: Application, job: Job | None) -> dict[str, str | None]:
    facts: dict[str, str | None] = {
        "stage": app.stage_name,
        "job_id": app.job_id,
        "job_name": job.name if job else None,
        "department": job.department if job else None,
        "office": job.office if job else None,
    }
    for key, value in app.custom.items():
        facts[f"custom.{key}"] = value
    return facts


def _fits(key: str, expected: str, actual: str | None) -> bool:
    if actual is None:
        return False
    if key == "job_name":
        return re.search(expected, actual) is not None
    return actual.casefold() == expected.casefold()


def pick_route(routes: Sequence[Route], app: Application, job: Job | None) -> tuple[int, Route] | None:
    """The first route that fits, with its index (kept for the audit), or None."""
    facts = _facts(app, job)
    for index, route in enumerate(routes):
        if all(_fits(key, expected, facts.get(key)) for key, expected in route.match.items()):
            return index, route
    return None
