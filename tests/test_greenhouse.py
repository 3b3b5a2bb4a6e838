"""Greenhouse Harvest v3: the adapter over documented wire shapes, and over the sandbox."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses

from interview_sync.ats.greenhouse import GreenhouseATS
from interview_sync.clock import FixedClock
from interview_sync.errors import BadRecord, VendorAuthError
from interview_sync.http import VendorSession
from interview_sync.models import Application, AppStatus
from interview_sync.sandbox import admin, build_app, greenhouse, seed
from interview_sync.sandbox.server import SandboxApp, SandboxServer, World
from vendor_payloads import gh_application as application
from vendor_payloads import gh_application_stage, gh_custom_field, gh_token, gh_user, gh_visit_id

BASE = "https://harvest.greenhouse.io/v3"
TOKEN_URL = "https://auth.greenhouse.io/token"
T0 = datetime(2026, 11, 24, 9, 0, tzinfo=timezone.utc)


class Sleeps:
    """Records requested waits instead of sleeping (always truthy, unlike an empty list)."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


def make_ats(*, base: str = BASE, token_url: str = TOKEN_URL, clock: FixedClock | None = None,
             sleeper: Sleeps | None = None, per_page: int = 100, on_bad_record=None,
             client_secret: str = "s3cret", user_id: str = "4005",
             interview_stages: tuple[str, ...] | list[str] = ()) -> GreenhouseATS:
    session = VendorSession("greenhouse", sleeper=sleeper if sleeper is not None else Sleeps())
    extra = {"interview_stages": interview_stages} if interview_stages else {}
    return GreenhouseATS(base_url=base, token_url=token_url, client_id="sandbox-client",
                         client_secret=client_secret, user_id=user_id, session=session,
                         clock=clock or FixedClock(T0), per_page=per_page, on_bad_record=on_bad_record, **extra)


def add_token(rsps: responses.RequestsMock, *tokens: str, expires_in: int = 3600) -> None:
    for token in tokens or ("tok-1",):
        rsps.add(responses.POST, TOKEN_URL, json=gh_token(token, expires_in))


STAGES = [{"id": 10101, "job_id": 101, "name": "Application Review", "sort_order": 0},
          {"id": 10102, "job_id": 101, "name": "Phone Screen", "sort_order": 1}]


def bearer(call: responses.Call) -> str:
    return call.request.headers["Authorization"]


def calls_to(rsps: responses.RequestsMock, prefix: str) -> list[responses.Call]:
    return [c for c in rsps.calls if c.request.url.startswith(prefix)]


# ------------------------------------------------------------------ token


@responses.activate
def test_token_minted_with_basic_auth_grant_and_sub() -> None:
    add_token(responses, "tok-1")
    responses.add(responses.GET, f"{BASE}/users", json=[{"id": 4005, "first_name": "Tom", "last_name": "Becker",
                                                           "primary_email": "tom.becker@mercyvalley.example"}])
    facts = make_ats().check_auth()

    token_call = responses.calls[0]
    expected = "Basic " + base64.b64encode(b"sandbox-client:s3cret").decode()
    assert token_call.request.headers["Authorization"] == expected
    assert parse_qs(token_call.request.body) == {"grant_type": ["client_credentials"], "sub": ["4005"]}
    assert bearer(responses.calls[1]) == "Bearer tok-1"
    assert facts["token_expires_at"] == "2026-11-24T10:00:00Z"


@responses.activate
def test_token_refreshed_before_expiry_by_injected_clock() -> None:
    add_token(responses, "tok-1", "tok-2")
    responses.add(responses.GET, f"{BASE}/candidates", json=[{"id": 7002, "first_name": "José",
                                                                "last_name": "Martínez"}])
    clock = FixedClock(T0)
    ats = make_ats(clock=clock)

    ats.get_candidate("7002")
    clock.advance(minutes=50)  # still well inside the hour
    ats.get_candidate("7002")
    clock.advance(minutes=9, seconds=30)  # within the refresh margin of the 60-minute expiry
    ats.get_candidate("7002")

    assert len(calls_to(responses, TOKEN_URL)) == 2
    reads = calls_to(responses, f"{BASE}/candidates")
    assert [bearer(c) for c in reads] == ["Bearer tok-1", "Bearer tok-1", "Bearer tok-2"]


