"""A Lever v1-compatible ATS for the sandbox.

It speaks the wire format the real adapter (:mod:`interview_sync.ats.lever`)
speaks, so demos and tests exercise the production code path:

- HTTP Basic auth on every ``/v1`` route: the API key is the username, the
  password is blank. Anything else (or a revoked key) is 401.
- Every answer is an envelope: ``{"data": {...}}`` for one object,
  ``{"data": [...], "hasNext": bool, "next": "<token>"}`` for lists. Lists
  take ``limit`` (1-100, default 100) and the opaque ``offset`` token from the
  previous page's ``next``; the caller repeats its filters with the token, as
  Lever's clients do.
- ``GET /v1/opportunities``: ``updated_at_start``/``updated_at_end`` (ms since
  the epoch, inclusive), ``confidentiality`` (default ``non-confidential``;
  ``all`` to include confidential postings' candidates), ``archived``,
  ``stage_id``, ``posting_id``, ``contact_id``, ``tag``, ``email`` and
  ``expand`` (``stage``, ``applications``, ``owner``, ``followers``,
  ``sourcedBy``). Unknown parameters are refused (400) so that adapter typos
  show up in tests instead of silently listing everything.
- Timestamps are integers (ms). ``emails`` are strings, ``phones`` are
  ``{type, value}``. ``archived`` is ``null`` or ``{reason, archivedAt}`` where
  ``reason`` is an archive-reason id (``GET /v1/archive_reasons`` says which one
  is of type ``hired``).
- Writes need ``perform_as=<user id>`` (400 otherwise): ``POST
  /opportunities/{id}/notes`` (``{"value": ...}``), ``POST .../addTags`` /
  ``removeTags`` (``{"tags": [...]}``), ``PUT .../stage`` (``{"stage": id}``),
  ``PUT .../archived`` (``{"reason": id | null}``). Every write bumps the
  opportunity's ``updatedAt``.

Ids are UUID-shaped and derived from the neutral seed ids (see the ``*_id``
helpers), so tests and the sandbox client can name them without a lookup.
State lives in ``world.data["lever"]``. Every note's text is also appended to
``world.data["notes"]`` under both the opportunity id and the seed application
number (``"17001"``): the scheduler sandbox reads it to find the booking link
a candidate was sent.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from . import seed
from .common import basic_credentials, decode_token, encode_token, find_named, mount_routes, move_request
from .client import SANDBOX_LEVER_KEY, SANDBOX_LEVER_USER
from .server import Request, Response, SandboxApp, World, error

API_KEY = "sandbox-lever-key"
DEFAULT_LIMIT = 100
MAX_LIMIT = 100
EXPANDABLE = ("stage", "applications", "owner", "followers", "sourcedBy")
OPPORTUNITY_FILTERS = ("updated_at_start", "updated_at_end", "created_at_start", "created_at_end",
                       "confidentiality", "archived", "stage_id", "posting_id", "contact_id", "tag", "email")
CONFIDENTIALITY = ("non-confidential", "confidential", "all")
CONFIDENTIAL_JOBS = frozenset({104})  # a leadership requisition, as hospitals often keep them
ARCHIVE_REASONS: list[tuple[str, str]] = [("Hired", "hired"), ("Underqualified", "non-hired"),
                                          ("Withdrew", "non-hired"), ("Position filled", "non-hired")]
ADMIN_STATUSES = ("rejected", "hired", "active", "in_process")


# --------------------------------------------------------------------------- ids


def user_id(seed_user_id: int) -> str:
    return f"c1a5e2b8-0000-4000-8000-{seed_user_id:012d}"


def posting_id(job_id: int) -> str:
    return f"9057e000-0000-4000-b000-{job_id:012d}"


def stage_id(index: int) -> str:
    return f"57a6e000-0000-4000-c000-{index:012d}"


def opportunity_id(seed_application_id: int) -> str:
    return f"0a0a0000-0000-4000-a000-{seed_application_id:012d}"


def contact_id(candidate_id: int) -> str:
    return f"c0a7ac70-0000-4000-9000-{candidate_id:012d}"


def application_id(seed_application_id: int) -> str:
    return f"a9911ca7-0000-4000-8000-{seed_application_id:012d}"


def archive_reason_id(index: int) -> str:
    return f"a4c41fe0-0000-4000-a000-{index:012d}"


def ms(value: datetime) -> int:
    """Lever timestamps: integer milliseconds since the Unix epoch."""
    return int(value.timestamp() * 1000)


# --------------------------------------------------------------------------- seed


def seed_world(world: World) -> dict[str, Any]:
    """Render the neutral seed into Lever v1 objects; idempotent per world."""
    with world.lock:
        if "lever" in world.data:
            return world.data["lever"]
        now = world.now()
        created = ms(now - timedelta(days=30))
        lv: dict[str, Any] = {"users": {}, "postings": {}, "stages": {}, "archive_reasons": {}, "contacts": {},
                              "opportunities": {}, "applications": {}, "notes": {}, "revoked": False}
        _seed_account(lv, created)
        for job in seed.JOBS:
            lv["postings"][posting_id(job["id"])] = _posting(job, created)
        jobs = {job["id"]: job for job in seed.JOBS}
        for position, cand in enumerate(seed.CANDIDATES):
            _seed_candidate(lv, cand, jobs[cand["job"]], position, now)
        world.data["lever"] = lv
        world.data.setdefault("notes", {})
        return lv


def _seed_account(lv: dict[str, Any], created: int) -> None:
    """Users, the pipeline's stages and the archive reasons."""
    for user in seed.USERS:
        ident = user_id(user["id"])
        lv["users"][ident] = {
            "id": ident, "name": f"{user['first_name']} {user['last_name']}",
            "username": user["email"].split("@")[0], "email": user["email"], "createdAt": created,
            "deactivatedAt": None, "accessRole": "team member" if user["host"] else "admin", "photo": None,
            "externalDirectoryId": None, "linkedContactIds": [], "jobTitle": user["title"], "manager": None,
        }
    for index, name in enumerate(seed.STAGES):
        lv["stages"][stage_id(index)] = {"id": stage_id(index), "text": name}
    for index, (text, kind) in enumerate(ARCHIVE_REASONS):
        ident = archive_reason_id(index)
        lv["archive_reasons"][ident] = {"id": ident, "text": text, "status": "active", "type": kind}


