"""`interview-sync run`: the long-running mode (poll cycles, webhook wake-ups, /healthz, /metrics)."""

from __future__ import annotations

import signal
from typing import Optional

import typer

from ..config import parse_listen
from ..context import build_context
from ..errors import ConfigError
from . import render
from .base import G, app, handles_errors, settings


@app.command("run")
@handles_errors
def run(
    every: Optional[float] = typer.Option(None, "--every", min=1, metavar="SECONDS",
                                          help="Seconds between cycles, ±10 % jitter (default: run.every_seconds, "
                                          "60)."),
    listen: Optional[str] = typer.Option(None, "--listen", metavar="HOST:PORT",
                                         help="HOST:PORT (or PORT, on 127.0.0.1) for POST /webhooks/<vendor>, "
                                         "GET /healthz and GET /metrics (default: run.listen; empty = no listener)."),
) -> None:
    """Run poll cycles until SIGTERM/SIGINT, woken early by verified webhooks. Shares `poll`'s lock: a cycle
    is skipped while another run holds it. Exit 0 after a clean stop, 2 config/usage."""
    from ..daemon import Daemon
    from ..listener import Listener
    from ..webhooks import gate_for

    cfg = settings()
    interval = every if every is not None else cfg.run.every_seconds
    where = listen if listen is not None else cfg.run.listen
    try:
        address = parse_listen(where) if where.strip() else None
    except ValueError as exc:
        raise ConfigError(f"--listen {exc}", "e.g. --listen 127.0.0.1:8787") from None
    build_context(cfg).close()  # a configuration that cannot build a context fails here, exit 2, not every cycle
    daemon = Daemon(lambda: build_context(cfg), every=interval, health_threshold=cfg.run.healthy_within_seconds,
                    max_backoff=cfg.run.max_backoff_seconds)
    listener = None
    if address is not None:
        gate = gate_for(cfg.webhooks)
        try:
            listener = Listener(*address, daemon=daemon, gate=gate).start()
        except OSError as exc:
            raise ConfigError(f"cannot listen on {where}: {exc.strerror or exc}",
                              "pick a free port with --listen HOST:PORT") from None
        vendors = ", ".join(gate.vendors) or "none: set secrets in [webhooks] to accept webhooks"
        render.info(f"run: listening on {listener.url} (webhooks: {vendors}; /healthz, /metrics)", quiet=G.quiet)
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, daemon.request_stop_from_signal)
    render.info(f"run: a cycle every {interval:g} s; stop with SIGTERM or Ctrl-C", quiet=G.quiet)
    try:
        cycles = daemon.run()
    finally:
        if listener is not None:
            listener.stop()
    render.info(f"run: stopped cleanly after {cycles} cycle(s)", quiet=G.quiet)
