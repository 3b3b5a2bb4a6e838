"""Bulk synthetic data for the Greenhouse sandbox: hospital-scale application counts.

The neutral seed has a dozen candidates; the poll benchmark needs 1k–100k
applications to show that an idle poll's cost does not grow with the ATS.
The records copy the shape :func:`interview_sync.sandbox.greenhouse.seed_world`
writes (same fields, same integer keys), spread over the seeded jobs that have
a hiring manager, all in the first stage and last touched well before the
benchmark starts, so only the applications the benchmark moves show up as
changed.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from . import seed
from .greenhouse import custom_fields_for, seed_world, stage_id_for, stage_visit, stamp
from .server import World

FIRST_CANDIDATE_ID = 10_000_000  # far above the seed's ids and the sandbox's own id counter
APPLICATION_OFFSET = 10_000_000  # application id = candidate id + offset (seed uses + 10000)
VISIT_OFFSET = 10_000_000  # application_stages row id = application id + offset: an id space of its own


def bulk_application_id(index: int) -> int:
    """The application id of the ``index``-th bulk record (0-based)."""
    return FIRST_CANDIDATE_ID + index + APPLICATION_OFFSET


def seed_bulk(world: World, n: int, *, age: timedelta = timedelta(days=30),
              stage_history: bool = True) -> list[int]:
    """Add ``n`` synthetic candidates, each with one in-process application; return the application ids.

    Idempotent per index: calling it again with a larger ``n`` adds only the
    missing records. ``stage_history=False`` leaves out the bulk records'
    ``application_stages`` rows: the sandbox filters that table by scanning it,
    so at 100k rows every lookup costs the *sandbox* ~0.1 s; the benchmark
    drops them to keep its wall time about the tool (request counts are
    unchanged; moved applications still get their row from the move). The
    applications still point ``stage_id`` at the row they would have.
    """
    gh = seed_world(world)
    jobs = [job for job in seed.JOBS if job["hiring_managers"]]
    with world.lock:
        now = world.now()
        applied = stamp(now - age - timedelta(days=1))
        touched = stamp(now - age)
        ids: list[int] = []
        candidates: dict[int, Any] = gh["candidates"]
        applications: dict[int, Any] = gh["applications"]
        stages: dict[int, Any] = gh["application_stages"]
        for index in range(n):
            cand_id = FIRST_CANDIDATE_ID + index
            app_id = cand_id + APPLICATION_OFFSET
            ids.append(app_id)
            if app_id in applications:
                continue
            job = jobs[index % len(jobs)]
            visit_id = app_id + VISIT_OFFSET
            candidates[cand_id] = {
                "id": cand_id, "first_name": "Bulk", "last_name": f"Candidate {index}", "company": None,
                "title": None, "private": False, "can_email": True,
                "email_addresses": [{"value": f"bulk.candidate.{index}@example.org", "type": "personal"}],
                "phone_numbers": [], "created_at": applied, "updated_at": touched,
            }
            applications[app_id] = {
                "id": app_id, "candidate_id": cand_id, "job_id": job["id"], "stage_id": visit_id,
                "stage_name": seed.STAGES[0], "status": "in_process", "prospect": False, "created_at": applied,
                "updated_at": touched, "custom_fields": custom_fields_for(job),
                "last_activity_at": touched, "rejected_at": None, "rejection_reason_id": None,
                "recruiter_id": job["recruiters"][0] if job["recruiters"] else None, "coordinator_id": None,
                "source_id": None, "referrer_id": None,
            }
            if stage_history:
                stages[visit_id] = stage_visit(visit_id, app_id, stage_id_for(job["id"], 0), applied)
        return ids
