"""Cal.com with several hosts: each key acts as its owner only (issue 11).

Cal.com's private-links controller runs ``EventTypeOwnershipGuard``: a private
link on an event type the key's owner does not own is a 404, and ``GET
/v2/bookings`` lists the key owner's own bookings. A hospital with many hiring
managers therefore configures one key per host (``scheduler.host_keys``). The
sandbox and the fakes enforce the rule; these tests drive links, bookings and
cancellations for several hosts through the sandbox, the fakes and the whole tool.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
import responses
from harness import Harness, baselined
from vendor_fakes import START, CalcomFake

from interview_sync.clock import FixedClock
from interview_sync.errors import VendorError
from interview_sync.http import VendorSession
from interview_sync.invitation import State
from interview_sync.sandbox import SandboxServer, World, build_app
from interview_sync.sandbox.client import SANDBOX_CALCOM_HOST_KEYS, SANDBOX_CALCOM_KEY
from interview_sync.scheduler.calcom import CalcomScheduler

NOW = datetime(2026, 11, 23, 15, 0, tzinfo=timezone.utc)
MARIA, JAMES = "maria.delgado@mercyvalley.example", "james.oconnor@mercyvalley.example"
PRIYA, AISHA = "priya.raman@mercyvalley.example", "aisha.bello@mercyvalley.example"
GRACE = "grace.adeyemi-walsh@mercyvalley.example"
JAMES_PHONE_SCREEN = "80020"  # sandbox event type ids: 70000 + user_id * 10 + index; James is user 1002


@pytest.fixture
def server() -> Iterator[SandboxServer]:
    world = World()
    world.fixed_now = NOW
    with SandboxServer(build_app(world, ats="greenhouse", scheduler="calcom")) as running:
        yield running


def api(server: SandboxServer, method: str, path: str, key: str, version: str, **kwargs: Any) -> requests.Response:
    headers = {"Authorization": f"Bearer {key}", "cal-api-version": version}
    return requests.request(method, f"{server.url}/v2{path}", headers=headers, timeout=5, **kwargs)


def adapter(base_url: str, key: str, host_keys: dict[str, str] | None = None, now: datetime = NOW) -> CalcomScheduler:
    return CalcomScheduler(base_url=base_url, api_key=key, host_keys=host_keys, clock=FixedClock(now),
                           session=VendorSession("calcom", sleeper=lambda seconds: None))


# --- the ownership rule, on the wire -------------------------------------------------

def test_sandbox_refuses_a_private_link_on_another_hosts_event_type(server: SandboxServer) -> None:
    """Fails on c9c380d, whose sandbox let one key create links on every host's event types."""
    path = f"/event-types/{JAMES_PHONE_SCREEN}/private-links"
    refused = api(server, "POST", path, SANDBOX_CALCOM_KEY, "2024-09-04", json={"maxUsageCount": 1})
    assert refused.status_code == 404 and "not found" in refused.json()["error"]["message"]
    assert api(server, "GET", path, SANDBOX_CALCOM_KEY, "2024-09-04").status_code == 404
    own = api(server, "POST", path, SANDBOX_CALCOM_HOST_KEYS[JAMES], "2024-09-04", json={"maxUsageCount": 1})
    assert own.status_code == 201, own.text
    data = own.json()["data"]
    assert data["eventTypeId"] == int(JAMES_PHONE_SCREEN)
    # private-links.service.ts: bookingUrl = `${NEXT_PUBLIC_WEBAPP_URL}/d/${link}`, no event slug
    assert urlsplit(data["bookingUrl"]).path == f"/d/{data['linkId']}"


def test_sandbox_private_link_takes_one_limit_not_both(server: SandboxServer) -> None:
    """private-links-input.service.ts: "Provide only one of expiresAt or maxUsageCount"."""
    path = "/event-types/80010/private-links"
    both = api(server, "POST", path, SANDBOX_CALCOM_KEY, "2024-09-04",
               json={"maxUsageCount": 1, "expiresAt": "2026-11-27T15:00:00.000Z"})
    assert both.status_code == 400 and "only one" in both.json()["error"]["message"]
    neither = api(server, "POST", path, SANDBOX_CALCOM_KEY, "2024-09-04", json={})
    assert neither.status_code == 400


