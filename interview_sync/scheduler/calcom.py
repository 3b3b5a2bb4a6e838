"""Cal.com API v2 adapter: hosts, slots, private links and bookings.

Wire facts this relies on (cal.com/docs/api-reference/v2):

- ``Authorization: Bearer cal_...``; every answer is ``{"status": "success",
  "data": ...}``. Most endpoints also need a ``cal-api-version`` header, and a
  missing or wrong one silently selects an *older* endpoint version, so each
  call here sends the version its parser was written for (see ``VERSIONS``).
- ``GET /v2/me`` gives the key owner and its ``organizationId``; other hosts
  come from ``GET /v2/organizations/{orgId}/users?emails=`` (org admins).
- A key acts as its owner only: private links can be created only on event
  types that owner owns (the controller's ownership guard answers 404
  otherwise) and ``GET /v2/bookings`` lists that owner's bookings. So several
  hosts need several keys: ``host_keys`` maps a host's email to the host's own
  key; links, bookings and no-shows of that host go through it, and a poll
  reads the bookings of every key (docs/vendors.md has the evidence).
- Event types: ``GET /v2/event-types?username=`` (``id``, ``slug``,
  ``title``, ``lengthInMinutes``); slots: ``GET /v2/slots?eventTypeId=&start=
  &end=&timeZone=`` answering ``{"YYYY-MM-DD": [{"start": ...}]}``.
- Private links: ``POST /v2/event-types/{id}/private-links`` with
  ``maxUsageCount: 1`` answers ``linkId`` and ``bookingUrl``
  (``.../d/{linkId}``); ``DELETE .../{linkId}`` revokes. A link is either
  usage-limited or time-limited, never both (the API refuses a body with both
  ``maxUsageCount`` and ``expiresAt``): we keep single use, and the workflow's
  own deadlines plus revocation on leaving the stage bound its life.
  The booking page takes ``name``/``email`` prefill and ``metadata[key]``
  query parameters; the latter land in the booking's ``metadata`` — our
  invitation reference travels as ``metadata[ref]``.
- ``GET /v2/bookings?afterUpdatedAt=&sortUpdatedAt=asc&take=&skip=`` lists
  changes oldest first with a ``pagination.hasNextPage`` flag: an idle poll is
  one request. A reschedule is the old booking ``cancelled`` with
  ``rescheduledToUid`` plus a new one with ``rescheduledFromUid``; a booking
  that needs the host's confirmation is ``pending`` until accepted.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from pydantic import Field, SecretStr, field_validator

from ..clock import Clock, parse_instant
from ..config_base import VendorConfig, check_url
from ..errors import BadRecord, BadRecordLog, NotFound, VendorError
from ..http import VendorSession
from ..models import Booking, EventType, Host
from ..paging import Paging

# The cal-api-version each endpoint's parser below was written against.
VERSIONS: dict[str, str] = {
    "bookings": "2024-08-13",       # GET /v2/bookings, POST /v2/bookings/{uid}/mark-absent
    "slots": "2024-09-04",          # GET /v2/slots
    "event_types": "2024-06-14",    # GET /v2/event-types, GET /v2/event-types/{id}
    "private_links": "2024-09-04",  # POST/GET/DELETE /v2/event-types/{id}/private-links
}
PAGE_SIZE = 100
REF_PARAM = "metadata[ref]"
_LINK_PATH = re.compile(r"/d/([^/]+)(?:/[^/]*)?/?")
_STATUS = {"accepted": "active", "pending": "pending", "cancelled": "canceled", "rejected": "canceled"}


class CalcomConfig(VendorConfig):
    """``[scheduler]`` keys for Cal.com v2: the main API key, plus one key per other host.

    Cal.com lets only an event type's owner create private links on it, and
    lists a key's own bookings only (see the module docstring).
    """

    base_url: str = "https://api.cal.com/v2"
    api_token: SecretStr = SecretStr("")
    host_keys: dict[str, SecretStr] = Field(default_factory=dict)  # host email -> that host's own API key

    _urls = field_validator("base_url")(classmethod(lambda cls, v: check_url(v)))

    @field_validator("host_keys")
    @classmethod
    def _host_keys_by_email(cls, value: dict[str, SecretStr]) -> dict[str, SecretStr]:
        for email, key in value.items():
            if "@" not in email:
                raise ValueError(f"{email!r} is not an email address: key each API key by its host's Cal.com email")
            if not key.get_secret_value().strip():
                raise ValueError(f"the API key for {email} is empty: set it or remove the entry")
        return {email.strip().casefold(): key for email, key in value.items()}

    def adapter_args(self) -> dict[str, Any]:
        return {"base_url": self.base_url, "api_key": self.api_token.get_secret_value(),
                "host_keys": {email: key.get_secret_value() for email, key in self.host_keys.items()}}


class CalcomScheduler:
    """The :class:`~interview_sync.scheduler.base.Scheduler` for Cal.com API v2.

    ``Host.uri`` is the Cal.com username (what event types and slots are
    looked up by); ``EventType.uri`` the numeric event type id; a booking's
    ``uri`` its ``uid``.
    """

    name = "calcom"

    def __init__(self, *, base_url: str, api_key: str, session: VendorSession, clock: Clock,
                 host_keys: Mapping[str, str] | None = None,
                 on_bad_record: Callable[[BadRecord], None] | None = None,
                 window: timedelta = timedelta(days=30),
                 first_poll_lookback: timedelta = timedelta(days=7)) -> None:
        """``base_url`` ends in ``/v2`` (``https://api.cal.com/v2``).
        ``first_poll_lookback``: how far back the very first poll (no cursor yet) reads changes.
        ``host_keys``: host email -> that host's own API key (see the module docstring)."""
        self.base_url = base_url.rstrip("/")
        self._key = api_key
        self._host_keys = {email.strip().casefold(): key for email, key in (host_keys or {}).items() if key}
        self._user_keys: dict[str, str] = {}  # username -> the key that acts as that user
        self._booking_keys: dict[str, str] = {}  # booking uid -> the key that listed it
        self._owners: dict[str, dict[str, Any]] = {}  # key -> GET /me of its owner
        self.session = session
        session.pin(self.base_url)
        self.clock = clock
        self.window = window
        self.first_poll_lookback = first_poll_lookback
        self.bad_records = BadRecordLog(on_bad_record)
        self._me: dict[str, Any] | None = None
        self._link_event_types: dict[str, str] = {}  # linkId -> eventTypeId, for revoking in the same run
        self._link_keys: dict[str, str] = {}  # linkId -> the key of its event type's owner

    # --- plumbing ------------------------------------------------------------

    def _headers(self, version: str | None, key: str | None = None) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {key or self._key}"}
        if version is not None:
            headers["cal-api-version"] = VERSIONS[version]
        return headers

    def _call(self, method: str, path: str, version: str | None, *, params: dict[str, Any] | None = None,
              payload: dict[str, Any] | None = None, key: str | None = None) -> dict[str, Any]:
        body = self.session.json(method, self.base_url + path, params=params, json=payload,
                                 headers=self._headers(version, key))
        if not isinstance(body, dict):
            raise VendorError("calcom", f"{method} {path} returned an unexpected shape",
                              "check base_url points at the Cal.com API v2 (…/v2)")
        if body.get("status") == "error":
            message = str((body.get("error") or {}).get("message") or "error")[:200]
            raise VendorError("calcom", f"{method} {path} answered an error ({message})",
                              "check the request's ids and the API key's permissions")
        return body

    def _whoami(self) -> dict[str, Any]:
        if self._me is None:
            self._me = self._call("GET", "/me", None).get("data") or {}
        return self._me

    def _owner(self, key: str) -> dict[str, Any]:
        """The user a host key acts as (``GET /v2/me`` with that key), cached per run."""
        if key not in self._owners:
            self._owners[key] = self._call("GET", "/me", None, key=key).get("data") or {}
        return self._owners[key]

    def keys(self) -> list[str]:
        """Every distinct key: the main one first, then each host's own."""
        return list(dict.fromkeys([self._key, *self._host_keys.values()]))

    def host_key_owners(self) -> dict[str, dict[str, Any]]:
        """Configured host email -> the user its key acts as (for ``doctor --probe``)."""
        return {email: self._owner(key) for email, key in self._host_keys.items()}

    def read(self, path: str, version: str | None, params: dict[str, Any] | None = None,
             key: str | None = None) -> dict[str, Any]:
        """One GET under ``key`` (the main key by default): the read-only door ``doctor --probe`` uses."""
        return self._call("GET", path, version, params=params, key=key)

    def _key_for(self, username: str | None = None, email: str | None = None) -> str:
        if email and email.strip().casefold() in self._host_keys:
            return self._host_keys[email.strip().casefold()]
        return self._user_keys.get(username or "", self._key)

    def _bad(self, message: str, fix: str) -> None:
        self.bad_records.report(BadRecord(f"calcom: {message}", fix))

    # --- Scheduler protocol -------------------------------------------------

    def check_auth(self) -> dict[str, str]:
        self._me = None
        me = self._whoami()
        return {"user": str(me.get("username") or me.get("id") or ""),
                "organization": str(me.get("organizationId") or "")}

    def find_host(self, email: str) -> Host | None:
        """The owner of the host's own key (``host_keys``), else the main key's
        owner or a member of its organization, by email."""
        wanted = email.strip().casefold()
        own_key = self._host_keys.get(wanted)
        if own_key is not None:
            owner = self._owner(own_key)
            if str(owner.get("email", "")).casefold() != wanted or not owner.get("username"):
                raise VendorError("calcom", f"the key in scheduler.host_keys for {email.strip()} belongs to "
                                  f"another Cal.com user", "put that host's own API key (Cal.com → Settings → "
                                  "Developer → API keys, created while signed in as the host) under their email")
            self._user_keys[str(owner["username"])] = own_key
            return _host(owner)
        me = self._whoami()
        candidates: list[dict[str, Any]] = [me]
        org = me.get("organizationId")
        if org and str(me.get("email", "")).casefold() != wanted:
            candidates = self._call("GET", f"/organizations/{org}/users", None,
                                    params={"emails": email.strip(), "take": PAGE_SIZE}).get("data") or []
        for user in candidates:
            if isinstance(user, dict) and str(user.get("email", "")).casefold() == wanted and user.get("username"):
                return _host(user)
        return None

    def get_event_type(self, host: Host, key: str) -> EventType | None:
        """By numeric id, or by slug (a booking-page URL's last segment works too)."""
        key = key.strip()
        owner_key = self._key_for(host.uri, host.email)
        if key.isdigit():
            try:
                item = self._call("GET", f"/event-types/{key}", "event_types", key=owner_key).get("data")
            except NotFound:
                return None
            return _event_type(item, host.uri) if isinstance(item, dict) else None
        slug = urlsplit(key).path.rstrip("/").rsplit("/", 1)[-1] if key.startswith(("http://", "https://")) else key
        items = self._call("GET", "/event-types", "event_types", params={"username": host.uri},
                           key=owner_key).get("data") or []
        if isinstance(items, dict):  # some versions answer one object when a single type matches
            items = [items]
        for item in items:
            if isinstance(item, dict) and item.get("slug") == slug:
                return _event_type(item, host.uri)
        return None

    def available_times(self, event_type: EventType, start: datetime, end: datetime) -> list[datetime]:
        """Bookable starts in [start, end), asked in ``window``-sized pieces from now on."""
        cursor = max(start, self.clock.now()).astimezone(timezone.utc).replace(microsecond=0)
        found: set[datetime] = set()
        while cursor < end:
            window_end = min(cursor + self.window, end)
            data = self._call("GET", "/slots", "slots", params={
                "eventTypeId": event_type.uri, "start": _ms(cursor), "end": _ms(window_end),
                "timeZone": "UTC"}).get("data") or {}
            if isinstance(data, dict) and isinstance(data.get("slots"), dict):
                data = data["slots"]  # the pre-2024-09-04 shape, should a proxy pin the old version
            for day in (data.values() if isinstance(data, dict) else []):
                for slot in day if isinstance(day, list) else []:
                    text = slot.get("start") or slot.get("time") if isinstance(slot, dict) else slot
                    try:
                        found.add(parse_instant(str(text)))
                    except ValueError:
                        self._bad("a slot has an unreadable start", "report it to Cal.com")
            cursor = window_end
        return sorted(t for t in found if start <= t < end)

    def create_link(self, event_type: EventType, *, name: str, email: str, ref: str,
                    expires_at: datetime | None = None) -> str:
        """A private link usable once, prefilled and carrying ``ref``, created
        with the key of the event type's owner.

        ``expires_at`` is not sent: Cal.com takes either a usage limit or an
        expiry, not both, and single use is what keeps a forwarded link from
        booking twice. The link is deleted when the application leaves the stage.
        """
        try:
            data = self._call("POST", f"/event-types/{event_type.uri}/private-links", "private_links",
                              payload={"maxUsageCount": 1}, key=self._key_for(event_type.host_uri)).get("data") or {}
        except NotFound:
            raise VendorError("calcom", f"POST /event-types/{event_type.uri}/private-links: 404, the API key does "
                              f"not own event type {event_type.uri} (host {event_type.host_uri})",
                              "Cal.com lets only an event type's owner create private links: add the host's own "
                              "API key to scheduler.host_keys under the host's email", 404) from None
        booking_url, link_id = data.get("bookingUrl"), data.get("linkId")
        if not booking_url or not link_id:
            raise VendorError("calcom", "POST /event-types/{id}/private-links returned no bookingUrl",
                              "check the API key may manage this event type")
        self._link_event_types[str(link_id)] = str(data.get("eventTypeId") or event_type.uri)
        self._link_keys[str(link_id)] = self._key_for(event_type.host_uri)
        return with_prefill(str(booking_url), name=name, email=email, ref=ref)

    def revoke_link(self, url: str) -> None:
        """Delete the private link behind ``url``; a link already gone is fine.

        The URL names the link but not its event type, so outside the run that
        created it we look the link up among the key owner's event types.
        """
        match = _LINK_PATH.fullmatch(urlsplit(url).path)
        if not match:
            return None
        link_id = match.group(1)
        found = ((self._link_event_types[link_id], self._link_keys.get(link_id, self._key))
                 if link_id in self._link_event_types else self._find_link(link_id))
        if found is None:
            return None
        event_type_id, key = found
        try:
            self._call("DELETE", f"/event-types/{event_type_id}/private-links/{link_id}", "private_links", key=key)
        except NotFound:
            pass
        self._link_event_types.pop(link_id, None)
        return None

    def _find_link(self, link_id: str) -> tuple[str, str] | None:
        """(event type id, owner's key) of a link, searched among each key's own event types."""
        for key in self.keys():
            for item in self._call("GET", "/event-types", "event_types", key=key).get("data") or []:
                if not isinstance(item, dict) or item.get("id") is None:
                    continue
                links = self._call("GET", f"/event-types/{item['id']}/private-links", "private_links",
                                   key=key).get("data") or []
                if any(isinstance(link, dict) and link.get("linkId") == link_id for link in links):
                    return str(item["id"]), key
        return None

    def changed_bookings(self, since: datetime | None, now: datetime,
                         paging: Paging | None = None) -> Iterator[Booking]:
        """Bookings updated at or after ``since`` under every key (each lists its
        owner's own), oldest change first; a booking two keys see comes once.

        When ``paging`` stops the listing, ``paging.resume`` is
        ``<key index>|<instant>|<skip>``: the key being read and its last read
        ``updatedAt``, not a bare skip (a booking changed between two polls moves
        to the end of the list and would shift an unread one into the skipped
        range). Keys before that index were read in full; resuming re-reads that
        instant's bookings, and idempotency keys make the re-read harmless."""
        paging = paging or Paging()
        after = since if since is not None else now - self.first_poll_lookback
        first_key, start_after, skip = 0, after, 0
        if paging.start:
            index, _, rest = paging.start.partition("|")
            instant, _, skipped = rest.partition("|")
            first_key, start_after, skip = int(index), parse_instant(instant), int(skipped or 0)
        found: dict[str, Booking] = {}
        for index, key in enumerate(self.keys()):
            if index < first_key:
                continue
            resumed = index == first_key and bool(paging.start)
            listed = self._bookings_of(key, index, start_after if resumed else after, skip if resumed else 0, paging)
            for booking in listed:
                found.setdefault(booking.uri, booking)
                self._booking_keys.setdefault(booking.uri, key)
            if paging.resume is not None:
                break
        bookings = sorted(found.values(), key=lambda b: (b.updated_at or b.start, b.status != "canceled", b.start))
        yield from bookings

    def _bookings_of(self, key: str, index: int, after: datetime, skip: int, paging: Paging) -> list[Booking]:
        """One key's bookings updated at or after ``after``, paged with take/skip."""
        params: dict[str, Any] = {"afterUpdatedAt": _ms(after), "sortUpdatedAt": "asc", "take": PAGE_SIZE,
                                  "skip": skip}
        bookings: list[Booking] = []
        while True:
            body = self._call("GET", "/bookings", "bookings", params=params, key=key)
            paging.fetched(f"{index}|{_ms(after)}|{params['skip']}")
            items = body.get("data") or []
            for item in items:
                booking = self._booking(item)
                if booking is not None and (booking.updated_at is None or booking.updated_at >= after):
                    bookings.append(booking)
            more = (body.get("pagination") or {}).get("hasNextPage")
            done = not items or more is False or (more is None and len(items) < PAGE_SIZE)
            params["skip"] += len(items)
            if not paging.advance(None if done else f"{index}|{_ms(after)}|{params['skip']}", "calcom",
                                  "GET /bookings"):
                break
        if paging.resume is not None:
            last = max((b.updated_at for b in bookings if b.updated_at is not None), default=after)
            paging.resume = f"{index}|{_ms(last)}|{params['skip'] if last <= after else 0}"
        return bookings

    def _booking(self, item: Any) -> Booking | None:
        uid = item.get("uid") if isinstance(item, dict) else None
        try:
            if not uid:
                raise ValueError("missing uid")
            return _booking(item, self._web_base())
        except (KeyError, TypeError, ValueError, AttributeError) as exc:  # any malformed shape
            self._bad(f"booking {uid or '?'} is malformed ({type(exc).__name__}: {exc})"[:300],
                      "the booking is skipped; check it in Cal.com")
            return None

    def _web_base(self) -> str:
        """Where booking pages live: https://api.cal.com/v2 -> https://cal.com."""
        parts = urlsplit(self.base_url)
        host = parts.netloc[4:] if parts.netloc.startswith("api.") else parts.netloc
        path = parts.path[:-3] if parts.path.endswith("/v2") else parts.path
        return urlunsplit((parts.scheme, host, path, "", "")).rstrip("/")

    def mark_no_show(self, booking: Booking) -> None:
        if booking.no_show:
            return
        key = self._booking_keys.get(booking.uri) or self._key_for(email=booking.host_email)
        self._call("POST", f"/bookings/{booking.uri}/mark-absent", "bookings",
                   payload={"attendees": [{"email": booking.email, "absent": True}]}, key=key)


# --- translation -------------------------------------------------------------

def with_prefill(booking_url: str, *, name: str, email: str, ref: str) -> str:
    """Append ``name``, ``email`` and ``metadata[ref]`` (percent-encoded UTF-8,
    ``+``, ``'`` and the brackets included) to a booking URL, keeping its query."""
    parts = urlsplit(booking_url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
             if k not in ("name", "email", REF_PARAM)]
    query += [("name", name), ("email", email), (REF_PARAM, ref)]
    return urlunsplit(parts._replace(query=urlencode(query, quote_via=quote, safe="")))


def _ms(value: datetime) -> str:
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + \
        f"{value.microsecond // 1000:03d}Z"


def _host(user: dict[str, Any]) -> Host:
    """A Cal.com user (``/me`` or an organization member) as a host."""
    return Host(uri=str(user["username"]), name=str(user.get("name") or user["username"]),
                email=str(user["email"]), timezone=str(user["timeZone"]) if user.get("timeZone") else None)


def _event_type(item: dict[str, Any], host_uri: str) -> EventType:
    return EventType(uri=str(item["id"]), slug=str(item.get("slug") or ""), name=str(item.get("title") or ""),
                     duration_minutes=int(item.get("lengthInMinutes") or 0),
                     scheduling_url=str(item.get("bookingUrl") or ""), host_uri=host_uri, active=True)


def _optional_instant(value: Any) -> datetime | None:
    return parse_instant(str(value)) if value else None


def _booking(item: dict[str, Any], web_base: str) -> Booking:
    """One Cal.com booking (the first attendee is the candidate); raises on a malformed record."""
    status = _STATUS.get(str(item.get("status") or "").lower())
    if status is None:
        raise ValueError(f"unknown status {str(item.get('status'))[:20]!r}")
    attendees = [a for a in item.get("attendees") or [] if isinstance(a, dict)]
    if not attendees or not attendees[0].get("email"):
        raise ValueError("no attendee email")
    candidate = attendees[0]
    hosts = [h for h in item.get("hosts") or [] if isinstance(h, dict)]
    host_email = next((str(h["email"]) for h in hosts if h.get("email")), None)
    uid = str(item["uid"])
    metadata = item.get("metadata") if isinstance(item.get("metadata"), dict) else {}
    ref = str(metadata.get("ref") or "").strip() or None
    meeting_url = item.get("meetingUrl") or None
    location = str(item.get("location") or "") or None
    if location and (location.startswith("integrations:") or location.startswith(("http://", "https://"))):
        meeting_url = meeting_url or (location if location.startswith("http") else None)
        location = None
    canceled_by = None
    if status == "canceled" and item.get("cancelledByEmail"):
        by = str(item["cancelledByEmail"]).casefold()
        canceled_by = ("invitee" if by == str(candidate["email"]).casefold()
                       else "host" if host_email and by == host_email.casefold() else "other")
    new_uid = item.get("rescheduledToUid") or None
    event_type_id = item.get("eventTypeId") or (item.get("eventType") or {}).get("id")
    created = _optional_instant(item.get("createdAt"))
    return Booking(
        uri=uid, event_uri=uid, ref=ref, email=str(candidate["email"]), name=str(candidate.get("name") or ""),
        start=parse_instant(str(item["start"])), end=parse_instant(str(item["end"])), status=status,
        host_email=host_email, updated_at=_optional_instant(item.get("updatedAt")) or created, created_at=created,
        location=location, join_url=meeting_url,
        cancel_url=f"{web_base}/booking/{uid}?cancel=true", reschedule_url=f"{web_base}/reschedule/{uid}",
        rescheduled=status == "canceled" and new_uid is not None,
        new_booking_uri=str(new_uid) if new_uid else None,
        old_booking_uri=str(item["rescheduledFromUid"]) if item.get("rescheduledFromUid") else None,
        canceled_by=canceled_by, cancel_reason=item.get("cancellationReason") or None,
        no_show=bool(candidate.get("absent")),
        event_type_uri=str(event_type_id) if event_type_id is not None else None,
        invitee_timezone=_text(candidate.get("timeZone")), invitee_phone=_phone(item, candidate),
    )


def _text(value: Any) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def _phone(item: dict[str, Any], attendee: dict[str, Any]) -> str | None:
    """The booking form's ``attendeePhoneNumber`` answer, else the attendee's ``phoneNumber``."""
    answers = item.get("bookingFieldsResponses")
    answer = answers.get("attendeePhoneNumber") if isinstance(answers, dict) else None
    return _text(answer) or _text(attendee.get("phoneNumber"))
