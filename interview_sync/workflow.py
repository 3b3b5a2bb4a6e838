"""The pure workflow core: (invitation, event, now, policy) → actions.

Nothing here performs I/O or reads a clock. The poll cycle turns vendor
reads into events, asks this module what to do, and hands the resulting
actions to the planner (planner.py), which turns each into steps for an
executor (real, dry-run, replay). Every action carries the idempotency key
its effect is recorded under, so planning the same thing twice can never
send it twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from . import alerts
from .alerts import AlertText
from .invitation import State, WAITING_STATES, Invitation, invitation_ref
from .models import Application, AppStatus, Booking, BookingStatus

if TYPE_CHECKING:
    from .state import AppSnapshot  # a type only: the pure core does not load the store


@dataclass(frozen=True)
class Policy:
    """The timing rules of SPEC §2, as durations (all maths on UTC instants)."""

    booking_deadline: timedelta = timedelta(hours=48)
    followup_deadline: timedelta = timedelta(hours=24)
    reminder_before: timedelta = timedelta(hours=24)
    feedback_after: timedelta = timedelta(hours=2)
    feedback_enabled: bool = False
    no_availability_days: int = 10

    @classmethod
    def from_settings(cls, settings: object) -> "Policy":
        policy = settings.policy  # type: ignore[attr-defined]
        return cls(
            booking_deadline=timedelta(hours=policy.booking_deadline_hours),
            followup_deadline=timedelta(hours=policy.followup_deadline_hours),
            reminder_before=timedelta(hours=policy.reminder_hours_before),
            feedback_after=timedelta(hours=policy.feedback_after_hours),
            feedback_enabled=bool(settings.feedback.url),  # type: ignore[attr-defined]
            no_availability_days=policy.no_availability_days,
        )


# Action kinds, in the order a reader meets them in SPEC §2.
INVITE = "invite"  # enrich, route, check availability, link, email, ATS note
FOLLOWUP = "followup"
FLAG = "flag"  # ATS tag + note + recruiter alert
CONFIRM = "confirm"  # candidate confirmation, .ics REQUEST to HM, ATS note
RESCHEDULE = "reschedule"  # updated confirmation and .ics (same UID, SEQUENCE+1)
CANCEL = "cancel"  # .ics CANCEL to HM, ATS note, then a new link (INVITE of the next generation)
REMINDER = "reminder"  # candidate and hiring manager
FEEDBACK = "feedback"
ALERT = "alert"
CLOSE = "close"  # state only: stop all outreach
RETRY = "retry"  # a parked invitation gets another invite attempt (the ATS changed)
NO_SHOW = "no_show"  # state only: the scheduler marked the candidate absent (for `report`)


@dataclass(frozen=True)
class Action:
    kind: str
    ref: str
    key: str  # idempotency key of the effect (outbox row)
    booking: Booking | None = None
    reason: str | None = None
    fix: str | None = None
    who: str | None = None  # reminder recipient: "candidate" | "hm"
    park: bool = False  # alert that moves the invitation to needs_attention
    command: str | None = None  # alert: the command a recruiter can paste, real values filled in
    mail: Any = None  # mail_* actions: the mailbox.plan.MailEvent they act on

    def describe(self) -> str:
        text = self.kind
        if self.who:
            text += f" ({self.who})"
        if self.reason:
            text += f": {self.reason}"
        return text


@dataclass
class Step:
    """One planned change: the invitation as it should be saved, and what to do."""

    invitation: Invitation
    actions: list[Action] = field(default_factory=list)
    created: bool = False


def alert(inv: Invitation, code: str, reason: str, fix: str, suffix: str = "", park: bool = False,
          command: str | None = None) -> Action:
    """A recruiter alert; the key makes one alert per cause per invitation."""
    key = f"{inv.ref}:alert:{code}" + (f":{suffix}" if suffix else "")
    return Action(ALERT, inv.ref, key, reason=reason, fix=fix, park=park, command=command)


def alert_of(inv: Invitation, text: AlertText, suffix: str = "", park: bool = False) -> Action:
    """A recruiter alert worded by :mod:`interview_sync.alerts`."""
    return alert(inv, text.code, text.reason, text.fix, suffix=suffix, park=park, command=text.command)


# --- ATS events -------------------------------------------------------------------

def on_stage_entered(app: Application, existing: Invitation | None, now: datetime) -> Step | None:
    """An application is in a configured interview stage it was not in before.

    An invitation for (application, stage) that already exists means this is
    a duplicate trigger, re-poll or manual re-advance: nothing is sent again.
    When the earlier invitation was closed because the application left the
    stage, its link may be dead (Cal.com revokes it), so the recruiter hears
    about the re-advance once and decides whether to `invite --resend`.
    """
    if app.stage_id is None:
        return None
    if existing is not None:
        if existing.state is State.CLOSED and (existing.closed_reason or "").startswith("left stage"):
            return Step(existing, [alert_of(existing, alerts.re_entered(existing.application_id,
                                                                        existing.stage_name))])
        return None
    ref = invitation_ref(app.id, app.stage_id)
    inv = Invitation(
        ref=ref,
        application_id=app.id,
        candidate_id=app.candidate_id,
        job_id=app.job_id,
        stage_id=app.stage_id,
        stage_name=app.stage_name or app.stage_id,
        stage_changed_at=app.stage_changed_at or app.updated_at,
        created_at=now,
        updated_at=now,
    )
    return Step(inv, [Action(INVITE, ref, f"{ref}:invite:0")], created=True)


def closes_on_stage_exit(inv: Invitation) -> bool:
    """Open invitations, and parked ones without a booking: once the application has
    left the stage there is nothing left for a recruiter to fix (SPEC §2: an
    invitation waits in needs_attention "until a person acts, or the ATS changes")."""
    if inv.is_open:
        return True
    return inv.state in (State.NEEDS_ATTENTION, State.FLAGGED) and inv.booking_ref is None


def on_application_changed(inv: Invitation, app: Application) -> list[Action]:
    """The ATS changed an application whose invitation waits for a person.

    SPEC §2: needs_attention lasts "until a person acts (`invite --resend`, or
    the ATS changes)". A change made after we parked the invitation (an email
    or hiring manager added, the job edited) earns one more try of the invite;
    parked invitations with a booking are a person's decision and stay put.
    The alert keys are per cause, so a retry that fails the same way does not
    alert twice.
    """
    if (inv.state is not State.NEEDS_ATTENTION or inv.booking_ref is not None or not app.active
            or app.stage_id != inv.stage_id or inv.updated_at is None or app.updated_at <= inv.updated_at):
        return []
    return [Action(RETRY, inv.ref, f"{inv.ref}:retry:{inv.link_generation + 1}",
                   reason="the application changed in the ATS after the alert")]


def on_stage_left(inv: Invitation, app: Application) -> list[Action]:
    """The application moved away from the invitation's stage (or was rejected/hired)."""
    if not closes_on_stage_exit(inv):
        return []
    where = app.stage_name if app.active else app.status
    if inv.state is State.BOOKED:
        return [alert_of(inv, alerts.stage_left_booked(inv.stage_name, where), park=True)]
    return [Action(CLOSE, inv.ref, f"{inv.ref}:close", reason=f"left stage (now {where})")]


