"""Booking fields both scheduler adapters parse, and the Calendly guards of issue 11.

Time zones (the invitee's and the host's) and the invitee's phone feed messages
rendered in each reader's zone. The Calendly guards keep a booking matched when a
vendor fact the adapter relies on is missing from a record: an event membership
without ``user_email`` (resolved from its user URI) and an invitee without
``tracking.utm_content`` (matched by invitee email + host).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pytest
import requests
import responses
from harness import Harness, baselined
from vendor_payloads import (
    calcom_booking, calcom_listing, calendly_event, calendly_invitee, calendly_membership, calendly_page,
    calendly_user,
)

from interview_sync.clock import FixedClock
from interview_sync.http import VendorSession
from interview_sync.invitation import State
from interview_sync.scheduler.calcom import CalcomScheduler
from interview_sync.scheduler.calendly import CalendlyScheduler

NOW = datetime(2026, 11, 23, 15, 0, tzinfo=timezone.utc)
CALENDLY, CALCOM = "https://api.calendly.com", "https://api.cal.com/v2"
ORG = f"{CALENDLY}/organizations/ORG0000000000001"
HOST = f"{CALENDLY}/users/HOST000000000001"
MARIA = "maria.delgado@mercyvalley.example"
ZOE = ("Zoë O'Brien-Nguyễn", "zoe+nurse@example.org")


def calendly() -> CalendlyScheduler:
    return CalendlyScheduler(base_url=CALENDLY, api_token="t", clock=FixedClock(NOW),
                             session=VendorSession("calendly", sleeper=lambda s: None))


def calcom() -> CalcomScheduler:
    return CalcomScheduler(base_url=CALCOM, api_key="cal_k", clock=FixedClock(NOW),
                           session=VendorSession("calcom", sleeper=lambda s: None))


def calendly_world(events: list[dict], invitees: dict[str, list[dict]]) -> None:
    responses.get(f"{CALENDLY}/users/me", json={"resource": calendly_user(
        f"{CALENDLY}/users/OPS", "Ops", "ops@example.org", timezone="America/Chicago", organization=ORG, slug="ops")})
    responses.get(f"{CALENDLY}/scheduled_events", json=calendly_page(events, None, CALENDLY))
    for uuid, rows in invitees.items():
        responses.get(f"{CALENDLY}/scheduled_events/{uuid}/invitees", json=calendly_page(rows, None, CALENDLY))


def event(uuid: str, *, user_email: str | None = MARIA) -> dict:
    body = calendly_event(f"{CALENDLY}/scheduled_events/{uuid}", start="2026-11-24T17:00:00.000000Z",
                          end="2026-11-24T17:30:00.000000Z", updated="2026-11-23T14:59:00.000000Z",
                          event_type=f"{CALENDLY}/event_types/ET1", host_uri=HOST, host_email=MARIA,
                          host_name="Maria Delgado")
    if user_email is None:
        del body["event_memberships"][0]["user_email"]
    return body


def invitee(event_uuid: str, uuid: str, **extra: object) -> dict:
    body = calendly_invitee(f"{CALENDLY}/scheduled_events/{event_uuid}/invitees/{uuid}",
                            f"{CALENDLY}/scheduled_events/{event_uuid}", email=ZOE[1], name=ZOE[0],
                            utm_content="inv-1", timezone="Europe/Dublin")
    body.update(extra)
    return body


# --- Calendly ---------------------------------------------------------------------

@responses.activate
def test_calendly_membership_without_user_email_resolves_the_user_once() -> None:
    calendly_world([event("EV1", user_email=None), event("EV2", user_email=None)],
                   {"EV1": [invitee("EV1", "IN1")], "EV2": [invitee("EV2", "IN2")]})
    responses.get(HOST, json={"resource": calendly_user(HOST, "Maria Delgado", MARIA, timezone="America/Los_Angeles",
                                                        organization=ORG, slug="maria")})
    bookings = list(calendly().changed_bookings(NOW - timedelta(minutes=5), NOW))
    assert [b.host_email for b in bookings] == [MARIA, MARIA]
    assert sum(1 for c in responses.calls if c.request.url == HOST) == 1  # cached per run


@responses.activate
def test_calendly_membership_user_gone_keeps_the_booking_without_a_host() -> None:
    calendly_world([event("EV1", user_email=None)], {"EV1": [invitee("EV1", "IN1")]})
    responses.get(HOST, status=404, json={"title": "Resource Not Found", "message": "gone"})
    (booking,) = calendly().changed_bookings(NOW - timedelta(minutes=5), NOW)
    assert booking.host_email is None and booking.ref == "inv-1"  # the reference still matches it


@responses.activate
def test_calendly_membership_user_unreadable_is_one_report_and_the_booking_stays() -> None:
    calendly_world([event("EV1", user_email=None)], {"EV1": [invitee("EV1", "IN1"), invitee("EV1", "IN2")]})
    responses.get(HOST, status=403, json={"title": "Permission Denied", "message": "missing scope users:read"})
    bad: list = []
    adapter = CalendlyScheduler(base_url=CALENDLY, api_token="t", clock=FixedClock(NOW), on_bad_record=bad.append,
                                session=VendorSession("calendly", sleeper=lambda s: None))
    bookings = list(adapter.changed_bookings(NOW - timedelta(minutes=5), NOW))
    assert [b.ref for b in bookings] == ["inv-1", "inv-1"] and all(b.host_email is None for b in bookings)
    assert len(bad) == 1 and "users:read" in str(bad[0])


@responses.activate
def test_calendly_invitee_zone_and_phone() -> None:
    texted = invitee("EV1", "IN1", text_reminder_number="+353 1 555 0100")
    asked = invitee("EV2", "IN2", questions_and_answers=[
        {"question": "Anything to share?", "answer": "no", "position": 0},
        {"question": "Best phone number to reach you", "answer": " +1 916 555 0101 ", "position": 1}])
    bare = invitee("EV3", "IN3", timezone=None)
    calendly_world([event("EV1"), event("EV2"), event("EV3")], {"EV1": [texted], "EV2": [asked], "EV3": [bare]})
    by_uri = {b.uri.rsplit("/", 1)[-1]: b for b in calendly().changed_bookings(NOW - timedelta(minutes=5), NOW)}
    assert (by_uri["IN1"].invitee_timezone, by_uri["IN1"].invitee_phone) == ("Europe/Dublin", "+353 1 555 0100")
    assert by_uri["IN2"].invitee_phone == "+1 916 555 0101"
    assert (by_uri["IN3"].invitee_timezone, by_uri["IN3"].invitee_phone) == (None, None)


@responses.activate
def test_calendly_host_without_a_timezone_is_none_not_utc() -> None:
    responses.get(f"{CALENDLY}/users/me", json={"resource": calendly_user(
        f"{CALENDLY}/users/OPS", "Ops", "ops@example.org", timezone="America/Chicago", organization=ORG, slug="ops")})
    user = calendly_user(HOST, "Maria Delgado", MARIA, timezone="America/Los_Angeles", organization=ORG, slug="m")
    user["timezone"] = None
    responses.get(f"{CALENDLY}/organization_memberships",
                  json=calendly_page([calendly_membership(f"{CALENDLY}/organization_memberships/M", ORG, user)],
                                     None, CALENDLY))
    host = calendly().find_host(MARIA)
    assert host is not None and host.timezone is None


# --- Cal.com ------------------------------------------------------------------------

@responses.activate
def test_calcom_attendee_zone_and_phone_from_the_booking_form_or_the_attendee() -> None:
    answered = calcom_booking("bkA", attendee=ZOE, host=("Maria Delgado", MARIA), metadata={"ref": "a"})
    answered["bookingFieldsResponses"]["attendeePhoneNumber"] = "+1 916 555 0101"
    on_attendee = calcom_booking("bkB", attendee=ZOE, host=("Maria Delgado", MARIA), metadata={"ref": "b"})
    on_attendee["attendees"][0]["phoneNumber"] = "+1 916 555 0102"
    bare = calcom_booking("bkC", attendee=ZOE, host=("Maria Delgado", MARIA), metadata={"ref": "c"})
    del bare["attendees"][0]["timeZone"]
    responses.get(f"{CALCOM}/bookings", json=calcom_listing([answered, on_attendee, bare]))
    by_uid = {b.uri: b for b in calcom().changed_bookings(NOW - timedelta(days=1), NOW)}
    assert (by_uid["bkA"].invitee_timezone, by_uid["bkA"].invitee_phone) == ("America/Chicago", "+1 916 555 0101")
    assert by_uid["bkB"].invitee_phone == "+1 916 555 0102"
    assert (by_uid["bkC"].invitee_timezone, by_uid["bkC"].invitee_phone) == (None, None)


# --- the email + host fallback, end to end ------------------------------------------

@pytest.fixture
def h(tmp_path: Path) -> Iterator[Harness]:
    with baselined(tmp_path, scheduler="calendly") as harness:
        yield harness


def test_calendly_booking_without_utm_content_is_matched_by_email_and_host(h: Harness) -> None:
    """Nothing public confirms that utm_content survives on a single-use link: a
    booking that comes back without it must still confirm the right invitation."""
    h.at(0.1)
    h.sandbox.move("17001", "Phone Screen")
    assert not h.poll().errors
    link = h.invitation("17001").link_url
    assert link is not None and "utm_content=" in link
    parts = urlsplit(link)
    stripped = urlunsplit(parts._replace(query=urlencode(
        [(k, v) for k, v in parse_qsl(parts.query) if k != "utm_content"])))
    h.at(2)
    booked = requests.post(f"{h.server.url}/_admin/book", json={"url": stripped, "application_id": "17001"}, timeout=5)
    assert booked.status_code == 201, booked.text
    (invitee_row,) = [i for i in h.world.data["calendly"]["invitees"].values()]
    assert not invitee_row.get("utm_content")  # the sandbox really lost the reference
    report = h.poll()
    assert report.alerts == 0 and not report.errors, report.errors
    assert h.invitation("17001").state is State.BOOKED
    assert len(h.emails_to("zoe+nurse@example.org", "confirmation")) == 1