def _posting(job: dict[str, Any], created: int) -> dict[str, Any]:
    ident = posting_id(job["id"])
    owner = user_id(job["recruiters"][0]) if job["recruiters"] else None
    managers = [user_id(u) for u in job["hiring_managers"]]
    posting: dict[str, Any] = {
        "id": ident, "text": job["name"], "createdAt": created, "updatedAt": created, "state": "published",
        "distributionChannels": ["public"],
        "confidentiality": "confidential" if job["id"] in CONFIDENTIAL_JOBS else "non-confidential",
        "user": owner, "owner": owner,
        "categories": {"team": job["department"], "location": job["office"], "commitment": "Full-time",
                       "allLocations": [job["office"]]},
        "tags": [], "followers": [u for u in [owner, *managers] if u], "requisitionCodes": [f"REQ-{job['id']}"],
        "country": "US", "workplaceType": "onsite",
        "urls": {"show": f"https://jobs.lever.example/{seed.ORG_DOMAIN}/{ident}"},
    }
    if managers:
        posting["hiringManager"] = managers[0]  # job 105 has none: the key is absent, as in Lever
    return posting


def _seed_candidate(lv: dict[str, Any], cand: dict[str, Any], job: dict[str, Any], position: int,
                    now: datetime) -> None:
    """A candidate's contact, application and opportunity, in the first stage."""
    applied = ms(now - timedelta(days=10, hours=position))
    touched = ms(now - timedelta(days=3, minutes=position * 7))
    posting = lv["postings"][posting_id(job["id"])]
    number = seed.application_id(cand["id"])
    opp_id, app_id, person = opportunity_id(number), application_id(number), contact_id(cand["id"])
    name = f"{cand['first_name']} {cand['last_name']}"
    emails = [cand["email"]] if cand["email"] else []
    phones = [{"type": "mobile", "value": cand["phone"]}] if cand["phone"] else []
    lv["contacts"][person] = {"id": person, "name": name, "headline": "", "isAnonymized": False,
                              "location": {"name": job["office"]}, "emails": list(emails),
                              "phones": [dict(p) for p in phones]}
    lv["applications"][app_id] = {
        "id": app_id, "type": "posting", "opportunityId": opp_id, "candidateId": opp_id,
        "createdAt": applied, "posting": posting["id"], "postingOwner": posting["owner"],
        "postingHiringManager": posting.get("hiringManager"), "user": None, "name": name,
        "email": cand["email"], "phone": phones[0] if phones else None, "company": None, "links": [],
        "comments": None, "customQuestions": [], "archived": None, "requisitionForHire": None,
    }
    lv["opportunities"][opp_id] = {
        "id": opp_id, "name": name, "headline": "", "contact": person, "emails": list(emails),
        "phones": [dict(p) for p in phones], "confidentiality": posting["confidentiality"],
        "location": job["office"], "links": [], "archived": None, "createdAt": applied,
        "updatedAt": touched, "lastInteractionAt": touched, "lastAdvancedAt": applied,
        "snoozedUntil": None, "stage": stage_id(0),
        "stageChanges": [{"toStageId": stage_id(0), "toStageIndex": 0, "updatedAt": applied,
                          "userId": posting["owner"]}],
        "owner": posting["owner"], "followers": list(posting["followers"]), "tags": [],
        "sources": ["Job site"], "origin": "applied", "sourcedBy": None, "applications": [app_id],
        "resume": None, "dataProtection": None, "isAnonymized": False,
        "opportunityLocation": job["office"],
        "urls": {"list": "https://hire.lever.example/candidates",
                 "show": f"https://hire.lever.example/candidates/{opp_id}"},
        "_seed": number,
    }
    lv["notes"][opp_id] = []