# --- scheduler events -------------------------------------------------------------

def on_booking(inv: Invitation, booking: Booking, in_stage: bool = True) -> list[Action]:
    """A booking, cancellation or reschedule matched to this invitation.

    ``in_stage`` is False when the ATS last showed the application outside the
    invitation's stage: then nothing goes to the candidate any more, and a new
    or moved booking is a recruiter's call.
    """
    if booking.status is BookingStatus.CANCELED:
        if booking.uri != inv.booking_ref or inv.state is not State.BOOKED:
            return []  # an older booking's cancel, or one we already handled
        if booking.rescheduled:
            return []  # the new half of the reschedule carries the change
        return [Action(CANCEL, inv.ref, f"{inv.ref}:cancel:{booking.uri}", booking=booking,
                       reason=f"canceled by {booking.canceled_by or 'someone'}")]
    if booking.status is not BookingStatus.ACTIVE:
        return []  # pending (unconfirmed) bookings wait for acceptance
    if booking.uri != inv.booking_ref and not in_stage:
        return [alert_of(inv, alerts.booked_after_close(), suffix=booking.uri)]
    if booking.uri == inv.booking_ref:
        if booking.no_show and not inv.no_show:
            return [Action(NO_SHOW, inv.ref, f"{inv.ref}:no-show:{booking.uri}", booking=booking,
                           reason="marked as a no-show in the scheduler")]
        return []  # seen before
    if inv.state is State.BOOKED:
        if booking.old_booking_uri and booking.old_booking_uri == inv.booking_ref:
            return [Action(RESCHEDULE, inv.ref, f"{inv.ref}:confirm:{booking.uri}", booking=booking,
                           reason="rescheduled by the candidate")]
        return [alert_of(inv, alerts.double_booking(), suffix=booking.uri)]
    if inv.state in WAITING_STATES or inv.state in (State.FLAGGED, State.NEEDS_ATTENTION, State.PENDING):
        return [Action(CONFIRM, inv.ref, f"{inv.ref}:confirm:{booking.uri}", booking=booking)]
    return [alert_of(inv, alerts.booked_after_close(), suffix=booking.uri)]


