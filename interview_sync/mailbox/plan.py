"""What a message read back from the mailbox makes the tool do: pure, like the workflow.

Input: the invitation it was matched to (only through our own Message-IDs or
references) and the classified message. Output: workflow actions, each keyed
by the incoming message, so reading the same message on every poll of the
overlap window does it once.

- bounce, hard (5.x.x), or soft (4.x.x) for a message already retried once →
  ``mail_bounce``: ATS note, recruiter alert naming the address and reason,
  invitation parked in needs_attention, audit event.
- bounce, soft, the first time → ``mail_retry``: the same email sent once more
  (its own key ``<original key>:retry``, so a bounce of the retry is the
  second one).
- reply → ``mail_reply``: ATS note, recruiter alert with a short excerpt, audit
  event; an invitation still waiting for a booking is parked so the
  follow-up is held while a person looks.
- auto-reply → ``mail_auto_reply``: an audit event only.
- a declined calendar reply → ``mail_declined``: a recruiter alert.

Mail answering one of our recruiter alerts never alerts again (no mail loop).
"""

from __future__ import annotations

from dataclasses import dataclass

from interview_sync.alerts import EMAIL_KIND as ALERT_KIND
from interview_sync.invitation import Invitation, State
from interview_sync.mailbox.classify import AUTO_REPLY, BOUNCE, DECLINED, REPLY, Classified
from interview_sync.workflow import Action

MAIL_BOUNCE = "mail_bounce"
MAIL_RETRY = "mail_retry"
MAIL_REPLY = "mail_reply"
MAIL_AUTO_REPLY = "mail_auto_reply"
MAIL_DECLINED = "mail_declined"
KINDS = (MAIL_BOUNCE, MAIL_RETRY, MAIL_REPLY, MAIL_AUTO_REPLY, MAIL_DECLINED)

RETRY_SUFFIX = ":retry"
# Email kinds (outbox ``kind``) sent again once after a soft bounce: their content is rebuilt
# from the invitation and none carries an attachment. A kind not named here is not re-sent;
# its bounce goes straight to a recruiter, which is the safe default for a new kind.
RESENDABLE = frozenset({"invite", "relink", "followup", "confirmation", "reminder_candidate", "reminder_hm",
                        "feedback_request"})
WAITING = frozenset({State.PENDING, State.INVITED, State.FOLLOWED_UP})


@dataclass(frozen=True)
class MailEvent:
    """A classified message and the outbox row of ours it points at (None: matched by a
    reference the message carried back, e.g. a bounce's X-Interview-Sync-Ref)."""

    mail: Classified
    original_key: str | None = None
    original_kind: str | None = None
    recipient: str | None = None
    reader: str = "candidate"  # who that email was for: candidate | hm | recruiter | other (see reader_of)

    @property
    def retried(self) -> bool:
        return (self.original_key or "").endswith(RETRY_SUFFIX)

    def record_key(self, ref: str) -> str:
        """The key the message's audit event is recorded under: once per message."""
        return f"{ref}:mail:{self.mail.digest}"


def reader_of(inv: Invitation, kind: str | None, recipient: str | None) -> str:
    """Who one of our emails was written for, from the address it went to: the reader
    decides the alert's wording and whether a soft bounce is re-sent. Taken from the
    invitation rather than a table of kinds, so a new email kind needs no entry here. An
    address that is neither the candidate's nor the hiring manager's any more is ``other``:
    its bounce is reported, never re-sent to a stale address."""
    if kind == ALERT_KIND:
        return "recruiter"
    address = (recipient or "").casefold()
    if address and address == (inv.candidate_email or "").casefold():
        return "candidate"
    if address and address == (inv.hm_email or "").casefold():
        return "hm"
    return "other"


def on_mail(inv: Invitation, event: MailEvent) -> list[Action]:
    mail = event.mail
    if event.reader == "recruiter":
        # Our own alert came back. A recruiter's answer (or their out-of-office) is not the
        # candidate's, and alerting about it would answer mail with mail; a bounced alert is
        # recorded once and reported as work no person received (exit 1).
        if mail.kind != BOUNCE:
            return []
        return [Action(MAIL_BOUNCE, inv.ref, event.record_key(inv.ref), mail=event,
                       reason=f"a recruiter alert to {mail.address} bounced: {mail.reason}")]
    if mail.kind == BOUNCE:
        if (not mail.hard and not event.retried and event.original_kind in RESENDABLE
                and event.reader in ("candidate", "hm") and event.original_key):
            return [Action(MAIL_RETRY, inv.ref, event.original_key + RETRY_SUFFIX, mail=event,
                           reason=f"soft bounce ({mail.reason}); sending it once more")]
        return [Action(MAIL_BOUNCE, inv.ref, f"{inv.ref}:alert:bounce:{mail.digest}", mail=event,
                       reason=f"bounce from {mail.address}: {mail.reason}", park=inv.state is not State.CLOSED)]
    if mail.kind == REPLY:
        return [Action(MAIL_REPLY, inv.ref, f"{inv.ref}:alert:reply:{mail.digest}", mail=event,
                       reason="the candidate replied", park=inv.state in WAITING)]
    if mail.kind == AUTO_REPLY:
        return [Action(MAIL_AUTO_REPLY, inv.ref, event.record_key(inv.ref), mail=event, reason="auto-reply")]
    if mail.kind == DECLINED:
        return [Action(MAIL_DECLINED, inv.ref, f"{inv.ref}:alert:declined:{mail.digest}", mail=event,
                       reason=f"{mail.address} declined the calendar invitation")]
    return []