@responses.activate
def test_401_mid_run_remints_once_then_gives_up() -> None:
    add_token(responses, "tok-1", "tok-2", "tok-3", "tok-4")
    responses.add(responses.GET, f"{BASE}/candidates", status=401, json={"message": "Unauthorized"})
    responses.add(responses.GET, f"{BASE}/candidates", json=[{"id": 7001, "first_name": "Zoë",
                                                                "last_name": "O'Brien-Nguyễn"}])
    ats = make_ats()
    assert ats.get_candidate("7001").first_name == "Zoë"
    assert [bearer(c) for c in calls_to(responses, f"{BASE}/candidates")] == ["Bearer tok-1", "Bearer tok-2"]

    responses.replace(responses.GET, f"{BASE}/candidates", status=401, json={"message": "Unauthorized"})
    with pytest.raises(VendorAuthError) as info:
        ats.get_candidate("7001")
    assert len(calls_to(responses, TOKEN_URL)) == 3  # one re-mint for the failing call, not a loop
    assert [bearer(c) for c in calls_to(responses, f"{BASE}/candidates")][2:] == ["Bearer tok-2", "Bearer tok-3"]
    assert "s3cret" not in str(info.value)


# ---------------------------------------------------------------- listing


@responses.activate
def test_filters_on_first_request_then_cursor_url_followed_verbatim() -> None:
    add_token(responses)
    responses.add(responses.GET, f"{BASE}/job_interview_stages", json=STAGES)
    responses.add(responses.GET, f"{BASE}/application_stages", json=[])
    link = f"{BASE}/applications?cursor=eyJsdCI6MTcwMDgsIm4iOjJ9%3D%3D"
    responses.add(responses.GET, f"{BASE}/applications", json=[application(17010), application(17009)],
                  headers={"Link": f'<{link}>; rel="next"'})
    responses.add(responses.GET, link, json=[application(17008)], match=[responses.matchers.query_string_matcher(
        "cursor=eyJsdCI6MTcwMDgsIm4iOjJ9%3D%3D")])
    since = datetime(2026, 11, 24, 8, 0, 0, 750000, tzinfo=timezone.utc)

    apps = list(make_ats(per_page=2).changed_applications(since))

    assert [a.id for a in apps] == ["17010", "17009", "17008"]
    first, second = calls_to(responses, f"{BASE}/applications")
    assert parse_qs(urlsplit(first.request.url).query) == {"per_page": ["2"],
                                                           "updated_at": ["gte|2026-11-24T08:00:00Z"]}
    assert second.request.url == link


@responses.activate
def test_bad_record_reported_while_good_ones_come_through() -> None:
    add_token(responses)
    responses.add(responses.GET, f"{BASE}/job_interview_stages", json=STAGES)
    responses.add(responses.GET, f"{BASE}/application_stages", json=[])
    responses.add(responses.GET, f"{BASE}/applications", json=[
        application(17001),
        application(17002, status="archived"),  # a Lever status on the Greenhouse wire
        application(17003, updated_at="yesterday"),
        "not-an-object",
        application(17004, stage_name="Application Review"),
    ])
    reported: list[BadRecord] = []
    ats = make_ats(on_bad_record=reported.append)

    apps = list(ats.changed_applications(None))

    assert [(a.id, a.stage_name) for a in apps] == [("17001", "Phone Screen"), ("17004", "Application Review")]
    messages = [str(exc) for exc in reported]
    assert len(messages) == 3 and ats.bad_records == reported
    assert "17002" in messages[0] and "'status'" in messages[0]
    assert "17003" in messages[1] and "'updated_at'" in messages[1]
    assert "not a JSON object" in messages[2]


@responses.activate
def test_stage_changed_at_from_open_application_stage_row() -> None:
    add_token(responses)
    responses.add(responses.GET, f"{BASE}/job_interview_stages", json=STAGES)
    responses.add(responses.GET, f"{BASE}/applications", json=[application(17001), application(17002,
                                                                                               status="rejected")])
    visits = [gh_application_stage(gh_visit_id(17001), 17001, 10102, "2026-11-24T08:15:00.000Z", None),
              gh_application_stage(gh_visit_id(17001, 1), 17001, 10101, "2026-11-01T10:00:00.000Z",
                                   "2026-11-24T08:15:00.000Z")]
    responses.add(responses.GET, f"{BASE}/application_stages", json=[],
                  match=[responses.matchers.query_param_matcher({"per_page": "500",
                                                                 "updated_at": "gte|2026-11-20T00:00:00Z"})])
    responses.add(responses.GET, f"{BASE}/application_stages", json=visits)
    apps = {a.id: a for a in make_ats().changed_applications(datetime(2026, 11, 20, tzinfo=timezone.utc))}

    assert apps["17001"].stage_changed_at == datetime(2026, 11, 24, 8, 15, tzinfo=timezone.utc)
    assert apps["17001"].stage_id == "10102"  # the job interview stage, read through the visit row
    assert apps["17002"].stage_changed_at is None and not apps["17002"].active
    history = [parse_qs(urlsplit(c.request.url).query) for c in calls_to(responses, f"{BASE}/application_stages")]
    # 17001's visits by id while its listing page is handled, then the stage history (the second phase)
    assert [q.get("application_ids") for q in history] == [["17001"], None]
    assert history[1]["updated_at"] == ["gte|2026-11-20T00:00:00Z"]


