"""Twilio Programmable Messaging (REST API 2010-04-01), spoken over :class:`VendorSession`.

- send: ``POST /2010-04-01/Accounts/{sid}/Messages.json``, form-encoded ``To``,
  ``From`` or ``MessagingServiceSid``, ``Body``; Basic auth ``account_sid:auth_token``;
  201 with the Message resource, or 400 with ``{"code": ..., "message": ...}``.
- list: ``GET .../Messages.json?DateSent>=YYYY-MM-DD&PageSize=...``; the next page is
  the response's ``next_page_uri`` (a path on the same host), followed only on the
  configured origin. ``DateSent>=`` has day granularity, so we ask from the day
  before ``since`` and let the caller skip what it has seen (sids are unique).

Every wire fact here has its source line in docs/vendors.md ("Twilio Programmable
Messaging").
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urljoin

from ..http import VendorSession
from .base import INVALID, OPTED_OUT, OTHER, UNREACHABLE, SmsMessage, SmsRejected

API_VERSION = "2010-04-01"
VENDOR = "twilio"

_OUTCOMES: dict[int, str] = {
    21610: OPTED_OUT,  # attempt to send to an unsubscribed recipient
    21211: INVALID,  # invalid 'To' phone number
    21614: INVALID,  # 'To' number is not a valid mobile number
    21635: INVALID,  # 'To' number cannot be a landline
    30003: UNREACHABLE,  # unreachable destination handset
    30005: UNREACHABLE,  # unknown destination handset
    30006: UNREACHABLE,  # landline or unreachable carrier
}


def outcome_of(code: int | None) -> str:
    """The class of a Twilio error code (:data:`OTHER` for codes we do not act on)."""
    return _OUTCOMES.get(code or 0, OTHER)


def _instant(value: Any) -> datetime | None:
    """Twilio writes dates in RFC 2822 (``Tue, 26 Jul 2016 12:50:07 +0000``)."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        return parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None


def _int(value: Any) -> int | None:
    try:
        return int(value) if value is not None and value != "" else None
    except (TypeError, ValueError):
        return None


def parse_message(body: dict[str, Any]) -> SmsMessage | None:
    """A Message resource, or None when it lacks what we match on (sid, to, from)."""
    sid, to, sender = body.get("sid"), body.get("to"), body.get("from")
    if not all(isinstance(v, str) and v for v in (sid, to, sender)):
        return None
    text = body.get("body")
    return SmsMessage(sid=str(sid), to=str(to), from_=str(sender), body=text if isinstance(text, str) else "",
                      status=str(body.get("status") or ""), direction=str(body.get("direction") or ""),
                      error_code=_int(body.get("error_code")), date_sent=_instant(body.get("date_sent")),
                      date_created=_instant(body.get("date_created")), segments=_int(body.get("num_segments")))


class TwilioChannel:
    """The Twilio adapter behind :class:`~interview_sync.sms.base.SmsChannel`."""

    name = VENDOR

    def __init__(self, *, base_url: str, account_sid: str, auth_token: str, session: VendorSession,
                 from_number: str = "", messaging_service_sid: str = "", page_size: int = 100,
                 max_pages: int = 20) -> None:
        self.base_url = base_url.rstrip("/")
        self.account_sid = account_sid
        self.session = session
        self.session.pin(self.base_url)
        self.session.session.auth = (account_sid, auth_token)
        self.from_number = from_number
        self.messaging_service_sid = messaging_service_sid
        self.page_size = page_size
        self.max_pages = max_pages

    @property
    def sender(self) -> str:
        return self.from_number or self.messaging_service_sid

    @property
    def _messages_url(self) -> str:
        return f"{self.base_url}/{API_VERSION}/Accounts/{self.account_sid}/Messages.json"

    def send(self, to: str, body: str) -> SmsMessage:
        form = {"To": to, "Body": body}
        if self.messaging_service_sid:
            form["MessagingServiceSid"] = self.messaging_service_sid
        else:
            form["From"] = self.from_number
        response = self.session.request("POST", self._messages_url, data=form, expected=(200, 201, 400))
        try:
            payload = response.json()
        except ValueError:
            payload = {}
        if response.status_code == 400:
            code = _int(payload.get("code")) if isinstance(payload, dict) else None
            message = str(payload.get("message", ""))[:200] if isinstance(payload, dict) else ""
            raise SmsRejected(VENDOR, code, message, outcome_of(code))
        parsed = parse_message(payload) if isinstance(payload, dict) else None
        if parsed is None:
            raise SmsRejected(VENDOR, None, "the response carried no message sid", OTHER)
        return parsed

    def first_page(self, since: datetime) -> tuple[str, dict[str, Any]]:
        """The URL and query of the listing's first page for ``since`` (``doctor --probe`` reads the same)."""
        day = (since - timedelta(days=1)).date().isoformat()
        return self._messages_url, {"DateSent>": day, "PageSize": self.page_size}

    def next_page(self, page: Any) -> str | None:
        """The next page's URL: the page's ``next_page_uri`` on the configured base URL, or None."""
        following = page.get("next_page_uri") if isinstance(page, dict) else None
        return urljoin(self.base_url + "/", following) if isinstance(following, str) and following else None

    def messages(self, since: datetime) -> Iterator[SmsMessage]:
        """Messages sent or received on or after ``since``'s day (UTC), newest first as
        Twilio lists them; malformed entries are skipped."""
        url: str | None
        params: dict[str, Any] | None
        url, params = self.first_page(since)
        for _ in range(self.max_pages):
            if url is None:
                return
            page = self.session.json("GET", url, params=params)
            for item in page.get("messages") or [] if isinstance(page, dict) else []:
                if isinstance(item, dict) and (message := parse_message(item)) is not None:
                    yield message
            url = self.next_page(page)
            params = None  # the next-page URI carries every parameter
