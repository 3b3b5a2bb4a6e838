"""`run --listen`: the small HTTP face of the run loop.

- ``POST /webhooks/<vendor>``: checked by the :class:`WebhookGate`; a valid
  delivery wakes a cycle (202), anything else is counted, logged without its
  body and refused (401; 409 for a replay). The body is never used otherwise.
- ``GET /healthz``: 200 while the last good cycle is recent, else 503; the
  body is one line saying why.
- ``GET /metrics``: Prometheus text format.

It binds loopback unless told otherwise; the vendors require HTTPS, so a
public deployment puts a TLS-terminating proxy in front of it.
"""

from __future__ import annotations

import logging
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from .daemon import Daemon
from .webhooks import REPLAYED, WebhookGate

log = logging.getLogger(__name__)

MAX_BODY = 1_000_000  # bytes; vendors' deliveries are a few kB
WEBHOOK_PREFIX = "/webhooks/"


class _Handler(BaseHTTPRequestHandler):
    daemon: Daemon
    gate: WebhookGate
    protocol_version = "HTTP/1.1"
    timeout = 10  # a client that stops sending mid-request loses its thread after this long
    server_version = "interview-sync"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        return  # request lines go nowhere: the outcome is logged and counted below

    def _reply(self, status: int, body: bytes, content_type: str = "text/plain; charset=utf-8") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        path = self.path.split("?", 1)[0]
        if path == "/healthz":
            healthy, reason = self.daemon.health.status()
            self._reply(200 if healthy else 503, (reason + "\n").encode("utf-8"))
        elif path == "/metrics":
            body, content_type = self.daemon.metrics.render()
            self._reply(200, body, content_type)
        else:
            self._reply(404, b"not found\n")

    def do_POST(self) -> None:  # noqa: N802 - stdlib name
        path = self.path.split("?", 1)[0]
        vendor = path[len(WEBHOOK_PREFIX):] if path.startswith(WEBHOOK_PREFIX) else ""
        if vendor not in self.gate.vendors:
            self._reply(404, b"no webhook route here (is its secret set in [webhooks]?)\n")
            return
        length_text = self.headers.get("Content-Length")
        if length_text is None or not length_text.isdigit():
            self._reply(411, b"Content-Length required\n")
            return
        length = int(length_text)
        if length > MAX_BODY:
            self.close_connection = True
            self._reply(413, b"body too large\n")
            return
        body = self.rfile.read(length)
        headers = {name.lower(): value for name, value in self.headers.items()}
        verdict = self.gate.check(vendor, headers, body)
        self.daemon.metrics.webhooks.labels(vendor, verdict.reason).inc()
        if verdict.ok:
            self.daemon.wake()
            self._reply(202, b"accepted: a cycle will run\n")
            return
        log.warning("webhook for %s refused (%s) from %s", vendor, verdict.reason, self.client_address[0])
        self._reply(409 if verdict.reason == REPLAYED else 401, f"refused: {verdict.reason}\n".encode("ascii"))

    do_PUT = do_PATCH = do_DELETE = lambda self: self._reply(405, b"method not allowed\n")  # noqa: E731


class _Server(ThreadingHTTPServer):
    """A client that hangs up or stalls is its own problem: one debug line, no traceback on stderr."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], *, family: int) -> None:
        self.address_family = family
        super().__init__(address, handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.debug("listener: a request from %s failed", client_address[0], exc_info=True)


class Listener:
    """A threaded HTTP server in a background thread; ``port`` 0 picks a free one."""

    def __init__(self, host: str, port: int, *, daemon: Daemon, gate: WebhookGate) -> None:
        handler = type("RunHandler", (_Handler,), {"daemon": daemon, "gate": gate})
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.httpd = _Server((host, port), handler, family=family)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        shown = f"[{host}]" if ":" in str(host) else host
        return f"http://{shown}:{port}"

    def start(self) -> Listener:
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.2},
                                        name="run-listener", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
