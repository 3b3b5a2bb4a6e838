"""The contract every scheduling-platform adapter keeps (Calendly, Cal.com, ...)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Protocol

from ..models import Booking, EventType, Host
from ..paging import Paging


class Scheduler(Protocol):
    """What the poll cycle needs from a scheduling platform."""

    name: str

    def find_host(self, email: str) -> Host | None:
        """The scheduler user with this email in our organization, or None."""
        ...

    def get_event_type(self, host: Host, key: str) -> EventType | None:
        """The host's event type by slug or URI, or None."""
        ...

    def available_times(self, event_type: EventType, start: datetime, end: datetime) -> list[datetime]:
        """Bookable start times (UTC) between start and end; the adapter splits
        the range into the vendor's maximum window size."""
        ...

    def create_link(self, event_type: EventType, *, name: str, email: str, ref: str,
                    expires_at: datetime | None = None) -> str:
        """A new single-use booking URL, prefilled with name and email and
        carrying ``ref`` so the booking can be matched to the invitation."""
        ...

    def revoke_link(self, url: str) -> None:
        """Disable a link we created (no-op where the vendor has no such call)."""
        ...

    def changed_bookings(self, since: datetime | None, now: datetime,
                         paging: Paging | None = None) -> Iterator[Booking]:
        """Bookings created, canceled or rescheduled at or after ``since``; when
        ``paging`` stops the listing early, ``paging.resume`` is where the next
        poll (with the same ``since`` and ``now``) starts."""
        ...

    def mark_no_show(self, booking: Booking) -> None: ...

    def check_auth(self) -> dict[str, str]: ...
