"""What comes back to a recruiting mailbox, for the sandbox, `demo`, `selftest` and the tests.

Each builder returns the RFC 5322 bytes a mail server would store, shaped like
the real thing and pointing at one of our Message-IDs: an RFC 3464 delivery
status notification (as Postfix writes it), a qmail-style failure notice (no
report structure at all), a candidate's reply (quoted original, HTML
alternative, an attachment), an out-of-office auto-reply and a hiring
manager's iTIP REPLY declining the calendar invitation (as Exchange sends it).
"""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path
from typing import Any

SERVER = "mx.hospital.example"


def _base(subject: str, sender: str, to: str, message_id: str) -> EmailMessage:
    msg = EmailMessage(policy=SMTP)
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = "Mon, 30 Nov 2026 18:00:00 +0000"
    msg["Message-ID"] = message_id
    return msg


def dsn(original_id: str, ref: str, recipient: str, *, status: str = "5.1.1",
        diagnostic: str = "550 5.1.1 <{rcpt}>: Recipient address rejected: User unknown",
        message_id: str = "<dsn-1@mx.hospital.example>") -> bytes:
    """A multipart/report; report-type=delivery-status, as Postfix writes one."""
    action = "failed" if status.startswith("5") else "delayed"
    status_fields = (
        f"Reporting-MTA: dns; {SERVER}\nArrival-Date: Mon, 30 Nov 2026 17:59:00 +0000\n\n"
        f"Final-Recipient: rfc822; {recipient}\nOriginal-Recipient: rfc822;{recipient}\nAction: {action}\n"
        f"Status: {status}\nRemote-MTA: dns; mail.candidate.example\n"
        f"Diagnostic-Code: smtp; {diagnostic.format(rcpt=recipient)}\n")
    headers = (f"From: Talent Acquisition <talent@example.org>\nTo: {recipient}\n"
               f"Subject: Schedule your interview\nMessage-ID: {original_id}\nX-Interview-Sync-Ref: {ref}\n")
    # Build the report by hand: the stdlib has no DSN writer, and the part order is the standard.
    boundary = "dsn-boundary-0001"
    return (
        f"From: MAILER-DAEMON@{SERVER} (Mail Delivery System)\r\nTo: talent@example.org\r\n"
        f"Subject: Undelivered Mail Returned to Sender\r\nDate: Mon, 30 Nov 2026 18:00:00 +0000\r\n"
        f"Message-ID: {message_id}\r\nAuto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n"
        f"Content-Type: multipart/report; report-type=delivery-status; boundary=\"{boundary}\"\r\n\r\n"
        f"--{boundary}\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n"
        f"Your message could not be delivered to {recipient}.\r\n\r\n"
        f"--{boundary}\r\nContent-Type: message/delivery-status\r\n\r\n"
        + status_fields.replace("\n", "\r\n") +
        f"\r\n--{boundary}\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        + headers.replace("\n", "\r\n") +
        f"\r\n--{boundary}--\r\n"
    ).encode()


def qmail_bounce(original_id: str, ref: str, recipient: str,
                 message_id: str = "<qmail-1@mail.oldhost.example>") -> bytes:
    """qmail-send's plain-text failure notice: no report structure, the original quoted."""
    msg = _base("failure notice", "MAILER-DAEMON@mail.oldhost.example", "talent@example.org", message_id)
    msg.set_content(
        "Hi. This is the qmail-send program at mail.oldhost.example.\n"
        "I'm afraid I wasn't able to deliver your message to the following addresses.\n"
        "This is a permanent error; I've given up. Sorry it didn't work out.\n\n"
        f"<{recipient}>:\nSorry, no mailbox here by that name. (#5.1.1)\n\n"
        "--- Below this line is a copy of the message.\n\n"
        "Return-Path: <talent@example.org>\n"
        f"Message-ID: {original_id}\nX-Interview-Sync-Ref: {ref}\nSubject: Schedule your interview\n\n"
        "Hello, please book a time for your interview.\n")
    return msg.as_bytes()


def reply(original_id: str, sender: str, text: str = "None of these times work for me, I am on night "
          "shifts until Friday. Could we do next week?",
          message_id: str = "<reply-1@mail.candidate.example>", html_only: bool = False) -> bytes:
    msg = _base("Re: Schedule your interview", sender, "talent@example.org", message_id)
    msg["In-Reply-To"] = original_id
    msg["References"] = original_id
    body = f"{text}\n\nOn Mon, Nov 30, 2026 at 8:00 AM Talent Acquisition <talent@example.org> wrote:\n" \
           "> Hello, please book a time for your interview.\n"
    if html_only:
        msg.set_content(f"<p>{text}</p><script>alert(1)</script>", subtype="html")
    else:
        msg.set_content(body)
        msg.add_alternative(f"<p>{text}</p><img src='https://tracker.example/x.gif'>", subtype="html")
    msg.add_attachment(b"%PDF-1.4 resume", maintype="application", subtype="pdf", filename="resume.pdf")
    return msg.as_bytes()


