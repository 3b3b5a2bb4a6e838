"""A Calendly API v2-compatible scheduler for the sandbox.

It speaks the wire format the real adapter reads (``resource`` / ``collection``
+ ``pagination`` envelopes, absolute URIs, ``...Z`` timestamps with
microseconds), so the adapter is exercised end to end on loopback. State
lives in ``world.data["calendly"]`` and holds ids only; URIs are rendered on
the request's base URL, so the same world answers on any port.

Beside the API it serves the booking page a single-use link points at
(``/d/{token}``) and admin routes that act the way a candidate or a hiring
manager would (book, cancel, reschedule, block a calendar, mark a no-show).
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from functools import partial
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from ..clock import parse_instant
from . import seed
from .booking import (BookingRefused, admin_route, application_of, block_span, booking_form, booking_page,
                      host_by_email, link_in_body, no_such_link, optional_application, posted_fields,
                      workday_slots)
from .common import VendorRoutes, decode_token, encode_token, guarded, locked, mount_routes
from .links import URL_RE, link_from_url
from .client import SANDBOX_CALENDLY_TOKEN
from .server import Request, Response, SandboxApp, World, error

API_TOKEN = "sandbox-calendly-token"
MAX_AVAILABILITY_WINDOW = timedelta(days=7)  # Calendly's historic limit; today's docs allow 31
MAX_PAGE_SIZE = 100
_NS = uuid.UUID("6f1c2a52-3f0e-4c59-9d1a-2b7e0c4a8d11")

# How each seeded event type is held: a phone screen the candidate dials in to,
# a first interview on site, a leadership interview over video.
_LOCATIONS: dict[str, dict[str, Any]] = {
    "phone-screen-30": {"type": "inbound_call"},
    "first-interview-45": {"type": "physical",
                           "location": "Mercy Valley Health, 2100 Capitol Ave, Human Resources, Suite 200, Sacramento"},
    "leadership-video-60": {"type": "zoom"},
}


# --- rendering -------------------------------------------------------------

def _ts(value: datetime) -> str:
    """Calendly writes UTC with microseconds: 2026-11-24T17:00:00.000000Z."""
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _uri(request: Request, kind: str, ident: str) -> str:
    return f"{request.base_url}/{kind}/{ident}"


def _last_segment(uri: str) -> str:
    return uri.rstrip("/").rsplit("/", 1)[-1]


def _unauthorized(request: Request) -> Response | None:
    """The 401 for a request without the sandbox's token, None for one with it."""
    if _authorized(request):
        return None
    return Response(401, {"title": "Unauthenticated", "message": "The access token is invalid"})


def _invalid(parameter: str, message: str) -> Response:
    return Response(400, {"title": "Invalid Argument", "message": "The supplied parameters are invalid.",
                          "details": [{"parameter": parameter, "message": message}]})


def _not_found(what: str) -> Response:
    return Response(404, {"title": "Resource Not Found", "message": f"The {what} you requested does not exist."})


def _authorized(request: Request) -> bool:
    return request.headers.get("authorization", "") == f"Bearer {API_TOKEN}"


# --- seed ------------------------------------------------------------------

def _seed(now: datetime) -> dict[str, Any]:
    org_id = str(uuid.uuid5(_NS, "org"))
    users: dict[str, dict[str, Any]] = {}
    event_types: dict[str, dict[str, Any]] = {}
    hosts = [u for u in seed.USERS if u.get("host")]
    for index, person in enumerate(hosts):
        user_id = str(uuid.uuid5(_NS, f"user:{person['email']}"))
        slug = person["email"].split("@", 1)[0].replace(".", "-")
        users[user_id] = {
            "id": user_id, "name": f"{person['first_name']} {person['last_name']}",
            "email": person["email"], "slug": slug, "timezone": seed.HOST_TIMEZONE,
            "role": "owner" if index == 0 else "user",
            "phone": f"+1 916 555 02{index + 1:02d}", "created_at": now, "updated_at": now,
        }
        for et_slug, et_name, minutes in seed.EVENT_TYPES:
            et_id = str(uuid.uuid5(_NS, f"event_type:{user_id}:{et_slug}"))
            event_types[et_id] = {"id": et_id, "user": user_id, "slug": et_slug, "name": et_name,
                                  "duration": minutes, "active": True, "created_at": now, "updated_at": now}
    owner = next(iter(users))
    return {"org": {"id": org_id, "name": seed.ORG_NAME, "created_at": now}, "users": users,
            "event_types": event_types, "links": {}, "events": {}, "invitees": {}, "no_shows": {},
            "blocks": {}, "app_bookings": {}, "token_owner": owner, "counter": 0}


