"""`doctor --probe` for Twilio (interview_sync/probe/twilio.py): every line OK against the
sandbox's Twilio flavour; against fakes written from Twilio's docs (responses), each seeded
mismatch turns its own line red with a fix; it reads only, and never shows the auth token."""

from __future__ import annotations

import sys
import types
from datetime import datetime, timezone
from typing import Any

import pytest
import responses
from harness import Harness

from interview_sync.clock import FixedClock
from interview_sync.config import SmsConfig
from interview_sync.context import build_sms
from interview_sync.doctor import Check
from interview_sync.http import VendorSession
from interview_sync.probe import WriteRefused, probe_adapter, read_only, run_probe
from interview_sync.probe import twilio as twilio_probe
from interview_sync.sms.twilio import TwilioChannel

SID = "AC" + "c" * 32
TOKEN = "tw-secret-9f8e7d"
BASE = "https://api.twilio.com"
ACCOUNT = f"{BASE}/2010-04-01/Accounts/{SID}.json"
NUMBERS = f"{BASE}/2010-04-01/Accounts/{SID}/IncomingPhoneNumbers.json"
MESSAGES = f"{BASE}/2010-04-01/Accounts/{SID}/Messages.json"
SENDER = "+19165550100"
CANDIDATE = "+19165550142"


def clock() -> FixedClock:
    return FixedClock(datetime(2026, 11, 30, 16, 0, tzinfo=timezone.utc))


def channel(**kw: Any) -> TwilioChannel:
    kw.setdefault("from_number", SENDER)
    return TwilioChannel(base_url=BASE, account_sid=SID, auth_token=TOKEN,
                         session=VendorSession("twilio", sleeper=lambda s: None), **kw)


def account(status: str = "active", kind: str = "Full") -> dict[str, Any]:
    return {"sid": SID, "owner_account_sid": SID, "friendly_name": "Mercy Valley", "status": status, "type": kind,
            "auth_token": TOKEN, "date_created": "Mon, 02 Nov 2026 09:00:00 +0000",
            "uri": f"/2010-04-01/Accounts/{SID}.json"}


def number(phone: str = SENDER, sms: bool = True) -> dict[str, Any]:
    return {"sid": "PN" + "1" * 32, "account_sid": SID, "phone_number": phone, "friendly_name": phone,
            "capabilities": {"voice": True, "sms": sms, "mms": sms, "fax": False}}


def message(sid: str, **changes: Any) -> dict[str, Any]:
    row = {"sid": sid, "account_sid": SID, "to": CANDIDATE, "from": SENDER, "body": "Book your interview",
           "status": "delivered", "direction": "outbound-api", "error_code": None, "num_segments": "1",
           "date_created": "Mon, 30 Nov 2026 15:06:00 +0000", "date_sent": "Mon, 30 Nov 2026 15:07:00 +0000"}
    row.update(changes)
    return {k: v for k, v in row.items() if v is not ...}


def tenant(*, acct: dict[str, Any] | None = None, numbers: list[dict[str, Any]] | None = None,
           messages: list[dict[str, Any]] | None = None, page: dict[str, Any] | None = None) -> None:
    """Register the three reads (and a POST that must never be called)."""
    responses.add(responses.GET, ACCOUNT, json=acct if acct is not None else account())
    responses.add(responses.GET, NUMBERS, json={"incoming_phone_numbers": [number()] if numbers is None else numbers,
                                                "next_page_uri": None})
    body = {"messages": [message("SM1"), message("SM2", direction="inbound", status="received", error_code=None)]
            if messages is None else messages, "next_page_uri": None}
    responses.add(responses.GET, MESSAGES, json={**body, **(page or {})})
    responses.add(responses.POST, MESSAGES, json=message("SM9"), status=201)


def lines(checks: list[Check]) -> dict[str, Check]:
    return {c.name: c for c in checks}


def texts(checks: list[Check]) -> str:
    return "\n".join(f"{c.name} {c.detail} {c.fix}" for c in checks)


def sender_line(checks: list[Check]) -> Check:
    return next(c for c in checks if c.name.startswith("twilio: sender"))


def messages_line(checks: list[Check]) -> Check:
    return lines(checks)["twilio: listed messages carry what the poll reads"]


# --- against the sandbox ------------------------------------------------------------------


def texting(h: Harness) -> None:
    h.settings.sms = SmsConfig.model_validate({
        "provider": "sandbox", "base_url": h.server.url, "account_sid": "AC" + "0" * 32,
        "auth_token": "sandbox-token", "from": "+19165550100", "consent_field": "custom.sms_consent"})


