"""The planner's flows for what came back to the mailbox: record, note, alert, or send once more.

Each flow turns one ``mail_*`` action planned by :mod:`interview_sync.mailbox.plan`
into steps for the executor. The message's audit event is a :class:`Record`
claimed under the message's own key, so it is written once; the ATS note and the
alert carry keys of their own, so a poll that stopped half way finishes the
rest next time without repeating what was done. The ATS note comes before the
invitation is parked: our own note bumps the application's ``updated_at``, and a
note newer than the park would read as "the ATS changed, try the invite again".
A note the ATS refuses does not hold back the alert (it is reported and tried
again when the message is read next).
"""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING

from interview_sync import alerts
from interview_sync import workflow as wf
from interview_sync.invitation import Invitation
from interview_sync.mailbox.plan import (MAIL_AUTO_REPLY, MAIL_BOUNCE, MAIL_DECLINED, MAIL_REPLY, MAIL_RETRY,
                                         MailEvent)
from interview_sync.steps import AtsWrite, Record, Report, Result, Step
from interview_sync.zones import format_range

if TYPE_CHECKING:
    from interview_sync.planner import Planner

MAIL_KINDS = frozenset({MAIL_BOUNCE, MAIL_RETRY, MAIL_REPLY, MAIL_AUTO_REPLY, MAIL_DECLINED})
Flow = Generator[Step, Result, Invitation]


def mail_flow(planner: Planner, inv: Invitation, action: wf.Action) -> Flow:
    flows = {MAIL_BOUNCE: _bounce, MAIL_RETRY: _retry, MAIL_REPLY: _reply, MAIL_AUTO_REPLY: _auto_reply,
             MAIL_DECLINED: _declined}
    return (yield from flows[action.kind](planner, inv, action, action.mail))


def _record(planner: Planner, inv: Invitation, event: MailEvent, name: str, detail: str,
            recipient: str | None = None) -> Generator[Step, Result, Invitation]:
    step = Step(inv, event.record_key(inv.ref), Record(name, detail, event.mail.kind, recipient))
    _, inv = yield from planner._effect(step, inv)
    return inv


def _note(planner: Planner, inv: Invitation, key: str, what: str, headline: str) -> Generator[Step, Result, Invitation]:
    write = AtsWrite(what, body=planner.compose._note(inv, headline))
    result, inv = yield from planner._effect(Step(inv, key, write), inv, tolerate=True)
    if result.failed:
        yield Step(inv, "", Report(f"{what} not written, retried when the message is read again: {result.detail}"))
    return inv


def _alert(planner: Planner, inv: Invitation, action: wf.Action, event: MailEvent,
           text: alerts.AlertText) -> Flow:
    return (yield from planner.alert(inv, wf.alert(inv, text.code, text.reason, text.fix, suffix=event.mail.digest,
                                                   park=action.park, command=text.command)))


def _bounce(planner: Planner, inv: Invitation, action: wf.Action, event: MailEvent) -> Flow:
    mail = event.mail
    address = mail.address or event.recipient
    severity = "hard" if mail.hard else "soft"
    inv = yield from _record(planner, inv, event, "mail_bounced", f"{severity} bounce of "
                             f"{event.original_kind or 'an email'}: {mail.reason}", recipient=address)
    if event.reader == "recruiter":
        yield Step(inv, "", Report(f"a recruiter alert to {address} bounced ({mail.reason}); check "
                                   "alerts.recruiter_email and the job's recruiter in the ATS"))
        return inv
    inv = yield from _note(planner, inv, f"{inv.ref}:note:bounce:{mail.digest}", "bounce note",
                           f"Email to {address} bounced ({mail.reason}); recruiter alerted")
    text = alerts.bounced(inv.application_id, inv.candidate_name, address, mail.reason, event.reader,
                          event.retried)
    return (yield from _alert(planner, inv, action, event, text))


def _retry(planner: Planner, inv: Invitation, action: wf.Action, event: MailEvent) -> Flow:
    """The first soft bounce of a message: send the same email once more."""
    inv = yield from _record(planner, inv, event, "mail_soft_bounce", f"soft bounce of {event.original_kind}: "
                             f"{event.mail.reason}; sent once more", recipient=event.recipient)
    reader = event.reader
    name = inv.candidate_name if reader == "candidate" else inv.hm_name
    _, inv = yield from planner._email(inv, action.key, event.original_kind or "invite", inv, name, event.recipient,
                                       reader=reader)
    return inv


def _reply(planner: Planner, inv: Invitation, action: wf.Action, event: MailEvent) -> Flow:
    mail = event.mail
    if event.reader == "hm":
        who = f"The hiring manager{' ' + inv.hm_name if inv.hm_name else ''} (interview with " \
              f"{inv.candidate_name or 'the candidate'})"
    elif event.reader == "candidate":
        who = inv.candidate_name or "The candidate"
    else:  # an address that is no longer the candidate's or the manager's on this invitation
        who = f"The recipient at {event.recipient or 'an earlier address'}"
    inv = yield from _record(planner, inv, event, "mail_reply", f"reply to {event.original_kind or 'our email'}: "
                             f"{mail.excerpt or '(no plain-text part)'}")
    inv = yield from _note(planner, inv, f"{inv.ref}:note:reply:{mail.digest}", "reply note",
                           f"{who} replied by email" + (f': "{mail.excerpt}"' if mail.excerpt else ""))
    text = alerts.replied(inv.application_id, who, mail.excerpt, held=action.park)
    return (yield from _alert(planner, inv, action, event, text))


def _auto_reply(planner: Planner, inv: Invitation, action: wf.Action, event: MailEvent) -> Flow:
    return (yield from _record(planner, inv, event, "mail_auto_reply", f"auto-reply to "
                               f"{event.original_kind or 'our email'}: {event.mail.subject}"))


def _declined(planner: Planner, inv: Invitation, action: wf.Action, event: MailEvent) -> Flow:
    inv = yield from _record(planner, inv, event, "mail_declined", "the calendar invitation was declined",
                             recipient=event.mail.address)
    when = None
    if inv.interview_start and inv.interview_end:
        when = format_range(inv.interview_start, inv.interview_end, planner.compose._zone(inv, "recruiter"))
    text = alerts.invite_declined(inv.hm_name or event.mail.address, inv.candidate_name, when,
                                  by_candidate=event.reader == "candidate")
    return (yield from _alert(planner, inv, action, event, text))
