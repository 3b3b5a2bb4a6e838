"""The invitation record: one application entering one configured interview stage.

This is the unit the workflow reasons about and the state store persists
(one row per invitation, one column per field). Personal fields (names,
emails, links) are the ones `purge` blanks after retention.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, fields
from datetime import datetime
from enum import StrEnum


class State(StrEnum):
    PENDING = "pending"  # stage entered, invite not yet carried out
    INVITED = "invited"  # link sent, waiting for a booking
    FOLLOWED_UP = "followed_up"  # the one follow-up went out
    BOOKED = "booked"
    FLAGGED = "flagged"  # no booking after the follow-up: a recruiter owns it now
    NEEDS_ATTENTION = "needs_attention"  # the tool could not act; a recruiter was alerted
    CLOSED = "closed"  # stage left, interview done, or superseded


OPEN_STATES = frozenset({State.PENDING, State.INVITED, State.FOLLOWED_UP, State.BOOKED})
WAITING_STATES = frozenset({State.INVITED, State.FOLLOWED_UP})

PERSONAL_FIELDS = ("candidate_name", "candidate_email", "link_url", "hm_name", "hm_email",
                   "join_url", "location", "cancel_url", "reschedule_url", "booking_notes",
                   "candidate_phone", "manager_notes", "sms_phone")


def invitation_ref(application_id: str, stage_id: str) -> str:
    """Stable, non-personal reference carried in links and Message-IDs.

    Derived from (application, stage) so that every re-read of the same stage
    change maps to the same invitation: the root of "nothing is sent twice".
    """
    digest = hashlib.sha256(f"{application_id}\x1f{stage_id}".encode()).hexdigest()[:10]
    return f"is-{application_id}-{digest}"


@dataclass
class Invitation:
    ref: str
    application_id: str
    candidate_id: str
    job_id: str | None
    stage_id: str
    stage_name: str
    stage_changed_at: datetime
    created_at: datetime
    state: State = State.PENDING

    # enrichment (filled when the invite is carried out)
    candidate_name: str | None = None
    candidate_email: str | None = None
    candidate_timezone: str | None = None  # the candidate's own zone (from the booking), checked
    candidate_phone: str | None = None  # phone-format routes only: for the hiring manager to call
    job_name: str | None = None
    department: str | None = None
    office: str | None = None
    hm_name: str | None = None
    hm_title: str | None = None
    hm_email: str | None = None
    hm_timezone: str | None = None  # the hiring manager's scheduler account zone, checked
    recruiter_email: str | None = None
    manager_notes: str | None = None  # the application notes the recruiter chose to show ([manager_notes])

    # route
    route_index: int | None = None
    event_type: str | None = None
    event_type_uri: str | None = None
    interview_format: str | None = None
    duration_minutes: int | None = None

    # outreach
    link_url: str | None = None
    link_generation: int = 0  # rises each time a new link is issued (after a cancel)
    invite_sent_at: datetime | None = None
    deadline_at: datetime | None = None  # booking deadline of the current link
    followup_sent_at: datetime | None = None
    followup_deadline_at: datetime | None = None
    flagged_at: datetime | None = None

    # booking
    booking_ref: str | None = None  # scheduler invitee/booking URI
    event_uri: str | None = None
    booked_at: datetime | None = None
    interview_start: datetime | None = None
    interview_end: datetime | None = None
    location: str | None = None
    join_url: str | None = None
    cancel_url: str | None = None
    reschedule_url: str | None = None
    booking_notes: str | None = None
    ics_sequence: int = 0
    reschedules: int = 0
    cancelled_at: datetime | None = None
    reminder_sent_at: datetime | None = None
    feedback_sent_at: datetime | None = None
    no_show: bool = False

    # text messages and language (issue 14)
    sms_phone: str | None = None  # the candidate's mobile in E.164, when one was on record
    locale: str | None = None  # en | es: the language candidate-facing messages use
    sms_consent_hint: str | None = None  # where the ATS says the candidate agreed to texts (read at enrichment)

    # bookkeeping
    attention_reason: str | None = None
    alerts: int = 0
    closed_reason: str | None = None
    manual_interventions: int = 0
    last_action: str | None = None
    updated_at: datetime | None = None
    purged: bool = False
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES


def datetime_fields() -> tuple[str, ...]:
    """Field names holding datetimes (stored as ISO 8601 UTC text)."""
    return tuple(f.name for f in fields(Invitation) if "datetime" in str(f.type))
