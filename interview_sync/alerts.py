"""What each recruiter alert says: the problem and the fix in a recruiter's words.

One function per alert cause, so every alert's wording lives in one place and a
test can read them all. Each returns an :class:`AlertText`: ``reason`` (what
happened), ``fix`` (what a person does about it) and, where a command helps,
``command`` with the real application id and a ready-made ``--reason`` filled
in, so a recruiter can paste it as is. The texts name people and jobs but never
carry secrets or vendor payloads (an adapter's error message is one line the
adapter wrote, not the response body).
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

EMAIL_KIND = "recruiter_alert"  # the outbox kind of every alert email (the mailbox tells them apart by it)

# Vendor names as a recruiter knows them (adapters name themselves in lower case).
_PRODUCTS = {"calendly": "Calendly", "calcom": "Cal.com", "greenhouse": "Greenhouse", "lever": "Lever",
             "sandbox": "the sandbox scheduler"}


@dataclass(frozen=True)
class AlertText:
    code: str
    reason: str
    fix: str
    command: str | None = None


def product(name: str | None) -> str:
    """``calcom`` → ``Cal.com``; an unknown name is shown as given."""
    return _PRODUCTS.get((name or "").casefold(), name or "the scheduling tool")


def resend_command(application_id: str, why: str) -> str:
    """The exact `invite --resend` line for this application (quoted for a POSIX shell;
    ids come from the ATS, so they are quoted rather than trusted)."""
    return f"interview-sync invite {shlex.quote(application_id)} --resend --reason {shlex.quote(why)}"


# --- the invitation could not be sent ----------------------------------------------------

def no_email(application_id: str, candidate: str | None) -> AlertText:
    return AlertText("no-email", f"{candidate or 'The candidate'} has no email address we may use in the ATS, "
                     "so no invitation was sent",
                     "add an email address to the candidate in the ATS (or allow email contact); interview-sync "
                     "tries again by itself when the application changes, or send it now with the command below",
                     resend_command(application_id, "email address added"))


def bad_email(application_id: str, candidate: str | None, detail: str) -> AlertText:
    return AlertText("bad-email", f"the email address of {candidate or 'the candidate'} in the ATS is not a usable "
                     f"address ({detail}), so no invitation was sent",
                     "correct the address in the ATS, then send the invitation with the command below",
                     resend_command(application_id, "email address corrected"))


def address_refused(application_id: str, detail: str) -> AlertText:
    return AlertText("address-refused", f"the mail server refused the candidate's email address ({detail})",
                     "correct the candidate's email in the ATS, then send the invitation again with the "
                     "command below", resend_command(application_id, "email address corrected"))


def no_route(application_id: str, job: str | None, department: str | None, stage: str | None) -> AlertText:
    return AlertText("no-route", f"no interview type is set up for job {job or '(unnamed)'} (department "
                     f"{department or 'none'}, stage {stage or 'unknown'}): no [[routes]] entry in the settings "
                     "matches it, so interview-sync does not know which calendar or interview length to offer",
                     "ask whoever looks after interview-sync's settings to add a route that matches this job "
                     "(or a catch-all route with match = {}), then send the invitation with the command below",
                     resend_command(application_id, "route added"))


def no_hiring_manager(application_id: str, job: str | None) -> AlertText:
    return AlertText("no-hiring-manager", f"job {job or '(unnamed)'} has no hiring manager with an email "
                     "address in the ATS, so there is nobody to book the interview with",
                     "add the hiring manager to the job's hiring team in the ATS (or have the settings name a "
                     "host for this route, or map one under [hosts]), then send the invitation with the command "
                     "below", resend_command(application_id, "hiring manager added"))


def host_not_in_scheduler(application_id: str, manager: str | None, scheduler: str) -> AlertText:
    return AlertText("host-not-in-scheduler", f"hiring manager {manager or '(unnamed)'} has no {product(scheduler)} "
                     "account interview-sync can see, so no booking link could be made",
                     f"invite them to your {product(scheduler)} organization (or map them under [hosts] in the "
                     "settings), then send the invitation with the command below",
                     resend_command(application_id, "hiring manager added to the scheduler"))


def event_type_missing(application_id: str, manager: str | None, event_type: str | None,
                       scheduler: str) -> AlertText:
    return AlertText("event-type-missing", f"{manager or 'The hiring manager'} has no {product(scheduler)} event "
                     f"type {event_type!r}, so no booking link could be made",
                     f"create that event type in their {product(scheduler)} account (or correct the route's "
                     "event_type in the settings), then send the invitation with the command below",
                     resend_command(application_id, "event type created"))


def no_availability(application_id: str, manager: str | None, event_type: str | None, days: int,
                    scheduler: str) -> AlertText:
    return AlertText("no-availability", f"{manager or 'The hiring manager'} has no free time for a {event_type} "
                     f"interview in the next {days} days, so nothing was sent to the candidate",
                     f"ask them to open up time in their calendar or their {product(scheduler)} availability, "
                     "then send the invitation with the command below",
                     resend_command(application_id, "calendar time opened"))


# What each planned step does, in a recruiter's words (workflow action kinds).
_STEPS = {"invite": "Sending the interview invitation", "retry": "Sending the interview invitation",
          "followup": "Sending the follow-up", "flag": "Flagging the application in the ATS",
          "confirm": "Confirming the booking", "reschedule": "Confirming the moved booking",
          "cancel": "Handling the cancellation", "reminder": "Sending the reminders",
          "feedback": "Asking for feedback", "close": "Closing the invitation"}


def vendor_error(application_id: str, step: str, failures: int, detail: str, admin_fix: str | None,
                 can_resend: bool) -> AlertText:
    label = _STEPS.get(step, step.replace("_", " ").capitalize())
    return AlertText("vendor-error", f"{label} failed {failures} times in a row because a connected system kept "
                     f"refusing (technical detail: {detail})",
                     "this is usually temporary or a setting: forward this email to whoever looks after "
                     f"interview-sync ({admin_fix or 'check the vendor connection'})"
                     + (", then send the invitation with the command below" if can_resend else ""),
                     resend_command(application_id, "connection fixed") if can_resend else None)


def interrupted(what: str, recipient: str | None) -> AlertText:
    return AlertText("unknown", f"a run stopped while sending {what}; it may or may not have reached "
                     f"{recipient or 'the recipient'}",
                     "check with the recipient or in the outbox, and send it by hand only if it is missing "
                     "(interview-sync will not send it again on its own)")


def flagged(application_id: str, candidate: str | None) -> AlertText:
    return AlertText("flag", f"no booking from {candidate or 'the candidate'}: the invitation and one follow-up "
                     "went out and the deadline has passed; the application is tagged in the ATS",
                     "call or text the candidate; no further automatic email will be sent. If they want a new "
                     "link, use the command below",
                     resend_command(application_id, "candidate asked for a new link"))


# --- the ATS or the scheduler changed in a way a person must judge ---------------------

def re_entered(application_id: str, stage: str) -> AlertText:
    return AlertText("re-entered", f"the application came back to {stage!r} after leaving it; the earlier "
                     "invitation was closed and nothing was sent again",
                     "if the candidate should get a fresh booking link, use the command below",
                     resend_command(application_id, f"moved back to {stage}"))


def stage_left_booked(stage: str, where: str | None, scheduler: str | None = None) -> AlertText:
    return AlertText("stage-left-booked", f"the application left {stage!r} (now {where}) but an interview is "
                     "still booked",
                     f"decide whether to keep or cancel the interview; to cancel it, cancel the event in "
                     f"{product(scheduler)} and let the candidate know (interview-sync will not email them)")


def booked_after_close(scheduler: str | None = None) -> AlertText:
    return AlertText("booked-after-close", "the candidate booked after the application left the stage "
                     "(a new or moved booking)",
                     f"decide whether to keep the interview; if not, cancel the event in {product(scheduler)} "
                     "and let the candidate know")


def double_booking(scheduler: str | None = None) -> AlertText:
    return AlertText("double-booking", "a second booking arrived while the candidate already has an interview "
                     "booked; the first booking stands",
                     f"cancel the extra event in {product(scheduler)}")


def text_reply(body: str) -> AlertText:
    """A candidate answered a text with words, not a keyword: a person replies. The
    text is quoted as plain text (one line, capped), never rendered as markup."""
    from . import sanitize

    quoted = sanitize.cap(sanitize.one_line(body), 300)
    return AlertText("sms_reply", f"The candidate replied by text: \"{quoted}\"",
                     "Answer them yourself (call, or text from your own phone); the tool does not reply to texts")


# --- what came back to the mailbox (bounces, replies, calendar answers) ------------------

_READERS = {"hm": "the hiring manager", "recruiter": "the recruiting team", "candidate": "the candidate"}


def bounced(application_id: str, candidate: str | None, address: str | None, reason: str | None,
            reader: str, retried: bool) -> AlertText:
    """A delivery failure came back for one of our emails (a hard bounce, or a soft one twice)."""
    who = (candidate or "the candidate") if reader == "candidate" else _READERS.get(reader, "the recipient")
    again = " after one retry" if retried else ""
    command = resend_command(application_id, "email address corrected") if reader == "candidate" else None
    return AlertText("bounce", f"the email to {who} at {address or 'their address'} bounced{again} "
                     f"({reason or 'no reason given'}); nothing more is sent to that address",
                     "check the address in the ATS (or call them), correct it, then send the invitation again "
                     "with the command below" if command else
                     "check the address in the ATS or the settings and let them know by another route", command)


def replied(application_id: str, who: str, excerpt: str | None, held: bool) -> AlertText:
    """Someone answered one of our emails (``who``: the candidate's name, or "the hiring
    manager ..."): a person reads it; the tool never answers by itself."""
    quoted = f': "{excerpt}"' if excerpt else " (no plain-text part; read it in the mailbox)"
    hold = "; the follow-up is held until you act" if held else ""
    return AlertText("reply", f"{who} replied to our email{quoted}{hold}",
                     "read the whole reply in the recruiting mailbox and answer by hand"
                     + ("; if a new booking link is needed, use the command below" if held else ""),
                     resend_command(application_id, "candidate replied") if held else None)


def invite_declined(manager: str | None, candidate: str | None, when: str | None,
                    by_candidate: bool = False) -> AlertText:
    """The hiring manager (or the candidate, who may get an invite too) declined the calendar
    invitation for a booked interview."""
    at = f" ({when})" if when else ""
    if by_candidate:
        return AlertText("declined", f"{candidate or 'The candidate'} declined the calendar invitation for their "
                         f"interview{at}",
                         "ask the candidate whether the time still works; to move it, reschedule or cancel the event "
                         "in the scheduler (interview-sync then sends a new link)")
    return AlertText("declined", f"{manager or 'The hiring manager'} declined the calendar invitation for the "
                     f"interview with {candidate or 'the candidate'}{at}",
                     "ask the hiring manager whether the time still works; to move it, reschedule or cancel the "
                     "event in the scheduler (interview-sync then sends the candidate a new link)")
