"""How far one poll may read a vendor list, and where it stopped.

A vendor that keeps handing out fresh cursors (or one huge backlog) must not
keep a poll running, and holding the run lock, for ever. Every list an adapter
walks therefore counts its pages against a :class:`Paging`:

- the poll's change listings get a budget from the config (``max_pages``) and
  the poll deadline; when either runs out the adapter stops *between* pages and
  leaves ``resume`` — the vendor's own position of the first unread page — so
  the next poll starts there and nothing is skipped;
- every other list (lookups, hiring teams, invitees) gets the runaway guard,
  where running out is an error rather than a pause;
- a position handed out twice in one listing is a vendor loop: an error,
  never a silent end of the list;
- a listing made of several vendor lists (Greenhouse: changed applications,
  then stage history) spends one budget on all of them, and its positions say
  which list they belong to (``stages|<Link URL>``); every page's records are
  handed out before the next page is read, so a position never leaves records
  behind it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from .errors import VendorError

RUNAWAY_PAGES = 1000  # lookups: far above any real list, low enough to end a loop


@dataclass
class Paging:
    """A page budget for one listing.

    ``start`` is where to begin (a vendor position a previous poll left in
    ``resume``; None for the first page). The adapter calls :meth:`fetched`
    after reading each page and :meth:`advance` before the next one; when the
    budget stops it, ``resume`` holds the next page's position and
    ``stopped`` says why ("page cap" or "deadline").
    """

    max_pages: int = RUNAWAY_PAGES
    start: str | None = None
    expired: Callable[[], bool] = field(default=lambda: False)
    pause: bool = False  # True: stop and keep ``resume``; False: running out is an error
    pages: int = 0
    current: str | None = None  # position of the page last read (None: the listing's first page)
    resume: str | None = None
    stopped: str = ""
    _seen: set[str] = field(default_factory=set)

    @classmethod
    def budget(cls, max_pages: int, start: str | None, expired: Callable[[], bool]) -> "Paging":
        """A poll listing's budget: stops cleanly instead of failing."""
        return cls(max_pages=max_pages, start=start or None, expired=expired, pause=True)

    def fetched(self, position: str | None) -> None:
        self.pages += 1
        self.current = position

    def advance(self, position: str | None, vendor: str, what: str) -> bool:
        """True to read the page at ``position``; False when the list ended or the
        budget stopped it (then ``resume`` is set). A repeated position raises."""
        if not position:
            return False
        if position in self._seen or position == self.current:
            raise VendorError(vendor, f"{what} paging handed out the same page position twice",
                              "the vendor's paging is looping; report it to the vendor (the next poll retries)")
        self._seen.add(position)
        reason = "page cap" if self.pages >= self.max_pages else "deadline" if self.expired() else ""
        if not reason:
            return True
        if not self.pause:
            raise VendorError(vendor, f"{what} kept returning pages ({self.pages} read)",
                              "the vendor's paging does not end; report it to the vendor")
        self.resume, self.stopped = position, reason
        return False
