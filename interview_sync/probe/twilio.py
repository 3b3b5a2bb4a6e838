"""`doctor --probe` for Twilio Programmable Messaging: what TwilioChannel relies on.

GETs only, through the adapter's own origin-pinned session (the runner wraps it
so nothing but reads goes out):

* the account the credentials open is ``active``;
* the configured ``sms.from`` is a number on that account that can send SMS
  (a Messaging Service is not probed: the adapter never calls the Messaging API);
* one page of the message listing, asked for exactly as the poll asks for it,
  carries what the adapter reads from each message, and pages by ``next_page_uri``.

No line names a candidate's number or body: messages are named by their sid.
The Account resource carries the auth token; nothing here repeats the body.
docs/vendors.md (Twilio) lists the same facts with their public sources.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from ..clock import Clock, SystemClock
from ..doctor import Check, _guard
from ..sms.twilio import API_VERSION, TwilioChannel, _instant, _int, parse_message
from .checks import sample_check

_CREDENTIALS = ("check sms.account_sid and INTERVIEW_SYNC_SMS__AUTH_TOKEN against the Twilio console "
                "(Account Info); sms.base_url must be https://api.twilio.com")
_REPORT = "the adapter's reading of Twilio's Message resource differs from this account's: see docs/vendors.md (Twilio)"
# What parse_message and the poll read from a Message, beyond the sid/to/from it matches on.
_MESSAGE_KEYS = ("sid", "to", "from", "status", "direction", "date_created", "date_sent", "error_code")


def probe(adapter: TwilioChannel, *, sample: int = 10, clock: Clock | None = None) -> list[Check]:
    """The account, the sender, and one page of messages since the first poll's window."""
    account: dict[str, Any] = {}

    def account_line() -> list[Check]:
        account.update(_account(adapter))
        return [_account_check(account)]

    checks = _guard("twilio: account", _CREDENTIALS, account_line)
    if not account:  # refused credentials or an unreachable API: every other read would say the same
        return checks
    checks += _guard("twilio: sender", "check sms.from in the config", lambda: [_sender(adapter)])
    checks += _guard("twilio: messages", _CREDENTIALS,
                     lambda: _messages(adapter, sample, (clock or SystemClock()).now()))
    return checks


def _account(adapter: TwilioChannel) -> dict[str, Any]:
    body = adapter.session.json("GET", f"{adapter.base_url}/{API_VERSION}/Accounts/{adapter.account_sid}.json")
    if not isinstance(body, dict) or not body:
        raise ValueError("the Account resource came back empty")
    # keep only what a line may show: the resource also carries auth_token
    return {"status": body.get("status"), "type": body.get("type")}


def _account_check(account: dict[str, Any]) -> Check:
    name = "twilio: credentials accepted and account active"
    status = account.get("status")
    if status != "active":
        return Check(name, False, f"the account's status is {status!r}, not 'active': it cannot send",
                     "reactivate the account (add funds, or set a subaccount's Status back to active) in the "
                     "Twilio console, or configure an active account's sms.account_sid")
    detail = "status active"
    if account.get("type") == "Trial":
        detail += ("; warning: a Trial account texts only numbers verified on it (error 21608): "
                   "upgrade it before candidates are texted")
    return Check(name, True, detail)


