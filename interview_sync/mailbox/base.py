"""What every mailbox reader hands the poll: raw messages that arrived since a cursor.

A reader only fetches; it never interprets. The classifier
(:mod:`interview_sync.mailbox.classify`) decides what a message is, and the
poll matches it to one of our own Message-IDs before anything happens.
The cursor is an opaque string the reader alone understands (IMAP: the
folder's UIDVALIDITY and the last UID; Graph: a receivedDateTime); the poll
stores it only after every message of the batch was handled.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, runtime_checkable

MAX_MESSAGE_BYTES = 2_000_000  # a bounce or a reply is small; anything bigger is not read


@dataclass(frozen=True)
class InboundMail:
    """One message as the server stored it: its server id and its RFC 5322 bytes."""

    server_id: str
    raw: bytes
    received_at: datetime | None = None


@dataclass
class Batch:
    """The messages read in one poll and the cursor to store once they are handled."""

    mails: list[InboundMail] = field(default_factory=list)
    cursor: str | None = None


@runtime_checkable
class MailboxReader(Protocol):
    """Reads the sending (or a dedicated bounce) mailbox; one implementation per provider."""

    name: str

    def read(self, cursor: str | None, now: datetime) -> Batch:
        """Messages that arrived after ``cursor`` (``None``: the first read, which looks
        back a bounded window from ``now``), and the cursor to store after handling them."""
        ...

    def probe(self) -> str:
        """Sign in and open the folder without reading a message (``doctor``); one line saying so."""
        ...

    def close(self) -> None: ...
