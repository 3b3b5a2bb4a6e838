"""Build one MIME email from a rendered template, safely.

Only the stdlib ``email`` package with ``policy.SMTP`` and ``Address`` objects
is used, so quoting and RFC 2047 encoding of names like ``Zoë O'Brien-Nguyễn``
is the library's job, never string concatenation. Anything that came from a
vendor (names, subjects, extra header values) is flattened to one line first:
a CR/LF can never start a new header.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email import policy
from email.policy import Policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr

from email_validator import EmailNotValidError, validate_email

from interview_sync.errors import ConfigError, DeliveryError
from interview_sync.mail.render import SUBJECT_LIMIT, Rendered, one_line
from interview_sync.sanitize import cap

KIND_HEADER = "X-Interview-Sync-Kind"
_HEADER_NAME = re.compile(r"[!-9;-~]+")  # RFC 5322 field name: printable ASCII except ':'
NAME_LIMIT = 78  # characters of a display name (a long name still identifies the person)
_CALENDAR_METHODS = ("REQUEST", "CANCEL")


@dataclass(frozen=True)
class Attachment:
    """A file to attach. ``calendar_method`` marks an .ics invite (see ``ics``)."""

    filename: str
    content: bytes
    content_type: str = "application/octet-stream"
    calendar_method: str | None = None
    params: dict[str, str] = field(default_factory=dict)

    @classmethod
    def ics(cls, content: bytes, method: str, filename: str = "invite.ics") -> "Attachment":
        if method not in _CALENDAR_METHODS:
            raise ValueError(f"calendar method {method!r}: use REQUEST or CANCEL")
        return cls(filename=filename, content=content, content_type="application/ics",
                   calendar_method=method)


def clean_display_name(name: str | None) -> str:
    """One printable line of at most ``NAME_LIMIT`` characters: controls, line breaks and
    bidi overrides removed. The cap also keeps the stdlib folder away from display names
    with very long words, which it folds into a whitespace-only line: the end of the
    headers, so Subject, Date and the MIME headers would land in the body."""
    if not name:
        return ""
    return cap(one_line(str(name)), NAME_LIMIT)


def validate_address(email: str) -> str:
    """The normalised address, or ``DeliveryError(permanent=True)`` saying why not.

    No DNS lookups (``check_deliverability=False``): polls must not depend on
    a resolver, and the SMTP server is the judge of deliverability anyway.
    SMTPUTF8 (non-ASCII local parts) is refused because not every relay has it.
    """
    shown = one_line(repr(email))[:120]
    if not isinstance(email, str) or not email.strip():
        raise DeliveryError("email address is empty",
                            "add the candidate's email in the ATS, then resend the invite",
                            permanent=True)
    try:
        result = validate_email(email.strip(), check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError as err:
        raise DeliveryError(f"invalid email address {shown}: {one_line(str(err))}",
                            "correct the address in the ATS, then resend the invite",
                            permanent=True) from None
    return result.ascii_email or result.normalized


def make_message_id(ref: str, key: str, domain: str) -> str:
    """``<ref.hash@domain>``, the same for the same idempotency key.

    A retried send of the same outbox row carries the same Message-ID, so a
    receiving server or the recipient's client can spot the duplicate.
    """
    safe_ref = re.sub(r"[^A-Za-z0-9._-]+", "-", ref).strip("-.")[:64] or "msg"
    safe_domain = domain.strip().lower()
    if not re.fullmatch(r"[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?", safe_domain):
        raise ConfigError(f"Message-ID domain {domain!r} is not a plain host name",
                          "use the domain of email.from, e.g. example.org")
    digest = hashlib.sha256(f"{ref}\x1f{key}".encode()).hexdigest()[:20]
    return f"<{safe_ref}.{digest}@{safe_domain}>"


def parse_mailbox(value: str, what: str) -> Address:
    """``"Name <addr>"`` or ``addr`` from config → Address; a bad one is a config error."""
    name, addr = parseaddr(one_line(value))
    try:
        if not addr or "@" not in addr:
            raise ValueError("no address")
        return Address(display_name=clean_display_name(name), addr_spec=addr)
    except (ValueError, IndexError):
        raise ConfigError(f"{what} {one_line(value)!r} is not a valid mailbox",
                          'write it as "Name <user@example.org>" or user@example.org') from None


class _EncodedSubject(str):
    """A non-ASCII Subject written as whole RFC 2047 encoded-words.

    The stdlib folder writes ``Nurse \\r\\n =?utf-8?...?=`` when a long subject
    breaks before an encoded word, which unfolds to two spaces in every
    client. Whitespace between two encoded-words is ignored on decoding, so
    encoding the whole subject (in words of <= 39 bytes, lines <= 76 chars)
    reads back exactly as it was written.
    """

    name = "Subject"

    def fold(self, *, policy: Policy) -> str:
        words: list[bytes] = []
        chunk = b""
        for char in str(self):
            encoded = char.encode("utf-8")
            if len(chunk) + len(encoded) > 39:
                words.append(chunk)
                chunk = b""
            chunk += encoded
        words.append(chunk)
        parts = [f"=?utf-8?b?{base64.b64encode(word).decode('ascii')}?=" for word in words]
        return f"{self.name}: " + (policy.linesep + " ").join(parts) + policy.linesep


def _subject(value: str) -> str:
    text = cap(one_line(value), SUBJECT_LIMIT)
    return text if text.isascii() else _EncodedSubject(text)


def _cte(text: str) -> str:
    """7bit when it is plain short ASCII, else quoted-printable: survives any relay."""
    plain = text.isascii() and all(len(line) <= 900 for line in text.splitlines())
    return "7bit" if plain else "quoted-printable"


def build_message(*, sender: str, to_name: str | None, to_email: str, rendered: Rendered,
                  message_id: str, reply_to: str | None = None,
                  headers: dict[str, str] | None = None,
                  attachments: Sequence[Attachment] = (),
                  date: datetime | None = None) -> EmailMessage:
    """A ready-to-send message: text + HTML alternative, plus any attachments.

    A calendar attachment is carried twice, the way Google Calendar sends
    invites: as a ``text/calendar; method=...`` part inside the alternative
    (what Outlook and Gmail read to show Accept/Decline and to apply a
    CANCEL) and as a downloadable ``invite.ics`` for every other client.
    """
    address = validate_address(to_email)
    msg = EmailMessage(policy=policy.SMTP)
    msg["From"] = parse_mailbox(sender, "email.from")
    try:
        msg["To"] = Address(display_name=clean_display_name(to_name), addr_spec=address)
    except (ValueError, IndexError):
        raise DeliveryError(f"email address {address!r} cannot be written in a header",
                            "correct the address in the ATS, then resend the invite",
                            permanent=True) from None
    if reply_to:
        msg["Reply-To"] = parse_mailbox(reply_to, "email.reply_to")
    msg["Subject"] = _subject(rendered.subject)
    msg["Date"] = format_datetime((date or datetime.now(timezone.utc)).astimezone(timezone.utc))
    msg["Message-ID"] = one_line(message_id)
    # RFC 3834: tells out-of-office responders not to answer an automated message.
    msg["Auto-Submitted"] = "auto-generated"
    if rendered.kind:
        msg[KIND_HEADER] = rendered.kind
    for name, value in (headers or {}).items():
        if not _HEADER_NAME.fullmatch(name):
            raise ValueError(f"header name {name!r} is not a valid field name")
        del msg[name]
        msg[name] = one_line(str(value))

    msg.set_content(rendered.text, subtype="plain", cte=_cte(rendered.text))
    msg.add_alternative(rendered.html, subtype="html", cte=_cte(rendered.html))
    for item in attachments:  # alternatives first: after an attachment the root is "mixed"
        if item.calendar_method:
            body = item.content.decode("utf-8")
            msg.add_alternative(body, subtype="calendar", cte=_cte(body),
                                params={"method": item.calendar_method})
    for item in attachments:
        params = dict(item.params)
        if item.calendar_method:
            params.setdefault("name", item.filename)
        maintype, _, subtype = item.content_type.partition("/")
        msg.add_attachment(item.content, maintype=maintype, subtype=subtype or "octet-stream",
                           filename=item.filename, params=params)
    return msg
