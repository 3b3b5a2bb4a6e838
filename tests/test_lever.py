"""Lever v1: the adapter over documented wire shapes (``responses``), and over the sandbox."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses

from interview_sync.ats.lever import LeverATS, to_ms
from interview_sync.clock import FixedClock
from interview_sync.errors import BadRecord, VendorAuthError, VendorError
from interview_sync.http import VendorSession
from interview_sync.models import Application
from interview_sync.sandbox import World, build_app, seed
from interview_sync.sandbox.client import SANDBOX_LEVER_KEY, SANDBOX_LEVER_USER
from interview_sync.sandbox.lever import contact_id, opportunity_id, posting_id, stage_id, user_id
from interview_sync.sandbox.server import SandboxServer
from vendor_payloads import lever_application, lever_opportunity, lever_stage_change
from vendor_payloads import lever_listing as listing

BASE = "https://api.lever.co/v1"
KEY = "lvr-key-123"
ACTOR = "8d49b010-cc6a-4f40-ace5-e86061c677ed"
T0 = datetime(2026, 11, 24, 9, 0, tzinfo=timezone.utc)
T0_MS = 1795510800000  # T0 in Lever's milliseconds
STAGE_NEW, STAGE_PHONE = "lead-new", "c0f7ad5b-4d2b-4a7e-9a4d-2a2a0f3c1d10"
POSTING = "f2f01e6c-2a37-4c0b-9a3c-6f8a7b3e2d11"
HIRED, NOT_A_FIT = "63dd55b2-a99f-4e7b-985f-22c7bf80ab42", "e8b6a4d2-5c3f-4b1a-9e8d-7f6c5b4a3d21"


class Sleeps:
    """Records requested waits instead of sleeping."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


def make_ats(*, base: str = BASE, key: str = KEY, perform_as: str = ACTOR, per_page: int = 100,
             sleeper: Sleeps | None = None, on_bad_record=None) -> LeverATS:
    session = VendorSession("lever", sleeper=sleeper if sleeper is not None else Sleeps())
    return LeverATS(base_url=base, api_key=key, perform_as=perform_as, session=session, clock=FixedClock(T0),
                    per_page=per_page, on_bad_record=on_bad_record)


def opportunity(opp_id: str, **overrides: object) -> dict[str, object]:
    """An opportunity as ``GET /opportunities?expand=stage&expand=applications`` documents it."""
    record = lever_opportunity(
        opp_id, name="Shane Smith", headline="Brickly LLC", contact=f"contact-{opp_id}", location="Oakland",
        emails=["shane@example.com"], phones=[{"type": "home", "value": "+1 555 0100"},
                                              {"type": "mobile", "value": "+1 555 0199"}],
        created_at=1795000000000, updated_at=1795510000000, last_advanced_at=1795400000000,
        stage={"id": STAGE_PHONE, "text": "Phone Screen"},
        stage_changes=[lever_stage_change(STAGE_NEW, 0, 1795000000000, ACTOR),
                       lever_stage_change(STAGE_PHONE, 1, 1795400000000, ACTOR)],
        owner=ACTOR,
        applications=[lever_application(f"app-{opp_id}", opp_id, posting=POSTING, hiring_manager="hm-1",
                                        owner=ACTOR)])
    record.update(overrides)
    return record


def query_of(call: responses.Call) -> dict[str, list[str]]:
    return parse_qs(urlsplit(call.request.url).query)


def calls_to(rsps: responses.RequestsMock, prefix: str, method: str = "GET") -> list[responses.Call]:
    return [c for c in rsps.calls if c.request.url.startswith(prefix) and c.request.method == method]


def app_of(opp_id: str) -> Application:
    return Application(id=opp_id, candidate_id="contact-1", job_id=POSTING, stage_id=STAGE_PHONE,
                       stage_name="Phone Screen", status="active", updated_at=T0)


# ---------------------------------------------------------------- listing


