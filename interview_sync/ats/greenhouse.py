"""Greenhouse Harvest v3 adapter: the ATS Protocol over OAuth2 client credentials.

Wire facts this relies on (harvestdocs.greenhouse.io; the sandbox mirrors them):

- token: ``POST token_url`` with HTTP Basic ``client_id:client_secret`` and a
  form body ``grant_type=client_credentials&sub=<user_id>``; the token's
  ``sub`` is who every write is recorded as (v3 has no On-Behalf-Of header).
  Tokens live about an hour; we refresh a minute before expiry by the injected
  clock and re-mint once if a call still comes back 401.
- lists: flat objects, newest id first. Filters and ``per_page`` go on the
  first request only; after that we follow ``Link: <...>; rel="next"``
  verbatim, because a cursor URL refuses any other parameter.
- applications carry ids only (``candidate_id``, ``job_id``, ``stage_id``,
  ``status``); stage names come from ``/job_interview_stages``, the time the
  current stage was entered from ``/application_stages``, the hiring team from
  ``/job_hiring_managers`` + ``/job_owners``, people from ``/users``.
- writes: ``POST /notes``, ``POST /candidate_tags`` (create a tag name) and
  ``POST /applied_candidate_tags`` (put it on a candidate).
- ``X-RateLimit-*`` on every response; when ``Remaining`` reaches 0 we wait
  for ``Reset``; 429 + ``Retry-After`` is handled by :class:`VendorSession`.

One unparseable record never aborts a listing: it is reported through
``on_bad_record`` (and kept in :attr:`bad_records`) and the listing goes on.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import requests
from pydantic import SecretStr, field_validator

from ..clock import Clock, iso, parse_instant
from ..config_base import VendorConfig, check_url
from ..errors import BadRecord, BadRecordLog, NotFound, VendorAuthError, VendorError
from ..http import VendorSession
from ..models import Application, Candidate, Job, Person
from ..paging import Paging

VENDOR = "greenhouse"
STATUSES = frozenset({"in_process", "rejected", "hired", "converted"})
REFRESH_MARGIN = timedelta(seconds=60)
DEFAULT_TOKEN_TTL = timedelta(hours=1)  # documented lifetime, used when the response omits it
MAX_RATE_WAIT = 30.0
LOOKUP_PAGE = 500  # the documented per_page maximum, so id lookups fit one page
IDS_PER_FILTER = 50
BAD_RECORD_FIX = "the record is skipped; check it in Greenhouse (the next poll retries it)"


class GreenhouseConfig(VendorConfig):
    """``[ats]`` keys for Harvest v3: the API root and the OAuth client-credentials grant."""

    base_url: str = "https://harvest.greenhouse.io/v3"
    token_url: str = "https://auth.greenhouse.io/token"
    client_id: str = ""
    client_secret: SecretStr = SecretStr("")
    user_id: str = ""  # the Greenhouse user write-backs are recorded under (the token's `sub`)

    _urls = field_validator("base_url", "token_url")(classmethod(lambda cls, v: check_url(v)))

    def adapter_args(self) -> dict[str, Any]:
        return {"base_url": self.base_url, "token_url": self.token_url, "client_id": self.client_id,
                "client_secret": self.client_secret.get_secret_value(), "user_id": self.user_id}


class GreenhouseATS:
    """The :class:`~interview_sync.ats.base.ATS` Protocol over Harvest v3."""

    name = "greenhouse"
    note_visibility = "public"

    def __init__(self, *, base_url: str, token_url: str, client_id: str, client_secret: str, user_id: str,
                 session: VendorSession, clock: Clock, per_page: int = 100,
                 on_bad_record: Callable[[BadRecord], None] | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.token_url = token_url
        self.user_id = str(user_id)
        self.session = session
        session.pin(self.base_url, token_url)
        self.clock = clock
        self.per_page = per_page
        self.bad_records = BadRecordLog(on_bad_record)
        self.rate_limit: dict[str, str] = {}  # last X-RateLimit-* seen, for `poll --verbose`/doctor
        self._client_id = client_id
        self._client_secret = client_secret
        self._token: str | None = None
        self._token_expires_at: datetime | None = None
        self._stages: dict[str, str] | None = None  # stage id -> name
        self._stage_reloads: set[str] = set()
        self._stage_history = True
        self._jobs: dict[str, Job] = {}
        self._people: dict[str, Person] = {}
        self._departments: dict[str, str] | None = None
        self._offices: dict[str, str] | None = None
        self._tags: dict[str, str] | None = None  # casefolded tag name -> id

    # ------------------------------------------------------------------ reads

    def changed_applications(self, since: datetime | None, paging: Paging | None = None) -> Iterator[Application]:
        params = {"per_page": str(self.per_page)}
        if since is not None:
            params["updated_at"] = f"gte|{iso(since)}"
        for page in self._pages("/applications", params, paging):
            parsed: list[Application] = []
            for record in page:
                try:
                    parsed.append(self._parse_application(record))
                except BadRecord as exc:
                    self._report(exc)
            # A full listing (the first run's baseline) has no stage change to time: skip the
            # stage-history reads there (2,000 requests at 100k applications).
            yield from (self._enrich(parsed) if since is not None else parsed)

    def get_application(self, application_id: str) -> Application:
        record = self._one("/applications", application_id, "application")
        return self._enrich([self._parse_application(record)])[0]

    def get_candidate(self, candidate_id: str) -> Candidate:
        return _parse_candidate(self._one("/candidates", candidate_id, "candidate"))

    def get_job(self, job_id: str) -> Job:
        key = str(job_id)
        if key not in self._jobs:
            self._jobs[key] = self._load_job(key)
        return self._jobs[key]

    def get_user(self, user_id: str) -> Person:
        people = self._resolve_people([str(user_id)])
        if not people:
            raise NotFound(VENDOR, f"user {user_id} not found", "check the user id in the config or the job's hiring team")
        return people[0]

    def stage_names(self) -> set[str]:
        self._stages = None
        return set(self._stage_map().values())

    def check_auth(self) -> dict[str, str]:
        """Mint a fresh token and spend one cheap read to prove it is accepted."""
        self._token = None
        self._first_page("/users", {"per_page": "1"})
        facts = {"token_expires_at": iso(self._token_expires_at) if self._token_expires_at else "",
                 "user_id": self.user_id}
        if "X-RateLimit-Limit" in self.rate_limit:
            facts["rate_limit"] = self.rate_limit["X-RateLimit-Limit"]
        return facts

    # ----------------------------------------------------------------- writes

    def add_note(self, application: Application, body: str) -> None:
        payload = {"candidate_id": _wire_id(application.candidate_id), "application_id": _wire_id(application.id),
                   "body": body, "visibility": self.note_visibility, "note_type": "NOTE"}
        self._send("POST", self.base_url + "/notes", json=payload, expected=(200, 201))

    def add_tag(self, application: Application, tag: str) -> None:
        tag_id = self._tag_id(tag)
        payload = {"candidate_id": _wire_id(application.candidate_id), "candidate_tag_id": _wire_id(tag_id)}
        try:
            self._send("POST", self.base_url + "/applied_candidate_tags", json=payload, expected=(200, 201))
        except VendorError as exc:
            # 422 is also what an already-applied tag gets: that is success for us.
            if exc.status != 422 or not self._tag_applied(application.candidate_id, tag_id):
                raise

    def has_tag(self, application: Application, tag: str) -> bool:
        """Whether the candidate carries the tag (`doctor --probe-writes` leaves one it found)."""
        tag_id = self._known_tag_id(tag)
        return tag_id is not None and self._tag_applied(application.candidate_id, tag_id)

    def remove_tag(self, application: Application, tag: str) -> None:
        """Only `doctor --probe-writes` takes a tag off again: delete the candidate's
        applied-tag row (found by candidate and tag id); a tag not applied is no error."""
        tag_id = self._known_tag_id(tag)
        if tag_id is None:
            return  # no such tag in the organisation: nothing to take off
        rows = self._all("/applied_candidate_tags", {"candidate_ids": str(application.candidate_id)})
        for row in rows:
            if isinstance(row, dict) and "id" in row and str(row.get("candidate_tag_id")) == tag_id \
                    and str(row.get("candidate_id")) == str(application.candidate_id):
                self._send("DELETE", f"{self.base_url}/applied_candidate_tags/{row['id']}", expected=(200, 204))

    # ------------------------------------------------------------------ token

    def _access_token(self) -> str:
        now = self.clock.now()
        if self._token is None or self._token_expires_at is None or now >= self._token_expires_at - REFRESH_MARGIN:
            self._mint(now)
        assert self._token is not None
        return self._token

    def _mint(self, now: datetime) -> None:
        data = self.session.json("POST", self.token_url, auth=(self._client_id, self._client_secret),
                                 data={"grant_type": "client_credentials", "sub": self.user_id}, expected=(200,))
        token = data.get("access_token") if isinstance(data, dict) else None
        if not isinstance(token, str) or not token:
            raise VendorError(VENDOR, "the token response had no access_token",
                              "check that token_url is the Greenhouse OAuth token endpoint")
        self._token = token
        self._token_expires_at = _expiry(data, now)

    # ------------------------------------------------------------------- HTTP

    def _send(self, method: str, url: str, *, params: dict[str, str] | None = None, json: Any = None,
              expected: tuple[int, ...] = (200,)) -> requests.Response:
        """One authenticated call; a 401 (token revoked or expired early) re-mints once."""
        for attempt in (1, 2):
            headers = {"Authorization": f"Bearer {self._access_token()}"}
            try:
                response = self.session.request(method, url, params=params, json=json, headers=headers,
                                                expected=expected)
            except VendorAuthError as exc:
                if exc.status == 401 and attempt == 1:
                    self._token = None
                    continue
                raise
            self._honour_rate_limit(response)
            return response
        raise AssertionError("unreachable")  # pragma: no cover

    def _honour_rate_limit(self, response: requests.Response) -> None:
        """Remember the X-RateLimit-* headers; pause until Reset once the window is spent."""
        for name in ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"):
            if name in response.headers:
                self.rate_limit[name] = response.headers[name]
        try:
            remaining = int(response.headers["X-RateLimit-Remaining"])
            reset = float(response.headers["X-RateLimit-Reset"])
        except (KeyError, ValueError):
            return
        if remaining <= 0:
            wait = min(max(reset - self.clock.now().timestamp(), 0.0), MAX_RATE_WAIT)
            if wait > 0:
                self.session.sleeper(wait)

    def _pages(self, path: str, params: dict[str, str], paging: Paging | None = None) -> Iterator[list[Any]]:
        """Every page of a list: filters on the first request, then the Link URL exactly.

        The Link URL is the page's position (a resumed listing starts at one);
        the session refuses it unless it is on base_url's origin."""
        paging = paging or Paging()
        url, query = (paging.start, None) if paging.start else (self.base_url + path, params)
        while True:
            response = self._send("GET", url, params=query)
            paging.fetched(None if query is not None else url)
            yield _json_list(response, path)
            next_url = response.links.get("next", {}).get("url")
            if not paging.advance(next_url, VENDOR, f"GET {path}"):
                return
            url, query = next_url, None

    def _first_page(self, path: str, params: dict[str, str]) -> list[Any]:
        return _json_list(self._send("GET", self.base_url + path, params=params), path)

    def _all(self, path: str, params: dict[str, str] | None = None) -> list[Any]:
        query = {"per_page": str(LOOKUP_PAGE), **(params or {})}
        return [record for page in self._pages(path, query) for record in page]

    def _one(self, path: str, ident: str, kind: str) -> dict[str, Any]:
        for record in self._first_page(path, {"ids": str(ident)}):
            if isinstance(record, dict) and str(record.get("id")) == str(ident):
                return record
        raise NotFound(VENDOR, f"{kind} {ident} not found", "check the id; it may have been deleted or merged")

    # ------------------------------------------------------------- enrichment

    def _parse_application(self, record: Any) -> Application:
        return _parse_application(record, self._stage_name)

    def _enrich(self, applications: list[Application]) -> list[Application]:
        """Add when each active application entered its current stage (one batched read)."""
        wanted = [a for a in applications if a.stage_id and a.active]
        if not wanted or not self._stage_history:
            return applications
        entered: dict[tuple[str, str], datetime] = {}
        try:
            for chunk in _chunks([a.id for a in wanted], IDS_PER_FILTER):
                for row in self._all("/application_stages", {"application_ids": ",".join(chunk)}):
                    if isinstance(row, dict) and row.get("exited_at") is None and row.get("entered_at"):
                        try:
                            entered[(str(row.get("application_id")), str(row.get("stage_id")))] = \
                                parse_instant(str(row["entered_at"]))
                        except ValueError:
                            continue
        except VendorAuthError as exc:
            if exc.status != 403:
                raise
            self._stage_history = False  # credential lacks the scope: carry on without stage times
            return applications
        return [replace(a, stage_changed_at=entered.get((a.id, str(a.stage_id)), a.stage_changed_at))
                for a in applications]

    def _stage_map(self) -> dict[str, str]:
        if self._stages is None:
            self._stages = {str(row["id"]): str(row["name"]) for row in self._all("/job_interview_stages")
                            if isinstance(row, dict) and "id" in row and isinstance(row.get("name"), str)}
        return self._stages

    def _stage_name(self, stage_id: str) -> str | None:
        stages = self._stage_map()
        if stage_id not in stages and stage_id not in self._stage_reloads:
            self._stage_reloads.add(stage_id)  # a stage added since we loaded: reload once
            self._stages = None
            stages = self._stage_map()
        return stages.get(stage_id)

    def _load_job(self, job_id: str) -> Job:
        record = self._one("/jobs", job_id, "job")
        name = record.get("name")
        if not isinstance(name, str) or not name.strip():
            raise BadRecord(f"greenhouse job {job_id}: field 'name' is missing", BAD_RECORD_FIX)
        department = self._named("departments", record.get("department_id"))
        office_ids = record.get("office_ids") or []
        office = self._named("offices", office_ids[0]) if isinstance(office_ids, list) and office_ids else None
        managers = [str(row["user_id"]) for row in _by_id(self._all("/job_hiring_managers", {"job_ids": job_id}))
                    if row.get("user_id") is not None]
        recruiters = [str(row["user_id"]) for row in _by_id(self._all("/job_owners", {"job_ids": job_id}))
                      if row.get("type") == "recruiter" and row.get("user_id") is not None]
        people = {p.id: p for p in self._resolve_people(managers + recruiters)}
        return Job(id=str(record.get("id", job_id)), name=name, department=department, office=office,
                   hiring_managers=tuple(people[u] for u in managers if u in people),
                   recruiters=tuple(people[u] for u in recruiters if u in people))

    def _named(self, kind: str, ident: Any) -> str | None:
        """Department/office names: small dictionaries, loaded once per run."""
        if ident is None:
            return None
        cache = self._departments if kind == "departments" else self._offices
        if cache is None:
            cache = {str(row["id"]): str(row.get("name")) for row in self._all(f"/{kind}")
                     if isinstance(row, dict) and "id" in row}
            if kind == "departments":
                self._departments = cache
            else:
                self._offices = cache
        return cache.get(str(ident))

    def _resolve_people(self, user_ids: Iterable[str]) -> list[Person]:
        ordered = list(dict.fromkeys(user_ids))
        missing = [u for u in ordered if u not in self._people]
        for chunk in _chunks(missing, IDS_PER_FILTER):
            for record in self._all("/users", {"ids": ",".join(chunk)}):
                try:
                    person = _parse_user(record)
                except BadRecord as exc:
                    self._report(exc)
                    continue
                self._people[person.id] = person
        return [self._people[u] for u in ordered if u in self._people]

    def _known_tag_id(self, name: str) -> str | None:
        key = name.strip().casefold()
        if self._tags is None or key not in self._tags:
            self._tags = {str(row["name"]).strip().casefold(): str(row["id"]) for row in self._all("/candidate_tags")
                          if isinstance(row, dict) and "id" in row and isinstance(row.get("name"), str)}
        return self._tags.get(key)

    def _tag_id(self, name: str) -> str:
        known = self._known_tag_id(name)
        if known is not None:
            return known
        key = name.strip().casefold()
        assert self._tags is not None
        response = self._send("POST", self.base_url + "/candidate_tags", json={"name": name.strip()},
                              expected=(200, 201))
        created = response.json() if response.content else {}
        if not isinstance(created, dict) or "id" not in created:
            raise VendorError(VENDOR, "POST /candidate_tags returned no id", "the next poll retries")
        self._tags[key] = str(created["id"])
        return self._tags[key]

    def _tag_applied(self, candidate_id: str, tag_id: str) -> bool:
        rows = self._all("/applied_candidate_tags", {"candidate_ids": str(candidate_id)})
        return any(isinstance(r, dict) and str(r.get("candidate_tag_id")) == str(tag_id) for r in rows)

    def _report(self, exc: BadRecord) -> None:
        self.bad_records.report(exc)


