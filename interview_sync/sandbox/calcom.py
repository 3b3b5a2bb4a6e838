"""A Cal.com API v2-compatible scheduler for the sandbox.

It speaks the wire format the real adapter reads: ``{"status": "success",
"data": ...}`` envelopes, numeric user / event type ids, string booking
``uid``s, ``...000Z`` timestamps, ``take``/``skip`` paging with a
``pagination`` object, and the ``cal-api-version`` header each endpoint
needs (refused with 400 here when missing or wrong, so a wrong version in the
adapter fails loudly instead of silently talking to an older endpoint).

State lives in ``world.data["calcom"]`` and holds plain data only. Beside the
API it serves the page a private link points at (``/d/{linkId}``) and
admin routes that act like a candidate or a hiring manager, with Cal.com's
own semantics: a reschedule cancels the old booking (``rescheduledToUid``) and
creates a new one (``rescheduledFromUid``); a booking on an event type that
needs confirmation stays ``pending`` until accepted.

Keys act as their owner, as Cal.com's do: ``cal_sandbox_key`` is Maria
Delgado's (an organization admin, so it may list the organization's users) and
each other host has an own key (``SANDBOX_CALCOM_HOST_KEYS``). A private link
on, or a private-link listing of, an event type the key's owner does not own
is a 404 (Cal.com's ``EventTypeOwnershipGuard``); ``GET /v2/bookings`` lists
the owner's own bookings; ``GET /v2/event-types`` without ``username`` the
owner's own event types. A link takes ``maxUsageCount`` or ``expiresAt``,
exactly one of them.
"""

from __future__ import annotations

import hashlib
import re
from datetime import date, datetime, time, timedelta, timezone
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

from ..clock import parse_instant
from . import seed
from .booking import (BookingRefused, admin_route, application_of, block_span, booking_form, booking_page,
                      host_by_email, link_in_body, no_such_link, optional_application, posted_fields,
                      workday_slots)
from .client import SANDBOX_CALCOM_HOST_KEYS, SANDBOX_CALCOM_KEY
from .common import VendorRoutes, bearer_token, guarded, locked, millis_stamp, mount_routes
from .server import Handler, Request, Response, SandboxApp

API_KEY = "cal_sandbox_key"
ORG_ID = 5150
V_BOOKINGS = "2024-08-13"
V_SLOTS = "2024-09-04"
V_EVENT_TYPES = "2024-06-14"
V_PRIVATE_LINKS = "2024-09-04"
MAX_TAKE = 250
_UID_ALPHABET = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"

_LOCATIONS: dict[str, str] = {
    "first-interview-45": "Mercy Valley Health, 2100 Capitol Ave, Human Resources, Suite 200, Sacramento",
}


# --- rendering ---------------------------------------------------------------

_ts = millis_stamp  # Cal.com writes UTC with milliseconds: 2026-11-24T17:00:00.000Z


def _ok(data: Any, status: int = 200, **extra: Any) -> Response:
    return Response(status, {"status": "success", "data": data, **extra})


def _fail(status: int, code: str, message: str) -> Response:
    return Response(status, {"status": "error", "timestamp": None, "path": None,
                             "error": {"code": code, "message": message}})


def _web_base(request: Request) -> str:
    return request.base_url


# --- seed ----------------------------------------------------------------------

def _seed(now: datetime) -> dict[str, Any]:
    users: dict[str, dict[str, Any]] = {}
    event_types: dict[str, dict[str, Any]] = {}
    hosts = [u for u in seed.USERS if u.get("host")]
    for index, person in enumerate(hosts):
        user_id = 1001 + index
        users[str(user_id)] = {
            "id": user_id, "username": person["email"].split("@", 1)[0].replace(".", "-"),
            "name": f"{person['first_name']} {person['last_name']}", "email": person["email"],
            "timeZone": seed.HOST_TIMEZONE, "phone": f"+1 916 555 02{index + 1:02d}",
            "createdDate": _ts(now),
        }
        for et_index, (slug, title, minutes) in enumerate(seed.EVENT_TYPES):
            et_id = 70000 + user_id * 10 + et_index
            event_types[str(et_id)] = {"id": et_id, "ownerId": user_id, "slug": slug, "title": title,
                                       "lengthInMinutes": minutes, "hidden": False}
    keys = {API_KEY: "1001"}
    for user_id, user in users.items():
        if user["email"] in SANDBOX_CALCOM_HOST_KEYS:
            keys[SANDBOX_CALCOM_HOST_KEYS[user["email"]]] = user_id
    return {"users": users, "event_types": event_types, "links": {}, "bookings": {}, "blocks": {},
            "app_bookings": {}, "keys": keys, "counter": 0}