@responses.activate
def test_get_job_resolves_hiring_team_to_people_with_email() -> None:
    add_token(responses)
    responses.add(responses.GET, f"{BASE}/jobs", json=[{"id": 101, "name": "Registered Nurse – ICU (Nights)",
                                                          "department_id": 501, "office_ids": [601]}])
    responses.add(responses.GET, f"{BASE}/departments", json=[{"id": 501, "name": "Nursing"}])
    responses.add(responses.GET, f"{BASE}/offices", json=[{"id": 601, "name": "Sacramento"}])
    responses.add(responses.GET, f"{BASE}/job_hiring_managers", json=[{"id": 1, "job_id": 101, "user_id": 4002}])
    responses.add(responses.GET, f"{BASE}/job_owners", json=[
        {"id": 3, "job_id": 101, "user_id": 4006, "type": "coordinator"},
        {"id": 2, "job_id": 101, "user_id": 4005, "type": "recruiter"}])
    responses.add(responses.GET, f"{BASE}/users", json=[
        {"id": 4005, "first_name": "Tom", "last_name": "Becker", "primary_email": "tom.becker@mercyvalley.example"},
        {"id": 4002, "first_name": "James", "last_name": "O'Connor",
         "primary_email": "james.oconnor@mercyvalley.example"}])
    ats = make_ats()

    job = ats.get_job("101")
    assert ats.get_job("101") is job  # cached for the run

    assert (job.name, job.department, job.office) == ("Registered Nurse – ICU (Nights)", "Nursing", "Sacramento")
    assert [(p.name, p.email) for p in job.hiring_managers] == [("James O'Connor", "james.oconnor@mercyvalley.example")]
    assert [p.id for p in job.recruiters] == ["4005"]
    user_query = parse_qs(urlsplit(calls_to(responses, f"{BASE}/users")[0].request.url).query)
    assert user_query["ids"] == ["4002,4005"]
    assert len(calls_to(responses, f"{BASE}/jobs")) == 1


@responses.activate
def test_add_tag_creates_missing_tag_and_accepts_already_applied() -> None:
    add_token(responses)
    responses.add(responses.GET, f"{BASE}/candidate_tags", json=[{"id": 5, "name": "Referral"}])
    responses.add(responses.POST, f"{BASE}/candidate_tags", status=201, json={"id": 6, "name": "Scheduling"})
    responses.add(responses.POST, f"{BASE}/applied_candidate_tags", status=201,
                  json={"id": 9, "candidate_id": 7001, "candidate_tag_id": 6})
    responses.add(responses.POST, f"{BASE}/applied_candidate_tags", status=422,
                  json={"message": "the candidate already has this tag"})
    responses.add(responses.GET, f"{BASE}/applied_candidate_tags", json=[{"id": 9, "candidate_id": 7001,
                                                                           "candidate_tag_id": 6}])
    ats = make_ats()
    app = Application(id="17001", candidate_id="7001", job_id="101", stage_id="10102", stage_name="Phone Screen",
                      status="in_process", updated_at=T0)

    ats.add_tag(app, "Scheduling")
    ats.add_tag(app, "scheduling")  # same tag, any case: no second create, 422 tolerated

    creates = [c for c in calls_to(responses, f"{BASE}/candidate_tags") if c.request.method == "POST"]
    assert len(creates) == 1
    applied = [c for c in calls_to(responses, f"{BASE}/applied_candidate_tags") if c.request.method == "POST"]
    assert [c.request.body for c in applied] == [b'{"candidate_id": 7001, "candidate_tag_id": 6}'] * 2


