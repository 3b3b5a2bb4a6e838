"""The executor's handlers for mailbox actions: record, note, alert, or send once more.

Each handler gets the executor (its claim/send/audit machinery) and one
``mail_*`` action planned by :mod:`interview_sync.mailbox.plan`. The audit
event of a message is recorded under the message's own key, once; the ATS
note and the alert carry keys of their own, so a poll that stopped half way
finishes the rest next time without repeating what was done. The ATS note is
written before the invitation is parked: our own note bumps the application's
``updated_at``, and a note newer than the park would read as "the ATS changed,
try the invite again".
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from interview_sync import alerts
from interview_sync import workflow as wf
from interview_sync.errors import VendorError
from interview_sync.invitation import Invitation
from interview_sync.mailbox.plan import (MAIL_AUTO_REPLY, MAIL_BOUNCE, MAIL_DECLINED, MAIL_REPLY, MAIL_RETRY,
                                         MailEvent)
from interview_sync.zones import format_range

if TYPE_CHECKING:
    from interview_sync.executor import Executor

Handler = Callable[["Executor", Invitation, wf.Action], Invitation]


def _record(ex: Executor, inv: Invitation, event: MailEvent, name: str, detail: str,
            recipient: str | None = None) -> None:
    key = event.record_key(inv.ref)
    if ex._claim(inv, key, event.mail.kind, "mailbox", recipient):
        with ex.db.transaction():
            ex.db.mark_sent(key)
            ex._audit(inv, name, channel="mailbox", recipient=recipient, detail=detail)


def _note(ex: Executor, inv: Invitation, key: str, what: str, headline: str) -> None:
    """An ATS note that must not stop the alert: a refusal is reported and tried next poll."""
    try:
        ex._ats_write(inv, key, what, body=ex._note(inv, headline))
    except VendorError as exc:
        ex.report.errors.append(f"{inv.application_id}: {what} not written, retried next poll: {exc.message}")


def _alert(ex: Executor, inv: Invitation, action: wf.Action, text: alerts.AlertText) -> Invitation:
    event: MailEvent = action.mail
    return ex.do_alert(inv, wf.alert(inv, text.code, text.reason, text.fix, suffix=event.mail.digest,
                                     park=action.park, command=text.command))


def bounce(ex: Executor, inv: Invitation, action: wf.Action) -> Invitation:
    event: MailEvent = action.mail
    mail = event.mail
    address = mail.address or event.recipient
    severity = "hard" if mail.hard else "soft"
    _record(ex, inv, event, "mail_bounced", f"{severity} bounce of {event.original_kind or 'an email'}: "
            f"{mail.reason}", recipient=address)
    if event.reader == "recruiter":
        ex.report.errors.append(f"{inv.application_id}: a recruiter alert to {address} bounced ({mail.reason}); "
                                "check alerts.recruiter_email and the job's recruiter in the ATS")
        return inv
    _note(ex, inv, f"{inv.ref}:note:bounce:{mail.digest}", "bounce note",
          f"Email to {address} bounced ({mail.reason}); recruiter alerted")
    text = alerts.bounced(inv.application_id, inv.candidate_name, address, mail.reason, event.reader,
                          event.retried)
    return _alert(ex, inv, action, text)


def retry(ex: Executor, inv: Invitation, action: wf.Action) -> Invitation:
    """The first soft bounce of a message: send the same email once more."""
    event: MailEvent = action.mail
    _record(ex, inv, event, "mail_soft_bounce", f"soft bounce of {event.original_kind}: {event.mail.reason}; "
            "sent once more", recipient=event.recipient)
    reader = event.reader
    name = inv.candidate_name if reader == "candidate" else inv.hm_name
    ex._send(inv, action.key, event.original_kind or "invite", name, event.recipient or "",
             ex._base_context(inv, reader), template_set=ex._template_set(inv))
    return inv


def reply(ex: Executor, inv: Invitation, action: wf.Action) -> Invitation:
    event: MailEvent = action.mail
    mail = event.mail
    if event.reader == "hm":
        who = f"The hiring manager{' ' + inv.hm_name if inv.hm_name else ''} (interview with " \
              f"{inv.candidate_name or 'the candidate'})"
    else:
        who = inv.candidate_name or "The candidate"
    _record(ex, inv, event, "mail_reply", f"reply to {event.original_kind or 'our email'}: "
            f"{mail.excerpt or '(no plain-text part)'}")
    _note(ex, inv, f"{inv.ref}:note:reply:{mail.digest}", "reply note",
          f"{who} replied by email" + (f': "{mail.excerpt}"' if mail.excerpt else ""))
    return _alert(ex, inv, action, alerts.replied(inv.application_id, who, mail.excerpt, held=action.park))


def auto_reply(ex: Executor, inv: Invitation, action: wf.Action) -> Invitation:
    event: MailEvent = action.mail
    _record(ex, inv, event, "mail_auto_reply", f"auto-reply to {event.original_kind or 'our email'}: "
            f"{event.mail.subject}")
    return inv


def declined(ex: Executor, inv: Invitation, action: wf.Action) -> Invitation:
    event: MailEvent = action.mail
    _record(ex, inv, event, "mail_declined", "the calendar invitation was declined", recipient=event.mail.address)
    when = None
    if inv.interview_start and inv.interview_end:
        when = format_range(inv.interview_start, inv.interview_end, ex._zone(inv, "recruiter"))
    return _alert(ex, inv, action, alerts.invite_declined(inv.hm_name or event.mail.address, inv.candidate_name,
                                                          when, by_candidate=event.reader == "candidate"))


HANDLERS: dict[str, Handler] = {MAIL_BOUNCE: bounce, MAIL_RETRY: retry, MAIL_REPLY: reply,
                                MAIL_AUTO_REPLY: auto_reply, MAIL_DECLINED: declined}
