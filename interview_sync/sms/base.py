"""What the workflow needs from an SMS provider, whatever speaks the wire.

Polling only: we send, then read delivery status and replies back through the
provider's message listing on each poll, so no public endpoint is needed.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from ..errors import VendorError

# Outcome classes of a provider error code; the workflow acts on the class, not the number.
OPTED_OUT = "opted_out"  # the recipient texted STOP to the sender: the provider blocks us
INVALID = "invalid"  # not a number that can take a text (malformed, landline): use email
UNREACHABLE = "unreachable"  # accepted but not delivered (handset off, unknown, landline)
OTHER = "other"

FINAL_STATUSES = frozenset({"delivered", "undelivered", "failed", "received", "canceled"})
FAILED_STATUSES = frozenset({"undelivered", "failed"})


@dataclass(frozen=True)
class SmsMessage:
    """One message as the provider reports it. ``body`` is untrusted text on inbound
    messages: it is matched to our ids and quoted as plain text, never rendered."""

    sid: str
    to: str
    from_: str
    body: str
    status: str
    direction: str  # inbound | outbound-api | outbound-reply ...
    error_code: int | None = None
    date_sent: datetime | None = None
    date_created: datetime | None = None
    segments: int | None = None

    @property
    def inbound(self) -> bool:
        return self.direction == "inbound"


class SmsRejected(VendorError):
    """The provider refused a message (HTTP 400 with an error code)."""

    def __init__(self, vendor: str, code: int | None, message: str, outcome: str) -> None:
        self.code = code
        self.outcome = outcome
        super().__init__(vendor, f"message refused (error {code}): {message}",
                         "see the provider's error code reference", 400)


class SmsChannel(Protocol):
    """A provider that sends texts and lists recent messages (ours and replies)."""

    name: str
    sender: str  # the number or service replies arrive at; shown in the ledger

    def send(self, to: str, body: str) -> SmsMessage: ...

    def messages(self, since: datetime) -> Iterator[SmsMessage]: ...