# ------------------------------------------------------------------- parsing


def _parse_application(record: Any, stage_name: Callable[[str], str | None]) -> Application:
    if not isinstance(record, dict):
        raise BadRecord("greenhouse application (no id): the record is not a JSON object", BAD_RECORD_FIX)
    app_id = _ident(record.get("id"))
    if app_id is None:
        raise BadRecord("greenhouse application (no id): field 'id' is missing", BAD_RECORD_FIX)
    candidate_id = _ident(record.get("candidate_id"))
    if candidate_id is None:
        raise _bad("application", app_id, "candidate_id", "is missing")
    status = record.get("status")
    if not isinstance(status, str) or status not in STATUSES:
        raise _bad("application", app_id, "status", f"is not one of {', '.join(sorted(STATUSES))}")
    updated_at = _instant(record.get("updated_at"))
    if updated_at is None:
        raise _bad("application", app_id, "updated_at", "is missing or not an ISO 8601 instant")
    stage_id = _ident(record.get("stage_id"))
    name = record.get("stage_name")
    if not isinstance(name, str):
        name = stage_name(stage_id) if stage_id is not None else None
    return Application(id=app_id, candidate_id=candidate_id, job_id=_ident(record.get("job_id")),
                       stage_id=stage_id, stage_name=name, status=status, updated_at=updated_at,
                       custom=_custom_fields(record.get("custom_fields")))