@responses.activate
def test_listing_sends_key_ms_filter_confidentiality_and_follows_next_as_offset() -> None:
    responses.add(responses.GET, f"{BASE}/opportunities", json=listing([opportunity("o1"), opportunity("o2")],
                                                                        "0.1795000000000.o2"))
    responses.add(responses.GET, f"{BASE}/opportunities", json=listing([opportunity("o3")]))
    since = T0 + timedelta(microseconds=750_000)

    apps = list(make_ats(per_page=2).changed_applications(since))

    assert [a.id for a in apps] == ["o1", "o2", "o3"]
    first, second = calls_to(responses, f"{BASE}/opportunities")
    assert first.request.headers["Authorization"] == "Basic " + base64.b64encode(f"{KEY}:".encode()).decode()
    expected = {"limit": ["2"], "confidentiality": ["all"], "expand": ["stage", "applications"],
                "updated_at_start": [str(T0_MS + 750)]}
    assert query_of(first) == expected
    assert query_of(second) == {**expected, "offset": ["0.1795000000000.o2"]}
    assert len(responses.calls) == 2  # stage names and postings came expanded: no extra reads


def test_milliseconds_are_exact() -> None:
    assert to_ms(T0) == T0_MS
    assert to_ms(T0 + timedelta(microseconds=999)) == T0_MS  # floor: never skip a change in that ms
    assert to_ms(datetime(2026, 11, 24, 1, 0, tzinfo=timezone(timedelta(hours=-8)))) == T0_MS


@responses.activate
def test_opportunity_maps_to_application_with_stage_time_posting_and_contact() -> None:
    reentered = opportunity("o1", stageChanges=[
        {"toStageId": STAGE_PHONE, "toStageIndex": 1, "updatedAt": 1795100000000, "userId": ACTOR},
        {"toStageId": STAGE_NEW, "toStageIndex": 0, "updatedAt": 1795200000000, "userId": ACTOR},
        {"toStageId": STAGE_PHONE, "toStageIndex": 1, "updatedAt": 1795300000000, "userId": ACTOR}],
        name="Zoë  O'Brien-Nguyễn", emails=["zoe+nurse@example.org", "zoe@work.example"])
    responses.add(responses.GET, f"{BASE}/opportunities", json=listing([reentered]))

    [app] = make_ats().changed_applications(None)

    assert (app.id, app.candidate_id, app.job_id) == ("o1", "contact-o1", POSTING)
    assert (app.stage_id, app.stage_name, app.status, app.active) == (STAGE_PHONE, "Phone Screen", "active", True)
    assert app.stage_changed_at == datetime(2026, 11, 21, 22, 26, 40, tzinfo=timezone.utc)  # the last entry into it
    assert app.updated_at == datetime(2026, 11, 24, 8, 46, 40, tzinfo=timezone.utc)
    assert app.candidate is not None
    assert (app.candidate.name, app.candidate.email, app.candidate.phone) == (
        "Zoë O'Brien-Nguyễn", "zoe+nurse@example.org", "+1 555 0199")
    assert "updated_at_start" not in query_of(responses.calls[0])


@responses.activate
def test_unexpanded_stage_and_applications_are_resolved_with_one_read_each() -> None:
    plain = opportunity("o1", stage=STAGE_PHONE, applications=["app-o1"])
    responses.add(responses.GET, f"{BASE}/opportunities", json=listing([plain]))
    responses.add(responses.GET, f"{BASE}/stages", json=listing([{"id": STAGE_NEW, "text": "New applicant"},
                                                                   {"id": STAGE_PHONE, "text": "Phone Screen"}]))
    responses.add(responses.GET, f"{BASE}/opportunities/o1/applications", json=listing([
        {"id": "app-o1", "opportunityId": "o1", "type": "posting", "posting": POSTING,
         "postingHiringManager": "hm-1", "postingOwner": ACTOR}]))

    [app] = make_ats().changed_applications(None)

    assert (app.stage_name, app.job_id) == ("Phone Screen", POSTING)
    assert len(calls_to(responses, f"{BASE}/stages")) == 1


