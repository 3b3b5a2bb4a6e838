"""Webhook signatures, one documented scheme per vendor, and a gate that checks them.

A webhook never carries state into the tool: a verified one only wakes a poll
cycle, which reads the truth from the vendors' APIs. So the gate answers one
question, "did this vendor send this, just now, once?", and the body is read
only as far as a scheme signs it (Lever signs two fields of its body).

Schemes (facts and sources in docs/vendors.md, "Webhooks"):

- Greenhouse: ``Signature: sha256 <hex>``, HMAC-SHA256 of the raw body with the
  web hook's secret key; ``Greenhouse-Event-ID`` names the delivery. No timestamp.
- Lever: the JSON body carries ``token``, ``triggeredAt`` (ms) and ``signature``,
  the hex HMAC-SHA256 of ``token + triggeredAt`` with the signature token.
- Calendly: ``Calendly-Webhook-Signature: t=<unix s>,v1=<hex>``, HMAC-SHA256 of
  ``"<t>.<raw body>"`` with the signing key.
- Cal.com: ``X-Cal-Signature-256: <hex>``, HMAC-SHA256 of the raw body with the
  webhook's secret. No timestamp.

Where a scheme signs a timestamp, one outside ``tolerance`` is stale. Every
accepted signature (or delivery id) is remembered for the replay window, in
bounded memory, and a second copy is refused as a replay; a forged request is
never remembered, so forgeries cannot crowd out real entries.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from secrets import token_hex
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .config import WebhooksConfig

VENDORS = ("greenhouse", "lever", "calendly", "calcom")
VALID = "valid"
UNSIGNED = "unsigned"
BAD_SIGNATURE = "bad-signature"
STALE = "stale"
REPLAYED = "replayed"
MALFORMED = "malformed"

GREENHOUSE_HEADER = "signature"
GREENHOUSE_EVENT_ID = "greenhouse-event-id"
CALENDLY_HEADER = "calendly-webhook-signature"
CALCOM_HEADER = "x-cal-signature-256"


@dataclass(frozen=True)
class Verdict:
    """What the gate decided; ``reason`` is one of the constants above (a metric label)."""

    reason: str
    key: str = ""  # what identifies this delivery for replay detection
    signed_at: float | None = None  # the signed timestamp (Unix s), where the scheme has one

    @property
    def ok(self) -> bool:
        return self.reason == VALID


def hmac_hex(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def _same(expected_hex: str, given: str) -> bool:
    """Constant-time comparison that tolerates any header text (non-ASCII included)."""
    return hmac.compare_digest(expected_hex.encode("ascii"), given.strip().lower().encode("utf-8", "replace"))


def verify_greenhouse(secret: str, headers: Mapping[str, str], body: bytes) -> Verdict:
    value = headers.get(GREENHOUSE_HEADER, "").strip()
    if not value:
        return Verdict(UNSIGNED)
    algorithm, _, digest = value.partition(" ")
    if algorithm.lower() != "sha256" or not digest.strip():
        return Verdict(MALFORMED)
    if not _same(hmac_hex(secret, body), digest):
        return Verdict(BAD_SIGNATURE)
    event_id = headers.get(GREENHOUSE_EVENT_ID, "").strip()
    return Verdict(VALID, key=f"greenhouse:{event_id or digest.strip().lower()}")


def verify_lever(secret: str, headers: Mapping[str, str], body: bytes) -> Verdict:
    try:
        data = json.loads(body.decode("utf-8")) if body else {}
    except (UnicodeDecodeError, ValueError):
        return Verdict(MALFORMED)
    if not isinstance(data, dict) or not data.get("signature"):
        return Verdict(UNSIGNED)
    token, triggered, signature = data.get("token"), data.get("triggeredAt"), data.get("signature")
    if not isinstance(token, str) or not isinstance(signature, str) or isinstance(triggered, bool) \
            or not isinstance(triggered, (int, str)):
        return Verdict(MALFORMED)
    try:
        signed_at = int(triggered) / 1000.0
    except ValueError:
        return Verdict(MALFORMED)
    if not _same(hmac_hex(secret, f"{token}{triggered}".encode("utf-8")), signature):
        return Verdict(BAD_SIGNATURE)
    return Verdict(VALID, key=f"lever:{signature.lower()}", signed_at=signed_at)


def verify_calendly(secret: str, headers: Mapping[str, str], body: bytes) -> Verdict:
    value = headers.get(CALENDLY_HEADER, "").strip()
    if not value:
        return Verdict(UNSIGNED)
    parts: dict[str, str] = {}
    for item in value.split(","):
        name, sep, part = item.partition("=")
        if sep:
            parts.setdefault(name.strip(), part.strip())
    stamp, signature = parts.get("t", ""), parts.get("v1", "")
    if not stamp.isdigit() or not signature:
        return Verdict(MALFORMED)
    if not _same(hmac_hex(secret, stamp.encode("ascii") + b"." + body), signature):
        return Verdict(BAD_SIGNATURE)
    return Verdict(VALID, key=f"calendly:{signature.lower()}", signed_at=float(stamp))


def verify_calcom(secret: str, headers: Mapping[str, str], body: bytes) -> Verdict:
    value = headers.get(CALCOM_HEADER, "").strip()
    if not value:
        return Verdict(UNSIGNED)
    if not _same(hmac_hex(secret, body), value):
        return Verdict(BAD_SIGNATURE)
    return Verdict(VALID, key=f"calcom:{value.lower()}")


VERIFIERS: dict[str, Callable[[str, Mapping[str, str], bytes], Verdict]] = {
    "greenhouse": verify_greenhouse, "lever": verify_lever, "calendly": verify_calendly, "calcom": verify_calcom,
}


class ReplayGuard:
    """Remembers accepted deliveries for ``window`` seconds, at most ``capacity`` of them.

    Entries expire in insertion order (one window for all), so expiry is a
    scan from the front; past capacity the oldest goes first."""

    def __init__(self, window: float, capacity: int = 10_000) -> None:
        self.window = window
        self.capacity = capacity
        self._seen: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()

    def first_time(self, key: str, now: float) -> bool:
        """True (and remembered) the first time ``key`` is seen inside the window."""
        with self._lock:
            while self._seen:
                oldest, expires = next(iter(self._seen.items()))
                if expires > now:
                    break
                del self._seen[oldest]
            if key in self._seen:
                return False
            self._seen[key] = now + self.window
            while len(self._seen) > self.capacity:
                self._seen.popitem(last=False)
            return True

    def __len__(self) -> int:
        return len(self._seen)


class WebhookGate:
    """Checks one delivery for a vendor: signature, freshness, first time seen.

    ``secrets`` holds only the vendors with a configured secret; a vendor
    without one has no route (a webhook nobody can verify must not wake us).
    ``clock`` is wall-clock seconds (signed timestamps are Unix time).
    """

    def __init__(self, secrets: Mapping[str, str], *, tolerance: float = 180.0, replay_window: float = 3600.0,
                 capacity: int = 10_000, clock: Callable[[], float] = time.time) -> None:
        self.secrets = {vendor: secret for vendor, secret in secrets.items() if secret and vendor in VERIFIERS}
        self.tolerance = tolerance
        self.clock = clock
        self.replays = ReplayGuard(max(replay_window, 2 * tolerance), capacity)

    @property
    def vendors(self) -> tuple[str, ...]:
        return tuple(sorted(self.secrets))

    def check(self, vendor: str, headers: Mapping[str, str], body: bytes) -> Verdict:
        """``headers`` with lower-case names; ``body`` exactly as received."""
        verdict = VERIFIERS[vendor](self.secrets[vendor], headers, body)
        if not verdict.ok:
            return verdict
        now = self.clock()
        if verdict.signed_at is not None and abs(now - verdict.signed_at) > self.tolerance:
            return Verdict(STALE, verdict.key, verdict.signed_at)
        if not self.replays.first_time(verdict.key, now):
            return Verdict(REPLAYED, verdict.key, verdict.signed_at)
        return verdict


def gate_for(config: "WebhooksConfig", clock: Callable[[], float] = time.time) -> WebhookGate:
    """The gate for the ``[webhooks]`` section: one route per vendor whose secret is set."""
    return WebhookGate({"greenhouse": config.greenhouse_secret.get_secret_value(),
                        "lever": config.lever_token.get_secret_value(),
                        "calendly": config.calendly_signing_key.get_secret_value(),
                        "calcom": config.calcom_secret.get_secret_value()},
                       tolerance=config.tolerance_seconds, clock=clock)


def signed_delivery(vendor: str, secret: str, body: dict[str, Any], now: float) -> tuple[bytes, dict[str, str]]:
    """A delivery as ``vendor`` would send it: (raw body, headers), signed with ``secret``.

    Used by the sandbox to emit webhooks and by tests; ``now`` is Unix seconds.
    For Lever the signature fields are written into the body, as Lever does."""
    if vendor == "lever":
        token = str(body.get("token") or token_hex(16))  # per delivery, so two in one ms differ
        triggered = int(now * 1000)
        body = {**body, "token": token, "triggeredAt": triggered,
                "signature": hmac_hex(secret, f"{token}{triggered}".encode("utf-8"))}
    raw = json.dumps(body, separators=(",", ":")).encode("utf-8")
    headers = {"Content-Type": "application/json"}
    if vendor == "greenhouse":
        headers["Signature"] = f"sha256 {hmac_hex(secret, raw)}"
    elif vendor == "calendly":
        stamp = str(int(now))
        headers["Calendly-Webhook-Signature"] = f"t={stamp},v1={hmac_hex(secret, stamp.encode('ascii') + b'.' + raw)}"
    elif vendor == "calcom":
        headers["X-Cal-Signature-256"] = hmac_hex(secret, raw)
    elif vendor != "lever":
        raise ValueError(f"unknown webhook vendor {vendor!r}: use one of {', '.join(VENDORS)}")
    return raw, headers
