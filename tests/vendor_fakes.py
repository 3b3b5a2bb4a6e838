"""Stateful ``responses`` fakes of Greenhouse v3, Lever v1, Calendly v2 and Cal.com v2.

Written from the vendors' API references (payload shapes in vendor_payloads.py)
with their auth checks and paging, for the contract suites' ``mock`` transport.
They import nothing from ``interview_sync.sandbox``: they stand for the
documentation independently of our sandbox (tests/test_contract.py checks).
"""

from __future__ import annotations

import base64
import itertools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit
from zoneinfo import ZoneInfo

import requests
import responses
from vendor_payloads import (
    calcom_booking, calcom_error, calcom_event_type, calcom_listing, calcom_me, calcom_ok, calcom_org_user,
    calcom_private_link, calendly_available_time, calendly_event, calendly_event_type, calendly_invitee,
    calendly_membership, calendly_page, calendly_user, gh_application, gh_application_stage, gh_candidate,
    gh_custom_field, gh_job, gh_named, gh_stage, gh_team_row, gh_token, gh_user, gh_visit_id, lever_application,
    lever_contact, lever_listing, lever_opportunity, lever_posting, lever_stage_change, lever_user,
)

from interview_sync.clock import parse_instant

START = datetime(2026, 11, 30, 16, 0, tzinfo=timezone.utc)  # Monday 08:00 in Los Angeles
MARIA = "maria.delgado@mercyvalley.example"
TOM = "tom.becker@mercyvalley.example"
LA = ZoneInfo("America/Los_Angeles")

STAGES = ("Application Review", "Phone Screen", "First Interview", "Panel Interview", "Offer")


@dataclass(frozen=True)
class Staff:
    id: int
    first: str
    last: str
    email: str
    title: str
    host: bool

    @property
    def name(self) -> str:
        return f"{self.first} {self.last}"


@dataclass(frozen=True)
class Opening:
    name: str
    department: str
    office: str
    managers: tuple[int, ...]
    recruiters: tuple[int, ...]
    confidential: bool = False


@dataclass(frozen=True)
class Applicant:
    first: str
    last: str
    email: str | None
    phone: str
    job: int


STAFF = (
    Staff(4001, "Maria", "Delgado", MARIA, "Nurse Manager, ICU", host=True),
    Staff(4005, "Tom", "Becker", TOM, "Senior Recruiter", host=False),
    Staff(4007, "Grace", "Adeyemi-Walsh", "grace.adeyemi-walsh@mercyvalley.example", "ED Charge Nurse", host=True),
    Staff(4008, "Luis", "Ferreira", "luis.ferreira@mercyvalley.example", "Talent Partner", host=False),
)
OPENINGS = {
    101: Opening("Registered Nurse – ICU (Nights)", "Nursing", "Sacramento", (4001,), (4005,)),
    103: Opening("Emergency Department Technician", "Emergency Medicine", "Elk Grove", (4007,), (4008,),
                 confidential=True),
    105: Opening("Travel RN – Emergency Department", "Nursing", "Roseville", (), (4005,)),
}
APPLICANTS = {  # application number -> applicant; the candidate number is 10000 lower
    17001: Applicant("Zoë", "O'Brien-Nguyễn", "zoe+nurse@example.org", "+1 916 555 0101", 101),
    17002: Applicant("Tomás", "Ibáñez", "tomas.ibanez@example.com", "+1 916 555 0142", 101),
    17003: Applicant("Leilani", "Kahananui", "leilani.k+ed@example.net", "+1 916 555 0143", 103),
    17004: Applicant("Bartholomew", "D'Souza", "bart.dsouza@example.org", "+1 916 555 0144", 103),
    17005: Applicant("Anh", "Trần", "anh.tran@example.com", "+1 916 555 0145", 101),
    17006: Applicant("Ingrid", "Sørensen", "ingrid.sorensen@example.net", "+1 916 555 0146", 105),
    17007: Applicant("Kofi", "Boateng", "kofi.boateng+rn@example.org", "+1 916 555 0147", 105),
    17008: Applicant("Yasmin", "El-Amin", "yasmin.elamin@example.com", "+1 916 555 0148", 103),
    17009: Applicant("Marcus", "Johnson", None, "+1 916 555 0109", 101),
    17010: Applicant("Chiara", "Bianchi", "chiara.bianchi@example.org", "+1 916 555 0150", 101),
}
EVENT_KINDS = (("phone-screen-30", "Phone Screen (30 min)", 30), ("first-interview-45", "First Interview (45 min)", 45),
               ("leadership-video-60", "Leadership Interview (Video, 60 min)", 60))
CREATED = datetime(2026, 11, 2, 17, 0, tzinfo=timezone.utc)
UPDATED = datetime(2026, 11, 20, 18, 30, tzinfo=timezone.utc)
PAGE_CAP = 1  # see FakeVendor


def workday_starts(start: datetime, end: datetime, minutes: int, busy: list[tuple[datetime, datetime]]) -> list[datetime]:
    """Half-hourly starts in [start, end) inside 08:00-17:00 Los Angeles, Monday to Friday,
    whose ``minutes`` do not overlap a busy interval."""
    found: list[datetime] = []
    day = start.astimezone(LA).date()
    while day <= end.astimezone(LA).date():
        if day.weekday() < 5:
            slot = datetime(day.year, day.month, day.day, 8, 0, tzinfo=LA)
            close = slot.replace(hour=17)
            while slot + timedelta(minutes=minutes) <= close:
                utc = slot.astimezone(timezone.utc)
                stop = utc + timedelta(minutes=minutes)
                if start <= utc < end and not any(b0 < stop and utc < b1 for b0, b1 in busy):
                    found.append(utc)
                slot += timedelta(minutes=30)
        day += timedelta(days=1)
    return found