def _custom_fields(value: Any) -> dict[str, str]:
    """Application custom fields for `custom.<field>` route matches.

    Accepts the object form (``{"field_key": value}``) and the list form
    (``[{"name_key"|"name": ..., "value": ...}]``); values become text, lists are
    joined with commas, and anything unreadable is left out rather than failing
    the application (routing then falls through to the next route).
    """
    pairs: list[tuple[Any, Any]] = []
    if isinstance(value, dict):
        pairs = list(value.items())
    elif isinstance(value, list):
        pairs = [(item.get("name_key") or item.get("name"), item.get("value")) for item in value
                 if isinstance(item, dict)]
    fields: dict[str, str] = {}
    for key, raw in pairs:
        if not isinstance(key, str) or raw is None or isinstance(raw, dict):
            continue
        text = ", ".join(str(v) for v in raw) if isinstance(raw, list) else str(raw)
        fields[key] = text
    return fields


def _parse_candidate(record: dict[str, Any]) -> Candidate:
    cand_id = _ident(record.get("id")) or "(no id)"
    first, last = record.get("first_name"), record.get("last_name")
    if not isinstance(first, str) and not isinstance(last, str):
        raise _bad("candidate", cand_id, "first_name", "and last_name are both missing")
    can_email = record.get("can_email")
    return Candidate(id=cand_id, first_name=first if isinstance(first, str) else "",
                     last_name=last if isinstance(last, str) else "",
                     email=_contact(record.get("email_addresses") or record.get("emails"), prefer="personal"),
                     phone=_contact(record.get("phone_numbers"), prefer="mobile"),
                     can_email=can_email if isinstance(can_email, bool) else True)