def test_every_line_is_ok_against_the_sandbox_reading_two_pages(harness: Harness) -> None:
    texting(harness)
    sms = build_sms(harness.settings, sleeper=lambda s: None)
    sms.page_size = 1  # two texts: the listing pages once by next_page_uri
    for phone in ("+19165550102", "+19165550107"):
        sms.send(phone, "Please book your interview")
    harness.at(0.5)  # sent a minute later, delivered after two
    before = dict(harness.world.requests)
    checks = probe_adapter("sms", sms, sample=10, clock=harness.clock)
    assert [(c.name, c.ok) for c in checks] == [
        ("twilio: credentials accepted and account active", True),
        ("twilio: sender +19165550100 is a number on the account that can send SMS", True),
        ("twilio: listed messages carry what the poll reads", True),
        ("twilio: messages page by next_page_uri", True)]
    assert messages_line(checks).detail.startswith("1/1 match; DateSent>=2026-11-28, PageSize=1")
    assert "next page (/2010-04-01/Accounts/" in checks[3].detail
    sent = {k: n - before.get(k, 0) for k, n in harness.world.requests.items() if n > before.get(k, 0)}
    assert all(k.startswith("GET ") for k in sent) and len(sent) == 3, sent
    assert "sandbox-token" not in texts(checks)  # the sandbox's Account resource echoes it, like Twilio's