def auto_reply(original_id: str, sender: str, message_id: str = "<oof-1@mail.candidate.example>") -> bytes:
    msg = _base("Automatic reply: Schedule your interview", sender, "talent@example.org", message_id)
    msg["In-Reply-To"] = original_id
    msg["Auto-Submitted"] = "auto-replied"
    msg["X-Auto-Response-Suppress"] = "All"
    msg.set_content("I am out of the office until December 7 with limited access to email.\n")
    return msg.as_bytes()


def declined(original_id: str, uid: str, attendee: str,
             message_id: str = "<decline-1@mail.hospital.example>") -> bytes:
    """Outlook's answer when the hiring manager presses Decline on our REQUEST."""
    msg = _base("Declined: Interview: Zoë O'Brien – Registered Nurse", attendee, "talent@example.org",
                message_id)
    msg["In-Reply-To"] = original_id
    msg.set_content("I'm in theatre all afternoon.\n")
    ics = ("BEGIN:VCALENDAR\r\nMETHOD:REPLY\r\nPRODID:Microsoft Exchange Server 2010\r\nVERSION:2.0\r\n"
           "BEGIN:VEVENT\r\n"
           f"ATTENDEE;PARTSTAT=DECLINED;CN=Hiring Manager:mailto:{attendee}\r\n"
           f"UID:{uid}\r\nSEQUENCE:0\r\nDTSTAMP:20261130T180000Z\r\n"
           "DTSTART:20261202T170000Z\r\nDTEND:20261202T173000Z\r\n"
           "SUMMARY:Declined: Interview\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
    msg.add_alternative(ics, subtype="calendar", params={"method": "REPLY"})
    return msg.as_bytes()


def newsletter(message_id: str = "<news-1@vendor.example>") -> bytes:
    msg = _base("Our spring webinar series", "news@vendor.example", "talent@example.org", message_id)
    msg.set_content("Register now.\n")
    return msg.as_bytes()


def mailbox_settings(sandbox_url: str) -> dict[str, str]:
    """``[mailbox]`` for reading the sandbox's Microsoft 365 flavour through Graph (demo, selftest)."""
    from . import graph

    return {"provider": "graph", "graph_url": f"{sandbox_url}/v1.0", "authority_url": sandbox_url,
            "tenant_id": graph.TENANT, "client_id": graph.CLIENT_ID, "client_secret": graph.CLIENT_SECRET}


def answer(world: Any, outbox: Path, mailbox: str, to: str, kind: str, what: str) -> str:
    """Drop into ``mailbox``'s sandbox inbox what comes back for the last ``kind`` email
    (``X-Interview-Sync-Kind``) sent to the address ``to``, read from the file ``outbox``:
    ``bounce`` (a 5.1.1 DSN), ``soft_bounce`` (4.2.2), ``reply`` (the person writes back) or
    ``auto_reply``. Returns one line saying what was delivered."""
    from . import graph

    sent = [m for m in _outbox(outbox) if m.get("X-Interview-Sync-Kind") == kind
            and any(a.addr_spec.casefold() == to.casefold() for a in getattr(m["To"], "addresses", ()))]
    if not sent:
        raise ValueError(f"no {kind} email to {to} in {outbox} to answer")
    original = sent[-1]
    message_id, ref = str(original["Message-ID"]), str(original["X-Interview-Sync-Ref"])
    address = original["To"].addresses[0].addr_spec
    if what == "bounce":
        raw = dsn(message_id, ref, address, message_id=f"<dsn-{ref}-{kind}@{SERVER}>")
    elif what == "soft_bounce":
        raw = dsn(message_id, ref, address, status="4.2.2", diagnostic="452 4.2.2 Mailbox full",
                  message_id=f"<delay-{ref}-{kind}@{SERVER}>")
    elif what == "reply":
        raw = reply(message_id, str(original["To"]), message_id=f"<reply-{ref}-{kind}@mail.candidate.example>")
    elif what == "auto_reply":
        raw = auto_reply(message_id, address, message_id=f"<oof-{ref}-{kind}@mail.candidate.example>")
    else:
        raise ValueError(f"unknown answer {what!r}: use bounce, soft_bounce, reply or auto_reply")
    graph.deliver(world, mailbox, raw)
    return f"{what} to the {kind} email to {address} delivered to {mailbox}"


def _outbox(outbox: Path) -> list[EmailMessage]:
    return [email.message_from_bytes(p.read_bytes(), policy=email.policy.default)  # type: ignore[misc]
            for p in sorted(outbox.glob("*.eml"))]