def _new_id(state: dict[str, Any], kind: str) -> str:
    """Deterministic ids, so a replayed demo produces the same URIs."""
    state["counter"] += 1
    return str(uuid.uuid5(_NS, f"{kind}:{state['counter']}"))


# --- resources -------------------------------------------------------------

def _user_json(request: Request, state: dict[str, Any], user: dict[str, Any]) -> dict[str, Any]:
    return {
        "uri": _uri(request, "users", user["id"]), "name": user["name"], "slug": user["slug"],
        "email": user["email"], "scheduling_url": f"{request.base_url}/{user['slug']}",
        "timezone": user["timezone"], "avatar_url": None, "locale": "en",
        "created_at": _ts(user["created_at"]), "updated_at": _ts(user["updated_at"]),
        "current_organization": _uri(request, "organizations", state["org"]["id"]),
        "resource_type": "User",
    }


def _membership_json(request: Request, state: dict[str, Any], user: dict[str, Any]) -> dict[str, Any]:
    return {
        "uri": _uri(request, "organization_memberships", str(uuid.uuid5(_NS, f"membership:{user['id']}"))),
        "role": user["role"], "user": _user_json(request, state, user),
        "organization": _uri(request, "organizations", state["org"]["id"]),
        "created_at": _ts(user["created_at"]), "updated_at": _ts(user["updated_at"]),
    }


def _event_type_json(request: Request, state: dict[str, Any], et: dict[str, Any]) -> dict[str, Any]:
    user = state["users"][et["user"]]
    return {
        "uri": _uri(request, "event_types", et["id"]), "name": et["name"], "active": et["active"],
        "slug": et["slug"], "scheduling_url": f"{request.base_url}/{user['slug']}/{et['slug']}",
        "duration": et["duration"], "kind": "solo", "pooling_type": None, "type": "StandardEventType",
        "color": "#0069ff", "secret": False, "internal_note": None, "description_plain": None,
        "profile": {"type": "User", "name": user["name"], "owner": _uri(request, "users", user["id"])},
        "created_at": _ts(et["created_at"]), "updated_at": _ts(et["updated_at"]),
    }


def _location_json(state: dict[str, Any], event: dict[str, Any]) -> dict[str, Any]:
    et = state["event_types"][event["event_type"]]
    location = dict(_LOCATIONS.get(et["slug"], {"type": "custom", "location": "To be confirmed"}))
    if location["type"] == "inbound_call":
        location["location"] = state["users"][event["user"]]["phone"]
    if location["type"] == "zoom":
        location.update({"status": "pushed",
                         "join_url": f"https://video.{seed.ORG_DOMAIN}/j/{event['id'][:8]}", "data": {}})
    return location


def _cancellation_json(cancel: dict[str, Any] | None) -> dict[str, Any] | None:
    if cancel is None:
        return None
    return {"canceled_by": cancel["canceled_by"], "reason": cancel["reason"],
            "canceler_type": cancel["canceler_type"], "created_at": _ts(cancel["created_at"])}