# --------------------------------------------------------------------------- mount


def config_section(url: str) -> dict[str, Any]:
    """The ``[ats]`` section that points the real Lever adapter at this flavour served at
    ``url``: the flavour knows its own paths and sandbox credentials, so a new vendor's sandbox
    is one module."""
    return {"provider": "lever", "base_url": f"{url}/v1", "api_key": SANDBOX_LEVER_KEY,
            "perform_as": SANDBOX_LEVER_USER}


def mount(app: SandboxApp) -> None:
    """Seed the Lever world and register the /v1 and admin routes."""
    world = app.world
    seed_world(world)
    v1 = partial(_authorized, world)  # HTTP Basic with the API key, as every /v1 route has
    mount_routes(app, [
        ("GET", "/v1/opportunities", v1(partial(_list_opportunities, world))),
        ("GET", "/v1/opportunities/{id}", v1(partial(_get_opportunity, world))),
        ("GET", "/v1/opportunities/{id}/applications", v1(partial(_opportunity_applications, world))),
        ("GET", "/v1/opportunities/{id}/notes", v1(partial(_list_notes, world))),
        ("POST", "/v1/opportunities/{id}/notes", v1(_writer(world, _create_note))),
        ("POST", "/v1/opportunities/{id}/addTags", v1(_writer(world, _add_tags))),
        ("POST", "/v1/opportunities/{id}/removeTags", v1(_writer(world, _remove_tags))),
        ("PUT", "/v1/opportunities/{id}/stage", v1(_writer(world, _put_stage))),
        ("PUT", "/v1/opportunities/{id}/archived", v1(_writer(world, _put_archived))),
        *[("GET", f"/v1/{resource}/{{id}}", v1(_getter(world, resource)))
          for resource in ("postings", "users", "stages", "archive_reasons", "contacts")],
        *[("GET", f"/v1/{resource}", v1(_simple_lister(world, resource)))
          for resource in ("postings", "users", "stages", "archive_reasons")],
        ("POST", "/_admin/move", partial(_admin_move, world)),
        ("GET", "/_admin/lever/opportunities/{id}", partial(_admin_opportunity, world)),
        ("POST", "/_admin/lever/revoke", partial(_admin_revoke, world, True)),
        ("POST", "/_admin/lever/restore", partial(_admin_revoke, world, False)),
    ])


def _lv(world: World) -> dict[str, Any]:
    return world.data["lever"]


def _lever_error(status: int, code: str, message: str) -> Response:
    """Lever's error body: ``{"code": ..., "message": ...}``."""
    return Response(status, {"code": code, "message": message})


# --------------------------------------------------------------------------- auth


