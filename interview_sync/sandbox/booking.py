"""What the scheduler flavours (Calendly, Cal.com) share: free time, the booking page, admin bodies.

Both sandboxes book on the same grid (weekday working hours in the host's
zone, in steps of the event's length), serve the same small HTML page at
``/d/<link>``, and take the same admin bodies when a test acts as a candidate
or a hiring manager. Their wire shapes differ and stay in their modules.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterable
from datetime import datetime, time, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from . import seed
from .links import latest_link_for, link_from_url
from .server import Handler, Request, Response, World

Busy = Iterable[tuple[datetime, datetime]]


class BookingRefused(Exception):
    """A booking or admin action the scheduler would refuse; ``status`` is the HTTP answer."""

    def __init__(self, status: int, message: str) -> None:
        self.status = status
        super().__init__(message)


def workday_slots(zone: ZoneInfo, length: timedelta, busy: Busy, start: datetime, end: datetime,
                  now: datetime, *, include_end: bool) -> list[datetime]:
    """Free start times from ``start`` to ``end``: weekday working hours in ``zone``, in steps of
    ``length``, not in the past, not overlapping ``busy``. ``include_end`` says whether a start
    exactly at ``end`` counts (Cal.com's slot bounds are inclusive, Calendly's end is not)."""
    ranges = list(busy)
    slots: list[datetime] = []
    day = start.astimezone(zone).date() - timedelta(days=1)
    while day <= end.astimezone(zone).date():
        if day.weekday() < 5:
            slot = datetime.combine(day, time(seed.WORKDAY[0]), zone)
            closing = datetime.combine(day, time(seed.WORKDAY[1]), zone)
            while slot + length <= closing:
                begin = slot.astimezone(timezone.utc)
                finish = begin + length
                in_window = start <= begin and (begin <= end if include_end else begin < end)
                if in_window and begin >= now and not any(b_start < finish and begin < b_end
                                                          for b_start, b_end in ranges):
                    slots.append(begin)
                slot += length  # zone-aware arithmetic is wall-clock, right for a workday grid
        day += timedelta(days=1)
    return slots


# --- the page a link opens ------------------------------------------------------

def booking_form(request: Request, link_id: str, hidden: str, slot_field: str, starts: Iterable[str]) -> str:
    """The booking form, prefilled from the link's query (escaped: it is the candidate's text)."""
    value = {key: html.escape(request.arg(key) or "") for key in ("name", "email", hidden)}
    options = "".join(f'<option value="{start}">{start}</option>' for start in starts)
    return (f'<form method="post" action="/d/{html.escape(link_id)}/book">'
            f'<input name="name" value="{value["name"]}"><input name="email" value="{value["email"]}">'
            f'<input type="hidden" name="{hidden}" value="{value[hidden]}">'
            f'<select name="{slot_field}">{options}</select><button>Book</button></form>')


def booking_page(title: str, host_name: str, body: str) -> Response:
    """The whole page around ``body`` (a form, or a sentence saying why there is none)."""
    title = html.escape(title)
    return Response(200, f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title></head>"
                         f"<body><h1>{title}</h1><p>with {html.escape(host_name)}</p>{body}</body></html>",
                    content_type="text/html")


def no_such_link() -> Response:
    return Response(404, "<p>This link does not exist.</p>", content_type="text/html")


def posted_fields(request: Request, prefill: Iterable[str]) -> dict[str, str]:
    """The booking form's fields (JSON or form-encoded); the prefill query on the URL fills gaps."""
    is_json = request.headers.get("content-type", "").startswith("application/json")
    fields = {k: str(v) for k, v in (request.json() if is_json else request.form()).items() if v is not None}
    for key in prefill:
        if key not in fields and request.arg(key) is not None:
            fields[key] = request.arg(key) or ""
    return fields


# --- admin: act as a candidate or a hiring manager ------------------------------

def admin_route(world: World, handler: Callable[[Request, dict[str, Any]], Response],
                refused: Callable[[BookingRefused], Response]) -> Handler:
    """Run ``handler(request, body)`` under the world lock; a refusal becomes the vendor's error answer."""

    def run(request: Request) -> Response:
        with world.lock:
            try:
                return handler(request, request.json() or {})
            except BookingRefused as exc:
                return refused(exc)

    return run


def optional_application(body: dict[str, Any]) -> str | None:
    return str(body["application_id"]) if body.get("application_id") not in (None, "") else None


def application_of(body: dict[str, Any]) -> str:
    application_id = optional_application(body)
    if application_id is None:
        raise BookingRefused(400, "body needs 'application_id'")
    return application_id


def link_in_body(world: World, state: dict[str, Any], body: dict[str, Any], *, noun: str, shape: str,
                 missing: str) -> tuple[str, dict[str, str]]:
    """(link token, prefill query) for an admin booking: the body's ``url``, else the latest
    link of ours in the notes of its ``application_id`` (as the candidate would click it)."""
    if body.get("url"):
        found = link_from_url(state, str(body["url"]))
        if found is None:
            raise BookingRefused(400, f"url is not a {noun} of this sandbox (expected {shape})")
        return found
    application_id = optional_application(body)
    if application_id is None:
        raise BookingRefused(400, missing)
    found = latest_link_for(world, state, application_id)
    if found is None:
        raise BookingRefused(400, f"no {noun} of this sandbox found in the notes of application "
                                  f"{application_id}; was the candidate invited?")
    return found


def host_by_email(users: Iterable[dict[str, Any]], body: dict[str, Any]) -> dict[str, Any]:
    """The host ``/_admin/block`` names by ``host_email`` (any case)."""
    wanted = str(body.get("host_email", "")).casefold()
    user = next((u for u in users if u["email"].casefold() == wanted), None)
    if user is None:
        raise BookingRefused(404, "no sandbox host has that email")
    return user


def block_span(world: World, body: dict[str, Any]) -> tuple[datetime, datetime]:
    """From now for ``days`` (default 30): how long ``/_admin/block`` fills a host's calendar."""
    now = world.now()
    return now, now + timedelta(days=float(body.get("days", 30)))