def _event_json(request: Request, state: dict[str, Any], event: dict[str, Any]) -> dict[str, Any]:
    user = state["users"][event["user"]]
    invitees = [i for i in state["invitees"].values() if i["event"] == event["id"]]
    active = sum(1 for i in invitees if i["status"] == "active")
    return {
        "uri": _uri(request, "scheduled_events", event["id"]), "name": event["name"],
        "status": event["status"], "start_time": _ts(event["start"]), "end_time": _ts(event["end"]),
        "event_type": _uri(request, "event_types", event["event_type"]),
        "location": _location_json(state, event),
        "invitees_counter": {"total": len(invitees), "active": active, "limit": 1},
        "created_at": _ts(event["created_at"]), "updated_at": _ts(event["updated_at"]),
        "event_memberships": [{"user": _uri(request, "users", user["id"]), "user_email": user["email"],
                               "user_name": user["name"]}],
        "event_guests": [], "meeting_notes_plain": None, "meeting_notes_html": None,
        "cancellation": _cancellation_json(event.get("cancellation")),
    }


def _invitee_uri(request: Request, state: dict[str, Any], invitee_id: str | None) -> str | None:
    if invitee_id is None:
        return None
    invitee = state["invitees"][invitee_id]
    return f"{request.base_url}/scheduled_events/{invitee['event']}/invitees/{invitee_id}"


def _invitee_json(request: Request, state: dict[str, Any], invitee: dict[str, Any]) -> dict[str, Any]:
    no_show = invitee.get("no_show")
    return {
        "uri": _invitee_uri(request, state, invitee["id"]), "email": invitee["email"],
        "name": invitee["name"], "first_name": None, "last_name": None, "status": invitee["status"],
        "timezone": invitee.get("timezone"), "event": _uri(request, "scheduled_events", invitee["event"]),
        "created_at": _ts(invitee["created_at"]), "updated_at": _ts(invitee["updated_at"]),
        "tracking": {"utm_campaign": None, "utm_source": None, "utm_medium": None,
                     "utm_content": invitee.get("utm_content"), "utm_term": None, "salesforce_uuid": None},
        "text_reminder_number": invitee.get("text_reminder_number"), "rescheduled": invitee["rescheduled"],
        "old_invitee": _invitee_uri(request, state, invitee.get("old_invitee")),
        "new_invitee": _invitee_uri(request, state, invitee.get("new_invitee")),
        "cancel_url": f"{request.base_url}/cancellations/{invitee['id']}",
        "reschedule_url": f"{request.base_url}/reschedulings/{invitee['id']}",
        "routing_form_submission": None, "payment": None,
        "questions_and_answers": invitee.get("questions_and_answers") or [],
        "cancellation": _cancellation_json(invitee.get("cancellation")),
        "no_show": None if no_show is None else {
            "uri": _uri(request, "invitee_no_shows", no_show["id"]), "created_at": _ts(no_show["created_at"])},
        "reconfirmation": None, "scheduling_method": None, "invitee_scheduled_by": None,
    }


# --- paging ----------------------------------------------------------------

def _page(request: Request, items: list[Any]) -> tuple[list[Any], dict[str, Any]] | Response:
    """Slice ``items`` by ``count``/``page_token`` and build Calendly's pagination object."""
    try:
        count = int(request.arg("count") or 20)
    except ValueError:
        return _invalid("count", "must be an integer")
    if not 1 <= count <= MAX_PAGE_SIZE:
        return _invalid("count", f"must be between 1 and {MAX_PAGE_SIZE}")
    token = request.arg("page_token")
    offset = 0
    if token:
        try:
            offset = int(decode_token(token)["o"])
        except (ValueError, KeyError, TypeError):
            return _invalid("page_token", "is not a valid page token")
    chunk = items[offset:offset + count]
    next_token = next_url = prev_token = prev_url = None
    if offset + count < len(items):
        next_token, next_url = _page_link(request, offset + count)
    if offset > 0:
        prev_token, prev_url = _page_link(request, max(0, offset - count))
    return chunk, {"count": len(chunk), "next_page": next_url, "previous_page": prev_url,
                   "next_page_token": next_token, "previous_page_token": prev_token}


def _page_link(request: Request, offset: int) -> tuple[str, str]:
    """(page token, URL of that page): the request's own query with the token swapped in."""
    page_token = encode_token({"o": offset}, compact=False, padded=True)
    query = [(k, v) for k, values in request.query.items() if k != "page_token" for v in values]
    query.append(("page_token", page_token))
    return page_token, f"{request.base_url}{request.path}?{urlencode(query)}"


