"""What people read: template contexts, the hiring manager's .ics, ATS note text.

Composition is pure: it reads settings and an invitation and returns data
(a dict for the renderer, an attachment, a string). Keeping it apart from the
executor means the executor only carries messages, and the planner can say
exactly which message a step will send.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from email.utils import parseaddr
from typing import Any

from . import zones
from .config import Settings
from .ics import build_ics, event_uid
from .invitation import Invitation, State
from .mail.message import Attachment
from .zones import format_local, format_range

# The ATS adapter's ``application_url(application_id, candidate_id, web_url)``: a pure URL builder.
ApplicationUrl = Callable[[str, str, str | None], str | None]


class Composer:
    """Composition under one configuration (sender, routes, zones) and one ATS's links."""

    def __init__(self, settings: Settings, application_url: ApplicationUrl | None = None) -> None:
        self.settings = settings
        self.application_url = application_url

    def _zone(self, inv: Invitation, reader: str) -> str:
        """The zone ``reader`` (candidate | hm | recruiter) reads this invitation's times in."""
        offices, default = self.settings.offices, self.settings.policy.timezone
        if reader == "candidate":
            return zones.candidate_zone(inv.candidate_timezone, inv.office, offices, default)
        if reader == "hm":
            return zones.manager_zone(inv.hm_timezone, inv.office, offices, default)
        return zones.fallback_zone(inv.office, offices, default)

    def _ats_link(self, inv: Invitation) -> str | None:
        """The application's page in the ATS, or None (then people get its id). An adapter
        without ``application_url`` (a test double, a third-party ATS) just has no link."""
        if self.application_url is None:
            return None
        return self.application_url(inv.application_id, inv.candidate_id, self.settings.ats.web_url or None)

    def _base_context(self, inv: Invitation, reader: str = "candidate") -> dict[str, Any]:
        """What a template may say to ``reader``: times in their zone; the ATS link, phone
        and application notes only for the hiring manager and recruiters (staff)."""
        sender_name, _ = parseaddr(self.settings.email.from_)
        zone = self._zone(inv, reader)
        route = self._route(inv)
        staff = reader != "candidate"
        when = None
        if inv.interview_start and inv.interview_end:
            when = format_range(inv.interview_start, inv.interview_end, zone)
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
            "when": when,
            "candidate_phone": inv.candidate_phone if reader == "hm" else None,
            "ats_link": self._ats_link(inv) if staff else None,
            "manager_notes": (inv.manager_notes or "").splitlines() if reader == "hm" else [],
            "command": None,
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
        link = self._ats_link(inv)
        description = "\n".join(line for line in (
            f"Candidate: {inv.candidate_name}",
            f"Role: {inv.job_name}",
            f"When: {format_range(start, end, self._zone(inv, 'hm'))}",
            f"Format: {inv.interview_format}",
            f"Candidate's phone: {inv.candidate_phone}" if inv.candidate_phone else "",
            f"Join: {inv.join_url}" if inv.join_url else "",
            f"Notes: {inv.booking_notes}" if inv.booking_notes else "",
            *(inv.manager_notes or "").splitlines(),
            f"Application in the ATS: {link}" if link else f"Application: {inv.application_id}",
            f"Reference: {inv.ref}",
        ) if line)
        data = build_ics(method=method, uid=event_uid(inv.ref, sender_email), sequence=sequence, start=start, end=end,
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
        zone = self._zone(inv, "recruiter")
        if inv.deadline_at and inv.state is not State.BOOKED:
            lines.append(f"Book by: {format_local(inv.deadline_at, zone)}")
        if inv.interview_start:
            lines.append(f"Interview: {format_local(inv.interview_start, zone)}")
        lines.append(f"Reference: {inv.ref}")
        return "\n".join(lines)
