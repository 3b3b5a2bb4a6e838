"""Calendly API v2 adapter: hosts, availability, single-use links and bookings.

Wire facts this relies on (developer.calendly.com):

- Bearer token; ``GET /users/me`` gives the token owner and its
  ``current_organization``; hosts come from ``GET /organization_memberships``
  filtered by ``email``.
- Lists answer ``{"collection": [...], "pagination": {"next_page_token": ...}}``;
  the next page is the same query plus ``page_token``.
- ``POST /scheduling_links`` with ``max_event_count: 1`` and an
  ``EventType`` owner returns ``resource.booking_url``; the booking page takes
  ``name``/``email`` prefill and ``utm_content`` query parameters, and the
  invitee later reports ``tracking.utm_content`` — our invitation reference.
- ``GET /event_type_available_times`` needs a start in the future and a
  bounded range (7 days historically; 31 days since the 2026-07-09 release
  notes). We keep 7-day windows by default: valid under both limits.
- ``GET /scheduled_events`` filters by start time only, not by update time.
  So a poll lists the organization's events from a little before ``since``
  onwards (one page for a hospital's volume) and asks for invitees only for
  events whose ``updated_at`` moved — an idle poll costs one request.
- A reschedule is the old invitee ``canceled`` with ``rescheduled: true`` and
  ``new_invitee``, plus a new invitee (on a new event) with ``old_invitee``.
- The host of an event is ``event_memberships[].user_email``; where a
  membership carries only its ``user`` URI, the email is read from
  ``GET /users/{uuid}`` so the email + host fallback match never goes blind.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from pydantic import SecretStr, field_validator

from ..clock import Clock, iso, parse_instant
from ..config_base import VendorConfig, check_url
from ..errors import BadRecord, BadRecordLog, NotFound, VendorError
from ..http import VendorSession
from ..models import Booking, EventType, Host
from ..paging import Paging

PAGE_SIZE = 100  # Calendly's maximum ``count``


class CalendlyConfig(VendorConfig):
    """``[scheduler]`` keys for Calendly v2: one personal access token for the organisation."""

    base_url: str = "https://api.calendly.com"
    api_token: SecretStr = SecretStr("")

    _urls = field_validator("base_url")(classmethod(lambda cls, v: check_url(v)))

    def adapter_args(self) -> dict[str, Any]:
        return {"base_url": self.base_url, "api_token": self.api_token.get_secret_value()}


class CalendlyScheduler:
    """The :class:`~interview_sync.scheduler.base.Scheduler` for Calendly v2."""

    name = "calendly"

    def __init__(self, *, base_url: str, api_token: str, session: VendorSession, clock: Clock,
                 on_bad_record: Callable[[BadRecord], None] | None = None,
                 window: timedelta = timedelta(days=7),
                 lookback: timedelta = timedelta(days=7)) -> None:
        """``lookback``: how far before ``since`` event start times are listed, so
        a late change to a recent interview (cancel, no-show) is still seen."""
        self.base_url = base_url.rstrip("/")
        self._token = api_token
        self.session = session
        session.pin(self.base_url)
        self.clock = clock
        self.window = window
        self.lookback = lookback
        self.bad_records = BadRecordLog(on_bad_record)
        self._me: dict[str, Any] | None = None
        self._user_emails: dict[str, str | None] = {}  # user URI -> email, for memberships without one

    # --- plumbing ------------------------------------------------------------

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._token}"}

    def _get(self, path: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        body = self.session.json("GET", self.base_url + path, params=params, headers=self._headers())
        if not isinstance(body, dict):
            raise VendorError("calendly", f"GET {path} returned an unexpected shape",
                              "check base_url points at the Calendly API")
        return body

    def _post(self, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        body = self.session.json("POST", self.base_url + path, json=payload, headers=self._headers())
        return body if isinstance(body, dict) else {}

    def _paginate(self, path: str, params: dict[str, Any], paging: Paging | None = None) -> Iterator[dict[str, Any]]:
        """Every item of a list: same query plus ``page_token`` until none is returned.

        The token is the page's position (a resumed listing starts at one); a
        token handed out twice is a loop, reported, not taken for the end."""
        paging = paging or Paging()
        query = dict(params, page_token=paging.start) if paging.start else dict(params)
        while True:
            body = self._get(path, query)
            paging.fetched(query.get("page_token"))
            for item in body.get("collection") or []:
                if isinstance(item, dict):
                    yield item
            token = (body.get("pagination") or {}).get("next_page_token")
            if not paging.advance(str(token) if token else None, "calendly", f"GET {path}"):
                return
            query["page_token"] = token

    def read(self, path: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        """One GET: the read-only door ``doctor --probe`` uses."""
        return self._get(path, params)

    def read_all(self, path: str, params: dict[str, Any], limit: int) -> list[dict[str, Any]]:
        """Up to ``limit`` items of a paged list (``doctor --probe`` samples)."""
        items: list[dict[str, Any]] = []
        for item in self._paginate(path, params):
            items.append(item)
            if len(items) >= limit:
                break
        return items

    def _whoami(self) -> dict[str, Any]:
        if self._me is None:
            self._me = self._get("/users/me").get("resource") or {}
        return self._me

    def _organization(self) -> str:
        org = self._whoami().get("current_organization")
        if not org:
            raise VendorError("calendly", "/users/me has no current_organization",
                              "use a token of a user who belongs to the organization")
        return str(org)

    def _bad(self, message: str, fix: str) -> None:
        self.bad_records.report(BadRecord(f"calendly: {message}", fix))

    # --- Scheduler protocol -------------------------------------------------

    def check_auth(self) -> dict[str, str]:
        self._me = None
        me = self._whoami()
        return {"user": str(me.get("uri", "")), "organization": str(me.get("current_organization", ""))}

    def find_host(self, email: str) -> Host | None:
        wanted = email.strip()
        params = {"organization": self._organization(), "email": wanted, "count": PAGE_SIZE}
        for membership in self._paginate("/organization_memberships", params):
            user = membership.get("user") or {}
            if str(user.get("email", "")).casefold() == wanted.casefold() and user.get("uri"):
                return Host(uri=user["uri"], name=str(user.get("name") or wanted),
                            email=str(user["email"]), timezone=str(user["timezone"]) if user.get("timezone") else None)
        return None

    def get_event_type(self, host: Host, key: str) -> EventType | None:
        """By URI (fetched directly) or by slug among the host's event types,
        preferring an active one when a slug repeats."""
        key = key.strip()
        if key.startswith(("http://", "https://")):
            try:
                resource = self._get(f"/event_types/{_last_segment(key)}").get("resource")
            except NotFound:
                return None
            return _event_type(resource, host.uri) if isinstance(resource, dict) else None
        matches = [item for item in self._paginate("/event_types", {"user": host.uri, "count": PAGE_SIZE})
                   if item.get("slug") == key]
        matches.sort(key=lambda item: not item.get("active", True))
        return _event_type(matches[0], host.uri) if matches else None

    def available_times(self, event_type: EventType, start: datetime, end: datetime) -> list[datetime]:
        """Bookable starts in [start, end), asked in windows Calendly accepts:
        never starting in the past (Calendly refuses that) and at most
        ``window`` long."""
        cursor = max(start, self.clock.now() + timedelta(minutes=1)).replace(microsecond=0)
        found: set[datetime] = set()
        while cursor < end:
            window_end = min(cursor + self.window, end)
            body = self._get("/event_type_available_times", {
                "event_type": event_type.uri, "start_time": iso(cursor), "end_time": iso(window_end)})
            for slot in body.get("collection") or []:
                if slot.get("status", "available") != "available" or not slot.get("start_time"):
                    continue
                try:
                    found.add(parse_instant(str(slot["start_time"])))
                except ValueError:
                    self._bad("an available time has an unreadable start_time", "report it to Calendly")
            cursor = window_end
        return sorted(t for t in found if start <= t < end)

    def create_link(self, event_type: EventType, *, name: str, email: str, ref: str,
                    expires_at: datetime | None = None) -> str:
        """A single-use link with the prefill and reference in its query string.

        Calendly's single-use links have no expiry; ``expires_at`` is ignored
        and the workflow's own deadlines bound the invitation instead.
        """
        body = self._post("/scheduling_links", {
            "max_event_count": 1, "owner": event_type.uri, "owner_type": "EventType"})
        booking_url = (body.get("resource") or {}).get("booking_url")
        if not booking_url:
            raise VendorError("calendly", "POST /scheduling_links returned no booking_url",
                              "check the event type is active and the token has scheduling_links:write")
        return with_prefill(str(booking_url), name=name, email=email, ref=ref)

    def revoke_link(self, url: str) -> None:
        """No-op: Calendly v2 has no call to disable a single-use scheduling
        link. It dies by itself after one booking; until then it stays valid."""
        return None

    def changed_bookings(self, since: datetime | None, now: datetime,
                         paging: Paging | None = None) -> Iterator[Booking]:
        """Invitees of events changed at or after ``since`` (all events in the
        window when ``since`` is None), oldest change first; ``paging`` bounds
        the event pages read (a resumed listing must pass the same ``since`` and
        ``now``: the page token belongs to that query)."""
        anchor = min(since, now) if since is not None else now
        params = {"organization": self._organization(), "min_start_time": iso(anchor - self.lookback),
                  "sort": "start_time:asc", "count": PAGE_SIZE}
        bookings: list[Booking] = []
        for event in self._paginate("/scheduled_events", params, paging):
            uri = event.get("uri")
            try:
                updated = parse_instant(str(event["updated_at"]))
            except (KeyError, ValueError):
                self._bad(f"event {_last_segment(str(uri or '?'))} has no readable updated_at",
                          "the event is skipped; report it to Calendly if it persists")
                continue
            if since is not None and updated < since:
                continue
            if not uri:
                self._bad("an event without a uri was listed", "the event is skipped")
                continue
            bookings.extend(self._event_bookings(event))
        bookings.sort(key=lambda b: (b.updated_at or b.start, b.status != "canceled", b.start))
        yield from bookings

    def _event_bookings(self, event: dict[str, Any]) -> list[Booking]:
        self.session.check_origin(str(event["uri"]))  # we call on its behalf: it must be our API's resource
        event_id = _last_segment(str(event["uri"]))
        try:
            invitees = list(self._paginate(f"/scheduled_events/{event_id}/invitees", {"count": PAGE_SIZE}))
        except NotFound:
            self._bad(f"event {event_id} has no invitee list (404)", "the event is skipped")
            return []
        result: list[Booking] = []
        for invitee in invitees:
            try:
                result.append(_booking(event, invitee, self._host_email(event)))
            except (KeyError, TypeError, ValueError, AttributeError) as exc:  # any malformed shape
                self._bad(f"invitee {_last_segment(str(invitee.get('uri', '?')))} of event {event_id} "
                          f"is malformed ({type(exc).__name__}: {exc})"[:300],
                          "the booking is skipped; check it in Calendly")
        return result

    def _host_email(self, event: dict[str, Any]) -> str | None:
        """The first membership's ``user_email``, else its user's email from ``GET /users/{uuid}``
        (cached, so asking again per invitee costs nothing); raises TypeError on a malformed list."""
        for membership in event.get("event_memberships") or []:
            if not isinstance(membership, dict):
                raise TypeError("event_memberships holds a non-object")
            if membership.get("user_email"):
                return str(membership["user_email"])
            if membership.get("user"):
                email = self.user_email(str(membership["user"]))
                if email:
                    return email
        return None

    def user_email(self, user_uri: str) -> str | None:
        """A user's email by URI, cached; only the URI's last segment is used, so
        the request stays on the configured base URL whatever the URI says."""
        if user_uri not in self._user_emails:
            try:
                resource = self._get(f"/users/{_last_segment(user_uri)}").get("resource") or {}
            except NotFound:
                resource = {}
            except VendorError as exc:  # e.g. no users:read scope: the booking still matches by reference
                self._bad(f"cannot read host user {_last_segment(user_uri)} ({exc.message})"[:300],
                          "grant the token users:read; until then its bookings match by their reference only")
                resource = {}
            self._user_emails[user_uri] = str(resource.get("email") or "") or None
        return self._user_emails[user_uri]

    def mark_no_show(self, booking: Booking) -> None:
        if booking.no_show:
            return
        self._post("/invitee_no_shows", {"invitee": booking.uri})


# --- translation -------------------------------------------------------------

def with_prefill(booking_url: str, *, name: str, email: str, ref: str) -> str:
    """Append ``name``, ``email`` and ``utm_content`` (percent-encoded UTF-8,
    ``+`` and ``'`` included) to a booking URL, keeping any query it has."""
    parts = urlsplit(booking_url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
             if k not in ("name", "email", "utm_content")]
    query += [("name", name), ("email", email), ("utm_content", ref)]
    return urlunsplit(parts._replace(query=urlencode(query, quote_via=quote, safe="")))


def _last_segment(uri: str) -> str:
    return uri.rstrip("/").rsplit("/", 1)[-1]


def _event_type(item: dict[str, Any], host_uri: str) -> EventType:
    return EventType(uri=str(item["uri"]), slug=str(item.get("slug") or ""), name=str(item.get("name") or ""),
                     duration_minutes=int(item.get("duration") or 0),
                     scheduling_url=str(item.get("scheduling_url") or ""),
                     host_uri=str((item.get("profile") or {}).get("owner") or host_uri),
                     active=bool(item.get("active", True)))


def _optional_instant(value: Any) -> datetime | None:
    return parse_instant(str(value)) if value else None


def _booking(event: dict[str, Any], invitee: dict[str, Any], host_email: str | None = None) -> Booking:
    """One invitee of one event; raises KeyError/ValueError on a malformed record."""
    email = invitee.get("email")
    if not email:
        raise ValueError("missing email")
    location = event.get("location") or {}
    cancellation = invitee.get("cancellation") or event.get("cancellation") or {}
    ref = ((invitee.get("tracking") or {}).get("utm_content") or "").strip() or None
    return Booking(
        uri=str(invitee["uri"]), event_uri=str(event["uri"]), ref=ref, email=str(email),
        name=str(invitee.get("name") or ""),
        start=parse_instant(str(event["start_time"])), end=parse_instant(str(event["end_time"])),
        status=str(invitee.get("status") or event.get("status") or "active"),
        host_email=host_email,
        updated_at=_optional_instant(invitee.get("updated_at")) or _optional_instant(event.get("updated_at")),
        created_at=_optional_instant(invitee.get("created_at")),
        location=location.get("location") or None, join_url=location.get("join_url") or None,
        cancel_url=invitee.get("cancel_url"), reschedule_url=invitee.get("reschedule_url"),
        rescheduled=bool(invitee.get("rescheduled")),
        new_booking_uri=invitee.get("new_invitee"), old_booking_uri=invitee.get("old_invitee"),
        # Calendly's ``canceled_by`` is a person's name; the role is ``canceler_type``.
        canceled_by=cancellation.get("canceler_type") or cancellation.get("canceled_by"),
        cancel_reason=cancellation.get("reason"),
        no_show=bool(invitee.get("no_show")),
        event_type_uri=event.get("event_type"),
        invitee_timezone=_text(invitee.get("timezone")), invitee_phone=_phone(invitee, location),
    )


def _text(value: Any) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def _phone(invitee: dict[str, Any], location: dict[str, Any]) -> str | None:
    """The SMS reminder number, else the number an outbound call's location names
    (the invitee gave it for the host to dial), else a booking answer about a phone."""
    number = _text(invitee.get("text_reminder_number"))
    if number:
        return number
    if location.get("type") == "outbound_call" and _text(location.get("location")):
        return _text(location.get("location"))
    for qa in invitee.get("questions_and_answers") or []:
        if isinstance(qa, dict) and "phone" in str(qa.get("question") or "").casefold():
            answer = _text(qa.get("answer"))
            if answer:
                return answer
    return None