@responses.activate
def test_spent_rate_limit_window_waits_until_reset() -> None:
    add_token(responses)
    reset = int((T0 + timedelta(seconds=4)).timestamp())
    responses.add(responses.GET, f"{BASE}/candidates", json=[{"id": 7004, "first_name": "Kwame",
                                                                "last_name": "Mensah"}],
                  headers={"X-RateLimit-Limit": "50", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(reset)})
    sleeps = Sleeps()
    ats = make_ats(sleeper=sleeps)
    ats.get_candidate("7004")
    assert sleeps.calls == [4.0]
    assert ats.rate_limit["X-RateLimit-Limit"] == "50"


# ----------------------------------------------------------------- sandbox


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    app = SandboxApp()
    app.world.fixed_now = T0
    greenhouse.mount(app)
    admin.mount(app)
    server = SandboxServer(app).start()
    try:
        yield server
    finally:
        server.stop()


def sandbox_ats(server: SandboxServer, **kwargs) -> GreenhouseATS:
    return make_ats(base=f"{server.url}/v3", token_url=f"{server.url}/auth/token",
                    client_secret="sandbox-secret", **kwargs)


def test_full_sandbox_lists_seeded_applications_across_pages() -> None:
    world = World()
    world.fixed_now = T0  # seeded before build_app reads the clock: stamps must precede T0
    with SandboxServer(build_app(world)) as server:
        ats = sandbox_ats(server, per_page=3)
        apps = list(ats.changed_applications(None))
        counts = requests.get(f"{server.url}/_admin/requests", timeout=5).json()

    expected = sorted(seed.application_id(c["id"]) for c in seed.CANDIDATES)
    assert sorted(int(a.id) for a in apps) == expected
    assert {a.stage_name for a in apps} == {"Application Review"}
    assert all(a.status is AppStatus.ACTIVE and a.updated_at < T0 for a in apps)
    assert counts["GET /v3/applications"] == 4  # 10 records, 3 per page


def test_sandbox_candidate_names_and_addresses_intact(sandbox: SandboxServer) -> None:
    ats = sandbox_ats(sandbox)
    zoe = ats.get_candidate("7001")
    siobhan = ats.get_candidate("7003")
    marcus = ats.get_candidate("7009")
    assert (zoe.first_name, zoe.last_name, zoe.email) == ("Zoë", "O'Brien-Nguyễn", "zoe+nurse@example.org")
    assert siobhan.name == "Siobhán Ní Bhriain"
    assert marcus.email is None and marcus.phone == "+1 916 555 0109"
    job = ats.get_job("104")
    assert [p.name for p in job.hiring_managers] == ["James O'Connor"]
    assert ats.get_job("105").hiring_managers == ()
    assert ats.stage_names() == set(seed.STAGES)


def test_sandbox_refuses_cursor_with_other_params_and_bad_tokens(sandbox: SandboxServer) -> None:
    token = requests.post(f"{sandbox.url}/auth/token", auth=("sandbox-client", "sandbox-secret"),
                          data={"grant_type": "client_credentials", "sub": "4005"}, timeout=5).json()
    assert token["expires_in"] == 3600 and token["expires_at"] == "2026-11-24T10:00:00.000Z"
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    first = requests.get(f"{sandbox.url}/v3/applications", params={"per_page": 4}, headers=headers, timeout=5)
    next_url = first.links["next"]["url"]

    assert requests.get(next_url + "&per_page=4", headers=headers, timeout=5).status_code == 422
    assert requests.get(next_url, headers=headers, timeout=5).status_code == 200
    assert requests.get(f"{sandbox.url}/v3/applications", timeout=5).status_code == 401
    assert requests.get(f"{sandbox.url}/v3/applications", params={"updated_at": "2026-11-01"},
                        headers=headers, timeout=5).status_code == 422
    no_sub = requests.post(f"{sandbox.url}/auth/token", auth=("sandbox-client", "sandbox-secret"),
                           data={"grant_type": "client_credentials"}, timeout=5)
    wrong = requests.post(f"{sandbox.url}/auth/token", auth=("sandbox-client", "nope"),
                          data={"grant_type": "client_credentials", "sub": "4005"}, timeout=5)
    assert (no_sub.status_code, wrong.status_code) == (400, 401)


def test_sandbox_token_expiry_and_revocation(sandbox: SandboxServer) -> None:
    clock = FixedClock(T0)
    ats = sandbox_ats(sandbox, clock=clock)
    assert ats.check_auth()["token_expires_at"] == "2026-11-24T10:00:00Z"

    sandbox.app.world.fixed_now = T0 + timedelta(hours=2)  # token dead on the server, adapter clock unaware
    assert ats.get_candidate("7002").last_name == "Martínez"  # 401 -> re-mint -> retry

    requests.post(f"{sandbox.url}/_admin/greenhouse/revoke", timeout=5)
    with pytest.raises(VendorAuthError):
        ats.get_candidate("7002")