def _authorized(world: World, handler: Callable[[Request], Response]) -> Callable[[Request], Response]:
    def wrapped(request: Request) -> Response:
        key, password = basic_credentials(request.headers.get("authorization", ""), strict=True)
        with world.lock:
            if _lv(world)["revoked"] or key != API_KEY or password:
                return Response(401, {"code": "UnauthorizedError", "message": "Invalid API key"},
                                {"WWW-Authenticate": 'Basic realm="Lever"'})
            return handler(request)

    return wrapped


# --------------------------------------------------------------------------- reads


class _Refused(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.response = _lever_error(status, code, message)


def _args(request: Request) -> dict[str, list[str]]:
    return {name: [v for v in values] for name, values in request.query.items()}


def _expansions(query: dict[str, list[str]]) -> set[str]:
    wanted = {part.strip() for value in query.pop("expand", []) for part in value.split(",") if part.strip()}
    unknown = sorted(wanted - set(EXPANDABLE))
    if unknown:
        raise _Refused(400, "BadRequestError", f"cannot expand {', '.join(unknown)}; expandable: "
                                               f"{', '.join(EXPANDABLE)}")
    return wanted


def _limit(query: dict[str, list[str]]) -> int:
    text = (query.pop("limit", None) or [str(DEFAULT_LIMIT)])[-1]
    if not text.isdigit() or not 1 <= int(text) <= MAX_LIMIT:
        raise _Refused(400, "BadRequestError", f"limit must be an integer from 1 to {MAX_LIMIT}")
    return int(text)


def _millis(name: str, values: list[str]) -> int:
    text = values[-1].strip()
    if not re.fullmatch(r"\d{1,15}", text):
        raise _Refused(400, "BadRequestError", f"{name} must be a timestamp in milliseconds since the epoch")
    return int(text)


def _render_opportunity(lv: dict[str, Any], opp: dict[str, Any], expand: set[str]) -> dict[str, Any]:
    out = {k: v for k, v in opp.items() if not k.startswith("_")}
    out["stageChanges"] = [dict(change) for change in opp["stageChanges"]]
    out["tags"] = list(opp["tags"])
    if "stage" in expand and opp["stage"] in lv["stages"]:
        out["stage"] = dict(lv["stages"][opp["stage"]])
    if "applications" in expand:
        out["applications"] = [dict(lv["applications"][a]) for a in opp["applications"] if a in lv["applications"]]
    if "owner" in expand:
        out["owner"] = dict(lv["users"][opp["owner"]]) if opp["owner"] in lv["users"] else None
    if "followers" in expand:
        out["followers"] = [dict(lv["users"][u]) for u in opp["followers"] if u in lv["users"]]
    if "sourcedBy" in expand:
        out["sourcedBy"] = dict(lv["users"][opp["sourcedBy"]]) if opp["sourcedBy"] in lv["users"] else None
    return out


def _opportunity_tests(lv: dict[str, Any], query: dict[str, list[str]]) -> list[Callable[[dict[str, Any]], bool]]:
    unknown = sorted(set(query) - set(OPPORTUNITY_FILTERS) - {"offset"})
    if unknown:
        raise _Refused(400, "BadRequestError", f"unknown parameter(s) for /opportunities: {', '.join(unknown)}")
    tests: list[Callable[[dict[str, Any]], bool]] = []
    bounds = {"updated_at_start": ("updatedAt", 1), "updated_at_end": ("updatedAt", -1),
              "created_at_start": ("createdAt", 1), "created_at_end": ("createdAt", -1)}
    for name, (field, sign) in bounds.items():
        if name in query:
            bound = _millis(name, query[name])
            if sign > 0:
                tests.append(lambda o, f=field, b=bound: (o.get(f) or 0) >= b)
            else:
                tests.append(lambda o, f=field, b=bound: (o.get(f) or 0) <= b)
    levels = set(query.get("confidentiality", ["non-confidential"]))
    if not levels <= set(CONFIDENTIALITY):
        raise _Refused(400, "BadRequestError", f"confidentiality must be one of {', '.join(CONFIDENTIALITY)}")
    if "all" not in levels:
        tests.append(lambda o, wanted=frozenset(levels): o["confidentiality"] in wanted)
    if "archived" in query:
        flag = query["archived"][-1].lower()
        if flag not in ("true", "false"):
            raise _Refused(400, "BadRequestError", "archived must be true or false")
        tests.append(lambda o, want=flag == "true": (o["archived"] is not None) == want)
    if "stage_id" in query:
        tests.append(lambda o, ids=frozenset(query["stage_id"]): o["stage"] in ids)
    if "posting_id" in query:
        postings = frozenset(query["posting_id"])
        tests.append(lambda o: any(lv["applications"][a]["posting"] in postings for a in o["applications"]))
    if "contact_id" in query:
        tests.append(lambda o, ids=frozenset(query["contact_id"]): o["contact"] in ids)
    if "tag" in query:
        tests.append(lambda o, tags=frozenset(query["tag"]): bool(tags & set(o["tags"])))
    if "email" in query:
        wanted_emails = {e.casefold() for e in query["email"]}
        tests.append(lambda o: bool(wanted_emails & {e.casefold() for e in o["emails"]}))
    return tests


def _list_opportunities(world: World, request: Request) -> Response:
    """Newest first by ``createdAt`` (ties by id); the offset token is a keyset position, so
    records updated while a client pages through do not shift pages under it."""
    query = _args(request)
    lv = _lv(world)
    try:
        expand = _expansions(query)
        limit = _limit(query)
        after = _decode_offset(query["offset"][-1]) if query.get("offset") else None
        tests = _opportunity_tests(lv, query)
    except _Refused as exc:
        return exc.response
    records = sorted((o for o in lv["opportunities"].values() if all(t(o) for t in tests)),
                     key=lambda o: (o["createdAt"], o["id"]), reverse=True)
    if after is not None:
        records = [o for o in records if (o["createdAt"], o["id"]) < after]
    return _page(records, limit, lambda o: _render_opportunity(lv, o, expand),
                 lambda o: (o["createdAt"], o["id"]))


def _page(records: list[dict[str, Any]], limit: int, render: Callable[[dict[str, Any]], dict[str, Any]],
          key: Callable[[dict[str, Any]], tuple[Any, ...]]) -> Response:
    page = records[:limit]
    body: dict[str, Any] = {"data": [render(r) for r in page], "hasNext": len(records) > limit}
    if body["hasNext"]:
        body["next"] = encode_token(list(key(page[-1])))
    return Response(200, body)


def _decode_offset(token: str) -> tuple[Any, ...]:
    try:
        position = decode_token(token)
    except ValueError as exc:
        raise _Refused(400, "BadRequestError", "invalid offset") from exc
    if not isinstance(position, list) or not position:
        raise _Refused(400, "BadRequestError", "invalid offset")
    return tuple(position)


def _find_opportunity(lv: dict[str, Any], ident: Any) -> dict[str, Any] | None:
    """By Lever id, or (sandbox convenience) by the seed application number."""
    text = str(ident).strip() if ident is not None else ""
    if text in lv["opportunities"]:
        return lv["opportunities"][text]
    if text.isdigit():
        return lv["opportunities"].get(opportunity_id(int(text)))
    return None


def _get_opportunity(world: World, request: Request) -> Response:
    lv = _lv(world)
    query = _args(request)
    try:
        expand = _expansions(query)
    except _Refused as exc:
        return exc.response
    opp = lv["opportunities"].get(request.params["id"])
    if opp is None:
        return _lever_error(404, "ResourceNotFound", f"opportunity {request.params['id']} not found")
    return Response(200, {"data": _render_opportunity(lv, opp, expand)})


def _opportunity_applications(world: World, request: Request) -> Response:
    lv = _lv(world)
    opp = lv["opportunities"].get(request.params["id"])
    if opp is None:
        return _lever_error(404, "ResourceNotFound", f"opportunity {request.params['id']} not found")
    return Response(200, {"data": [dict(lv["applications"][a]) for a in opp["applications"]], "hasNext": False})


def _list_notes(world: World, request: Request) -> Response:
    lv = _lv(world)
    if request.params["id"] not in lv["opportunities"]:
        return _lever_error(404, "ResourceNotFound", f"opportunity {request.params['id']} not found")
    notes = sorted(lv["notes"][request.params["id"]], key=lambda n: n["createdAt"], reverse=True)
    return Response(200, {"data": [dict(n) for n in notes], "hasNext": False})


def _getter(world: World, resource: str) -> Callable[[Request], Response]:
    def handler(request: Request) -> Response:
        record = _lv(world)[resource].get(request.params["id"])
        if record is None:
            return _lever_error(404, "ResourceNotFound", f"{resource.rstrip('s')} {request.params['id']} not found")
        return Response(200, {"data": dict(record)})

    return handler


def _simple_lister(world: World, resource: str) -> Callable[[Request], Response]:
    """Small dictionaries (users, postings, stages, archive reasons) in seed order."""

    def handler(request: Request) -> Response:
        query = _args(request)
        try:
            limit = _limit(query)
            start = int(_decode_offset(query["offset"][-1])[0]) if query.get("offset") else 0
        except (_Refused, ValueError, TypeError):
            return _lever_error(400, "BadRequestError", "invalid limit or offset")
        records = list(_lv(world)[resource].values())[start:]
        positions = {id(r): start + i + 1 for i, r in enumerate(records)}
        return _page(records, limit, dict, lambda r: (positions[id(r)],))

    return handler


# --------------------------------------------------------------------------- writes


def _writer(world: World, action: Callable[[World, dict[str, Any], str, Any], Response]) \
        -> Callable[[Request], Response]:
    """Common to every write: the opportunity must exist and ``perform_as`` must name a user."""

    def handler(request: Request) -> Response:
        lv = _lv(world)
        opp = lv["opportunities"].get(request.params["id"])
        if opp is None:
            return _lever_error(404, "ResourceNotFound", f"opportunity {request.params['id']} not found")
        actor = (request.arg("perform_as") or "").strip()
        if not actor:
            return _lever_error(400, "BadRequestError", "perform_as is required: the id of the Lever user "
                                                        "this write is recorded as")
        user = lv["users"].get(actor)
        if user is None or user["deactivatedAt"] is not None:
            return _lever_error(400, "BadRequestError", "perform_as must name an active user")
        return action(world, opp, actor, request.json())

    return handler


def _touch(world: World, opp: dict[str, Any]) -> int:
    """Writes bump updatedAt (as Lever does), so our own note re-lists the opportunity."""
    now = ms(world.now())
    opp["updatedAt"] = opp["lastInteractionAt"] = now
    return now


def _create_note(world: World, opp: dict[str, Any], actor: str, body: Any) -> Response:
    text = body.get("value") if isinstance(body, dict) else None
    if not isinstance(text, str) or not text.strip():
        return _lever_error(400, "BadRequestError", "value (the note text) is required")
    now = _touch(world, opp)
    note = {"id": _new_uuid(), "text": text, "fields": [{"type": "note", "text": "", "value": text}],
            "user": actor, "secret": bool(body.get("secret", False)), "score": body.get("score"),
            "notifyFollowers": bool(body.get("notifyFollowers", False)), "createdAt": now, "completedAt": now}
    _lv(world)["notes"][opp["id"]].append(note)
    shared = world.data.setdefault("notes", {})
    for key in {opp["id"], str(opp["_seed"])}:
        shared.setdefault(key, []).append(text)
    return Response(201, {"data": {"noteId": note["id"]}})


def _tags_from(body: Any) -> list[str] | Response:
    tags = body.get("tags") if isinstance(body, dict) else None
    if not isinstance(tags, list) or not tags or not all(isinstance(t, str) and t.strip() for t in tags):
        return _lever_error(400, "BadRequestError", "tags must be a non-empty array of strings")
    return [t.strip() for t in tags]


def _add_tags(world: World, opp: dict[str, Any], actor: str, body: Any) -> Response:
    tags = _tags_from(body)
    if isinstance(tags, Response):
        return tags
    for tag in tags:
        if tag not in opp["tags"]:
            opp["tags"].append(tag)
    _touch(world, opp)
    return Response(200, {"data": _render_opportunity(_lv(world), opp, set())})


def _remove_tags(world: World, opp: dict[str, Any], actor: str, body: Any) -> Response:
    tags = _tags_from(body)
    if isinstance(tags, Response):
        return tags
    opp["tags"] = [t for t in opp["tags"] if t not in tags]
    _touch(world, opp)
    return Response(200, {"data": _render_opportunity(_lv(world), opp, set())})


def _put_stage(world: World, opp: dict[str, Any], actor: str, body: Any) -> Response:
    lv = _lv(world)
    target = body.get("stage") if isinstance(body, dict) else None
    if target not in lv["stages"]:
        return _lever_error(400, "BadRequestError", "stage must be a stage id from /stages")
    move_to_stage(world, opp, target, actor)
    return Response(200, {"data": _render_opportunity(lv, opp, set())})


def _put_archived(world: World, opp: dict[str, Any], actor: str, body: Any) -> Response:
    lv = _lv(world)
    if not isinstance(body, dict) or "reason" not in body:
        return _lever_error(400, "BadRequestError", "reason is required (an archive reason id, or null)")
    reason = body["reason"]
    if reason is not None and reason not in lv["archive_reasons"]:
        return _lever_error(400, "BadRequestError", "reason must be an archive reason id")
    set_archived(world, opp, reason)
    return Response(200, {"data": _render_opportunity(lv, opp, set())})


def move_to_stage(world: World, opp: dict[str, Any], target: str, actor: str | None) -> None:
    lv = _lv(world)
    now = _touch(world, opp)
    index = list(lv["stages"]).index(target)
    opp["stage"] = target
    opp["lastAdvancedAt"] = now
    opp["stageChanges"].append({"toStageId": target, "toStageIndex": index, "updatedAt": now, "userId": actor})


def set_archived(world: World, opp: dict[str, Any], reason: str | None) -> None:
    now = _touch(world, opp)
    archived = None if reason is None else {"reason": reason, "archivedAt": now}
    opp["archived"] = archived
    for app_id in opp["applications"]:
        _lv(world)["applications"][app_id]["archived"] = dict(archived) if archived else None


def _new_uuid() -> str:
    raw = secrets.token_hex(16)
    return f"{raw[:8]}-{raw[8:12]}-4{raw[13:16]}-8{raw[17:20]}-{raw[20:]}"


# --------------------------------------------------------------------------- admin


def _admin_move(world: World, request: Request) -> Response:
    """``{"application_id": "17001" | <opportunity id>, "stage": "Phone Screen"}`` or
    ``{"application_id": .., "status": "rejected" | "hired" | "active"}`` (archive / unarchive)."""
    body = request.json()
    with world.lock:
        lv = _lv(world)
        opp = _find_opportunity(lv, body.get("application_id"))
        if opp is None:
            return error(404, f"application {body.get('application_id')!r} not found")
        asked = move_request(body, ADMIN_STATUSES)
        if isinstance(asked, Response):
            return asked
        stage_name, status = asked
        if stage_name is not None:
            stages = list(lv["stages"].values())
            match = find_named(stages, stage_name, "text")
            if match is None:
                valid = [s["text"] for s in stages]
                return error(400, f"unknown stage {stage_name!r}; valid: {', '.join(valid)}", valid_stages=valid)
            move_to_stage(world, opp, match["id"], opp["owner"])
        if status is not None:
            set_archived(world, opp, _reason_for(lv, status))
        return Response(200, _admin_view(lv, opp))


def _reason_for(lv: dict[str, Any], status: str) -> str | None:
    if status in ("active", "in_process"):
        return None
    kind = "hired" if status == "hired" else "non-hired"
    return next(r["id"] for r in lv["archive_reasons"].values() if r["type"] == kind)


def _admin_opportunity(world: World, request: Request) -> Response:
    with world.lock:
        lv = _lv(world)
        opp = _find_opportunity(lv, request.params["id"])
        if opp is None:
            return error(404, f"opportunity {request.params['id']} not found")
        return Response(200, _admin_view(lv, opp))


def _admin_view(lv: dict[str, Any], opp: dict[str, Any]) -> dict[str, Any]:
    stage = lv["stages"].get(opp["stage"])
    reason = lv["archive_reasons"].get((opp["archived"] or {}).get("reason"))
    return {"opportunity": _render_opportunity(lv, opp, {"stage"}), "application_id": str(opp["_seed"]),
            "stage_name": stage["text"] if stage else None,
            "archive_reason": reason["text"] if reason else None,
            "notes": [dict(n) for n in lv["notes"][opp["id"]]], "tags": list(opp["tags"])}


def _admin_revoke(world: World, revoked: bool, request: Request) -> Response:
    """Revoke (or restore) the sandbox API key, as deleting it in Lever's settings would."""
    with world.lock:
        _lv(world)["revoked"] = revoked
        return Response(200, {"api_key": "revoked" if revoked else "active"})
