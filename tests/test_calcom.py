"""Cal.com API v2: the adapter over documented payloads, and against the sandbox on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

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
from interview_sync.sandbox import SandboxApp, SandboxServer, World, build_app
from interview_sync.sandbox.client import SANDBOX_CALCOM_HOST_KEYS
from interview_sync.scheduler.calcom import CalcomScheduler, with_prefill
from vendor_payloads import calcom_booking, calcom_event_type, calcom_listing, calcom_me, calcom_org_user

API = "https://api.cal.com/v2"
NOW = datetime(2026, 11, 23, 15, 0, tzinfo=timezone.utc)  # Monday 07:00 in Los Angeles
KEY = "cal_sandbox_key"
ZOE = ("Zoë O'Brien-Nguyễn", "zoe+nurse@example.org")
MARIA = "maria.delgado@mercyvalley.example"
LA = ZoneInfo("America/Los_Angeles")


def v(version: str) -> list:
    return [matchers.header_matcher({"cal-api-version": version, "Authorization": f"Bearer {KEY}"})]


def scheduler(base_url: str = API, *, sleeper=None, on_bad_record=None, key: str = KEY,
              host_keys: dict[str, str] | None = None) -> CalcomScheduler:
    session = VendorSession("calcom", sleeper=sleeper or (lambda seconds: None))
    return CalcomScheduler(base_url=base_url, api_key=key, session=session, clock=FixedClock(NOW),
                           on_bad_record=on_bad_record, host_keys=host_keys)


def et(uri: str = "501", host: str = "maria") -> EventType:
    return EventType(uri=uri, slug="phone-screen-30", name="Phone Screen", duration_minutes=30,
                     scheduling_url="", host_uri=host)


# --- documented payloads (cal.com/docs/api-reference/v2 examples, trimmed) ------

def me(email: str = "ops@mercyvalley.example", org: int | None = 77) -> dict:
    return calcom_me(email=email, org=org)


def org_user(email: str) -> dict:
    return calcom_org_user(email)


def event_type_item(ident: int, slug: str) -> dict:
    return calcom_event_type(ident, slug)


def booking(uid: str, *, status: str = "accepted", updated: str = "2026-11-23T14:58:00.000Z", **extra) -> dict:
    body = calcom_booking(uid, attendee=ZOE, host=("Maria Delgado", MARIA), status=status, updated=updated,
                          metadata={"ref": "inv-7001"})
    body["title"] = "Phone Screen between Maria Delgado and Zoë"
    body.update(extra)
    return body


def listing(data: list, *, skip: int = 0, total: int | None = None) -> dict:
    return calcom_listing(data, skip=skip, total=total)


# --- adapter over mocks -----------------------------------------------------------

@responses.activate
def test_find_host_asks_the_org_users_by_email_without_a_version_header() -> None:
    responses.get(f"{API}/me", json=me())
    responses.get(f"{API}/organizations/77/users",
                  match=[matchers.query_param_matcher({"emails": MARIA, "take": "100"})],
                  json={"status": "success", "data": [org_user(MARIA)]})
    host = scheduler().find_host(MARIA)
    assert host == Host(uri="maria", name="Maria Delgado", email=MARIA, timezone="America/Los_Angeles")
    assert all("cal-api-version" not in call.request.headers for call in responses.calls)


@responses.activate
def test_find_host_is_the_key_owner_on_a_personal_account() -> None:
    responses.get(f"{API}/me", json=me(MARIA, org=None))
    adapter = scheduler()
    assert adapter.find_host(MARIA.upper()) is not None
    assert adapter.find_host("nobody@example.org") is None
    assert len(responses.calls) == 1  # /me is cached, no org lookup without an org


@responses.activate
def test_event_type_by_slug_and_by_id_send_2024_06_14() -> None:
    host = Host(uri="maria", name="Maria", email=MARIA)
    responses.get(f"{API}/event-types", match=v("2024-06-14") + [matchers.query_param_matcher({"username": "maria"})],
                  json={"status": "success", "data": [event_type_item(500, "other"),
                                                      event_type_item(501, "phone-screen-30")]})
    responses.get(f"{API}/event-types/501", match=v("2024-06-14"),
                  json={"status": "success", "data": event_type_item(501, "phone-screen-30")})
    adapter = scheduler()
    found = adapter.get_event_type(host, "phone-screen-30")
    assert found is not None and (found.uri, found.duration_minutes, found.host_uri) == ("501", 30, "maria")
    assert adapter.get_event_type(host, "no-such-slug") is None
    assert adapter.get_event_type(host, "501") == found


@responses.activate
def test_slots_send_2024_09_04_and_read_the_grouped_shape() -> None:
    responses.get(f"{API}/slots", match=v("2024-09-04"), json={"status": "success", "data": {
        "2026-11-24": [{"start": "2026-11-24T09:00:00.000-08:00"}, {"start": "2026-11-24T09:30:00.000-08:00"}],
        "2026-11-25": [{"start": "2026-11-25T17:00:00.000Z"}]}})
    times = scheduler().available_times(et(), NOW - timedelta(days=1), NOW + timedelta(days=10))
    (call,) = responses.calls
    query = parse_qs(urlsplit(call.request.url).query)
    assert query["eventTypeId"] == ["501"] and query["timeZone"] == ["UTC"]
    assert parse_instant(query["start"][0]) == NOW  # never asks for the past
    assert parse_instant(query["end"][0]) == NOW + timedelta(days=10)
    assert times == [datetime(2026, 11, 24, 17, 0, tzinfo=timezone.utc),
                     datetime(2026, 11, 24, 17, 30, tzinfo=timezone.utc),
                     datetime(2026, 11, 25, 17, 0, tzinfo=timezone.utc)]


@responses.activate
def test_create_link_is_single_use_without_expiry_and_prefills_exactly() -> None:
    """Cal.com refuses a body with both maxUsageCount and expiresAt ("Provide only one
    of expiresAt or maxUsageCount", private-links-input.service.ts): single use wins."""
    expires = NOW + timedelta(days=4)
    responses.post(f"{API}/event-types/501/private-links", status=201,
                   match=v("2024-09-04") + [matchers.json_params_matcher({"maxUsageCount": 1}, strict_match=True)],
                   json={"status": "success", "data": {
                       "linkId": "abc123def456", "eventTypeId": 501, "isExpired": False,
                       "bookingUrl": "https://cal.com/d/abc123def456", "maxUsageCount": 1, "usageCount": 0}})
    responses.delete(f"{API}/event-types/501/private-links/abc123def456", match=v("2024-09-04"),
                     json={"status": "success", "data": {"linkId": "abc123def456", "message": "Private link deleted"}})
    adapter = scheduler()
    url = adapter.create_link(et(), name=ZOE[0], email=ZOE[1], ref="inv-7001&x=1", expires_at=expires)
    parts = urlsplit(url)
    assert parts.path == "/d/abc123def456"
    assert parse_qs(parts.query) == {"name": [ZOE[0]], "email": [ZOE[1]], "metadata[ref]": ["inv-7001&x=1"]}
    assert "+" not in parts.query and "[" not in parts.query
    adapter.revoke_link(url)  # same run: the link's event type is remembered
    assert [c.request.method for c in responses.calls] == ["POST", "DELETE"]


@responses.activate
def test_revoke_in_a_later_run_finds_the_link_among_the_owners_event_types() -> None:
    responses.get(f"{API}/event-types", match=v("2024-06-14"),
                  json={"status": "success", "data": [event_type_item(500, "a"), event_type_item(501, "b")]})
    responses.get(f"{API}/event-types/500/private-links", match=v("2024-09-04"), json={"status": "success", "data": []})
    responses.get(f"{API}/event-types/501/private-links", match=v("2024-09-04"), json={"status": "success", "data": [
        {"linkId": "L1", "eventTypeId": 501, "isExpired": False, "bookingUrl": "https://cal.com/d/L1/b"}]})
    responses.delete(f"{API}/event-types/501/private-links/L1", match=v("2024-09-04"), status=404,
                     json={"status": "error", "error": {"code": "NOT_FOUND", "message": "gone"}})
    scheduler().revoke_link("https://cal.com/d/L1/b?name=x")  # already gone: no error
    assert responses.calls[-1].request.method == "DELETE"
    scheduler().revoke_link("https://example.org/not-a-link")  # not ours: nothing sent
    assert len(responses.calls) == 4


@settings(max_examples=60, deadline=None)
@given(name=st.text(st.characters(blacklist_categories=("Cs",)), min_size=1),
       email=st.text(st.characters(blacklist_categories=("Cs",)), min_size=1),
       ref=st.text(st.characters(blacklist_categories=("Cs",)), min_size=1))
def test_prefill_round_trips_any_text(name: str, email: str, ref: str) -> None:
    query = parse_qs(urlsplit(with_prefill("https://cal.com/d/x/y?a=1", name=name, email=email, ref=ref)).query,
                     keep_blank_values=True)
    assert query["name"] == [name] and query["email"] == [email] and query["metadata[ref]"] == [ref]
    assert query["a"] == ["1"]


@responses.activate
def test_changed_bookings_use_after_updated_at_ascending_and_page_with_skip() -> None:
    since = NOW - timedelta(minutes=5)
    base = {"afterUpdatedAt": "2026-11-23T14:55:00.000Z", "sortUpdatedAt": "asc", "take": "100"}
    first = [booking(f"U{i}", updated="2026-11-23T14:56:00.000Z") for i in range(100)]
    responses.get(f"{API}/bookings", match=v("2024-08-13") + [matchers.query_param_matcher({**base, "skip": "0"})],
                  json=listing(first, total=101))
    responses.get(f"{API}/bookings", match=v("2024-08-13") + [matchers.query_param_matcher({**base, "skip": "100"})],
                  json=listing([booking("LAST", updated="2026-11-23T14:59:00.000Z")], skip=100, total=101))
    found = list(scheduler().changed_bookings(since, NOW))
    assert len(found) == 101 and found[-1].uri == "LAST"
    b = found[0]
    assert (b.ref, b.email, b.name, b.status, b.host_email) == ("inv-7001", ZOE[1], ZOE[0], "active", MARIA)
    assert b.join_url == "https://cal.video/abc" and b.location is None and b.event_type_uri == "501"
    assert b.start == datetime(2026, 11, 24, 17, 0, tzinfo=timezone.utc)
    assert b.cancel_url == "https://cal.com/booking/U0?cancel=true"


@responses.activate
def test_statuses_reschedule_chain_and_absence_map_from_documented_fields() -> None:
    changed = "2026-11-23T14:59:00.000Z"
    responses.get(f"{API}/bookings", json=listing([
        booking("NEW", updated=changed, rescheduledFromUid="OLD", start="2026-11-26T17:00:00.000Z",
                end="2026-11-26T17:30:00.000Z"),
        booking("OLD", status="cancelled", updated=changed, rescheduledToUid="NEW", cancellationReason="Rescheduled",
                cancelledByEmail=ZOE[1]),
        booking("GONE", status="rejected", updated=changed, cancelledByEmail=MARIA, cancellationReason="No"),
        booking("WAIT", status="pending", updated=changed),
        booking("MISSED", updated=changed, attendees=[{"name": ZOE[0], "email": ZOE[1], "absent": True}],
                location="Mercy Valley Health, Suite 200", meetingUrl=None)]))
    by_uid = {b.uri: b for b in scheduler().changed_bookings(NOW - timedelta(minutes=5), NOW)}
    old, new = by_uid["OLD"], by_uid["NEW"]
    assert (old.status, old.rescheduled, old.new_booking_uri, old.canceled_by) == ("canceled", True, "NEW", "invitee")
    assert (new.status, new.old_booking_uri, new.rescheduled, new.ref) == ("active", "OLD", False, "inv-7001")
    assert (by_uid["GONE"].status, by_uid["GONE"].canceled_by, by_uid["GONE"].rescheduled) == ("canceled", "host", False)
    assert by_uid["WAIT"].status == "pending"
    assert by_uid["MISSED"].no_show and by_uid["MISSED"].location == "Mercy Valley Health, Suite 200"
    order = list(by_uid)
    assert order.index("OLD") < order.index("NEW")  # at one instant, the canceled half comes first


@responses.activate
def test_malformed_booking_goes_to_callback_and_listing_continues() -> None:
    responses.get(f"{API}/bookings", json=listing([
        booking("B1", attendees=[]), booking("B2", status="weird"), {"id": 3}, booking("B4")]))
    seen: list[BadRecord] = []
    found = list(scheduler(on_bad_record=seen.append).changed_bookings(NOW - timedelta(minutes=5), NOW))
    assert [b.uri for b in found] == ["B4"]
    assert len(seen) == 3 and all(ZOE[1] not in str(r) for r in seen)


@responses.activate
def test_mark_no_show_posts_the_attendee_with_2024_08_13() -> None:
    responses.post(f"{API}/bookings/B1/mark-absent", match=v("2024-08-13") + [matchers.json_params_matcher(
        {"attendees": [{"email": ZOE[1], "absent": True}]})], json={"status": "success", "data": booking("B1")})
    scheduler().mark_no_show(Booking(uri="B1", event_uri="B1", ref=None, email=ZOE[1], name=ZOE[0], start=NOW,
                                     end=NOW, status="active"))
    assert len(responses.calls) == 1


@responses.activate
def test_rejected_key_raises_auth_error_without_the_key() -> None:
    responses.get(f"{API}/me", status=401,
                  json={"status": "error", "error": {"code": "UNAUTHORIZED", "message": "Invalid Access Token."}})
    with pytest.raises(VendorAuthError) as err:
        scheduler(key="cal_live_secretvalue").check_auth()
    assert "cal_live_secretvalue" not in str(err.value)


# --- against the sandbox on loopback -------------------------------------------------

@pytest.fixture
def sandbox() -> Iterator[tuple[SandboxApp, SandboxServer]]:
    world = World()
    world.fixed_now = NOW
    with SandboxServer(build_app(world, ats="greenhouse", scheduler="calcom")) as server:
        yield server.app, server


@pytest.fixture
def live(sandbox) -> CalcomScheduler:
    return scheduler(sandbox[1].url + "/v2", host_keys=SANDBOX_CALCOM_HOST_KEYS)


def phone_screen(adapter: CalcomScheduler, email: str = MARIA) -> EventType:
    host = adapter.find_host(email)
    assert host is not None
    found = adapter.get_event_type(host, "phone-screen-30")
    assert found is not None
    return found


def invite(app: SandboxApp, adapter: CalcomScheduler, application_id: str, ref: str,
           expires_at: datetime | None = None) -> str:
    url = adapter.create_link(phone_screen(adapter), name=ZOE[0], email=ZOE[1], ref=ref,
                              expires_at=expires_at or NOW + timedelta(days=4))
    app.world.data.setdefault("notes", {}).setdefault(application_id, []).append(
        f"Interview invitation sent. Booking link: {url}")
    return url


def post(server: SandboxServer, path: str, body: dict) -> requests.Response:
    return requests.post(server.url + path, json=body, timeout=5)


def test_sandbox_requires_the_key_and_each_endpoints_version(live: CalcomScheduler, sandbox) -> None:
    server = sandbox[1]
    auth = {"Authorization": f"Bearer {KEY}"}
    for path, version in (("/v2/bookings", "2024-08-13"), ("/v2/event-types", "2024-06-14"),
                          ("/v2/event-types/80010/private-links", "2024-09-04"),
                          ("/v2/slots?eventTypeId=80010&start=2026-11-24&end=2026-11-24", "2024-09-04")):
        missing = requests.get(server.url + path, headers=auth, timeout=5)
        assert missing.status_code == 400 and version in missing.json()["error"]["message"], path
        wrong = requests.get(server.url + path, headers={**auth, "cal-api-version": "2024-01-01"}, timeout=5)
        assert wrong.status_code == 400, path
        assert requests.get(server.url + path, headers={**auth, "cal-api-version": version}, timeout=5).ok, path
    with pytest.raises(VendorAuthError):
        scheduler(server.url + "/v2", key="cal_wrong").check_auth()
    assert live.check_auth() == {"user": "maria-delgado", "organization": "5150"}


def test_sandbox_hosts_and_event_types(live: CalcomScheduler) -> None:
    host = live.find_host("James.OConnor@mercyvalley.example")
    assert host is not None and host.name == "James O'Connor" and host.timezone == "America/Los_Angeles"
    assert live.find_host("tom.becker@mercyvalley.example") is None  # recruiters are not hosts
    found = live.get_event_type(host, "leadership-video-60")
    assert found is not None and found.duration_minutes == 60 and found.host_uri == host.uri
    assert live.get_event_type(host, found.uri) == found


def test_sandbox_slots_are_weekday_hours(live: CalcomScheduler) -> None:
    times = live.available_times(phone_screen(live), NOW, NOW + timedelta(days=15))
    assert live.session.calls["GET /v2/slots"] == 1
    assert times[0] == datetime(2026, 11, 23, 16, 0, tzinfo=timezone.utc)  # 08:00 PST
    assert all(t.astimezone(LA).weekday() < 5 and 8 <= t.astimezone(LA).hour < 17 for t in times)
    assert len(times) == 11 * 18  # 11 weekdays x 18 half-hour slots


def test_sandbox_blocked_host_has_no_slots(live: CalcomScheduler, sandbox) -> None:
    assert post(sandbox[1], "/_admin/block", {"host_email": MARIA}).status_code == 200
    assert live.available_times(phone_screen(live), NOW, NOW + timedelta(days=10)) == []
    assert live.available_times(phone_screen(live, "priya.raman@mercyvalley.example"), NOW,
                                NOW + timedelta(days=1)) != []


def test_sandbox_private_link_is_single_use_and_prefilled(live: CalcomScheduler, sandbox) -> None:
    app, server = sandbox
    url = invite(app, live, "17001", "inv-7001")
    link_id = urlsplit(url).path.split("/")[2]
    stored = app.world.data["calcom"]["links"][link_id]
    assert stored["maxUsageCount"] == 1 and stored["expiresAt"] is None
    page_html = requests.get(url, timeout=5).text
    assert "O&#x27;Brien-Nguyễn" in page_html and "zoe+nurse@example.org" in page_html and "inv-7001" in page_html
    query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    book = f"{server.url}/d/{link_id}/book"
    first = requests.post(book, data={**query, "start": "2026-11-24T18:00:00Z"}, timeout=5)
    assert first.status_code == 201, first.text
    second = requests.post(book, data={**query, "start": "2026-11-25T18:00:00Z"}, timeout=5)
    assert second.status_code == 410 and "already been used" in second.json()["error"]["message"]
    assert "already been used" in requests.get(url, timeout=5).text
    (booking_,) = live.changed_bookings(NOW - timedelta(minutes=1), NOW)
    assert (booking_.name, booking_.email, booking_.ref) == (ZOE[0], ZOE[1], "inv-7001")
    assert booking_.start == datetime(2026, 11, 24, 18, 0, tzinfo=timezone.utc)
    assert booking_.location == "+1 916 555 0201"  # the phone screen's dial-in
    assert booking_.start not in live.available_times(phone_screen(live), NOW, NOW + timedelta(days=3))


def test_sandbox_expired_and_revoked_links_refuse(live: CalcomScheduler, sandbox) -> None:
    app, server = sandbox
    headers = {"Authorization": f"Bearer {KEY}", "cal-api-version": "2024-09-04"}
    made = requests.post(server.url + "/v2/event-types/80010/private-links", headers=headers, timeout=5,
                         json={"expiresAt": "2026-11-23T16:00:00.000Z"})  # a time-limited link, made by hand
    assert made.status_code == 201, made.text
    expiring = made.json()["data"]["bookingUrl"]
    app.world.fixed_now = NOW + timedelta(hours=2)
    refused = post(server, "/_admin/book", {"url": expiring})
    assert refused.status_code == 410 and "expired" in refused.json()["error"]["message"]
    app.world.fixed_now = NOW
    revoked = invite(app, live, "17003", "inv-r")
    fresh = scheduler(server.url + "/v2")  # a later run: finds the link by scanning event types
    fresh.revoke_link(revoked)
    assert fresh.session.calls["DELETE /v2/event-types/80010/private-links/" + urlsplit(revoked).path.split("/")[2]] == 1
    assert requests.get(revoked, timeout=5).status_code == 404
    assert post(server, "/_admin/book", {"application_id": "17003"}).status_code == 400  # no live link left


def test_sandbox_booking_reschedule_chain_then_cancel(live: CalcomScheduler, sandbox) -> None:
    app, server = sandbox
    assert post(server, "/_admin/book", {"application_id": "17001"}).status_code == 400  # no link yet
    invite(app, live, "17001", "inv-a")
    assert post(server, "/_admin/book", {"application_id": "17001"}).status_code == 201
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
    assert post(server, "/_admin/cancel", {"application_id": "17001"}).status_code == 404

    app.world.fixed_now = NOW + timedelta(days=3)
    assert post(server, "/_admin/no-show", {"application_id": "17001"}).status_code == 201
    (absent,) = live.changed_bookings(NOW + timedelta(days=3), NOW + timedelta(days=3))
    assert absent.no_show


def test_sandbox_pending_is_not_active_until_accepted(live: CalcomScheduler, sandbox) -> None:
    app, server = sandbox
    invite(app, live, "17004", "inv-p")
    assert post(server, "/_admin/calcom/pending", {"application_id": "17004"}).status_code == 201
    (pending,) = live.changed_bookings(NOW - timedelta(minutes=1), NOW)
    assert pending.status == "pending"
    assert pending.start not in live.available_times(phone_screen(live), NOW, NOW + timedelta(days=1))  # held
    app.world.fixed_now = later = NOW + timedelta(hours=1)
    assert post(server, "/_admin/calcom/accept", {"application_id": "17004"}).status_code == 200
    (accepted,) = live.changed_bookings(later, later)
    assert (accepted.uri, accepted.status) == (pending.uri, "active")


def test_sandbox_book_twice_yields_two_active_bookings_with_one_ref(live: CalcomScheduler, sandbox) -> None:
    app, server = sandbox
    invite(app, live, "17005", "inv-2")
    assert post(server, "/_admin/book", {"application_id": "17005"}).status_code == 201
    assert post(server, "/_admin/book", {"application_id": "17005"}).status_code == 410  # the page refuses
    assert post(server, "/_admin/calcom/book-twice", {"application_id": "17005"}).status_code == 201
    found = list(live.changed_bookings(NOW - timedelta(minutes=1), NOW))
    assert len(found) == 2 and {b.status for b in found} == {"active"} and {b.ref for b in found} == {"inv-2"}
    assert found[0].uri != found[1].uri and found[0].start != found[1].start


def test_sandbox_idle_poll_costs_one_request_per_key(live: CalcomScheduler, sandbox) -> None:
    app, server = sandbox
    for application_id in ("17006", "17007"):
        invite(app, live, application_id, f"inv-{application_id}")
        post(server, "/_admin/book", {"application_id": application_id})
    assert len(list(live.changed_bookings(None, NOW))) == 2
    live.session.calls.clear()
    later = NOW + timedelta(minutes=10)
    assert list(live.changed_bookings(later, later)) == []
    assert live.session.calls == {"GET /v2/bookings": 4}  # the main key and three hosts' own keys


def test_sandbox_bookings_pagination_object(live: CalcomScheduler, sandbox) -> None:
    app, server = sandbox
    for index in range(3):
        invite(app, live, f"1800{index}", f"inv-{index}")
        post(server, "/_admin/book", {"application_id": f"1800{index}"})
    headers = {"Authorization": f"Bearer {KEY}", "cal-api-version": "2024-08-13"}
    params = {"sortUpdatedAt": "asc", "take": 2}
    first = requests.get(server.url + "/v2/bookings", params=params, headers=headers, timeout=5).json()
    assert len(first["data"]) == 2 and first["pagination"]["hasNextPage"] and first["pagination"]["totalItems"] == 3
    second = requests.get(server.url + "/v2/bookings", params={**params, "skip": 2}, headers=headers, timeout=5).json()
    assert len(second["data"]) == 1 and not second["pagination"]["hasNextPage"]
    assert requests.get(server.url + "/v2/bookings", params={"take": 251}, headers=headers, timeout=5).status_code == 400


def test_sandbox_429_retry_after_is_waited_out_with_injected_sleeper(sandbox) -> None:
    app, server = sandbox
    slept: list[float] = []
    adapter = scheduler(server.url + "/v2", sleeper=slept.append)
    post(server, "/_admin/faults", {"path": "/v2/bookings", "status": 429, "headers": {"Retry-After": "7"}})
    assert list(adapter.changed_bookings(NOW, NOW)) == []
    assert slept == [7.0]
    assert adapter.session.calls["GET /v2/bookings"] == 1  # one logical call, retried inside urllib3
    assert app.world.requests["GET /v2/bookings"] == 2