def _next(state: dict[str, Any]) -> int:
    state["counter"] += 1
    return int(state["counter"])


def _token(kind: str, number: int, length: int) -> str:
    """Deterministic opaque ids, so a replayed demo produces the same links and uids."""
    digest = int.from_bytes(hashlib.sha256(f"calcom:{kind}:{number}".encode()).digest(), "big")
    chars = []
    for _ in range(length):
        digest, rem = divmod(digest, len(_UID_ALPHABET))
        chars.append(_UID_ALPHABET[rem])
    return "".join(chars)


# --- resources -------------------------------------------------------------------

def _user_json(user: dict[str, Any]) -> dict[str, Any]:
    return {"id": user["id"], "username": user["username"], "name": user["name"], "email": user["email"],
            "emailVerified": user["createdDate"], "bio": None, "avatarUrl": None, "timeZone": user["timeZone"],
            "weekStart": "Monday", "locale": "en", "timeFormat": 12, "defaultScheduleId": user["id"],
            "createdDate": user["createdDate"], "verified": True,
            "profile": {"id": user["id"], "organizationId": ORG_ID, "userId": user["id"],
                        "username": user["username"]}}


def _event_type_json(request: Request, state: dict[str, Any], et: dict[str, Any]) -> dict[str, Any]:
    owner = state["users"][str(et["ownerId"])]
    return {"id": et["id"], "lengthInMinutes": et["lengthInMinutes"], "title": et["title"], "slug": et["slug"],
            "description": None, "locations": [], "bookingFields": [], "disableGuests": True,
            "slotInterval": et["lengthInMinutes"], "minimumBookingNotice": 0, "beforeEventBuffer": 0,
            "afterEventBuffer": 0, "metadata": {}, "hidden": et["hidden"], "ownerId": owner["id"],
            "users": [{"id": owner["id"], "name": owner["name"], "username": owner["username"],
                       "avatarUrl": None, "weekStart": "Monday", "brandColor": None, "darkBrandColor": None,
                       "metadata": {}}],
            "bookingUrl": f"{_web_base(request)}/{owner['username']}/{et['slug']}"}


def _link_json(request: Request, state: dict[str, Any], link: dict[str, Any], now: datetime) -> dict[str, Any]:
    et = state["event_types"][str(link["eventTypeId"])]
    expires = link["expiresAt"]
    return {"linkId": link["linkId"], "eventTypeId": link["eventTypeId"],
            "isExpired": bool(expires is not None and expires <= now),
            "bookingUrl": f"{_web_base(request)}/d/{link['linkId']}",  # as private-links.service.ts builds it
            "expiresAt": _ts(expires) if expires is not None else None,
            "maxUsageCount": link["maxUsageCount"], "usageCount": link["usageCount"]}


def _location(state: dict[str, Any], booking: dict[str, Any]) -> tuple[str | None, str | None]:
    """(location, meetingUrl) as Cal.com reports them for the seeded event types."""
    et = state["event_types"][str(booking["eventTypeId"])]
    if et["slug"] == "phone-screen-30":
        return state["users"][str(et["ownerId"])]["phone"], None
    if et["slug"] in _LOCATIONS:
        return _LOCATIONS[et["slug"]], None
    url = f"https://video.{seed.ORG_DOMAIN}/j/{booking['uid'][:10]}"
    return url, url


