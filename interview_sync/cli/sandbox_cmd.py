"""`interview-sync sandbox ...`: run the built-in sandbox and drive it like a person would."""

from __future__ import annotations

from typing import Optional
from urllib.parse import urlsplit

import typer

from ..providers import provider
from ..sandbox.client import DEFAULT_PORT, SandboxClient, configured_sandbox_url
from . import render
from .base import flavour, handles_errors, instant, sandbox_app, settings

URL = typer.Option(None, "--url", help="The sandbox to drive (default: the one the config's ats.base_url names).")


def _client(url: Optional[str]) -> SandboxClient:
    """``--url``, else the sandbox the config was written for (`init --sandbox [--port N]`)."""
    return SandboxClient(url or configured_sandbox_url(settings()))


@sandbox_app.command("serve")
@handles_errors
def serve(host: str = typer.Option("127.0.0.1", "--host", help="Loopback address to bind."),
          port: Optional[int] = typer.Option(None, "--port", help="Port to listen on (default: the config's "
                                             "sandbox port, else 8765)."),
          ats: Optional[str] = typer.Option(None, "--ats", help="ATS wire format: greenhouse or lever (default: "
                                            "what the config's ats.provider names, else greenhouse)."),
          scheduler: Optional[str] = typer.Option(None, "--scheduler", help="Scheduler wire format: calendly or "
                                                  "calcom (default: from scheduler.provider, else calendly).")) -> None:
    """Run the vendor-compatible sandbox (Greenhouse v3 or Lever, Calendly v2 or Cal.com v2) until interrupted."""
    from ..config import is_loopback
    from ..errors import ConfigError
    from ..sandbox import SandboxServer, build_app

    if not is_loopback(host):
        raise ConfigError(f"--host {host} is not a loopback address", "the sandbox serves 127.0.0.1/localhost only")
    configured_ats, configured_scheduler, configured_port = _configured()
    ats = flavour("--ats", ats or configured_ats)
    scheduler = flavour("--scheduler", scheduler or configured_scheduler)
    server = SandboxServer(build_app(ats=ats, scheduler=scheduler), host=host, port=port or configured_port)
    render.info(f"sandbox on {server.url}: {ats} + {scheduler}, seeded; Ctrl-C to stop")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.httpd.server_close()


def _configured() -> tuple[str, str, int]:
    """The wire formats the config's providers speak and the port its sandbox URL names,
    so `sandbox serve` matches `poll` (a config from `init --sandbox --port N` serves on N)."""
    from ..errors import ConfigError

    try:
        cfg = settings()
    except ConfigError:
        return "greenhouse", "calendly", DEFAULT_PORT
    try:
        port = urlsplit(configured_sandbox_url(cfg)).port or DEFAULT_PORT
    except ConfigError:
        port = DEFAULT_PORT
    return provider("ats", cfg.ats.provider).wire, provider("scheduler", cfg.scheduler.provider).wire, port


@sandbox_app.command("move")
@handles_errors
def move(application_id: str, stage_name: str, url: Optional[str] = URL) -> None:
    """Move an application to a stage (or `rejected` / `hired` to leave the pipeline)."""
    client = _client(url)
    if stage_name.casefold() in ("rejected", "hired", "converted"):
        client.set_status(application_id, stage_name.casefold())
    else:
        client.move(application_id, stage_name)
    render.info(f"{application_id} → {stage_name}")


@sandbox_app.command("book")
@handles_errors
def book(application_id: str, at: Optional[str] = typer.Option(None, "--at", help="ISO 8601 start; default "
                                                                "the first free slot."),
         url: Optional[str] = URL) -> None:
    """Book through the application's latest link, as the candidate."""
    result = _client(url).book(application_id, instant(at, "--at") if at else None)
    start = result.get("start_time") or (result.get("data") or {}).get("start")  # Calendly / Cal.com flavour
    render.info(f"{application_id} booked: {start}")


@sandbox_app.command("cancel")
@handles_errors
def cancel(application_id: str, url: Optional[str] = URL) -> None:
    """Cancel the application's booking."""
    _client(url).cancel(application_id)
    render.info(f"{application_id}: booking cancelled")


@sandbox_app.command("reschedule")
@handles_errors
def reschedule(application_id: str, at: str = typer.Option(..., "--at", help="New ISO 8601 start."),
               url: Optional[str] = URL) -> None:
    """Move the application's booking to another time."""
    _client(url).reschedule(application_id, instant(at, "--at"))
    render.info(f"{application_id}: rescheduled to {at}")


@sandbox_app.command("block")
@handles_errors
def block(host_email: str, url: Optional[str] = URL) -> None:
    """Fill a host's calendar so no slot is free."""
    _client(url).block(host_email)
    render.info(f"{host_email}: calendar blocked")


@sandbox_app.command("no-show")
@handles_errors
def no_show(application_id: str, url: Optional[str] = URL) -> None:
    """Mark the application's candidate as a no-show."""
    _client(url).no_show(application_id)
    render.info(f"{application_id}: marked no-show")