def _parse_user(record: Any) -> Person:
    if not isinstance(record, dict) or _ident(record.get("id")) is None:
        raise BadRecord("greenhouse user (no id): field 'id' is missing", BAD_RECORD_FIX)
    user_id = _ident(record["id"])
    assert user_id is not None
    parts = [record.get("first_name"), record.get("last_name")]
    name = " ".join(p for p in parts if isinstance(p, str) and p).strip()
    if not name and isinstance(record.get("name"), str):
        name = record["name"]
    email = record.get("primary_email") or record.get("primary_email_address")
    if not isinstance(email, str) or not email:
        email = _contact(record.get("emails"), prefer=None)
    title = record.get("title")
    return Person(id=user_id, name=name, email=email or None, title=title if isinstance(title, str) else None)


def _contact(entries: Any, prefer: str | None) -> str | None:
    """First address of the preferred type, else the first one; entries are strings or {value, type}."""
    if not isinstance(entries, list):
        return None
    values: list[tuple[str | None, str]] = []
    for entry in entries:
        if isinstance(entry, str) and entry.strip():
            values.append((None, entry.strip()))
        elif isinstance(entry, dict) and isinstance(entry.get("value"), str) and entry["value"].strip():
            values.append((entry.get("type"), entry["value"].strip()))
    for kind, value in values:
        if prefer is not None and kind == prefer:
            return value
    return values[0][1] if values else None