def _collection(request: Request, items: list[Any]) -> Response:
    paged = _page(request, items)
    if isinstance(paged, Response):
        return paged
    chunk, pagination = paged
    return Response(200, {"collection": chunk, "pagination": pagination})


# --- availability ----------------------------------------------------------

def _busy(state: dict[str, Any], user_id: str) -> list[tuple[datetime, datetime]]:
    ranges = [(e["start"], e["end"]) for e in state["events"].values()
              if e["user"] == user_id and e["status"] == "active"]
    ranges.extend(state["blocks"].get(user_id, []))
    return ranges


def _free_slots(state: dict[str, Any], et: dict[str, Any], start: datetime, end: datetime,
                now: datetime) -> list[datetime]:
    """Start times in [start, end) on the host's workday grid, free and not in the past."""
    user = state["users"][et["user"]]
    return workday_slots(ZoneInfo(user["timezone"]), timedelta(minutes=et["duration"]), _busy(state, user["id"]),
                         start, end, now, include_end=False)


def _first_free(state: dict[str, Any], et: dict[str, Any], now: datetime, days: int = 60) -> datetime | None:
    slots = _free_slots(state, et, now, now + timedelta(days=days), now)
    return slots[0] if slots else None


# --- booking ---------------------------------------------------------------

def _book(world: World, state: dict[str, Any], et: dict[str, Any], *, name: str, email: str,
          utm_content: str | None, at: datetime | None, link_token: str | None,
          application_id: str | None, old_invitee: str | None = None) -> dict[str, Any]:
    """Create an event and its invitee; the caller holds the world lock."""
    now = world.now()
    if not name.strip() or "@" not in email:
        raise BookingRefused(400, "name and a valid email are required to book")
    if at is None:
        at = _first_free(state, et, now)
        if at is None:
            raise BookingRefused(409, "no free time in the next 60 days")
    elif at not in _free_slots(state, et, at, at + timedelta(seconds=1), now):
        raise BookingRefused(409, "that time is not available")
    event_id = _new_id(state, "event")
    invitee_id = _new_id(state, "invitee")
    state["events"][event_id] = {
        "id": event_id, "name": et["name"], "status": "active", "start": at,
        "end": at + timedelta(minutes=et["duration"]), "event_type": et["id"], "user": et["user"],
        "created_at": now, "updated_at": now, "cancellation": None,
    }
    state["invitees"][invitee_id] = {
        "id": invitee_id, "event": event_id, "name": name.strip(), "email": email.strip(),
        "status": "active", "timezone": "America/Los_Angeles", "utm_content": utm_content or None,
        "rescheduled": False, "old_invitee": old_invitee, "new_invitee": None, "created_at": now,
        "updated_at": now, "cancellation": None, "no_show": None, "link": link_token,
        "application_id": application_id,
    }
    if application_id is not None:
        state["app_bookings"][application_id] = invitee_id
    return state["invitees"][invitee_id]


def _cancel(world: World, state: dict[str, Any], invitee: dict[str, Any], *, by: str, reason: str,
            rescheduled_to: str | None = None) -> None:
    now = world.now()
    event = state["events"][invitee["event"]]
    canceler = invitee["name"] if by == "invitee" else state["users"][event["user"]]["name"]
    cancellation = {"canceled_by": canceler, "reason": reason, "canceler_type": by, "created_at": now}
    invitee.update(status="canceled", cancellation=cancellation, updated_at=now)
    if rescheduled_to is not None:
        invitee.update(rescheduled=True, new_invitee=rescheduled_to)
    if not any(i["status"] == "active" for i in state["invitees"].values() if i["event"] == event["id"]):
        event.update(status="canceled", cancellation=cancellation, updated_at=now)