@dataclass
class Call:
    """One request as a fake sees it."""

    method: str
    url: str
    path: str
    query: dict[str, list[str]]
    headers: Any
    body: bytes
    params: dict[str, str] = field(default_factory=dict)

    def arg(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else None

    def json(self) -> Any:
        return json.loads(self.body or b"{}")

    def form(self) -> dict[str, str]:
        return {k: v[-1] for k, v in parse_qs(self.body.decode(), keep_blank_values=True).items()}


Answer = tuple[int, Any, dict[str, str]]


class Refused(Exception):
    """A handler's way to answer an error without threading it back by hand."""

    def __init__(self, status: int, body: Any) -> None:
        super().__init__(status)
        self.status, self.body = status, body


class FakeVendor:
    """A vendor behind a ``responses.RequestsMock``: routes, auth, JSON answers, its own clock.

    Every list is served at most ``PAGE_CAP`` rows a page whatever the client asks
    for: the vendors promise the page size only as a maximum, and a small page makes
    every listing in the contract cross page boundaries, so an adapter that stops
    after one page fails here. An unknown path is a 404, as on the real API.
    """

    bases: tuple[str, ...] = ()

    def __init__(self, rsps: responses.RequestsMock) -> None:
        self.now = START
        self.routes: list[tuple[str, str, re.Pattern[str], Callable[[Call], Answer]]] = []
        self.counter = itertools.count(1)
        self.register()
        for base in self.bases:
            pattern = re.compile(re.escape(base) + r"([/?].*)?$")
            for method in ("GET", "POST", "DELETE", "PATCH", "PUT"):
                rsps.add_callback(method, pattern, callback=lambda request, base=base: self._answer(base, request))

    def register(self) -> None:
        raise NotImplementedError

    def route(self, method: str, path: str, handler: Callable[[Call], Answer], base: str | None = None) -> None:
        """``path`` (under ``base``, the first of ``bases`` by default) may hold ``{name}``
        segments; they arrive in ``Call.params``."""
        regex = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(path))
        self.routes.append((base or self.bases[0], method, re.compile(regex + "$"), handler))

    def authenticate(self, call: Call, base: str) -> Answer | None:
        return None

    def set_clock(self, now: datetime) -> None:
        self.now = now

    def _answer(self, base: str, request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        parts = urlsplit(str(request.url))
        path = parts.path[len(urlsplit(base).path):] or "/"
        body = request.body or b""
        call = Call(str(request.method), str(request.url), path, parse_qs(parts.query, keep_blank_values=True),
                    request.headers, body.encode() if isinstance(body, str) else body)
        try:
            status, payload, headers = self._dispatch(base, call)
        except Refused as refused:
            status, payload, headers = refused.status, refused.body, {}
        return status, {"Content-Type": "application/json", **headers}, json.dumps(payload)

    def _dispatch(self, base: str, call: Call) -> Answer:
        for route_base, method, regex, handler in self.routes:
            match = regex.match(call.path)
            if match and method == call.method and route_base == base:
                call.params = match.groupdict()
                refused = self.authenticate(call, base)
                return refused if refused is not None else handler(call)
        return 404, self.not_found("route"), {}

    def not_found(self, what: str) -> Any:
        return {"message": f"{what} not found"}

    def page_of(self, rows: list[Any], offset: int, asked: int) -> tuple[list[Any], int | None]:
        """One page from ``offset``; the next offset, or None at the end."""
        size = max(1, min(asked, PAGE_CAP))
        chunk = rows[offset:offset + size]
        return chunk, offset + size if offset + size < len(rows) else None


def _token(payload: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload, sort_keys=True).encode()).decode().rstrip("=")


def _untoken(token: str) -> dict[str, Any] | None:
    try:
        value = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (ValueError, UnicodeDecodeError):
        return None
    return value if isinstance(value, dict) else None


def _basic(call: Call) -> tuple[str, str] | None:
    header = str(call.headers.get("Authorization", ""))
    if not header.startswith("Basic "):
        return None
    try:
        user, _, password = base64.b64decode(header[6:]).decode().partition(":")
    except ValueError:
        return None
    return user, password


def _bearer(call: Call) -> str | None:
    header = str(call.headers.get("Authorization", ""))
    return header[7:] if header.startswith("Bearer ") else None


def _wire_text(value: Any) -> str:
    """A field as a query string spells it (booleans are ``true``/``false``)."""
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def _iso_ms(value: datetime) -> str:
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def _ms(value: datetime) -> int:
    return int(value.timestamp() * 1000)


def _calendly_ts(value: datetime) -> str:
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# -------------------------------------------------------------------- Greenhouse v3