def test_429_retry_after_waited_out_through_injected_sleeper(sandbox: SandboxServer) -> None:
    requests.post(f"{sandbox.url}/_admin/faults", json={"path": "/v3/applications", "status": 429,
                                                        "headers": {"Retry-After": "7"}}, timeout=5)
    sleeps = Sleeps()
    apps = list(sandbox_ats(sandbox, sleeper=sleeps).changed_applications(None))
    assert len(apps) == len(seed.CANDIDATES)
    assert sleeps.calls == [7.0]


def test_sandbox_rate_limit_when_enabled(sandbox: SandboxServer) -> None:
    sandbox.app.world.data["greenhouse"]["rate_limit"] = {"limit": 2, "window": 3600}
    token = requests.post(f"{sandbox.url}/auth/token", auth=("sandbox-client", "sandbox-secret"),
                          data={"grant_type": "client_credentials", "sub": "4005"}, timeout=5).json()
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    answers = [requests.get(f"{sandbox.url}/v3/users", headers=headers, timeout=5) for _ in range(3)]
    assert [r.status_code for r in answers] == [200, 200, 429]
    assert [r.headers["X-RateLimit-Remaining"] for r in answers] == ["1", "0", "0"]
    assert int(answers[2].headers["Retry-After"]) >= 1


def test_note_and_tag_writes_land_in_sandbox_and_bump_updated_at(sandbox: SandboxServer) -> None:
    world = sandbox.app.world
    clock = FixedClock(T0)
    ats = sandbox_ats(sandbox, clock=clock)
    app = ats.get_application("17001")
    world.fixed_now = T0 + timedelta(minutes=5)

    body = "Booking link sent to Zoë: https://calendly.example/d/abc-123 (ref INV-1)"
    ats.add_note(app, body)
    ats.add_tag(app, "Scheduling: needs recruiter")
    ats.add_tag(app, "Scheduling: needs recruiter")  # idempotent

    state = requests.get(f"{sandbox.url}/_admin/greenhouse/applications/17001", timeout=5).json()
    assert [(n["body"], n["user_id"]) for n in state["notes"]] == [(body, 4005)]
    assert state["tags"] == ["Scheduling: needs recruiter"]
    assert world.data["notes"]["17001"] == [body]
    changed = [a.id for a in ats.changed_applications(T0 + timedelta(minutes=1))]
    assert changed == ["17001"]


def test_admin_move_changes_what_changed_applications_returns(sandbox: SandboxServer) -> None:
    world = sandbox.app.world
    ats = sandbox_ats(sandbox)
    assert list(ats.changed_applications(T0)) == []

    world.fixed_now = T0 + timedelta(minutes=2)
    moved = requests.post(f"{sandbox.url}/_admin/move", json={"application_id": 17003, "stage": "Phone Screen"},
                          timeout=5)
    assert moved.status_code == 200
    bad = requests.post(f"{sandbox.url}/_admin/move", json={"application_id": 17003, "stage": "Coffee Chat"},
                        timeout=5)
    assert bad.status_code == 400 and "Panel Interview" in bad.json()["message"]

    [app] = ats.changed_applications(T0)
    assert (app.id, app.stage_name, app.stage_id) == ("17003", "Phone Screen", str(greenhouse.stage_id_for(103, 1)))
    assert app.stage_changed_at == T0 + timedelta(minutes=2)
    assert app.updated_at == T0 + timedelta(minutes=2)

    world.fixed_now = T0 + timedelta(minutes=4)
    requests.post(f"{sandbox.url}/_admin/move", json={"application_id": 17003, "status": "rejected"}, timeout=5)
    [rejected] = ats.changed_applications(T0 + timedelta(minutes=3))
    assert rejected.status == "rejected" and not rejected.active


@responses.activate
def test_full_baseline_listing_skips_stage_history() -> None:
    """The first run's full listing times no stage change, so it costs no history reads."""
    add_token(responses)
    responses.add(responses.GET, f"{BASE}/job_interview_stages", json=STAGES)
    responses.add(responses.GET, f"{BASE}/applications", json=[application(17001)])
    apps = list(make_ats().changed_applications(None))
    assert [a.id for a in apps] == ["17001"] and apps[0].stage_changed_at is None
    assert calls_to(responses, f"{BASE}/application_stages") == []


