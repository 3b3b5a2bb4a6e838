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
- applications are flat (``candidate_id``, ``job_id``, ``status``,
  ``stage_name``); their ``stage_id`` is the id of the application's current
  ``/application_stages`` row (one row per stage *visit*, carrying
  ``job_interview_stage_id``, ``entered_at``, ``exited_at``, ``current``), not
  a ``/job_interview_stages`` id. Our :class:`Application` keeps the interview
  stage's id (stable across visits, so a re-advance to the same stage is the
  same invitation), read through that row, or by the stage's name on the job
  when the row cannot be read. ``custom_fields`` maps a field key to
  ``{name, type, value}``; users carry ``job_title``; the hiring team comes
  from ``/job_hiring_managers`` + ``/job_owners``.
- change detection has two signals, merged and deduplicated within a poll:
  applications updated since the cursor, then stage visits updated since it
  (``/application_stages?updated_at=gte|...``, the primary one: nothing public
  confirms that a stage move bumps an application's ``updated_at``). Both
  count against one page budget and resume where they stopped
  (:meth:`GreenhouseATS.changed_applications`).
- writes: ``POST /notes``, ``POST /candidate_tags`` (create a tag name) and
  ``POST /applied_candidate_tags`` (put it on a candidate).
- ``X-RateLimit-*`` on every response; when ``Remaining`` reaches 0 we wait
  for ``Reset``; 429 + ``Retry-After`` is handled by :class:`VendorSession`.

One unparseable record never aborts a listing: it is reported through
``on_bad_record`` (and kept in :attr:`bad_records`) and the listing goes on.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
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
from . import links

VENDOR = "greenhouse"
# The v3 reference's status filter lists "active" where its write routes and clients say "in_process":
# both are read as an active application (docs/vendors.md).
STATUSES = frozenset({"in_process", "active", "rejected", "hired", "converted"})
REFRESH_MARGIN = timedelta(seconds=60)
DEFAULT_TOKEN_TTL = timedelta(hours=1)  # documented lifetime, used when the response omits it
MAX_RATE_WAIT = 30.0
LOOKUP_PAGE = 500  # the documented per_page maximum, so id lookups fit one page
IDS_PER_FILTER = 50
BAD_RECORD_FIX = "the record is skipped; check it in Greenhouse (the next poll retries it)"
STAGE_PHASE = "stages|"  # a resume position in the stage-history phase: this, then the page's Link URL


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


@dataclass(frozen=True)
class _Listed:
    """An application as the wire has it, before its stage visit is resolved.

    ``app.stage_id`` is still None here; ``visit_id`` is the wire's
    ``stage_id`` (the current ``application_stages`` row).
    """

    app: Application
    visit_id: str | None


class GreenhouseATS:
    """The :class:`~interview_sync.ats.base.ATS` Protocol over Harvest v3."""

    name = "greenhouse"
    web_url = "https://app.greenhouse.io"  # recruiters' web app (`ats.web_url` overrides it)
    note_visibility = "public"

    def __init__(self, *, base_url: str, token_url: str, client_id: str, client_secret: str, user_id: str,
                 session: VendorSession, clock: Clock, per_page: int = 100,
                 on_bad_record: Callable[[BadRecord], None] | None = None,
                 interview_stages: Iterable[str] = ()) -> None:
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
        self._stages: dict[str, tuple[str | None, str]] | None = None  # interview stage id -> (job id, name)
        self._stage_ids: dict[tuple[str | None, str], str] = {}  # (job id, casefolded name) -> stage id
        self._stage_reloads: set[object] = set()
        self._stage_history = True
        self.history_per_page = LOOKUP_PAGE  # stage-history rows per page (small rows, so the documented maximum)
        self._jobs: dict[str, Job] = {}
        self._people: dict[str, Person] = {}
        self._departments: dict[str, str] | None = None
        self._offices: dict[str, str] | None = None
        self._tags: dict[str, str] | None = None  # casefolded tag name -> id
        # Candidates are read in batches of up to 50 when the workflow first asks for one: the
        # candidates of this cycle's active applications in a configured stage are the batch.
        self._interview_stages = frozenset(s.casefold() for s in interview_stages)
        self.candidate_batch = IDS_PER_FILTER  # candidates per read; 1 is the unbatched baseline the bench compares
        self._candidates: dict[str, Candidate] = {}
        self._wanted: dict[str, None] = {}  # ordered set of candidate ids likely to be asked for

    # ------------------------------------------------------------------ reads

    def changed_applications(self, since: datetime | None, paging: Paging | None = None) -> Iterator[Application]:
        """Applications whose record or whose stage visit changed since ``since``.

        Two phases share ``paging``'s one budget (``ats.max_pages`` pages and the
        poll deadline, both phases together): the ``updated_at`` listing of
        applications, then the stage history (``/application_stages?updated_at=``:
        a move that leaves ``updated_at`` alone shows only there). Either phase
        may stop between pages; ``resume`` is then the listing's Link URL, or
        :data:`STAGE_PHASE` + the stage history's, and a resumed listing goes on
        from that page (a stage-history position skips the finished first phase).

        Nothing is carried between polls, and nothing needs to be: every page's
        applications are handed out before the next page is read (a stage-history
        page's by id, 50 per request), so a position names the first page whose
        applications were not all handled, and the cursor (which the caller moves
        only once the whole listing ends) still covers every page after it. An
        application read in both phases of one poll comes once; across polls it may
        come again, which the workflow's keys make harmless.
        """
        self._candidates.clear()
        self._wanted.clear()
        paging = paging or Paging()
        params = {"per_page": str(self.per_page)}
        stages_at = _stage_position(paging.start)
        if since is None:
            # A full listing (the first run's baseline) has no stage change to time: stage ids
            # come from the stage names, sparing 2,000 stage-history reads at 100k applications.
            at = None if stages_at is not None else paging.start  # a baseline has no stage-history phase
            for page in self._pages("/applications", params, paging, at=at):
                yield from self._resolve(self._parse_page(page), history=False)
            return
        params["updated_at"] = f"gte|{iso(since)}"
        seen: set[str] = set()
        if stages_at is None:
            for page in self._pages("/applications", params, paging, at=paging.start):
                resolved = self._resolve(self._parse_page(page), history=True)
                seen.update(app.id for app in resolved)
                yield from self._expect_candidates(resolved)
            if paging.resume or not self._stage_history:
                return
            stages_at = self._url("/application_stages", {"per_page": str(self.history_per_page),
                                                          "updated_at": params["updated_at"]})
            if not paging.advance(STAGE_PHASE + stages_at, VENDOR, "GET /application_stages"):
                return  # the budget ran out between the phases: the next poll starts the stage history
        yield from self._stage_changes(stages_at, paging, seen)

    def _stage_changes(self, url: str, paging: Paging, seen: set[str]) -> Iterator[Application]:
        """The stage-history phase from the page at ``url``: each page's applications with a
        current visit on it (``seen`` ones excepted), read by id before the next page.

        Without the stage-history scope (403) the phase ends quietly and the
        applications listing stands alone, as it always has."""
        if not self._stage_history:
            return
        pages = self._pages("/application_stages", {}, paging, at=url, prefix=STAGE_PHASE)
        while True:
            try:
                rows = next(pages, None)
            except VendorAuthError as exc:
                if exc.status != 403:
                    raise
                self._stage_history = False  # the credential lacks the scope: applications alone remain
                return
            if rows is None:
                return
            entries = _current_visits(rows)
            unseen = [app_id for app_id in entries if app_id not in seen]
            seen.update(unseen)
            for chunk in _chunks(unseen, IDS_PER_FILTER):
                records = self._all("/applications", {"ids": ",".join(chunk)})
                yield from self._expect_candidates(self._resolve(self._parse_page(records), history=True,
                                                                 known=entries))

    def get_application(self, application_id: str) -> Application:
        record = self._one("/applications", application_id, "application")
        return self._resolve([self._parse_listed(record)], history=True)[0]

    def get_candidate(self, candidate_id: str) -> Candidate:
        """One candidate; read together with up to 49 others this cycle is likely to ask for.

        A batch-read record is handed out once and then forgotten, so nothing
        personal is kept longer than the cycle needs it and no answer is stale.
        """
        key = str(candidate_id)
        if key not in self._candidates:
            batch = [key] + [c for c in self._wanted if c != key and c not in self._candidates]
            batch = batch[:max(1, min(self.candidate_batch, IDS_PER_FILTER))]
            records = self._first_page("/candidates", {"ids": ",".join(batch), "per_page": str(len(batch))})
            for record in records:
                if not isinstance(record, dict) or _ident(record.get("id")) not in batch:
                    continue
                try:
                    candidate = _parse_candidate(record)
                except BadRecord:
                    if _ident(record.get("id")) == key:
                        raise
                    continue  # someone else's bad record: reported if and when it is asked for
                self._candidates[candidate.id] = candidate
            for ident in batch:
                self._wanted.pop(ident, None)
        if key not in self._candidates:
            raise NotFound(VENDOR, f"candidate {key} not found", "check the id; it may have been deleted or merged")
        return self._candidates.pop(key)  # served once: a later ask reads afresh

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
        return {name for _, name in self._stage_map().values()}

    def check_auth(self) -> dict[str, str]:
        """Mint a fresh token and spend one cheap read to prove it is accepted."""
        self._token = None
        self._first_page("/users", {"per_page": "1"})
        facts = {"token_expires_at": iso(self._token_expires_at) if self._token_expires_at else "",
                 "user_id": self.user_id}
        if "X-RateLimit-Limit" in self.rate_limit:
            facts["rate_limit"] = self.rate_limit["X-RateLimit-Limit"]
        return facts

    def read_list(self, path: str, params: dict[str, str]) -> list[Any]:
        """One page of a raw Harvest list (a GET, nothing parsed): for `doctor --probe`."""
        return self._first_page(path, params)

    # ----------------------------------------------------------------- writes

    def application_url(self, application_id: str, candidate_id: str, web_url: str | None = None) -> str | None:
        """The application on the candidate's profile in Greenhouse (docs/vendors.md)."""
        return links.record_url(self.base_url, web_url or self.web_url,
                                f"/people/{links.segment(candidate_id)}?application_id={links.segment(application_id)}",
                                f"/_admin/greenhouse/applications/{links.segment(application_id)}")

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

    def _pages(self, path: str, params: dict[str, str], paging: Paging | None = None, *,
               at: str | None = None, prefix: str = "") -> Iterator[list[Any]]:
        """Every page of a list: filters on the first request, then the Link URL exactly.

        The Link URL is the page's position, ``prefix`` + the URL as ``paging`` sees
        it (a resumed listing starts ``at`` one, a URL with any filters in it); the
        session refuses it unless it is on base_url's origin."""
        paging = paging or Paging()
        url, query = (at, None) if at is not None else (self.base_url + path, params)
        while True:
            response = self._send("GET", url, params=query)
            paging.fetched(None if query is not None else prefix + url)
            yield _json_list(response, path)
            next_url = response.links.get("next", {}).get("url")
            if not paging.advance(prefix + next_url if next_url else None, VENDOR, f"GET {path}"):
                return
            url, query = next_url, None

    def _url(self, path: str, params: dict[str, str]) -> str:
        """The first page's URL with its filters, as a position a later poll can resume at."""
        prepared = requests.Request("GET", self.base_url + path, params=params).prepare().url
        assert prepared is not None
        return prepared

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

    def _parse_listed(self, record: Any) -> _Listed:
        return _parse_application(record)

    def _parse_page(self, records: list[Any]) -> list[_Listed]:
        listed: list[_Listed] = []
        for record in records:
            try:
                listed.append(self._parse_listed(record))
            except BadRecord as exc:
                self._report(exc)
        return listed

    def _visits(self, application_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
        """Every stage visit of these applications (one read per 50); {} without the scope."""
        visits: dict[str, list[dict[str, Any]]] = {}
        if not application_ids or not self._stage_history:
            return visits
        try:
            for chunk in _chunks(application_ids, IDS_PER_FILTER):
                for row in self._all("/application_stages", {"application_ids": ",".join(chunk)}):
                    app_id = _ident(row.get("application_id")) if isinstance(row, dict) else None
                    if app_id is not None:
                        visits.setdefault(app_id, []).append(row)
        except VendorAuthError as exc:
            if exc.status != 403:
                raise
            self._stage_history = False
        return visits

    def _resolve(self, listed: list[_Listed], *, history: bool,
                 known: dict[str, dict[str, Any]] | None = None) -> list[Application]:
        """Give each active application its interview stage id, stage name and stage entry time.

        Through the current stage visit when it can be read (``known`` rows
        from the stage-history page being handled, else one batched read), else by
        the stage's name on the job. Inactive applications keep what the
        listing says: their stage no longer matters to the workflow.
        """
        known = known or {}
        rows: dict[str, dict[str, Any]] = {}
        unknown: list[str] = []
        for item in listed:
            if not item.app.active or item.visit_id is None:
                continue
            row = known.get(item.app.id)
            if row is not None and _ident(row.get("id")) == item.visit_id:
                rows[item.app.id] = row
            elif history:
                unknown.append(item.app.id)
        visit_ids = {item.app.id: item.visit_id for item in listed}
        for app_id, visits in self._visits(unknown).items():
            row = next((v for v in visits if _ident(v.get("id")) == visit_ids.get(app_id)), None)
            rows[app_id] = row or next((v for v in visits if _is_current(v)), None) or {}
        return [self._with_stage(item, rows.get(item.app.id)) for item in listed]

    def _with_stage(self, item: _Listed, row: dict[str, Any] | None) -> Application:
        app = item.app
        if not app.active and row is None:
            return app
        stage_id = _ident(row.get("job_interview_stage_id")) if row else None
        name = app.stage_name
        if stage_id is None and name is not None and app.job_id is not None:
            stage_id = self._stage_by_name(app.job_id, name)
        if name is None and stage_id is not None:
            name = self._stage_name(stage_id)
        entered = _instant(row.get("entered_at")) if row else None
        return replace(app, stage_id=stage_id, stage_name=name, stage_changed_at=entered or app.stage_changed_at)

    def _expect_candidates(self, apps: list[Application]) -> list[Application]:
        """Note whose candidate the workflow is likely to ask for next, so one read serves 50."""
        for app in apps:
            stage = (app.stage_name or "").casefold()
            if app.active and (not self._interview_stages or stage in self._interview_stages):
                self._wanted[app.candidate_id] = None
        return apps

    def _stage_map(self) -> dict[str, tuple[str | None, str]]:
        if self._stages is None:
            self._stages = {str(row["id"]): (_ident(row.get("job_id")), str(row["name"]))
                            for row in self._all("/job_interview_stages")
                            if isinstance(row, dict) and "id" in row and isinstance(row.get("name"), str)}
            self._stage_ids = {(job, name.strip().casefold()): ident for ident, (job, name) in self._stages.items()}
        return self._stages

    def _reloaded(self, key: object) -> bool:
        """Reload the stage list once per unknown key (a stage added since we loaded it)."""
        if key in self._stage_reloads:
            return False
        self._stage_reloads.add(key)
        self._stages = None
        return True

    def _stage_name(self, stage_id: str) -> str | None:
        if stage_id not in self._stage_map() and self._reloaded(stage_id):
            self._stage_map()
        entry = self._stage_map().get(stage_id)
        return entry[1] if entry else None

    def _stage_by_name(self, job_id: str, name: str) -> str | None:
        """The job's interview stage of this name (names are unique within a job's plan)."""
        wanted: tuple[str | None, str] = (job_id, name.strip().casefold())
        self._stage_map()
        if wanted not in self._stage_ids and self._reloaded(wanted):
            self._stage_map()
        return self._stage_ids.get(wanted)

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


def _parse_application(record: Any) -> _Listed:
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
    name = record.get("stage_name")
    app = Application(id=app_id, candidate_id=candidate_id, job_id=_ident(record.get("job_id")),
                      stage_id=None, stage_name=name if isinstance(name, str) and name.strip() else None,
                      status=status, updated_at=updated_at, custom=_custom_fields(record.get("custom_fields")))
    return _Listed(app=app, visit_id=_ident(record.get("stage_id")))


def _stage_position(position: str | None) -> str | None:
    """The stage-history page URL a resume position names; None for an applications position."""
    if position and position.startswith(STAGE_PHASE):
        return position[len(STAGE_PHASE):]
    return None


def _current_visits(rows: list[Any]) -> dict[str, dict[str, Any]]:
    """A stage-history page's current visits: application id -> its row."""
    entries: dict[str, dict[str, Any]] = {}
    for row in rows:
        app_id = _ident(row.get("application_id")) if isinstance(row, dict) else None
        if app_id is not None and _is_current(row):
            entries[app_id] = row
    return entries


def _is_current(row: dict[str, Any]) -> bool:
    """A stage visit the application is still in (``current``; older rows: no ``exited_at``)."""
    current = row.get("current")
    return current is True if isinstance(current, bool) else row.get("exited_at") is None


def _custom_fields(value: Any) -> dict[str, str]:
    """Application custom fields for `custom.<field>` route matches, keyed by field key.

    v3 sends ``{"field_key": {"name", "type", "value"}}``; the list form
    (``[{"name_key", "value"}]``, what v3 writes take) and bare values are read
    too. Values become text (lists joined with commas, booleans ``true``/
    ``false``); anything unreadable, such as a currency object, is left out
    rather than failing the application (routing then falls through).
    """
    pairs: list[tuple[Any, Any]] = []
    if isinstance(value, dict):
        pairs = list(value.items())
    elif isinstance(value, list):
        pairs = [(item.get("name_key") or item.get("name"), item) for item in value if isinstance(item, dict)]
    fields: dict[str, str] = {}
    for key, raw in pairs:
        if isinstance(raw, dict) and "value" in raw:
            raw = raw["value"]
        text = _field_text(raw)
        if isinstance(key, str) and text is not None:
            fields[key] = text
    return fields


def _field_text(raw: Any) -> str | None:
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, (str, int, float)):
        return str(raw)
    if isinstance(raw, list):
        parts = [_field_text(item) for item in raw]
        return ", ".join(p for p in parts if p is not None)
    return None


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
    title = record.get("job_title")  # v3's name; "title" is not a v3 user field
    return Person(id=user_id, name=name, email=email or None,
                  title=title.strip() if isinstance(title, str) and title.strip() else None)


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
