"""A Greenhouse Harvest v3-compatible ATS for the sandbox, with its OAuth token endpoint.

It speaks the wire format the real adapter (:mod:`interview_sync.ats.greenhouse`)
speaks, so demos and tests exercise the same code path as production:

- ``POST /auth/token``: OAuth2 client credentials (HTTP Basic
  ``client_id:client_secret``, form body ``grant_type=client_credentials`` and
  ``sub=<user id>``), answering ``access_token``/``token_type``/``expires_in``/
  ``expires_at``. Every ``/v3`` call needs ``Authorization: Bearer <token>``.
- ``GET /v3/<resource>``: flat objects, newest id first, filters ``ids``,
  parent ids (``candidate_ids``, ``job_ids``, ...), ``created_at``/``updated_at``
  as ``op|ISO`` (op = gte, gt, lte, lt), ``status``; ``per_page`` (1-500,
  default 100) on the first request only, then an opaque ``cursor`` in
  ``Link: <...>; rel="next"``. A cursor combined with any other parameter is
  refused (422), as Harvest v3 documents.
- id spaces as Harvest v3 has them: an application's ``stage_id`` is the id of
  its *current* ``application_stages`` row (one row per stage visit, with
  ``job_interview_stage_id``, ``entered_at``, ``exited_at``, ``current``),
  not a ``job_interview_stages`` id; the application also carries the
  stage's ``stage_name``. ``custom_fields`` is keyed by field key, each value
  a ``{name, type, value}`` object; users carry ``job_title``.
- ``POST /v3/notes``, ``POST /v3/candidate_tags``, ``POST /v3/applied_candidate_tags``,
  ``POST /v3/applications/{id}/move``: the write routes the tool uses;
  ``DELETE /v3/applied_candidate_tags/{id}`` for ``doctor --probe-writes``.
- ``X-RateLimit-Limit/Remaining/Reset`` on every ``/v3`` response. Enforcement
  is off unless ``world.data["greenhouse"]["rate_limit"]`` is set (e.g.
  ``{"limit": 50, "window": 10}``), so tests are not timing-dependent; when
  exceeded the answer is 429 with ``Retry-After``.

State lives in ``world.data["greenhouse"]``: one dict per resource keyed by
integer id (``users``, ``jobs``, ``departments``, ``offices``,
``job_interview_stages``, ``job_hiring_managers``, ``job_owners``,
``candidates``, ``applications``, ``application_stages``, ``notes``,
``candidate_tags``, ``applied_candidate_tags``), plus ``tokens``,
``revoked``, ``token_ttl`` and ``rate_limit``. ``stage_moves_touch`` (default
True) says whether a stage move bumps the application's ``updated_at``;
public evidence does not settle that for the real Harvest, so tests run both.
Every note's plain body is also appended to
``world.data["notes"][str(application_id)]``, a vendor-neutral record the
scheduler sandbox reads to find the booking link a candidate got.
"""

from __future__ import annotations

import math
import secrets
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from ..clock import parse_instant
from . import seed
from .common import (basic_credentials, bearer_token, decode_token, encode_token, find_named, mount_routes,
                     move_request)
from .common import millis_stamp as stamp  # Greenhouse writes UTC instants with milliseconds
from .client import SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET, SANDBOX_USER_ID
from .server import Request, Response, SandboxApp, World, error

CLIENT_ID = "sandbox-client"
CLIENT_SECRET = "sandbox-secret"
TOKEN_TTL_SECONDS = 3600  # Harvest v3 access tokens live one hour
FIRST_VISIT_ID = 300000  # application_stages rows: an id space of their own
DEFAULT_PER_PAGE = 100
MAX_PER_PAGE = 500
DEFAULT_RATE_LIMIT = 50
DEFAULT_RATE_WINDOW = 10
STATUSES = ("in_process", "rejected", "hired", "converted")
# The applications ``status`` filter speaks another vocabulary than the records: ``active`` asks for
# ``in_process`` (the v3 reference, applications 0015:637).
STATUS_QUERY = {"active": "in_process", "rejected": "rejected", "hired": "hired", "converted": "converted"}
NOTE_VISIBILITIES = ("public", "private", "admin_only")