def _booking_json(state: dict[str, Any], booking: dict[str, Any]) -> dict[str, Any]:
    et = state["event_types"][str(booking["eventTypeId"])]
    host = state["users"][str(et["ownerId"])]
    location, meeting_url = _location(state, booking)
    attendee = {"name": booking["name"], "email": booking["email"],
                "timeZone": booking.get("timeZone", "America/Los_Angeles"),
                "language": "en", "absent": booking["attendeeAbsent"], "phoneNumber": booking.get("phoneNumber")}
    return {
        "id": booking["id"], "uid": booking["uid"], "title": f"{et['title']} between {host['name']} and "
                                                             f"{booking['name']}",
        "description": "", "hosts": [{"id": host["id"], "name": host["name"], "email": host["email"],
                                      "username": host["username"], "timeZone": host["timeZone"]}],
        "status": booking["status"], "cancellationReason": booking["cancellationReason"],
        "cancelledByEmail": booking["cancelledByEmail"], "reschedulingReason": booking["reschedulingReason"],
        "rescheduledByEmail": booking["rescheduledByEmail"], "rescheduledFromUid": booking["rescheduledFromUid"],
        "rescheduledToUid": booking["rescheduledToUid"], "rescheduled": booking["rescheduledToUid"] is not None,
        "start": _ts(booking["start"]), "end": _ts(booking["end"]),
        "duration": et["lengthInMinutes"], "eventTypeId": et["id"], "eventType": {"id": et["id"], "slug": et["slug"]},
        "meetingUrl": meeting_url, "location": location, "absentHost": booking["absentHost"],
        "createdAt": _ts(booking["createdAt"]), "updatedAt": _ts(booking["updatedAt"]),
        "metadata": dict(booking["metadata"]), "rating": None, "icsUid": f"{booking['uid']}@Cal.com",
        "attendees": [attendee], "guests": [],
        "bookingFieldsResponses": {"name": booking["name"], "email": booking["email"]},
    }


# --- availability ------------------------------------------------------------------

def _busy(state: dict[str, Any], owner_id: int) -> list[tuple[datetime, datetime]]:
    ranges = [(b["start"], b["end"]) for b in state["bookings"].values()
              if state["event_types"][str(b["eventTypeId"])]["ownerId"] == owner_id
              and b["status"] in ("accepted", "pending")]
    ranges.extend(state["blocks"].get(str(owner_id), []))
    return ranges


def _free_slots(state: dict[str, Any], et: dict[str, Any], start: datetime, end: datetime,
                now: datetime) -> list[datetime]:
    """Starts in [start, end] on the host's workday grid, free and not in the past."""
    owner = state["users"][str(et["ownerId"])]
    return workday_slots(ZoneInfo(owner["timeZone"]), timedelta(minutes=et["lengthInMinutes"]),
                         _busy(state, owner["id"]), start, end, now, include_end=True)


def _parse_bound(text: str, *, end_of_day: bool) -> datetime:
    """A slots bound: an ISO instant, or a bare date (start or end of that UTC day)."""
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        day = date.fromisoformat(text)
        moment = time(23, 59, 59) if end_of_day else time(0)
        return datetime.combine(day, moment, timezone.utc)
    return parse_instant(text)


def _slots_by_day(slots: list[datetime], zone: ZoneInfo) -> dict[str, list[dict[str, str]]]:
    """``/v2/slots``'s answer: starts in the asked zone, grouped by that zone's date."""
    grouped: dict[str, list[dict[str, str]]] = {}
    for slot in slots:
        local = slot.astimezone(zone)
        grouped.setdefault(local.date().isoformat(), []).append({"start": local.isoformat(timespec="milliseconds")})
    return grouped


# --- links and bookings ------------------------------------------------------------

def _link_terms(body: dict[str, Any], now: datetime) -> tuple[int | None, datetime | None] | Response:
    """``(maxUsageCount, expiresAt)`` of a private-link request: exactly one of them, each valid."""
    count = body.get("maxUsageCount")
    has_expiry = body.get("expiresAt") is not None
    if count is None and not has_expiry:
        return _fail(400, "BAD_REQUEST", "Either expiresAt or maxUsageCount must be provided")
    if count is not None and has_expiry:
        return _fail(400, "BAD_REQUEST", "Provide only one of expiresAt or maxUsageCount")
    if count is not None and (not isinstance(count, int) or isinstance(count, bool) or count < 1):
        return _fail(400, "BAD_REQUEST", "maxUsageCount must be an integer >= 1")
    if not has_expiry:
        return count, None
    try:
        expires = parse_instant(str(body["expiresAt"]))
    except ValueError:
        return _fail(400, "BAD_REQUEST", "expiresAt must be an ISO 8601 date-time")
    if expires <= now:
        return _fail(400, "BAD_REQUEST", "expiresAt must be in the future")
    return count, expires


