"""The sandbox sends webhooks: after a change it POSTs a signed delivery, as the vendor would.

Register a target with ``POST /_admin/webhooks``::

    {"vendor": "greenhouse", "url": "http://127.0.0.1:8787/webhooks/greenhouse", "secret": "..."}

``vendor`` is one of the mounted flavours. From then on a stage move (the ATS
flavour) or a booking, cancel or reschedule (the scheduler flavour) is
delivered to every target registered for that vendor, in the vendor's
format and signature scheme (``interview_sync.webhooks.signed_delivery``).
The body names what changed by id only: like the real thing it is a
notification, and the tool reads the truth from the API anyway.

Deliveries leave from one background thread, after the admin request has
answered, so a slow target never holds the sandbox's lock. Targets must be
loopback URLs: the sandbox never sends anything off the machine.
``GET /_admin/webhooks`` counts deliveries (secrets are never shown);
``DELETE /_admin/webhooks`` forgets every target.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
import uuid
from datetime import datetime, timezone
from functools import partial
from typing import Any
from urllib.parse import urlsplit

import requests

from ..config import is_loopback
from ..webhooks import VENDORS, signed_delivery
from .common import mount_routes
from .server import Request, Response, SandboxApp, World, error

log = logging.getLogger(__name__)

# admin route -> (which side changed, the event per vendor of that side)
CHANGES: dict[str, tuple[str, dict[str, str]]] = {
    "/_admin/move": ("ats", {"greenhouse": "candidate_stage_change", "lever": "candidateStageChange"}),
    "/_admin/book": ("scheduler", {"calendly": "invitee.created", "calcom": "BOOKING_CREATED"}),
    "/_admin/cancel": ("scheduler", {"calendly": "invitee.canceled", "calcom": "BOOKING_CANCELLED"}),
    "/_admin/reschedule": ("scheduler", {"calendly": "invitee.created", "calcom": "BOOKING_RESCHEDULED"}),
}


def body_for(vendor: str, event: str, subject: str, now: datetime) -> tuple[dict[str, Any], dict[str, str]]:
    """A notification in ``vendor``'s shape, naming ``subject`` (an application id) only."""
    stamp = now.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    if vendor == "greenhouse":
        return ({"action": event, "payload": {"application": {"id": subject}}},
                {"Greenhouse-Event-ID": str(uuid.uuid4())})
    if vendor == "lever":
        return {"event": event, "data": {"opportunityId": subject}}, {}
    if vendor == "calendly":
        return {"event": event, "created_at": stamp, "payload": {"tracking": {"utm_content": subject}}}, {}
    return {"triggerEvent": event, "createdAt": stamp, "payload": {"metadata": {"application": subject}}}, {}


class Emitter:
    """Targets per vendor, and the thread that delivers to them."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.targets: dict[str, list[tuple[str, str]]] = {}  # vendor -> [(url, secret)]
        self.sent = 0
        self.failed = 0
        self._queue: queue.Queue[tuple[str, str, str, str, str]] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def register(self, vendor: str, url: str, secret: str) -> None:
        with self._lock:
            self.targets.setdefault(vendor, []).append((url, secret))
            if self._thread is None:
                self._thread = threading.Thread(target=self._deliver_forever, name="sandbox-webhooks", daemon=True)
                self._thread.start()

    def clear(self) -> None:
        with self._lock:
            self.targets.clear()

    def changed(self, request: Request, response: Response) -> None:
        """The sandbox's change hook: queue a delivery for each target of the vendor that changed."""
        change = CHANGES.get(request.path)
        if request.method != "POST" or change is None or response.status >= 300 or not self.targets:
            return
        side, events = change
        vendor = self.world.data.get("flavours", {}).get(side, "")
        try:
            subject = str(request.json().get("application_id", ""))
        except ValueError:
            subject = ""
        with self._lock:
            targets = list(self.targets.get(vendor, []))
        for url, secret in targets:
            self._queue.put((vendor, events[vendor], subject, url, secret))

    def _deliver_forever(self) -> None:
        while True:
            vendor, event, subject, url, secret = self._queue.get()
            body, extra = body_for(vendor, event, subject, datetime.now(timezone.utc))
            raw, headers = signed_delivery(vendor, secret, body, time.time())
            try:
                answer = requests.post(url, data=raw, headers={**headers, **extra}, timeout=5)
                ok = answer.status_code < 300
            except requests.RequestException:
                ok = False
            with self._lock:
                if ok:
                    self.sent += 1
                else:
                    self.failed += 1
            if not ok:
                log.debug("sandbox webhook to %s was not accepted", url)


def add_target(emitter: Emitter, request: Request) -> Response:
    body = request.json()
    vendor, url, secret = body.get("vendor"), body.get("url"), body.get("secret")
    mounted = tuple(emitter.world.data.get("flavours", {}).values())
    if vendor not in VENDORS or vendor not in mounted:
        return error(400, f"vendor {vendor!r} is not mounted here; use one of {', '.join(mounted)}")
    parts = urlsplit(str(url or ""))
    if parts.scheme not in ("http", "https") or not is_loopback(parts.hostname):
        return error(400, "url must be an http(s) URL on 127.0.0.1/localhost: the sandbox only talks to this host")
    if not isinstance(secret, str) or not secret:
        return error(400, "body needs 'secret', the shared secret the target verifies with")
    emitter.register(vendor, str(url), secret)
    return Response(201, {"vendor": vendor, "url": url})


def status(emitter: Emitter, request: Request) -> Response:
    return Response(200, {"targets": {v: [u for u, _ in t] for v, t in emitter.targets.items()},
                          "sent": emitter.sent, "failed": emitter.failed})


def forget(emitter: Emitter, request: Request) -> Response:
    emitter.clear()
    return Response(204)


def mount(app: SandboxApp) -> None:
    emitter = Emitter(app.world)
    app.world.on_change.append(emitter.changed)
    mount_routes(app, [
        ("POST", "/_admin/webhooks", partial(add_target, emitter)),
        ("GET", "/_admin/webhooks", partial(status, emitter)),
        ("DELETE", "/_admin/webhooks", partial(forget, emitter)),
    ])


def register(sandbox_url: str, vendor: str, target: str, secret: str) -> None:
    """Ask the sandbox at ``sandbox_url`` to send ``vendor`` webhooks to ``target``."""
    answer = requests.post(f"{sandbox_url.rstrip('/')}/_admin/webhooks",
                           json={"vendor": vendor, "url": target, "secret": secret}, timeout=10)
    if answer.status_code >= 300:
        raise ValueError(f"the sandbox refused the webhook target: {answer.json().get('message')}")
