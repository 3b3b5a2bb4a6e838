"""A Twilio Programmable Messaging flavour for the sandbox (REST API 2010-04-01).

Speaks the wire the adapter speaks: form-encoded message creation under Basic
auth, RFC 2822 dates, a newest-first listing paged by ``next_page_uri``, and
400 answers with Twilio's ``{code, message, more_info, status}``. A sent
message moves queued → sent → delivered on the sandbox clock (one minute per
step), or to ``undelivered`` with 30006 for a number marked as a landline.
Inbound texts are injected through ``/_admin/twilio/inbound``; like Twilio's
default opt-out handling, an inbound STOP blocks the number (21610 on the next
send) until START. What ``doctor --probe`` reads is here too: the Account
resource (``active``) and the account's phone numbers (:data:`NUMBERS`, both
SMS-capable), filtered by ``PhoneNumber``.
"""

from __future__ import annotations

import base64
import re
from datetime import datetime, timedelta
from email.utils import format_datetime
from functools import partial
from typing import Any

from .common import mount_routes
from .server import Request, Response, SandboxApp, World

STEP = timedelta(minutes=1)
_E164 = re.compile(r"^\+[1-9]\d{7,14}$")
_STOP = {"stop", "stopall", "unsubscribe", "cancel", "end", "quit"}
_START = {"start", "unstop"}
MORE_INFO = "https://www.twilio.com/docs/errors/"
# The sandbox account's phone numbers: the sender the demo and tests configure, and Twilio's test number.
NUMBERS = ("+19165550100", "+15005550006")


def _tw(world: World) -> dict[str, Any]:
    return world.data.setdefault("twilio", {"messages": [], "opted_out": set(), "landlines": set(), "seq": 0})


def _twilio_error(code: int, message: str, status: int = 400) -> Response:
    return Response(status, {"code": code, "message": message, "more_info": f"{MORE_INFO}{code}", "status": status})


def _authorised(request: Request) -> bool:
    header = request.headers.get("authorization", "")
    if not header.startswith("Basic "):
        return False
    try:
        user, _, secret = base64.b64decode(header[6:]).decode().partition(":")
    except ValueError:
        return False
    return user == request.params.get("account") and bool(secret)


def _status(message: dict[str, Any], now: datetime) -> tuple[str, int | None, datetime | None]:
    """Where an outbound message stands at ``now`` (inbound ones are simply received)."""
    if message["direction"] == "inbound":
        return "received", None, message["created"]
    age = now - message["created"]
    if age < STEP:
        return "queued", None, None
    if message["landline"]:
        return "undelivered", 30006, message["created"] + STEP
    if age < 2 * STEP:
        return "sent", None, message["created"] + STEP
    return "delivered", None, message["created"] + STEP


def _render(message: dict[str, Any], now: datetime, account: str) -> dict[str, Any]:
    status, code, sent = _status(message, now)
    return {
        "sid": message["sid"], "account_sid": account, "to": message["to"], "from": message["from"],
        "messaging_service_sid": message.get("service"), "body": message["body"], "status": status,
        "direction": message["direction"], "num_segments": "1", "num_media": "0",
        "error_code": code, "error_message": "Landline or unreachable carrier" if code else None,
        "date_created": format_datetime(message["created"]), "date_updated": format_datetime(now),
        "date_sent": format_datetime(sent) if sent else None, "api_version": "2010-04-01",
        "uri": f"/2010-04-01/Accounts/{account}/Messages/{message['sid']}.json",
    }


def _new(world: World, **fields: Any) -> dict[str, Any]:
    tw = _tw(world)
    tw["seq"] += 1
    message = {"sid": f"SM{tw['seq']:032x}", "created": world.now(), **fields}
    tw["messages"].append(message)
    return message


def _create(world: World, request: Request) -> Response:
    if not _authorised(request):
        return _twilio_error(20003, "Authenticate", 401)
    form = request.form()
    to, body = form.get("To", ""), form.get("Body", "")
    sender, service = form.get("From"), form.get("MessagingServiceSid")
    if not sender and not service:
        return _twilio_error(21603, "A 'From' or 'MessagingServiceSid' parameter is required")
    if not body:
        return _twilio_error(21602, "Message body is required")
    if not _E164.match(to):
        return _twilio_error(21211, f"The 'To' number {to} is not a valid phone number")
    with world.lock:
        tw = _tw(world)
        if to in tw["opted_out"]:
            return _twilio_error(21610, "Attempt to send to unsubscribed recipient")
        message = _new(world, to=to, **{"from": sender or "+15005550006"}, service=service, body=body,
                       direction="outbound-api", landline=to in tw["landlines"])
        return Response(201, _render(message, world.now(), request.params["account"]))