def test_sandbox_lists_each_keys_own_bookings_and_event_types(server: SandboxServer) -> None:
    maria = adapter(server.url + "/v2", SANDBOX_CALCOM_KEY)
    james = adapter(server.url + "/v2", SANDBOX_CALCOM_HOST_KEYS[JAMES])
    for who, email in ((maria, MARIA), (james, JAMES)):
        host = who.find_host(email)
        assert host is not None
        event_type = who.get_event_type(host, "phone-screen-30")
        assert event_type is not None
        url = who.create_link(event_type, name="Zoë", email="zoe+nurse@example.org", ref=f"ref-{host.uri}")
        assert requests.post(f"{server.url}/_admin/book", json={"url": url}, timeout=5).status_code == 201
    assert [b.ref for b in maria.changed_bookings(NOW - timedelta(minutes=1), NOW)] == ["ref-maria-delgado"]
    assert [b.ref for b in james.changed_bookings(NOW - timedelta(minutes=1), NOW)] == ["ref-james-oconnor"]
    own = api(server, "GET", "/event-types", SANDBOX_CALCOM_HOST_KEYS[JAMES], "2024-06-14").json()["data"]
    assert {item["ownerId"] for item in own} == {1002}


def test_a_host_without_an_own_key_gets_a_clear_error_naming_host_keys(server: SandboxServer) -> None:
    lone = adapter(server.url + "/v2", SANDBOX_CALCOM_KEY)  # Maria's key, no host_keys
    host = lone.find_host(JAMES)  # found through the organization's users
    assert host is not None
    event_type = lone.get_event_type(host, "phone-screen-30")  # a public listing by username
    assert event_type is not None
    with pytest.raises(VendorError) as err:
        lone.create_link(event_type, name="Zoë", email="zoe+nurse@example.org", ref="r")
    assert "scheduler.host_keys" in str(err.value) and err.value.status == 404


def test_a_host_key_of_someone_else_is_refused(server: SandboxServer) -> None:
    mixed = adapter(server.url + "/v2", SANDBOX_CALCOM_KEY, {JAMES: SANDBOX_CALCOM_HOST_KEYS[PRIYA]})
    with pytest.raises(VendorError) as err:
        mixed.find_host(JAMES)
    assert "belongs to another Cal.com user" in str(err.value)
    assert SANDBOX_CALCOM_HOST_KEYS[PRIYA] not in str(err.value)


# --- several hosts over the documentation fakes --------------------------------------

@responses.activate
def test_fake_two_hosts_links_bookings_cancellations_through_their_own_keys() -> None:
    fake = CalcomFake(responses.mock)
    multi = adapter(CalcomFake.API, CalcomFake.KEY, CalcomFake.HOST_KEYS, now=START)
    urls = {}
    for email in (MARIA, GRACE):
        host = multi.find_host(email)
        assert host is not None and host.email == email and host.timezone == "America/Los_Angeles"
        event_type = multi.get_event_type(host, "phone-screen-30")
        assert event_type is not None
        urls[email] = multi.create_link(event_type, name="Zoë", email="zoe+nurse@example.org", ref=f"ref-{host.uri}")
    fake.book(urls[MARIA], "a-maria")
    fake.book(urls[GRACE], "a-grace")
    booked = {b.host_email: b for b in multi.changed_bookings(START - timedelta(minutes=5), START)}
    assert {email: b.ref for email, b in booked.items()} == {MARIA: "ref-maria-delgado", GRACE: "ref-grace-adeyemi-walsh"}
    assert all(b.invitee_timezone == "America/Chicago" for b in booked.values())

    fake.set_clock(later := START + timedelta(hours=1))
    fake.reschedule("a-grace", datetime(2026, 12, 3, 18, 0, tzinfo=timezone.utc))
    changed = list(adapter(CalcomFake.API, CalcomFake.KEY, CalcomFake.HOST_KEYS, now=later)
                   .changed_bookings(later - timedelta(minutes=1), later))
    assert sorted((b.status, b.host_email) for b in changed) == [("active", GRACE), ("canceled", GRACE)]
    grace_calls = [c for c in responses.calls if c.request.headers["Authorization"].endswith("host_4007")]
    assert any("/private-links" in str(c.request.url) for c in grace_calls)