# resource -> {query parameter: record field} for its parent-id filters
PARENT_FILTERS: dict[str, dict[str, str]] = {
    "applications": {"candidate_ids": "candidate_id", "job_ids": "job_id"},
    "candidates": {},
    "jobs": {"department_ids": "department_id"},
    "users": {},
    "departments": {},
    "offices": {},
    "job_interview_stages": {"job_ids": "job_id"},
    "job_hiring_managers": {"job_ids": "job_id", "user_ids": "user_id"},
    "job_owners": {"job_ids": "job_id", "user_ids": "user_id"},
    "application_stages": {"application_ids": "application_id", "job_interview_stage_ids": "job_interview_stage_id"},
    "notes": {"candidate_ids": "candidate_id", "application_ids": "application_id"},
    "candidate_tags": {},
    "applied_candidate_tags": {"candidate_ids": "candidate_id", "candidate_tag_ids": "candidate_tag_id"},
}
# resource -> extra exact-match filters it accepts
VALUE_FILTERS: dict[str, tuple[str, ...]] = {
    "applications": ("status",),
    "application_stages": ("current",),
    "jobs": ("status",),
    "job_owners": ("type",),
    "candidate_tags": ("name",),
}
SINGLE_ROUTES = ("applications", "candidates", "jobs", "users")


# --------------------------------------------------------------------------- seed


def seed_world(world: World) -> dict[str, Any]:
    """Render the neutral seed into Harvest v3 objects; idempotent per world."""
    with world.lock:
        if "greenhouse" in world.data:
            return world.data["greenhouse"]
        now = world.now()
        gh: dict[str, Any] = {name: {} for name in PARENT_FILTERS}
        gh.update({"tokens": {}, "revoked": False, "token_ttl": TOKEN_TTL_SECONDS,
                   "rate_limit": None, "_rate": {"window_start": 0.0, "count": 0}, "_next_id": 900000,
                   "stage_moves_touch": True})
        created = stamp(now - timedelta(days=30))
        _seed_users(gh, created)
        _seed_jobs(gh, created)
        _seed_applications(gh, now)
        world.data["greenhouse"] = gh
        world.data.setdefault("notes", {})
        return gh


def _seed_users(gh: dict[str, Any], created: str) -> None:
    for user in seed.USERS:
        gh["users"][user["id"]] = {
            "id": user["id"], "first_name": user["first_name"], "last_name": user["last_name"],
            "name": f"{user['first_name']} {user['last_name']}", "primary_email": user["email"],
            "emails": [user["email"]], "job_title": user["title"], "deactivated": False,
            "site_admin": not user["host"],
            "employee_id": None, "created_at": created, "updated_at": created,
        }


def _seed_jobs(gh: dict[str, Any], created: str) -> None:
    """Jobs with their departments, offices, interview stages, hiring managers and recruiters."""
    departments = _index_names(job["department"] for job in seed.JOBS)
    offices = _index_names(job["office"] for job in seed.JOBS)
    for name, ident in departments.items():
        gh["departments"][500 + ident] = {"id": 500 + ident, "name": name, "parent_id": None,
                                          "created_at": created, "updated_at": created}
    for name, ident in offices.items():
        gh["offices"][600 + ident] = {"id": 600 + ident, "name": name, "parent_id": None,
                                      "created_at": created, "updated_at": created}
    owner_id = hm_id = 1
    for job in seed.JOBS:
        gh["jobs"][job["id"]] = {
            "id": job["id"], "name": job["name"], "requisition_id": f"REQ-{job['id']}",
            "status": "open", "confidential": False,
            "department_id": 500 + departments[job["department"]],
            "office_ids": [600 + offices[job["office"]]],
            "opened_at": created, "closed_at": None, "created_at": created, "updated_at": created,
        }
        for index, stage_name in enumerate(seed.STAGES):
            stage_id = stage_id_for(job["id"], index)
            gh["job_interview_stages"][stage_id] = {
                "id": stage_id, "job_id": job["id"], "name": stage_name, "sort_order": index,
                "created_at": created, "updated_at": created,
            }
        for user_id in job["hiring_managers"]:
            gh["job_hiring_managers"][hm_id] = {"id": hm_id, "job_id": job["id"], "user_id": user_id,
                                                "created_at": created, "updated_at": created}
            hm_id += 1
        for user_id in job["recruiters"]:
            gh["job_owners"][owner_id] = {"id": owner_id, "job_id": job["id"], "user_id": user_id,
                                          "type": "recruiter", "created_at": created, "updated_at": created}
            owner_id += 1