def _listing(world: World, request: Request) -> Response:
    """Newest first, filtered by ``DateSent>`` (a day), ``To`` and ``From``; paged by ``next_page_uri``."""
    if not _authorised(request):
        return _twilio_error(20003, "Authenticate", 401)
    account = request.params["account"]
    size = max(1, min(int(request.arg("PageSize") or 50), 1000))
    page = int(request.arg("Page") or 0)
    since = request.arg("DateSent>")
    with world.lock:
        now = world.now()
        rows = []
        for message in reversed(_tw(world)["messages"]):
            sent = _status(message, now)[2]
            if since and (sent is None or sent.date().isoformat() < since):
                continue
            if request.arg("To") and message["to"] != request.arg("To"):
                continue
            if request.arg("From") and message["from"] != request.arg("From"):
                continue
            rows.append(_render(message, now, account))
    chunk = rows[page * size:(page + 1) * size]
    base = f"/2010-04-01/Accounts/{account}/Messages.json"
    keep = "".join(f"&{k}={v[-1]}" for k, v in request.query.items() if k not in ("Page", "PageSize", "PageToken"))
    following = (f"{base}?PageSize={size}&Page={page + 1}&PageToken=PA{page + 1}{keep}"
                 if (page + 1) * size < len(rows) else None)
    return Response(200, {"messages": chunk, "page": page, "page_size": size, "start": page * size,
                          "end": page * size + len(chunk) - 1, "uri": request.raw_target,
                          "first_page_uri": f"{base}?PageSize={size}&Page=0", "next_page_uri": following,
                          "previous_page_uri": None})


def _account(request: Request) -> Response:
    """The Account resource; like Twilio's it carries the auth token (here, the one the caller sent)."""
    if not _authorised(request):
        return _twilio_error(20003, "Authenticate", 401)
    account = request.params["account"]
    token = base64.b64decode(request.headers["authorization"][6:]).decode().partition(":")[2]
    return Response(200, {"sid": account, "owner_account_sid": account, "friendly_name": "Sandbox clinic",
                          "status": "active", "type": "Full", "auth_token": token,
                          "date_created": "Mon, 02 Nov 2026 09:00:00 +0000",
                          "date_updated": "Mon, 02 Nov 2026 09:00:00 +0000",
                          "uri": f"/2010-04-01/Accounts/{account}.json"})


def _number(account: str, index: int, number: str) -> dict[str, Any]:
    sid = f"PN{index + 1:032x}"
    return {"sid": sid, "account_sid": account, "phone_number": number, "friendly_name": number,
            "capabilities": {"voice": True, "sms": True, "mms": True, "fax": False}, "status": "in-use",
            "api_version": "2010-04-01", "uri": f"/2010-04-01/Accounts/{account}/IncomingPhoneNumbers/{sid}.json"}


def _numbers(request: Request) -> Response:
    """The account's numbers; ``PhoneNumber`` matches part of a number, ``*`` standing for any digit."""
    if not _authorised(request):
        return _twilio_error(20003, "Authenticate", 401)
    account = request.params["account"]
    wanted = re.escape(request.arg("PhoneNumber") or "").replace(r"\*", r"\d")
    rows = [_number(account, i, n) for i, n in enumerate(NUMBERS) if re.search(wanted, n)]
    base = f"/2010-04-01/Accounts/{account}/IncomingPhoneNumbers.json"
    return Response(200, {"incoming_phone_numbers": rows, "page": 0, "page_size": 50, "start": 0,
                          "end": max(len(rows) - 1, 0), "uri": request.raw_target,
                          "first_page_uri": f"{base}?PageSize=50&Page=0", "next_page_uri": None,
                          "previous_page_uri": None})


def _inbound(world: World, request: Request) -> Response:
    """``{"from": "+19165550102", "body": "STOP", "to": "+19165550100"}``: a candidate replies."""
    body = request.json()
    sender, text = str(body.get("from", "")), str(body.get("body", ""))
    with world.lock:
        tw = _tw(world)
        to = str(body.get("to") or next((m["from"] for m in reversed(tw["messages"])
                                         if m["direction"] != "inbound" and m["to"] == sender), "+15005550006"))
        word = text.strip().casefold()
        if word in _STOP:
            tw["opted_out"].add(sender)
        elif word in _START:
            tw["opted_out"].discard(sender)
        message = _new(world, to=to, **{"from": sender}, service=None, body=text, direction="inbound",
                       landline=False)
        return Response(201, {"sid": message["sid"]})


def _landline(world: World, request: Request) -> Response:
    """``{"phone": "+19165550103"}``: texts to this number end undelivered (30006)."""
    with world.lock:
        _tw(world)["landlines"].add(str(request.json().get("phone", "")))
    return Response(200, {"ok": True})


def _opt_out(world: World, request: Request) -> Response:
    """``{"phone": "+19165550102"}``: the number opted out of this sender elsewhere (another
    campaign on the same Messaging Service): the next send gets 21610, no reply is listed."""
    with world.lock:
        _tw(world)["opted_out"].add(str(request.json().get("phone", "")))
    return Response(200, {"ok": True})


def _all_messages(world: World, request: Request) -> Response:
    with world.lock:
        now = world.now()
        return Response(200, {"messages": [_render(m, now, "sandbox") for m in _tw(world)["messages"]],
                              "opted_out": sorted(_tw(world)["opted_out"])})


def mount(app: SandboxApp) -> None:
    """The Twilio routes and their admin companions, as a route table."""
    world = app.world
    path = "/2010-04-01/Accounts/{account}/Messages.json"
    mount_routes(app, [
        ("POST", path, partial(_create, world)),
        ("GET", path, partial(_listing, world)),
        ("GET", "/2010-04-01/Accounts/{account}.json", _account),
        ("GET", "/2010-04-01/Accounts/{account}/IncomingPhoneNumbers.json", _numbers),
        ("POST", "/_admin/twilio/inbound", partial(_inbound, world)),
        ("POST", "/_admin/twilio/landline", partial(_landline, world)),
        ("POST", "/_admin/twilio/opt-out", partial(_opt_out, world)),
        ("GET", "/_admin/twilio/messages", partial(_all_messages, world)),
    ])