@responses.activate
def test_archived_is_inactive_and_hired_told_apart_by_archive_reason_type() -> None:
    responses.add(responses.GET, f"{BASE}/opportunities", json=listing([
        opportunity("o1", archived={"reason": NOT_A_FIT, "archivedAt": 1795500000000}),
        opportunity("o2", archived={"reason": HIRED, "archivedAt": 1795500000000}),
        opportunity("o3")]))
    responses.add(responses.GET, f"{BASE}/archive_reasons", json=listing([
        {"id": HIRED, "text": "Hired", "status": "active", "type": "hired"},
        {"id": NOT_A_FIT, "text": "Not a fit", "status": "active", "type": "non-hired"}]))

    apps = {a.id: a for a in make_ats().changed_applications(None)}

    assert (apps["o1"].status, apps["o1"].active) == ("archived", False)
    assert (apps["o2"].status, apps["o2"].active) == ("hired", False)
    assert apps["o3"].active
    assert len(calls_to(responses, f"{BASE}/archive_reasons")) == 1


@responses.activate
def test_bad_records_are_reported_and_the_listing_goes_on() -> None:
    responses.add(responses.GET, f"{BASE}/opportunities", json=listing([
        opportunity("o1"),
        opportunity("o2", contact=None),
        opportunity("o3", updatedAt="2026-11-24T09:00:00Z", createdAt=None),
        "not-an-object",
        opportunity("o4", archived="yes"),
    ], "next-page"))
    responses.add(responses.GET, f"{BASE}/opportunities", json=listing([opportunity("o5")]))
    reported: list[BadRecord] = []
    ats = make_ats(on_bad_record=reported.append)

    apps = list(ats.changed_applications(None))

    assert [a.id for a in apps] == ["o1", "o5"]
    messages = [str(exc) for exc in reported]
    assert len(messages) == 4 and ats.bad_records == reported
    assert "o2" in messages[0] and "'contact'" in messages[0]
    assert "o3" in messages[1] and "'updatedAt'" in messages[1]
    assert "not a JSON object" in messages[2]
    assert "o4" in messages[3] and "'archived'" in messages[3]


# ---------------------------------------------------------------- people


@responses.activate
def test_get_job_takes_posting_categories_hiring_manager_and_owner() -> None:
    responses.add(responses.GET, f"{BASE}/postings/{POSTING}", json={"data": {
        "id": POSTING, "text": "Registered Nurse – ICU (Nights)", "state": "published", "user": ACTOR,
        "owner": ACTOR, "hiringManager": "hm-1",
        "categories": {"team": "Nursing", "department": "Clinical", "location": "Sacramento",
                       "commitment": "Full-time"}}})
    responses.add(responses.GET, f"{BASE}/users/hm-1", json={"data": {
        "id": "hm-1", "name": "Maria Delgado", "email": "maria.delgado@mercyvalley.example",
        "jobTitle": "Nurse Manager, ICU", "accessRole": "team member", "deactivatedAt": None}})
    responses.add(responses.GET, f"{BASE}/users/{ACTOR}", json={"data": {
        "id": ACTOR, "name": "Tom Becker", "email": "tom.becker@mercyvalley.example"}})
    ats = make_ats()

    job = ats.get_job(POSTING)
    assert ats.get_job(POSTING) is job  # cached for the run

    assert (job.name, job.department, job.office) == ("Registered Nurse – ICU (Nights)", "Nursing", "Sacramento")
    assert [(p.name, p.email, p.title) for p in job.hiring_managers] == [
        ("Maria Delgado", "maria.delgado@mercyvalley.example", "Nurse Manager, ICU")]
    assert [p.email for p in job.recruiters] == ["tom.becker@mercyvalley.example"]
    assert len(calls_to(responses, f"{BASE}/postings")) == 1


