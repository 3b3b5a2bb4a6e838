"""Hostile or broken vendors (issue 10): the tool must stay bounded and keep its secrets.

- Credentials go only to the configured origin: a next link, a resource URI or
  a redirect elsewhere (another host, another loopback address or port, http
  instead of https) is refused before anything is sent, for every adapter.
- Every change listing has a page cap per poll and the poll has a deadline;
  a listing stopped early keeps its cursor and continues next poll. Greenhouse's
  stage history is part of its listing: the same budget, its own positions.
- A hung vendor costs one request timeout; a 429 with a huge Retry-After ends
  the read at once instead of sleeping.
- A page position handed out twice is a reported error, never a silent end.
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses
from harness import Harness
from responses import matchers
from typer.testing import CliRunner

from interview_sync.ats.greenhouse import STAGE_PHASE, GreenhouseATS
from interview_sync.ats.lever import LeverATS
from interview_sync.cli.app import app as cli
from interview_sync.clock import FixedClock, iso
from interview_sync.config import load_settings
from interview_sync.context import Context, build_context
from interview_sync.errors import ConfigError, ForeignOrigin, RetryTooLate, VendorError
from interview_sync.http import VendorSession, origin_of
from interview_sync.mail.transport import FileTransport
from interview_sync.paging import Paging
from interview_sync.poll import ATS_CURSOR, RESUME, SCHEDULER_CURSOR, STARTED, PollCycle
from interview_sync.scheduler.calcom import CalcomScheduler
from interview_sync.scheduler.calendly import CalendlyScheduler
from interview_sync.starter import sandbox_config, write_config
from interview_sync.state import StateDB
from vendor_payloads import (calcom_booking, calcom_listing, calendly_event, calendly_page, gh_application,
                             gh_application_stage, gh_token, gh_visit_id, lever_listing)

T0 = datetime(2026, 11, 30, 16, 0, tzinfo=timezone.utc)
GH = "https://harvest.greenhouse.io/v3"
GH_TOKEN = "https://auth.greenhouse.io/token"
LEVER = "https://api.lever.co/v1"
CALENDLY = "https://api.calendly.com"
CALCOM = "https://api.cal.com/v2"
LOOPBACK = "http://127.0.0.1:8765"
SECRET = "s3cret-token-value"


class Sleeps:
    """Records requested waits instead of sleeping."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


def session(vendor: str, sleeper: Sleeps | None = None, **kw: Any) -> VendorSession:
    return VendorSession(vendor, sleeper=sleeper if sleeper is not None else Sleeps(), **kw)


def greenhouse(base: str = GH, sleeper: Sleeps | None = None) -> GreenhouseATS:
    return GreenhouseATS(base_url=base, token_url=GH_TOKEN, client_id="client", client_secret=SECRET, user_id="4005",
                         session=session("greenhouse", sleeper), clock=FixedClock(T0))


def lever(base: str = LEVER) -> LeverATS:
    return LeverATS(base_url=base, api_key=SECRET, perform_as="actor", session=session("lever"), clock=FixedClock(T0))


def calendly(base: str = CALENDLY) -> CalendlyScheduler:
    return CalendlyScheduler(base_url=base, api_token=SECRET, session=session("calendly"), clock=FixedClock(T0))


def calcom(base: str = CALCOM) -> CalcomScheduler:
    return CalcomScheduler(base_url=base, api_key=SECRET, session=session("calcom"), clock=FixedClock(T0))


def calls_to(origin: str) -> list[responses.Call]:
    return [c for c in responses.calls if origin_of(c.request.url or "") == origin_of(origin)]


def listing_calls() -> list[responses.Call]:
    """The Greenhouse application listing's requests (not its stage-name and stage-visit reads)."""
    return [c for c in calls_to(GH) if urlsplit(c.request.url or "").path.endswith("/applications")]


def add_gh_token() -> None:
    responses.post(GH_TOKEN, json=gh_token(SECRET))
    # Stage names and stage visits, read beside every listing; empty here (the tests are about paging)
    # (one mock each: responses pops the first of several matching mocks, so none may overlap)
    for path in ("job_interview_stages", "application_stages"):
        responses.get(re.compile(rf"^https?://[^/]+/v3/{path}([/?].*)?$"), json=[])


def add_calendly_me(base: str = CALENDLY) -> None:
    responses.get(f"{base}/users/me", json={"resource": {"uri": f"{base}/users/ME",
                                                         "current_organization": f"{base}/organizations/ORG"}})


def app_row(app_id: int) -> dict[str, object]:
    return gh_application(app_id, stage_name="Application Review")


# --------------------------------------------------------------------------- origin rule


@pytest.mark.parametrize("a, b", [
    ("https://API.Calendly.com/x", "https://api.calendly.com:443/y?q=1"),
    ("http://127.0.0.1/x", "http://127.0.0.1:80/"),
    ("https://bücher.example/", "https://xn--bcher-kva.example:443/"),
])
def test_origins_compare_scheme_host_case_and_idna_and_default_ports(a: str, b: str) -> None:
    assert origin_of(a) == origin_of(b) is not None


@pytest.mark.parametrize("a, b", [
    ("https://api.calendly.com", "http://api.calendly.com"),
    ("https://api.calendly.com", "https://api.calendly.com:8443"),
    ("http://127.0.0.1:8765", "http://127.0.0.2:8765"),
    ("http://127.0.0.1:8765", "http://localhost:8765"),
    ("https://api.calendly.com", "https://api.calendly.com.evil.example"),
])
def test_origins_differ_by_scheme_port_and_host(a: str, b: str) -> None:
    assert origin_of(a) != origin_of(b)


@pytest.mark.parametrize("url", ["https://api.calendly.com@evil.example/x", "ftp://api.calendly.com/x",
                                 "javascript:alert(1)", "/relative/path"])
def test_urls_with_userinfo_or_no_http_origin_have_none(url: str) -> None:
    assert origin_of(url) is None


# The foreign places a vendor might point us at: another host, http instead of https,
# another port on the same host.
HTTPS_FOREIGN = ["https://evil.example", "http://{host}", "https://{host}:8443"]
# And against a loopback base: another loopback address, another port, another name.
LOOPBACK_FOREIGN = ["http://127.0.0.2:8765", "http://127.0.0.1:9999", "http://localhost:8765"]