def _bad(kind: str, ident: str, field: str, problem: str) -> BadRecord:
    return BadRecord(f"greenhouse {kind} {ident}: field '{field}' {problem}", BAD_RECORD_FIX)


def _ident(value: Any) -> str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def _wire_id(ident: str) -> int | str:
    """Greenhouse ids are integers on the wire."""
    return int(ident) if str(ident).isdigit() else ident


def _instant(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return parse_instant(value)
    except ValueError:
        return None


def _expiry(data: dict[str, Any], now: datetime) -> datetime:
    """Prefer the relative ``expires_in`` (immune to clock skew), then ``expires_at``."""
    expires_in = data.get("expires_in")
    if isinstance(expires_in, (int, float)) and not isinstance(expires_in, bool) and expires_in > 0:
        return now + timedelta(seconds=float(expires_in))
    expires_at = _instant(data.get("expires_at"))
    return expires_at if expires_at is not None else now + DEFAULT_TOKEN_TTL


def _json_list(response: requests.Response, path: str) -> list[Any]:
    try:
        body = response.json()
    except ValueError as exc:
        raise VendorError(VENDOR, f"GET {path} returned invalid JSON", "the next poll retries") from exc
    if not isinstance(body, list):
        raise VendorError(VENDOR, f"GET {path} did not return a list",
                          "check that base_url ends in /v3 (Harvest v3)")
    return body


def _by_id(rows: list[Any]) -> list[dict[str, Any]]:
    """Hiring-team rows oldest first, so the first-added hiring manager leads."""
    return sorted((r for r in rows if isinstance(r, dict)), key=lambda r: str(r.get("id", "")).zfill(20))


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]
