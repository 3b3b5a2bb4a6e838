"""Webhook signatures per vendor: a genuine delivery wakes, a forged, stale or replayed one does not.

Deliveries are built here by hand from each vendor's documented scheme (not with
the module's own signer), so a mistake in the scheme cannot cancel itself out;
one test then checks the signer the sandbox uses against the same verifier.
"""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from interview_sync.webhooks import (BAD_SIGNATURE, MALFORMED, REPLAYED, STALE, UNSIGNED, VALID, ReplayGuard,
                                     WebhookGate, signed_delivery)

NOW = 1_795_000_000.0  # a fixed Unix instant: the gate's clock is injected
SECRETS = {"greenhouse": "gh-secret", "lever": "lever-signature-token", "calendly": "cal-signing-key",
           "calcom": "calcom-secret"}


def hexmac(key: str, message: bytes) -> str:
    return hmac.new(key.encode(), message, hashlib.sha256).hexdigest()


def gate(now: float = NOW) -> WebhookGate:
    return WebhookGate(SECRETS, tolerance=180, clock=lambda: now)


def greenhouse(body: bytes, *, key: str = SECRETS["greenhouse"], event_id: str = "evt-1") -> dict[str, str]:
    return {"signature": f"sha256 {hexmac(key, body)}", "greenhouse-event-id": event_id}


def lever(*, key: str = SECRETS["lever"], token: str = "tok-1", at_ms: int = int(NOW * 1000)) -> bytes:
    return json.dumps({"event": "candidateStageChange", "token": token, "triggeredAt": at_ms,
                       "signature": hexmac(key, f"{token}{at_ms}".encode()),
                       "data": {"opportunityId": "x"}}).encode()


def calendly(body: bytes, *, key: str = SECRETS["calendly"], t: int = int(NOW)) -> dict[str, str]:
    return {"calendly-webhook-signature": f"t={t},v1={hexmac(key, f'{t}.'.encode() + body)}"}


def calcom(body: bytes, *, key: str = SECRETS["calcom"]) -> dict[str, str]:
    return {"x-cal-signature-256": hexmac(key, body)}


GH_BODY = b'{"action":"candidate_stage_change","payload":{"application":{"id":17001}}}'
CAL_BODY = b'{"event":"invitee.created","payload":{"uri":"x"}}'
COM_BODY = b'{"triggerEvent":"BOOKING_CREATED","payload":{"uid":"b1"}}'


# --- genuine deliveries ---------------------------------------------------------------------


def test_a_genuine_delivery_of_each_vendor_is_valid() -> None:
    g = gate()
    assert g.check("greenhouse", greenhouse(GH_BODY), GH_BODY).reason == VALID
    assert g.check("lever", {}, lever()).reason == VALID
    assert g.check("calendly", calendly(CAL_BODY), CAL_BODY).reason == VALID
    assert g.check("calcom", calcom(COM_BODY), COM_BODY).reason == VALID


def test_header_format_details_greenhouse_space_and_calendly_extra_parts() -> None:
    """Greenhouse writes "sha256 <hex>" (a space, not "="); Calendly's header may hold parts
    in any order and parts we do not know."""
    g = gate()
    assert g.check("greenhouse", {"signature": f"sha256={hexmac('gh-secret', GH_BODY)}"},
                   GH_BODY).reason == MALFORMED
    t = int(NOW)
    v1 = hexmac("cal-signing-key", f"{t}.".encode() + CAL_BODY)
    assert g.check("calendly", {"calendly-webhook-signature": f"v0=abc, v1={v1} ,t={t}"}, CAL_BODY).reason == VALID


# --- unsigned and forged --------------------------------------------------------------------


def test_unsigned_deliveries_are_refused() -> None:
    g = gate()
    assert g.check("greenhouse", {}, GH_BODY).reason == UNSIGNED
    assert g.check("lever", {}, b'{"event":"candidateStageChange","data":{}}').reason == UNSIGNED
    assert g.check("calendly", {}, CAL_BODY).reason == UNSIGNED
    assert g.check("calcom", {}, COM_BODY).reason == UNSIGNED


@pytest.mark.parametrize("vendor", ["greenhouse", "lever", "calendly", "calcom"])
def test_forged_deliveries_are_refused(vendor: str) -> None:
    """Signed with the wrong secret, or a genuine signature over a different body."""
    g = gate()
    if vendor == "greenhouse":
        wrong_key, tampered = greenhouse(GH_BODY, key="guess"), (greenhouse(GH_BODY), GH_BODY + b" ")
        assert g.check(vendor, wrong_key, GH_BODY).reason == BAD_SIGNATURE
        assert g.check(vendor, *tampered).reason == BAD_SIGNATURE
    elif vendor == "lever":
        assert g.check(vendor, {}, lever(key="guess")).reason == BAD_SIGNATURE
        genuine = json.loads(lever())
        genuine["triggeredAt"] += 1  # the signed fields changed: the signature no longer matches
        assert g.check(vendor, {}, json.dumps(genuine).encode()).reason == BAD_SIGNATURE
    elif vendor == "calendly":
        assert g.check(vendor, calendly(CAL_BODY, key="guess"), CAL_BODY).reason == BAD_SIGNATURE
        assert g.check(vendor, calendly(CAL_BODY), CAL_BODY.replace(b"created", b"canceled")).reason == BAD_SIGNATURE
    else:
        assert g.check(vendor, calcom(COM_BODY, key="guess"), COM_BODY).reason == BAD_SIGNATURE
        assert g.check(vendor, {"x-cal-signature-256": "zz\u00e9"}, COM_BODY).reason == BAD_SIGNATURE