@responses.activate
def test_fake_refuses_links_on_an_event_type_the_key_does_not_own() -> None:
    CalcomFake(responses.mock)
    admin_only = adapter(CalcomFake.API, CalcomFake.KEY, now=START)
    host = admin_only.find_host(MARIA)
    assert host is not None
    event_type = admin_only.get_event_type(host, "phone-screen-30")
    assert event_type is not None
    with pytest.raises(VendorError, match="scheduler.host_keys"):
        admin_only.create_link(event_type, name="Zoë", email="zoe+nurse@example.org", ref="r")


# --- the whole tool, several hosts end to end ----------------------------------------

CANDIDATES = {"17001": ("zoe+nurse@example.org", MARIA), "17002": ("jose.martinez@example.com", AISHA),
              "17003": ("siobhan.nibhriain+rt@example.net", PRIYA), "17004": ("kwame.mensah@example.org", JAMES)}


@pytest.fixture
def h(tmp_path: Path) -> Iterator[Harness]:
    with baselined(tmp_path, scheduler="calcom") as harness:
        yield harness


def test_four_hosts_end_to_end_links_bookings_and_a_cancellation(h: Harness) -> None:
    h.at(0.1)
    for application_id in CANDIDATES:
        h.sandbox.move(application_id, "Phone Screen")
    report = h.poll()
    assert report.alerts == 0 and not report.errors, report.errors
    calcom = h.world.data["calcom"]
    owners = {calcom["users"][str(calcom["event_types"][str(link["eventTypeId"])]["ownerId"])]["email"]
              for link in calcom["links"].values()}
    assert owners == {MARIA, AISHA, PRIYA, JAMES}  # each link on its own host's event type...
    for link in calcom["links"].values():  # ...made with that host's key, single use, no expiry
        assert link["createdBy"] == calcom["event_types"][str(link["eventTypeId"])]["ownerId"]
        assert (link["maxUsageCount"], link["expiresAt"]) == (1, None)

    h.at(2)
    for application_id in CANDIDATES:
        h.sandbox.book(application_id)
    report = h.poll()
    assert report.alerts == 0 and not report.errors, report.errors
    for application_id, (candidate, host) in CANDIDATES.items():
        assert h.invitation(application_id).state is State.BOOKED, application_id
        assert len(h.emails_to(candidate, "confirmation")) == 1
        assert len(h.emails_to(host, "hm_booking")) == 1

    h.at(5)
    cancelled = requests.post(f"{h.server.url}/_admin/cancel", json={"application_id": "17003", "by": "host"},
                              timeout=5)
    assert cancelled.status_code == 200, cancelled.text
    report = h.poll()
    assert not report.errors, report.errors
    assert h.invitation("17003").state is not State.BOOKED
    assert len(h.emails_to(PRIYA, "hm_cancel")) == 1 and len(h.emails_to(CANDIDATES["17003"][0], "relink")) == 1
    assert all(h.emails_to(host, "hm_cancel") == [] for host in (MARIA, AISHA, JAMES))
    assert all(h.emails_to(c, "relink") == [] for c, _ in (CANDIDATES["17001"], CANDIDATES["17002"], CANDIDATES["17004"]))


def test_a_host_missing_from_host_keys_is_reported_with_the_fix(tmp_path: Path) -> None:
    keys = {email: key for email, key in SANDBOX_CALCOM_HOST_KEYS.items() if email != JAMES}
    with baselined(tmp_path, scheduler="calcom", config_changes={"scheduler": {"host_keys": keys}}) as h:
        h.at(0.1)
        h.sandbox.move("17004", "Phone Screen")  # Kwame's job has James as hiring manager
        report = h.poll()
        assert any("scheduler.host_keys" in error for error in report.errors), report.errors
        assert h.emails_to(CANDIDATES["17004"][0]) == []  # nothing half-sent
        assert all(SANDBOX_CALCOM_HOST_KEYS[PRIYA] not in error for error in report.errors)
