"""What a message read back from the mailbox is: bounce, reply, auto-reply, declined invite.

Pure: bytes in, a :class:`Classified` out; no I/O, no clock, no state. Nothing
here trusts the message. The sender's address is never an identity: a message
counts only through the Message-IDs it points at (In-Reply-To, References, or
the returned original inside a bounce), which the poll then looks up among
the Message-IDs we generated ourselves. HTML is never parsed or rendered, and
attachments are never opened; the one structured part read is an iTIP
``text/calendar`` body (a calendar answer), through icalendar. Excerpts are
plain text, sanitised and capped.
"""

from __future__ import annotations

import email
import email.policy
import hashlib
import re
from dataclasses import dataclass, field
from email.message import EmailMessage, Message
from email.parser import HeaderParser
from email.utils import parseaddr

from interview_sync.sanitize import cap, one_line

BOUNCE = "bounce"
REPLY = "reply"
AUTO_REPLY = "auto_reply"
DECLINED = "declined"  # an iTIP REPLY with PARTSTAT=DECLINED
OTHER = "other"  # nothing we act on (an acceptance, a newsletter, spam)

EXCERPT_LIMIT = 280
REASON_LIMIT = 200
_CALENDAR_LIMIT = 200_000  # characters of one text/calendar part we are willing to parse
_ID = re.compile(r"<[^<>\s]{1,250}>")
_REF = re.compile(r"^X-Interview-Sync-Ref:[ \t]*([A-Za-z0-9._-]{1,120})", re.IGNORECASE | re.MULTILINE)
_QUOTED_ID = re.compile(r"^Message-ID:[ \t]*(<[^<>\s]{1,250}>)", re.IGNORECASE | re.MULTILINE)
_STATUS = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")
_SMTP_CODE = re.compile(r"\b([45])\d\d\b")
_AUTO_SUBJECT = re.compile(
    r"^\s*(auto(matic)?[ -]?(reply|response|antwort)|autoreply|out of (the )?office|abwesenheit|"
    r"absence|r[ée]ponse automatique|respuesta autom[aá]tica|risposta automatica)", re.IGNORECASE)
_QUOTE_START = re.compile(r"^(on .{0,200} wrote:|-{2,}\s*original message\s*-{2,}|from:\s|sent from my )",
                          re.IGNORECASE)
_DAEMONS = ("mailer-daemon", "postmaster", "mail-daemon", "bounce")


@dataclass(frozen=True)
class Classified:
    """One message, reduced to what the workflow may use.

    ``points_at``: Message-IDs this message refers to, to be matched against
    ours. ``ref_hint``: an invitation reference the message carries back (the
    ``X-Interview-Sync-Ref`` header of a returned original, or the left part
    of an iTIP UID); it is only a hint until the poll finds that invitation.
    """

    kind: str
    message_id: str  # the incoming message's own id, or a digest of its bytes
    points_at: tuple[str, ...] = ()
    ref_hint: str | None = None
    hard: bool = True  # bounces: 5.x.x (permanent) vs 4.x.x (transient)
    address: str | None = None  # the bounced recipient, or the attendee who declined
    reason: str | None = None  # a bounce's status and diagnostic, one line
    excerpt: str | None = None  # a reply's first words, plain text
    subject: str = ""
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def digest(self) -> str:
        """A short, stable key for idempotency (the same message read twice, same key)."""
        return hashlib.sha256(self.message_id.encode("utf-8", "replace")).hexdigest()[:16]


def parse(raw: bytes) -> EmailMessage:
    return email.message_from_bytes(raw, policy=email.policy.default)  # type: ignore[return-value]