class GreenhouseFake(FakeVendor):
    """Harvest v3: OAuth client credentials (``sub`` = acting user), flat lists newest id
    first, filters on the first request only and then the ``Link`` cursor URL alone.

    An application's ``stage_id`` is its current ``application_stages`` row (a visit,
    with ``job_interview_stage_id``), never a job interview stage id. ``touch_on_move``
    says whether a move bumps the application's ``updated_at`` (not publicly settled)."""

    API = "https://harvest.greenhouse.io/v3"
    AUTH = "https://auth.greenhouse.io"
    TOKEN_URL = f"{AUTH}/token"
    bases = (API, AUTH)
    CLIENT, SECRET = "contract-client", "contract-secret"
    LIST_FILTERS = {"/applications": {"candidate_ids": "candidate_id", "job_ids": "job_id", "status": "status"},
                    "/application_stages": {"application_ids": "application_id",
                                            "job_interview_stage_ids": "job_interview_stage_id", "current": "current"},
                    "/job_hiring_managers": {"job_ids": "job_id"}, "/job_owners": {"job_ids": "job_id"},
                    "/applied_candidate_tags": {"candidate_ids": "candidate_id"}, "/job_interview_stages": {
                        "job_ids": "job_id"}}

    def register(self) -> None:
        self.tokens: dict[str, datetime] = {}
        self.touch_on_move = True
        self.apps = {seed: {"candidate": seed - 10000, "job": a.job, "stage": self.stage_id(a.job, 0),
                            "visit": gh_visit_id(seed), "status": "in_process", "updated": UPDATED}
                     for seed, a in APPLICANTS.items()}
        self.visits = [gh_application_stage(gh_visit_id(seed), seed, self.stage_id(a.job, 0), _iso_ms(CREATED), None)
                       for seed, a in APPLICANTS.items()]
        self.notes: dict[str, list[str]] = {}
        self.tags = [{"id": 51, "name": "Referral"}]
        self.applied: list[dict[str, Any]] = []
        self.route("POST", "/token", self.mint, base=self.AUTH)
        lists: dict[str, Callable[[], list[dict[str, Any]]]] = {
            "/applications": self.application_rows, "/application_stages": lambda: self.visits,
            "/candidates": self.candidate_rows, "/users": self.user_rows, "/jobs": self.job_rows,
            "/departments": lambda: self.named_rows("department"), "/offices": lambda: self.named_rows("office"),
            "/job_interview_stages": self.stage_rows, "/job_hiring_managers": lambda: self.team_rows("managers"),
            "/job_owners": lambda: self.team_rows("recruiters"), "/candidate_tags": lambda: self.tags,
            "/applied_candidate_tags": lambda: self.applied}
        for path, rows in lists.items():
            self.route("GET", path, lambda call, path=path, rows=rows: self.listing(call, path, rows()))
        self.route("POST", "/notes", self.add_note)
        self.route("POST", "/candidate_tags", self.create_tag)
        self.route("POST", "/applied_candidate_tags", self.apply_tag)

    @staticmethod
    def stage_id(job: int, index: int) -> int:
        return job * 100 + index + 1

    def authenticate(self, call: Call, base: str) -> Answer | None:
        if base == self.AUTH:
            return None
        token = _bearer(call)
        if token is None or token not in self.tokens or self.tokens[token] <= self.now:
            return 401, {"message": "Unauthorized"}, {}
        return None

    def mint(self, call: Call) -> Answer:
        if _basic(call) != (self.CLIENT, self.SECRET):
            return 401, {"error": "invalid_client"}, {}
        form = call.form()
        if form.get("grant_type") != "client_credentials" or not form.get("sub"):
            return 400, {"error": "invalid_request", "error_description": "grant_type and sub are required"}, {}
        if int(form["sub"]) not in {s.id for s in STAFF}:
            return 400, {"error": "invalid_request", "error_description": "sub is not a user"}, {}
        token = f"gh-{next(self.counter)}"
        self.tokens[token] = self.now + timedelta(hours=1)
        return 200, gh_token(token), {}

    # --- rows, rendered from state on every request
    def application_rows(self) -> list[dict[str, Any]]:
        return [gh_application(seed, candidate_id=a["candidate"], job_id=a["job"], stage_id=a["visit"],
                               stage_name=STAGES[a["stage"] % 100 - 1], status=a["status"],
                               created_at=_iso_ms(CREATED), updated_at=_iso_ms(a["updated"]),
                               last_activity_at=_iso_ms(a["updated"]),
                               custom_fields={"shift": gh_custom_field("Shift", "single_select", "Nights")})
                for seed, a in self.apps.items()]

    def candidate_rows(self) -> list[dict[str, Any]]:
        return [gh_candidate(seed - 10000, a.first, a.last, emails=[(a.email, "personal")] if a.email else [],
                             phones=[(a.phone, "mobile")]) for seed, a in APPLICANTS.items()]

    def user_rows(self) -> list[dict[str, Any]]:
        return [gh_user(s.id, s.first, s.last, s.email, title=s.title) for s in STAFF]

    def job_rows(self) -> list[dict[str, Any]]:
        departments, offices = self.named("department"), self.named("office")
        return [gh_job(job, o.name, department_id=departments[o.department], office_ids=[offices[o.office]])
                for job, o in OPENINGS.items()]

    @staticmethod
    def named(kind: str) -> dict[str, int]:
        names = sorted({getattr(o, kind) for o in OPENINGS.values()})
        return {name: (500 if kind == "department" else 600) + i for i, name in enumerate(names, 1)}

    def named_rows(self, kind: str) -> list[dict[str, Any]]:
        return [gh_named(ident, name) for name, ident in self.named(kind).items()]

    def stage_rows(self) -> list[dict[str, Any]]:
        return [gh_stage(self.stage_id(job, i), job, name, i) for job in OPENINGS for i, name in enumerate(STAGES)]

    def team_rows(self, kind: str) -> list[dict[str, Any]]:
        rows = []
        for job, opening in OPENINGS.items():
            for user in getattr(opening, kind):
                row_id = job * 10 + len(rows) + 1
                rows.append(gh_team_row(row_id, job, user, None if kind == "managers" else "recruiter"))
        return rows

    # --- the list protocol
    def listing(self, call: Call, path: str, rows: list[dict[str, Any]]) -> Answer:
        cursor = call.arg("cursor")
        if cursor is not None:
            if set(call.query) != {"cursor"}:
                return 422, {"message": "cursor cannot be combined with other parameters"}, {}
            state = _untoken(cursor)
            if state is None or state.get("path") != path:
                return 422, {"message": "invalid cursor"}, {}
            query, offset = state["query"], int(state["offset"])
        else:
            query, offset = {k: v[-1] for k, v in call.query.items()}, 0
        allowed = {"per_page", "ids", "created_at", "updated_at"} | set(self.LIST_FILTERS.get(path, {}))
        unknown = set(query) - allowed
        if unknown:
            return 422, {"message": f"unknown parameter {sorted(unknown)[0]}"}, {}
        try:
            selected = self.select(rows, path, query)
            per_page = int(query.get("per_page", "100"))
        except ValueError as exc:
            return 422, {"message": str(exc)}, {}
        if not 1 <= per_page <= 500:
            return 422, {"message": "per_page must be between 1 and 500"}, {}
        chunk, following = self.page_of(sorted(selected, key=lambda r: -int(r["id"])), offset, per_page)
        headers = {"X-RateLimit-Limit": "50", "X-RateLimit-Remaining": "49",
                   "X-RateLimit-Reset": str(int(self.now.timestamp()) + 10)}
        if following is not None:
            token = quote(_token({"path": path, "query": query, "offset": following}), safe="")
            headers["Link"] = f'<{self.API}{path}?cursor={token}>; rel="next"'
        return 200, chunk, headers

    def select(self, rows: list[dict[str, Any]], path: str, query: dict[str, str]) -> list[dict[str, Any]]:
        """Rows passing every filter; a malformed filter raises ValueError (422)."""
        chosen = rows
        if "ids" in query:
            ids = {int(i) for i in query["ids"].split(",")}
            chosen = [r for r in chosen if int(r["id"]) in ids]
        for name in ("created_at", "updated_at"):
            if name in query:
                op, _, text = query[name].partition("|")
                if op not in ("gte", "gt", "lte", "lt") or not text:
                    raise ValueError(f"{name} must be <gte|gt|lte|lt>|<ISO 8601>")
                bound = parse_instant(text)
                compare = {"gte": lambda a: a >= bound, "gt": lambda a: a > bound,
                           "lte": lambda a: a <= bound, "lt": lambda a: a < bound}[op]
                chosen = [r for r in chosen if compare(parse_instant(str(r[name])))]
        if path == "/applications" and "status" in query:  # the filter says active, records say in_process
            statuses = {"active": "in_process", "rejected": "rejected", "hired": "hired", "converted": "converted"}
            if query["status"] not in statuses:
                raise ValueError("status must be one of active, rejected, hired, converted")
            query = {**query, "status": statuses[query["status"]]}
        for param, column in self.LIST_FILTERS.get(path, {}).items():
            if param in query:
                wanted = set(query[param].split(","))
                chosen = [r for r in chosen if _wire_text(r.get(column)) in wanted]
        return chosen

    # --- writes
    def add_note(self, call: Call) -> Answer:
        body = call.json()
        app = self.apps.get(int(body.get("application_id") or 0))
        if app is None or body.get("candidate_id") != app["candidate"] or not body.get("body"):
            return 422, {"message": "application_id, its candidate_id and body are required"}, {}
        self.notes.setdefault(str(body["application_id"]), []).append(str(body["body"]))
        return 201, {"id": next(self.counter), "body": body["body"], "created_at": _iso_ms(self.now)}, {}

    def create_tag(self, call: Call) -> Answer:
        name = str(call.json().get("name") or "").strip()
        if not name or any(t["name"].casefold() == name.casefold() for t in self.tags):
            return 422, {"message": "name is missing or already taken"}, {}
        tag = {"id": 50 + len(self.tags) + 1, "name": name}
        self.tags.append(tag)
        return 201, tag, {}

    def apply_tag(self, call: Call) -> Answer:
        body = call.json()
        pair = (body.get("candidate_id"), body.get("candidate_tag_id"))
        if pair[1] not in {t["id"] for t in self.tags}:
            return 422, {"message": "candidate_tag_id does not exist"}, {}
        if any((r["candidate_id"], r["candidate_tag_id"]) == pair for r in self.applied):
            return 422, {"message": "the candidate already has this tag"}, {}
        row = {"id": 900 + len(self.applied), "candidate_id": pair[0], "candidate_tag_id": pair[1]}
        self.applied.append(row)
        return 201, row, {}

    # --- the world
    def sections(self) -> dict[str, dict[str, Any]]:
        return {"ats": {"provider": "greenhouse", "base_url": self.API, "token_url": self.TOKEN_URL,
                        "client_id": self.CLIENT, "client_secret": self.SECRET, "user_id": "4005"}}

    def app_id(self, seed: int) -> str:
        return str(seed)

    def move(self, seed: int, stage: str) -> None:
        app = self.apps[seed]
        new = self.stage_id(app["job"], STAGES.index(stage))
        for visit in self.visits:
            if visit["application_id"] == seed and visit["current"]:
                visit.update(exited_at=_iso_ms(self.now), updated_at=_iso_ms(self.now), current=False)
        visit_id = gh_visit_id(seed, len([v for v in self.visits if v["application_id"] == seed]))
        self.visits.append(gh_application_stage(visit_id, seed, new, _iso_ms(self.now), None))
        app.update(stage=new, visit=visit_id)
        if self.touch_on_move:
            app.update(updated=self.now)

    def set_status(self, seed: int, status: str) -> None:
        self.apps[seed].update(status=status, updated=self.now)

    def moves_leave_updated_at(self) -> None:
        self.touch_on_move = False

    def notes_of(self, app_id: str) -> list[str]:
        return list(self.notes.get(app_id, []))


