"""Admin routes shared by every vendor module: the sandbox clock and fault injection.

Vendor-specific admin routes (move an application, book, cancel ...) live in
the vendor modules under the same ``/_admin/`` prefix.
"""

from __future__ import annotations

from functools import partial

from ..clock import iso, parse_instant
from .common import mount_routes
from .server import Request, Response, SandboxApp, World, error


def get_clock(world: World, request: Request) -> Response:
    return Response(200, {"now": iso(world.now()), "fixed": world.fixed_now is not None})


def set_clock(world: World, request: Request) -> Response:
    body = request.json()
    if not body.get("now"):
        return error(400, "body needs 'now' (ISO 8601 with offset)")
    with world.lock:
        world.fixed_now = parse_instant(body["now"])
    return Response(200, {"now": iso(world.now())})


def add_fault(world: World, request: Request) -> Response:
    """Queue a failure: {"path": "/v3/applications", "status": 429, "headers": {"Retry-After": "2"}}."""
    body = request.json()
    with world.lock:
        world.faults.append(body)
    return Response(201, {"queued": len(world.faults)})


def request_counts(world: World, request: Request) -> Response:
    with world.lock:
        return Response(200, dict(world.requests))


def mount(app: SandboxApp) -> None:
    world = app.world
    mount_routes(app, [
        ("GET", "/_admin/clock", partial(get_clock, world)),
        ("POST", "/_admin/clock", partial(set_clock, world)),
        ("POST", "/_admin/faults", partial(add_fault, world)),
        ("GET", "/_admin/requests", partial(request_counts, world)),
    ])