def classify(raw: bytes) -> Classified:
    """Decide what ``raw`` is. Order matters: a DSN often carries ``Auto-Submitted`` too,
    and a calendar answer is a reply, so bounces come first, then calendar answers,
    then auto-replies, then plain replies."""
    msg = parse(raw)
    own_id = _ids(_header(msg, "Message-ID"))
    message_id = own_id[0] if own_id else "sha256:" + hashlib.sha256(raw).hexdigest()
    subject = cap(one_line(_header(msg, "Subject")), 160)
    refs = tuple(dict.fromkeys(_ids(_header(msg, "In-Reply-To")) + _ids(_header(msg, "References"))))
    found = _dsn(msg) or _other_bounce(msg, raw, refs)
    if found is not None:
        return Classified(BOUNCE, message_id, subject=subject, **found)
    declined = _declined(msg)
    if declined is not None:
        return Classified(DECLINED, message_id, points_at=refs, subject=subject, **declined)
    if is_auto_reply(msg, subject):
        return Classified(AUTO_REPLY, message_id, points_at=refs, subject=subject)
    if refs:
        return Classified(REPLY, message_id, points_at=refs, subject=subject, excerpt=excerpt(msg))
    return Classified(OTHER, message_id, subject=subject)


# --- helpers -------------------------------------------------------------------------

def _header(msg: Message, name: str) -> str:
    try:
        value = msg.get(name)
    except Exception:  # noqa: BLE001 - a malformed header is as good as none
        return ""
    return str(value) if value is not None else ""


def _ids(value: str) -> list[str]:
    return _ID.findall(value or "")


def _text(part: Message) -> str:
    """A text part's content as str, whatever its declared charset (bad bytes replaced)."""
    try:
        content = part.get_content()  # type: ignore[attr-defined]
    except Exception:  # noqa: BLE001 - unknown charset or broken transfer encoding
        payload = part.get_payload(decode=True)
        content = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
    return content if isinstance(content, str) else content.decode("utf-8", "replace")


def _original_headers(report: Message) -> tuple[list[str], str | None]:
    """Message-IDs and our reference from the returned original (RFC 3464 third part)."""
    ids: list[str] = []
    ref: str | None = None
    for part in report.walk():
        ctype = part.get_content_type()
        headers: Message | None = None
        if ctype == "message/rfc822":
            payload = part.get_payload()
            headers = payload[0] if isinstance(payload, list) and payload else None
        elif ctype == "text/rfc822-headers":
            headers = HeaderParser().parsestr(_text(part))
        if headers is not None:
            ids += _ids(_header(headers, "Message-ID"))
            ref = ref or (one_line(_header(headers, "X-Interview-Sync-Ref")) or None)
    return ids, ref


def _dsn(msg: Message) -> dict[str, object] | None:
    """RFC 3464: multipart/report; report-type=delivery-status, a failed or delayed recipient."""
    if msg.get_content_type() != "multipart/report" or \
            str(msg.get_param("report-type", "")).casefold() != "delivery-status":
        return None
    for part in msg.walk():
        if part.get_content_type() != "message/delivery-status":
            continue
        blocks = part.get_payload()
        if not isinstance(blocks, list):
            continue
        for block in blocks[1:] or blocks:  # the first block is per-message
            action = _header(block, "Action").strip().casefold()
            if action not in ("failed", "delayed"):
                continue
            status = _STATUS.search(_header(block, "Status"))
            hard = action == "failed" and (status is None or status.group(1) == "5")
            address = _address(_header(block, "Final-Recipient") or _header(block, "Original-Recipient"))
            diagnostic = one_line(_header(block, "Diagnostic-Code")).partition(";")[2].strip()
            code = status.group(0) if status else ("5.0.0" if hard else "4.0.0")
            ids, ref = _original_headers(msg)
            return {"points_at": tuple(ids), "ref_hint": ref, "hard": hard, "address": address,
                    "reason": cap(f"{code} {diagnostic or action}", REASON_LIMIT)}
    return None


def _address(field_value: str) -> str | None:
    """``rfc822; user@example.org`` → ``user@example.org``."""
    value = one_line(field_value).partition(";")[2].strip() or one_line(field_value)
    _, addr = parseaddr(value)
    return cap(addr, 254) if "@" in addr else None


