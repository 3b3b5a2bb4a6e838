"""`history APPLICATION_ID`: one candidate's whole story, told from the audit log.

A recruiter asked "what happened with Zoë?" should not have to read an audit
export. Every audit row of the application's invitations becomes one plain
sentence stamped in local time, oldest first. The audit log is the source
(not the invitation row, which only keeps the latest link, booking and
deadline), so the story survives re-invites, cancels and retention: after a
purge the rows keep their event, time and actor, and say that the personal
details were removed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from .clock import parse_instant
from .config import Settings
from .errors import ConfigError
from .invitation import Invitation
from .state import StateDB

ROBOT = "interview-sync"  # the actor of everything the tool did on its own


@dataclass(frozen=True)
class Entry:
    """One line of the story."""

    seq: int
    at: datetime  # UTC
    local: str  # "Tue 24 Nov 09:02 CST"
    event: str
    text: str
    invitation_ref: str | None
    actor: str


@dataclass
class History:
    application_id: str
    candidate: str
    job: str | None
    zone: str
    invitations: list[Invitation]
    entries: list[Entry]


def display_zone(settings: Settings, inv: Invitation | None) -> str:
    """The zone a recruiter reads an invitation's times in.

    One function on purpose: per-candidate zones will replace the facility's
    zone here, and nowhere else.
    """
    return settings.policy.timezone


def candidate_label(inv: Invitation) -> str:
    """The candidate's name as stored, or why there is none."""
    if inv.candidate_name:
        return inv.candidate_name
    if inv.purged:
        return "(name removed by purge)"
    return f"candidate {inv.candidate_id} (not read from the ATS yet)"


def local_stamp(at: datetime, zone: str, *, with_year: bool = False) -> str:
    local = at.astimezone(ZoneInfo(zone))
    return local.strftime("%a %d %b %Y %H:%M" if with_year else "%a %d %b %H:%M") + f" {local.tzname()}"


def load_history(db: StateDB, settings: Settings, application_id: str) -> History:
    """Every audit row of the application's invitations, as sentences; a usage error
    (exit 2) when the state database has never seen the application."""
    invitations = db.invitations(application_id=application_id)
    if not invitations:
        raise ConfigError(f"application {application_id!r} has no invitation in {db.path}",
                          "check the id with `interview-sync status` (for Lever, the opportunity id)")
    by_ref = {inv.ref: inv for inv in invitations}
    rows = db.audit_rows(list(by_ref))
    spans_years = len({row["at"][:4] for row in rows}) > 1  # `at` is ISO 8601 text
    teller = _Teller(settings, by_ref, rows, with_year=spans_years)
    latest = invitations[-1]
    return History(application_id=application_id, candidate=candidate_label(latest), job=latest.job_name,
                   zone=display_zone(settings, latest), invitations=invitations,
                   entries=[teller.entry(row) for row in rows])


# --- sentences ---------------------------------------------------------------------------

# What an email of each kind is, as a recruiter would say it (the kind is the first word of
# the audit detail, "invite Message-ID <...>").
EMAIL_KINDS = {
    "invite": "invite", "relink": "new booking link (after a cancellation)", "followup": "follow-up",
    "confirmation": "booking confirmation", "reminder_candidate": "reminder",
    "hm_booking": "calendar invite (.ics) for the hiring manager",
    "hm_cancel": "cancellation (.ics) for the hiring manager", "reminder_hm": "reminder for the hiring manager",
    "feedback_request": "feedback request", "recruiter_alert": "recruiter alert",
}
# Emails that carry the booking link.
LINK_KINDS = frozenset({"invite", "relink", "followup"})