def _seed_applications(gh: dict[str, Any], now: datetime) -> None:
    """One candidate and one in-process application each, in the first stage, touched days ago."""
    jobs_by_id = {job["id"]: job for job in seed.JOBS}
    for position, cand in enumerate(seed.CANDIDATES):
        applied = now - timedelta(days=10, hours=position)
        touched = stamp(now - timedelta(days=3, minutes=position * 7))
        gh["candidates"][cand["id"]] = {
            "id": cand["id"], "first_name": cand["first_name"], "last_name": cand["last_name"],
            "company": None, "title": None, "private": False, "can_email": True,
            "email_addresses": [{"value": cand["email"], "type": "personal"}] if cand["email"] else [],
            "phone_numbers": [{"value": cand["phone"], "type": "mobile"}] if cand["phone"] else [],
            "created_at": stamp(applied), "updated_at": touched,
        }
        app_id = seed.application_id(cand["id"])
        job = jobs_by_id[cand["job"]]
        visit_id = FIRST_VISIT_ID + position
        gh["applications"][app_id] = {
            "id": app_id, "candidate_id": cand["id"], "job_id": job["id"], "stage_id": visit_id,
            "stage_name": seed.STAGES[0], "status": "in_process", "prospect": False,
            "created_at": stamp(applied), "updated_at": touched, "last_activity_at": touched,
            "rejected_at": None, "rejection_reason_id": None,
            "recruiter_id": (job["recruiters"] or [None])[0], "coordinator_id": None, "source_id": None,
            "referrer_id": None, "custom_fields": custom_fields_for(job),
        }
        gh["application_stages"][visit_id] = stage_visit(visit_id, app_id, stage_id_for(job["id"], 0),
                                                         stamp(applied))


def stage_id_for(job_id: int, index: int) -> int:
    """``job_interview_stages`` ids are derived from the job so tests can name them without a lookup."""
    return job_id * 100 + index + 1


def stage_visit(visit_id: int, application_id: int, interview_stage_id: int, entered_at: str) -> dict[str, Any]:
    """A current ``application_stages`` row: the application's visit to one interview stage."""
    return {"id": visit_id, "application_id": application_id, "job_interview_stage_id": interview_stage_id,
            "entered_at": entered_at, "exited_at": None, "current": True, "days_in_stage": 0,
            "created_at": entered_at, "updated_at": entered_at}


def custom_fields_for(job: dict[str, Any]) -> dict[str, Any]:
    """Application custom fields as v3 renders them: keyed by field key, ``{name, type, value}`` each."""
    shift = "Nights" if "Nights" in job["name"] else "Days"
    return {"shift": {"name": "Shift", "type": "single_select", "value": shift}}


def _index_names(names: Any) -> dict[str, int]:
    index: dict[str, int] = {}
    for name in names:
        index.setdefault(name, len(index) + 1)
    return index


# --------------------------------------------------------------------------- mount


def config_section(url: str) -> dict[str, Any]:
    """The ``[ats]`` section that points the real Greenhouse adapter at this flavour served at
    ``url``: the flavour knows its own paths and sandbox credentials, so a new vendor's sandbox
    is one module."""
    return {"provider": "sandbox", "base_url": f"{url}/v3", "token_url": f"{url}/auth/token",
            "client_id": SANDBOX_CLIENT_ID, "client_secret": SANDBOX_CLIENT_SECRET, "user_id": SANDBOX_USER_ID}