def _used_up(link: dict[str, Any]) -> bool:
    return link["maxUsageCount"] is not None and link["usageCount"] >= link["maxUsageCount"]


def _booked_json(booking: dict[str, Any]) -> dict[str, Any]:
    return {"uid": booking["uid"], "status": booking["status"], "start": _ts(booking["start"]),
            "end": _ts(booking["end"])}


def _pagination(total: int, skip: int, take: int, returned: int) -> dict[str, Any]:
    """Cal.com's ``pagination`` object for one ``take``/``skip`` page of ``total`` items."""
    return {"totalItems": total, "remainingItems": max(0, total - skip - returned),
            "returnedItems": returned, "itemsPerPage": take, "currentPage": skip // take + 1,
            "totalPages": max(1, -(-total // take)), "hasNextPage": skip + returned < total,
            "hasPreviousPage": skip > 0}


def _refused(exc: BookingRefused) -> Response:
    response = _fail(exc.status, "BOOKING_REFUSED", str(exc))
    response.body["message"] = str(exc)  # where SandboxClient looks for the reason
    return response


def _at_of(body: dict[str, Any]) -> datetime | None:
    return parse_instant(str(body["at"])) if body.get("at") else None


# --- routes --------------------------------------------------------------------------

class Calcom(VendorRoutes):
    """Cal.com's routes over ``world.data["calcom"]``: one method per route.

    API methods run under :meth:`api` (key, then ``cal-api-version``, then the
    world lock); :func:`mount` wraps admin methods in the lock with refusals
    answered as errors.
    """

    key = "calcom"

    def api(self, version: str | None, handler: Handler) -> Handler:
        """Bearer key check, then the endpoint's ``cal-api-version``, then the handler under the lock."""
        return guarded(self.world, partial(self._refusal, version), handler)

    def _refusal(self, version: str | None, request: Request) -> Response | None:
        if self._caller(request) is None:
            return _fail(401, "UNAUTHORIZED", "Invalid Access Token.")
        if version is not None and request.headers.get("cal-api-version") != version:
            return _fail(400, "BAD_REQUEST", f"cal-api-version header must be set to {version} "
                                             f"for {request.method} {request.path}")
        return None

    def _caller(self, request: Request) -> dict[str, Any] | None:
        """The user the request's key acts as."""
        token = bearer_token(request.headers.get("authorization", ""))
        user_id = self.state["keys"].get(token) if token is not None else None
        return self.state["users"].get(user_id) if user_id else None

    def _owned_event_type(self, request: Request) -> dict[str, Any] | None:
        """The path's event type if the caller owns it: Cal.com's ownership guard
        answers 404 alike for a missing and for another user's event type."""
        et = self.state["event_types"].get(request.params["eventTypeId"])
        user = self._caller(request)
        return et if et is not None and user is not None and et["ownerId"] == user["id"] else None

    # -- me and organization users
    def me(self, request: Request) -> Response:
        user = self._caller(request)
        assert user is not None
        return _ok({"id": user["id"], "username": user["username"], "email": user["email"], "name": user["name"],
                    "avatarUrl": None, "bio": None, "timeFormat": 12, "defaultScheduleId": user["id"],
                    "weekStart": "Monday", "timeZone": user["timeZone"], "locale": "en",
                    "organizationId": ORG_ID, "organization": {"isPlatform": False, "id": ORG_ID}})

    def org_users(self, request: Request) -> Response:
        if request.params["orgId"] != str(ORG_ID) or (self._caller(request) or {}).get("id") != 1001:
            return _fail(403, "FORBIDDEN", "You are not an admin of this organization")
        wanted = {e.strip().casefold() for value in request.query.get("emails", [])
                  for e in value.split(",") if e.strip()}
        users = [u for u in self.state["users"].values() if not wanted or u["email"].casefold() in wanted]
        take, skip = int(request.arg("take") or 250), int(request.arg("skip") or 0)
        if not 1 <= take <= 1000 or skip < 0:
            return _fail(400, "BAD_REQUEST", "take must be 1..1000 and skip >= 0")
        return _ok([_user_json(u) for u in users[skip:skip + take]])

    # -- event types
    def list_event_types(self, request: Request) -> Response:
        username, slug = request.arg("username"), request.arg("eventSlug")
        if slug and not username:
            return _fail(400, "BAD_REQUEST", "eventSlug requires username")
        me = self._caller(request) or {}
        owners = {u["id"] for u in self.state["users"].values()
                  if u["username"] == username or (username is None and u["id"] == me.get("id"))}
        items = [et for et in self.state["event_types"].values()
                 if et["ownerId"] in owners and (slug is None or et["slug"] == slug)]
        return _ok([_event_type_json(request, self.state, et) for et in sorted(items, key=lambda e: e["id"])])

    def get_event_type(self, request: Request) -> Response:
        et = self._owned_event_type(request)
        if et is None:
            return _fail(404, "NOT_FOUND", f"Event type with id={request.params['eventTypeId']} not found")
        return _ok(_event_type_json(request, self.state, et))

    # -- private links
    def create_link(self, request: Request) -> Response:
        et = self._owned_event_type(request)
        if et is None:
            return _fail(404, "NOT_FOUND", f"Event type with id {request.params['eventTypeId']} not found")
        terms = _link_terms(request.json() or {}, self.world.now())
        if isinstance(terms, Response):
            return terms
        count, expires = terms
        link_id = _token("link", _next(self.state), 16)
        link = {"linkId": link_id, "eventTypeId": et["id"], "maxUsageCount": count, "usageCount": 0,
                "expiresAt": expires, "createdAt": self.world.now(),
                "createdBy": (self._caller(request) or {}).get("id"), "applicationId": None}
        self.state["links"][link_id] = link
        return _ok(_link_json(request, self.state, link, self.world.now()), 201)

    def list_links(self, request: Request) -> Response:
        et = self._owned_event_type(request)
        if et is None:
            return _fail(404, "NOT_FOUND", "Event type not found")
        return _ok([_link_json(request, self.state, link, self.world.now()) for link in self.state["links"].values()
                    if link["eventTypeId"] == et["id"]])

    def delete_link(self, request: Request) -> Response:
        link = self.state["links"].get(request.params["linkId"])
        if self._owned_event_type(request) is None:
            return _fail(404, "NOT_FOUND", f"Event type with id {request.params['eventTypeId']} not found")
        if link is None or str(link["eventTypeId"]) != request.params["eventTypeId"]:
            return _fail(404, "NOT_FOUND", "Private link not found")
        del self.state["links"][link["linkId"]]
        return _ok({"linkId": link["linkId"], "message": "Private link deleted"})

    # -- slots (public in Cal.com: no key needed, but the version is)
    def slots(self, request: Request) -> Response:
        if request.headers.get("cal-api-version") != V_SLOTS:
            return _fail(400, "BAD_REQUEST", f"cal-api-version header must be set to {V_SLOTS} for GET /v2/slots")
        with self.world.lock:
            et = self.state["event_types"].get(request.arg("eventTypeId") or "")
            if et is None:
                return _fail(404, "NOT_FOUND", "Event type not found")
            try:
                start = _parse_bound(request.arg("start") or "", end_of_day=False)
                end = _parse_bound(request.arg("end") or "", end_of_day=True)
                zone = ZoneInfo(request.arg("timeZone") or "UTC")
            except (ValueError, KeyError):
                return _fail(400, "BAD_REQUEST", "start and end must be ISO 8601 in UTC; timeZone an IANA zone")
            if end < start:
                return _fail(400, "BAD_REQUEST", "end must be after start")
            return _ok(_slots_by_day(_free_slots(self.state, et, start, end, self.world.now()), zone))

    # -- bookings
    def list_bookings(self, request: Request) -> Response:
        try:
            after_updated = parse_instant(request.arg("afterUpdatedAt")) if request.arg("afterUpdatedAt") else None
            take, skip = int(request.arg("take") or 100), int(request.arg("skip") or 0)
        except ValueError:
            return _fail(400, "BAD_REQUEST", "afterUpdatedAt must be ISO 8601; take and skip integers")
        if not 1 <= take <= MAX_TAKE or skip < 0:
            return _fail(400, "BAD_REQUEST", f"take must be between 1 and {MAX_TAKE}; skip >= 0")
        sort = request.arg("sortUpdatedAt")
        if sort not in (None, "asc", "desc"):
            return _fail(400, "BAD_REQUEST", "sortUpdatedAt must be asc or desc")
        state, me = self.state, self._caller(request) or {}
        items = [b for b in state["bookings"].values()
                 if (after_updated is None or b["updatedAt"] >= after_updated)
                 and (state["event_types"][str(b["eventTypeId"])]["ownerId"] == me.get("id")
                      or b["email"].casefold() == str(me.get("email", "")).casefold())]
        if sort:
            items.sort(key=lambda b: (b["updatedAt"], b["id"]), reverse=sort == "desc")
        else:
            items.sort(key=lambda b: b["id"])
        chunk = items[skip:skip + take]
        return _ok([_booking_json(state, b) for b in chunk], pagination=_pagination(len(items), skip, take, len(chunk)))

    def get_booking(self, request: Request) -> Response:
        booking = self.state["bookings"].get(request.params["uid"])
        if booking is None:
            return _fail(404, "NOT_FOUND", "Booking not found")
        return _ok(_booking_json(self.state, booking))

    def mark_absent(self, request: Request) -> Response:
        state = self.state
        booking = state["bookings"].get(request.params["uid"])
        if booking is None:
            return _fail(404, "NOT_FOUND", "Booking not found")
        if state["event_types"][str(booking["eventTypeId"])]["ownerId"] != (self._caller(request) or {}).get("id"):
            return _fail(403, "FORBIDDEN", f"User does not have access to booking with uid={booking['uid']}")
        body = request.json() or {}
        for attendee in body.get("attendees") or []:
            if str(attendee.get("email", "")).casefold() == booking["email"].casefold():
                booking["attendeeAbsent"] = bool(attendee.get("absent", True))
        if "host" in body:
            booking["absentHost"] = bool(body["host"])
        booking["updatedAt"] = self.world.now()
        return _ok(_booking_json(state, booking))

    # -- the booking page a private link opens
    def booking_page(self, request: Request) -> Response:
        state = self.state
        link = state["links"].get(request.params["linkId"])
        if link is None:
            return no_such_link()
        et = state["event_types"][str(link["eventTypeId"])]
        now = self.world.now()
        if link["expiresAt"] is not None and link["expiresAt"] <= now:
            body = "<p>This link has expired.</p>"
        elif _used_up(link):
            body = "<p>This link has already been used.</p>"
        else:
            starts = [_ts(s) for s in _free_slots(state, et, now, now + timedelta(days=14), now)[:12]]
            body = booking_form(request, link["linkId"], "metadata[ref]", "start", starts)
        return booking_page(et["title"], state["users"][str(et["ownerId"])]["name"], body)

    def book_page(self, request: Request) -> Response:
        fields = posted_fields(request, ("name", "email", "metadata[ref]"))
        with self.world.lock:
            try:
                at = parse_instant(fields["start"]) if fields.get("start") else None
                return _ok(_booked_json(self._book(request.params["linkId"], fields, at, None)), 201)
            except BookingRefused as exc:
                return _refused(exc)

    def _book(self, link_id: str, fields: dict[str, str], at: datetime | None, application_id: str | None, *,
              force: bool = False, status: str = "accepted") -> dict[str, Any]:
        """Book through a private link, as the candidate's click on it would."""
        state = self.state
        link = state["links"].get(link_id)
        if link is None:
            raise BookingRefused(404, "this private link does not exist or was revoked")
        if link["expiresAt"] is not None and link["expiresAt"] <= self.world.now():
            raise BookingRefused(410, "this private link has expired")
        if _used_up(link) and not force:
            raise BookingRefused(410, "this private link has already been used")
        if application_id is not None:
            link["applicationId"] = application_id
        et = state["event_types"][str(link["eventTypeId"])]
        metadata = {"ref": fields["metadata[ref]"]} if fields.get("metadata[ref]") else {}
        booking = self._create_booking(et, name=fields.get("name", ""), email=fields.get("email", ""), at=at,
                                       metadata=metadata, status=status, application_id=link["applicationId"])
        booking["linkId"] = link_id
        link["usageCount"] += 1
        return booking

    def _create_booking(self, et: dict[str, Any], *, name: str, email: str, at: datetime | None,
                        metadata: dict[str, str], status: str, application_id: str | None,
                        rescheduled_from: str | None = None) -> dict[str, Any]:
        state, now = self.state, self.world.now()
        if not name.strip() or "@" not in email:
            raise BookingRefused(400, "name and a valid email are required to book")
        if at is None:
            free = _free_slots(state, et, now, now + timedelta(days=60), now)
            if not free:
                raise BookingRefused(409, "no free time in the next 60 days")
            at = free[0]
        elif at not in _free_slots(state, et, at, at, now):
            raise BookingRefused(409, "that time is not available")
        number = _next(state)
        booking = {"id": 9000 + number, "uid": _token("booking", number, 22), "eventTypeId": et["id"],
                   "name": name.strip(), "email": email.strip(), "start": at,
                   "end": at + timedelta(minutes=et["lengthInMinutes"]), "status": status, "metadata": metadata,
                   "cancellationReason": None, "cancelledByEmail": None, "reschedulingReason": None,
                   "rescheduledByEmail": None, "rescheduledFromUid": rescheduled_from, "rescheduledToUid": None,
                   "absentHost": False, "attendeeAbsent": False, "createdAt": now, "updatedAt": now,
                   "applicationId": application_id, "linkId": None}
        state["bookings"][booking["uid"]] = booking
        if application_id is not None:
            state["app_bookings"][application_id] = booking["uid"]
        return booking

    # -- admin: act as a candidate or a hiring manager
    def _link_for(self, body: dict[str, Any]) -> tuple[str, dict[str, str]]:
        return link_in_body(self.world, self.state, body, noun="private link", shape="<base>/d/<linkId>...",
                            missing="body needs 'application_id'")

    def _latest(self, application_id: str) -> dict[str, Any] | None:
        """The application's latest booking, following reschedules forward."""
        uid = self.state["app_bookings"].get(application_id)
        booking = self.state["bookings"].get(uid) if uid else None
        while booking is not None and booking["rescheduledToUid"]:
            booking = self.state["bookings"][booking["rescheduledToUid"]]
        return booking

    def _current(self, application_id: str, statuses: tuple[str, ...] = ("accepted",)) -> dict[str, Any]:
        booking = self._latest(application_id)
        if booking is None or booking["status"] not in statuses:
            raise BookingRefused(404, f"application {application_id} has no {'/'.join(statuses)} booking")
        return booking

    def admin_book(self, request: Request, body: dict[str, Any]) -> Response:
        link_id, query = self._link_for(body)
        return _ok(_booked_json(self._book(link_id, query, _at_of(body), optional_application(body))), 201)

    def admin_book_twice(self, request: Request, body: dict[str, Any]) -> Response:
        """A second booking on an already-used single-use link (Cal.com race, or a stale page)."""
        link_id, query = self._link_for(body)
        booking = self._book(link_id, query, _at_of(body), optional_application(body), force=True)
        return _ok(_booked_json(booking), 201)

    def admin_pending(self, request: Request, body: dict[str, Any]) -> Response:
        """A booking on an event type that requires confirmation: ``pending`` until accepted."""
        link_id, query = self._link_for(body)
        booking = self._book(link_id, query, _at_of(body), optional_application(body), status="pending")
        return _ok(_booked_json(booking), 201)

    def admin_accept(self, request: Request, body: dict[str, Any]) -> Response:
        booking = self._current(application_of(body), ("pending",))
        booking.update(status="accepted", updatedAt=self.world.now())
        return _ok(_booked_json(booking))

    def admin_cancel(self, request: Request, body: dict[str, Any]) -> Response:
        booking = self._current(application_of(body), ("accepted", "pending"))
        by = body.get("by", "invitee")
        if by not in ("invitee", "host"):
            raise BookingRefused(400, "'by' must be invitee or host")
        host = self.state["users"][str(self.state["event_types"][str(booking["eventTypeId"])]["ownerId"])]
        booking.update(status="cancelled", cancellationReason=str(body.get("reason", "Schedule conflict")),
                       cancelledByEmail=booking["email"] if by == "invitee" else host["email"],
                       updatedAt=self.world.now())
        return _ok(_booked_json(booking))

    def admin_reschedule(self, request: Request, body: dict[str, Any]) -> Response:
        """Cal.com's reschedule: the old booking is cancelled and points at a new one."""
        application_id = application_of(body)
        at = _at_of(body)
        if at is None:
            raise BookingRefused(400, "body needs 'at' (ISO 8601 with offset)")
        old = self._current(application_id)
        et = self.state["event_types"][str(old["eventTypeId"])]
        old["status"] = "cancelled"  # free the old slot first, so moving within the hour is allowed
        try:
            new = self._create_booking(et, name=old["name"], email=old["email"], at=at, metadata=dict(old["metadata"]),
                                       status="accepted", application_id=application_id, rescheduled_from=old["uid"])
        except BookingRefused:
            old["status"] = "accepted"
            raise
        new.update(reschedulingReason=str(body.get("reason", "Rescheduled")), rescheduledByEmail=old["email"],
                   linkId=old["linkId"])
        old.update(rescheduledToUid=new["uid"], cancellationReason="Rescheduled", cancelledByEmail=old["email"],
                   updatedAt=self.world.now())
        return _ok(_booked_json(new), 201)

    def admin_block(self, request: Request, body: dict[str, Any]) -> Response:
        user = host_by_email(self.state["users"].values(), body)
        now, until = block_span(self.world, body)
        self.state["blocks"].setdefault(str(user["id"]), []).append((now, until))
        return _ok({"host": user["id"], "blocked_until": _ts(until)})

    def admin_no_show(self, request: Request, body: dict[str, Any]) -> Response:
        application_id = application_of(body)
        booking = self._latest(application_id)
        if booking is None:
            raise BookingRefused(404, f"application {application_id} has no booking")
        if booking["attendeeAbsent"]:
            raise BookingRefused(409, "already marked as a no-show")
        booking.update(attendeeAbsent=True, updatedAt=self.world.now())
        return _ok(_booking_json(self.state, booking), 201)


def config_section(url: str) -> dict[str, Any]:
    """The ``[scheduler]`` section that points the real Cal.com adapter at this flavour served at
    ``url``: the flavour knows its own paths and sandbox credentials, so a new vendor's sandbox
    is one module."""
    return {"provider": "calcom", "base_url": f"{url}/v2", "api_token": SANDBOX_CALCOM_KEY,
            "host_keys": dict(SANDBOX_CALCOM_HOST_KEYS)}


def mount(app: SandboxApp) -> None:
    """Seed the Cal.com world and register its API, booking page and admin routes."""
    with app.world.lock:
        app.world.data.setdefault("calcom", _seed(app.world.now()))
    cal = Calcom(app.world)
    api, page = cal.api, locked(app.world, cal.booking_page)
    admin = partial(admin_route, app.world, refused=_refused)
    mount_routes(app, [
        ("GET", "/v2/me", api(None, cal.me)),
        ("GET", "/v2/organizations/{orgId}/users", api(None, cal.org_users)),
        ("GET", "/v2/event-types", api(V_EVENT_TYPES, cal.list_event_types)),
        ("GET", "/v2/event-types/{eventTypeId}", api(V_EVENT_TYPES, cal.get_event_type)),
        ("POST", "/v2/event-types/{eventTypeId}/private-links", api(V_PRIVATE_LINKS, cal.create_link)),
        ("GET", "/v2/event-types/{eventTypeId}/private-links", api(V_PRIVATE_LINKS, cal.list_links)),
        ("DELETE", "/v2/event-types/{eventTypeId}/private-links/{linkId}", api(V_PRIVATE_LINKS, cal.delete_link)),
        ("GET", "/v2/slots", cal.slots),
        ("GET", "/v2/bookings", api(V_BOOKINGS, cal.list_bookings)),
        ("GET", "/v2/bookings/{uid}", api(V_BOOKINGS, cal.get_booking)),
        ("POST", "/v2/bookings/{uid}/mark-absent", api(V_BOOKINGS, cal.mark_absent)),
        ("GET", "/d/{linkId}", page),
        ("GET", "/d/{linkId}/{slug}", page),
        ("POST", "/d/{linkId}/book", cal.book_page),
        ("POST", "/_admin/book", admin(cal.admin_book)),
        ("POST", "/_admin/calcom/book-twice", admin(cal.admin_book_twice)),
        ("POST", "/_admin/calcom/pending", admin(cal.admin_pending)),
        ("POST", "/_admin/calcom/accept", admin(cal.admin_accept)),
        ("POST", "/_admin/cancel", admin(cal.admin_cancel)),
        ("POST", "/_admin/reschedule", admin(cal.admin_reschedule)),
        ("POST", "/_admin/block", admin(cal.admin_block)),
        ("POST", "/_admin/no-show", admin(cal.admin_no_show)),
    ])