def _other_bounce(msg: Message, raw: bytes, refs: tuple[str, ...]) -> dict[str, object] | None:
    """A non-standard bounce (qmail, old Exim, Postfix variants, Exchange's NDR text ...)
    through flufl.bounce's detectors (the ``[bounces]`` extra); only for messages that look
    machine-sent, so a candidate's reply quoting an error never counts as a bounce."""
    sender = parseaddr(_header(msg, "From"))[1].casefold()
    looks_automatic = any(sender.startswith(d) for d in _DAEMONS) or not refs
    if not looks_automatic:
        return None
    try:
        from flufl.bounce import all_failures
    except ImportError:  # the [bounces] extra is not installed: RFC 3464 reports still count
        return None
    try:
        temporary, permanent = all_failures(email.message_from_bytes(raw))
    except Exception:  # noqa: BLE001 - a detector choking on hostile input is "not a bounce"
        return None
    if not temporary and not permanent:
        return None
    hard = bool(permanent)
    address = sorted(permanent or temporary)[0].decode("utf-8", "replace")
    body = "\n".join(_text(p) for p in msg.walk() if p.get_content_type() == "text/plain")
    ids = _QUOTED_ID.findall(body)
    ids_rfc, ref_rfc = _original_headers(msg)
    ref_match = _REF.search(body)
    return {"points_at": tuple(dict.fromkeys(ids_rfc + ids)), "hard": hard,
            "ref_hint": ref_rfc or (ref_match.group(1) if ref_match else None),
            "address": cap(one_line(address), 254), "reason": _reason_line(body, hard)}


def _reason_line(body: str, hard: bool) -> str:
    """The server's own words where a line carries a status or SMTP code, else a summary."""
    for line in body.splitlines():
        if _STATUS.search(line) or _SMTP_CODE.search(line):
            return cap(one_line(line), REASON_LIMIT)
    return "permanent delivery failure" if hard else "temporary delivery failure"


def _declined(msg: Message) -> dict[str, object] | None:
    """An iTIP REPLY (RFC 5546) in a ``text/calendar`` body part whose attendee declined."""
    for part in msg.walk():
        if part.get_content_type() != "text/calendar" or part.get_content_disposition() == "attachment":
            continue
        text = _text(part)
        if len(text) > _CALENDAR_LIMIT:
            continue
        from icalendar import Calendar

        try:
            calendar = Calendar.from_ical(text)
        except Exception:  # noqa: BLE001 - not a calendar after all
            continue
        if str(calendar.get("METHOD", "")).upper() != "REPLY":
            continue
        for event in calendar.walk("VEVENT"):
            attendees = event.get("ATTENDEE")
            attendees = attendees if isinstance(attendees, list) else [attendees] if attendees else []
            for attendee in attendees:
                if str(getattr(attendee, "params", {}).get("PARTSTAT", "")).upper() == "DECLINED":
                    uid = one_line(str(event.get("UID", "")))
                    address = one_line(str(attendee)).removeprefix("mailto:").removeprefix("MAILTO:")
                    return {"ref_hint": uid.partition("@")[0] or None, "address": cap(address, 254),
                            "extra": {"uid": cap(uid, 250)}}
    return None


def is_auto_reply(msg: Message, subject: str = "") -> bool:
    """RFC 3834 ``Auto-Submitted``, the common vendor headers, or an out-of-office subject."""
    auto = _header(msg, "Auto-Submitted").strip().casefold()
    if auto and auto != "no":
        return True
    if _header(msg, "X-Autoreply") or _header(msg, "X-Autorespond"):
        return True
    if _header(msg, "Precedence").strip().casefold() in ("auto_reply", "bulk", "junk"):
        return True
    return bool(_AUTO_SUBJECT.search(subject or _header(msg, "Subject")))


def excerpt(msg: EmailMessage, limit: int = EXCERPT_LIMIT) -> str | None:
    """The reply's own first words: the plain-text body without the quoted original,
    one line, capped. A message with no plain-text body has no excerpt (HTML is
    never parsed)."""
    try:
        body = msg.get_body(preferencelist=("plain",))
    except Exception:  # noqa: BLE001
        body = None
    if body is None:
        return None
    lines = []
    for line in _text(body).splitlines():
        if _QUOTE_START.match(line.strip()):
            break
        if not line.lstrip().startswith(">"):
            lines.append(line)
    text = one_line(" ".join(lines))
    return cap(text, limit) if text else None