def test_run_probe_adds_the_sms_lines_only_when_sms_is_configured(harness: Harness,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    for vendor in ("greenhouse", "calendly"):
        module = types.ModuleType(f"interview_sync.probe.{vendor}")
        module.probe = lambda adapter, *, sample, v=vendor: [Check(f"{v} stub", True, "")]  # type: ignore[attr-defined]
        monkeypatch.setitem(sys.modules, module.__name__, module)
    off = run_probe(harness.settings, clock=harness.clock, sleeper=lambda s: None)
    assert [c.name for c in off] == ["greenhouse stub", "calendly stub"]
    texting(harness)
    on = run_probe(harness.settings, clock=harness.clock, sleeper=lambda s: None)
    assert [c.name for c in on][:2] == ["greenhouse stub", "calendly stub"]
    assert [c.name for c in on][2:] == ["twilio: credentials accepted and account active",
                                        "twilio: sender +19165550100 is a number on the account that can send SMS",
                                        "twilio: listed messages carry what the poll reads",
                                        "twilio: messages page by next_page_uri"]
    assert all(c.ok for c in on), texts(on)
    assert "no messages sent since 2026-11-28 yet" in on[4].detail


# --- against fakes written from Twilio's docs -----------------------------------------------


@responses.activate
def test_a_good_tenant_passes_and_trial_is_a_warning() -> None:
    tenant(acct=account(kind="Trial"))
    checks = twilio_probe.probe(channel(), sample=10, clock=clock())
    assert all(c.ok for c in checks), texts(checks)
    assert "Trial account texts only numbers verified" in checks[0].detail
    assert messages_line(checks).detail == "2/2 match; DateSent>=2026-11-28, PageSize=100"
    listing = next(c.request for c in responses.calls if c.request.url.startswith(MESSAGES))
    assert "DateSent%3E=2026-11-28" in listing.url and "PageSize=100" in listing.url
    lookup = next(c.request for c in responses.calls if c.request.url.startswith(NUMBERS))
    assert lookup.url.endswith("?PhoneNumber=%2B19165550100")


@pytest.mark.parametrize("status", ["suspended", "closed"])
@responses.activate
def test_an_inactive_account_fails_naming_its_status(status: str) -> None:
    tenant(acct=account(status=status))
    checks = twilio_probe.probe(channel(), sample=10, clock=clock())
    line = checks[0]
    assert line.name == "twilio: credentials accepted and account active" and not line.ok
    assert f"'{status}'" in line.detail and "reactivate" in line.fix
    assert all(c.ok for c in checks[1:])


@responses.activate
def test_refused_credentials_are_one_failed_line() -> None:
    responses.add(responses.GET, ACCOUNT, status=401, json={"code": 20003, "message": "Authenticate", "status": 401})
    checks = twilio_probe.probe(channel(), sample=10, clock=clock())
    assert [(c.name, c.ok) for c in checks] == [("twilio: account", False)]
    assert "401" in checks[0].detail and checks[0].fix


@responses.activate
def test_a_sender_not_on_the_account_fails_with_a_fix() -> None:
    tenant(numbers=[number("+19165550101")])  # PhoneNumber matches partial numbers: a neighbour came back
    line = sender_line(twilio_probe.probe(channel(), sample=10, clock=clock()))
    assert not line.ok
    assert line.detail == ("+19165550100 is not one of this account's phone numbers "
                           "(the filter matched 1 other number(s))")
    assert "set sms.from to one of the account's numbers" in line.fix


@responses.activate
def test_a_sender_without_sms_capability_fails() -> None:
    tenant(numbers=[number(sms=False)])
    line = sender_line(twilio_probe.probe(channel(), sample=10, clock=clock()))
    assert not line.ok and "capabilities.sms = False" in line.detail and "SMS-capable" in line.fix


@responses.activate
def test_a_messaging_service_is_said_not_probed() -> None:
    tenant()
    checks = twilio_probe.probe(channel(from_number="", messaging_service_sid="MG" + "d" * 32), sample=10,
                                clock=clock())
    line = sender_line(checks)
    assert line.ok and "is not probed" in line.detail and "MG" + "d" * 32 in line.detail
    assert not any(c.request.url.startswith(NUMBERS) for c in responses.calls)


@pytest.mark.parametrize(("changes", "problem"), [
    ({"error_code": ...}, "SM2 lacks error_code"),
    ({"direction": ...}, "SM2 lacks direction"),
    ({"date_created": "yesterday"}, "SM2: date_created or date_sent is not an RFC 2822 date"),
    ({"from": ""}, "SM2: sid, to or from is empty"),
])
@responses.activate
def test_a_message_missing_a_relied_on_field_fails(changes: dict[str, Any], problem: str) -> None:
    tenant(messages=[message("SM1"), message("SM2", **changes)])
    line = messages_line(twilio_probe.probe(channel(), sample=10, clock=clock()))
    assert not line.ok and line.detail.endswith(f"e.g. {problem}") and line.detail.startswith("1/2 match")
    assert "docs/vendors.md" in line.fix


@responses.activate
def test_only_sample_messages_are_checked_and_none_is_a_pass() -> None:
    tenant(messages=[message("SM1"), message("SM2", status=...)])
    assert messages_line(twilio_probe.probe(channel(), sample=1, clock=clock())).ok
    responses.reset()
    tenant(messages=[])
    line = messages_line(twilio_probe.probe(channel(), sample=10, clock=clock()))
    assert line.ok and line.detail.startswith("no messages sent since 2026-11-28 yet")


@responses.activate
def test_paging_follows_next_page_uri_on_the_configured_origin_only() -> None:
    tenant(page={"next_page_uri": "https://evil.example/2010-04-01/Accounts/x/Messages.json?Page=1"})
    line = lines(twilio_probe.probe(channel(), sample=10, clock=clock()))["twilio: messages"]
    assert not line.ok and "refused to call https://evil.example" in line.detail
    responses.reset()
    tenant()
    responses.replace(responses.GET, MESSAGES, json={"messages": [message("SM1")]})  # no next_page_uri key
    line = lines(twilio_probe.probe(channel(), sample=10, clock=clock()))["twilio: messages page by next_page_uri"]
    assert not line.ok and "only its first page" in line.detail


@responses.activate
def test_the_probe_reads_only_and_the_guard_refuses_a_text() -> None:
    tenant()
    sms = channel()
    session = sms.session
    checks = probe_adapter("sms", sms, sample=10, clock=clock())
    assert len(checks) == 4 and all(c.ok for c in checks), texts(checks)
    with read_only(sms) as view:
        with pytest.raises(WriteRefused, match="send is not available to a probe"):
            view.send(CANDIDATE, "hello")  # the view has no write methods
        with pytest.raises(WriteRefused, match="refused POST"):
            TwilioChannel.send(sms, CANDIDATE, "hello")  # and the session under it sends no POST
        assert len(twilio_probe.probe(view, sample=10, clock=clock())) == 4  # lines still come out
    assert sms.session is session
    assert [c.request.method for c in responses.calls] == ["GET"] * len(responses.calls)


@pytest.mark.parametrize("setup", ["good", "suspended", "refused", "missing sender", "bad message"])
@responses.activate
def test_the_auth_token_and_candidate_numbers_never_appear_in_a_line(setup: str) -> None:
    if setup == "refused":
        responses.add(responses.GET, ACCOUNT, status=401, json={"code": 20003, "message": "Authenticate"})
    else:
        tenant(acct=account("suspended" if setup == "suspended" else "active"),
               numbers=[] if setup == "missing sender" else None,
               messages=[message("SM1", to=...)] if setup == "bad message" else None)
    shown = texts(twilio_probe.probe(channel(), sample=10, clock=clock()))
    assert TOKEN not in shown and CANDIDATE not in shown and "0142" not in shown
    assert responses.calls  # the probe did read


def test_the_listing_window_comes_from_the_clock_handed_in() -> None:
    """The probe asks for the first page exactly as the poll does, from the clock it is given."""
    url, params = channel().first_page(clock().now())
    assert url == MESSAGES and params == {"DateSent>": "2026-11-29", "PageSize": 100}
