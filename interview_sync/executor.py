"""Carries out planned actions: claim an outbox key, perform, record.

At-most-once to people: every effect (an email, an ATS note, a tag) claims
its idempotency key first, committed as ``sending``; the effect is recorded
``sent`` together with its audit row in one transaction. A key found in
``sending`` after a crash becomes ``unknown``: we alert a recruiter instead
of risking a second copy. The invitation's own state is saved after its
effects, so a crash in between replans the same keys, which are then skipped.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from email.utils import parseaddr
from typing import Any

from . import alerts, zones
from . import workflow as wf
from .alerts import AlertText
from .context import Context
from .candidate_invite import candidate_attachments
from .errors import AuthRefused, DeliveryError, InterviewSyncError, VendorError
from .ics import build_ics, event_uid
from .invitation import Invitation, State
from .mail.message import Attachment, build_message, make_message_id, validate_address
from .mailbox.handlers import HANDLERS as MAIL_HANDLERS
from .manager_notes import note_lines, phone_text
from .models import Application, Booking, Candidate, Job
from .routing import pick_route
from .zones import format_local, format_range

MAX_VENDOR_FAILURES = 3
AFTER_CANCEL = "relink_after_cancel"  # Invitation.extra flag: the next link replaces a cancelled booking


@dataclass
class Outcome:
    """One line of a poll's report: what happened to which invitation."""

    ref: str
    application_id: str
    action: str
    result: str  # sent | done | skipped | alert | error | planned | changed
    detail: str = ""
    recipient: str | None = None
    path: str | None = None


@dataclass
class RunReport:
    outcomes: list[Outcome] = field(default_factory=list)
    alerts: int = 0
    errors: list[str] = field(default_factory=list)  # work neither done nor handed to a person (exit 1)
    notices: list[str] = field(default_factory=list)  # worth a line, not an exit 1 (a page cap reached)
    baseline: int | None = None  # applications a first run recorded as its baseline; None on later runs

    @property
    def needs_attention(self) -> bool:
        return self.alerts > 0 or bool(self.errors)


class NeedsPerson(Exception):
    """Raised inside an action when a recruiter must act (becomes an alert)."""

    def __init__(self, text: AlertText) -> None:
        self.text = text
        super().__init__(text.reason)


