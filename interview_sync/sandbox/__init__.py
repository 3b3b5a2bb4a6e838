"""The built-in sandbox: vendor-compatible ATS and scheduler on one loopback port.

One ATS flavour and one scheduler flavour are mounted per server (they share
admin routes such as ``/_admin/move`` and ``/_admin/book``), so demo, selftest
and tests can run any ATS × scheduler pair with the same seed data.
"""

from __future__ import annotations

from importlib import import_module

from ..providers import ATS_PROVIDERS, SCHEDULER_PROVIDERS
from .server import SandboxApp, SandboxServer, World

# One flavour per wire format the provider registry speaks; each is a module here with a `mount`.
ATS_FLAVOURS = tuple(dict.fromkeys(p.wire for p in ATS_PROVIDERS.values()))
SCHEDULER_FLAVOURS = tuple(dict.fromkeys(p.wire for p in SCHEDULER_PROVIDERS.values()))


def build_app(world: World | None = None, *, ats: str = "greenhouse", scheduler: str = "calendly") -> SandboxApp:
    """A seeded sandbox speaking the ``ats`` and ``scheduler`` wire formats."""
    if ats not in ATS_FLAVOURS:
        raise ValueError(f"sandbox ats flavour {ats!r}: use one of {ATS_FLAVOURS}")
    if scheduler not in SCHEDULER_FLAVOURS:
        raise ValueError(f"sandbox scheduler flavour {scheduler!r}: use one of {SCHEDULER_FLAVOURS}")
    from . import admin, graph, webhooks

    app = SandboxApp(world)
    import_module(f".{ats}", __name__).mount(app)
    import_module(f".{scheduler}", __name__).mount(app)
    admin.mount(app)
    webhooks.mount(app)
    graph.mount(app)  # Microsoft 365 mail (Entra tokens, Graph sendMail/messages) beside every flavour pair
    app.world.data["flavours"] = {"ats": ats, "scheduler": scheduler}
    return app


__all__ = ["ATS_FLAVOURS", "SCHEDULER_FLAVOURS", "SandboxApp", "SandboxServer", "World", "build_app"]