def mount(app: SandboxApp) -> None:
    """Seed the Greenhouse world and register the token, /v3 and admin routes."""
    world = app.world
    seed_world(world)
    v3 = partial(_v3, world)  # bearer auth and rate limiting, as every Harvest route has
    mount_routes(app, [
        ("POST", "/auth/token", partial(_token, world)),
        *[("GET", f"/v3/{resource}", v3(_lister(world, resource))) for resource in PARENT_FILTERS],
        *[("GET", f"/v3/{resource}/{{id}}", v3(_getter(world, resource))) for resource in SINGLE_ROUTES],
        ("POST", "/v3/notes", v3(partial(_create_note, world))),
        ("POST", "/v3/candidate_tags", v3(partial(_create_tag, world))),
        ("POST", "/v3/applied_candidate_tags", v3(partial(_apply_tag, world))),
        ("DELETE", "/v3/applied_candidate_tags/{id}", v3(partial(_unapply_tag, world))),
        ("POST", "/v3/applications/{id}/move", v3(partial(_move_v3, world))),
        ("POST", "/_admin/move", partial(_admin_move, world)),
        ("POST", "/_admin/greenhouse/revoke", partial(_admin_revoke, world)),
        ("POST", "/_admin/greenhouse/candidate-email", partial(_admin_candidate_email, world)),
        ("POST", "/_admin/greenhouse/restore", partial(_admin_restore, world)),
        ("POST", "/_admin/greenhouse/custom-field", partial(_admin_custom_field, world)),
        ("POST", "/_admin/greenhouse/rate_limit", partial(_admin_rate_limit, world)),
        ("GET", "/_admin/greenhouse/applications/{id}", partial(_admin_application, world)),
    ])


def _gh(world: World) -> dict[str, Any]:
    return world.data["greenhouse"]


def _new_id(gh: dict[str, Any]) -> int:
    gh["_next_id"] += 1
    return gh["_next_id"]


# --------------------------------------------------------------------------- auth


def _token(world: World, request: Request) -> Response:
    """OAuth2 client-credentials grant, answered the way auth.greenhouse.io does."""
    client_id, client_secret = basic_credentials(request.headers.get("authorization", ""))
    with world.lock:
        gh = _gh(world)
        if gh["revoked"] or client_id != CLIENT_ID or client_secret != CLIENT_SECRET:
            return Response(401, {"error": "invalid_client", "error_description": "client authentication failed"})
        form = request.form()
        if form.get("grant_type") != "client_credentials":
            return Response(400, {"error": "unsupported_grant_type",
                                  "error_description": "grant_type must be client_credentials"})
        sub = (form.get("sub") or "").strip()
        if not sub:
            return Response(400, {"error": "invalid_request", "error_description": "sub (a user id) is required"})
        if not sub.isdigit() or int(sub) not in gh["users"]:
            return Response(400, {"error": "invalid_request", "error_description": "sub is not a user in this account"})
        ttl = int(gh["token_ttl"])
        expires_at = world.now() + timedelta(seconds=ttl)
        token = "ghs_" + secrets.token_urlsafe(24)
        gh["tokens"][token] = {"sub": int(sub), "expires_at": expires_at}
        return Response(200, {"access_token": token, "token_type": "Bearer", "expires_in": ttl,
                              "expires_at": stamp(expires_at)})


def _v3(world: World, handler: Callable[[Request], Response]) -> Callable[[Request], Response]:
    """Wrap a /v3 handler with bearer auth and rate limiting, as every Harvest route has."""

    def wrapped(request: Request) -> Response:
        with world.lock:
            gh = _gh(world)
            token = bearer_token(request.headers.get("authorization", ""), lenient=True)
            grant = gh["tokens"].get(token) if token is not None else None
            if grant is None or gh["revoked"] or grant["expires_at"] <= world.now():
                return Response(401, {"message": "Unauthorized", "errors": ["Token could not be decoded."]})
            request.params["_sub"] = str(grant["sub"])
            limited, headers = _rate_check(gh)
            if limited is not None:
                return limited
            response = handler(request)
            response.headers.update(headers)
            return response

    return wrapped