def _sender(adapter: TwilioChannel) -> Check:
    if not adapter.from_number:
        return Check("twilio: sender", True,
                     f"messaging service {adapter.messaging_service_sid} is not probed: the adapter sends "
                     "through it but never reads the Messaging Services API; check its sender pool in the "
                     "Twilio console")
    number = adapter.from_number
    name = f"twilio: sender {number} is a number on the account that can send SMS"
    body = adapter.session.json("GET", f"{adapter.base_url}/{API_VERSION}/Accounts/{adapter.account_sid}"
                                       "/IncomingPhoneNumbers.json", params={"PhoneNumber": number})
    rows = body.get("incoming_phone_numbers") if isinstance(body, dict) else None
    if not isinstance(rows, list):
        return Check(name, False, "the IncomingPhoneNumbers page has no incoming_phone_numbers list",
                     "report it: docs/vendors.md (Twilio) names the field")
    match = next((r for r in rows if isinstance(r, dict) and r.get("phone_number") == number), None)
    if match is None:
        others = f" (the filter matched {len(rows)} other number(s))" if rows else ""
        return Check(name, False, f"{number} is not one of this account's phone numbers{others}",
                     "set sms.from to one of the account's numbers (Twilio console → Phone Numbers → Active "
                     "numbers, E.164 like +19165550100), or use the account that owns it")
    capabilities = match.get("capabilities")
    sms = capabilities.get("sms") if isinstance(capabilities, dict) else None
    if sms is not True:
        return Check(name, False, f"{number} is on the account but capabilities.sms = {sms!r}: it cannot send texts",
                     "choose an SMS-capable number for sms.from (Twilio console → Phone Numbers), or send "
                     "through a Messaging Service (sms.messaging_service_sid)")
    return Check(name, True, "on the account, capabilities.sms = true")


def _messages(adapter: TwilioChannel, sample: int, now: datetime) -> list[Check]:
    """One page of the listing as the first poll reads it (``since`` = a day ago)."""
    url, params = adapter.first_page(now - timedelta(days=1))
    page = adapter.session.json("GET", url, params=params)
    listed = page.get("messages") if isinstance(page, dict) else None
    day = params["DateSent>"]
    name = "twilio: listed messages carry what the poll reads"
    if not isinstance(listed, list):
        return [Check(name, False, "the Messages page has no messages list", _REPORT)]
    items = listed[:sample]
    if not items:
        checks = [Check(name, True, f"no messages sent since {day} yet: nothing to sample; the listing answered")]
    else:
        bad = [problem for item in items if (problem := _message_problem(item))]
        checks = [sample_check(name, len(items), bad, _REPORT,
                               note=f"DateSent>={day}, PageSize={params['PageSize']}")]
    return checks + [_paging(adapter, page)]


def _message_problem(item: Any) -> str:
    """Why the poll could not use this message ('' when it can), naming it by sid only."""
    if not isinstance(item, dict):
        return "a non-object entry"
    sid = item.get("sid") if isinstance(item.get("sid"), str) and item.get("sid") else "(no sid)"
    missing = [key for key in _MESSAGE_KEYS if key not in item]
    if missing:
        return f"{sid} lacks {', '.join(missing)}"
    parsed = parse_message(item)
    if parsed is None:
        return f"{sid}: sid, to or from is empty"
    if not parsed.status or not parsed.direction:
        return f"{sid}: empty status or direction"
    if parsed.date_created is None or (item["date_sent"] is not None and _instant(item["date_sent"]) is None):
        return f"{sid}: date_created or date_sent is not an RFC 2822 date"
    if item["error_code"] is not None and _int(item["error_code"]) is None:
        return f"{sid}: error_code {item['error_code']!r} is not a number"
    return ""


def _paging(adapter: TwilioChannel, page: dict[str, Any]) -> Check:
    """The poll follows ``next_page_uri`` on the configured origin until it is null."""
    name = "twilio: messages page by next_page_uri"
    if "next_page_uri" not in page:
        return Check(name, False, "the page has no next_page_uri: the poll would read only its first page", _REPORT)
    following = adapter.next_page(page)
    if following is None:
        return Check(name, True, "one page holds them all (next_page_uri is null)")
    second = adapter.session.json("GET", following)  # the pinned session refuses another origin
    if not isinstance(second, dict) or not isinstance(second.get("messages"), list):
        return Check(name, False, "the page next_page_uri names has no messages list", _REPORT)
    return Check(name, True, f"the next page ({urlsplit(following).path}) answered on the configured base_url")
