"""The candidate's own calendar invite, attached to the confirmation and to the cancel notice.

Kept apart from the executor so the decision (``sends_candidate_invite``) and
the content (``ics.candidate_invite``) stay pure and testable on their own;
the executor only asks for the attachments to put on a message it sends anyway.
"""

from __future__ import annotations

from datetime import datetime
from email.utils import parseaddr
from typing import Literal

from .config import Settings
from .ics import candidate_invite, event_uid, sends_candidate_invite
from .invitation import Invitation
from .mail.message import Attachment


def candidate_attachments(settings: Settings, inv: Invitation, method: Literal["REQUEST", "CANCEL"],
                          sequence: int, start: datetime | None, end: datetime | None,
                          now: datetime) -> list[Attachment]:
    """``[invite.ics]`` for the candidate, or ``[]`` when the setting (or missing data) says no."""
    if not sends_candidate_invite(settings.email.candidate_calendar_invite, settings.scheduler.provider):
        return []
    if not inv.candidate_email or start is None or end is None:
        return []
    sender_name, sender_email = parseaddr(settings.email.from_)
    data = candidate_invite(method=method, uid=event_uid(inv.ref, sender_email), sequence=sequence,
                            start=start, end=end, dtstamp=now,
                            summary=f"Interview: {inv.job_name}" if inv.job_name else "Interview",
                            location=inv.location, join_url=inv.join_url,
                            organizer=(sender_name or "interview-sync", sender_email),
                            candidate=(inv.candidate_name or "", inv.candidate_email))
    return [Attachment.ics(data, method)]