def _rate_check(gh: dict[str, Any]) -> tuple[Response | None, dict[str, str]]:
    """Fixed-window limiter on wall time (rate limits are about real request rate).

    ``gh["rate_clock"]`` (a callable returning seconds) replaces wall time, so the
    rate-limit benchmark can run 1,000 requests in simulated time.
    """
    config = gh.get("rate_limit")
    now = (gh.get("rate_clock") or time.time)()
    if not config:
        window = DEFAULT_RATE_WINDOW
        reset = (math.floor(now / window) + 1) * window
        return None, {"X-RateLimit-Limit": str(DEFAULT_RATE_LIMIT),
                      "X-RateLimit-Remaining": str(DEFAULT_RATE_LIMIT), "X-RateLimit-Reset": str(int(reset))}
    if isinstance(config, int):
        config = {"limit": config}
    limit = int(config.get("limit", DEFAULT_RATE_LIMIT))
    window = float(config.get("window", DEFAULT_RATE_WINDOW))
    state = gh["_rate"]
    window_start = math.floor(now / window) * window
    if state["window_start"] != window_start:
        state["window_start"], state["count"] = window_start, 0
    reset = window_start + window
    headers = {"X-RateLimit-Limit": str(limit), "X-RateLimit-Reset": str(int(math.ceil(reset)))}
    if state["count"] >= limit:
        retry_after = max(1, int(math.ceil(reset - now)))
        headers.update({"X-RateLimit-Remaining": "0", "Retry-After": str(retry_after)})
        return Response(429, {"message": "Too Many Requests"}, headers), headers
    state["count"] += 1
    headers["X-RateLimit-Remaining"] = str(limit - state["count"])
    return None, headers


# --------------------------------------------------------------------------- reads


def _lister(world: World, resource: str) -> Callable[[Request], Response]:
    def handler(request: Request) -> Response:
        query = {name: values[-1] for name, values in request.query.items()}
        if "cursor" in query:
            if len(query) > 1:
                others = ", ".join(sorted(name for name in query if name != "cursor"))
                return error(422, f"cursor must be the only query parameter (also got: {others}); "
                                  "follow the Link header URL exactly")
            try:
                state = _decode_cursor(query["cursor"])
            except ValueError:
                return error(422, "invalid cursor")
            if state.get("r") != resource:
                return error(422, "cursor belongs to another resource")
            filters, per_page, before = state["q"], int(state["n"]), state.get("lt")
        else:
            per_text = query.pop("per_page", str(DEFAULT_PER_PAGE))
            if not per_text.isdigit() or not 1 <= int(per_text) <= MAX_PER_PAGE:
                return error(422, f"per_page must be an integer from 1 to {MAX_PER_PAGE}")
            filters, per_page, before = query, int(per_text), None
        try:
            records = _filtered(_gh(world)[resource].values(), resource, filters)
        except ValueError as exc:
            return error(422, str(exc))
        records.sort(key=lambda rec: rec["id"], reverse=True)
        if before is not None:
            records = [rec for rec in records if rec["id"] < before]
        page = records[:per_page]
        headers: dict[str, str] = {}
        if len(records) > per_page:
            cursor = encode_token({"r": resource, "q": filters, "n": per_page, "lt": page[-1]["id"]})
            headers["Link"] = f'<{request.base_url}/v3/{resource}?cursor={cursor}>; rel="next"'
        return Response(200, [dict(rec) for rec in page], headers)

    return handler


def _filtered(records: Any, resource: str, filters: dict[str, str]) -> list[dict[str, Any]]:
    parents = PARENT_FILTERS[resource]
    allowed = {"ids", "created_at", "updated_at", *parents, *VALUE_FILTERS.get(resource, ())}
    unknown = sorted(set(filters) - allowed)
    if unknown:
        raise ValueError(f"unknown parameter(s) for /v3/{resource}: {', '.join(unknown)}")
    tests: list[Callable[[dict[str, Any]], bool]] = []
    for name, value in filters.items():
        if name == "ids" or name in parents:
            field = "id" if name == "ids" else parents[name]
            wanted = _id_list(name, value)
            tests.append(lambda rec, f=field, w=wanted: rec.get(f) in w)
        elif name in ("created_at", "updated_at"):
            tests.append(_time_test(name, value))
        elif resource == "applications" and name == "status":
            if value not in STATUS_QUERY:
                raise ValueError(f"status must be one of {', '.join(STATUS_QUERY)}")
            tests.append(lambda rec, v=STATUS_QUERY[value]: rec.get("status") == v)
        else:
            tests.append(lambda rec, f=name, v=value: _query_text(rec.get(f)) == v)
    return [rec for rec in records if all(test(rec) for test in tests)]