@responses.activate
def test_hiring_manager_falls_back_to_the_applications_posting_hiring_manager() -> None:
    responses.add(responses.GET, f"{BASE}/opportunities", json=listing([opportunity("o1")]))
    responses.add(responses.GET, f"{BASE}/postings/{POSTING}", json={"data": {
        "id": POSTING, "text": "Respiratory Therapist", "owner": ACTOR, "categories": {"team": "Respiratory Care"}}})
    responses.add(responses.GET, f"{BASE}/users/hm-1", json={"data": {"id": "hm-1", "name": "Priya Raman",
                                                                       "email": "priya.raman@mercyvalley.example"}})
    responses.add(responses.GET, f"{BASE}/users/{ACTOR}", status=404, json={"code": "ResourceNotFound",
                                                                             "message": "not found"})
    ats = make_ats()
    [app] = ats.changed_applications(None)

    job = ats.get_job(app.job_id or "")

    assert [p.name for p in job.hiring_managers] == ["Priya Raman"]
    assert job.recruiters == ()  # a deleted owner leaves the job usable


# ----------------------------------------------------------------- writes


@responses.activate
def test_note_and_tag_are_written_as_the_perform_as_user() -> None:
    responses.add(responses.POST, f"{BASE}/opportunities/o1/notes", status=201, json={"data": {"noteId": "n1"}})
    responses.add(responses.POST, f"{BASE}/opportunities/o1/addTags", json={"data": opportunity("o1")})
    ats = make_ats()

    ats.add_note(app_of("o1"), "Booking link sent to Zoë: https://calendly.example/d/abc (ref is-o1-x)")
    ats.add_tag(app_of("o1"), " Scheduling: needs recruiter ")

    note, tag = responses.calls
    assert query_of(note) == {"perform_as": [ACTOR]} and query_of(tag) == {"perform_as": [ACTOR]}
    assert json.loads(note.request.body) == {"value": "Booking link sent to Zoë: https://calendly.example/d/abc "
                                                      "(ref is-o1-x)"}
    assert json.loads(tag.request.body) == {"tags": ["Scheduling: needs recruiter"]}
    assert note.request.headers["Authorization"].startswith("Basic ")


@responses.activate
def test_writes_without_perform_as_refuse_before_calling_and_401_hides_the_key() -> None:
    with pytest.raises(VendorError) as missing:
        make_ats(perform_as="").add_note(app_of("o1"), "x")
    assert "perform_as" in str(missing.value) and len(responses.calls) == 0

    responses.add(responses.GET, f"{BASE}/opportunities/o1", status=401,
                  json={"code": "UnauthorizedError", "message": "Invalid API key"})
    with pytest.raises(VendorAuthError) as refused:
        make_ats().get_application("o1")
    assert KEY not in str(refused.value)


def test_page_size_is_capped_at_levers_maximum() -> None:
    assert make_ats(per_page=500).per_page == 100 and make_ats(per_page=0).per_page == 1


# ---------------------------------------------------------------- sandbox


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    world = World()
    world.fixed_now = T0
    server = SandboxServer(build_app(world, ats="lever", scheduler="calendly")).start()
    try:
        yield server
    finally:
        server.stop()


def sandbox_ats(server: SandboxServer, **kwargs) -> LeverATS:
    return make_ats(base=f"{server.url}/v1", key=SANDBOX_LEVER_KEY, perform_as=SANDBOX_LEVER_USER, **kwargs)


def post(server: SandboxServer, path: str, body: dict) -> requests.Response:
    return requests.post(f"{server.url}{path}", json=body, timeout=5)


def test_sandbox_lists_every_seeded_opportunity_across_pages(sandbox: SandboxServer) -> None:
    apps = list(sandbox_ats(sandbox, per_page=3).changed_applications(None))
    counts = requests.get(f"{sandbox.url}/_admin/requests", timeout=5).json()

    assert sorted(a.id for a in apps) == sorted(opportunity_id(seed.application_id(c["id"])) for c in seed.CANDIDATES)
    assert counts["GET /v1/opportunities"] == 4  # 10 records, 3 per page, hasNext/next followed
    assert {a.stage_name for a in apps} == {"Application Review"} and all(a.active for a in apps)
    zoe = next(a for a in apps if a.id == opportunity_id(17001))
    assert (zoe.candidate_id, zoe.job_id) == (contact_id(7001), posting_id(101))
    assert zoe.updated_at < T0 and zoe.stage_changed_at is not None