class Executor:
    """The real executor. ``apps`` holds this run's listing records, so enrichment can
    reuse what the ATS listing already carried instead of fetching it again."""

    def __init__(self, ctx: Context, report: RunReport | None = None) -> None:
        self.ctx = ctx
        self.db = ctx.db
        self.settings = ctx.settings
        self.report = report or RunReport()
        self.apps: dict[str, Application] = {}
        # Scheduler lookups shared by every invitation of one run (a poll that sends
        # 100 invitations to one hiring manager asks for the host once, not 100 times).
        self._hosts: dict[str, Any] = {}
        self._event_types: dict[tuple[str, str], Any] = {}
        self._availability: dict[tuple[str, int], bool] = {}
        self._candidate_cancel: dict[str, list[Attachment]] = {}  # ref -> CANCEL .ics for the relink email

    @property
    def now(self) -> datetime:
        return self.ctx.clock.now()

    # --- entry point ------------------------------------------------------------------

    def run(self, inv: Invitation, actions: list[wf.Action]) -> Invitation:
        for action in actions:
            inv = self._run_one(inv, action)
        return inv

    def _run_one(self, inv: Invitation, action: wf.Action) -> Invitation:
        mail_handler = MAIL_HANDLERS.get(action.kind)
        try:
            if mail_handler is not None:
                return mail_handler(self, inv, action)
            return getattr(self, f"do_{action.kind}")(inv, action)
        except NeedsPerson as need:
            return self.do_alert(inv, wf.alert_of(inv, need.text, park=True))
        except DeliveryError as exc:
            if exc.permanent:
                return self.do_alert(inv, wf.alert_of(inv, alerts.address_refused(inv.application_id, str(exc)),
                                                      park=True))
            if isinstance(exc, AuthRefused) and exc.repeated:
                return inv  # the same refused login was reported once this poll; retried next poll
            self._error(inv, action, f"email delivery failed, will retry next poll: {exc}")
            return inv
        except VendorError as exc:
            failures = int(inv.extra.get("vendor_failures", "0")) + 1
            inv.extra["vendor_failures"] = str(failures)
            self._save(inv, "vendor_error", detail=f"{action.kind}: {exc.message}")
            if failures >= MAX_VENDOR_FAILURES:
                text = alerts.vendor_error(inv.application_id, action.kind, failures, exc.message, exc.fix,
                                           can_resend=action.kind in (wf.INVITE, wf.RETRY, wf.FOLLOWUP))
                return self.do_alert(inv, wf.alert_of(inv, text, park=True))
            self._error(inv, action, f"{exc} (attempt {failures}/{MAX_VENDOR_FAILURES}; retried next poll)")
            return inv

    def _error(self, inv: Invitation, action: wf.Action, message: str) -> None:
        self.report.errors.append(f"{inv.application_id}: {message}")
        self.report.outcomes.append(Outcome(inv.ref, inv.application_id, action.kind, "error", message))

    # --- bookkeeping ------------------------------------------------------------------

    def _save(self, inv: Invitation, event: str | None = None, **audit: Any) -> None:
        inv.updated_at = self.now
        if event:
            inv.last_action = event
        with self.db.transaction():
            self.db.save_invitation(inv)
            if event:
                self._audit(inv, event, **audit)

    def _audit(self, inv: Invitation, event: str, **kw: Any) -> None:
        self.db.audit(event, at=self.now, ref=inv.ref, application_id=inv.application_id,
                      candidate_id=inv.candidate_id, actor=self.ctx.actor, **kw)

    def _claim(self, inv: Invitation, key: str, kind: str, channel: str, recipient: str | None) -> bool:
        """True when this run owns the effect; False when it is done or ambiguous."""
        verdict = self.db.claim(key, ref=inv.ref, kind=kind, channel=channel, recipient=recipient)
        if verdict == "claimed":
            return True
        if verdict == "unknown":
            self._audit_unknown(inv, key, kind, recipient)
        return False

    def _audit_unknown(self, inv: Invitation, key: str, kind: str, recipient: str | None = None) -> None:
        with self.db.transaction():
            self._audit(inv, "outbox_unknown", detail=f"{kind} {key}: a crash left it unconfirmed; not resent")
        self.do_alert(inv, wf.alert_of(inv, alerts.interrupted(kind, recipient), suffix=key))

    # --- mail -------------------------------------------------------------------------

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
        url_of = getattr(self.ctx.ats, "application_url", None)
        if url_of is None:
            return None
        return url_of(inv.application_id, inv.candidate_id, self.settings.ats.web_url or None)

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

    def _send(self, inv: Invitation, key: str, kind: str, to_name: str | None, to_email: str,
              context: dict[str, Any], attachments: list[Attachment] | None = None,
              template_set: str = "default") -> bool:
        """Claim, render, send, record. Returns True when this call sent it."""
        if not self._claim(inv, key, kind, "email", to_email):
            self.report.outcomes.append(Outcome(inv.ref, inv.application_id, kind, "done",
                                                "already handled", to_email))
            return False
        try:
            rendered = self.ctx.renderer.render(kind, context, template_set)
            domain = parseaddr(self.settings.email.from_)[1].rpartition("@")[2] or "interview-sync.local"
            message_id = make_message_id(inv.ref, key, domain)
            message = build_message(sender=self.settings.email.from_, to_name=to_name, to_email=to_email,
                                    rendered=rendered, message_id=message_id,
                                    reply_to=self.settings.email.reply_to or None,
                                    headers={"X-Interview-Sync-Ref": inv.ref, "X-Interview-Sync-Kind": kind},
                                    attachments=attachments or [], date=self.now)
            self.ctx.transport.send(message)
        except DeliveryError as exc:
            self.db.mark_failed(key, str(exc), permanent=exc.permanent)
            raise
        except InterviewSyncError as exc:
            self.db.mark_failed(key, str(exc), permanent=False)
            raise
        except Exception as exc:
            self.db.mark_failed(key, type(exc).__name__, permanent=False)
            raise
        with self.db.transaction():
            self.db.mark_sent(key, message_id)
            self._audit(inv, "email_sent", channel="email", recipient=to_email,
                        detail=f"{kind} Message-ID {message_id}")
        path = getattr(self.ctx.transport, "sent_paths", None)
        self.report.outcomes.append(Outcome(inv.ref, inv.application_id, kind, "sent", "", to_email,
                                            str(path[-1]) if path else None))
        return True

    def _ats_write(self, inv: Invitation, key: str, what: str, body: str | None = None,
                   tag: str | None = None) -> None:
        if not self._claim(inv, key, what, "ats", None):
            return
        app = self._application(inv)
        try:
            if tag is not None:
                self.ctx.ats.add_tag(app, tag)
            else:
                self.ctx.ats.add_note(app, body or "")
        except Exception as exc:
            self.db.mark_failed(key, type(exc).__name__, permanent=False)
            raise
        with self.db.transaction():
            self.db.mark_sent(key)
            self._audit(inv, "ats_tag" if tag else "ats_note", channel="ats", detail=what)

    def _application(self, inv: Invitation) -> Application:
        app = self.apps.get(inv.application_id)
        if app is None:
            app = Application(id=inv.application_id, candidate_id=inv.candidate_id, job_id=inv.job_id,
                              stage_id=inv.stage_id, stage_name=inv.stage_name, status="in_process",
                              updated_at=self.now)
        return app

    def _ics(self, inv: Invitation, method: str, sequence: int, start: datetime, end: datetime) -> Attachment:
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
                         dtstamp=self.now, summary=f"Interview: {inv.candidate_name} – {inv.job_name}",
                         description=description, location=inv.join_url or inv.location,
                         organizer=(sender_name or "interview-sync", sender_email),
                         attendees=[(inv.hm_name or "", inv.hm_email or "")])
        return Attachment.ics(data, method)

    # --- actions ----------------------------------------------------------------------

    def do_invite(self, inv: Invitation, action: wf.Action) -> Invitation:
        gen = inv.link_generation
        # "relink" tells the candidate their interview was cancelled; only a cancel earns it
        # (a recruiter's `invite --resend` raises the generation too, but cancelled nothing).
        kind = "relink" if inv.extra.get(AFTER_CANCEL) else "invite"
        if self.db.outbox_state(action.key) not in ("sent", "unknown"):
            if inv.link_url is None:
                inv = self._prepare_link(self._enrich(inv))
            pending = replace(inv, deadline_at=self.now + timedelta(
                hours=self.settings.policy.booking_deadline_hours))
            self._send(pending, action.key, kind, inv.candidate_name, inv.candidate_email or "",
                       self._base_context(pending), template_set=self._template_set(inv),
                       attachments=self._candidate_cancel.pop(inv.ref, None))
        delivered = self.db.outbox_state(action.key)
        if delivered not in ("sent", "unknown"):
            return inv  # refused for good: the alert has parked the invitation
        return self._mark_invited(inv, kind, gen, confirmed=delivered == "sent")

    def _mark_invited(self, inv: Invitation, kind: str, gen: int, confirmed: bool) -> Invitation:
        """The link went out (or an interrupted run may have sent it and a recruiter was
        alerted): start the booking deadline and tell the ATS. Both paths go through here
        so a crash between sending and recording changes neither the deadline rule nor
        the note."""
        inv.state = State.INVITED
        inv.invite_sent_at = inv.invite_sent_at or self.now
        inv.deadline_at = self.now + timedelta(hours=self.settings.policy.booking_deadline_hours)
        inv.followup_sent_at = None
        inv.followup_deadline_at = None
        inv.extra.pop("vendor_failures", None)
        inv.extra.pop(AFTER_CANCEL, None)
        event = ("invited" if kind == "invite" else "relinked") if confirmed else "invite_unconfirmed"
        self._save(inv, event, detail=f"deadline {inv.deadline_at.isoformat()}")
        if confirmed:
            headline = "Interview booking link sent" if kind == "invite" else \
                "New booking link sent after a cancellation"
        else:
            headline = "Booking link created; an interrupted run may not have emailed it (recruiter alerted)"
        self._ats_write(inv, f"{inv.ref}:note:{kind}:{gen}", f"{kind} note", body=self._note(inv, headline))
        return inv

    def recover_stranded(self) -> None:
        """Turn rows a killed run left in ``sending`` into ``unknown`` and alert on each
        (DESIGN: a crash between claim and record alerts instead of resending)."""
        for row in self.db.stranded_rows():
            inv = self.db.get_invitation(row["ref"])
            if inv is None:
                continue
            verdict = self.db.claim(row["key"], ref=row["ref"], kind=row["kind"], channel=row["channel"],
                                    recipient=row["recipient"])
            if verdict == "unknown":
                self._audit_unknown(inv, row["key"], row["kind"], row["recipient"])

    def _template_set(self, inv: Invitation) -> str:
        route = self._route(inv)
        return route.template if route else "default"

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

    def _enrich(self, inv: Invitation) -> Invitation:
        """Fill candidate, job, hiring manager and route from the ATS (reads only)."""
        app = self._application(inv)
        candidate: Candidate = app.candidate or self.ctx.ats.get_candidate(inv.candidate_id)
        job: Job | None = app.job or (self.ctx.ats.get_job(inv.job_id) if inv.job_id else None)
        inv.candidate_name = candidate.name
        # a zone learnt from an earlier booking outlives the cancel that brings us back here
        inv.candidate_timezone = inv.candidate_timezone or zones.known_zone(candidate.timezone)
        inv.job_name = job.name if job else None
        inv.department = job.department if job else None
        inv.office = job.office if job else None
        if job and job.recruiters and job.recruiters[0].email:
            inv.recruiter_email = job.recruiters[0].email
        if not candidate.email or not candidate.can_email:
            raise NeedsPerson(alerts.no_email(inv.application_id, candidate.name))
        try:
            inv.candidate_email = validate_address(candidate.email)
        except DeliveryError as exc:
            raise NeedsPerson(alerts.bad_email(inv.application_id, candidate.name, str(exc))) from None
        picked = pick_route(self.settings.routes, app, job)
        if picked is None:
            raise NeedsPerson(alerts.no_route(inv.application_id, inv.job_name, inv.department, inv.stage_name))
        index, route = picked
        inv.route_index = index
        inv.event_type = route.event_type
        inv.interview_format = route.format
        inv.duration_minutes = route.duration_minutes
        inv.location = route.location
        # the candidate's number is for the interviewer to call: kept for phone routes only
        inv.candidate_phone = phone_text(candidate.phone) if route.format == "phone" else None
        hm_email, hm_name, hm_title = self._hiring_manager(route.host, job)
        if not hm_email:
            raise NeedsPerson(alerts.no_hiring_manager(inv.application_id, inv.job_name))
        inv.hm_email, inv.hm_name, inv.hm_title = hm_email, hm_name, hm_title
        self._save(inv, "enriched", detail=f"route {index} ({route.event_type})")
        return inv

    def _manager_notes(self, inv: Invitation, app: Application) -> list[str]:
        """The lines of ``[manager_notes]`` for this application (only what the recruiter chose)."""
        fields = self.settings.manager_notes.fields
        seen = [(i.stage_name, i.stage_changed_at) for i in self.db.invitations(application_id=inv.application_id)
                if i.ref != inv.ref] + [(inv.stage_name, inv.stage_changed_at)]
        return note_lines(fields, app=app, stage_name=inv.stage_name, stage_changed_at=inv.stage_changed_at,
                          department=inv.department, office=inv.office, zone=self._zone(inv, "hm"),
                          seen_stages=sorted(seen, key=lambda row: row[1]))

    def _hiring_manager(self, route_host: str | None, job: Job | None) -> tuple[str | None, str | None, str | None]:
        hosts = {k.casefold(): v for k, v in self.settings.hosts.items()}
        if route_host:
            return hosts.get(route_host.casefold(), route_host), None, None
        for person in job.hiring_managers if job else ():
            mapped = hosts.get(str(person.id).casefold()) or (hosts.get(person.email.casefold())
                                                              if person.email else None)
            email = mapped or person.email
            if email:
                return email, person.name, person.title
        return None, None, None

    def _prepare_link(self, inv: Invitation) -> Invitation:
        """Find the host and event type, check availability, create the single-use link."""
        scheduler = self.ctx.scheduler
        email = (inv.hm_email or "").casefold()
        if email not in self._hosts:
            self._hosts[email] = scheduler.find_host(inv.hm_email or "")
        host = self._hosts[email]
        if host is None:
            raise NeedsPerson(alerts.host_not_in_scheduler(inv.application_id, inv.hm_name, scheduler.name))
        inv.hm_name = inv.hm_name or host.name
        inv.hm_timezone = zones.known_zone(host.timezone)
        inv.manager_notes = "\n".join(self._manager_notes(inv, self._application(inv))) or None
        type_key = (host.uri, inv.event_type or "")
        if type_key not in self._event_types:
            self._event_types[type_key] = scheduler.get_event_type(host, inv.event_type or "")
        event_type = self._event_types[type_key]
        if event_type is None:
            raise NeedsPerson(alerts.event_type_missing(inv.application_id, inv.hm_name, inv.event_type,
                                                        scheduler.name))
        days = self.settings.policy.no_availability_days
        if (event_type.uri, days) not in self._availability:
            self._availability[(event_type.uri, days)] = bool(
                scheduler.available_times(event_type, self.now, self.now + timedelta(days=days)))
        if not self._availability[(event_type.uri, days)]:
            raise NeedsPerson(alerts.no_availability(inv.application_id, inv.hm_name, inv.event_type, days,
                                                     scheduler.name))
        inv.event_type_uri = event_type.uri
        url = scheduler.create_link(event_type, name=inv.candidate_name or "", email=inv.candidate_email or "",
                                    ref=inv.ref, expires_at=self.now + timedelta(
                                        hours=self.settings.policy.booking_deadline_hours
                                        + self.settings.policy.followup_deadline_hours + 24))
        inv.link_url = url
        self._save(inv, "link_created", channel="scheduler", detail=f"single-use link on {inv.event_type}")
        return inv

    def do_followup(self, inv: Invitation, action: wf.Action) -> Invitation:
        deadline = self.now + timedelta(hours=self.settings.policy.followup_deadline_hours)
        pending = replace(inv, deadline_at=deadline)
        self._send(pending, action.key, "followup", inv.candidate_name, inv.candidate_email or "",
                   self._base_context(pending), template_set=self._template_set(inv))
        inv.followup_sent_at = self.now
        inv.followup_deadline_at = deadline
        inv.state = State.FOLLOWED_UP
        self._save(inv, "followed_up", detail=f"new deadline {deadline.isoformat()}")
        return inv

    def do_flag(self, inv: Invitation, action: wf.Action) -> Invitation:
        self._ats_write(inv, f"{inv.ref}:flag:tag", "flag tag", tag=self.settings.ats.flag_tag)
        self._ats_write(inv, f"{inv.ref}:flag:note", "flag note",
                        body=self._note(inv, "No booking after the invite and one follow-up; flagged for "
                                        "recruiter review"))
        inv = self.do_alert(inv, wf.alert_of(inv, alerts.flagged(inv.application_id, inv.candidate_name)))
        inv.state = State.FLAGGED
        inv.flagged_at = self.now
        self._save(inv, "flagged")
        return inv

    def _apply_booking(self, inv: Invitation, booking: Booking) -> Invitation:
        inv.booking_ref = booking.uri
        inv.event_uri = booking.event_uri
        inv.interview_start = booking.start
        inv.interview_end = booking.end
        inv.join_url = booking.join_url
        inv.location = booking.location or inv.location
        inv.cancel_url = booking.cancel_url
        inv.reschedule_url = booking.reschedule_url
        inv.candidate_timezone = zones.known_zone(booking.invitee_timezone) or inv.candidate_timezone
        if inv.interview_format == "phone":
            inv.candidate_phone = phone_text(booking.invitee_phone) or inv.candidate_phone
        return inv

    def do_confirm(self, inv: Invitation, action: wf.Action, updated: bool = False) -> Invitation:
        booking = action.booking
        assert booking is not None
        sequence = inv.ics_sequence + (1 if updated or inv.cancelled_at else 0)
        pending = self._apply_booking(replace(inv, extra=dict(inv.extra), state=State.BOOKED), booking)
        context = self._base_context(pending) | {"updated": updated}
        self._send(pending, action.key, "confirmation", inv.candidate_name, inv.candidate_email or "", context,
                   template_set=self._template_set(inv), attachments=candidate_attachments(
                       self.settings, pending, "REQUEST", sequence, booking.start, booking.end, self.now))
        ics = self._ics(pending, "REQUEST", sequence, booking.start, booking.end)
        self._send(pending, f"{inv.ref}:hm-ics:{booking.uri}", "hm_booking", inv.hm_name, inv.hm_email or "",
                   self._base_context(pending, "hm") | {"updated": updated}, attachments=[ics],
                   template_set=self._template_set(inv))
        self._ats_write(pending, f"{inv.ref}:note:booked:{booking.uri}", "booking note",
                        body=self._note(pending, "Interview rescheduled" if updated else "Interview booked"))
        inv = pending
        inv.ics_sequence = sequence
        inv.state = State.BOOKED
        inv.booked_at = inv.booked_at if updated else (booking.created_at or self.now)
        inv.reminder_sent_at = None
        inv.feedback_sent_at = None
        if updated:
            inv.reschedules += 1
        self._save(inv, "rescheduled" if updated else "booked", channel="scheduler",
                   detail=f"{booking.start.isoformat()} – {booking.end.isoformat()}")
        return inv

    def do_reschedule(self, inv: Invitation, action: wf.Action) -> Invitation:
        return self.do_confirm(inv, action, updated=True)

    def do_cancel(self, inv: Invitation, action: wf.Action) -> Invitation:
        booking = action.booking
        assert booking is not None and inv.interview_start and inv.interview_end
        sequence = inv.ics_sequence + 1
        ics = self._ics(inv, "CANCEL", sequence, inv.interview_start, inv.interview_end)
        self._candidate_cancel[inv.ref] = candidate_attachments(self.settings, inv, "CANCEL", sequence,
                                                                inv.interview_start, inv.interview_end, self.now)
        self._send(inv, f"{inv.ref}:hm-cancel:{booking.uri}", "hm_cancel", inv.hm_name, inv.hm_email or "",
                   self._base_context(inv, "hm"), attachments=[ics], template_set=self._template_set(inv))
        self._ats_write(inv, f"{inv.ref}:note:cancel:{booking.uri}", "cancel note",
                        body=self._note(inv, f"Interview cancelled ({action.reason}); a new link follows"))
        inv.ics_sequence = sequence
        inv.cancelled_at = self.now
        inv.booking_ref = None
        inv.event_uri = None
        inv.interview_start = inv.interview_end = None
        inv.join_url = inv.cancel_url = inv.reschedule_url = None
        inv.link_url = None
        inv.link_generation += 1
        inv.state = State.PENDING
        inv.reminder_sent_at = None
        inv.extra[AFTER_CANCEL] = "1"
        self._save(inv, "cancelled", channel="scheduler", detail=action.reason)
        return self._run_one(inv, wf.Action(wf.INVITE, inv.ref, f"{inv.ref}:invite:{inv.link_generation}"))

    def do_reminder(self, inv: Invitation, action: wf.Action) -> Invitation:
        if action.who == "candidate":
            self._send(inv, action.key, "reminder_candidate", inv.candidate_name, inv.candidate_email or "",
                       self._base_context(inv), template_set=self._template_set(inv))
        else:
            self._send(inv, action.key, "reminder_hm", inv.hm_name, inv.hm_email or "",
                       self._base_context(inv, "hm"), template_set=self._template_set(inv))
            inv.reminder_sent_at = self.now
            self._save(inv, "reminded")
        return inv

    def do_feedback(self, inv: Invitation, action: wf.Action) -> Invitation:
        self._send(inv, action.key, "feedback_request", inv.hm_name, inv.hm_email or "",
                   self._base_context(inv, "hm"), template_set=self._template_set(inv))
        inv.feedback_sent_at = self.now
        inv.state = State.CLOSED
        inv.closed_reason = "interview held"
        self._save(inv, "feedback_requested")
        return inv

    def do_close(self, inv: Invitation, action: wf.Action) -> Invitation:
        if inv.link_url and inv.state is not State.BOOKED:
            try:
                self.ctx.scheduler.revoke_link(inv.link_url)
            except VendorError as exc:
                self.report.errors.append(f"{inv.application_id}: could not revoke link: {exc.message}")
        inv.state = State.CLOSED
        inv.closed_reason = action.reason
        self._save(inv, "closed", detail=action.reason)
        self.report.outcomes.append(Outcome(inv.ref, inv.application_id, "close", "changed", action.reason or ""))
        return inv

    def do_retry(self, inv: Invitation, action: wf.Action) -> Invitation:
        """Back to pending with a fresh link generation (the old invite key may be spent),
        then the invite runs again with fresh enrichment from the ATS."""
        inv.state = State.PENDING
        inv.link_generation += 1
        inv.link_url = None
        inv.attention_reason = None
        self._save(inv, "retry", channel="ats", detail=action.reason)
        return self._run_one(inv, wf.Action(wf.INVITE, inv.ref, f"{inv.ref}:invite:{inv.link_generation}"))

    def do_no_show(self, inv: Invitation, action: wf.Action) -> Invitation:
        inv.no_show = True
        self._save(inv, "no_show", channel="scheduler", detail=action.reason)
        self.report.outcomes.append(Outcome(inv.ref, inv.application_id, "no_show", "changed", action.reason or ""))
        return inv

    def do_alert(self, inv: Invitation, action: wf.Action) -> Invitation:
        recipient = inv.recruiter_email or self.settings.alerts.recruiter_email
        context = self._base_context(inv, "recruiter") | {"reason": action.reason, "fix": action.fix,
                                                          "recruiter_name": None, "command": action.command}
        self.report.alerts += 1
        try:
            self._send(inv, action.key, "recruiter_alert", None, recipient, context)
        except Exception as exc:  # noqa: BLE001 - an alert that can't be sent must still surface
            self.report.errors.append(f"{inv.application_id}: ALERT NOT SENT ({type(exc).__name__}): "
                                      f"{action.reason} — {action.fix}")
        inv.alerts += 1
        if action.park:
            inv.state = State.NEEDS_ATTENTION
            inv.attention_reason = action.reason
        self._save(inv, "alert", channel="email", recipient=recipient, detail=action.reason)
        last = self.report.outcomes[-1] if self.report.outcomes else None
        if last is not None and last.ref == inv.ref and last.action == "recruiter_alert":
            last.result, last.detail = "alert", action.reason or ""
        return inv