def _query_text(value: Any) -> str:
    """A field as a query string spells it (booleans are ``true``/``false``)."""
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def _id_list(name: str, value: str) -> set[int]:
    parts = [part.strip() for part in value.split(",") if part.strip()]
    if not parts or not all(part.isdigit() for part in parts):
        raise ValueError(f"{name} must be a comma-separated list of integer ids")
    return {int(part) for part in parts}


def _time_test(name: str, value: str) -> Callable[[dict[str, Any]], bool]:
    op, sep, instant = value.partition("|")
    if not sep or op not in ("gte", "gt", "lte", "lt"):
        raise ValueError(f"{name} must look like {name}=gte|2026-01-01T00:00:00Z (op: gte, gt, lte, lt)")
    try:
        bound = parse_instant(instant)
    except ValueError as exc:
        raise ValueError(f"{name}: {instant!r} is not an ISO 8601 instant with offset") from exc
    compare: dict[str, Callable[[datetime, datetime], bool]] = {
        "gte": lambda a, b: a >= b, "gt": lambda a, b: a > b,
        "lte": lambda a, b: a <= b, "lt": lambda a, b: a < b,
    }
    return lambda rec: rec.get(name) is not None and compare[op](parse_instant(rec[name]), bound)


def _decode_cursor(cursor: str) -> dict[str, Any]:
    state = decode_token(cursor)
    if not isinstance(state, dict) or not isinstance(state.get("q"), dict) or "n" not in state:
        raise ValueError("invalid cursor")
    return state


def _getter(world: World, resource: str) -> Callable[[Request], Response]:
    def handler(request: Request) -> Response:
        ident = request.params["id"]
        record = _gh(world)[resource].get(int(ident)) if ident.isdigit() else None
        if record is None:
            return error(404, f"{resource[:-1]} {ident} not found")
        return Response(200, dict(record))

    return handler


# --------------------------------------------------------------------------- writes


def _touch_applications(world: World, applications: list[dict[str, Any]]) -> None:
    """Any write bumps updated_at, as Greenhouse does: our own note re-triggers a read."""
    now = stamp(world.now())
    for application in applications:
        application["updated_at"] = application["last_activity_at"] = now


def _create_note(world: World, request: Request) -> Response:
    body = request.json()
    gh = _gh(world)
    candidate = gh["candidates"].get(_as_int(body.get("candidate_id")))
    if candidate is None:
        return error(422, "candidate_id is required and must name an existing candidate")
    text = body.get("body")
    if not isinstance(text, str) or not text.strip():
        return error(422, "body is required")
    visibility = body.get("visibility", "public")
    if visibility not in NOTE_VISIBILITIES:
        return error(422, f"visibility must be one of: {', '.join(NOTE_VISIBILITIES)}")
    if body.get("note_type", "NOTE") != "NOTE":
        return error(422, "note_type must be NOTE")
    application_id = body.get("application_id")
    if application_id is not None:
        application = gh["applications"].get(_as_int(application_id))
        if application is None or application["candidate_id"] != candidate["id"]:
            return error(422, "application_id must name an application of this candidate")
        targets = [application]
    else:
        targets = [a for a in gh["applications"].values() if a["candidate_id"] == candidate["id"]]
    now = stamp(world.now())
    note = {"id": _new_id(gh), "candidate_id": candidate["id"],
            "application_id": targets[0]["id"] if application_id is not None else None,
            "user_id": int(request.params["_sub"]), "body": text, "visibility": visibility,
            "note_type": "NOTE", "created_at": now, "updated_at": now}
    gh["notes"][note["id"]] = note
    shared = world.data.setdefault("notes", {})
    for application in targets:
        shared.setdefault(str(application["id"]), []).append(text)
    _touch_applications(world, targets)
    candidate["updated_at"] = now
    return Response(201, dict(note))


def _create_tag(world: World, request: Request) -> Response:
    gh = _gh(world)
    name = request.json().get("name")
    if not isinstance(name, str) or not name.strip():
        return error(422, "name is required")
    if any(tag["name"].casefold() == name.strip().casefold() for tag in gh["candidate_tags"].values()):
        return error(422, f"a candidate tag named {name.strip()!r} already exists")
    now = stamp(world.now())
    tag = {"id": _new_id(gh), "name": name.strip(), "created_at": now, "updated_at": now}
    gh["candidate_tags"][tag["id"]] = tag
    return Response(201, dict(tag))