def _current_invitee(world: World, state: dict[str, Any], application_id: str) -> dict[str, Any] | None:
    """The application's active invitee, following reschedules forward; falls
    back to links named in the application's notes."""
    invitee_id = state["app_bookings"].get(application_id)
    if invitee_id is None:
        notes = world.data.get("notes", {}).get(application_id, [])
        tokens = {found[0] for text in notes for url in URL_RE.findall(str(text))
                  if (found := link_from_url(state, url))}
        candidates = [i for i in state["invitees"].values() if i["link"] in tokens]
        if not candidates:
            return None
        invitee_id = max(candidates, key=lambda i: i["created_at"])["id"]
    invitee = state["invitees"][invitee_id]
    while invitee.get("new_invitee"):
        invitee = state["invitees"][invitee["new_invitee"]]
    return invitee if invitee["status"] == "active" else None


def _refused(exc: BookingRefused) -> Response:
    return error(exc.status, str(exc))


# --- routes ----------------------------------------------------------------

class Calendly(VendorRoutes):
    """Calendly's routes over ``world.data["calendly"]``: one method per route.

    :func:`mount` wraps API methods in the token check and the world lock,
    admin methods in the lock with refusals answered as errors.
    """

    key = "calendly"

    def _user_by_uri(self, uri: str | None) -> dict[str, Any] | None:
        return self.state["users"].get(_last_segment(uri)) if uri else None

    def _out_of_scope(self, org: str | None, user_uri: str | None, parameter: str) -> Response | None:
        """The refusal when a listing names neither an organization nor a user, or another organization."""
        if not org and not user_uri:
            other = "user" if parameter == "organization" else "organization"
            return _invalid(parameter, f"{parameter} or {other} is required")
        if org and _last_segment(org) != self.state["org"]["id"]:
            return Response(403, {"title": "Permission Denied", "message": "You do not have permission"})
        return None

    # -- users & organization
    def users_me(self, request: Request) -> Response:
        state = self.state
        return Response(200, {"resource": _user_json(request, state, state["users"][state["token_owner"]])})

    def get_user(self, request: Request) -> Response:
        user = self.state["users"].get(request.params["uuid"])
        return Response(200, {"resource": _user_json(request, self.state, user)}) if user else _not_found("user")

    def memberships(self, request: Request) -> Response:
        user_uri = request.arg("user")
        refused = self._out_of_scope(request.arg("organization"), user_uri, "organization")
        if refused is not None:
            return refused
        email = (request.arg("email") or "").strip().casefold()
        users = [u for u in self.state["users"].values()
                 if (not email or u["email"].casefold() == email)
                 and (not user_uri or u["id"] == _last_segment(user_uri))]
        return _collection(request, [_membership_json(request, self.state, u) for u in users])

    # -- event types
    def event_types(self, request: Request) -> Response:
        user_uri = request.arg("user")
        refused = self._out_of_scope(request.arg("organization"), user_uri, "user")
        if refused is not None:
            return refused
        active = request.arg("active")
        items = [et for et in self.state["event_types"].values()
                 if (not user_uri or et["user"] == _last_segment(user_uri))
                 and (active is None or str(et["active"]).lower() == active.lower())]
        items.sort(key=lambda et: et["name"])
        return _collection(request, [_event_type_json(request, self.state, et) for et in items])

    def get_event_type(self, request: Request) -> Response:
        et = self.state["event_types"].get(request.params["uuid"])
        if et is None:
            return _not_found("event type")
        return Response(200, {"resource": _event_type_json(request, self.state, et)})

    def available_times(self, request: Request) -> Response:
        state = self.state
        et = state["event_types"].get(_last_segment(request.arg("event_type") or ""))
        if et is None:
            return _invalid("event_type", "must be the URI of an existing event type")
        try:
            start = parse_instant(request.arg("start_time") or "")
            end = parse_instant(request.arg("end_time") or "")
        except ValueError:
            return _invalid("start_time", "start_time and end_time must be ISO 8601 with an offset")
        now = self.world.now()
        if start < now:
            return _invalid("start_time", "must be in the future")
        if end <= start:
            return _invalid("end_time", "must be after start_time")
        if end - start > MAX_AVAILABILITY_WINDOW:
            return _invalid("end_time", "date range can be no greater than 1 week (7 days)")
        user = state["users"][et["user"]]
        scheduling = f"{request.base_url}/{user['slug']}/{et['slug']}"
        collection = [{"status": "available", "invitees_remaining": 1, "start_time": _ts(s),
                       "scheduling_url": f"{scheduling}/{_ts(s)}"}
                      for s in _free_slots(state, et, start, end, now)]
        return Response(200, {"collection": collection})

    # -- single-use links and the booking page
    def create_link(self, request: Request) -> Response:
        body = request.json()
        if body.get("max_event_count") != 1:
            return _invalid("max_event_count", "must be 1")
        if body.get("owner_type") != "EventType":
            return _invalid("owner_type", "must be EventType")
        et = self.state["event_types"].get(_last_segment(str(body.get("owner") or "")))
        if et is None:
            return _invalid("owner", "must be the URI of an existing event type")
        link_id = _new_id(self.state, "link")
        token = f"{link_id[:6]}-{link_id[9:13]}"
        self.state["links"][token] = {"token": token, "event_type": et["id"], "max_event_count": 1, "used": 0,
                                      "application_id": None, "created_at": self.world.now()}
        return Response(201, {"resource": {"booking_url": f"{request.base_url}/d/{token}",
                                           "owner": _uri(request, "event_types", et["id"]),
                                           "owner_type": "EventType"}})

    def booking_page(self, request: Request) -> Response:
        state, token = self.state, request.params["token"]
        link = state["links"].get(token)
        if link is None:
            return no_such_link()
        et = state["event_types"][link["event_type"]]
        now = self.world.now()
        if link["used"] >= link["max_event_count"]:
            body = "<p>This link has already been used.</p>"
        else:
            starts = [_ts(s) for s in _free_slots(state, et, now, now + timedelta(days=14), now)[:12]]
            body = booking_form(request, token, "utm_content", "start_time", starts)
        return booking_page(et["name"], state["users"][et["user"]]["name"], body)

    def book_page(self, request: Request) -> Response:
        fields = posted_fields(request, ("name", "email", "utm_content"))
        with self.world.lock:
            try:
                at = parse_instant(fields["start_time"]) if fields.get("start_time") else None
                invitee = self._book_via_link(request.params["token"], fields, at, None)
            except BookingRefused as exc:
                return _refused(exc)
            return Response(201, self._booked_json(request, invitee))

    def _book_via_link(self, token: str, fields: dict[str, str], at: datetime | None,
                       application_id: str | None) -> dict[str, Any]:
        state = self.state
        link = state["links"].get(token)
        if link is None:
            raise BookingRefused(404, "this booking link does not exist")
        if link["used"] >= link["max_event_count"]:
            raise BookingRefused(410, "this single-use link has already been used")
        if application_id is not None:
            link["application_id"] = application_id
        et = state["event_types"][link["event_type"]]
        invitee = _book(self.world, state, et, name=fields.get("name", ""), email=fields.get("email", ""),
                        utm_content=fields.get("utm_content"), at=at, link_token=token,
                        application_id=link["application_id"])
        link["used"] += 1
        return invitee

    def _booked_json(self, request: Request, invitee: dict[str, Any]) -> dict[str, Any]:
        event = self.state["events"][invitee["event"]]
        return {"event": _uri(request, "scheduled_events", event["id"]),
                "invitee": _invitee_uri(request, self.state, invitee["id"]), "start_time": _ts(event["start"]),
                "end_time": _ts(event["end"])}

    # -- scheduled events and invitees
    def scheduled_events(self, request: Request) -> Response:
        user_uri = request.arg("user")
        refused = self._out_of_scope(request.arg("organization"), user_uri, "organization")
        if refused is not None:
            return refused
        try:
            min_start = parse_instant(request.arg("min_start_time")) if request.arg("min_start_time") else None
            max_start = parse_instant(request.arg("max_start_time")) if request.arg("max_start_time") else None
        except ValueError:
            return _invalid("min_start_time", "must be ISO 8601 with an offset")
        status = request.arg("status")
        if status not in (None, "active", "canceled"):
            return _invalid("status", "must be active or canceled")
        sort = request.arg("sort") or "start_time:asc"
        if sort not in ("start_time:asc", "start_time:desc"):
            return _invalid("sort", "supported fields are: start_time")
        invitee_email = (request.arg("invitee_email") or "").casefold()
        user = self._user_by_uri(user_uri)
        invitees = self.state["invitees"].values()
        events = [e for e in self.state["events"].values()
                  if (not user_uri or (user and e["user"] == user["id"]))
                  and (status is None or e["status"] == status)
                  and (min_start is None or e["start"] >= min_start)
                  and (max_start is None or e["start"] < max_start)
                  and (not invitee_email or any(i["email"].casefold() == invitee_email
                                                for i in invitees if i["event"] == e["id"]))]
        events.sort(key=lambda e: (e["start"], e["created_at"], e["id"]), reverse=sort.endswith("desc"))
        return _collection(request, [_event_json(request, self.state, e) for e in events])

    def get_event(self, request: Request) -> Response:
        event = self.state["events"].get(request.params["uuid"])
        return Response(200, {"resource": _event_json(request, self.state, event)}) if event else _not_found("event")

    def event_invitees(self, request: Request) -> Response:
        if request.params["uuid"] not in self.state["events"]:
            return _not_found("event")
        status = request.arg("status")
        items = [i for i in self.state["invitees"].values() if i["event"] == request.params["uuid"]
                 and (status is None or i["status"] == status)]
        items.sort(key=lambda i: (i["created_at"], i["id"]), reverse=request.arg("sort") == "created_at:desc")
        return _collection(request, [_invitee_json(request, self.state, i) for i in items])

    def get_invitee(self, request: Request) -> Response:
        invitee = self.state["invitees"].get(request.params["invitee"])
        if invitee is None or invitee["event"] != request.params["uuid"]:
            return _not_found("invitee")
        return Response(200, {"resource": _invitee_json(request, self.state, invitee)})

    def create_no_show(self, request: Request) -> Response:
        invitee = self.state["invitees"].get(_last_segment(str(request.json().get("invitee") or "")))
        if invitee is None:
            return _invalid("invitee", "must be the URI of an existing invitee")
        if invitee["no_show"] is not None:
            return _invalid("invitee", "is already marked as a no show")
        return Response(201, {"resource": self._mark_no_show(request, invitee)})

    def _mark_no_show(self, request: Request, invitee: dict[str, Any]) -> dict[str, Any]:
        state, now = self.state, self.world.now()
        no_show = {"id": _new_id(state, "no_show"), "invitee": invitee["id"], "created_at": now}
        state["no_shows"][no_show["id"]] = no_show
        invitee.update(no_show=no_show, updated_at=now)
        # Assumption: the sandbox bumps the event too, so a polling reader sees the change.
        state["events"][invitee["event"]]["updated_at"] = now
        return {"uri": _uri(request, "invitee_no_shows", no_show["id"]),
                "invitee": _invitee_uri(request, state, invitee["id"]), "created_at": _ts(now)}

    # -- admin: act as a candidate or a hiring manager
    def _active_invitee(self, application_id: str) -> dict[str, Any]:
        invitee = _current_invitee(self.world, self.state, application_id)
        if invitee is None:
            raise BookingRefused(404, f"application {application_id} has no active booking")
        return invitee

    def admin_book(self, request: Request, body: dict[str, Any]) -> Response:
        token, query = link_in_body(self.world, self.state, body, noun="booking link",
                                    shape="<base>/d/<token>?...", missing="body needs 'application_id' or 'url'")
        at = parse_instant(body["at"]) if body.get("at") else None
        invitee = self._book_via_link(token, query, at, optional_application(body))
        return Response(201, self._booked_json(request, invitee))

    def admin_cancel(self, request: Request, body: dict[str, Any]) -> Response:
        invitee = self._active_invitee(application_of(body))
        by = body.get("by", "invitee")
        if by not in ("invitee", "host"):
            raise BookingRefused(400, "'by' must be invitee or host")
        _cancel(self.world, self.state, invitee, by=by, reason=str(body.get("reason", "Schedule conflict")))
        return Response(200, {"canceled": _invitee_uri(request, self.state, invitee["id"])})

    def admin_reschedule(self, request: Request, body: dict[str, Any]) -> Response:
        state, application_id = self.state, application_of(body)
        if not body.get("at"):
            raise BookingRefused(400, "body needs 'at' (ISO 8601 with offset)")
        old = self._active_invitee(application_id)
        event = state["events"][old["event"]]
        et = state["event_types"][event["event_type"]]
        at = parse_instant(body["at"])
        # Free the old slot first, so moving within the same hour is allowed.
        event["status"] = "canceled"
        try:
            new = _book(self.world, state, et, name=old["name"], email=old["email"], utm_content=old["utm_content"],
                        at=at, link_token=old["link"], application_id=application_id, old_invitee=old["id"])
        finally:
            event["status"] = "active"
        _cancel(self.world, state, old, by="invitee", reason="Rescheduled", rescheduled_to=new["id"])
        return Response(201, self._booked_json(request, new))

    def admin_block(self, request: Request, body: dict[str, Any]) -> Response:
        user = host_by_email(self.state["users"].values(), body)
        now, until = block_span(self.world, body)
        self.state["blocks"].setdefault(user["id"], []).append((now, until))
        return Response(200, {"host": _uri(request, "users", user["id"]), "blocked_until": _ts(until)})

    def admin_no_show(self, request: Request, body: dict[str, Any]) -> Response:
        state, application_id = self.state, application_of(body)
        invitee_id = state["app_bookings"].get(application_id)
        invitee = _current_invitee(self.world, state, application_id) or (
            state["invitees"].get(invitee_id) if invitee_id else None)
        if invitee is None:
            raise BookingRefused(404, f"application {application_id} has no booking")
        if invitee["no_show"] is not None:
            raise BookingRefused(409, "already marked as a no-show")
        return Response(201, {"resource": self._mark_no_show(request, invitee)})