def _foreign(base: str) -> list[str]:
    host = urlsplit(base).hostname
    patterns = LOOPBACK_FOREIGN if base.startswith("http://") else HTTPS_FOREIGN
    return [p.format(host=host) for p in patterns]


def _bases(api: str) -> list[str]:
    """The real API root and a loopback one (the sandbox's shape)."""
    return [api, LOOPBACK + urlsplit(api).path]


GH_CASES = [(base, foreign) for base in _bases(GH) for foreign in _foreign(base)]
GH_CASES.append((GH, "https://auth.greenhouse.io"))  # the token host is configured for tokens only


@pytest.mark.parametrize("base, foreign", GH_CASES)
@responses.activate
def test_greenhouse_refuses_a_next_link_off_its_origin_and_sends_it_nothing(base: str, foreign: str) -> None:
    add_gh_token()
    next_url = f"{foreign}/v3/applications?cursor=c2"
    responses.get(f"{base}/applications", json=[app_row(1)], headers={"Link": f'<{next_url}>; rel="next"'})
    responses.get(next_url, json=[app_row(2)])
    with pytest.raises(ForeignOrigin) as err:
        list(greenhouse(base).changed_applications(None))
    assert [c for c in calls_to(foreign) if c.request.url != GH_TOKEN] == []
    assert origin_of(foreign) in str(err.value) and "cursor" not in str(err.value)  # origin only, never the query


# Each adapter's first listing call, redirected elsewhere by the vendor (for Lever and
# Cal.com a redirect is the only vendor URL they could be led to follow), against the
# real API root and against a loopback one (the sandbox's shape).
LISTINGS: dict[str, tuple[str, str, Any]] = {
    "greenhouse": (GH, "/applications", lambda base: list(greenhouse(base).changed_applications(None))),
    "lever": (LEVER, "/opportunities", lambda base: list(lever(base).changed_applications(None))),
    "calendly": (CALENDLY, "/users/me",
                 lambda base: list(calendly(base).changed_bookings(T0 - timedelta(minutes=5), T0))),
    "calcom": (CALCOM, "/bookings", lambda base: list(calcom(base).changed_bookings(T0 - timedelta(minutes=5), T0))),
}
REDIRECTS = [(name, base, foreign) for name, (api, _, _) in LISTINGS.items()
             for base in _bases(api) for foreign in _foreign(base)]


@pytest.mark.parametrize("adapter, base, foreign", REDIRECTS)
@responses.activate
def test_every_adapter_refuses_a_redirect_off_its_origin(adapter: str, base: str, foreign: str) -> None:
    _, path, listing = LISTINGS[adapter]
    add_gh_token()
    target = f"{foreign}{urlsplit(base).path}{path}"
    responses.get(base + path, status=302, headers={"Location": target})
    responses.get(target, json={})
    with pytest.raises(ForeignOrigin):
        listing(base)
    assert calls_to(foreign) == []


@responses.activate
def test_lever_offset_that_looks_like_a_url_stays_a_parameter_on_our_origin() -> None:
    responses.get(f"{LEVER}/opportunities", json=lever_listing([], next_token="https://evil.example/steal"))
    list(lever().changed_applications(None, Paging.budget(1, None, lambda: False)))
    assert calls_to("https://evil.example") == [] and len(calls_to(LEVER)) == 1


@pytest.mark.parametrize("base, foreign", [(base, foreign) for base in _bases(CALENDLY) for foreign in _foreign(base)])
@responses.activate
def test_calendly_refuses_an_event_uri_off_its_origin_and_reads_nothing_for_it(base: str, foreign: str) -> None:
    add_calendly_me(base)
    hostile = calendly_event(f"{foreign}/scheduled_events/EVIL", start=iso(T0), end=iso(T0 + timedelta(minutes=30)),
                             updated=iso(T0), event_type=f"{base}/event_types/ET", host_uri=f"{base}/users/H",
                             host_email="h@example.org", host_name="H")
    responses.get(f"{base}/scheduled_events", json=calendly_page([hostile]))
    responses.get(f"{base}/scheduled_events/EVIL/invitees", json=calendly_page([]))
    responses.get(f"{foreign}/scheduled_events/EVIL/invitees", json=calendly_page([]))
    with pytest.raises(ForeignOrigin):
        list(calendly(base).changed_bookings(T0 - timedelta(minutes=5), T0))
    assert calls_to(foreign) == []
    assert not [c for c in responses.calls if "/invitees" in (c.request.url or "")]


@pytest.mark.parametrize("foreign", _foreign(CALENDLY))
@responses.activate
def test_calendly_follows_its_page_token_never_a_foreign_next_page_url(foreign: str) -> None:
    add_calendly_me()
    first = calendly_page([], next_token="t2")
    first["pagination"]["next_page"] = f"{foreign}/scheduled_events?page_token=t2"
    responses.get(f"{CALENDLY}/scheduled_events", json=first)  # answered first, then the empty last page
    responses.get(f"{CALENDLY}/scheduled_events", json=calendly_page([]))
    list(calendly().changed_bookings(T0 - timedelta(minutes=5), T0))
    assert calls_to(foreign) == []
    listed = [c.request.url or "" for c in calls_to(CALENDLY) if "/scheduled_events" in (c.request.url or "")]
    assert len(listed) == 2 and "page_token=t2" in listed[1]


@responses.activate
def test_greenhouse_token_url_on_its_own_host_is_still_allowed() -> None:
    """The token URL is configuration, not something a vendor told us."""
    add_gh_token()
    responses.get(f"{GH}/applications", json=[app_row(1)])
    assert [a.id for a in greenhouse().changed_applications(None)] == ["1"]
    assert len(calls_to(GH_TOKEN)) == 1


# --------------------------------------------------------------------------- the poll


class QuietScheduler:
    """A scheduler with nothing to report; records that it was asked."""

    name = "quiet"

    def __init__(self) -> None:
        self.asked: list[Any] = []

    def changed_bookings(self, since: datetime | None, now: datetime, paging: Paging | None = None) -> Iterator[Any]:
        self.asked.append((since, now))
        return iter([])