# --- timers -----------------------------------------------------------------------

def due(inv: Invitation, now: datetime, policy: Policy) -> list[Action]:
    """Timers that are due at ``now``; fired by whichever poll comes first."""
    gen = inv.link_generation
    if inv.state is State.PENDING:
        return [Action(INVITE, inv.ref, f"{inv.ref}:invite:{gen}")]  # retry of an invite that failed
    if inv.state is State.INVITED and inv.deadline_at and now >= inv.deadline_at and inv.followup_sent_at is None:
        return [Action(FOLLOWUP, inv.ref, f"{inv.ref}:followup:{gen}")]
    if inv.state is State.FOLLOWED_UP and inv.followup_deadline_at and now >= inv.followup_deadline_at:
        return [Action(FLAG, inv.ref, f"{inv.ref}:flag",
                       reason="no booking after the invite and the follow-up")]
    if inv.state is not State.BOOKED or inv.interview_start is None or inv.interview_end is None:
        return []
    actions: list[Action] = []
    booking = inv.booking_ref
    window_opens = inv.interview_start - policy.reminder_before
    booked_inside_window = inv.booked_at is not None and inv.booked_at >= window_opens  # confirmation suffices
    if inv.reminder_sent_at is None and not booked_inside_window and window_opens <= now < inv.interview_start:
        actions.append(Action(REMINDER, inv.ref, f"{inv.ref}:reminder:candidate:{booking}", who="candidate"))
        actions.append(Action(REMINDER, inv.ref, f"{inv.ref}:reminder:hm:{booking}", who="hm"))
    if now >= inv.interview_end:
        if policy.feedback_enabled:
            if now >= inv.interview_end + policy.feedback_after and inv.feedback_sent_at is None:
                actions.append(Action(FEEDBACK, inv.ref, f"{inv.ref}:feedback:{booking}"))
        else:
            actions.append(Action(CLOSE, inv.ref, f"{inv.ref}:close", reason="interview time passed"))
    return actions


def in_configured_stage(app: Application, stages: list[str]) -> bool:
    wanted = {s.casefold() for s in stages}
    return app.active and app.stage_name is not None and app.stage_name.casefold() in wanted


def stage_entered(app: Application, previous: AppSnapshot | None, stages: list[str], *, first_run: bool,
                  backfill: bool) -> bool:
    """Did this read show the application entering a configured stage? Against the last
    snapshot: a new application, another stage, or back from a closed status. The first
    run only records a baseline, unless asked to ``backfill``."""
    in_stage = in_configured_stage(app, stages)
    if first_run:
        return in_stage and backfill
    return in_stage and (previous is None or previous.stage_id != app.stage_id or not snapshot_active(previous))


def still_in_stage(inv: Invitation, snapshot: AppSnapshot | None) -> bool:
    """Per the last ATS read: is the application still in the invitation's stage?"""
    if snapshot is None:
        return True
    return snapshot.stage_id == inv.stage_id and snapshot_active(snapshot)


def snapshot_active(snapshot: AppSnapshot) -> bool:
    return snapshot.status is not None and AppStatus(snapshot.status) is AppStatus.ACTIVE


def ref_of(app: Application) -> str:
    """The invitation reference of the application's current stage."""
    return invitation_ref(app.id, app.stage_id or "")