@responses.activate
def test_custom_fields_reach_routing() -> None:
    """`custom.<field>` route matches read the application's custom fields (both shapes)."""
    from interview_sync.config import Route
    from interview_sync.routing import pick_route

    add_token(responses)
    responses.add(responses.GET, f"{BASE}/job_interview_stages", json=STAGES)
    responses.add(responses.GET, f"{BASE}/applications", json=[
        {**application(17001), "custom_fields": {"shift": gh_custom_field("Shift", "single_select", "Nights"),
                                                 "units": gh_custom_field("Units", "multi_select", ["ICU", "CCU"]),
                                                 "pay": gh_custom_field("Pay", "currency", {"unit": "USD"}),
                                                 "odd": {"x": 1}}},
        {**application(17002), "custom_fields": [{"name_key": "shift", "value": "Days"}, "garbage"]},
    ])
    apps = {a.id: a for a in make_ats().changed_applications(None)}
    assert apps["17001"].custom == {"shift": "Nights", "units": "ICU, CCU"}
    assert apps["17002"].custom == {"shift": "Days"}
    routes = [Route(match={"custom.shift": "nights"}, event_type="night-shift-30"),
              Route(match={}, event_type="phone-screen-30")]
    assert pick_route(routes, apps["17001"], None)[1].event_type == "night-shift-30"  # type: ignore[index]
    assert pick_route(routes, apps["17002"], None)[1].event_type == "phone-screen-30"  # type: ignore[index]


# ------------------------------------------------- issue 11: the vendor's id spaces and shapes


def test_sandbox_application_stage_id_is_its_current_stage_visit(sandbox: SandboxServer) -> None:
    """Item 1: ``application.stage_id`` names the current ``application_stages`` row (its own id
    space), and the stage name comes with the application; the adapter reads the interview stage
    through that row."""
    gh = sandbox.app.world.data["greenhouse"]
    for record in gh["applications"].values():
        visit = gh["application_stages"][record["stage_id"]]
        assert visit["application_id"] == record["id"] and visit["current"] is True
        assert record["stage_id"] not in gh["job_interview_stages"]
        assert gh["job_interview_stages"][visit["job_interview_stage_id"]]["name"] == record["stage_name"]

    app = sandbox_ats(sandbox).get_application("17001")
    visit = gh["application_stages"][gh["applications"][17001]["stage_id"]]
    assert (app.stage_id, app.stage_name) == (str(visit["job_interview_stage_id"]), "Application Review")


@responses.activate
def test_stage_visit_id_that_looks_like_a_stage_id_is_not_taken_for_one() -> None:
    """Item 1 on the wire: a visit id colliding with another stage's id must not pick that stage."""
    add_token(responses)
    responses.add(responses.GET, f"{BASE}/applications", json=[application(17001, stage_id=10101)])
    responses.add(responses.GET, f"{BASE}/application_stages", json=[
        gh_application_stage(10101, 17001, 10102, "2026-11-24T08:15:00.000Z", None)])
    [app] = make_ats().changed_applications(datetime(2026, 11, 24, tzinfo=timezone.utc))
    assert (app.stage_id, app.stage_name) == ("10102", "Phone Screen")


def test_sandbox_stage_visits_carry_interview_stage_and_entry_time(sandbox: SandboxServer) -> None:
    """Item 2: rows carry ``job_interview_stage_id``/``entered_at``/``exited_at``/``current`` (no
    ``stage_id``), and the stage entry time reaches the application from them."""
    world = sandbox.app.world
    world.fixed_now = T0 + timedelta(minutes=2)
    requests.post(f"{sandbox.url}/_admin/move", json={"application_id": 17003, "stage": "Phone Screen"},
                  timeout=5).raise_for_status()
    rows = [r for r in world.data["greenhouse"]["application_stages"].values() if r["application_id"] == 17003]
    assert all("stage_id" not in r and {"job_interview_stage_id", "entered_at", "exited_at", "current"} <= set(r)
               for r in rows)
    assert sorted(r["current"] for r in rows) == [False, True]

    [app] = sandbox_ats(sandbox).changed_applications(T0)
    assert app.stage_changed_at == T0 + timedelta(minutes=2)


def test_sandbox_status_filter_speaks_active_while_records_say_in_process(sandbox: SandboxServer) -> None:
    token = requests.post(f"{sandbox.url}/auth/token", auth=("sandbox-client", "sandbox-secret"),
                          data={"grant_type": "client_credentials", "sub": "4005"}, timeout=5).json()
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    active = requests.get(f"{sandbox.url}/v3/applications", params={"status": "active"}, headers=headers, timeout=5)
    assert active.status_code == 200 and {a["status"] for a in active.json()} == {"in_process"}
    refused = requests.get(f"{sandbox.url}/v3/applications", params={"status": "in_process"}, headers=headers,
                           timeout=5)
    assert refused.status_code == 422


