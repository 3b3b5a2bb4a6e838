"""Admin routes shared by every vendor module: the sandbox clock and fault injection.

Vendor-specific admin routes (move an application, book, cancel ...) live in
the vendor modules under the same ``/_admin/`` prefix.
"""

from __future__ import annotations

from ..clock import iso, parse_instant
from .server import Request, Response, SandboxApp, error


def mount(app: SandboxApp) -> None:
    world = app.world

    @app.router.route("GET", "/_admin/clock")
    def get_clock(request: Request) -> Response:
        return Response(200, {"now": iso(world.now()), "fixed": world.fixed_now is not None})

    @app.router.route("POST", "/_admin/clock")
    def set_clock(request: Request) -> Response:
        body = request.json()
        if not body.get("now"):
            return error(400, "body needs 'now' (ISO 8601 with offset)")
        with world.lock:
            world.fixed_now = parse_instant(body["now"])
        return Response(200, {"now": iso(world.now())})

    @app.router.route("POST", "/_admin/faults")
    def add_fault(request: Request) -> Response:
        """Queue a failure: {"path": "/v3/applications", "status": 429, "headers": {"Retry-After": "2"}}."""
        body = request.json()
        with world.lock:
            world.faults.append(body)
        return Response(201, {"queued": len(world.faults)})

    @app.router.route("GET", "/_admin/requests")
    def request_counts(request: Request) -> Response:
        with world.lock:
            return Response(200, dict(world.requests))
