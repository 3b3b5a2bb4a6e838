"""Routing rules (SPEC §2): first matching [[routes]] entry wins."""

from __future__ import annotations

from datetime import datetime, timezone

from interview_sync.config import Route
from interview_sync.models import Application, Job
from interview_sync.routing import pick_route

ROUTES = [
    Route(match={"job_name": "(?i)director|manager|chief"}, event_type="leadership-video-60", format="video"),
    Route(match={"department": "Nursing", "office": "Sacramento"}, event_type="phone-screen-30"),
    Route(match={"stage": "Panel Interview"}, event_type="panel-60"),
    Route(match={"job_id": "103"}, event_type="rt-45"),
    Route(match={}, event_type="first-interview-45"),
]


def app(stage: str = "Phone Screen", job_id: str = "101") -> Application:
    return Application(id="1", candidate_id="2", job_id=job_id, stage_id="s", stage_name=stage, status="in_process",
                       updated_at=datetime(2026, 11, 30, tzinfo=timezone.utc))


def job(name: str, department: str | None = "Nursing", office: str | None = "Sacramento", job_id: str = "101") -> Job:
    return Job(id=job_id, name=name, department=department, office=office)


def picked(application: Application, the_job: Job | None) -> str:
    found = pick_route(ROUTES, application, the_job)
    assert found is not None
    return found[1].event_type


def test_order_decides_leadership_before_department() -> None:
    assert picked(app(), job("Nurse Unit Manager – Med/Surg")) == "leadership-video-60"
    assert picked(app(), job("Registered Nurse – ICU")) == "phone-screen-30"


def test_every_key_of_a_match_must_fit_case_insensitively() -> None:
    assert picked(app(), job("Registered Nurse", department="nursing", office="SACRAMENTO")) == "phone-screen-30"
    assert picked(app(), job("Registered Nurse", office="Folsom")) == "first-interview-45"


def test_stage_and_job_id_keys() -> None:
    assert picked(app(stage="Panel Interview"), job("Registered Nurse", office="Folsom")) == "panel-60"
    assert picked(app(job_id="103"), job("Respiratory Therapist", "Respiratory Care", "Folsom", "103")) == "rt-45"


def test_missing_job_facts_never_match_a_keyed_route() -> None:
    assert picked(app(), None) == "first-interview-45"
    assert pick_route(ROUTES[:2], app(), None) is None  # no catch-all: the caller alerts "unknown route"


def test_route_index_is_reported_for_the_audit() -> None:
    found = pick_route(ROUTES, app(stage="Panel Interview"), job("X", office="Folsom"))
    assert found is not None and found[0] == 2
