"""Vendor-neutral records that adapters produce and the workflow consumes.

Adapters translate each vendor's wire format into these types, so the workflow,
the state store and the mail layer never see a vendor payload. Only what the
workflow needs is kept: candidate data is personal data and we minimise it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class AppStatus(StrEnum):
    """Where an application stands, in one vocabulary for every ATS. Only ``ACTIVE``
    applications are invited; the others say why an invitation closed."""

    ACTIVE = "active"
    REJECTED = "rejected"
    HIRED = "hired"
    ARCHIVED = "archived"  # Lever: archived for a reason that is not a hire
    CONVERTED = "converted"  # Greenhouse: a prospect application turned into a candidate one

    @classmethod
    def _missing_(cls, value: object) -> AppStatus | None:
        # Greenhouse says "in_process" for active; state snapshots and recordings hold it too.
        return cls.ACTIVE if value == "in_process" else None


class BookingStatus(StrEnum):
    """A booking as every scheduler's adapter reports it."""

    ACTIVE = "active"
    CANCELED = "canceled"
    PENDING = "pending"  # waiting for the host to accept (Cal.com); not confirmed yet


@dataclass(frozen=True)
class Person:
    """An ATS user (hiring manager, recruiter) or scheduler user."""

    id: str
    name: str
    email: str | None = None
    title: str | None = None


@dataclass(frozen=True)
class Candidate:
    id: str
    first_name: str
    last_name: str
    email: str | None = None
    phone: str | None = None
    timezone: str | None = None
    can_email: bool = True

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


@dataclass(frozen=True)
class Job:
    id: str
    name: str
    department: str | None = None
    office: str | None = None
    hiring_managers: tuple[Person, ...] = ()
    recruiters: tuple[Person, ...] = ()


@dataclass(frozen=True)
class Application:
    """One application as the ATS reports it in a change listing.

    ``candidate``/``job`` are filled by enrichment when the listing does not
    carry them (Greenhouse v3 lists flat objects with ids only).
    """

    id: str
    candidate_id: str
    job_id: str | None
    stage_id: str | None
    stage_name: str | None
    status: AppStatus  # an adapter's word is accepted and normalised
    updated_at: datetime
    stage_changed_at: datetime | None = None
    candidate: Candidate | None = None
    job: Job | None = None
    custom: dict[str, str] = field(default_factory=dict)
    source: str | None = None  # where the candidate came from, where the listing says so

    def __post_init__(self) -> None:
        object.__setattr__(self, "status", AppStatus(self.status))

    @property
    def active(self) -> bool:
        return self.status is AppStatus.ACTIVE


@dataclass(frozen=True)
class Host:
    """A scheduler user who can own event types (a hiring manager's calendar)."""

    uri: str
    name: str
    email: str
    timezone: str | None = None  # IANA zone from the scheduler's user profile, None when it has none


@dataclass(frozen=True)
class EventType:
    uri: str
    slug: str
    name: str
    duration_minutes: int
    scheduling_url: str
    host_uri: str
    active: bool = True


@dataclass(frozen=True)
class Booking:
    """One invitee of one scheduled event, as the scheduler reports it.

    ``ref`` is the invitation reference we carried in the link (Calendly
    ``tracking.utm_content``, Cal.com ``metadata.ref``); it may be missing when
    the candidate stripped it, in which case we match on email + host.
    """

    uri: str  # invitee URI / booking uid: unique per booking
    event_uri: str
    ref: str | None
    email: str
    name: str
    start: datetime
    end: datetime
    status: BookingStatus  # an adapter's word is accepted and normalised
    host_email: str | None = None
    updated_at: datetime | None = None
    created_at: datetime | None = None
    location: str | None = None
    join_url: str | None = None
    cancel_url: str | None = None
    reschedule_url: str | None = None
    rescheduled: bool = False
    new_booking_uri: str | None = None  # set on the canceled old half of a reschedule
    old_booking_uri: str | None = None  # set on the new half of a reschedule
    canceled_by: str | None = None
    cancel_reason: str | None = None
    no_show: bool = False
    event_type_uri: str | None = None
    invitee_timezone: str | None = None  # the zone the candidate booked in (IANA), to render times in
    invitee_phone: str | None = None  # from the booking form, where the event type asks for one

    def __post_init__(self) -> None:
        object.__setattr__(self, "status", BookingStatus(self.status))
