"""The built-in sandbox: vendor-compatible ATS and scheduler on one loopback port."""

from __future__ import annotations

from .server import SandboxApp, SandboxServer, World


def build_app(world: World | None = None) -> SandboxApp:
    """A sandbox with every vendor module mounted on one router, seeded."""
    from . import admin, calendly, greenhouse

    app = SandboxApp(world)
    greenhouse.mount(app)
    calendly.mount(app)
    admin.mount(app)
    return app


__all__ = ["SandboxApp", "SandboxServer", "World", "build_app"]