def _apply_tag(world: World, request: Request) -> Response:
    gh = _gh(world)
    body = request.json()
    candidate = gh["candidates"].get(_as_int(body.get("candidate_id")))
    tag = gh["candidate_tags"].get(_as_int(body.get("candidate_tag_id")))
    if candidate is None or tag is None:
        return error(422, "candidate_id and candidate_tag_id must name an existing candidate and tag")
    for row in gh["applied_candidate_tags"].values():
        if row["candidate_id"] == candidate["id"] and row["candidate_tag_id"] == tag["id"]:
            return error(422, "the candidate already has this tag")
    now = stamp(world.now())
    row = {"id": _new_id(gh), "candidate_id": candidate["id"], "candidate_tag_id": tag["id"],
           "created_at": now, "updated_at": now}
    gh["applied_candidate_tags"][row["id"]] = row
    _touch_applications(world, [a for a in gh["applications"].values() if a["candidate_id"] == candidate["id"]])
    candidate["updated_at"] = now
    return Response(201, dict(row))


def _unapply_tag(world: World, request: Request) -> Response:
    gh = _gh(world)
    row = gh["applied_candidate_tags"].pop(_as_int(request.params["id"]), None)
    if row is None:
        return error(404, f"applied candidate tag {request.params['id']} not found")
    now = stamp(world.now())
    _touch_applications(world, [a for a in gh["applications"].values() if a["candidate_id"] == row["candidate_id"]])
    gh["candidates"][row["candidate_id"]]["updated_at"] = now
    return Response(204, None)


def _move_v3(world: World, request: Request) -> Response:
    gh = _gh(world)
    application = gh["applications"].get(_as_int(request.params["id"]))
    if application is None:
        return error(404, f"application {request.params['id']} not found")
    target = _as_int(request.json().get("to_stage_id"))
    stage = gh["job_interview_stages"].get(target)
    if stage is None or stage["job_id"] != application["job_id"]:
        return error(422, "to_stage_id must be a stage of the application's job")
    move_to_stage(world, application, stage)
    return Response(200, dict(application))


def move_to_stage(world: World, application: dict[str, Any], stage: dict[str, Any]) -> None:
    """Move an application: close its current stage visit, open a new one, point ``stage_id`` at it.

    The application's ``updated_at`` moves too unless ``stage_moves_touch`` is
    off (whether real Harvest bumps it is not publicly confirmed).
    """
    gh = _gh(world)
    now = stamp(world.now())
    for row in gh["application_stages"].values():
        if row["application_id"] == application["id"] and row["current"]:
            row.update(exited_at=now, updated_at=now, current=False)
    row_id = _new_id(gh)
    gh["application_stages"][row_id] = stage_visit(row_id, application["id"], stage["id"], now)
    application["stage_id"] = row_id
    application["stage_name"] = stage["name"]
    if gh.get("stage_moves_touch", True):
        _touch_applications(world, [application])


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


# --------------------------------------------------------------------------- admin


def _admin_target(gh: dict[str, Any], body: dict[str, Any]) -> dict[str, Any] | Response:
    """The application an admin body's ``application_id`` names, or the 404 to answer."""
    application = gh["applications"].get(_as_int(body.get("application_id")))
    if application is None:
        return error(404, f"application {body.get('application_id')!r} not found")
    return application


def _admin_move(world: World, request: Request) -> Response:
    """``{"application_id": 17001, "stage": "Phone Screen"}`` or ``{"application_id": .., "status": "rejected"}``."""
    body = request.json()
    with world.lock:
        gh = _gh(world)
        application = _admin_target(gh, body)
        if isinstance(application, Response):
            return application
        asked = move_request(body, STATUSES)
        if isinstance(asked, Response):
            return asked
        stage_name, status = asked
        if stage_name is not None:
            stages = sorted((s for s in gh["job_interview_stages"].values() if s["job_id"] == application["job_id"]),
                            key=lambda s: s["sort_order"])
            match = find_named(stages, stage_name, "name")
            if match is None:
                valid = ", ".join(s["name"] for s in stages)
                return error(400, f"unknown stage {stage_name!r} for job {application['job_id']}; valid: {valid}",
                             valid_stages=[s["name"] for s in stages])
            move_to_stage(world, application, match)
        if status is not None:
            application["status"] = status
            application["rejected_at"] = stamp(world.now()) if status == "rejected" else None
            _touch_applications(world, [application])
        return Response(200, {"application": dict(application), "stage_name": _stage_name(gh, application)})


