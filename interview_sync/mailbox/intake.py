"""Tie a message read back from the mailbox to one invitation, or to nothing.

Only our own identifiers count. First the Message-IDs the message points at
(In-Reply-To, References, the returned original of a bounce) are looked up
among the Message-IDs our outbox recorded. Failing that, a bounce may carry
our ``X-Interview-Sync-Ref`` header back and a calendar answer our event UID;
those references are accepted only when the address in the message is one we
actually wrote to for that invitation, so a forged "bounce" naming a guessed
reference changes nothing. Everything else is ignored (never alerted on).
"""

from __future__ import annotations

from interview_sync.invitation import Invitation
from interview_sync.mailbox.classify import BOUNCE, DECLINED, OTHER, Classified, classify
from interview_sync.mailbox.plan import MailEvent, reader_of
from interview_sync.state import StateDB


def match(db: StateDB, raw: bytes) -> tuple[Invitation, MailEvent] | None:
    mail = classify(raw)
    if mail.kind == OTHER:
        return None
    row = db.sent_with_message_id(list(mail.points_at))
    if row is not None:
        inv = db.get_invitation(row["ref"])
        if inv is not None:
            return inv, _event(mail, inv, row["kind"], row["recipient"], row["key"])
    if mail.kind not in (BOUNCE, DECLINED) or not mail.ref_hint or not mail.address:
        return None
    inv = db.get_invitation(mail.ref_hint)
    if inv is None:
        return None
    address = mail.address.casefold()
    if mail.kind == DECLINED:  # the hiring manager's invite, or the candidate's where one is sent
        for kind, invited in (("hm_booking", inv.hm_email), ("confirmation", inv.candidate_email)):
            if (invited or "").casefold() == address:
                return inv, _event(mail, inv, kind, invited)
        return None
    sent = [r for r in db.outbox_rows(inv.ref) if r.get("channel") == "email"
            and (r.get("recipient") or "").casefold() == address]
    if not sent:
        return None
    return inv, _event(mail, inv, sent[-1]["kind"], sent[-1]["recipient"])


def _event(mail: Classified, inv: Invitation, kind: str | None, recipient: str | None,
           key: str | None = None) -> MailEvent:
    """The message, the email of ours it answers, and who that email was for."""
    return MailEvent(mail, key, kind, recipient, reader_of(inv, kind, recipient))
