"""The Twilio adapter against an independent fake written from Twilio's docs (responses),
importing nothing from the sandbox."""

from __future__ import annotations

import base64
from datetime import datetime, timezone
from urllib.parse import parse_qs, urlsplit

import pytest
import responses

from interview_sync.errors import ForeignOrigin
from interview_sync.http import VendorSession
from interview_sync.sms.base import INVALID, OPTED_OUT, UNREACHABLE
from interview_sync.sms.base import SmsRejected
from interview_sync.sms.twilio import TwilioChannel, outcome_of

SID = "AC" + "a" * 32
BASE = "https://api.twilio.com"
MESSAGES = f"{BASE}/2010-04-01/Accounts/{SID}/Messages.json"


def message(sid: str, status: str = "queued", direction: str = "outbound-api", error: int | None = None,
            to: str = "+19165550102", sender: str = "+19165550100", body: str = "hello") -> dict:
    return {"sid": sid, "account_sid": SID, "to": to, "from": sender, "body": body, "status": status,
            "direction": direction, "error_code": error, "num_segments": "1",
            "date_created": "Mon, 30 Nov 2026 16:06:00 +0000", "date_sent": "Mon, 30 Nov 2026 16:07:00 +0000",
            "uri": f"/2010-04-01/Accounts/{SID}/Messages/{sid}.json"}


def channel(**kw: str) -> TwilioChannel:
    return TwilioChannel(base_url=BASE, account_sid=SID, auth_token="token-xyz",
                         session=VendorSession("twilio", sleeper=lambda s: None), **kw)


@responses.activate
def test_send_posts_form_with_basic_auth_and_from() -> None:
    responses.add(responses.POST, MESSAGES, json=message("SM1"), status=201)
    sent = channel(from_number="+19165550100").send("+19165550102", "Book by Wed")
    request = responses.calls[0].request
    form = parse_qs(request.body)
    assert form == {"To": ["+19165550102"], "From": ["+19165550100"], "Body": ["Book by Wed"]}
    assert request.headers["Authorization"] == "Basic " + base64.b64encode(f"{SID}:token-xyz".encode()).decode()
    assert sent.sid == "SM1" and sent.status == "queued"
    assert sent.date_sent == datetime(2026, 11, 30, 16, 7, tzinfo=timezone.utc)


@responses.activate
def test_send_through_a_messaging_service() -> None:
    responses.add(responses.POST, MESSAGES, json=message("SM2"), status=201)
    channel(messaging_service_sid="MG" + "b" * 32).send("+19165550102", "hi")
    form = parse_qs(responses.calls[0].request.body)
    assert form["MessagingServiceSid"] == ["MG" + "b" * 32] and "From" not in form


@pytest.mark.parametrize(("code", "outcome"), [(21610, OPTED_OUT), (21211, INVALID), (21614, INVALID)])
@responses.activate
def test_refusals_carry_their_code_and_outcome(code: int, outcome: str) -> None:
    responses.add(responses.POST, MESSAGES, status=400, json={
        "code": code, "message": "refused", "more_info": f"https://www.twilio.com/docs/errors/{code}", "status": 400})
    with pytest.raises(SmsRejected) as caught:
        channel(from_number="+19165550100").send("+19165550102", "hi")
    assert caught.value.code == code and caught.value.outcome == outcome
    assert len(responses.calls) == 1  # a create is never retried


def test_delivery_error_codes() -> None:
    assert {outcome_of(c) for c in (30003, 30005, 30006)} == {UNREACHABLE}
    assert outcome_of(None) == outcome_of(30007) == "other"


@responses.activate
def test_listing_filters_by_day_and_follows_next_page_uri() -> None:
    following = f"/2010-04-01/Accounts/{SID}/Messages.json?PageSize=100&Page=1&PageToken=PA1"
    responses.add(responses.GET, MESSAGES, json={"messages": [message("SM3", "delivered")],
                                                 "next_page_uri": following})
    responses.add(responses.GET, MESSAGES, json={"messages": [message("SM4", "received", "inbound", body="STOP"),
                                                              {"sid": None}],
                                                 "next_page_uri": None})
    seen = list(channel(from_number="+19165550100").messages(datetime(2026, 11, 30, 16, 0, tzinfo=timezone.utc)))
    assert [m.sid for m in seen] == ["SM3", "SM4"] and seen[1].inbound and seen[1].body == "STOP"
    first = parse_qs(urlsplit(responses.calls[0].request.url).query)
    assert first["DateSent>"] == ["2026-11-29"] and first["PageSize"] == ["100"]
    assert responses.calls[1].request.url == BASE + following


@responses.activate
def test_listing_refuses_a_next_page_on_another_host() -> None:
    responses.add(responses.GET, MESSAGES, json={"messages": [],
                                                 "next_page_uri": "https://evil.example/2010-04-01/x.json"})
    with pytest.raises(ForeignOrigin):
        list(channel(from_number="+19165550100").messages(datetime(2026, 11, 30, tzinfo=timezone.utc)))
    assert len(responses.calls) == 1