class Ticks:
    """A monotonic timer for the poll deadline that the test moves by hand."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def poll_context(tmp_path: Path, db: StateDB, ats_adapter: Any, scheduler_adapter: Any, clock: FixedClock,
                 **sections: Any) -> Context:
    """A poll over the given adapters; ``sections`` are config overrides (``ats={"max_pages": 3}``)."""
    settings = load_settings(tmp_path / "absent.toml", require_file=False,
                             overrides={"state": {"path": str(tmp_path / "state.db")}, **sections})
    return build_context(settings, clock=clock, db=db, transport=FileTransport(tmp_path / "outbox", clock),
                         ats=ats_adapter, scheduler=scheduler_adapter)


def baseline(db: StateDB, at: datetime) -> None:
    db.set_cursor(ATS_CURSOR, iso(at))
    db.mark_baselined(ATS_CURSOR)


@responses.activate
def test_a_foreign_next_link_stops_the_poll_with_an_error_and_keeps_the_cursor(tmp_path: Path, db: StateDB) -> None:
    add_gh_token()
    responses.get(f"{GH}/applications", json=[], headers={"Link": '<https://evil.example/v3/applications?c=2>; '
                                                                   'rel="next"'})
    responses.get("https://evil.example/v3/applications", json=[])
    baseline(db, T0 - timedelta(hours=1))
    ctx = poll_context(tmp_path, db, greenhouse(), QuietScheduler(), FixedClock(T0))
    report = PollCycle(ctx).run()
    assert any("refused to call https://evil.example:443" in line for line in report.errors), report.errors
    assert report.needs_attention
    assert db.get_cursor(ATS_CURSOR) == iso(T0 - timedelta(hours=1))
    assert calls_to("https://evil.example") == []


def endless_cursors(request: Any) -> tuple[int, dict[str, str], str]:
    """Greenhouse gone wrong: every page has a fresh cursor, for ever."""
    page = int(parse_qs(urlsplit(request.url).query).get("cursor", ["0"])[0])
    return 200, {"Link": f'<{GH}/applications?cursor={page + 1}>; rel="next"'}, "[]"


@responses.activate
def test_endless_fresh_cursors_stop_at_the_page_cap_and_the_next_poll_continues(tmp_path: Path, db: StateDB) -> None:
    add_gh_token()
    responses.add_callback(responses.GET, f"{GH}/applications", callback=endless_cursors)
    before = T0 - timedelta(hours=1)
    baseline(db, before)
    ctx = poll_context(tmp_path, db, greenhouse(), QuietScheduler(), FixedClock(T0), ats={"max_pages": 3})
    report = PollCycle(ctx).run()
    assert len(listing_calls()) == 3
    assert report.notices == ["greenhouse: read 3 pages of changed applications, the cap (ats.max_pages = 3); "
                              "the next poll continues from there"]
    assert not report.errors  # a page cap is routine catch-up: exit 0
    assert db.get_cursor(ATS_CURSOR) == iso(before)  # never past unread pages
    assert db.get_cursor(ATS_CURSOR + RESUME) == f"{GH}/applications?cursor=3"
    assert db.get_cursor(ATS_CURSOR + STARTED) == iso(T0)

    # The next poll starts at the saved page, not at the beginning.
    ctx.clock = FixedClock(T0 + timedelta(minutes=5))
    PollCycle(ctx).run()
    assert [c.request.url for c in listing_calls()[3:]] == [f"{GH}/applications?cursor={n}" for n in (3, 4, 5)]
    assert db.get_cursor(ATS_CURSOR + RESUME) == f"{GH}/applications?cursor=6"
    assert db.get_cursor(ATS_CURSOR + STARTED) == iso(T0)  # still the listing's first instant


@responses.activate
def test_a_listing_that_spans_polls_moves_the_cursor_to_where_it_began(tmp_path: Path, db: StateDB) -> None:
    add_gh_token()
    baseline(db, T0 - timedelta(hours=1))
    db.set_cursor(ATS_CURSOR + RESUME, f"{GH}/applications?cursor=2")
    db.set_cursor(ATS_CURSOR + STARTED, iso(T0 - timedelta(minutes=10)))
    responses.get(f"{GH}/applications", json=[app_row(2)])  # the last page: no Link
    ctx = poll_context(tmp_path, db, greenhouse(), QuietScheduler(), FixedClock(T0), ats={"max_pages": 3})
    report = PollCycle(ctx).run()
    assert not report.errors and not report.notices
    assert [c.request.url for c in calls_to(GH) if "/applications" in (c.request.url or "")] == \
        [f"{GH}/applications?cursor=2"]
    assert db.get_cursor(ATS_CURSOR) == iso(T0 - timedelta(minutes=10))  # changes during the listing are re-read
    assert not db.get_cursor(ATS_CURSOR + RESUME)


@responses.activate
def test_a_refused_saved_position_is_dropped_so_the_listing_starts_over(tmp_path: Path, db: StateDB) -> None:
    add_gh_token()
    baseline(db, T0 - timedelta(hours=1))
    db.set_cursor(ATS_CURSOR + RESUME, "https://evil.example/v3/applications?cursor=9")
    ctx = poll_context(tmp_path, db, greenhouse(), QuietScheduler(), FixedClock(T0))
    report = PollCycle(ctx).run()
    assert any("refused to call" in line for line in report.errors)
    assert not db.get_cursor(ATS_CURSOR + RESUME) and db.get_cursor(ATS_CURSOR) == iso(T0 - timedelta(hours=1))
    assert calls_to("https://evil.example") == []


@responses.activate
def test_the_poll_deadline_stops_between_pages_saves_the_position_and_says_so(tmp_path: Path, db: StateDB) -> None:
    add_gh_token()
    ticks = Ticks()

    def page(request: Any) -> tuple[int, dict[str, str], str]:
        ticks.now += 100  # every page read costs 100 s of the 240 s deadline
        return endless_cursors(request)

    responses.add_callback(responses.GET, f"{GH}/applications", callback=page)
    baseline(db, T0 - timedelta(hours=1))
    scheduler = QuietScheduler()
    ctx = poll_context(tmp_path, db, greenhouse(), scheduler, FixedClock(T0), poll={"deadline_seconds": 240})
    report = PollCycle(ctx, timer=ticks).run()
    assert len(listing_calls()) == 3  # 300 s > 240 s: no fourth page
    assert report.errors == ["poll stopped at its deadline (poll.deadline_seconds = 240) before reading all "
                             "changed applications; what was done is saved and the next poll continues"]
    assert report.needs_attention  # the cycle could not complete: exit 1
    assert scheduler.asked == []  # later steps do not start after the deadline
    assert db.get_cursor(ATS_CURSOR + RESUME) == f"{GH}/applications?cursor=3"
    assert db.get_cursor(ATS_CURSOR) == iso(T0 - timedelta(hours=1))


@responses.activate
def test_the_deadline_mid_page_resumes_at_that_page(tmp_path: Path, db: StateDB) -> None:
    add_gh_token()
    ticks = Ticks()
    responses.get(f"{GH}/applications", json=[app_row(1), app_row(2)],
                  headers={"Link": f'<{GH}/applications?cursor=2>; rel="next"'})
    responses.get(f"{GH}/applications?cursor=2", json=[app_row(3), app_row(4)],
                  headers={"Link": f'<{GH}/applications?cursor=3>; rel="next"'})
    ctx = poll_context(tmp_path, db, greenhouse(), QuietScheduler(), FixedClock(T0))
    cycle = PollCycle(ctx, timer=ticks)
    handled: list[str] = []
    original = cycle._on_application

    def on_application(app: Any, first_run: bool) -> None:
        handled.append(app.id)
        if app.id == "3":
            ticks.now = 1000.0
        original(app, first_run)

    cycle._on_application = on_application  # type: ignore[method-assign]
    report = cycle.run()
    assert handled == ["1", "2", "3"]
    assert "deadline" in report.errors[0]
    assert db.get_cursor(ATS_CURSOR + RESUME) == f"{GH}/applications?cursor=2"  # page 2 is read again
    assert not db.is_baselined(ATS_CURSOR)


def fault(h: Harness, path: str, status: int, headers: dict[str, str], times: int = 1) -> None:
    for _ in range(times):
        requests.post(f"{h.server.url}/_admin/faults", json={"path": path, "status": status, "headers": headers},
                      timeout=5).raise_for_status()


def test_a_huge_retry_after_ends_the_poll_early_with_one_line(harness: Harness) -> None:
    """Over real HTTP (urllib3's retry loop is what used to sleep 3 x 30 s)."""
    harness.poll()  # the baseline
    harness.at(0.1)
    cursor = harness.ctx.db.get_cursor(ATS_CURSOR)
    listed = harness.world.requests["GET /v3/applications"]
    scheduled = harness.world.requests["GET /scheduled_events"]
    fault(harness, "/v3/applications", 429, {"Retry-After": "3600"}, times=4)
    report = harness.poll()
    assert harness.world.requests["GET /v3/applications"] == listed + 1  # asked once, no retries
    assert len(report.errors) == 1 and report.errors[0].startswith(
        "reading the ATS stopped: greenhouse: GET /v3/applications rate-limited (429): the vendor asks to wait "
        "3600 s, more than the 30 s one poll may sleep")
    assert harness.world.requests["GET /scheduled_events"] == scheduled  # the poll ended early
    assert harness.ctx.db.get_cursor(ATS_CURSOR) == cursor


@responses.activate
def test_the_scheduler_listing_pauses_at_its_cap_and_resumes_with_the_same_query(tmp_path: Path,
                                                                                   db: StateDB) -> None:
    add_calendly_me()
    responses.get(f"{CALENDLY}/scheduled_events", json=calendly_page([], next_token="t2"),
                  match=[matchers.query_param_matcher({"count": "100"}, strict_match=False)])
    ats = QuietATS()
    db.set_cursor(SCHEDULER_CURSOR, iso(T0 - timedelta(hours=1)))
    ctx = poll_context(tmp_path, db, ats, calendly(), FixedClock(T0), scheduler={"max_pages": 1})
    report = PollCycle(ctx).run()
    assert report.notices and "scheduler.max_pages = 1" in report.notices[0]
    assert db.get_cursor(SCHEDULER_CURSOR + RESUME) == "t2"
    assert db.get_cursor(SCHEDULER_CURSOR) == iso(T0 - timedelta(hours=1))
    first_query = parse_qs(urlsplit(responses.calls[-1].request.url).query)

    responses.replace(responses.GET, f"{CALENDLY}/scheduled_events", json=calendly_page([]))
    ctx.clock = FixedClock(T0 + timedelta(minutes=5))
    report = PollCycle(ctx).run()
    second_query = parse_qs(urlsplit(responses.calls[-1].request.url).query)
    assert second_query == {**first_query, "page_token": ["t2"]}
    assert db.get_cursor(SCHEDULER_CURSOR) == iso(T0) and not db.get_cursor(SCHEDULER_CURSOR + RESUME)


class QuietATS:
    name = "quiet"

    def changed_applications(self, since: datetime | None, paging: Paging | None = None) -> Iterator[Any]:
        return iter([])


# --------------------------------------------------------------------------- page caps per adapter


def budget(pages: int, start: str | None = None) -> Paging:
    return Paging.budget(pages, start, lambda: False)


@responses.activate
def test_lever_listing_stops_at_its_cap_and_resumes_at_the_offset() -> None:
    responses.get(f"{LEVER}/opportunities", json=lever_listing([], next_token="o2"),
                  match=[matchers.query_param_matcher({"offset": "o1"}, strict_match=False)])
    responses.get(f"{LEVER}/opportunities", json=lever_listing([], next_token="o1"))
    paging = budget(1)
    list(lever().changed_applications(None, paging))
    assert paging.resume == "o1" and paging.stopped == "page cap"
    resumed = budget(1, "o1")
    list(lever().changed_applications(None, resumed))
    assert parse_qs(urlsplit(responses.calls[-1].request.url).query)["offset"] == ["o1"]
    assert resumed.resume == "o2"


@responses.activate
def test_calcom_listing_stops_at_its_cap_and_resumes_at_the_last_updated_at_not_a_skip() -> None:
    rows = [calcom_booking(f"uid-{n}", attendee=("Zoe", "zoe@example.org"), host=("Maria", "maria@example.org"),
                           updated=f"2026-11-30T15:0{n}:00.000Z") for n in range(3)]
    responses.get(f"{CALCOM}/bookings", json=calcom_listing(rows, total=500))
    paging = budget(1)
    found = list(calcom().changed_bookings(T0 - timedelta(hours=1), T0, paging))
    assert [b.uri for b in found] == ["uid-0", "uid-1", "uid-2"]
    assert paging.stopped == "page cap" and paging.resume == "0|2026-11-30T15:02:00.000Z|0"  # key 0's position
    list(calcom().changed_bookings(T0 - timedelta(hours=1), T0, budget(1, paging.resume)))
    query = parse_qs(urlsplit(responses.calls[-1].request.url).query)
    assert query["afterUpdatedAt"] == ["2026-11-30T15:02:00.000Z"] and query["skip"] == ["0"]


@responses.activate
def test_calcom_listing_over_several_host_keys_resumes_at_the_key_it_stopped_in() -> None:
    """Each Cal.com key lists only its owner's bookings: a paused listing must
    resume in the key it stopped in, and still read every later key."""
    from responses import matchers

    def listing_for(key: str, uid: str, total: int) -> None:
        row = calcom_booking(uid, attendee=("Zoe", "zoe@example.org"), host=("Maria", "maria@example.org"),
                             updated="2026-11-30T15:00:00.000Z")
        responses.get(f"{CALCOM}/bookings", json=calcom_listing([row], total=total),
                      match=[matchers.header_matcher({"Authorization": f"Bearer {key}"})])

    listing_for(SECRET, "uid-main", total=500)  # key 0 has more pages than the budget of one...
    responses.get(f"{CALCOM}/bookings", json=calcom_listing([], skip=1, total=1),  # ...and ends on its next page
                  match=[matchers.header_matcher({"Authorization": f"Bearer {SECRET}"})])
    listing_for("host-key", "uid-host", total=1)
    adapter = CalcomScheduler(base_url=CALCOM, api_key=SECRET, session=session("calcom"), clock=FixedClock(T0),
                              host_keys={"priya@example.org": "host-key"})
    paging = budget(1)
    assert [b.uri for b in adapter.changed_bookings(T0 - timedelta(hours=1), T0, paging)] == ["uid-main"]
    assert paging.resume is not None and paging.resume.startswith("0|")
    responses.calls.reset()
    resumed = budget(5, paging.resume)
    found = [b.uri for b in adapter.changed_bookings(T0 - timedelta(hours=1), T0, resumed)]
    assert "uid-host" in found  # the second key is read after the first resumes
    keys_used = [c.request.headers["Authorization"] for c in responses.calls]
    assert keys_used == [f"Bearer {SECRET}", "Bearer host-key"]
    first_query = parse_qs(urlsplit(responses.calls[0].request.url).query)
    assert first_query["afterUpdatedAt"] == ["2026-11-30T15:00:00.000Z"]  # key 0 resumed where it stopped


@responses.activate
def test_calendly_listing_stops_at_its_cap_with_the_next_page_token() -> None:
    add_calendly_me()
    responses.get(f"{CALENDLY}/scheduled_events", json=calendly_page([], next_token="t2"))
    paging = budget(1)
    list(calendly().changed_bookings(T0 - timedelta(minutes=5), T0, paging))
    assert paging.resume == "t2" and paging.stopped == "page cap"


# --------------------------------------------------------------------------- Greenhouse stage history


class StageBacklog:
    """Greenhouse after downtime: ``pages`` pages of stage history (``per_page`` moves each,
    page n at ``?cursor=n``), every move one that left the application's ``updated_at``
    alone, so the ``updated_at`` listing is empty and the stage history is the only signal."""

    def __init__(self, pages: int, per_page: int = 1) -> None:
        self.pages, self.per_page = pages, per_page
        self.moved = [20000 + n for n in range(pages * per_page)]
        self.stage_pages: list[int] = []  # the stage-history pages asked for, in order
        responses.post(GH_TOKEN, json=gh_token(SECRET))
        responses.get(re.compile(rf"^{re.escape(GH)}/job_interview_stages([/?].*)?$"), json=[])
        responses.add_callback(responses.GET, re.compile(rf"^{re.escape(GH)}/application_stages([/?].*)?$"),
                               callback=self.history)
        responses.add_callback(responses.GET, re.compile(rf"^{re.escape(GH)}/applications([/?].*)?$"),
                               callback=self.applications)

    @staticmethod
    def visit(app_id: int) -> dict[str, Any]:
        return gh_application_stage(gh_visit_id(app_id), app_id, 10101, "2026-11-30T15:30:00.000Z", None)

    def history(self, request: Any) -> tuple[int, dict[str, str], str]:
        query = parse_qs(urlsplit(request.url).query)
        if "application_ids" in query:
            return 200, {}, json.dumps([self.visit(int(i)) for i in query["application_ids"][0].split(",")])
        page = int(query.get("cursor", ["1"])[0])
        assert page == 1 or set(query) == {"cursor"}, "a cursor URL is followed verbatim"
        self.stage_pages.append(page)
        rows = [self.visit(a) for a in self.moved[(page - 1) * self.per_page:page * self.per_page]]
        rows.append(gh_application_stage(gh_visit_id(9, page), 9, 10100, "2026-11-01T10:00:00.000Z",
                                         "2026-11-30T15:30:00.000Z"))  # a visit the move closed: not current
        more = {"Link": f'<{GH}/application_stages?cursor={page + 1}>; rel="next"'} if page < self.pages else {}
        return 200, more, json.dumps(rows)

    def applications(self, request: Any) -> tuple[int, dict[str, str], str]:
        query = parse_qs(urlsplit(request.url).query)
        if "ids" in query:
            return 200, {}, json.dumps([app_row(int(i)) for i in query["ids"][0].split(",")])
        return 200, {}, "[]"  # updated_at=gte|...: the moves left updated_at alone

    def listed(self) -> int:
        """How many times the ``updated_at`` listing of applications was read."""
        return len([c for c in listing_calls() if "updated_at" in (c.request.url or "")])


def handled_by(cycle: PollCycle, into: list[str], each: Any = None) -> PollCycle:
    """Record every application the poll handles (``each`` runs first, e.g. to spend time)."""
    original = cycle._on_application

    def on_application(app: Any, first_run: bool) -> None:
        into.append(app.id)
        if each is not None:
            each(app)
        original(app, first_run)

    cycle._on_application = on_application  # type: ignore[method-assign]
    return cycle


def stage_position(page: int) -> str:
    return f"{STAGE_PHASE}{GH}/application_stages?cursor={page}"


@responses.activate
def test_a_stage_history_backlog_over_the_page_cap_is_read_over_several_polls(tmp_path: Path, db: StateDB) -> None:
    """Seven pages of moves under a cap of three pages a poll: one page of the ``updated_at``
    listing and two of stage history, then three, then the last two; each page's moves are
    handled when it is read, so every move is handled once and the cursor waits for the end."""
    backlog = StageBacklog(pages=7)
    before = T0 - timedelta(hours=1)
    baseline(db, before)
    ctx = poll_context(tmp_path, db, greenhouse(), QuietScheduler(), FixedClock(T0), ats={"max_pages": 3})
    handled: list[str] = []
    report = handled_by(PollCycle(ctx), handled).run()
    assert backlog.listed() == 1 and backlog.stage_pages == [1, 2]
    assert handled == ["20000", "20001"]
    assert report.notices == ["greenhouse: read 3 pages of changed applications, the cap (ats.max_pages = 3); "
                              "the next poll continues from there"] and not report.errors
    assert db.get_cursor(ATS_CURSOR + RESUME) == stage_position(3)
    assert db.get_cursor(ATS_CURSOR) == iso(before) and db.get_cursor(ATS_CURSOR + STARTED) == iso(T0)

    ctx.clock = FixedClock(T0 + timedelta(minutes=5))
    handled_by(PollCycle(ctx), handled).run()
    assert backlog.listed() == 1  # the finished applications phase is not read again
    assert backlog.stage_pages == [1, 2, 3, 4, 5]
    assert db.get_cursor(ATS_CURSOR + RESUME) == stage_position(6)
    assert db.get_cursor(ATS_CURSOR) == iso(before)

    ctx.clock = FixedClock(T0 + timedelta(minutes=10))
    report = handled_by(PollCycle(ctx), handled).run()
    assert backlog.stage_pages == [1, 2, 3, 4, 5, 6, 7] and not report.notices and not report.errors
    assert handled == [str(a) for a in backlog.moved]  # each move once, none skipped
    assert all(db.get_application(str(a)) is not None for a in backlog.moved)
    assert db.get_cursor(ATS_CURSOR) == iso(T0)  # where the listing began, two polls ago
    assert not db.get_cursor(ATS_CURSOR + RESUME)

    ctx.clock = FixedClock(T0 + timedelta(minutes=15))
    handled_by(PollCycle(ctx), handled).run()  # the next listing starts over, from the new cursor
    assert backlog.listed() == 2 and backlog.stage_pages[7:] == [1, 2]
    last = [parse_qs(urlsplit(c.request.url or "").query) for c in listing_calls()][-3]  # before 2 by-id reads
    assert last["updated_at"] == [f"gte|{iso(T0 - timedelta(minutes=ctx.settings.ats.overlap_minutes))}"]


@responses.activate
def test_a_stage_history_position_stays_on_the_configured_origin() -> None:
    backlog = StageBacklog(pages=3)
    paging = budget(2)
    found = [a.id for a in greenhouse().changed_applications(T0 - timedelta(hours=1), paging)]
    assert found == ["20000"] and paging.stopped == "page cap"
    assert paging.resume is not None and paging.resume.startswith(STAGE_PHASE)
    assert origin_of(paging.resume.removeprefix(STAGE_PHASE)) == origin_of(GH)

    resumed = budget(5, paging.resume)
    assert [a.id for a in greenhouse().changed_applications(T0 - timedelta(hours=1), resumed)] == ["20001", "20002"]
    assert backlog.stage_pages == [1, 2, 3] and backlog.listed() == 1 and resumed.resume is None


@responses.activate
def test_the_budget_can_run_out_between_the_two_phases() -> None:
    """The stage history's first page is a position too: its filters are in the URL."""
    backlog = StageBacklog(pages=1)
    since = T0 - timedelta(hours=1)
    paging = budget(1)
    assert list(greenhouse().changed_applications(since, paging)) == []
    assert backlog.stage_pages == [] and paging.resume is not None
    first = urlsplit(paging.resume.removeprefix(STAGE_PHASE))
    assert paging.resume.startswith(f"{STAGE_PHASE}{GH}/application_stages?")
    assert parse_qs(first.query) == {"per_page": ["500"], "updated_at": [f"gte|{iso(since)}"]}

    resumed = budget(1, paging.resume)
    assert [a.id for a in greenhouse().changed_applications(since, resumed)] == ["20000"]
    assert backlog.listed() == 1 and resumed.resume is None


@responses.activate
def test_the_deadline_stops_the_stage_history_between_pages(tmp_path: Path, db: StateDB) -> None:
    backlog = StageBacklog(pages=6)
    ticks = Ticks()
    baseline(db, T0 - timedelta(hours=1))
    ctx = poll_context(tmp_path, db, greenhouse(), QuietScheduler(), FixedClock(T0), poll={"deadline_seconds": 240})
    handled: list[str] = []

    def slow(app: Any) -> None:
        ticks.now += 100  # every move handled costs 100 s of the 240 s deadline

    report = handled_by(PollCycle(ctx, timer=ticks), handled, slow).run()
    assert backlog.stage_pages == [1, 2, 3] and handled == ["20000", "20001", "20002"]  # 300 s > 240 s: no page 4
    assert report.errors == ["poll stopped at its deadline (poll.deadline_seconds = 240) before reading all "
                             "changed applications; what was done is saved and the next poll continues"]
    assert db.get_cursor(ATS_CURSOR + RESUME) == stage_position(4)  # page 3 was handled: not read again
    assert db.get_cursor(ATS_CURSOR) == iso(T0 - timedelta(hours=1))

    ctx.clock = FixedClock(T0 + timedelta(minutes=5))
    report = handled_by(PollCycle(ctx, timer=Ticks()), handled).run()
    assert not report.errors and backlog.stage_pages == [1, 2, 3, 4, 5, 6] and backlog.listed() == 1
    assert handled == [str(a) for a in backlog.moved] and db.get_cursor(ATS_CURSOR) == iso(T0)


@responses.activate
def test_the_deadline_mid_stage_history_page_reads_that_page_again(tmp_path: Path, db: StateDB) -> None:
    backlog = StageBacklog(pages=3, per_page=2)
    ticks = Ticks()
    baseline(db, T0 - timedelta(hours=1))
    ctx = poll_context(tmp_path, db, greenhouse(), QuietScheduler(), FixedClock(T0))
    handled: list[str] = []

    def stall(app: Any) -> None:
        if app.id == "20002":  # the first move on page 2
            ticks.now = 1000.0

    report = handled_by(PollCycle(ctx, timer=ticks), handled, stall).run()
    assert handled == ["20000", "20001", "20002"] and "deadline" in report.errors[0]
    assert db.get_cursor(ATS_CURSOR + RESUME) == stage_position(2)  # 20003 is on it, not yet handled

    ctx.clock = FixedClock(T0 + timedelta(minutes=5))
    handled_by(PollCycle(ctx), handled).run()
    assert backlog.stage_pages == [1, 2, 2, 3]
    assert set(handled) == {str(a) for a in backlog.moved} and handled.count("20003") == 1
    assert db.get_cursor(ATS_CURSOR) == iso(T0) and not db.get_cursor(ATS_CURSOR + RESUME)


@responses.activate
def test_a_saved_stage_history_position_off_the_origin_is_refused_and_dropped(tmp_path: Path, db: StateDB) -> None:
    StageBacklog(pages=1)
    baseline(db, T0 - timedelta(hours=1))
    db.set_cursor(ATS_CURSOR + RESUME, f"{STAGE_PHASE}https://evil.example/v3/application_stages?cursor=9")
    ctx = poll_context(tmp_path, db, greenhouse(), QuietScheduler(), FixedClock(T0))
    report = PollCycle(ctx).run()
    assert any("refused to call https://evil.example:443" in line for line in report.errors), report.errors
    assert calls_to("https://evil.example") == []
    assert not db.get_cursor(ATS_CURSOR + RESUME) and db.get_cursor(ATS_CURSOR) == iso(T0 - timedelta(hours=1))


@pytest.mark.parametrize("foreign", _foreign(GH))
@responses.activate
def test_greenhouse_refuses_a_stage_history_link_off_its_origin(foreign: str) -> None:
    add_gh_token()
    responses.replace(responses.GET, re.compile(r"^https?://[^/]+/v3/application_stages([/?].*)?$"), json=[],
                      headers={"Link": f'<{foreign}/v3/application_stages?cursor=c2>; rel="next"'})
    responses.get(f"{GH}/applications", json=[])
    with pytest.raises(ForeignOrigin):
        list(greenhouse().changed_applications(T0 - timedelta(hours=1), budget(5)))
    assert [c for c in calls_to(foreign) if c.request.url != GH_TOKEN] == []


@responses.activate
def test_greenhouse_stage_history_link_loop_is_an_error() -> None:
    add_gh_token()
    a, b = f"{GH}/application_stages?cursor=a", f"{GH}/application_stages?cursor=b"
    responses.replace(responses.GET, re.compile(r"^https?://[^/]+/v3/application_stages([/?].*)?$"), json=[],
                      headers={"Link": f'<{a}>; rel="next"'})
    responses.get(a, json=[], headers={"Link": f'<{b}>; rel="next"'},
                  match=[matchers.query_param_matcher({"cursor": "a"})])
    responses.get(b, json=[], headers={"Link": f'<{a}>; rel="next"'},
                  match=[matchers.query_param_matcher({"cursor": "b"})])
    responses.get(f"{GH}/applications", json=[])
    with pytest.raises(VendorError, match="same page position twice"):
        list(greenhouse().changed_applications(T0 - timedelta(hours=1), budget(50)))


@responses.activate
def test_without_the_stage_history_scope_a_resumed_stage_position_ends_the_listing() -> None:
    """A 403 on a stage-history page (the scope withdrawn between polls) leaves the
    applications listing alone, as on the first page: the listing ends, it does not fail."""
    add_gh_token()
    responses.replace(responses.GET, re.compile(r"^https?://[^/]+/v3/application_stages([/?].*)?$"), status=403,
                      json={"message": "Forbidden"})
    paging = budget(5, stage_position(4))
    assert list(greenhouse().changed_applications(T0 - timedelta(hours=1), paging)) == []
    assert paging.resume is None and len(calls_to(GH)) == 1  # the refused page; no applications listing
    fresh = budget(5)
    responses.get(f"{GH}/applications", json=[app_row(1)])
    assert [a.id for a in greenhouse().changed_applications(T0 - timedelta(hours=1), fresh)] == ["1"]
    assert fresh.resume is None


def test_a_stage_history_backlog_invites_each_moved_application_once(tmp_path: Path) -> None:
    """End to end over the sandbox: five moves that leave ``updated_at`` alone, read two
    stage-history rows a page under a cap of two pages a poll, invite each candidate once,
    and the cursor moves only when the stage history has been read to its end."""
    h = Harness(tmp_path, config_changes={"ats": {"max_pages": 2}})
    try:
        h.poll()  # baseline
        gh = h.world.data["greenhouse"]
        gh["stage_moves_touch"] = False
        h.at(0.1)
        moved = ["17001", "17002", "17003", "17004", "17005"]
        for app_id in moved:
            h.sandbox.move(app_id, "Phone Screen")
        h.ctx.ats.history_per_page = 2  # type: ignore[attr-defined]
        cursor = h.ctx.db.get_cursor(ATS_CURSOR)
        positions = []
        for step in range(1, 8):
            h.at(0.1 + step / 10)
            report = h.poll()
            assert not report.errors, report.errors
            positions.append(h.ctx.db.get_cursor(ATS_CURSOR + RESUME))
            if not positions[-1]:
                break
            assert positions[-1].startswith(f"{STAGE_PHASE}{h.server.url}/v3/application_stages?cursor=")
            assert h.ctx.db.get_cursor(ATS_CURSOR) == cursor  # not past unread stage history
        # ten rows (five opened, five closed) at two a page: the applications page and one stage
        # page, then two stage pages a poll
        assert len(positions) == 3 and positions[-1] == ""
        assert h.ctx.db.get_cursor(ATS_CURSOR) != cursor
        emails = {str(c["email"]) for c in seed_candidates(moved)}
        for address in emails:
            assert len(h.emails_to(address, "invite")) == 1, address
        assert {h.invitation(a).stage_name for a in moved} == {"Phone Screen"}
        h.at(1.0)
        h.poll()  # our notes bumped updated_at: the applications are read again, nobody is invited twice
        assert all(len(h.emails_to(address, "invite")) == 1 for address in emails)
    finally:
        h.close()


def seed_candidates(application_ids: list[str]) -> list[dict[str, Any]]:
    from interview_sync.sandbox import seed
    return [c for c in seed.CANDIDATES if str(seed.application_id(c["id"])) in application_ids]


# --------------------------------------------------------------------------- loops


@responses.activate
def test_calendly_repeated_page_token_is_an_error_not_the_end_of_the_list() -> None:
    add_calendly_me()
    responses.get(f"{CALENDLY}/scheduled_events", json=calendly_page([], next_token="t1"))
    with pytest.raises(VendorError, match="same page position twice"):
        list(calendly().changed_bookings(T0 - timedelta(minutes=5), T0))


@responses.activate
def test_greenhouse_link_loop_is_an_error() -> None:
    add_gh_token()
    a, b = f"{GH}/applications?cursor=a", f"{GH}/applications?cursor=b"
    responses.get(f"{GH}/applications", json=[], headers={"Link": f'<{a}>; rel="next"'})
    responses.get(a, json=[], headers={"Link": f'<{b}>; rel="next"'},
                  match=[matchers.query_param_matcher({"cursor": "a"})])
    responses.get(b, json=[], headers={"Link": f'<{a}>; rel="next"'},
                  match=[matchers.query_param_matcher({"cursor": "b"})])
    with pytest.raises(VendorError, match="same page position twice"):
        list(greenhouse().changed_applications(None))


@responses.activate
def test_lever_repeated_offset_is_an_error() -> None:
    responses.get(f"{LEVER}/opportunities", json=lever_listing([], next_token="o1"))
    with pytest.raises(VendorError, match="same page position twice"):
        list(lever().changed_applications(None))


# --------------------------------------------------------------------------- hung vendor, 429


class SilentServer:
    """Accepts connections on loopback and never answers a byte."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.05)
        self.accepted: list[socket.socket] = []
        self.running = True
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}"

    def _serve(self) -> None:
        while self.running:
            try:
                conn, _ = self.sock.accept()
            except (TimeoutError, OSError):
                continue
            self.accepted.append(conn)

    def close(self) -> None:
        self.running = False
        self.thread.join()
        for conn in self.accepted:
            conn.close()
        self.sock.close()


@pytest.fixture
def silent() -> Iterator[SilentServer]:
    server = SilentServer()
    yield server
    server.close()


def test_a_hung_vendor_costs_one_read_timeout_not_one_per_retry(silent: SilentServer) -> None:
    sleeps = Sleeps()
    vendor = session("lever", sleeps, timeout=(1.0, 0.2))
    vendor.pin(silent.url)
    began = time.monotonic()
    with pytest.raises(VendorError, match="timed out"):
        vendor.request("GET", silent.url + "/v1/opportunities")
    elapsed = time.monotonic() - began
    assert len(silent.accepted) == 1  # one attempt: a retry would only double the hang
    assert sleeps.calls == []
    assert elapsed < 2.0  # the 0.2 s read timeout plus scheduling slack on a loaded machine


def test_a_huge_retry_after_raises_at_once_without_sleeping(harness: Harness) -> None:
    fault(harness, "/v2/bookings", 429, {"Retry-After": "3600"}, times=4)
    sleeps = Sleeps()
    with pytest.raises(RetryTooLate) as err:
        session("calcom", sleeps).request("GET", f"{harness.server.url}/v2/bookings")
    assert sleeps.calls == [] and harness.world.requests["GET /v2/bookings"] == 1
    assert str(err.value).startswith("calcom: GET /v2/bookings rate-limited (429): the vendor asks to wait 3600 s")


def test_a_retry_after_within_the_cap_is_still_waited_out(harness: Harness) -> None:
    fault(harness, "/v2/bookings", 429, {"Retry-After": "7"})
    sleeps = Sleeps()
    session("calcom", sleeps).request("GET", f"{harness.server.url}/v2/bookings", expected=(200, 401, 404))
    assert sleeps.calls == [7.0] and harness.world.requests["GET /v2/bookings"] == 2


# --------------------------------------------------------------------------- what cron sees


def run_cli_poll(harness: Harness, tmp_path: Path, **sections: dict[str, Any]) -> Any:
    config = sandbox_config(harness.server.url, state_path=str(tmp_path / "state.db"),
                            outbox_dir=str(tmp_path / "outbox"))
    for section, values in sections.items():
        config.setdefault(section, {}).update(values)
    path = tmp_path / "interview-sync.toml"
    write_config(path, config)
    return CliRunner().invoke(cli, ["--config", str(path), "poll", "--now", iso(harness.clock.now())],
                              catch_exceptions=False)


def test_cron_sees_a_page_cap_as_exit_0_with_a_line(harness: Harness, tmp_path: Path) -> None:
    result = run_cli_poll(harness, tmp_path, ats={"per_page": 2, "max_pages": 1})
    assert result.exit_code == 0, result.output
    assert "greenhouse: read 1 pages of changed applications, the cap (ats.max_pages = 1); the next poll " \
           "continues from there" in result.output


def test_cron_sees_a_deadline_stop_as_exit_1_with_a_line(harness: Harness, tmp_path: Path) -> None:
    # Any real HTTP read outlasts a microsecond, so the poll stops after its first step.
    result = run_cli_poll(harness, tmp_path, poll={"deadline_seconds": 1e-6})
    assert result.exit_code == 1, result.output
    assert "poll stopped at its deadline (poll.deadline_seconds = 1e-06)" in result.output
    assert harness.world.requests["GET /scheduled_events"] == 0


def test_an_unusable_base_url_is_a_config_error_naming_the_fix() -> None:
    with pytest.raises(ConfigError, match="calendly base_url '' is not an http"):
        calendly(base="")