# -------------------------------------------------------------------- Lever v1


class LeverFake(FakeVendor):
    """Lever v1: HTTP Basic with the key and a blank password; ``{"data"}`` envelopes;
    ``hasNext``/``next`` with the same request plus ``offset``; only non-confidential
    opportunities unless ``confidentiality=all``; writes need ``perform_as``."""

    API = "https://api.lever.co/v1"
    bases = (API,)
    KEY = "contract-lever-key"
    HIRED, NOT_A_FIT = "0d9e6c33-47a1-4c2b-9f8e-1a2b3c4d5e01", "0d9e6c33-47a1-4c2b-9f8e-1a2b3c4d5e02"
    OPPORTUNITY_FILTERS = frozenset({"limit", "offset", "expand", "confidentiality", "updated_at_start", "updated_at_end",
                           "created_at_start", "created_at_end", "archived", "stage_id", "posting_id", "email"})

    @staticmethod
    def user(ident: int) -> str:
        return f"b7e4c1d2-5a6f-4e3d-8c2b-{ident:012d}"

    @staticmethod
    def opportunity(seed: int) -> str:
        return f"e3a1f9c0-2b4d-4f6a-9e8c-{seed:012d}"

    @staticmethod
    def contact(seed: int) -> str:
        return f"5c0ffee0-1d2e-4f3a-8b4c-{seed - 10000:012d}"

    @staticmethod
    def posting(job: int) -> str:
        return f"9a8b7c6d-0e1f-4a2b-8c3d-{job:012d}"

    @staticmethod
    def stage(index: int) -> str:
        return f"2f4e6a8c-1b3d-4e5f-9a0b-{index + 1:012d}"

    def register(self) -> None:
        self.opps = {seed: {"stage": 0, "changes": [lever_stage_change(self.stage(0), 0, _ms(CREATED),
                                                                        self.user(4005))],
                            "archived": None, "updated": UPDATED, "tags": []} for seed in APPLICANTS}
        self.notes: dict[str, list[str]] = {}
        self.route("GET", "/opportunities", self.list_opportunities)
        self.route("GET", "/opportunities/{id}", self.get_opportunity)
        self.route("GET", "/opportunities/{id}/applications", self.opportunity_applications)
        self.route("POST", "/opportunities/{id}/notes", self.add_note)
        self.route("POST", "/opportunities/{id}/addTags", self.add_tags)
        self.route("GET", "/contacts/{id}", self.get_contact)
        self.route("GET", "/postings/{id}", self.get_posting)
        self.route("GET", "/users", lambda call: self.listing(call, [self.user_json(s) for s in STAFF]))
        self.route("GET", "/users/{id}", self.get_user)
        self.route("GET", "/stages", lambda call: self.listing(call, [{"id": self.stage(i), "text": name}
                                                                      for i, name in enumerate(STAGES)]))
        self.route("GET", "/archive_reasons", lambda call: self.listing(call, [
            {"id": self.HIRED, "text": "Hired", "status": "active", "type": "hired"},
            {"id": self.NOT_A_FIT, "text": "Not a fit", "status": "active", "type": "non-hired"}]))

    def authenticate(self, call: Call, base: str) -> Answer | None:
        if _basic(call) != (self.KEY, ""):
            return 401, {"code": "UnauthorizedError", "message": "Invalid API key"}, {}
        return None

    def not_found(self, what: str) -> Any:
        return {"code": "ResourceNotFound", "message": f"{what} not found"}

    def seed_of(self, opp_id: str) -> int:
        seed = next((s for s in self.opps if self.opportunity(s) == opp_id), None)
        if seed is None:
            raise Refused(404, self.not_found("opportunity"))
        return seed

    # --- records
    def application_json(self, seed: int) -> dict[str, Any]:
        opening = OPENINGS[APPLICANTS[seed].job]
        return lever_application(f"a1a1a1a1-0000-4000-8000-{seed:012d}", self.opportunity(seed),
                                 posting=self.posting(APPLICANTS[seed].job),
                                 hiring_manager=self.user(opening.managers[0]) if opening.managers else None,
                                 owner=self.user(opening.recruiters[0]) if opening.recruiters else None,
                                 created_at=_ms(CREATED))

    def opportunity_json(self, seed: int, expand: set[str]) -> dict[str, Any]:
        a, state = APPLICANTS[seed], self.opps[seed]
        stage_id = self.stage(state["stage"])
        advanced = max(c["updatedAt"] for c in state["changes"])
        return lever_opportunity(
            self.opportunity(seed), contact=self.contact(seed), name=f"{a.first} {a.last}",
            emails=[a.email] if a.email else [], phones=[{"type": "mobile", "value": a.phone}],
            stage={"id": stage_id, "text": STAGES[state["stage"]]} if "stage" in expand else stage_id,
            stage_changes=list(state["changes"]),
            applications=[self.application_json(seed) if "applications" in expand
                          else f"a1a1a1a1-0000-4000-8000-{seed:012d}"],
            owner=self.user(4005), created_at=_ms(CREATED), updated_at=_ms(state["updated"]),
            last_advanced_at=advanced, archived=state["archived"], tags=state["tags"],
            confidentiality="confidential" if OPENINGS[a.job].confidential else "non-confidential")

    def user_json(self, staff: Staff) -> dict[str, Any]:
        return lever_user(self.user(staff.id), staff.name, staff.email, job_title=staff.title)

    # --- the list protocol
    def listing(self, call: Call, rows: list[Any], allowed: frozenset[str] = frozenset({"limit", "offset"})) -> Answer:
        unknown = set(call.query) - allowed
        if unknown:
            return 400, {"code": "BadRequestError", "message": f"unknown parameter {sorted(unknown)[0]}"}, {}
        try:
            limit = int(call.arg("limit") or "100")
        except ValueError:
            limit = 0
        if not 1 <= limit <= 100:
            return 400, {"code": "BadRequestError", "message": "limit must be between 1 and 100"}, {}
        offset = 0
        if call.arg("offset") is not None:
            state = _untoken(str(call.arg("offset")))
            rest = {k: v for k, v in call.query.items() if k != "offset"}
            if state is None or state.get("query") != rest:
                return 400, {"code": "BadRequestError", "message": "invalid offset"}, {}
            offset = int(state["at"])
        chunk, following = self.page_of(rows, offset, limit)
        rest = {k: v for k, v in call.query.items() if k != "offset"}
        return 200, lever_listing(chunk, _token({"query": rest, "at": following}) if following else None), {}

    def list_opportunities(self, call: Call) -> Answer:
        confidentiality = call.arg("confidentiality") or "non-confidential"
        if confidentiality not in ("confidential", "non-confidential", "all"):
            return 400, {"code": "BadRequestError", "message": "confidentiality is not valid"}, {}
        bounds: dict[str, int] = {}
        for name in ("updated_at_start", "updated_at_end"):
            if call.arg(name) is not None:
                if not str(call.arg(name)).isdigit():
                    return 400, {"code": "BadRequestError", "message": f"{name} must be milliseconds"}, {}
                bounds[name] = int(str(call.arg(name)))
        expand = set(call.query.get("expand", []))
        rows = []
        for seed in sorted(self.opps, key=lambda s: -_ms(self.opps[s]["updated"])):
            record = self.opportunity_json(seed, expand)
            if confidentiality != "all" and record["confidentiality"] != confidentiality:
                continue
            updated = int(record["updatedAt"])
            if updated < bounds.get("updated_at_start", 0) or updated > bounds.get("updated_at_end", 2 ** 62):
                continue
            rows.append(record)
        return self.listing(call, rows, self.OPPORTUNITY_FILTERS)

    def get_opportunity(self, call: Call) -> Answer:
        seed = self.seed_of(call.params["id"])
        return 200, {"data": self.opportunity_json(seed, set(call.query.get("expand", [])))}, {}

    def opportunity_applications(self, call: Call) -> Answer:
        return self.listing(call, [self.application_json(self.seed_of(call.params["id"]))])

    def get_contact(self, call: Call) -> Answer:
        seed = next((s for s in APPLICANTS if self.contact(s) == call.params["id"]), None)
        if seed is None:
            return 404, self.not_found("contact"), {}
        a = APPLICANTS[seed]
        return 200, {"data": lever_contact(self.contact(seed), f"{a.first} {a.last}", [a.email] if a.email else [],
                                           [{"type": "mobile", "value": a.phone}])}, {}

    def get_posting(self, call: Call) -> Answer:
        job = next((j for j in OPENINGS if self.posting(j) == call.params["id"]), None)
        if job is None:
            return 404, self.not_found("posting"), {}
        o = OPENINGS[job]
        return 200, {"data": lever_posting(
            self.posting(job), o.name, team=o.department, department="Clinical", location=o.office,
            hiring_manager=self.user(o.managers[0]) if o.managers else None,
            owner=self.user(o.recruiters[0]) if o.recruiters else None,
            confidentiality="confidential" if o.confidential else "non-confidential")}, {}

    def get_user(self, call: Call) -> Answer:
        staff = next((s for s in STAFF if self.user(s.id) == call.params["id"]), None)
        return (200, {"data": self.user_json(staff)}, {}) if staff else (404, self.not_found("user"), {})

    def writer(self, call: Call) -> None:
        if call.arg("perform_as") not in {self.user(s.id) for s in STAFF}:
            raise Refused(400, {"code": "BadRequestError", "message": "perform_as must be an active user"})

    def add_note(self, call: Call) -> Answer:
        self.writer(call)
        seed = self.seed_of(call.params["id"])
        value = call.json().get("value")
        if not isinstance(value, str) or not value:
            return 400, {"code": "BadRequestError", "message": "value is required"}, {}
        self.notes.setdefault(self.opportunity(seed), []).append(value)
        self.opps[seed]["updated"] = self.now
        return 201, {"data": {"noteId": f"n-{next(self.counter)}"}}, {}

    def add_tags(self, call: Call) -> Answer:
        self.writer(call)
        seed = self.seed_of(call.params["id"])
        tags = call.json().get("tags")
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            return 400, {"code": "BadRequestError", "message": "tags must be a list of strings"}, {}
        state = self.opps[seed]
        state["tags"] = list(dict.fromkeys(state["tags"] + tags))
        state["updated"] = self.now
        return 200, {"data": self.opportunity_json(seed, set())}, {}

    # --- the world
    def sections(self) -> dict[str, dict[str, Any]]:
        return {"ats": {"provider": "lever", "base_url": self.API, "api_key": self.KEY,
                        "perform_as": self.user(4005)}}

    def app_id(self, seed: int) -> str:
        return self.opportunity(seed)

    def move(self, seed: int, stage: str) -> None:
        state, index = self.opps[seed], STAGES.index(stage)
        state["changes"].append(lever_stage_change(self.stage(index), index, _ms(self.now), self.user(4005)))
        state.update(stage=index, updated=self.now)

    def set_status(self, seed: int, status: str) -> None:
        reason = self.HIRED if status == "hired" else self.NOT_A_FIT
        self.opps[seed].update(archived={"reason": reason, "archivedAt": _ms(self.now)}, updated=self.now)

    def notes_of(self, app_id: str) -> list[str]:
        return list(self.notes.get(app_id, []))


