"""The application notes a hiring manager sees with a booking ([manager_notes]).

Privacy first: only the fields the recruiter lists in ``[manager_notes] fields``
are shown, each as one ``Label: value`` line. Values come from the ATS and are
plain text (templates escape them; the .ics writer strips control characters).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from .models import Application
from .zones import format_local

MAX_VALUE = 300  # a note is a hint for the interviewer, not a copy of the record
MAX_HISTORY = 10
MAX_PHONE = 40


def _clip(value: str) -> str:
    text = " ".join(value.split())
    return text if len(text) <= MAX_VALUE else text[:MAX_VALUE - 1] + "…"


def phone_text(value: str | None) -> str | None:
    """A phone number as a person typed it (ATS or booking page), made one short line:
    it is shown to the interviewer, never dialled or parsed."""
    if not value:
        return None
    text = " ".join("".join(c if c.isprintable() else " " for c in str(value)).split())
    return text[:MAX_PHONE] or None


def _label(custom_field: str) -> str:
    return custom_field.replace("_", " ").strip().capitalize() or custom_field


def note_lines(fields: Iterable[str], *, app: Application | None, stage_name: str | None,
               stage_changed_at: datetime | None, department: str | None, office: str | None,
               seen_stages: Sequence[tuple[str, datetime]], zone: str) -> list[str]:
    """One line per chosen field that has a value, in the order the recruiter listed them.

    ``stage_history`` is interview-sync's own record (``seen_stages``): the interview
    stages it saw this application enter, oldest first. Asking the ATS for its full
    history would cost a request per application per poll (Greenhouse
    ``application_stages``; Lever stage ids need the stage list), for a hint.
    """
    lines: list[str] = []
    for name in fields:
        if name == "stage" and stage_name:
            since = f" since {format_local(stage_changed_at, zone)}" if stage_changed_at else ""
            lines.append(f"Stage: {_clip(stage_name)}{since}")
        elif name == "stage_history":
            for stage, entered in list(seen_stages)[-MAX_HISTORY:]:
                lines.append(f"Stage history: {_clip(stage)}, entered {format_local(entered, zone)}")
        elif name == "source" and app is not None and app.source:
            lines.append(f"Source: {_clip(app.source)}")
        elif name == "department" and department:
            lines.append(f"Department: {_clip(department)}")
        elif name == "office" and office:
            lines.append(f"Office: {_clip(office)}")
        elif name.startswith("custom.") and app is not None:
            key = name.removeprefix("custom.")
            value = app.custom.get(key)
            if value:
                lines.append(f"{_label(key)}: {_clip(value)}")
    return lines