# Events whose sentence needs only the row's own detail, recipient and the flag tag.
SENTENCES = {
    "enriched": "details read from the ATS; {detail} chosen",
    "link_created": "single-use booking link created ({detail})",
    "invite_unconfirmed": "a run stopped while emailing the link: it may not have arrived (a recruiter was alerted)",
    "ats_note": "note added in the ATS ({detail})",
    "ats_tag": "tag {tag!r} added in the ATS ({detail})",
    "flagged": "flagged for recruiter review: no booking after the invite and the follow-up",
    "cancelled": "interview cancelled ({detail})",
    "reminded": "interview reminders sent",
    "no_show": "marked as a no-show ({detail})",
    "feedback_requested": "feedback requested from the hiring manager; invitation closed",
    "closed": "invitation closed: {detail}",
    "retry": "tried again after the ATS changed ({detail})",
    "alert": "recruiter {recipient} alerted: {detail}",
    "vendor_error": "a vendor call failed, retried on the next poll: {detail}",
    "outbox_unknown": "a run stopped while sending; not resent: {detail}",
    "manual_invite": "invited by hand: {detail}",
    "manual_resend": "invitation sent again by hand: {detail}",
    "purge": "personal data removed ({detail})",
    "sms_sent": "text sent to {recipient} ({detail})",
    "sms_delivered": "text delivered ({detail})",
    "sms_failed": "text to {recipient} not delivered: {detail}; email carries the messages",
    "sms_deferred": "text held for the candidate's quiet hours: {detail}",
    "sms_skipped": "no text: {detail}",
    "consent_granted": "consent to texts recorded for {recipient} ({detail})",
    "consent_revoked": "consent to texts withdrawn for {recipient} ({detail})",
    "mail_bounced": "an email to {recipient} came back undelivered: {detail}",
    "mail_soft_bounce": "an email to {recipient} was not delivered for now: {detail}",
    "mail_reply": "an answer came back by email: {detail}",
    "mail_auto_reply": "an automatic reply came back: {detail}",
    "mail_declined": "{recipient} declined the calendar invitation",
}

# After a purge a row keeps its event, time and actor; its recipient and detail are gone.
# These events say nothing personal and read the same; the others get a short form.
IMPERSONAL = frozenset({"stage_entered", "invite_unconfirmed", "flagged", "reminded", "feedback_requested"})
PURGED = {
    "email_sent": "email sent", "alert": "recruiter alerted", "ats_note": "note added in the ATS",
    "ats_tag": "tag added in the ATS", "invited": "link sent", "relinked": "new link sent",
    "followed_up": "follow-up sent", "link_created": "single-use booking link created",
    "enriched": "details read from the ATS", "booked": "interview booked", "rescheduled": "interview moved",
    "cancelled": "interview cancelled", "closed": "invitation closed", "sms_sent": "text sent",
    "sms_failed": "text not delivered", "consent_granted": "consent to texts recorded",
    "consent_revoked": "consent to texts withdrawn",
    "cancelled": "interview cancelled", "closed": "invitation closed",
    "mail_bounced": "an email came back undelivered", "mail_soft_bounce": "an email was not delivered for now",
    "mail_reply": "an answer came back by email", "mail_auto_reply": "an automatic reply came back",
    "mail_declined": "the calendar invitation was declined",
}


