"""`doctor --probe-writes APPLICATION_ID`: the writes the tool makes, tried once on a test candidate.

Reads can be probed on any record; writes cannot be tried without changing
something. So this runs only when asked, on the application named, through
the ATS adapter's own write methods (the very requests a poll sends): a note
and the flag tag. Then it removes what the vendor lets us remove. One line
per step, so a refused permission names itself ("POST /notes was refused
(403)") before go-live instead of on the first flagged candidate.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from ..clock import Clock, iso
from ..config import Settings
from ..context import build_ats
from ..doctor import Check, _failed
from ..errors import BadRecord
from ..models import Application
from . import vendor_of


class TagRemover(Protocol):
    """Adapters that can take a tag off again (not part of the ATS Protocol: a poll never does),
    and say first whether it was there, so a tag the candidate already had stays."""

    def has_tag(self, application: Application, tag: str) -> bool: ...

    def remove_tag(self, application: Application, tag: str) -> None: ...


def probe_note(now: str) -> str:
    return (f"[interview-sync] doctor --probe-writes test note ({now}). It checks that interview-sync may "
            "write notes here; nothing was sent to the candidate. Safe to delete.")


def run_probe_writes(settings: Settings, application_id: str, *, clock: Clock, ats: Any = None,
                     sleeper: Callable[[float], None] | None = None) -> list[Check]:
    """Read the application, add a note, add the flag tag, remove the tag again."""
    bad: list[BadRecord] = []
    ats = ats if ats is not None else build_ats(settings, clock, bad.append, sleeper)
    vendor = vendor_of(ats)
    try:
        app = ats.get_application(application_id)
    except Exception as exc:  # noqa: BLE001 - the line names what failed
        return [_failed("probe-writes application", exc, "pass the id of a test candidate's application, as "
                        "`status` shows ids")]
    checks = [Check("probe-writes application", True, f"{vendor} application {app.id} read "
                    f"(stage {app.stage_name!r}, candidate {app.candidate_id})")]
    try:
        ats.add_note(app, probe_note(iso(clock.now())))
        checks.append(Check("probe-writes note", True, f"note added to application {app.id}; it stays: "
                            "interview-sync has no way to delete notes", "delete it in the ATS if you wish"))
    except Exception as exc:  # noqa: BLE001
        checks.append(_failed("probe-writes note", exc, "give the ATS credential permission to add notes"))
    tag = settings.ats.flag_tag
    remover: TagRemover | None = ats if all(callable(getattr(ats, m, None)) for m in ("has_tag", "remove_tag")) \
        else None
    try:
        already = remover.has_tag(app, tag) if remover is not None else False
        ats.add_tag(app, tag)
    except Exception as exc:  # noqa: BLE001
        checks.append(_failed("probe-writes tag", exc, "give the ATS credential permission to tag candidates"))
        return checks
    if already:
        checks.append(Check("probe-writes tag", True, f"tag {tag!r} was already on application {app.id}; adding "
                            "it again was accepted, and it stays (it was not ours to remove)"))
        return checks
    checks.append(Check("probe-writes tag", True, f"tag {tag!r} added to application {app.id}"))
    checks.append(_remove_tag(remover, app, tag, vendor))
    return checks


def _remove_tag(remover: TagRemover | None, app: Application, tag: str, vendor: str) -> Check:
    if remover is None:
        return Check("probe-writes tag removal", False, f"the {vendor} adapter cannot remove tags",
                     f"remove {tag!r} from application {app.id} by hand in the ATS")
    try:
        remover.remove_tag(app, tag)
    except Exception as exc:  # noqa: BLE001
        return _failed("probe-writes tag removal", exc, f"remove {tag!r} from application {app.id} by hand, and "
                       "give the ATS credential permission to remove tags")
    return Check("probe-writes tag removal", True, f"tag {tag!r} removed from application {app.id} again")
