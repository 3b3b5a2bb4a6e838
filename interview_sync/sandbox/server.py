"""The sandbox's HTTP plumbing: one loopback server, a tiny router, shared state.

Vendor modules (``greenhouse``, ``calendly``) and the admin API register
routes on one :class:`Router`; they all share one :class:`World` guarded by a
lock, so a booking made through the scheduler side can see the ATS side.
"""

from __future__ import annotations

import json
import re
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from ..clock import Clock, SystemClock


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-cased names
    body: bytes
    base_url: str  # e.g. http://127.0.0.1:8765
    raw_target: str  # path + query exactly as sent
    params: dict[str, str] = field(default_factory=dict)  # from the route pattern

    def json(self) -> Any:
        if not self.body:
            return {}
        return json.loads(self.body.decode("utf-8"))

    def form(self) -> dict[str, str]:
        parsed = parse_qs(self.body.decode("utf-8"), keep_blank_values=True)
        return {k: v[-1] for k, v in parsed.items()}

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else default


@dataclass
class Response:
    status: int = 200
    body: Any = None  # JSON-serialisable, or bytes/str for raw bodies
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"


def error(status: int, message: str, **extra: Any) -> Response:
    return Response(status, {"message": message, **extra})


Handler = Callable[[Request], Response]


class Router:
    def __init__(self) -> None:
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = []

    def add(self, method: str, pattern: str, handler: Handler) -> None:
        """``pattern`` is a path with ``{name}`` placeholders (one segment each)."""
        regex = "^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", pattern) + "$"
        self._routes.append((method.upper(), re.compile(regex), handler))

    def route(self, method: str, pattern: str) -> Callable[[Handler], Handler]:
        def decorator(handler: Handler) -> Handler:
            self.add(method, pattern, handler)
            return handler

        return decorator

    def dispatch(self, request: Request) -> Response:
        allowed = False
        for method, regex, handler in self._routes:
            match = regex.match(request.path)
            if not match:
                continue
            if method != request.method:
                allowed = True
                continue
            request.params = match.groupdict()
            return handler(request)
        if allowed:
            return error(405, f"method {request.method} not allowed on {request.path}")
        return error(404, f"no route for {request.path}")


class World:
    """All sandbox state. Vendor modules keep their own sub-dicts in ``data``.

    ``now`` is the sandbox's clock: tests and the demo move it forward so that
    ``updated_at`` stamps, availability windows and bookings agree with the
    simulated time the tool polls at. Until ``fixed_now`` is set it reads
    ``clock`` (the system clock unless injected), never the wall directly.
    """

    def __init__(self, clock: Clock | None = None) -> None:
        self.lock = threading.RLock()
        self.data: dict[str, Any] = {}
        self.clock: Clock = clock or SystemClock()
        self.fixed_now: datetime | None = None
        self.requests: Counter[str] = Counter()  # "GET /v3/applications" -> count
        self.faults: list[dict[str, Any]] = []  # injected failures, consumed in order
        self.on_change: list[Callable[[Request, Response], None]] = []  # told of every answered request

    def now(self) -> datetime:
        return self.fixed_now or self.clock.now()


class SandboxApp:
    """A router plus world; the vendor modules are mounted by :func:`build_app`."""

    def __init__(self, world: World | None = None) -> None:
        self.world = world or World()
        self.router = Router()

    def handle(self, request: Request) -> Response:
        key = f"{request.method} {request.path}"
        with self.world.lock:
            self.world.requests[_endpoint_label(request.path, request.method)] += 1
            fault = self._take_fault(request)
        if fault is not None:
            return fault
        try:
            response = self.router.dispatch(request)
        except (ValueError, KeyError, json.JSONDecodeError) as exc:
            return error(400, f"bad request to {key}: {exc}")
        for hook in self.world.on_change:  # e.g. sandbox/webhooks.py: tell registered targets
            hook(request, response)
        return response

    def _take_fault(self, request: Request) -> Response | None:
        """Pop the first injected fault whose ``path`` prefix matches."""
        for index, fault in enumerate(self.world.faults):
            if request.path.startswith(fault.get("path", "/")) and fault.get("method", request.method) == request.method:
                self.world.faults.pop(index)
                return Response(int(fault.get("status", 500)), fault.get("body", {"message": "injected fault"}),
                                 {k: str(v) for k, v in fault.get("headers", {}).items()})
        return None


def _endpoint_label(path: str, method: str) -> str:
    """Collapse ids so request counts group by endpoint (``/v3/notes/{id}``)."""
    collapsed = re.sub(r"/[0-9a-fA-F-]{6,}(?=/|$)|/\d+(?=/|$)", "/{id}", path)
    return f"{method} {collapsed}"


class _HandlerBase(BaseHTTPRequestHandler):
    app: SandboxApp
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # keep-alive requests otherwise wait ~40 ms for delayed ACKs

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        return  # quiet: the sandbox must not print candidate data

    def _serve(self) -> None:
        split = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        host = self.headers.get("Host") or f"{self.server.server_address[0]}:{self.server.server_address[1]}"
        request = Request(
            method=self.command,
            path=split.path,
            query=parse_qs(split.query, keep_blank_values=True),
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
            base_url=f"http://{host}",
            raw_target=self.path,
        )
        response = self.app.handle(request)
        if isinstance(response.body, (bytes, str)):
            payload = response.body.encode("utf-8") if isinstance(response.body, str) else response.body
        elif response.body is None and response.status == 204:
            payload = b""
        else:
            payload = json.dumps(response.body, ensure_ascii=False).encode("utf-8")
        self.send_response(response.status)
        if payload or response.status != 204:
            self.send_header("Content-Type", response.content_type + "; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.end_headers()
        if payload:
            self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve


class SandboxServer:
    """A running sandbox on loopback; usable as a context manager in tests."""

    def __init__(self, app: SandboxApp, host: str = "127.0.0.1", port: int = 0) -> None:
        handler = type("SandboxHandler", (_HandlerBase,), {"app": app})
        self.app = app
        self.httpd = ThreadingHTTPServer((host, port), handler)
        self.httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> "SandboxServer":
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="sandbox", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self.httpd.serve_forever()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> "SandboxServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