# -------------------------------------------------------------------- Calendly v2


class CalendlyFake(FakeVendor):
    """Calendly v2: Bearer token; ``{"resource"}`` / ``{"collection", "pagination"}``;
    the next page is the same query plus ``page_token``; availability only from now
    on and at most 7 days per request; single-use links from ``POST /scheduling_links``
    whose bookings report the ``utm_content`` they were opened with."""

    API = "https://api.calendly.com"
    bases = (API,)
    TOKEN = "contract-calendly-token"
    ORG = f"{API}/organizations/ORGMERCYVALLEY01"
    ME = f"{API}/users/OPS0000000000001"

    def register(self) -> None:
        self.links: dict[str, dict[str, Any]] = {}
        self.events: dict[str, dict[str, Any]] = {}
        self.invitees: dict[str, dict[str, Any]] = {}
        self.by_application: dict[str, str] = {}
        self.blocks: dict[int, list[tuple[datetime, datetime]]] = {}
        self.route("GET", "/users/me", lambda call: (200, {"resource": calendly_user(
            self.ME, "Talent Ops", "talent.ops@mercyvalley.example", timezone="America/Los_Angeles",
            organization=self.ORG, slug="talent-ops")}, {}))
        self.route("GET", "/organization_memberships", self.memberships)
        self.route("GET", "/event_types", self.list_event_types)
        self.route("GET", "/event_types/{uuid}", self.get_event_type)
        self.route("GET", "/event_type_available_times", self.available_times)
        self.route("POST", "/scheduling_links", self.create_link)
        self.route("GET", "/scheduled_events", self.scheduled_events)
        self.route("GET", "/scheduled_events/{uuid}/invitees", self.event_invitees)

    def authenticate(self, call: Call, base: str) -> Answer | None:
        if _bearer(call) != self.TOKEN:
            return 401, {"title": "Unauthenticated", "message": "The access token is invalid"}, {}
        return None

    def not_found(self, what: str) -> Any:
        return {"title": "Resource Not Found", "message": f"The {what} you are looking for cannot be found"}

    @staticmethod
    def invalid(parameter: str, message: str) -> Answer:
        return 400, {"title": "Invalid Argument", "message": "The supplied parameters are invalid.",
                     "details": [{"parameter": parameter, "message": message}]}, {}

    # --- ids and records
    def user_uri(self, staff: Staff) -> str:
        return f"{self.API}/users/HOST{staff.id:012d}"

    def event_type_uri(self, staff: Staff, index: int) -> str:
        return f"{self.API}/event_types/ET{staff.id:08d}{index:06d}"

    def host_of(self, event_type_uri: str) -> tuple[Staff, int]:
        for staff in STAFF:
            for index in range(len(EVENT_KINDS)):
                if self.event_type_uri(staff, index) == event_type_uri and staff.host:
                    return staff, index
        raise Refused(404, self.not_found("event type"))

    def event_type_json(self, staff: Staff, index: int) -> dict[str, Any]:
        slug, name, minutes = EVENT_KINDS[index]
        handle = f"{staff.first}-{staff.last}".lower()
        return calendly_event_type(self.event_type_uri(staff, index), slug=slug, name=name, duration=minutes,
                                   owner=self.user_uri(staff), owner_name=staff.name,
                                   scheduling_url=f"https://calendly.com/{handle}/{slug}")

    def event_json(self, uuid: str) -> dict[str, Any]:
        e = self.events[uuid]
        staff, index = self.host_of(e["event_type"])
        return calendly_event(f"{self.API}/scheduled_events/{uuid}", start=_calendly_ts(e["start"]),
                              end=_calendly_ts(e["end"]), updated=_calendly_ts(e["updated"]), status=e["status"],
                              event_type=e["event_type"], host_uri=self.user_uri(staff), host_email=staff.email,
                              host_name=staff.name, name=EVENT_KINDS[index][1], created=_calendly_ts(e["created"]),
                              cancellation=e.get("cancellation"))

    def invitee_json(self, uuid: str) -> dict[str, Any]:
        i = self.invitees[uuid]
        uri = lambda other: f"{self.API}/scheduled_events/{self.invitees[other]['event']}/invitees/{other}"  # noqa: E731
        return calendly_invitee(uri(uuid), f"{self.API}/scheduled_events/{i['event']}", email=i["email"],
                                name=i["name"], utm_content=i["utm"], status=i["status"],
                                created=_calendly_ts(i["created"]), updated=_calendly_ts(i["updated"]),
                                rescheduled=i["rescheduled"], cancellation=i.get("cancellation"),
                                old_invitee=uri(i["old"]) if i.get("old") else None,
                                new_invitee=uri(i["new"]) if i.get("new") else None)

    # --- the list protocol
    def paged(self, call: Call, rows: list[Any]) -> Answer:
        try:
            count = int(call.arg("count") or "20")
        except ValueError:
            count = 0
        if not 1 <= count <= 100:
            return self.invalid("count", "must be between 1 and 100")
        offset = 0
        rest = {k: v for k, v in call.query.items() if k != "page_token"}
        if call.arg("page_token") is not None:
            state = _untoken(str(call.arg("page_token")))
            if state is None or state.get("query") != rest:
                return self.invalid("page_token", "is invalid for this query")
            offset = int(state["at"])
        chunk, following = self.page_of(rows, offset, count)
        return 200, calendly_page(chunk, _token({"query": rest, "at": following}) if following else None,
                                  self.API), {}

    def scope(self, call: Call) -> Staff | None:
        """``organization`` (ours only) or ``user``; one of them is required."""
        org, user = call.arg("organization"), call.arg("user")
        if not org and not user:
            raise Refused(*self.invalid("organization", "organization or user is required")[:2])
        if org and org != self.ORG:
            raise Refused(403, {"title": "Permission Denied", "message": "You do not have permission"})
        if user:
            staff = next((s for s in STAFF if self.user_uri(s) == user and s.host), None)
            if staff is None:
                raise Refused(404, self.not_found("user"))
            return staff
        return None

    def memberships(self, call: Call) -> Answer:
        self.scope(call)
        email = (call.arg("email") or "").casefold()
        rows = [calendly_membership(f"{self.API}/organization_memberships/MEM{s.id:010d}", self.ORG, calendly_user(
                    self.user_uri(s), s.name, s.email, timezone="America/Los_Angeles", organization=self.ORG,
                    slug=f"{s.first}-{s.last}".lower())) for s in STAFF
                if s.host and (not email or s.email.casefold() == email)]
        return self.paged(call, rows)

    def list_event_types(self, call: Call) -> Answer:
        only = self.scope(call)
        return self.paged(call, [self.event_type_json(s, i) for s in STAFF if s.host and only in (None, s)
                                 for i in range(len(EVENT_KINDS))])

    def get_event_type(self, call: Call) -> Answer:
        staff, index = self.host_of(f"{self.API}/event_types/{call.params['uuid']}")
        return 200, {"resource": self.event_type_json(staff, index)}, {}

    def busy(self, staff: Staff) -> list[tuple[datetime, datetime]]:
        taken = [(e["start"], e["end"]) for e in self.events.values()
                 if e["status"] == "active" and self.host_of(e["event_type"])[0] == staff]
        return taken + self.blocks.get(staff.id, [])

    def available_times(self, call: Call) -> Answer:
        event_type, start, end = call.arg("event_type"), call.arg("start_time"), call.arg("end_time")
        if not event_type or not start or not end:
            return self.invalid("event_type", "event_type, start_time and end_time are required")
        staff, index = self.host_of(event_type)
        first, last = parse_instant(start), parse_instant(end)
        if first < self.now:
            return self.invalid("start_time", "must be in the future")
        if last <= first or last - first > timedelta(days=7):
            return self.invalid("end_time", "must be after start_time and at most 7 days later")
        url = self.event_type_json(staff, index)["scheduling_url"]
        slots = workday_starts(first, last, EVENT_KINDS[index][2], self.busy(staff))
        return 200, {"collection": [calendly_available_time(_calendly_ts(t), url) for t in slots]}, {}

    def create_link(self, call: Call) -> Answer:
        body = call.json()
        if body.get("owner_type") != "EventType" or body.get("max_event_count") != 1:
            return self.invalid("max_event_count", "must be 1 with owner_type EventType")
        staff, index = self.host_of(str(body.get("owner")))
        token = f"{next(self.counter):04d}-cntr"
        self.links[token] = {"event_type": body["owner"], "used": 0}
        return 201, {"resource": {"booking_url": f"https://calendly.com/d/{token}/{EVENT_KINDS[index][0]}",
                                  "owner": body["owner"], "owner_type": "EventType"}}, {}

    def scheduled_events(self, call: Call) -> Answer:
        only = self.scope(call)
        status = call.arg("status")
        sort = call.arg("sort") or "start_time:asc"
        if sort not in ("start_time:asc", "start_time:desc"):
            return self.invalid("sort", "supported fields are: start_time")
        low = parse_instant(call.arg("min_start_time")) if call.arg("min_start_time") else None
        high = parse_instant(call.arg("max_start_time")) if call.arg("max_start_time") else None
        chosen = [uuid for uuid, e in self.events.items()
                  if (only is None or self.host_of(e["event_type"])[0] == only)
                  and (status is None or e["status"] == status)
                  and (low is None or e["start"] >= low) and (high is None or e["start"] < high)]
        chosen.sort(key=lambda u: (self.events[u]["start"], u), reverse=sort.endswith("desc"))
        return self.paged(call, [self.event_json(u) for u in chosen])

    def event_invitees(self, call: Call) -> Answer:
        if call.params["uuid"] not in self.events:
            return 404, self.not_found("event"), {}
        chosen = sorted((u for u, i in self.invitees.items() if i["event"] == call.params["uuid"]),
                        key=lambda u: (self.invitees[u]["created"], u))
        return self.paged(call, [self.invitee_json(u) for u in chosen])

    # --- the world
    def new_booking(self, event_type: str, at: datetime, *, name: str, email: str, utm: str | None,
                    application_id: str | None, old: str | None = None) -> str:
        staff, index = self.host_of(event_type)
        end = at + timedelta(minutes=EVENT_KINDS[index][2])
        if any(b0 < end and at < b1 for b0, b1 in self.busy(staff)):
            raise AssertionError(f"{at} is not free on the host's calendar")
        event, invitee = f"EV{next(self.counter):014d}", f"IN{next(self.counter):014d}"
        self.events[event] = {"event_type": event_type, "start": at, "end": end, "status": "active",
                              "created": self.now, "updated": self.now}
        self.invitees[invitee] = {"event": event, "email": email, "name": name, "utm": utm, "status": "active",
                                  "created": self.now, "updated": self.now, "rescheduled": False, "old": old}
        if application_id is not None:
            self.by_application[application_id] = invitee
        return invitee

    def sections(self) -> dict[str, dict[str, Any]]:
        return {"scheduler": {"provider": "calendly", "base_url": self.API, "api_token": self.TOKEN}}

    def block(self, host_email: str) -> None:
        staff = next(s for s in STAFF if s.email == host_email)
        self.blocks.setdefault(staff.id, []).append((self.now, self.now + timedelta(days=30)))

    def book(self, url: str, application_id: str | None = None) -> None:
        parts = urlsplit(url)
        token = parts.path.split("/")[2]
        link = self.links[token]
        assert link["used"] < 1, "a single-use link books once"
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        staff, index = self.host_of(link["event_type"])
        at = workday_starts(self.now, self.now + timedelta(days=14), EVENT_KINDS[index][2], self.busy(staff))[0]
        self.new_booking(link["event_type"], at, name=query["name"], email=query["email"],
                         utm=query.get("utm_content"), application_id=application_id)
        link["used"] += 1

    def reschedule(self, application_id: str, at: datetime) -> None:
        old_id = self.by_application[application_id]
        old = self.invitees[old_id]
        event = self.events[old["event"]]
        event["status"] = "canceled"  # frees the slot, as Calendly does before the new one is taken
        new_id = self.new_booking(event["event_type"], at, name=old["name"], email=old["email"], utm=old["utm"],
                                  application_id=application_id, old=old_id)
        cancellation = {"canceled_by": old["name"], "reason": "Rescheduled", "canceler_type": "invitee",
                        "created_at": _calendly_ts(self.now)}
        old.update(status="canceled", rescheduled=True, new=new_id, cancellation=cancellation, updated=self.now)
        event.update(updated=self.now, cancellation=cancellation)