def test_sandbox_custom_fields_are_name_type_value_objects_and_route(sandbox: SandboxServer) -> None:
    """Item 3: custom field values are ``{name, type, value}`` objects; `custom.<field>` routes match."""
    from interview_sync.config import Route
    from interview_sync.routing import pick_route

    field = sandbox.app.world.data["greenhouse"]["applications"][17001]["custom_fields"]["shift"]
    assert set(field) == {"name", "type", "value"}
    app = sandbox_ats(sandbox).get_application("17001")  # job 101 is the ICU night shift
    assert app.custom == {"shift": "Nights"}
    routes = [Route(match={"custom.shift": "Nights"}, event_type="night-shift-30"),
              Route(match={}, event_type="phone-screen-30")]
    assert pick_route(routes, app, None)[1].event_type == "night-shift-30"  # type: ignore[index]


def test_sandbox_users_carry_job_title_and_it_reaches_the_hiring_manager(sandbox: SandboxServer) -> None:
    """Item 4: v3 users have ``job_title`` (not ``title``); the invitation's hiring manager title."""
    user = sandbox.app.world.data["greenhouse"]["users"][4001]
    assert user["job_title"] == "Nurse Manager, ICU" and "title" not in user
    [maria] = sandbox_ats(sandbox).get_job("101").hiring_managers
    assert (maria.name, maria.title) == ("Maria Delgado", "Nurse Manager, ICU")


@responses.activate
def test_user_title_is_read_from_job_title() -> None:
    add_token(responses)
    responses.add(responses.GET, f"{BASE}/users", json=[gh_user(4001, "Maria", "Delgado", "m@example.org",
                                                                title="Nurse Manager, ICU")])
    assert make_ats().get_user("4001").title == "Nurse Manager, ICU"


# ------------------------------------------------- issue 11: the stage-history signal


def test_stage_move_without_updated_at_bump_is_found_through_stage_history(sandbox: SandboxServer) -> None:
    """Whether a move bumps ``updated_at`` is unconfirmed: the stage visit alone must surface it."""
    world = sandbox.app.world
    gh = world.data["greenhouse"]
    gh["stage_moves_touch"] = False
    untouched = gh["applications"][17003]["updated_at"]
    world.fixed_now = T0 + timedelta(minutes=2)
    requests.post(f"{sandbox.url}/_admin/move", json={"application_id": 17003, "stage": "Phone Screen"},
                  timeout=5).raise_for_status()
    assert gh["applications"][17003]["updated_at"] == untouched

    apps = list(sandbox_ats(sandbox).changed_applications(T0))
    assert [(a.id, a.stage_name, a.stage_changed_at) for a in apps] == [
        ("17003", "Phone Screen", T0 + timedelta(minutes=2))]
    assert apps[0].updated_at < T0


def test_application_seen_by_both_signals_comes_once(sandbox: SandboxServer) -> None:
    world = sandbox.app.world
    world.fixed_now = T0 + timedelta(minutes=2)
    requests.post(f"{sandbox.url}/_admin/move", json={"application_id": 17003, "stage": "Phone Screen"},
                  timeout=5).raise_for_status()
    counts_before = requests.get(f"{sandbox.url}/_admin/requests", timeout=5).json()
    assert [a.id for a in sandbox_ats(sandbox).changed_applications(T0)] == ["17003"]
    counts = requests.get(f"{sandbox.url}/_admin/requests", timeout=5).json()
    assert counts["GET /v3/applications"] - counts_before.get("GET /v3/applications", 0) == 1  # no re-fetch


@responses.activate
def test_without_the_stage_history_scope_changed_applications_still_work() -> None:
    add_token(responses)
    responses.add(responses.GET, f"{BASE}/application_stages", status=403, json={"message": "Forbidden"})
    responses.add(responses.GET, f"{BASE}/job_interview_stages", json=STAGES)
    responses.add(responses.GET, f"{BASE}/applications", json=[application(17001)])
    [app] = make_ats().changed_applications(datetime(2026, 11, 24, tzinfo=timezone.utc))
    assert (app.stage_id, app.stage_name) == ("10102", "Phone Screen")  # by the stage's name on the job
    assert len(calls_to(responses, f"{BASE}/application_stages")) == 1  # not asked again after the 403


