"""Every change of an invitation's state, as pure functions: invitation in, new invitation out.

This is the one place that assigns ``Invitation.state`` (a test checks it).
Each function copies, so a planner can compute "the invitation as it will be"
for a dry run without touching the one it was given. Deadlines come from
:class:`workflow.Policy`, the single representation of SPEC §2's timing rules.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from . import zones
from .invitation import Invitation, State
from .manager_notes import phone_text
from .models import Booking
from .workflow import Policy

AFTER_CANCEL = "relink_after_cancel"  # Invitation.extra flag: the next link replaces a cancelled booking
VENDOR_FAILURES = "vendor_failures"  # Invitation.extra: failed vendor calls since the last invite


def copy(inv: Invitation, **changes: Any) -> Invitation:
    """A copy with its own ``extra`` dict (``dataclasses.replace`` would share it)."""
    return replace(inv, extra=dict(inv.extra), **changes)


# What the read phase (enrich.py) learns; copied onto the invitation as it stands by then.
ENRICHED_FIELDS = ("candidate_name", "candidate_email", "candidate_timezone", "candidate_phone", "job_name",
                   "department", "office", "recruiter_email", "route_index", "event_type", "interview_format",
                   "duration_minutes", "location", "hm_email", "hm_name", "hm_title", "hm_timezone",
                   "manager_notes")


def enriched(inv: Invitation, found: Invitation) -> Invitation:
    """The read phase's answers on the invitation as it is now (a cancel may have run since the read)."""
    return copy(inv, **{name: getattr(found, name) for name in ENRICHED_FIELDS})


def link_created(inv: Invitation, url: str, event_type_uri: str) -> Invitation:
    return copy(inv, link_url=url, event_type_uri=event_type_uri)


def with_deadline(inv: Invitation, deadline: datetime) -> Invitation:
    """The invitation as a message about it should read (the deadline it announces)."""
    return copy(inv, deadline_at=deadline)


def invited(inv: Invitation, now: datetime, policy: Policy) -> Invitation:
    """The link went out (or may have: a recruiter was alerted): the booking deadline starts."""
    new = copy(inv, state=State.INVITED, invite_sent_at=inv.invite_sent_at or now,
               deadline_at=now + policy.booking_deadline, followup_sent_at=None, followup_deadline_at=None)
    new.extra.pop(VENDOR_FAILURES, None)
    new.extra.pop(AFTER_CANCEL, None)
    return new


def followed_up(inv: Invitation, now: datetime, policy: Policy) -> Invitation:
    return copy(inv, state=State.FOLLOWED_UP, followup_sent_at=now,
                followup_deadline_at=now + policy.followup_deadline)


def flagged(inv: Invitation, now: datetime) -> Invitation:
    return copy(inv, state=State.FLAGGED, flagged_at=now)


def with_booking(inv: Invitation, booking: Booking) -> Invitation:
    """The invitation as the booking's messages describe it (state booked, the new time; the
    candidate's zone and, for a phone interview, number, as they gave them when booking)."""
    phone = (phone_text(booking.invitee_phone) or inv.candidate_phone) if inv.interview_format == "phone" \
        else inv.candidate_phone
    return copy(inv, state=State.BOOKED, booking_ref=booking.uri, event_uri=booking.event_uri,
                interview_start=booking.start, interview_end=booking.end, join_url=booking.join_url,
                location=booking.location or inv.location, cancel_url=booking.cancel_url,
                reschedule_url=booking.reschedule_url,
                candidate_timezone=zones.known_zone(booking.invitee_timezone) or inv.candidate_timezone,
                candidate_phone=phone)


def booked(inv: Invitation, booking: Booking, now: datetime, sequence: int, updated: bool) -> Invitation:
    new = with_booking(inv, booking)
    new.ics_sequence = sequence
    new.booked_at = inv.booked_at if updated else (booking.created_at or now)
    new.reminder_sent_at = None
    new.feedback_sent_at = None
    if updated:
        new.reschedules += 1
    return new


def cancelled(inv: Invitation, now: datetime, sequence: int) -> Invitation:
    """Back to pending with the next link generation; the relink that follows says why."""
    new = copy(inv, state=State.PENDING, ics_sequence=sequence, cancelled_at=now, booking_ref=None,
               event_uri=None, interview_start=None, interview_end=None, join_url=None, cancel_url=None,
               reschedule_url=None, link_url=None, link_generation=inv.link_generation + 1,
               reminder_sent_at=None)
    new.extra[AFTER_CANCEL] = "1"
    return new


def retried(inv: Invitation) -> Invitation:
    """A parked invitation gets another invite: a fresh link generation (the old key may be spent)."""
    return copy(inv, state=State.PENDING, link_generation=inv.link_generation + 1, link_url=None,
                attention_reason=None)


def resent(inv: Invitation) -> Invitation:
    """A recruiter's `invite --resend`: like a retry, counted as a manual intervention."""
    return copy(retried(inv), manual_interventions=inv.manual_interventions + 1)


def manual(inv: Invitation) -> Invitation:
    """A recruiter's first `invite` of an application the poll has not invited."""
    return copy(inv, manual_interventions=inv.manual_interventions + 1)


def reminded(inv: Invitation, now: datetime) -> Invitation:
    return copy(inv, reminder_sent_at=now)


def feedback_requested(inv: Invitation, now: datetime) -> Invitation:
    return copy(inv, feedback_sent_at=now, state=State.CLOSED, closed_reason="interview held")


def closed(inv: Invitation, reason: str | None) -> Invitation:
    return copy(inv, state=State.CLOSED, closed_reason=reason)


def marked_no_show(inv: Invitation) -> Invitation:
    return copy(inv, no_show=True)


def alerted(inv: Invitation, reason: str | None, park: bool) -> Invitation:
    """A recruiter was told; ``park`` hands the invitation to them (needs_attention)."""
    new = copy(inv, alerts=inv.alerts + 1)
    if park:
        new.state = State.NEEDS_ATTENTION
        new.attention_reason = reason
    return new


def vendor_failed(inv: Invitation) -> tuple[Invitation, int]:
    """One more failed vendor call; returns the new count."""
    failures = int(inv.extra.get(VENDOR_FAILURES, "0")) + 1
    new = copy(inv)
    new.extra[VENDOR_FAILURES] = str(failures)
    return new, failures


def relinks(inv: Invitation) -> bool:
    """Whether the next link replaces a cancelled booking (the email then says so)."""
    return bool(inv.extra.get(AFTER_CANCEL))