# -------------------------------------------------------------------- Cal.com v2


class CalcomFake(FakeVendor):
    """Cal.com v2: ``Bearer cal_...``; ``{"status", "data"}``; the endpoints the adapter uses
    refuse any ``cal-api-version`` but their documented one (an unversioned call would
    silently get an older shape); bookings page with ``take``/``skip`` and a
    ``pagination`` object; a private link takes ``maxUsageCount`` or ``expiresAt``,
    not both. A key acts as its owner: ``KEY`` is an organization admin who owns no
    event type, each host has an own key (``HOST_KEYS``); private links on another
    user's event type are a 404 (the ownership guard) and ``GET /bookings`` lists the
    owner's own bookings."""

    API = "https://api.cal.com/v2"
    bases = (API,)
    KEY = "cal_contract_key"
    HOST_KEYS = {s.email: f"cal_contract_host_{s.id}" for s in STAFF if s.host}
    ORG = 77
    OPS_ID = 1
    VERSIONS = (("/event-types/{id}/private-links", "2024-09-04"), ("/event-types", "2024-06-14"),
                ("/slots", "2024-09-04"), ("/bookings", "2024-08-13"))

    def register(self) -> None:
        self.links: dict[str, dict[str, Any]] = {}
        self.bookings: dict[str, dict[str, Any]] = {}
        self.by_application: dict[str, str] = {}
        self.blocks: dict[int, list[tuple[datetime, datetime]]] = {}
        self.route("GET", "/me", self.me)
        self.route("GET", "/organizations/{org}/users", self.org_users)
        self.route("GET", "/event-types", self.list_event_types)
        self.route("GET", "/event-types/{id}", self.get_event_type)
        self.route("GET", "/slots", self.slots)
        self.route("POST", "/event-types/{id}/private-links", self.create_link)
        self.route("GET", "/event-types/{id}/private-links", self.list_links)
        self.route("DELETE", "/event-types/{id}/private-links/{link}", self.delete_link)
        self.route("GET", "/bookings", self.list_bookings)

    def caller(self, call: Call) -> Staff | None:
        """The host a request's key acts as; None for the admin key."""
        return next((s for s in STAFF if self.HOST_KEYS.get(s.email) == _bearer(call)), None)

    def me(self, call: Call) -> Answer:
        staff = self.caller(call)
        if staff is None:
            return 200, calcom_me(user_id=self.OPS_ID, email="talent.ops@mercyvalley.example", org=self.ORG), {}
        return 200, calcom_me(user_id=staff.id, username=self.username(staff), email=staff.email, name=staff.name,
                              org=self.ORG, timezone="America/Los_Angeles"), {}

    def owned(self, call: Call, event_type_id: str) -> tuple[Staff, int]:
        """The event type if the caller owns it; else the 404 the ownership guard answers."""
        staff, index = self.host_of(event_type_id)
        if self.caller(call) != staff:
            raise Refused(404, calcom_error("NOT_FOUND", f"Event type with id {event_type_id} not found"))
        return staff, index

    def authenticate(self, call: Call, base: str) -> Answer | None:
        if _bearer(call) != self.KEY and _bearer(call) not in self.HOST_KEYS.values():
            return 401, calcom_error("UNAUTHORIZED", "Invalid Access Token."), {}
        for prefix, version in self.VERSIONS:
            pattern = re.sub(r"\\\{\w+\\\}", "[^/]+", re.escape(prefix))
            if re.match(pattern + "(/|$)", call.path):
                if call.headers.get("cal-api-version") != version:
                    return 400, calcom_error("BAD_REQUEST", f"{call.path} needs cal-api-version {version}"), {}
                break
        return None

    def not_found(self, what: str) -> Any:
        return calcom_error("NOT_FOUND", f"{what} not found")

    # --- ids and records
    @staticmethod
    def username(staff: Staff) -> str:
        return f"{staff.first}-{staff.last}".lower()

    @staticmethod
    def event_type_id(staff: Staff, index: int) -> int:
        return staff.id * 10 + index

    def host_of(self, event_type_id: int | str) -> tuple[Staff, int]:
        for staff in STAFF:
            for index in range(len(EVENT_KINDS)):
                if staff.host and str(self.event_type_id(staff, index)) == str(event_type_id):
                    return staff, index
        raise Refused(404, self.not_found("event type"))

    def event_type_json(self, staff: Staff, index: int) -> dict[str, Any]:
        slug, title, minutes = EVENT_KINDS[index]
        return calcom_event_type(self.event_type_id(staff, index), slug, title=title, length=minutes,
                                 owner_id=staff.id)

    def booking_json(self, uid: str) -> dict[str, Any]:
        b = self.bookings[uid]
        staff, index = self.host_of(b["event_type"])
        extra = {k: b[k] for k in ("cancellationReason", "cancelledByEmail", "rescheduledFromUid",
                                   "rescheduledToUid") if b.get(k)}
        record = calcom_booking(uid, attendee=(b["name"], b["email"]), host=(staff.name, staff.email),
                                status=b["status"], start=_iso_ms(b["start"]), end=_iso_ms(b["end"]),
                                duration=EVENT_KINDS[index][2], event_type=(b["event_type"], EVENT_KINDS[index][0]),
                                created=_iso_ms(b["created"]), updated=_iso_ms(b["updated"]), metadata=b["metadata"],
                                booking_id=b["id"], **extra)
        record["hosts"][0].update(id=staff.id, username=self.username(staff))
        return record

    def org_users(self, call: Call) -> Answer:
        if call.params["org"] != str(self.ORG) or self.caller(call) is not None:
            return 403, calcom_error("FORBIDDEN", "not an admin of this organization"), {}
        emails = {e.casefold() for value in call.query.get("emails", []) for e in value.split(",") if e}
        take, skip = int(call.arg("take") or "250"), int(call.arg("skip") or "0")
        rows = [calcom_org_user(s.email, user_id=s.id, username=self.username(s), name=s.name, org=self.ORG)
                for s in STAFF if not emails or s.email.casefold() in emails]
        return 200, calcom_ok(rows[skip:skip + take]), {}

    def list_event_types(self, call: Call) -> Answer:
        username = call.arg("username")
        hosts = [s for s in STAFF if s.host and (self.username(s) == username
                                                 or (username is None and s == self.caller(call)))]
        return 200, calcom_ok([self.event_type_json(s, i) for s in hosts for i in range(len(EVENT_KINDS))]), {}

    def get_event_type(self, call: Call) -> Answer:
        staff, index = self.owned(call, call.params["id"])
        return 200, calcom_ok(self.event_type_json(staff, index)), {}

    def busy(self, staff: Staff) -> list[tuple[datetime, datetime]]:
        taken = [(b["start"], b["end"]) for b in self.bookings.values()
                 if b["status"] in ("accepted", "pending") and self.host_of(b["event_type"])[0] == staff]
        return taken + self.blocks.get(staff.id, [])

    def slots(self, call: Call) -> Answer:
        if not call.arg("eventTypeId") or not call.arg("start") or not call.arg("end"):
            return 400, calcom_error("BAD_REQUEST", "eventTypeId, start and end are required"), {}
        staff, index = self.host_of(str(call.arg("eventTypeId")))
        zone = ZoneInfo(call.arg("timeZone") or "UTC")
        first = max(parse_instant(str(call.arg("start"))), self.now)
        grouped: dict[str, list[dict[str, str]]] = {}
        for t in workday_starts(first, parse_instant(str(call.arg("end"))), EVENT_KINDS[index][2], self.busy(staff)):
            local = t.astimezone(zone)
            grouped.setdefault(local.date().isoformat(), []).append({"start": local.isoformat(timespec="milliseconds")})
        return 200, calcom_ok(grouped), {}

    def create_link(self, call: Call) -> Answer:
        staff, index = self.owned(call, call.params["id"])
        body = call.json()
        maximum = body.get("maxUsageCount")
        if (maximum is None) == (body.get("expiresAt") is None):
            return 400, calcom_error("BAD_REQUEST", "Provide only one of expiresAt or maxUsageCount"), {}
        if maximum is not None and (not isinstance(maximum, int) or maximum < 1):
            return 400, calcom_error("BAD_REQUEST", "maxUsageCount must be >= 1"), {}
        expires = parse_instant(str(body["expiresAt"])) if body.get("expiresAt") else None
        link_id = f"{next(self.counter):06d}c0ntr4ct"
        self.links[link_id] = {"event_type": self.event_type_id(staff, index), "max": maximum, "used": 0,
                               "expires": expires}
        return 201, calcom_ok(self.link_json(link_id)), {}

    def link_json(self, link_id: str) -> dict[str, Any]:
        link = self.links[link_id]
        return calcom_private_link(link_id, link["event_type"],
                                   f"https://cal.com/d/{link_id}",
                                   expires_at=_iso_ms(link["expires"]) if link["expires"] else None,
                                   max_usage=link["max"], usage=link["used"],
                                   expired=bool(link["expires"] and link["expires"] <= self.now))

    def list_links(self, call: Call) -> Answer:
        self.owned(call, call.params["id"])
        return 200, calcom_ok([self.link_json(k) for k, v in self.links.items()
                               if str(v["event_type"]) == call.params["id"]]), {}

    def delete_link(self, call: Call) -> Answer:
        self.owned(call, call.params["id"])
        link = self.links.get(call.params["link"])
        if link is None or str(link["event_type"]) != call.params["id"]:
            return 404, self.not_found("private link"), {}
        del self.links[call.params["link"]]
        return 200, calcom_ok({"linkId": call.params["link"], "message": "Private link deleted successfully"}), {}

    def list_bookings(self, call: Call) -> Answer:
        take, skip = int(call.arg("take") or "100"), int(call.arg("skip") or "0")
        if not 1 <= take <= 250 or skip < 0:
            return 400, calcom_error("BAD_REQUEST", "take must be 1-250 and skip >= 0"), {}
        after = parse_instant(str(call.arg("afterUpdatedAt"))) if call.arg("afterUpdatedAt") else None
        me = self.caller(call)
        chosen = [u for u, b in self.bookings.items()
                  if (after is None or b["updated"] >= after) and self.host_of(b["event_type"])[0] == me]
        order = call.arg("sortUpdatedAt")
        if order in ("asc", "desc"):
            chosen.sort(key=lambda u: (self.bookings[u]["updated"], self.bookings[u]["id"]), reverse=order == "desc")
        chunk, _ = self.page_of(chosen, skip, take)
        return 200, calcom_listing([self.booking_json(u) for u in chunk], skip=skip, total=len(chosen),
                                   per_page=len(chunk) or take), {}

    # --- the world
    def new_booking(self, event_type: int, at: datetime, *, name: str, email: str, metadata: dict[str, str],
                    application_id: str | None, rescheduled_from: str | None = None) -> str:
        staff, index = self.host_of(event_type)
        end = at + timedelta(minutes=EVENT_KINDS[index][2])
        if any(b0 < end and at < b1 for b0, b1 in self.busy(staff)):
            raise AssertionError(f"{at} is not free on the host's calendar")
        uid = f"bk{next(self.counter):08d}ContractUid"
        self.bookings[uid] = {"id": len(self.bookings) + 1, "event_type": event_type, "start": at, "end": end,
                              "status": "accepted", "name": name, "email": email, "metadata": metadata,
                              "created": self.now, "updated": self.now, "rescheduledFromUid": rescheduled_from}
        if application_id is not None:
            self.by_application[application_id] = uid
        return uid

    def sections(self) -> dict[str, dict[str, Any]]:
        return {"scheduler": {"provider": "calcom", "base_url": self.API, "api_token": self.KEY,
                              "host_keys": dict(self.HOST_KEYS)}}

    def block(self, host_email: str) -> None:
        staff = next(s for s in STAFF if s.email == host_email)
        self.blocks.setdefault(staff.id, []).append((self.now, self.now + timedelta(days=30)))

    def book(self, url: str, application_id: str | None = None) -> None:
        parts = urlsplit(url)
        link = self.links[parts.path.split("/")[2]]
        assert link["expires"] is None or link["expires"] > self.now, "the link has expired"
        assert link["max"] is None or link["used"] < link["max"], "the link is used up"
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        metadata = {k[len("metadata["):-1]: v for k, v in query.items() if k.startswith("metadata[")}
        staff, index = self.host_of(link["event_type"])
        at = workday_starts(self.now, self.now + timedelta(days=14), EVENT_KINDS[index][2], self.busy(staff))[0]
        self.new_booking(link["event_type"], at, name=query["name"], email=query["email"], metadata=metadata,
                         application_id=application_id)
        link["used"] += 1

    def reschedule(self, application_id: str, at: datetime) -> None:
        old_uid = self.by_application[application_id]
        old = self.bookings[old_uid]
        old["status"] = "cancelled"  # frees the slot before the new one is taken
        new_uid = self.new_booking(old["event_type"], at, name=old["name"], email=old["email"],
                                   metadata=dict(old["metadata"]), application_id=application_id,
                                   rescheduled_from=old_uid)
        old.update(rescheduledToUid=new_uid, cancellationReason="Rescheduled", cancelledByEmail=old["email"],
                   updated=self.now)
