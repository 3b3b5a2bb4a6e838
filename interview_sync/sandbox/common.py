"""Helpers every sandbox vendor flavour shares: route tables, credentials, page tokens, stamps.

Each vendor module is a set of small route handlers plus a ``mount`` that is
a table of ``(method, pattern, handler)`` rows; what the handlers of several
vendors need alike lives here once, so a wire detail (how a Basic header is
split, how an opaque page token is packed) cannot drift between copies.
Vendor-specific shapes (error bodies, envelopes) stay in the vendor modules:
they differ on the wire.

A new flavour is one module with a ``mount(app)``: seed its slice of
``world.data``, write one handler per route (a :class:`VendorRoutes` method
or a module function taking the world), and register them with
:func:`mount_routes`, wrapping API routes in :func:`guarded` with the
vendor's credential check. Scheduler flavours take their slot grid, booking
page and admin-body helpers from :mod:`.booking`.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timezone
from typing import Any

from .server import Handler, Request, Response, SandboxApp, World, error

Route = tuple[str, str, Handler]


class VendorRoutes:
    """A vendor's route handlers over its own slice of the world (``world.data[key]``).

    Subclasses hold one method per route; the slice is looked up per call, so
    handlers always see the world's current state.
    """

    key: str

    def __init__(self, world: World) -> None:
        self.world = world

    @property
    def state(self) -> dict[str, Any]:
        return self.world.data[self.key]


def mount_routes(app: SandboxApp, routes: Iterable[Route]) -> None:
    """Register a vendor's route table on the app's router, in table order (first match wins)."""
    for method, pattern, handler in routes:
        app.router.add(method, pattern, handler)


def locked(world: World, handler: Handler) -> Handler:
    """Run ``handler`` holding the world lock, as every state-reading route must."""
    return guarded(world, lambda request: None, handler)


def guarded(world: World, refusal: Callable[[Request], Response | None], handler: Handler) -> Handler:
    """Answer ``refusal(request)`` when it has an answer (bad credentials, a wrong API version),
    else run ``handler`` holding the world lock."""

    def run(request: Request) -> Response:
        refused = refusal(request)
        if refused is not None:
            return refused
        with world.lock:
            return handler(request)

    return run


def basic_credentials(header: str, *, strict: bool = False) -> tuple[str, str]:
    """``(user, password)`` from an ``Authorization: Basic`` header, ``("", "")`` when absent or malformed.

    ``strict`` refuses base64 with characters outside the alphabet instead of skipping them.
    """
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return "", ""
    try:
        decoded = base64.b64decode(value.strip(), validate=strict).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return "", ""
    user, _, password = decoded.partition(":")
    return user, password


def bearer_token(header: str, *, lenient: bool = False) -> str | None:
    """The token of an ``Authorization: Bearer`` header, or None.

    Strictly the header must start with ``Bearer `` and the rest is the token
    as sent; ``lenient`` accepts any case of the scheme and trims the token.
    """
    if not lenient:
        return header[len("Bearer "):] if header.startswith("Bearer ") else None
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None


def encode_token(value: Any, *, compact: bool = True, padded: bool = False) -> str:
    """An opaque page token: ``value`` as JSON in URL-safe base64.

    Vendors differ in the details clients never look at but a recorded
    exchange would show: Greenhouse and Lever tokens are compact and
    unpadded, Calendly's keep JSON's spaces and base64's padding.
    """
    separators = (",", ":") if compact else None
    raw = json.dumps(value, separators=separators, sort_keys=True).encode("utf-8")
    token = base64.urlsafe_b64encode(raw).decode("ascii")
    return token if padded else token.rstrip("=")


def decode_token(token: str) -> Any:
    """The value :func:`encode_token` packed (padding optional); ValueError when it is not one."""
    padded = token + "=" * (-len(token) % 4)
    try:
        return json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (binascii.Error, UnicodeError, json.JSONDecodeError) as exc:
        raise ValueError("invalid page token") from exc


def millis_stamp(value: datetime) -> str:
    """UTC with milliseconds, ``2026-11-24T09:00:00.000Z``, as Greenhouse and Cal.com write instants."""
    utc = value.astimezone(timezone.utc)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def find_named(items: Sequence[dict[str, Any]], name: Any, field: str) -> dict[str, Any] | None:
    """The item whose ``field`` is ``name`` exactly, else case-insensitively (how admins type stage names)."""
    exact = next((item for item in items if item[field] == name), None)
    return exact or next((item for item in items if item[field].casefold() == str(name).casefold()), None)


def move_request(body: dict[str, Any], statuses: Sequence[str]) -> tuple[Any, Any] | Response:
    """``(stage name, status)`` of an ATS flavour's ``/_admin/move`` body, or the refusal to answer."""
    stage_name, status = body.get("stage"), body.get("status")
    if stage_name is None and status is None:
        return error(400, "body needs 'stage' (a stage name) and/or 'status'")
    if status is not None and status not in statuses:
        return error(400, f"unknown status {status!r}; valid: {', '.join(statuses)}")
    return stage_name, status
