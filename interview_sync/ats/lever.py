"""Lever v1 adapter: the ATS Protocol over an API key.

Wire facts this relies on (hire.lever.co/developer/documentation; the sandbox
mirrors them):

- auth: HTTP Basic with the API key as the username and a blank password.
  Keys do not expire, so there is nothing to refresh; a 401 is final.
- envelopes: ``{"data": {...}}`` for one object; lists add ``hasNext`` and
  ``next``, and the next page is the same request with ``offset=<next>``.
  ``limit`` is 1-100.
- an *opportunity* is one candidacy and is what we call an application:
  ``contact`` is the person (our candidate id), ``stage`` is a stage id (an
  ``{id, text}`` object with ``expand=stage``), ``stageChanges`` lists
  ``{toStageId, toStageIndex, updatedAt, userId}``, ``archived`` is ``null``
  or ``{reason, archivedAt}`` with ``reason`` an archive-reason id (its
  ``type`` in ``/archive_reasons`` is ``hired`` or ``non-hired``). All
  timestamps are integer milliseconds; ``emails`` are plain strings,
  ``phones`` are ``{type, value}``.
- ``GET /opportunities`` lists only non-confidential candidacies unless asked
  for ``confidentiality=all``; ``updated_at_start`` (ms, inclusive) filters.
- the job is the *posting* of the opportunity's (at most one) application:
  ``posting``, ``postingHiringManager``, ``postingOwner``. We ask for
  ``expand=applications`` and fall back to ``/opportunities/{id}/applications``
  when only ids come back.
- writes carry ``perform_as=<user id>`` (who Lever records as the author):
  ``POST /opportunities/{id}/notes`` ``{"value"}``, ``POST .../addTags``
  ``{"tags": [...]}`` (adding a tag twice is harmless).
- rate limit: a token bucket per key (10 requests/s steady, bursts of 20);
  429s are retried with ``Retry-After`` by :class:`VendorSession` for reads.

One unparseable record never aborts a listing: it is reported through
``on_bad_record`` (and kept in :attr:`bad_records`) and the listing goes on.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote

import requests
from pydantic import SecretStr, field_validator

from ..clock import Clock
from ..config_base import VendorConfig, check_url
from ..errors import BadRecord, BadRecordLog, NotFound, VendorAuthError, VendorError
from ..http import VendorSession
from ..models import Application, Candidate, Job, Person
from ..paging import Paging
from . import links

VENDOR = "lever"
MAX_LIMIT = 100
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
BAD_RECORD_FIX = "the record is skipped; check it in Lever (the next poll retries it)"


class LeverConfig(VendorConfig):
    """``[ats]`` keys for Lever v1: an API key (Basic auth) and the user write-backs act as."""

    base_url: str = "https://api.lever.co/v1"
    api_key: SecretStr = SecretStr("")
    perform_as: str = ""

    _urls = field_validator("base_url")(classmethod(lambda cls, v: check_url(v)))

    def adapter_args(self) -> dict[str, Any]:
        return {"base_url": self.base_url, "api_key": self.api_key.get_secret_value(), "perform_as": self.perform_as}


class LeverATS:
    """The :class:`~interview_sync.ats.base.ATS` Protocol over Lever's v1 API."""

    name = "lever"
    web_url = "https://hire.lever.co"  # recruiters' web app (`ats.web_url` overrides it)

    def __init__(self, *, base_url: str, api_key: str, perform_as: str, session: VendorSession, clock: Clock,
                 per_page: int = 100, on_bad_record: Callable[[BadRecord], None] | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.perform_as = perform_as.strip()
        self.session = session
        session.pin(self.base_url)
        self.clock = clock
        self.per_page = max(1, min(int(per_page), MAX_LIMIT))  # Lever refuses limit > 100
        self.bad_records = BadRecordLog(on_bad_record)
        self._api_key = api_key
        self._stages: dict[str, str] | None = None  # stage id -> text
        self._reasons: dict[str, str] | None = None  # archive reason id -> type (hired | non-hired)
        self._reasons_readable = True
        self._jobs: dict[str, Job] = {}
        self._people: dict[str, Person] = {}
        self._candidates: dict[str, Candidate] = {}  # contact id -> person, from opportunities we listed
        self._posting_team: dict[str, tuple[str | None, str | None]] = {}  # posting -> (hiring mgr, owner)

    # ------------------------------------------------------------------ reads

    def changed_applications(self, since: datetime | None, paging: Paging | None = None) -> Iterator[Application]:
        params: dict[str, Any] = {"limit": str(self.per_page), "confidentiality": "all",
                                  "expand": ["stage", "applications"]}
        if since is not None:
            params["updated_at_start"] = str(to_ms(since))
        for page in self._pages("/opportunities", params, paging):
            for record in page:
                try:
                    parsed = self._parse(record)
                except BadRecord as exc:
                    self._report(exc)
                    continue
                yield self._with_posting(parsed, record)

    def get_application(self, application_id: str) -> Application:
        record = self._data("GET", f"/opportunities/{_seg(application_id)}",
                            params={"expand": ["stage", "applications"]})
        return self._with_posting(self._parse(record), record)

    def get_candidate(self, candidate_id: str) -> Candidate:
        key = str(candidate_id)
        if key not in self._candidates:
            self._candidates[key] = _parse_person_record(self._data("GET", f"/contacts/{_seg(key)}"), "contact")
        return self._candidates[key]

    def get_job(self, job_id: str) -> Job:
        key = str(job_id)
        if key not in self._jobs:
            self._jobs[key] = self._load_job(key)
        return self._jobs[key]

    def get_user(self, user_id: str) -> Person:
        key = str(user_id)
        if key not in self._people:
            self._people[key] = _parse_user(self._data("GET", f"/users/{_seg(key)}"))
        return self._people[key]

    def stage_names(self) -> set[str]:
        self._stages = None
        return set(self._stage_map().values())

    def check_auth(self) -> dict[str, str]:
        """One cheap read proves the key; reading the perform_as user proves writes will be attributed."""
        facts = {"auth": "api key (basic)", "perform_as": self.perform_as}
        if self.perform_as:
            try:
                user = self.get_user(self.perform_as)
            except NotFound:
                raise VendorError(VENDOR, f"perform_as user {self.perform_as} does not exist",
                                  "set ats.perform_as to the id of an active Lever user (Settings > Users)") from None
            facts["perform_as_name"] = user.name
        else:
            self._first_page("/users", {"limit": "1"})
        return facts

    def read_list(self, path: str, params: dict[str, Any]) -> list[Any]:
        """One page of a raw Lever list (a GET, nothing parsed): for `doctor --probe`."""
        return self._first_page(path, params)

    def read_one(self, path: str) -> dict[str, Any]:
        """One raw Lever object (a GET, nothing parsed): for `doctor --probe`."""
        return self._data("GET", path)

    # ----------------------------------------------------------------- writes

    def application_url(self, application_id: str, candidate_id: str, web_url: str | None = None) -> str | None:
        """The opportunity's page in Lever (its ``urls.show``; docs/vendors.md)."""
        return links.record_url(self.base_url, web_url or self.web_url,
                                f"/candidates/{links.segment(application_id)}",
                                f"/_admin/lever/opportunities/{links.segment(application_id)}")

    def add_note(self, application: Application, body: str) -> None:
        self._send("POST", f"/opportunities/{_seg(application.id)}/notes", params=self._actor(),
                   json={"value": body}, expected=(200, 201))

    def add_tag(self, application: Application, tag: str) -> None:
        self._send("POST", f"/opportunities/{_seg(application.id)}/addTags", params=self._actor(),
                   json={"tags": [tag.strip()]}, expected=(200, 201))

    def has_tag(self, application: Application, tag: str) -> bool:
        """Whether the opportunity carries the tag (`doctor --probe-writes` leaves one it found)."""
        tags = self._data("GET", f"/opportunities/{_seg(application.id)}").get("tags")
        wanted = tag.strip().casefold()
        return isinstance(tags, list) and any(isinstance(t, str) and t.strip().casefold() == wanted for t in tags)

    def remove_tag(self, application: Application, tag: str) -> None:
        """Only `doctor --probe-writes` takes a tag off again; a poll never does."""
        self._send("POST", f"/opportunities/{_seg(application.id)}/removeTags", params=self._actor(),
                   json={"tags": [tag.strip()]}, expected=(200, 201))

    def _actor(self) -> dict[str, str]:
        if not self.perform_as:
            raise VendorError(VENDOR, "writes need a perform_as user", "set ats.perform_as in the config to the id "
                                                                       "of the Lever user notes are recorded as")
        return {"perform_as": self.perform_as}

    # ------------------------------------------------------------------- HTTP

    def _send(self, method: str, path: str, *, params: dict[str, Any] | None = None, json: Any = None,
              expected: tuple[int, ...] = (200,)) -> requests.Response:
        return self.session.request(method, self.base_url + path, params=params, json=json,
                                    auth=(self._api_key, ""), expected=expected)

    def _body(self, response: requests.Response, path: str) -> dict[str, Any]:
        try:
            body = response.json()
        except ValueError as exc:
            raise VendorError(VENDOR, f"{path} returned invalid JSON", "the next poll retries") from exc
        if not isinstance(body, dict) or "data" not in body:
            raise VendorError(VENDOR, f"{path} did not return a Lever envelope",
                              "check that base_url is https://api.lever.co/v1")
        return body

    def _data(self, method: str, path: str, *, params: dict[str, Any] | None = None) -> dict[str, Any]:
        data = self._body(self._send(method, path, params=params), path)["data"]
        if not isinstance(data, dict):
            raise VendorError(VENDOR, f"{path} returned no object", "the next poll retries")
        return data

    def _pages(self, path: str, params: dict[str, Any], paging: Paging | None = None) -> Iterator[list[Any]]:
        """Every page: the same filters each time, plus the previous page's ``next`` as ``offset``
        (the page's position; a resumed listing starts at one)."""
        paging = paging or Paging()
        offset = paging.start
        while True:
            query = dict(params, offset=offset) if offset else params
            body = self._body(self._send("GET", path, params=query), path)
            data = body["data"]
            if not isinstance(data, list):
                raise VendorError(VENDOR, f"GET {path} did not return a list", "the next poll retries")
            paging.fetched(offset)
            yield data
            offset = body.get("next") if body.get("hasNext") else None
            if not paging.advance(offset if isinstance(offset, str) else None, VENDOR, f"GET {path}"):
                return

    def _first_page(self, path: str, params: dict[str, Any]) -> list[Any]:
        return next(self._pages(path, params))

    def _all(self, path: str) -> list[Any]:
        return [record for page in self._pages(path, {"limit": str(MAX_LIMIT)}) for record in page]

    # ------------------------------------------------------------- enrichment

    def _parse(self, record: Any) -> Application:
        app = _parse_opportunity(record, self._stage_text, self._status_for)
        if app.candidate is not None:
            self._candidates[app.candidate_id] = app.candidate
        return app

    def _with_posting(self, app: Application, record: dict[str, Any]) -> Application:
        """Fill ``job_id`` from the opportunity's application (expanded, else one more read)."""
        applications = record.get("applications")
        if not isinstance(applications, list) or not applications:
            return app
        expanded = [a for a in applications if isinstance(a, dict)]
        if not expanded:
            try:
                expanded = [a for a in self._first_page(f"/opportunities/{_seg(app.id)}/applications", {})
                            if isinstance(a, dict)]
            except NotFound:
                return app
        for entry in expanded:
            posting = _ident(entry.get("posting"))
            if posting is None:
                continue
            self._posting_team.setdefault(posting, (_ident(entry.get("postingHiringManager")),
                                                    _ident(entry.get("postingOwner"))))
            return replace(app, job_id=posting)
        return app

    def _stage_map(self) -> dict[str, str]:
        if self._stages is None:
            self._stages = {str(row["id"]): str(row["text"]) for row in self._all("/stages")
                            if isinstance(row, dict) and row.get("id") and isinstance(row.get("text"), str)}
        return self._stages

    def _stage_text(self, stage_id: str) -> str | None:
        stages = self._stage_map()
        if stage_id not in stages:
            self._stages = None  # a stage added since we loaded: reload once
            stages = self._stage_map()
        return stages.get(stage_id)

    def _status_for(self, reason_id: str | None) -> str:
        """``hired`` when the archive reason is of type hired, else ``archived``."""
        if reason_id is None or not self._reasons_readable:
            return "archived"
        if self._reasons is None or reason_id not in self._reasons:
            try:
                self._reasons = {str(r["id"]): str(r.get("type")) for r in self._all("/archive_reasons")
                                 if isinstance(r, dict) and r.get("id")}
            except VendorAuthError:
                self._reasons_readable = False  # the key may not read settings: archived is enough to stop
                return "archived"
        return "hired" if self._reasons.get(reason_id) == "hired" else "archived"

    def _load_job(self, posting_id: str) -> Job:
        posting = self._data("GET", f"/postings/{_seg(posting_id)}")
        text = posting.get("text")
        if not isinstance(text, str) or not text.strip():
            raise BadRecord(f"lever posting {posting_id}: field 'text' is missing", BAD_RECORD_FIX)
        categories = posting.get("categories") if isinstance(posting.get("categories"), dict) else {}
        seen_manager, seen_owner = self._posting_team.get(posting_id, (None, None))
        # The posting's current hiring manager first; the one recorded on the application when the
        # candidate applied covers postings whose hiring manager field has since been cleared.
        manager = _ident(posting.get("hiringManager")) or seen_manager
        owner = _ident(posting.get("owner")) or seen_owner
        return Job(id=str(posting.get("id") or posting_id), name=text.strip(),
                   department=_text(categories.get("team")) or _text(categories.get("department")),
                   office=_text(categories.get("location")),
                   hiring_managers=self._people_for([manager]), recruiters=self._people_for([owner]))

    def _people_for(self, user_ids: list[str | None]) -> tuple[Person, ...]:
        people: list[Person] = []
        for user_id in user_ids:
            if user_id is None:
                continue
            try:
                people.append(self.get_user(user_id))
            except NotFound:
                continue  # a deleted user: the job is still usable, the hiring team is just smaller
            except BadRecord as exc:
                self._report(exc)
        return tuple(people)

    def _report(self, exc: BadRecord) -> None:
        self.bad_records.report(exc)


# ------------------------------------------------------------------- parsing


def to_ms(value: datetime) -> int:
    """Lever's filters take integer milliseconds since the epoch."""
    return (value.astimezone(timezone.utc) - EPOCH) // timedelta(milliseconds=1)


def from_ms(value: Any) -> datetime | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return EPOCH + timedelta(milliseconds=int(value))


def _parse_opportunity(record: Any, stage_text: Callable[[str], str | None],
                       status_for: Callable[[str | None], str]) -> Application:
    if not isinstance(record, dict):
        raise BadRecord("lever opportunity (no id): the record is not a JSON object", BAD_RECORD_FIX)
    opp_id = _ident(record.get("id"))
    if opp_id is None:
        raise BadRecord("lever opportunity (no id): field 'id' is missing", BAD_RECORD_FIX)
    contact = _ident(record.get("contact"))
    if contact is None:
        raise _bad("opportunity", opp_id, "contact", "is missing")
    # updatedAt is documented as null for old, never-updated opportunities: createdAt stands in.
    updated_at = from_ms(record.get("updatedAt")) or from_ms(record.get("createdAt"))
    if updated_at is None:
        raise _bad("opportunity", opp_id, "updatedAt", "is missing or not a millisecond timestamp")
    stage = record.get("stage")
    if isinstance(stage, dict):
        stage_id, stage_name = _ident(stage.get("id")), _text(stage.get("text"))
        if stage_id is not None and stage_name is None:
            stage_name = stage_text(stage_id)
    elif stage is None:
        stage_id, stage_name = None, None
    else:
        stage_id = _ident(stage)
        if stage_id is None:
            raise _bad("opportunity", opp_id, "stage", "is neither a stage id nor a stage object")
        stage_name = stage_text(stage_id)
    archived = record.get("archived")
    if archived is None:
        status = "active"
    elif isinstance(archived, dict):
        status = status_for(_ident(archived.get("reason")))
    else:
        raise _bad("opportunity", opp_id, "archived", "is not an object")
    return Application(id=opp_id, candidate_id=contact, job_id=None, stage_id=stage_id, stage_name=stage_name,
                       status=status, updated_at=updated_at,
                       stage_changed_at=_entered(record, stage_id),
                       candidate=_candidate_from(record, contact),
                       source=_sources(record.get("sources")))


def _sources(value: Any) -> str | None:
    """``sources`` is a list of names ("LinkedIn", "Referral")."""
    names = [v for v in value if isinstance(v, str) and v.strip()] if isinstance(value, list) else []
    return ", ".join(names) or None


def _entered(record: dict[str, Any], stage_id: str | None) -> datetime | None:
    """When the opportunity entered its current stage: the last stage change into it."""
    changes = record.get("stageChanges")
    if stage_id is not None and isinstance(changes, list):
        times = [from_ms(c.get("updatedAt")) for c in changes
                 if isinstance(c, dict) and _ident(c.get("toStageId")) == stage_id]
        known = [t for t in times if t is not None]
        if known:
            return max(known)
    return from_ms(record.get("lastAdvancedAt"))


def _candidate_from(record: dict[str, Any], contact: str) -> Candidate | None:
    """Lever copies the contact's name, emails and phones onto every opportunity."""
    if _text(record.get("name")) is None:
        return None  # anonymised or nameless: get_candidate reads the contact when it is needed
    return _parse_person_record(dict(record, id=contact), "opportunity")


def _parse_person_record(record: dict[str, Any], kind: str) -> Candidate:
    ident = _ident(record.get("id")) or "(no id)"
    name = _text(record.get("name"))
    if name is None:
        raise _bad(kind, ident, "name", "is missing")
    first, _, last = " ".join(name.split()).partition(" ")
    protection = record.get("dataProtection")
    consent = protection.get("contact") if isinstance(protection, dict) else None
    can_email = not (isinstance(consent, dict) and consent.get("allowed") is False)
    return Candidate(id=ident, first_name=first, last_name=last, email=_first_email(record.get("emails")),
                     phone=_first_phone(record.get("phones")), can_email=can_email)


def _parse_user(record: dict[str, Any]) -> Person:
    ident = _ident(record.get("id"))
    if ident is None:
        raise BadRecord("lever user (no id): field 'id' is missing", BAD_RECORD_FIX)
    email = _text(record.get("email"))
    return Person(id=ident, name=_text(record.get("name")) or (email or ident), email=email,
                  title=_text(record.get("jobTitle")))


def _first_email(entries: Any) -> str | None:
    if not isinstance(entries, list):
        return None
    for entry in entries:
        value = entry if isinstance(entry, str) else entry.get("value") if isinstance(entry, dict) else None
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def _first_phone(entries: Any) -> str | None:
    """The mobile number if there is one, else the first."""
    if not isinstance(entries, list):
        return None
    numbers = [(e.get("type"), e["value"].strip()) for e in entries
               if isinstance(e, dict) and isinstance(e.get("value"), str) and e["value"].strip()]
    numbers += [(None, e.strip()) for e in entries if isinstance(e, str) and e.strip()]
    for kind, value in numbers:
        if kind == "mobile":
            return value
    return numbers[0][1] if numbers else None


def _bad(kind: str, ident: str, field: str, problem: str) -> BadRecord:
    return BadRecord(f"lever {kind} {ident}: field '{field}' {problem}", BAD_RECORD_FIX)


def _ident(value: Any) -> str | None:
    if isinstance(value, str) and value.strip():
        return value.strip()
    if isinstance(value, dict):
        return _ident(value.get("id"))  # an expanded reference (user, posting)
    return None


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _seg(ident: str) -> str:
    """Ids go into paths; never let one smuggle in a slash or query."""
    return quote(str(ident), safe="")