def test_malformed_signatures_are_refused_without_raising() -> None:
    g = gate()
    assert g.check("calendly", {"calendly-webhook-signature": "t=soon,v1=ab"}, CAL_BODY).reason == MALFORMED
    assert g.check("calendly", {"calendly-webhook-signature": "garbage"}, CAL_BODY).reason == MALFORMED
    assert g.check("lever", {}, b"\xff\xfe not json").reason == MALFORMED
    assert g.check("lever", {}, b'{"signature":"ab","token":1,"triggeredAt":2}').reason == MALFORMED


# --- stale ----------------------------------------------------------------------------------


def test_stale_timestamps_are_refused_where_the_scheme_signs_one() -> None:
    g = gate()
    old = int(NOW) - 181
    assert g.check("calendly", calendly(CAL_BODY, t=old), CAL_BODY).reason == STALE
    assert g.check("lever", {}, lever(at_ms=old * 1000)).reason == STALE
    future = int(NOW) + 181  # a clock far ahead is as suspect as one far behind
    assert g.check("calendly", calendly(CAL_BODY, t=future), CAL_BODY).reason == STALE
    inside = int(NOW) - 179
    assert g.check("calendly", calendly(CAL_BODY, t=inside), CAL_BODY).reason == VALID


# --- replayed -------------------------------------------------------------------------------


@pytest.mark.parametrize("vendor", ["greenhouse", "lever", "calendly", "calcom"])
def test_a_replayed_delivery_is_refused(vendor: str) -> None:
    g = gate()
    headers, body = {"greenhouse": (greenhouse(GH_BODY), GH_BODY), "lever": ({}, lever()),
                     "calendly": (calendly(CAL_BODY), CAL_BODY), "calcom": (calcom(COM_BODY), COM_BODY)}[vendor]
    assert g.check(vendor, headers, body).reason == VALID
    assert g.check(vendor, headers, body).reason == REPLAYED


def test_greenhouse_replay_is_recognised_by_its_event_id() -> None:
    """A second delivery with the same Greenhouse-Event-ID is the same event, whatever its body."""
    g = gate()
    other = GH_BODY.replace(b"17001", b"17002")
    assert g.check("greenhouse", greenhouse(GH_BODY, event_id="e-9"), GH_BODY).reason == VALID
    assert g.check("greenhouse", greenhouse(other, event_id="e-9"), other).reason == REPLAYED
    assert g.check("greenhouse", greenhouse(other, event_id="e-10"), other).reason == VALID


def test_a_forged_request_is_not_remembered() -> None:
    """Only accepted deliveries enter the replay memory, so forgeries cannot evict real ones."""
    g = gate()
    for n in range(50):
        g.check("calcom", calcom(COM_BODY + str(n).encode(), key="guess"), COM_BODY + str(n).encode())
    assert len(g.replays) == 0


def test_replay_memory_is_bounded_and_forgets_after_its_window() -> None:
    guard = ReplayGuard(window=60, capacity=100)
    for n in range(1000):
        assert guard.first_time(f"k{n}", now=0.0)
    assert len(guard) == 100  # the oldest went first
    assert not guard.first_time("k999", now=1.0)
    assert guard.first_time("k0", now=1.0)  # evicted by capacity: a replay this old is stale where it matters
    assert guard.first_time("k999", now=61.0)  # the window passed
    assert len(guard) == 1


def test_a_vendor_without_a_secret_has_no_route() -> None:
    g = WebhookGate({"greenhouse": "x", "lever": "", "calendly": "", "calcom": ""})
    assert g.vendors == ("greenhouse",)


# --- the signer the sandbox uses ------------------------------------------------------------


@pytest.mark.parametrize("vendor", ["greenhouse", "lever", "calendly", "calcom"])
def test_the_sandbox_signer_produces_deliveries_the_gate_accepts(vendor: str) -> None:
    body, headers = signed_delivery(vendor, SECRETS[vendor], {"event": "x"}, NOW)
    lower = {k.lower(): v for k, v in headers.items()}
    assert gate().check(vendor, lower, body).reason == VALID
    assert WebhookGate({vendor: "another"}, clock=lambda: NOW).check(vendor, lower, body).reason == BAD_SIGNATURE
