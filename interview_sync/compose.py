"""What people read: template contexts, the hiring manager's .ics, ATS note text.

Composition is pure: it reads settings and an invitation and returns data
(a dict for the renderer, an attachment, a string). Keeping it apart from the
executor means the executor only carries messages, and the planner can say
exactly which message a step will send.
"""

from __future__ import annotations

from datetime import datetime
from email.utils import parseaddr
from typing import Any
from zoneinfo import ZoneInfo

from .config import Settings
from .ics import build_ics
from .invitation import Invitation, State
from .mail.message import Attachment


def format_local(value: datetime, zone: str) -> str:
    local = value.astimezone(ZoneInfo(zone))
    hour = local.strftime("%I:%M %p").lstrip("0")
    return f"{local:%A, %B} {local.day}, {local.year} at {hour} {local.tzname()}"


class Composer:
    """Composition under one configuration (sender, routes, zones)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def _base_context(self, inv: Invitation) -> dict[str, Any]:
        sender_name, _ = parseaddr(self.settings.email.from_)
        zone = inv.candidate_timezone or self.settings.policy.timezone
        route = self._route(inv)
        return {
            "org_name": self.settings.email.org_name or sender_name or "our team",
            "candidate_name": inv.candidate_name or "",
            "candidate_first_name": (inv.candidate_name or "").split(" ")[0],
            "job_name": inv.job_name or "",
            "hm_name": inv.hm_name or "",
            "hm_title": inv.hm_title,
            "interview_format": inv.interview_format or "phone",
            "duration_minutes": inv.duration_minutes or 30,
            "link": inv.link_url,
            "deadline": format_local(inv.deadline_at, zone) if inv.deadline_at else None,
            "fallback_contact": self.settings.email.fallback_contact,
            "start": format_local(inv.interview_start, zone) if inv.interview_start else None,
            "end": format_local(inv.interview_end, zone) if inv.interview_end else None,
            "timezone": zone,
            "location": inv.location,
            "join_url": inv.join_url,
            "cancel_url": inv.cancel_url,
            "reschedule_url": inv.reschedule_url,
            "what_to_expect": route.notes if route else None,
            "updated": False,
            "feedback_url": self.settings.feedback.url or None,
            "application_id": inv.application_id,
            "invitation_ref": inv.ref,
            "reason": None,
            "fix": None,
            "recruiter_name": None,
        }

    def _route(self, inv: Invitation) -> Any:
        if inv.route_index is None or inv.route_index >= len(self.settings.routes):
            return None
        return self.settings.routes[inv.route_index]

    def _template_set(self, inv: Invitation) -> str:
        route = self._route(inv)
        return route.template if route else "default"

    def _ics(self, inv: Invitation, method: str, sequence: int, start: datetime, end: datetime,
             now: datetime) -> Attachment:
        sender_name, sender_email = parseaddr(self.settings.email.from_)
        description = "\n".join(line for line in (
            f"Candidate: {inv.candidate_name}",
            f"Role: {inv.job_name}",
            f"Format: {inv.interview_format}",
            f"Join: {inv.join_url}" if inv.join_url else "",
            f"Notes: {inv.booking_notes}" if inv.booking_notes else "",
            f"Reference: {inv.ref}",
        ) if line)
        data = build_ics(method=method, uid=f"{inv.ref}@interview-sync", sequence=sequence, start=start, end=end,
                         dtstamp=now, summary=f"Interview: {inv.candidate_name} – {inv.job_name}",
                         description=description, location=inv.join_url or inv.location,
                         organizer=(sender_name or "interview-sync", sender_email),
                         attendees=[(inv.hm_name or "", inv.hm_email or "")])
        return Attachment.ics(data, method)

    def _note(self, inv: Invitation, headline: str) -> str:
        lines = [f"[interview-sync] {headline}.", f"Stage: {inv.stage_name}"]
        if inv.hm_name:
            lines.append(f"Interviewer: {inv.hm_name}")
        if inv.link_url:
            lines.append(f"Booking link: {inv.link_url}")
        if inv.deadline_at and inv.state is not State.BOOKED:
            lines.append(f"Book by: {inv.deadline_at.isoformat()}")
        if inv.interview_start:
            lines.append(f"Interview: {format_local(inv.interview_start, self.settings.policy.timezone)}")
        lines.append(f"Reference: {inv.ref}")
        return "\n".join(lines)