def test_poll_invites_when_the_move_leaves_updated_at_alone(tmp_path) -> None:
    """End to end: a stage change seen only in the stage history still becomes one invitation."""
    from harness import Harness

    h = Harness(tmp_path)
    try:
        h.poll()  # baseline
        gh = h.world.data["greenhouse"]
        gh["stage_moves_touch"] = False
        h.at(0.1)
        untouched = gh["applications"][17001]["updated_at"]
        h.sandbox.move("17001", "Phone Screen")
        assert gh["applications"][17001]["updated_at"] == untouched
        h.at(0.2)
        h.poll()
        assert len(h.emails_to("zoe+nurse@example.org", "invite")) == 1
        assert h.invitation("17001").stage_name == "Phone Screen"
        h.at(0.4)
        h.poll()  # the stage visit is re-read under the cursor overlap: nothing is sent again
        assert len(h.emails_to("zoe+nurse@example.org", "invite")) == 1
    finally:
        h.close()


# ------------------------------------------------- issue 11: batched candidate reads


@responses.activate
def test_candidates_of_a_cycle_are_read_fifty_at_a_time() -> None:
    add_token(responses)
    apps = [application(17000 + i, candidate_id=7000 + i, stage_name="Phone Screen" if i % 2 else "Offer")
            for i in range(1, 121)]
    responses.add(responses.GET, f"{BASE}/applications", json=apps)
    responses.add(responses.GET, f"{BASE}/application_stages", json=[])
    responses.add(responses.GET, f"{BASE}/job_interview_stages", json=STAGES)

    def candidates(request):  # answers whatever ids were asked for
        ids = parse_qs(urlsplit(request.url).query)["ids"][0].split(",")
        return 200, {}, json.dumps([{"id": int(i), "first_name": "C", "last_name": i} for i in ids])

    responses.add_callback(responses.GET, f"{BASE}/candidates", callback=candidates)
    ats = make_ats(interview_stages=["Phone Screen"])
    changed = list(ats.changed_applications(datetime(2026, 11, 24, tzinfo=timezone.utc)))
    in_stage = [a for a in changed if a.stage_name == "Phone Screen"]
    names = [ats.get_candidate(a.candidate_id).last_name for a in in_stage]

    assert names == [a.candidate_id for a in in_stage] and len(in_stage) == 60
    reads = [parse_qs(urlsplit(c.request.url).query)["ids"][0].split(",")
             for c in calls_to(responses, f"{BASE}/candidates")]
    assert [len(r) for r in reads] == [50, 10]  # not 60 single reads
    assert not {i for r in reads for i in r} & {a.candidate_id for a in changed if a.stage_name == "Offer"}
    ats.get_candidate(in_stage[0].candidate_id)  # handed out once: asked again, it is read afresh
    assert len(calls_to(responses, f"{BASE}/candidates")) == 3


# ------------------------------------------------- issue 11: doctor --probe (read-only)


def test_probe_against_the_sandbox_reads_only_and_every_line_holds(sandbox: SandboxServer) -> None:
    from interview_sync.probe.greenhouse import probe
    from probe_support import check_names, probe_with_writes

    checks, writes = probe_with_writes(sandbox, probe, sandbox_ats(sandbox))
    assert [c for c in checks if not c.ok] == []
    for fact in ("current application_stages row", "job_interview_stage name", "{name, type, value}",
                 "job_title", "updated_at=gte", "ids=", "X-RateLimit"):
        assert fact in check_names(checks)
    assert writes <= {"POST /auth/token"}  # a token, and otherwise GETs only


def test_probe_reports_a_seeded_stage_id_mismatch_with_the_fix(sandbox: SandboxServer) -> None:
    from interview_sync.probe.greenhouse import probe

    gh = sandbox.app.world.data["greenhouse"]
    gh["applications"][17002]["stage_id"] = greenhouse.stage_id_for(102, 1)  # an interview stage id, v1-style
    del gh["users"][4003]["job_title"]
    checks = {c.name: c for c in probe(sandbox_ats(sandbox), sample=10)}

    stage = checks["greenhouse probe: application.stage_id is its current application_stages row"]
    assert not stage.ok and "17002" in stage.detail and "9/10" in stage.detail and stage.fix
    title = checks["greenhouse probe: users carry job_title"]
    assert not title.ok and "4003" in title.detail and "title" in title.fix
    assert checks["greenhouse probe: application.status is one we read"].ok