def test_sandbox_names_addresses_and_hiring_team_intact(sandbox: SandboxServer) -> None:
    ats = sandbox_ats(sandbox)
    assert ats.get_candidate(contact_id(7001)).name == "Zoë O'Brien-Nguyễn"
    siobhan = ats.get_candidate(contact_id(7003))
    assert (siobhan.first_name, siobhan.last_name, siobhan.email) == ("Siobhán", "Ní Bhriain",
                                                                      "siobhan.nibhriain+rt@example.net")
    marcus = ats.get_candidate(contact_id(7009))
    assert marcus.email is None and marcus.phone == "+1 916 555 0109"
    leadership = ats.get_job(posting_id(104))
    assert [p.name for p in leadership.hiring_managers] == ["James O'Connor"]
    assert (leadership.department, leadership.office) == ("Nursing Leadership", "Sacramento")
    assert [p.name for p in leadership.recruiters] == ["Dana Whitfield"]
    assert ats.get_job(posting_id(105)).hiring_managers == ()
    assert ats.stage_names() == set(seed.STAGES)
    assert ats.check_auth()["perform_as_name"] == "Tom Becker"


def test_sandbox_refuses_what_lever_refuses(sandbox: SandboxServer) -> None:
    url = f"{sandbox.url}/v1/opportunities"
    auth = (SANDBOX_LEVER_KEY, "")
    assert requests.get(url, timeout=5).status_code == 401
    assert requests.get(url, auth=("wrong", ""), timeout=5).status_code == 401
    assert requests.get(url, auth=(SANDBOX_LEVER_KEY, "not-blank"), timeout=5).status_code == 401
    assert requests.get(url, params={"limit": 101}, auth=auth, timeout=5).status_code == 400
    assert requests.get(url, params={"updated_at": T0_MS}, auth=auth, timeout=5).status_code == 400
    assert requests.get(url, params={"updated_at_start": "2026-11-24"}, auth=auth, timeout=5).status_code == 400
    default = requests.get(url, auth=auth, timeout=5).json()["data"]
    everyone = requests.get(url, params={"confidentiality": "all"}, auth=auth, timeout=5).json()["data"]
    assert len(default) == 8 and len(everyone) == 10  # posting 104 is confidential
    note = requests.post(f"{url}/{opportunity_id(17001)}/notes", json={"value": "hi"}, auth=auth, timeout=5)
    assert note.status_code == 400 and "perform_as" in note.json()["message"]


def test_sandbox_admin_move_shows_up_with_stage_time_and_archive(sandbox: SandboxServer) -> None:
    world = sandbox.app.world
    ats = sandbox_ats(sandbox)
    assert list(ats.changed_applications(T0)) == []

    world.fixed_now = T0 + timedelta(minutes=2)
    assert post(sandbox, "/_admin/move", {"application_id": "17003", "stage": "Phone Screen"}).status_code == 200
    bad = post(sandbox, "/_admin/move", {"application_id": "17003", "stage": "Coffee Chat"})
    assert bad.status_code == 400 and "Panel Interview" in bad.json()["message"]

    [app] = ats.changed_applications(T0)
    assert (app.id, app.stage_id, app.stage_name) == (opportunity_id(17003), stage_id(1), "Phone Screen")
    assert app.stage_changed_at == app.updated_at == T0 + timedelta(minutes=2)

    world.fixed_now = T0 + timedelta(minutes=4)
    post(sandbox, "/_admin/move", {"application_id": opportunity_id(17003), "status": "rejected"})
    post(sandbox, "/_admin/move", {"application_id": "17004", "status": "hired"})
    changed = {a.id: a for a in ats.changed_applications(T0 + timedelta(minutes=3))}
    assert (changed[opportunity_id(17003)].status, changed[opportunity_id(17003)].active) == ("archived", False)
    assert changed[opportunity_id(17004)].status == "hired"  # a confidential posting's candidate, too


