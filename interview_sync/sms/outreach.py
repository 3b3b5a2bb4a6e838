"""Texts inside a poll: send (or wait for the candidate's waking hours), read delivery
status and replies, fall back to email when a number cannot take a text.

The run calls :meth:`Texts.deliver` before each candidate email; the poll calls
:meth:`Texts.flush` for texts waiting out quiet hours and :meth:`Texts.read` once per
cycle. Every text claims an outbox key (``<email key>:sms``) first, so a text, like an
email, is sent at most once.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from .. import alerts
from .. import locale as loc
from .. import workflow as wf
from ..clock import iso, parse_instant
from ..config import parse_quiet_hours
from ..errors import VendorError
from ..invitation import Invitation, State
from ..models import Application, Booking, Candidate
from . import consent, ledger
from .base import FAILED_STATUSES, FINAL_STATUSES, INVALID, OPTED_OUT, UNREACHABLE, SmsChannel, SmsRejected
from .phone import is_landline, masked, to_e164
from .text import gsm_fold
from .twilio import outcome_of


SMS_KINDS = ("invite", "relink", "followup", "confirmation", "reminder_candidate")
BOOKING_FORM = "booking form: "  # consent hint prefix; the rest is the question the candidate answered
Host = Any  # what Texts works through: the old Executor, or sms/host.PlannedHost under the planner
CURSOR = "sms"
# Carrier keywords the provider answers itself (and then blocks the number); any other
# opt-out wording gets our one confirmation text.
PROVIDER_KEYWORDS = frozenset({"stop", "stopall", "unsubscribe", "cancel", "end", "quit"})


def channels(route: Any) -> list[str]:
    return list(getattr(route, "channels", None) or ["email"])


def booking_consent(settings: Any, inv: Invitation, booking: Booking) -> tuple[str | None, str | None]:
    """(number, consent hint) after a booking: a yes to ``sms.consent_question`` on the booking
    form counts for the number given there (else the one on record). Pure, like enrichment."""
    question = settings.sms.consent_question.strip()
    if settings.sms.provider == "none" or not question:
        return inv.sms_phone, inv.sms_consent_hint
    answer = next((a for q, a in booking.form_answers if q.strip().casefold() == question.casefold()), None)
    phone = to_e164(booking.invitee_phone, settings.sms.region) or inv.sms_phone
    if answer is None or answer.strip().casefold() not in ledger.TRUTHY or phone is None or is_landline(phone):
        return inv.sms_phone, inv.sms_consent_hint
    return phone, f"{BOOKING_FORM}{question}"


def text_fields(settings: Any, app: Application, candidate: Candidate, route: Any,
                has_tag: Callable[[Application, str], bool] | None) -> tuple[str | None, str | None]:
    """Enrichment's part (reads only): the candidate's mobile in E.164, and where the ATS says
    they agreed to texts (``sms.consent_field``: a custom field saying yes, or a tag), for a
    route that texts; (None, None) otherwise. Landlines and unparsable numbers give None."""
    if settings.sms.provider == "none" or "sms" not in channels(route):
        return None, None
    phone = to_e164(candidate.phone, settings.sms.region)
    if phone is None or is_landline(phone):
        return None, None
    field = settings.sms.consent_field
    if field.startswith("tag:"):
        name = field[4:].strip()
        return phone, (f"ATS tag {name}" if has_tag is not None and has_tag(app, name) else None)
    value = loc.field_value(app.custom, field) if field else None
    agreed = isinstance(value, str) and value.strip().casefold() in ledger.TRUTHY
    return phone, (f"ATS field {field}" if agreed else None)


class Texts:
    def __init__(self, channel: SmsChannel, settings: Any) -> None:
        self.channel = channel
        self.settings = settings
        self.window = parse_quiet_hours(settings.sms.quiet_hours)

    # --- consent ----------------------------------------------------------------------

    def grant_hint(self, ex: Host, inv: Invitation) -> None:
        """Consent the ATS or the booking form stated, recorded in the ledger (with its audit
        event) before the first text; never over a number the ledger already knows (a
        revoke holds until START)."""
        hint = inv.sms_consent_hint
        if not (inv.sms_phone and hint) or ledger.state(ex.db, inv.sms_phone) is not None:
            return
        shown = hint.removeprefix(BOOKING_FORM) if hint.startswith(BOOKING_FORM) else self.settings.sms.consent_text
        ledger.change(ex.db, inv.sms_phone, consent.GRANTED, source=hint, at=ex.now, actor=ex.ctx.actor,
                      text_shown=shown, candidate_id=inv.candidate_id, ref=inv.ref,
                      application_id=inv.application_id)

    # --- sending --------------------------------------------------------------------

    def deliver(self, ex: Host, inv: Invitation, kind: str, key: str, context: dict[str, Any],
                template_set: str) -> bool:
        """True when the candidate is reached by text (sent now, or waiting for their
        quiet hours to end); False means email must carry this message."""
        if kind not in SMS_KINDS or not inv.sms_phone or ex.db.unusable(inv.sms_phone):
            return False
        self.grant_hint(ex, inv)
        if ex.db.outbox_state(f"{key}:sms") in ("sent", "unknown"):
            return True
        verdict = consent.may_text(consent=ledger.state(ex.db, inv.sms_phone), in_stage=inv.is_open,
                                   sent=ex.db.texts_sent(inv.ref), limit=self.settings.sms.max_per_invitation,
                                   now=ex.now, zone=ex._zone(inv, "candidate"), window=self.window)
        if verdict.not_before is not None:
            ex.db.hold_text(inv.ref, kind, key, verdict.not_before)
            ex._audit(inv, "sms_deferred", channel="sms", detail=f"{kind} until {iso(verdict.not_before)} "
                                                                  f"({verdict.reason})")
            return True
        if not verdict.allowed:
            ex._audit(inv, "sms_skipped", channel="sms", detail=f"{kind}: {verdict.reason}")
            return False
        return self._send(ex, inv, kind, key, context, template_set)

    def _body(self, ex: Host, inv: Invitation, kind: str, context: dict[str, Any], template_set: str) -> str:
        zone = ex._zone(inv, "candidate")
        language = inv.locale or "en"
        short = {"deadline_short": loc.format_short(inv.deadline_at, zone, language) if inv.deadline_at else None,
                 "start_short": loc.format_short(inv.interview_start, zone, language)
                 if inv.interview_start else None}
        return gsm_fold(ex.ctx.renderer.render_sms(kind, context | short, template_set, language))

    def _send(self, ex: Host, inv: Invitation, kind: str, key: str, context: dict[str, Any],
              template_set: str) -> bool:
        phone = inv.sms_phone or ""
        sms_key = f"{key}:sms"
        if not ex._claim(inv, sms_key, kind, "sms", phone):
            return ex.db.outbox_state(sms_key) in ("sent", "unknown")
        try:
            message = self.channel.send(phone, self._body(ex, inv, kind, context, template_set))
        except SmsRejected as exc:
            ex.db.mark_failed(sms_key, str(exc.code), permanent=True)
            self._refused(ex, inv, exc.code, exc.outcome)
            if exc.outcome not in (OPTED_OUT, INVALID, UNREACHABLE):
                ex.report.errors.append(f"{inv.application_id}: {kind} text refused ({exc.message}); "
                                        "email carries it where the route has email")
            return False
        except VendorError as exc:
            # a provider outage must not hold up the email: it goes, and the poll says why no text did
            ex.db.mark_failed(sms_key, type(exc).__name__, permanent=False)
            ex.report.errors.append(f"{inv.application_id}: {kind} text not sent ({exc.message})")
            return False
        except Exception as exc:
            ex.db.mark_failed(sms_key, type(exc).__name__, permanent=False)
            raise
        with ex.db.transaction():
            ex.db.mark_sent(sms_key, message.sid)
            ex.db.record_sms(message.sid, key=key, ref=inv.ref, phone=phone, direction="outbound", kind=kind,
                             status=message.status, error_code=message.error_code, at=ex.now)
            ex._audit(inv, "sms_sent", channel="sms", recipient=phone, detail=f"{kind} {message.sid}")
        ex.report.outcomes.append(_outcome(inv, kind, "sent", masked(phone)))
        return True

    def _refused(self, ex: Host, inv: Invitation, code: int | None, outcome: str) -> None:
        phone = inv.sms_phone or ""
        if outcome == OPTED_OUT:
            ledger.revoke(ex.db, phone, source=f"{self.channel.name} error {code} (unsubscribed)", at=ex.now,
                          actor=ex.ctx.actor, candidate_id=inv.candidate_id, ref=inv.ref,
                          application_id=inv.application_id)
        elif outcome in (INVALID, UNREACHABLE):
            ex.db.mark_unusable(phone, str(code), ex.now)
        ex._audit(inv, "sms_failed", channel="sms", recipient=phone, detail=f"error {code} ({outcome})")

    def flush(self, ex: Host) -> None:
        """Send the texts that waited for quiet hours to end, unless they no longer apply."""
        for row in ex.db.texts_due(ex.now):
            ex.db.release_text(row["ref"])
            inv = ex.db.get_invitation(row["ref"])
            if inv is not None and inv.is_open:
                self._flush_one(ex, inv, row["kind"], row["key"])

    def _flush_one(self, ex: Host, inv: Invitation, kind: str, key: str) -> None:
        if kind in ("invite", "relink", "followup"):  # a link is news only until they book
            stale = inv.state not in (State.INVITED, State.FOLLOWED_UP)
        else:  # a confirmation or reminder is news only before the interview starts
            stale = inv.interview_start is None or ex.now >= inv.interview_start
        if not stale:
            context = ex._base_context(inv)
            if not self.deliver(ex, inv, kind, key, context, ex._template_set(inv)) and \
                    channels(ex._route(inv)) == ["sms"]:
                ex._send(inv, key, kind, inv.candidate_name, inv.candidate_email or "", context,
                         template_set=ex._template_set(inv), locale=inv.locale or "en")

    # --- reading --------------------------------------------------------------------

    def read(self, ex: Host) -> None:
        """Delivery status of our texts and replies to them, since the last poll."""
        saved = ex.db.get_cursor(CURSOR)
        started = ex.ctx.read_clock.now()  # the provider's time, like every vendor read window
        since = parse_instant(saved) if saved else started - timedelta(days=1)
        for message in self.channel.messages(since):
            if message.inbound:
                if ex.db.record_sms(message.sid, key=None, ref=ex.db.latest_ref_for_phone(message.from_),
                                    phone=message.from_, direction="inbound", kind=None, status=message.status,
                                    error_code=None, at=message.date_sent or started):
                    self._reply(ex, message.from_, message.body, message.sid)
                continue
            row = ex.db.sms_message(message.sid)
            if row is None or row["status"] == message.status:
                continue
            ex.db.update_sms_status(message.sid, message.status, message.error_code)
            if message.status in FINAL_STATUSES:
                self._final(ex, row, message.status, message.error_code)
        ex.db.set_cursor(CURSOR, iso(started))

    def _final(self, ex: Host, row: dict[str, Any], status: str, code: int | None) -> None:
        inv = ex.db.get_invitation(row["ref"]) if row["ref"] else None
        if inv is None:
            return
        if status not in FAILED_STATUSES:
            ex._audit(inv, "sms_delivered", channel="sms", detail=f"{row['kind']} {row['sid']}")
            return
        outcome = outcome_of(code)
        self._refused(ex, inv, code, outcome)
        if channels(ex._route(inv)) == ["sms"] and row["kind"] in SMS_KINDS:
            # the text never arrived and no email went with it: send the email version now
            ex._send(inv, row["key"], row["kind"], inv.candidate_name, inv.candidate_email or "",
                     ex._base_context(inv), template_set=ex._template_set(inv), locale=inv.locale or "en")

    def _reply(self, ex: Host, phone: str, body: str, sid: str) -> None:
        ref = ex.db.latest_ref_for_phone(phone)
        inv = ex.db.get_invitation(ref) if ref else None
        where: dict[str, Any] = {"candidate_id": inv.candidate_id, "ref": inv.ref,
                                 "application_id": inv.application_id} if inv else {}
        meaning = consent.classify(body)
        if meaning == consent.STOP:
            if ledger.revoke(ex.db, phone, source=f"reply {sid}", at=ex.now, actor=ex.ctx.actor, **where) \
                    and consent.normalise(body) not in PROVIDER_KEYWORDS:
                self._confirm_opt_out(ex, inv, phone, sid)
            return
        if meaning == consent.START:
            ledger.change(ex.db, phone, consent.GRANTED, source=f"START reply {sid}", at=ex.now,
                          actor=ex.ctx.actor, text_shown=body[:40], **where)
            return
        if inv is not None:
            ex.do_alert(inv, wf.alert_of(inv, alerts.text_reply(body), suffix=sid))
        else:
            ex.report.notices.append(f"a text from {masked(phone)} matched no invitation; not shown")

    def _confirm_opt_out(self, ex: Host, inv: Invitation | None, phone: str, sid: str) -> None:
        """The one text an opt-out allows, for wording the provider does not act on itself."""
        language = (inv.locale if inv else None) or self.settings.locale.default
        body = gsm_fold(ex.ctx.renderer.render_sms("opt_out", {"org_name": ex._org_name()}, "default", language))
        key = f"sms-optout:{sid}"
        if ex.db.claim(key, ref=inv.ref if inv else "", kind="opt_out", channel="sms", recipient=phone) != "claimed":
            return
        try:
            message = self.channel.send(phone, body)
        except SmsRejected as exc:
            ex.db.mark_failed(key, str(exc.code), permanent=True)
            return
        ex.db.mark_sent(key, message.sid)
        ex.db.record_sms(message.sid, key=key, ref=None, phone=phone, direction="outbound", kind="opt_out",
                         status=message.status, error_code=None, at=ex.now)


def _outcome(inv: Invitation, kind: str, result: str, recipient: str) -> Any:
    from ..executor import Outcome

    return Outcome(inv.ref, inv.application_id, f"{kind} (sms)", result, "", recipient)


__all__ = ["SMS_KINDS", "Texts", "channels"]
