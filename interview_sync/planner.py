"""The pure planner: an action of the workflow, plus what was read, becomes ordered steps.

Each flow is a generator: it yields a :class:`Step`, receives the
:class:`Result` of performing it, and decides what follows — the link URL
goes into the invite email, a permanent refusal becomes a recruiter alert
and parks the invitation, a vendor error counts towards
``MAX_VENDOR_FAILURES``. Nothing here performs I/O or reads a clock: the
executor performs, this module decides. A dry run drives the very same flows
with every step assumed to succeed, which is what its plan shows.

Chains that used to hide inside effects are planned steps here: a cancel is
followed by the relink, a retry by the invite.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from . import alerts
from . import transitions as tr
from . import workflow as wf
from .candidate_invite import candidate_attachments
from .compose import ApplicationUrl, Composer
from .config import Settings
from .enrich import SCHEDULER_PHASE, Enriched, Enrichment, NeedsPerson
from .invitation import Invitation, State
from .sms.outreach import booking_consent
from .mail.message import Attachment
from .mailbox.flows import MAIL_KINDS, mail_flow
from .steps import AtsWrite, Audit, CreateLink, Email, Report, Result, RevokeLink, Save, Settle, Step, Text

if TYPE_CHECKING:
    from .state import AppSnapshot  # a type only: the pure core does not load the store

MAX_VENDOR_FAILURES = 3
TEXT_KINDS = frozenset({"invite", "relink", "followup", "confirmation", "reminder_candidate"})

Flow = Generator[Step, Result, Invitation]


@dataclass(frozen=True)
class InviteReads:
    """What an action that ends in an invite needs read first: the invite key's outbox
    state, and the enrichment (None when the invite needs no new link)."""

    prior: str | None
    enrichment: Enrichment | None = None


@dataclass(frozen=True)
class InviteTarget:
    key: str
    needs_link: bool


class StepFailed(Exception):
    """Inside a flow: a step failed; ``inv`` is the invitation as it stood before the step."""

    def __init__(self, inv: Invitation, result: Result) -> None:
        super().__init__(result.message)
        self.inv, self.result = inv, result


def drive(flow: Flow, perform: Callable[[Step], Result]) -> Invitation:
    """Run a flow to its end: each step performed, each result sent back in."""
    try:
        step = next(flow)
        while True:
            step = flow.send(perform(step))
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]


def invite_target(inv: Invitation, action: wf.Action) -> InviteTarget | None:
    """The invite an action leads to (its key, and whether it makes a new link), if any."""
    if action.kind == wf.INVITE:
        return InviteTarget(action.key, inv.link_url is None)
    if action.kind in (wf.CANCEL, wf.RETRY):
        return InviteTarget(f"{inv.ref}:invite:{inv.link_generation + 1}", True)
    return None


class Planner:
    """Flows under one configuration and one instant (the run's clock, read once)."""

    def __init__(self, settings: Settings, policy: wf.Policy, now: datetime,
                 application_url: ApplicationUrl | None = None) -> None:
        self.settings, self.policy, self.now = settings, policy, now
        self.compose = Composer(settings, application_url)

    # --- entry points -------------------------------------------------------------------

    def flow(self, inv: Invitation, action: wf.Action, reads: InviteReads | None = None) -> Flow:
        """The steps of one workflow action; failures are answered inside (never raised)."""
        if action.kind in MAIL_KINDS:  # what came back to the mailbox (issue 13)
            return self._guarded(action.kind, inv, mail_flow(self, inv, action))
        plans: dict[str, Callable[[], Flow]] = {
            wf.INVITE: lambda: self._invite(inv, action.key, reads or InviteReads(None)),
            wf.FOLLOWUP: lambda: self._followup(inv, action),
            wf.FLAG: lambda: self._flag(inv, action),
            wf.CONFIRM: lambda: self._confirm(inv, action, updated=False),
            wf.RESCHEDULE: lambda: self._confirm(inv, action, updated=True),
            wf.CANCEL: lambda: self._cancel(inv, action, reads or InviteReads(None)),
            wf.REMINDER: lambda: self._reminder(inv, action),
            wf.FEEDBACK: lambda: self._feedback(inv, action),
            wf.CLOSE: lambda: self._close(inv, action),
            wf.RETRY: lambda: self._retry(inv, action, reads or InviteReads(None)),
            wf.NO_SHOW: lambda: self._no_show(inv, action),
            wf.ALERT: lambda: self.alert(inv, action),
        }
        return self._guarded(action.kind, inv, plans[action.kind]())

    def settle(self, inv: Invitation, row: dict[str, str]) -> Flow:
        """A row a killed run left in ``sending``: claiming it makes it ``unknown``, which alerts."""
        step = Step(inv, row["key"], Settle(row["kind"], row["channel"], row["recipient"]))
        _, inv = yield from self._effect(step, inv)
        return inv

    def enter(self, inv: Invitation, snapshot: AppSnapshot, detail: str) -> Flow:
        """A new invitation, saved in one transaction with the application's snapshot (a crash
        between the two would lose the stage entry: the snapshot would already show it)."""
        yield Step(inv, f"{inv.ref}:stage_entered", Save("stage_entered", channel="ats", detail=detail,
                                                         snapshot=snapshot, touch=False))
        return inv

    def record(self, inv: Invitation, event: str, detail: str) -> Flow:
        """A person's decision about the invitation (``manual_resend``), saved as it stands."""
        yield Step(inv, f"{inv.ref}:{event}", Save(event, detail=detail, touch=False))
        return inv

    # --- the building blocks -----------------------------------------------------------

    def _guarded(self, kind: str, inv: Invitation, flow: Flow) -> Flow:
        try:
            return (yield from flow)
        except StepFailed as failed:
            return (yield from self._on_failure(kind, failed.inv, failed.result))

    def _effect(self, step: Step, inv: Invitation,
                tolerate: bool = False) -> Generator[Step, Result, tuple[Result, Invitation]]:
        """Yield one effect. ``unknown`` (an interrupted earlier run) is audited and alerted,
        never redone; a failure ends the flow (``StepFailed``, answered by the guard) unless
        ``tolerate``, when the caller reads the result itself."""
        result = yield step
        if result.status == "unknown":
            label = _label(step)
            yield Step(inv, f"{step.key}:unknown", Audit("outbox_unknown", f"{label} {step.key}: a crash left "
                                                                           "it unconfirmed; not resent"))
            inv = yield from self.alert(inv, wf.alert_of(inv, alerts.interrupted(label, _recipient(step)),
                                                         suffix=step.key))
        elif result.failed and not tolerate:
            raise StepFailed(inv, result)
        return result, inv

    def _email(self, inv: Invitation, key: str, kind: str, about: Invitation, to_name: str | None,
               to_email: str | None, extra: dict[str, object] | None = None, attachments: tuple[Attachment, ...] = (),
               reader: str = "candidate") -> Generator[Step, Result, tuple[Result, Invitation]]:
        """An email about ``about`` (the invitation as the message describes it) to ``reader``."""
        context = self.compose._base_context(about, reader) | (extra or {})
        language = (about.locale or "en") if reader == "candidate" else "en"
        email = Email(kind, to_name, to_email or "", context, attachments, self.compose._template_set(inv),
                      locale=language)
        return (yield from self._effect(Step(about, key, email), inv))

    def _candidate(self, inv: Invitation, key: str, kind: str, about: Invitation,
                   extra: dict[str, object] | None = None, attachments: tuple[Attachment, ...] = (),
                   ) -> Generator[Step, Result, tuple[Result, Invitation]]:
        """A candidate message on the route's channels: a text first where the route asks for
        one (the ``text`` step says whether consent and the candidate's hours allowed it),
        then the email unless the route is text-only and the text reached them. A
        confirmation or reminder is always emailed: its text points to the email's details."""
        route = self.compose._route(inv)
        channels = list(getattr(route, "channels", None) or ["email"])
        texted = False
        if "sms" in channels and kind in TEXT_KINDS:
            context = self.compose._base_context(about, "candidate") | (extra or {})
            text = Text(kind, context, self.compose._template_set(inv))
            texted = (yield Step(about, key, text)).status == "ok"
        if "email" in channels or not texted or kind in ("confirmation", "reminder_candidate"):
            return (yield from self._email(inv, key, kind, about, inv.candidate_name, inv.candidate_email, extra,
                                           attachments))
        return Result(), inv

    def _note(self, inv: Invitation, key: str, what: str, headline: str,
              about: Invitation | None = None) -> Generator[Step, Result, tuple[Result, Invitation]]:
        body = self.compose._note(about or inv, headline)
        return (yield from self._effect(Step(about or inv, key, AtsWrite(what, body=body)), inv))

    def _on_failure(self, kind: str, inv: Invitation, result: Result) -> Flow:
        """A step failed: the outcome decides the follow-up (SPEC §2 error rows)."""
        if result.status == "refused":
            return (yield from self.alert(inv, wf.alert_of(
                inv, alerts.address_refused(inv.application_id, result.message), park=True)))
        if result.status == "failed":
            if not result.repeated:  # a refused mail login is reported once a poll; every row retries next poll
                yield Step(inv, "", Report(f"email delivery failed, will retry next poll: {result.message}", kind))
            return inv
        inv, failures = tr.vendor_failed(inv)
        yield Step(inv, f"{inv.ref}:vendor_error", Save("vendor_error", detail=f"{kind}: {result.detail}"))
        if failures >= MAX_VENDOR_FAILURES:
            text = alerts.vendor_error(inv.application_id, kind, failures, result.detail, result.fix,
                                       can_resend=kind in (wf.INVITE, wf.RETRY, wf.FOLLOWUP))
            return (yield from self.alert(inv, wf.alert_of(inv, text, park=True)))
        yield Step(inv, "", Report(f"{result.message} (attempt {failures}/{MAX_VENDOR_FAILURES}; retried next poll)",
                                   kind))
        return inv

    # --- actions ------------------------------------------------------------------------

    def alert(self, inv: Invitation, action: wf.Action) -> Flow:
        """Tell a recruiter; an alert that cannot be sent still surfaces (in the run's errors)."""
        recipient = inv.recruiter_email or self.settings.alerts.recruiter_email
        context = self.compose._base_context(inv, "recruiter") | {"reason": action.reason, "fix": action.fix,
                                                                  "recruiter_name": None, "command": action.command}
        email = Email(alerts.EMAIL_KIND, None, recipient, context, alert=action.reason or "")
        result, inv = yield from self._effect(Step(inv, action.key, email), inv, tolerate=True)
        if result.failed:
            yield Step(inv, "", Report(f"ALERT NOT SENT ({result.error_type}): {action.reason} — {action.fix}"))
        inv = tr.alerted(inv, action.reason, action.park)
        yield Step(inv, f"{inv.ref}:alert", Save("alert", channel="email", recipient=recipient,
                                                 detail=action.reason))
        return inv

    def _invite(self, inv: Invitation, key: str, reads: InviteReads,
                attachments: tuple[Attachment, ...] = ()) -> Flow:
        """Enrich and link when needed, email the link (with ``attachments``: after a cancel, the
        candidate's calendar CANCEL), then the invited state and the ATS note."""
        kind = "relink" if tr.relinks(inv) else "invite"
        gen = inv.link_generation
        delivered = reads.prior
        if delivered not in ("sent", "unknown"):
            if inv.link_url is None:
                inv, linked = yield from self._link(inv, reads.enrichment)
                if not linked:
                    return inv
            pending = tr.with_deadline(inv, self.now + self.policy.booking_deadline)
            result, inv = yield from self._candidate(inv, key, kind, pending, None, attachments)
            delivered = {"ok": "sent", "unknown": "unknown"}.get(result.status, delivered)
        if delivered not in ("sent", "unknown"):
            return inv  # refused for good earlier: the alert then parked the invitation
        return (yield from self._invited(inv, kind, gen, confirmed=delivered == "sent"))

    def _link(self, inv: Invitation, found: Enrichment | None) -> Generator[Step, Result, tuple[Invitation, bool]]:
        """Enrichment saved, then the single-use link; (inv, False) when a person must act."""
        if isinstance(found, Enriched):
            inv = tr.enriched(inv, found.invitation)
            yield Step(inv, f"{inv.ref}:enriched", Save("enriched", detail=f"route {inv.route_index} "
                                                                         f"({inv.event_type})"))
            policy = self.policy
            expires = self.now + policy.booking_deadline + policy.followup_deadline + timedelta(hours=24)
            request = CreateLink(found.event_type, inv.candidate_name or "", inv.candidate_email or "", expires)
            result, inv = yield from self._effect(Step(inv, f"{inv.ref}:link:{inv.link_generation}", request), inv)
            inv = tr.link_created(inv, result.value or "", found.event_type.uri)
            yield Step(inv, f"{inv.ref}:link_created", Save("link_created", channel="scheduler",
                                                            detail=f"single-use link on {inv.event_type}"))
            return inv, True
        if found is None:
            raise ValueError("an invite that makes a link needs the enrichment read first")
        inv = tr.enriched(inv, found.found)
        if found.phase == SCHEDULER_PHASE:
            yield Step(inv, f"{inv.ref}:enriched", Save("enriched", detail=f"route {inv.route_index} "
                                                                         f"({inv.event_type})"))
        if isinstance(found, NeedsPerson):
            inv = yield from self.alert(inv, wf.alert_of(inv, found.text, park=True))
            return inv, False
        error = found.error
        raise StepFailed(inv, Result("vendor_error", message=str(error), detail=error.message, fix=error.fix))

    def _invited(self, inv: Invitation, kind: str, gen: int, confirmed: bool) -> Flow:
        """The link went out (or an interrupted run may have sent it and a recruiter was
        alerted): start the booking deadline and tell the ATS. Both paths go through here
        so a crash between sending and recording changes neither the deadline rule nor
        the note."""
        inv = tr.invited(inv, self.now, self.policy)
        event = ("invited" if kind == "invite" else "relinked") if confirmed else "invite_unconfirmed"
        deadline = inv.deadline_at.isoformat() if inv.deadline_at else ""
        yield Step(inv, f"{inv.ref}:{event}", Save(event, detail=f"deadline {deadline}"))
        if confirmed:
            headline = "Interview booking link sent" if kind == "invite" else \
                "New booking link sent after a cancellation"
        else:
            headline = "Booking link created; an interrupted run may not have emailed it (recruiter alerted)"
        _, inv = yield from self._note(inv, f"{inv.ref}:note:{kind}:{gen}", f"{kind} note", headline)
        return inv

    def _followup(self, inv: Invitation, action: wf.Action) -> Flow:
        pending = tr.with_deadline(inv, self.now + self.policy.followup_deadline)
        _, inv = yield from self._candidate(inv, action.key, "followup", pending)
        inv = tr.followed_up(inv, self.now, self.policy)
        deadline = inv.followup_deadline_at.isoformat() if inv.followup_deadline_at else ""
        yield Step(inv, f"{inv.ref}:followed_up", Save("followed_up", detail=f"new deadline {deadline}"))
        return inv

    def _flag(self, inv: Invitation, action: wf.Action) -> Flow:
        tag = AtsWrite("flag tag", tag=self.settings.ats.flag_tag)
        _, inv = yield from self._effect(Step(inv, f"{inv.ref}:flag:tag", tag), inv)
        _, inv = yield from self._note(inv, f"{inv.ref}:flag:note", "flag note", "No booking after the invite and "
                                       "one follow-up; flagged for recruiter review")
        inv = yield from self.alert(inv, wf.alert_of(inv, alerts.flagged(inv.application_id, inv.candidate_name)))
        inv = tr.flagged(inv, self.now)
        yield Step(inv, f"{inv.ref}:flagged", Save("flagged"))
        return inv

    def _confirm(self, inv: Invitation, action: wf.Action, updated: bool) -> Flow:
        booking = action.booking
        assert booking is not None
        sequence = inv.ics_sequence + (1 if updated or inv.cancelled_at else 0)
        phone, hint = booking_consent(self.settings, inv, booking)  # consent given on the booking form
        inv = tr.copy(inv, sms_phone=phone, sms_consent_hint=hint)
        pending = tr.with_booking(inv, booking)
        ics = self.compose._ics(pending, "REQUEST", sequence, booking.start, booking.end, self.now)
        mine = tuple(candidate_attachments(self.settings, pending, "REQUEST", sequence, booking.start, booking.end,
                                           self.now))
        _, inv = yield from self._candidate(inv, action.key, "confirmation", pending, {"updated": updated}, mine)
        _, inv = yield from self._email(inv, f"{inv.ref}:hm-ics:{booking.uri}", "hm_booking", pending, inv.hm_name,
                                        inv.hm_email, {"updated": updated}, (ics,), reader="hm")
        _, inv = yield from self._note(inv, f"{inv.ref}:note:booked:{booking.uri}", "booking note",
                                       "Interview rescheduled" if updated else "Interview booked", about=pending)
        inv = tr.booked(inv, booking, self.now, sequence, updated)
        yield Step(inv, f"{inv.ref}:{'rescheduled' if updated else 'booked'}",
                   Save("rescheduled" if updated else "booked", channel="scheduler",
                        detail=f"{booking.start.isoformat()} – {booking.end.isoformat()}"))
        return inv

    def _cancel(self, inv: Invitation, action: wf.Action, reads: InviteReads) -> Flow:
        booking = action.booking
        assert booking is not None and inv.interview_start and inv.interview_end
        sequence = inv.ics_sequence + 1
        ics = self.compose._ics(inv, "CANCEL", sequence, inv.interview_start, inv.interview_end, self.now)
        withdrawn = tuple(candidate_attachments(self.settings, inv, "CANCEL", sequence, inv.interview_start,
                                                inv.interview_end, self.now))  # goes with the new link
        _, inv = yield from self._email(inv, f"{inv.ref}:hm-cancel:{booking.uri}", "hm_cancel", inv, inv.hm_name,
                                        inv.hm_email, None, (ics,), reader="hm")
        _, inv = yield from self._note(inv, f"{inv.ref}:note:cancel:{booking.uri}", "cancel note",
                                       f"Interview cancelled ({action.reason}); a new link follows")
        inv = tr.cancelled(inv, self.now, sequence)
        yield Step(inv, f"{inv.ref}:cancelled", Save("cancelled", channel="scheduler", detail=action.reason))
        return (yield from self._guarded(wf.INVITE, inv, self._invite(inv, f"{inv.ref}:invite:{inv.link_generation}",
                                                                      reads, withdrawn)))

    def _retry(self, inv: Invitation, action: wf.Action, reads: InviteReads) -> Flow:
        inv = tr.retried(inv)
        yield Step(inv, f"{inv.ref}:retry", Save("retry", channel="ats", detail=action.reason))
        invite = wf.Action(wf.INVITE, inv.ref, f"{inv.ref}:invite:{inv.link_generation}")
        return (yield from self.flow(inv, invite, reads))

    def _reminder(self, inv: Invitation, action: wf.Action) -> Flow:
        if action.who == "candidate":
            _, inv = yield from self._candidate(inv, action.key, "reminder_candidate", inv)
            return inv
        _, inv = yield from self._email(inv, action.key, "reminder_hm", inv, inv.hm_name, inv.hm_email, reader="hm")
        inv = tr.reminded(inv, self.now)
        yield Step(inv, f"{inv.ref}:reminded", Save("reminded"))
        return inv

    def _feedback(self, inv: Invitation, action: wf.Action) -> Flow:
        _, inv = yield from self._email(inv, action.key, "feedback_request", inv, inv.hm_name, inv.hm_email,
                                        reader="hm")
        inv = tr.feedback_requested(inv, self.now)
        yield Step(inv, f"{inv.ref}:feedback_requested", Save("feedback_requested"))
        return inv

    def _close(self, inv: Invitation, action: wf.Action) -> Flow:
        if inv.link_url and inv.state is not State.BOOKED:
            result = yield Step(inv, f"{inv.ref}:revoke", RevokeLink(inv.link_url))
            if result.failed:
                yield Step(inv, "", Report(f"could not revoke link: {result.detail}"))
        inv = tr.closed(inv, action.reason)
        yield Step(inv, f"{inv.ref}:closed", Save("closed", detail=action.reason,
                                                  row=("close", "changed", action.reason or "")))
        return inv

    def _no_show(self, inv: Invitation, action: wf.Action) -> Flow:
        inv = tr.marked_no_show(inv)
        yield Step(inv, f"{inv.ref}:no_show", Save("no_show", channel="scheduler", detail=action.reason,
                                                   row=("no_show", "changed", action.reason or "")))
        return inv


def _recipient(step: Step) -> str | None:
    """Who an interrupted effect was for (an alert names them; an ATS write has no one)."""
    effect = step.effect
    if isinstance(effect, Email):
        return effect.to_email
    return effect.recipient if isinstance(effect, Settle) else None


def _label(step: Step) -> str:
    """How an alert names an interrupted effect: the email kind, or what the ATS write was."""
    effect = step.effect
    if isinstance(effect, (Email, Settle)):
        return effect.kind
    return effect.what if isinstance(effect, AtsWrite) else step.kind