def test_sandbox_note_and_tag_land_as_perform_as_and_bump_updated_at(sandbox: SandboxServer) -> None:
    world = sandbox.app.world
    ats = sandbox_ats(sandbox)
    app = ats.get_application(opportunity_id(17001))
    assert (app.stage_name, app.job_id) == ("Application Review", posting_id(101))
    world.fixed_now = T0 + timedelta(minutes=5)

    body = "Booking link sent to Zoë: https://calendly.example/d/abc-123 (ref is-1)"
    ats.add_note(app, body)
    ats.add_tag(app, "Scheduling: needs recruiter")
    ats.add_tag(app, "Scheduling: needs recruiter")  # harmless twice

    state = requests.get(f"{sandbox.url}/_admin/lever/opportunities/17001", timeout=5).json()
    assert [(n["text"], n["user"]) for n in state["notes"]] == [(body, user_id(4005))]
    assert state["tags"] == ["Scheduling: needs recruiter"]
    assert world.data["notes"]["17001"] == [body] == world.data["notes"][opportunity_id(17001)]
    assert [a.id for a in ats.changed_applications(T0 + timedelta(minutes=1))] == [opportunity_id(17001)]


def test_sandbox_429_retry_after_waited_out_through_injected_sleeper(sandbox: SandboxServer) -> None:
    post(sandbox, "/_admin/faults", {"path": "/v1/opportunities", "status": 429, "headers": {"Retry-After": "3"}})
    sleeps = Sleeps()
    apps = list(sandbox_ats(sandbox, sleeper=sleeps).changed_applications(None))
    assert len(apps) == len(seed.CANDIDATES)
    assert sleeps.calls == [3.0]


def test_sandbox_revoked_key_is_an_auth_error(sandbox: SandboxServer) -> None:
    ats = sandbox_ats(sandbox)
    assert ats.check_auth()["perform_as"] == SANDBOX_LEVER_USER
    post(sandbox, "/_admin/lever/revoke", {})
    with pytest.raises(VendorAuthError):
        list(sandbox_ats(sandbox).changed_applications(None))
    post(sandbox, "/_admin/lever/restore", {})
    assert len(list(ats.changed_applications(None))) == len(seed.CANDIDATES)


# ---------------------------------------------------------------- doctor --probe (read-only)


def test_probe_against_the_sandbox_reads_only_and_every_line_holds(sandbox: SandboxServer) -> None:
    from interview_sync.probe.lever import probe
    from probe_support import check_names, probe_with_writes

    checks, writes = probe_with_writes(sandbox, probe, sandbox_ats(sandbox))
    assert [c for c in checks if not c.ok] == []
    for fact in ("stage expands to {id, text}", "stageChanges", "jobTitle", "updated_at_start",
                 "hired | non-hired", "postingHiringManager", "contacts carry"):
        assert fact in check_names(checks)
    assert writes == set()  # GETs only


def test_probe_reports_a_seeded_mismatch_with_the_fix(sandbox: SandboxServer) -> None:
    from interview_sync.probe.lever import probe

    lv = sandbox.app.world.data["lever"]
    opp = lv["opportunities"][opportunity_id(17002)]
    opp["stageChanges"] = []  # the entry into the current stage is no longer recorded
    first_user = next(iter(lv["users"].values()))
    del first_user["jobTitle"]
    checks = {c.name: c for c in probe(sandbox_ats(sandbox), sample=10)}

    entered = checks["lever probe: stageChanges record the entry into the current stage"]
    assert not entered.ok and opportunity_id(17002) in entered.detail and entered.fix
    title = checks["lever probe: users carry jobTitle"]
    assert not title.ok and first_user["id"] in title.detail
    assert checks["lever probe: opportunity.stage expands to {id, text}"].ok