def config_section(url: str) -> dict[str, Any]:
    """The ``[scheduler]`` section that points the real Calendly adapter at this flavour served at
    ``url``: the flavour knows its own paths and sandbox credentials, so a new vendor's sandbox
    is one module."""
    return {"provider": "sandbox", "base_url": url, "api_token": SANDBOX_CALENDLY_TOKEN}


def mount(app: SandboxApp) -> None:
    """Seed the Calendly world and register its API, booking page and admin routes."""
    with app.world.lock:
        app.world.data.setdefault("calendly", _seed(app.world.now()))
    cal = Calendly(app.world)
    api = partial(guarded, app.world, _unauthorized)
    admin = partial(admin_route, app.world, refused=_refused)
    mount_routes(app, [
        ("GET", "/users/me", api(cal.users_me)),
        ("GET", "/users/{uuid}", api(cal.get_user)),
        ("GET", "/organization_memberships", api(cal.memberships)),
        ("GET", "/event_types", api(cal.event_types)),
        ("GET", "/event_types/{uuid}", api(cal.get_event_type)),
        ("GET", "/event_type_available_times", api(cal.available_times)),
        ("POST", "/scheduling_links", api(cal.create_link)),
        ("GET", "/d/{token}", locked(app.world, cal.booking_page)),
        ("POST", "/d/{token}/book", cal.book_page),
        ("GET", "/scheduled_events", api(cal.scheduled_events)),
        ("GET", "/scheduled_events/{uuid}", api(cal.get_event)),
        ("GET", "/scheduled_events/{uuid}/invitees", api(cal.event_invitees)),
        ("GET", "/scheduled_events/{uuid}/invitees/{invitee}", api(cal.get_invitee)),
        ("POST", "/invitee_no_shows", api(cal.create_no_show)),
        ("POST", "/_admin/book", admin(cal.admin_book)),
        ("POST", "/_admin/cancel", admin(cal.admin_cancel)),
        ("POST", "/_admin/reschedule", admin(cal.admin_reschedule)),
        ("POST", "/_admin/block", admin(cal.admin_block)),
        ("POST", "/_admin/no-show", admin(cal.admin_no_show)),
    ])
