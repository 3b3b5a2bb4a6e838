"""The read phase of an invite: what we must know before a link can be made.

Everything here is a read (ATS candidate and job, the route, the hiring
manager, their scheduler account, the event type, free time). The answer is
data — :class:`Enriched`, :class:`NeedsPerson` or :class:`ReadFailed` — which
the planner turns into steps; nothing here writes, saves or alerts. Lookups a
poll repeats for every invitation of one hiring manager are cached per run.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from . import alerts, zones
from .alerts import AlertText
from .ats.base import ATS
from .config import Settings
from .errors import DeliveryError, VendorError
from .invitation import Invitation
from .mail.message import validate_address
from .manager_notes import note_lines, phone_text
from .models import Application, AppStatus, EventType, Job
from .routing import pick_route
from .scheduler.base import Scheduler
from .state import StateDB
from .workflow import Policy

ATS_PHASE = "ats"  # candidate, job, route, hiring manager
SCHEDULER_PHASE = "scheduler"  # host, event type, availability


@dataclass(frozen=True)
class Enriched:
    """Everything an invite needs: ``invitation`` carries the answers, ``event_type`` is
    where the link is made."""

    invitation: Invitation
    event_type: EventType


@dataclass(frozen=True)
class NeedsPerson:
    """A recruiter must act (an alert, worded by :mod:`alerts`, that parks the invitation).
    ``found`` is what was learnt before stopping; ``phase`` says whether the ATS part was complete."""

    text: AlertText
    found: Invitation
    phase: str = ATS_PHASE


@dataclass(frozen=True)
class ReadFailed:
    """A vendor read failed; counted towards MAX_VENDOR_FAILURES by the planner."""

    error: VendorError
    found: Invitation
    phase: str = ATS_PHASE


Enrichment = Enriched | NeedsPerson | ReadFailed

def stub_application(inv: Invitation, now: datetime) -> Application:
    """The application as far as the invitation knows it (when this run did not list it)."""
    return Application(id=inv.application_id, candidate_id=inv.candidate_id, job_id=inv.job_id,
                       stage_id=inv.stage_id, stage_name=inv.stage_name, status=AppStatus.ACTIVE, updated_at=now)


def hiring_manager(hosts: Mapping[str, str], route_host: str | None,
                   job: Job | None) -> tuple[str | None, str | None, str | None]:
    """(email, name, title) of whoever hosts the interview: the route's host, else the job's
    first hiring manager with an email (either mapped through ``[hosts]``)."""
    folded = {k.casefold(): v for k, v in hosts.items()}
    if route_host:
        return folded.get(route_host.casefold(), route_host), None, None
    for person in job.hiring_managers if job else ():
        mapped = folded.get(str(person.id).casefold()) or (folded.get(person.email.casefold())
                                                           if person.email else None)
        email = mapped or person.email
        if email:
            return email, person.name, person.title
    return None, None, None


class Enricher:
    """Reads for one run; ``apps`` holds the run's listing records so enrichment reuses
    what the ATS listing already carried instead of fetching it again."""

    def __init__(self, settings: Settings, policy: Policy, ats: ATS, scheduler: Scheduler, db: StateDB,
                 now: datetime, apps: Mapping[str, Application]) -> None:
        self.settings, self.policy, self.now, self.apps = settings, policy, now, apps
        self.ats, self.scheduler, self.db = ats, scheduler, db
        self._hosts: dict[str, Any] = {}
        self._event_types: dict[tuple[str, str], Any] = {}
        self._availability: dict[tuple[str, int], bool] = {}

    def read(self, inv: Invitation) -> Enrichment:
        found = replace(inv, extra=dict(inv.extra))
        try:
            answer = self._from_ats(found)
        except VendorError as exc:
            return ReadFailed(exc, found)
        if isinstance(answer, NeedsPerson):
            return answer
        try:
            return self._from_scheduler(answer)
        except VendorError as exc:
            return ReadFailed(exc, answer, SCHEDULER_PHASE)

    def _from_ats(self, inv: Invitation) -> Invitation | NeedsPerson:
        """Fill candidate, job, hiring manager and route (``inv`` is this read's own copy)."""
        app = self.apps.get(inv.application_id) or stub_application(inv, self.now)
        candidate = app.candidate or self.ats.get_candidate(inv.candidate_id)
        job = app.job or (self.ats.get_job(inv.job_id) if inv.job_id else None)
        inv.candidate_name = candidate.name
        # a zone learnt from an earlier booking outlives the cancel that brings us back here
        inv.candidate_timezone = inv.candidate_timezone or zones.known_zone(candidate.timezone)
        inv.job_name = job.name if job else None
        inv.department = job.department if job else None
        inv.office = job.office if job else None
        if job and job.recruiters and job.recruiters[0].email:
            inv.recruiter_email = job.recruiters[0].email
        if not candidate.email or not candidate.can_email:
            return NeedsPerson(alerts.no_email(inv.application_id, candidate.name), inv)
        try:
            inv.candidate_email = validate_address(candidate.email)
        except DeliveryError as exc:
            return NeedsPerson(alerts.bad_email(inv.application_id, candidate.name, str(exc)), inv)
        picked = pick_route(self.settings.routes, app, job)
        if picked is None:
            return NeedsPerson(alerts.no_route(inv.application_id, inv.job_name, inv.department, inv.stage_name),
                               inv)
        inv.route_index, route = picked
        inv.event_type = route.event_type
        inv.interview_format = route.format
        inv.duration_minutes = route.duration_minutes
        inv.location = route.location
        # the candidate's number is for the interviewer to call: kept for phone routes only
        inv.candidate_phone = phone_text(candidate.phone) if route.format == "phone" else None
        hm_email, hm_name, hm_title = hiring_manager(self.settings.hosts, route.host, job)
        if not hm_email:
            return NeedsPerson(alerts.no_hiring_manager(inv.application_id, inv.job_name), inv)
        inv.hm_email, inv.hm_name, inv.hm_title = hm_email, hm_name, hm_title
        return inv

    def _manager_notes(self, inv: Invitation) -> list[str]:
        """The lines of ``[manager_notes]`` for this application (only what the recruiter chose)."""
        app = self.apps.get(inv.application_id) or stub_application(inv, self.now)
        seen = [(i.stage_name, i.stage_changed_at) for i in self.db.invitations(application_id=inv.application_id)
                if i.ref != inv.ref] + [(inv.stage_name, inv.stage_changed_at)]
        zone = zones.manager_zone(inv.hm_timezone, inv.office, self.settings.offices, self.settings.policy.timezone)
        return note_lines(self.settings.manager_notes.fields, app=app, stage_name=inv.stage_name,
                          stage_changed_at=inv.stage_changed_at, department=inv.department, office=inv.office,
                          zone=zone, seen_stages=sorted(seen, key=lambda row: row[1]))

    def _from_scheduler(self, inv: Invitation) -> Enriched | NeedsPerson:
        """Find the host and event type, and check there is free time to book."""
        scheduler = self.scheduler
        email = (inv.hm_email or "").casefold()
        if email not in self._hosts:
            self._hosts[email] = scheduler.find_host(inv.hm_email or "")
        host = self._hosts[email]
        if host is None:
            return NeedsPerson(alerts.host_not_in_scheduler(inv.application_id, inv.hm_name, scheduler.name), inv,
                               SCHEDULER_PHASE)
        inv.hm_name = inv.hm_name or host.name
        inv.hm_timezone = zones.known_zone(host.timezone)
        inv.manager_notes = "\n".join(self._manager_notes(inv)) or None
        type_key = (host.uri, inv.event_type or "")
        if type_key not in self._event_types:
            self._event_types[type_key] = scheduler.get_event_type(host, inv.event_type or "")
        event_type = self._event_types[type_key]
        if event_type is None:
            return NeedsPerson(alerts.event_type_missing(inv.application_id, inv.hm_name, inv.event_type,
                                                         scheduler.name), inv, SCHEDULER_PHASE)
        days = self.policy.no_availability_days
        if (event_type.uri, days) not in self._availability:
            self._availability[(event_type.uri, days)] = bool(
                scheduler.available_times(event_type, self.now, self.now + timedelta(days=days)))
        if not self._availability[(event_type.uri, days)]:
            return NeedsPerson(alerts.no_availability(inv.application_id, inv.hm_name, inv.event_type, days,
                                                      scheduler.name), inv, SCHEDULER_PHASE)
        return Enriched(inv, event_type)
