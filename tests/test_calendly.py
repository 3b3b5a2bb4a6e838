"""Calendly v2: the adapter over documented payloads, and against the sandbox on loopback."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses
from hypothesis import given, settings
from hypothesis import strategies as st
from responses import matchers

from interview_sync.clock import FixedClock, parse_instant
from interview_sync.errors import BadRecord, VendorAuthError
from interview_sync.http import VendorSession
from interview_sync.models import Booking, EventType, Host
from interview_sync.sandbox import SandboxApp, SandboxServer, admin, calendly
from interview_sync.scheduler.calendly import CalendlyScheduler, with_prefill
from vendor_payloads import calendly_event, calendly_invitee, calendly_membership, calendly_page, calendly_user

API = "https://api.calendly.com"
ORG = f"{API}/organizations/AAAAAAAAAAAAAAAA"
ME = f"{API}/users/BBBBBBBBBBBBBBBB"
ET = f"{API}/event_types/CCCCCCCCCCCCCCCC"
NOW = datetime(2026, 11, 23, 15, 0, tzinfo=timezone.utc)  # Monday 07:00 in Los Angeles
TOKEN = "sandbox-calendly-token"
ZOE = ("Zoë O'Brien-Nguyễn", "zoe+nurse@example.org")


def scheduler(base_url: str = API, *, clock: FixedClock | None = None, sleeper=None,
              on_bad_record=None, token: str = TOKEN) -> CalendlyScheduler:
    session = VendorSession("calendly", sleeper=sleeper or (lambda seconds: None))
    return CalendlyScheduler(base_url=base_url, api_token=token, session=session,
                             clock=clock or FixedClock(NOW), on_bad_record=on_bad_record)


# --- documented payloads (developer.calendly.com examples, trimmed) -----------

def user_me() -> dict:
    return {"resource": {"uri": ME, "name": "Talent Ops", "email": "ops@example.org",
                         "timezone": "America/Chicago", "current_organization": ORG}}


def membership(email: str, uri: str) -> dict:
    return calendly_membership(f"{API}/organization_memberships/M1", ORG, calendly_user(
        uri, "Maria Delgado", email, timezone="America/Los_Angeles", organization=ORG, slug="maria-delgado"))


def page(collection: list, next_token: str | None = None) -> dict:
    return calendly_page(collection, next_token, API)


def event(uuid: str, *, start: str, updated: str, status: str = "active") -> dict:
    end = (parse_instant(start) + timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M:%S.000000Z")
    return calendly_event(f"{API}/scheduled_events/{uuid}", start=start, end=end, updated=updated, status=status,
                          event_type=ET, host_uri=ME, host_email="maria.delgado@mercyvalley.example",
                          host_name="Maria Delgado")


def invitee(event_uuid: str, uuid: str, **extra) -> dict:
    body = calendly_invitee(f"{API}/scheduled_events/{event_uuid}/invitees/{uuid}",
                            f"{API}/scheduled_events/{event_uuid}", email=ZOE[1], name=ZOE[0], utm_content="inv-7001")
    body.update(extra)
    return body


def add_me(rsps: responses.RequestsMock) -> None:
    rsps.get(f"{API}/users/me", json=user_me())


# --- adapter over mocks -------------------------------------------------------

@responses.activate
def test_find_host_asks_memberships_of_our_org_by_email() -> None:
    add_me(responses.mock)
    host_uri = f"{API}/users/HHHH"
    responses.get(f"{API}/organization_memberships",
                  match=[matchers.query_param_matcher({"organization": ORG, "email": "maria.delgado@mercyvalley.example",
                                                       "count": "100"})],
                  json=page([membership("maria.delgado@mercyvalley.example", host_uri)]))
    host = scheduler().find_host("maria.delgado@mercyvalley.example")
    assert host == Host(uri=host_uri, name="Maria Delgado", email="maria.delgado@mercyvalley.example",
                        timezone="America/Los_Angeles")


@responses.activate
def test_find_host_unknown_email_is_none() -> None:
    add_me(responses.mock)
    responses.get(f"{API}/organization_memberships", json=page([]))
    assert scheduler().find_host("nobody@example.org") is None


@responses.activate
def test_event_type_by_slug_prefers_active_and_by_uri() -> None:
    host = Host(uri=ME, name="Maria", email="m@example.org")
    stale = {"uri": f"{API}/event_types/OLD", "slug": "phone-screen-30", "name": "Old", "active": False,
             "duration": 30, "scheduling_url": "https://calendly.com/m/old", "profile": {"owner": ME}}
    live = dict(stale, uri=ET, name="Phone Screen (30 min)", active=True,
                scheduling_url="https://calendly.com/m/phone-screen-30")
    responses.get(f"{API}/event_types", match=[matchers.query_param_matcher({"user": ME, "count": "100"})],
                  json=page([stale, live]))
    responses.get(ET, json={"resource": live})
    adapter = scheduler()
    found = adapter.get_event_type(host, "phone-screen-30")
    assert found is not None and found.uri == ET and found.duration_minutes == 30 and found.active
    assert adapter.get_event_type(host, "no-such-slug") is None
    assert adapter.get_event_type(host, ET) == found


@responses.activate
def test_available_times_split_into_7_day_windows_starting_now() -> None:
    et = EventType(uri=ET, slug="s", name="n", duration_minutes=30, scheduling_url="u", host_uri=ME)
    responses.get(f"{API}/event_type_available_times", json={"collection": [
        {"status": "available", "invitees_remaining": 1, "start_time": "2026-11-24T17:00:00.000000Z",
         "scheduling_url": "https://calendly.com/x"}]})
    times = scheduler().available_times(et, NOW - timedelta(days=2), NOW + timedelta(days=17))
    windows = [parse_qs(urlsplit(call.request.url).query) for call in responses.calls]
    spans = [(parse_instant(w["start_time"][0]), parse_instant(w["end_time"][0])) for w in windows]
    assert len(spans) == 3
    assert spans[0][0] >= NOW  # Calendly refuses a start in the past
    assert all(end - start <= timedelta(days=7) for start, end in spans)
    assert spans[-1][1] == NOW + timedelta(days=17)
    assert all(a[1] == b[0] for a, b in zip(spans, spans[1:]))  # contiguous, no gap
    assert times == [datetime(2026, 11, 24, 17, 0, tzinfo=timezone.utc)]  # deduplicated


@responses.activate
def test_create_link_posts_single_use_body_and_prefills_exactly() -> None:
    responses.post(f"{API}/scheduling_links",
                   match=[matchers.json_params_matcher({"max_event_count": 1, "owner": ET, "owner_type": "EventType"})],
                   status=201, json={"resource": {"booking_url": "https://calendly.com/d/abcd-brv8/phone-screen",
                                                  "owner": ET, "owner_type": "EventType"}})
    et = EventType(uri=ET, slug="s", name="n", duration_minutes=30, scheduling_url="u", host_uri=ME)
    url = scheduler().create_link(et, name=ZOE[0], email=ZOE[1], ref="inv-7001&x=1")
    parts = urlsplit(url)
    assert parts.path == "/d/abcd-brv8/phone-screen"
    assert parse_qs(parts.query) == {"name": [ZOE[0]], "email": [ZOE[1]], "utm_content": ["inv-7001&x=1"]}
    assert "+" not in parts.query  # '+' in the address is %2B, spaces are %20


@settings(max_examples=60, deadline=None)
@given(name=st.text(st.characters(blacklist_categories=("Cs",)), min_size=1),
       email=st.text(st.characters(blacklist_categories=("Cs",)), min_size=1))
def test_prefill_round_trips_any_text(name: str, email: str) -> None:
    query = parse_qs(urlsplit(with_prefill("https://calendly.com/d/x?a=1", name=name, email=email,
                                           ref="r")).query, keep_blank_values=True)
    assert query["name"] == [name] and query["email"] == [email] and query["a"] == ["1"]


@responses.activate
def test_changed_bookings_pages_with_page_token_and_skips_unchanged_events() -> None:
    add_me(responses.mock)
    since = NOW - timedelta(minutes=5)
    base = {"organization": ORG, "min_start_time": "2026-11-16T14:55:00Z", "sort": "start_time:asc", "count": "100"}
    responses.get(f"{API}/scheduled_events", match=[matchers.query_param_matcher(base)],
                  json=page([event("E1", start="2026-11-24T17:00:00.000000Z", updated="2026-11-20T10:00:00.000000Z")],
                            next_token="tok2"))
    responses.get(f"{API}/scheduled_events", match=[matchers.query_param_matcher({**base, "page_token": "tok2"})],
                  json=page([event("E2", start="2026-11-25T17:00:00.000000Z", updated="2026-11-23T14:58:00.000000Z")]))
    responses.get(f"{API}/scheduled_events/E2/invitees", json=page([invitee("E2", "I2")]))
    bookings = list(scheduler().changed_bookings(since, NOW))
    assert [b.uri for b in bookings] == [f"{API}/scheduled_events/E2/invitees/I2"]
    b = bookings[0]
    assert (b.ref, b.email, b.name, b.status) == ("inv-7001", ZOE[1], ZOE[0], "active")
    assert b.host_email == "maria.delgado@mercyvalley.example"
    assert b.join_url == "https://zoom.example/j/123" and b.event_type_uri == ET
    assert b.start == datetime(2026, 11, 25, 17, 0, tzinfo=timezone.utc)
    assert not any("/E1/" in call.request.url for call in responses.calls)  # unchanged: no invitee fetch


@responses.activate
def test_reschedule_and_cancellation_map_from_documented_fields() -> None:
    add_me(responses.mock)
    old_uri, new_uri = f"{API}/scheduled_events/E1/invitees/I1", f"{API}/scheduled_events/E2/invitees/I2"
    changed = "2026-11-23T14:59:00.000000Z"
    responses.get(f"{API}/scheduled_events", json=page([
        event("E1", start="2026-11-24T17:00:00.000000Z", updated=changed, status="canceled"),
        event("E2", start="2026-11-26T17:00:00.000000Z", updated=changed)]))
    cancellation = {"canceled_by": ZOE[0], "reason": "Rescheduled", "canceler_type": "invitee",
                    "created_at": changed}
    responses.get(f"{API}/scheduled_events/E1/invitees", json=page([invitee(
        "E1", "I1", status="canceled", rescheduled=True, new_invitee=new_uri, cancellation=cancellation,
        updated_at=changed)]))
    responses.get(f"{API}/scheduled_events/E2/invitees", json=page([invitee(
        "E2", "I2", old_invitee=old_uri, created_at=changed, updated_at=changed)]))
    old, new = list(scheduler().changed_bookings(NOW - timedelta(minutes=5), NOW))
    assert (old.uri, old.status, old.rescheduled, old.new_booking_uri) == (old_uri, "canceled", True, new_uri)
    assert (old.canceled_by, old.cancel_reason) == ("invitee", "Rescheduled")
    assert (new.uri, new.status, new.old_booking_uri, new.ref) == (new_uri, "active", old_uri, "inv-7001")


@responses.activate
def test_bad_invitee_goes_to_callback_and_listing_continues() -> None:
    add_me(responses.mock)
    changed = "2026-11-23T14:59:00.000000Z"
    responses.get(f"{API}/scheduled_events", json=page([
        event("E1", start="2026-11-24T17:00:00.000000Z", updated=changed),
        {"uri": f"{API}/scheduled_events/E9", "start_time": "2026-11-24T18:00:00Z"},  # no updated_at
        event("E2", start="2026-11-25T17:00:00.000000Z", updated=changed)]))
    responses.get(f"{API}/scheduled_events/E1/invitees", json=page([invitee("E1", "I1", email=None)]))
    responses.get(f"{API}/scheduled_events/E2/invitees", json=page([invitee("E2", "I2")]))
    seen: list[BadRecord] = []
    bookings = list(scheduler(on_bad_record=seen.append).changed_bookings(NOW - timedelta(minutes=5), NOW))
    assert [b.uri.rsplit("/", 1)[-1] for b in bookings] == ["I2"]
    assert len(seen) == 2 and all(isinstance(r, BadRecord) for r in seen)
    assert all(ZOE[1] not in str(r) for r in seen)  # no personal data in the alert text


@responses.activate
def test_mark_no_show_posts_invitee_and_revoke_link_is_silent() -> None:
    responses.post(f"{API}/invitee_no_shows", status=201,
                   match=[matchers.json_params_matcher({"invitee": f"{API}/scheduled_events/E1/invitees/I1"})],
                   json={"resource": {"uri": f"{API}/invitee_no_shows/N1", "invitee": "x", "created_at": "y"}})
    booking = Booking(uri=f"{API}/scheduled_events/E1/invitees/I1", event_uri="e", ref=None, email=ZOE[1],
                      name=ZOE[0], start=NOW, end=NOW, status="active")
    adapter = scheduler()
    adapter.mark_no_show(booking)
    adapter.revoke_link("https://calendly.com/d/abcd-brv8")
    assert len(responses.calls) == 1


@responses.activate
def test_rejected_token_raises_auth_error_without_the_token() -> None:
    responses.get(f"{API}/users/me", status=401,
                  json={"title": "Unauthenticated", "message": "The access token is invalid"})
    with pytest.raises(VendorAuthError) as err:
        scheduler(token="secret-token-value").check_auth()
    assert "secret-token-value" not in str(err.value)


# --- against the sandbox on loopback -------------------------------------------

@pytest.fixture
def sandbox() -> Iterator[tuple[SandboxApp, SandboxServer]]:
    app = SandboxApp()
    app.world.fixed_now = NOW
    calendly.mount(app)
    admin.mount(app)
    with SandboxServer(app) as server:
        yield app, server


@pytest.fixture
def live(sandbox) -> CalendlyScheduler:
    return scheduler(sandbox[1].url)


def phone_screen(adapter: CalendlyScheduler, email: str = "maria.delgado@mercyvalley.example") -> EventType:
    host = adapter.find_host(email)
    assert host is not None
    et = adapter.get_event_type(host, "phone-screen-30")
    assert et is not None
    return et


def invite(app: SandboxApp, adapter: CalendlyScheduler, application_id: str, ref: str) -> str:
    url = adapter.create_link(phone_screen(adapter), name=ZOE[0], email=ZOE[1], ref=ref)
    app.world.data.setdefault("notes", {}).setdefault(application_id, []).append(
        f"Interview invitation sent. Booking link: {url}")
    return url


def post(server: SandboxServer, path: str, body: dict) -> requests.Response:
    return requests.post(server.url + path, json=body, timeout=5)


def test_sandbox_host_and_event_type(live: CalendlyScheduler, sandbox) -> None:
    assert live.check_auth()["user"].startswith(sandbox[1].url + "/users/")
    host = live.find_host("James.OConnor@mercyvalley.example")
    assert host is not None and host.name == "James O'Connor" and host.timezone == "America/Los_Angeles"
    assert live.find_host("tom.becker@mercyvalley.example") is None  # recruiters are not hosts
    et = live.get_event_type(host, "leadership-video-60")
    assert et is not None and et.duration_minutes == 60 and et.host_uri == host.uri


def test_sandbox_refuses_wrong_token(sandbox) -> None:
    with pytest.raises(VendorAuthError):
        scheduler(sandbox[1].url, token="wrong").check_auth()


def test_sandbox_availability_is_weekday_hours_and_split(live: CalendlyScheduler) -> None:
    et = phone_screen(live)
    times = live.available_times(et, NOW, NOW + timedelta(days=15))
    assert live.session.calls["GET /event_type_available_times"] == 3  # the sandbox refuses > 7 days
    assert times[0] == datetime(2026, 11, 23, 16, 0, tzinfo=timezone.utc)  # 08:00 PST
    assert all(t.astimezone(_la()).weekday() < 5 and 8 <= t.astimezone(_la()).hour < 17 for t in times)
    assert len(times) == 11 * 18  # 11 weekdays × 18 half-hour slots


def test_sandbox_blocked_host_has_no_times(live: CalendlyScheduler, sandbox) -> None:
    assert post(sandbox[1], "/_admin/block", {"host_email": "maria.delgado@mercyvalley.example"}).status_code == 200
    assert live.available_times(phone_screen(live), NOW, NOW + timedelta(days=10)) == []
    other = phone_screen(live, "priya.raman@mercyvalley.example")
    assert live.available_times(other, NOW, NOW + timedelta(days=1)) != []


def test_sandbox_link_books_once_with_exact_prefill(live: CalendlyScheduler, sandbox) -> None:
    server = sandbox[1]
    url = live.create_link(phone_screen(live), name=ZOE[0], email=ZOE[1], ref="inv-7001")
    assert url.startswith(server.url + "/d/")
    page_html = requests.get(url, timeout=5).text
    assert "O&#x27;Brien-Nguyễn" in page_html and "zoe+nurse@example.org" in page_html
    query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    book = urlsplit(url)._replace(query="").geturl() + "/book"
    first = requests.post(book, data={**query, "start_time": "2026-11-24T18:00:00Z"}, timeout=5)
    assert first.status_code == 201, first.text
    second = requests.post(book, data={**query, "start_time": "2026-11-25T18:00:00Z"}, timeout=5)
    assert second.status_code == 410 and "already been used" in second.json()["message"]
    (booking,) = live.changed_bookings(NOW - timedelta(minutes=1), NOW)
    assert (booking.name, booking.email, booking.ref) == (ZOE[0], ZOE[1], "inv-7001")
    assert booking.start == datetime(2026, 11, 24, 18, 0, tzinfo=timezone.utc)
    assert booking.location == "+1 916 555 0201"  # the phone screen's dial-in
    # the booked slot is gone from availability
    assert booking.start not in live.available_times(phone_screen(live), NOW, NOW + timedelta(days=3))


def test_sandbox_book_cancel_reschedule_chain(live: CalendlyScheduler, sandbox) -> None:
    app, server = sandbox
    assert post(server, "/_admin/book", {"application_id": "17001"}).status_code == 400  # no link yet
    invite(app, live, "17001", "inv-a")
    booked = post(server, "/_admin/book", {"application_id": "17001"})
    assert booked.status_code == 201, booked.text
    (first,) = live.changed_bookings(NOW - timedelta(minutes=1), NOW)
    assert first.status == "active" and first.ref == "inv-a" and first.start == parse_instant("2026-11-23T16:00:00Z")

    app.world.fixed_now = later = NOW + timedelta(hours=2)
    moved = post(server, "/_admin/reschedule", {"application_id": 17001, "at": "2026-11-25T17:00:00Z"})
    assert moved.status_code == 201, moved.text
    old, new = live.changed_bookings(later, later)
    assert (old.uri, old.status, old.rescheduled, old.new_booking_uri) == (first.uri, "canceled", True, new.uri)
    assert (new.status, new.old_booking_uri, new.ref) == ("active", first.uri, "inv-a")
    assert new.start == parse_instant("2026-11-25T17:00:00Z")

    app.world.fixed_now = latest = later + timedelta(hours=2)
    assert post(server, "/_admin/cancel", {"application_id": "17001"}).status_code == 200
    (gone,) = live.changed_bookings(latest, latest)
    assert (gone.uri, gone.status, gone.rescheduled, gone.canceled_by) == (new.uri, "canceled", False, "invitee")
    assert post(server, "/_admin/cancel", {"application_id": "17001"}).status_code == 404  # nothing active


def test_sandbox_admin_book_takes_latest_link_and_refuses_reuse(live: CalendlyScheduler, sandbox) -> None:
    app, server = sandbox
    invite(app, live, "17002", "inv-old")
    invite(app, live, "17002", "inv-new")
    at = "2026-11-24T19:30:00Z"
    assert post(server, "/_admin/book", {"application_id": "17002", "at": at}).status_code == 201
    (booking,) = live.changed_bookings(NOW - timedelta(minutes=1), NOW)
    assert booking.ref == "inv-new" and booking.start == parse_instant(at)
    assert post(server, "/_admin/book", {"application_id": "17002"}).status_code == 410


def test_sandbox_no_show_is_visible_to_the_poll(live: CalendlyScheduler, sandbox) -> None:
    app, server = sandbox
    invite(app, live, "17003", "inv-n")
    post(server, "/_admin/book", {"application_id": "17003"})
    app.world.fixed_now = later = NOW + timedelta(days=1)
    assert post(server, "/_admin/no-show", {"application_id": "17003"}).status_code == 201
    (booking,) = live.changed_bookings(later, later)
    assert booking.no_show


def test_sandbox_idle_poll_costs_one_request(live: CalendlyScheduler, sandbox) -> None:
    app, server = sandbox
    for application_id in ("17004", "17005"):
        invite(app, live, application_id, f"inv-{application_id}")
        post(server, "/_admin/book", {"application_id": application_id})
    assert len(list(live.changed_bookings(None, NOW))) == 2
    live.session.calls.clear()
    later = NOW + timedelta(minutes=10)
    assert list(live.changed_bookings(later, later)) == []
    assert sum(live.session.calls.values()) == 1


def test_sandbox_scheduled_events_page_token(live: CalendlyScheduler, sandbox) -> None:
    app, server = sandbox
    for index in range(3):
        invite(app, live, f"1800{index}", f"inv-{index}")
        post(server, "/_admin/book", {"application_id": f"1800{index}"})
    org = live.check_auth()["organization"]
    headers = {"Authorization": f"Bearer {TOKEN}"}
    params = {"organization": org, "count": 2, "sort": "start_time:asc"}
    first = requests.get(server.url + "/scheduled_events", params=params, headers=headers, timeout=5).json()
    assert len(first["collection"]) == 2 and first["pagination"]["next_page_token"]
    second = requests.get(server.url + "/scheduled_events", headers=headers, timeout=5,
                          params={**params, "page_token": first["pagination"]["next_page_token"]}).json()
    assert len(second["collection"]) == 1 and second["pagination"]["next_page_token"] is None
    starts = [e["start_time"] for e in first["collection"] + second["collection"]]
    assert starts == sorted(starts) and len(set(starts)) == 3
    assert requests.get(server.url + "/scheduled_events", headers=headers, timeout=5,
                        params={**params, "count": 101}).status_code == 400


def test_sandbox_429_retry_after_is_waited_out_with_injected_sleeper(sandbox) -> None:
    app, server = sandbox
    slept: list[float] = []
    adapter = scheduler(server.url, sleeper=slept.append)
    adapter.check_auth()
    post(server, "/_admin/faults", {"path": "/scheduled_events", "status": 429, "headers": {"Retry-After": "7"}})
    assert list(adapter.changed_bookings(NOW, NOW)) == []
    assert slept == [7.0]
    assert adapter.session.calls["GET /scheduled_events"] == 1  # one logical call, retried inside urllib3
    assert app.world.requests["GET /scheduled_events"] == 2


def test_sandbox_shapes_are_calendly_shaped(live: CalendlyScheduler, sandbox) -> None:
    app, server = sandbox
    invite(app, live, "17006", "inv-s")
    post(server, "/_admin/book", {"application_id": "17006"})
    headers = {"Authorization": f"Bearer {TOKEN}"}
    org = live.check_auth()["organization"]
    listing = requests.get(server.url + "/scheduled_events", params={"organization": org}, headers=headers,
                           timeout=5).json()
    (ev,) = listing["collection"]
    assert ev["uri"].startswith(server.url + "/scheduled_events/") and ev["start_time"].endswith("Z")
    assert set(listing["pagination"]) >= {"count", "next_page", "next_page_token", "previous_page_token"}
    invitees = requests.get(ev["uri"] + "/invitees", headers=headers, timeout=5).json()["collection"]
    assert invitees[0]["tracking"]["utm_content"] == "inv-s" and invitees[0]["event"] == ev["uri"]
    json.dumps(app.world.data["calendly"], default=str)  # state stays plain data


def _la():
    from zoneinfo import ZoneInfo
    return ZoneInfo("America/Los_Angeles")