class _Teller:
    """Turns audit rows into sentences; knows which link each invite carried."""

    def __init__(self, settings: Settings, by_ref: dict[str, Invitation], rows: list[dict[str, Any]],
                 *, with_year: bool) -> None:
        self.settings = settings
        self.by_ref = by_ref
        self.with_year = with_year
        # The invitation row keeps only its current link: it is the one created last.
        self.last_link_seq = {row["invitation_ref"]: row["seq"] for row in rows if row["event"] == "link_created"}
        self.methods: dict[str, Callable[[dict[str, Any], str], str]] = {
            "stage_entered": self._stage_entered, "email_sent": self._email, "invited": self._deadline,
            "relinked": self._deadline, "followed_up": self._deadline, "booked": self._slot,
            "rescheduled": self._slot}

    def entry(self, row: dict[str, Any]) -> Entry:
        inv = self.by_ref.get(row["invitation_ref"])
        zone = display_zone(self.settings, inv)
        at = parse_instant(row["at"])
        text = self.sentence(row, zone)
        if row["actor"] != ROBOT:
            text += f" (by {row['actor']})"
        return Entry(seq=row["seq"], at=at, local=local_stamp(at, zone, with_year=self.with_year),
                     event=row["event"], text=text, invitation_ref=row["invitation_ref"], actor=row["actor"])

    def sentence(self, row: dict[str, Any], zone: str) -> str:
        event = row["event"]
        if row["pii_salt"] is None and event not in IMPERSONAL:  # blanked by `purge`
            return f"{PURGED.get(event, event.replace('_', ' '))} (details removed by purge)"
        method = self.methods.get(event)
        if method is not None:
            return method(row, zone)
        if event in SENTENCES:
            return SENTENCES[event].format(detail=_text(row["detail"]), recipient=_text(row["recipient"]),
                                           tag=self.settings.ats.flag_tag)
        # an event kind newer than this code: still one readable line
        words = event.replace("_", " ")
        return words + (f": {row['detail']}" if row["detail"] else "") + \
            (f" ({row['recipient']})" if row["recipient"] else "")

    def _stage_entered(self, row: dict[str, Any], zone: str) -> str:
        inv = self.by_ref.get(row["invitation_ref"])
        stage = inv.stage_name if inv else _text(row["detail"])
        return f"moved to interview stage {stage!r} in the ATS"

    def _email(self, row: dict[str, Any], zone: str) -> str:
        kind = (row["detail"] or "").split(" ", 1)[0]
        what = EMAIL_KINDS.get(kind, kind.replace("_", " ") or "email")
        text = f"{what} emailed to {_text(row['recipient'])}"
        inv = self.by_ref.get(row["invitation_ref"])
        current = self.last_link_seq.get(row["invitation_ref"], 0) < row["seq"]
        if kind in LINK_KINDS and inv is not None and inv.link_url and current:
            text += f" (link {inv.link_url.split('?', 1)[0]})"  # without the name/email prefill
        return text

    def _deadline(self, row: dict[str, Any], zone: str) -> str:
        lead = {"invited": "link sent", "relinked": "new link sent", "followed_up": "follow-up sent"}[row["event"]]
        when = _instant_in(row["detail"])
        if when is None:
            return f"{lead}; waiting for a booking"
        return f"{lead}; waiting for a booking until {local_stamp(when, zone, with_year=self.with_year)}"

    def _slot(self, row: dict[str, Any], zone: str) -> str:
        when = _instant_in(row["detail"])
        slot = local_stamp(when, zone, with_year=self.with_year) if when else _text(row["detail"])
        return f"interview {'booked for' if row['event'] == 'booked' else 'moved to'} {slot}"


def _text(value: str | None) -> str:
    return value if value else "?"


def _instant_in(detail: str | None) -> datetime | None:
    """The first ISO 8601 instant in a detail ("deadline 2026-…", "2026-… – 2026-…")."""
    for word in (detail or "").split():
        try:
            return parse_instant(word)
        except ValueError:
            continue
    return None


def as_dict(history: History) -> dict[str, Any]:
    """The `--json` form: instants in UTC ISO 8601 beside the local stamp."""
    return {
        "application_id": history.application_id, "candidate": history.candidate, "job": history.job,
        "timezone": history.zone,
        "invitations": [{"ref": inv.ref, "stage": inv.stage_name, "state": str(inv.state),
                         "interview_start": inv.interview_start.isoformat() if inv.interview_start else None}
                        for inv in history.invitations],
        "events": [{"seq": e.seq, "at": e.at.isoformat(), "local": e.local, "event": e.event, "text": e.text,
                    "invitation_ref": e.invitation_ref, "actor": e.actor} for e in history.entries],
    }