def _admin_candidate_email(world: World, request: Request) -> Response:
    """``{"application_id": 17009, "email": "..."}``: a recruiter corrects the candidate's
    address in the ATS (their applications' ``updated_at`` moves, as in Greenhouse)."""
    body = request.json()
    with world.lock:
        gh = _gh(world)
        application = _admin_target(gh, body)
        if isinstance(application, Response):
            return application
        candidate = gh["candidates"][application["candidate_id"]]
        candidate["email_addresses"] = [{"value": str(body.get("email", "")), "type": "personal"}]
        candidate["updated_at"] = stamp(world.now())
        _touch_applications(world, [a for a in gh["applications"].values()
                                    if a["candidate_id"] == application["candidate_id"]])
        return Response(200, {"candidate_id": candidate["id"]})


def _admin_custom_field(world: World, request: Request) -> Response:
    """``{"application_id": 17002, "key": "preferred_language", "value": "Español"}``: a
    recruiter fills an application custom field (language, consent to texts)."""
    body = request.json()
    with world.lock:
        application = _gh(world)["applications"].get(_as_int(body.get("application_id")))
        if application is None:
            return error(404, f"application {body.get('application_id')!r} not found")
        key = str(body.get("key", ""))
        application["custom_fields"][key] = {"name": key.replace("_", " ").capitalize(), "type": "short_text",
                                             "value": body.get("value")}
        _touch_applications(world, [application])
        return Response(200, {"custom_fields": application["custom_fields"]})


def _admin_revoke(world: World, request: Request) -> Response:
    """Invalidate every token and refuse new ones (as a rotated/deleted credential would)."""
    with world.lock:
        gh = _gh(world)
        revoked = len(gh["tokens"])
        gh["tokens"].clear()
        gh["revoked"] = True
        return Response(200, {"revoked_tokens": revoked, "token_endpoint": "refusing"})


def _admin_restore(world: World, request: Request) -> Response:
    with world.lock:
        _gh(world)["revoked"] = False
        return Response(200, {"token_endpoint": "accepting"})


def _admin_rate_limit(world: World, request: Request) -> Response:
    """``{"limit": 5, "window": 10}`` turns enforcement on; ``{"limit": null}`` turns it off."""
    body = request.json()
    with world.lock:
        gh = _gh(world)
        if body.get("limit") is None:
            gh["rate_limit"] = None
        else:
            gh["rate_limit"] = {"limit": int(body["limit"]), "window": float(body.get("window", DEFAULT_RATE_WINDOW))}
        gh["_rate"] = {"window_start": 0.0, "count": 0}
        return Response(200, {"rate_limit": gh["rate_limit"]})


def _admin_application(world: World, request: Request) -> Response:
    with world.lock:
        gh = _gh(world)
        application = gh["applications"].get(_as_int(request.params["id"]))
        if application is None:
            return error(404, f"application {request.params['id']} not found")
        candidate_id = application["candidate_id"]
        notes = [dict(n) for n in sorted(gh["notes"].values(), key=lambda n: n["id"])
                 if n["application_id"] == application["id"]
                 or (n["application_id"] is None and n["candidate_id"] == candidate_id)]
        tag_ids = [row["candidate_tag_id"] for row in gh["applied_candidate_tags"].values()
                   if row["candidate_id"] == candidate_id]
        tags = [gh["candidate_tags"][tag_id]["name"] for tag_id in tag_ids]
        return Response(200, {"application": dict(application), "stage_name": _stage_name(gh, application),
                              "notes": notes, "tags": tags})


def _stage_name(gh: dict[str, Any], application: dict[str, Any]) -> str | None:
    return application.get("stage_name")
