"""`doctor --probe` for Cal.com v2: the fields and id relations CalcomScheduler relies on.

GETs only, under every configured key (the main one and each host's own): that
each host key acts as its host, that each key owns the event types it will make
private links on, that bookings carry the attendee, the reference and the
reschedule chain the adapter reads. docs/vendors.md lists the sources.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from ..doctor import Check, _guard
from ..errors import VendorError
from ..scheduler.calcom import _STATUS, CalcomScheduler, _ms
from .checks import is_instant, sample_check

_KEYS = "check scheduler.api_token and scheduler.host_keys (README: Cal.com v2)"


def probe(adapter: CalcomScheduler, *, sample: int = 10) -> list[Check]:
    """One line per relied-on fact, over up to ``sample`` records of each kind per key."""
    checks: list[Check] = []
    owners: dict[str, dict[str, Any]] = {}  # key -> its user

    def key_owners() -> list[Check]:
        main = adapter.read("/me", None).get("data") or {}
        owners[adapter.keys()[0]] = main
        lines = [Check("cal.com: main key's user has username and email", bool(main.get("username") and
                       main.get("email")), f"user {main.get('username') or '?'}",
                       "" if main.get("username") else "use a key of a Cal.com user with a username")]
        wrong = []
        for email, user in adapter.host_key_owners().items():
            if str(user.get("email", "")).casefold() != email:
                wrong.append(email)
        for key in adapter.keys()[1:]:
            owners[key] = adapter.read("/me", None, key=key).get("data") or {}
        lines.append(sample_check("cal.com: each scheduler.host_keys key acts as its host", len(adapter.keys()) - 1,
                                  wrong, "put each host's own API key under that host's email"))
        return lines

    checks += _guard("cal.com: keys", _KEYS, key_owners)
    event_types: list[tuple[str, dict[str, Any]]] = []  # (key, event type)

    def owned_event_types() -> list[Check]:
        bad: list[str] = []
        unlinkable: list[str] = []
        for key, user in owners.items():
            items = adapter.read("/event-types", "event_types", key=key).get("data") or []
            for item in (items if isinstance(items, list) else [items])[:sample]:
                event_types.append((key, item))
                if not (item.get("id") and item.get("slug") and item.get("lengthInMinutes")) or \
                        item.get("ownerId") not in (None, user.get("id")):
                    bad.append(str(item.get("slug") or item.get("id") or "?"))
                try:
                    adapter.read(f"/event-types/{item['id']}/private-links", "private_links", key=key)
                except VendorError:  # 404 from the ownership guard, 403 from missing permissions
                    unlinkable.append(str(item.get("slug") or item.get("id")))
        return [sample_check("cal.com: each key's event types have id, slug, lengthInMinutes and are its own",
                             len(event_types), bad, "routes name event types by slug among the host's own"),
                sample_check("cal.com: each key may manage private links of its own event types",
                             len(event_types), unlinkable, "give the key event-type write access (a key of "
                             "the event type's owner); Cal.com answers 404 to anyone else")]

    checks += _guard("cal.com: event types", _KEYS, owned_event_types)

    def slots() -> list[Check]:
        if not event_types:
            return [Check("cal.com: slots answer days of {start}", True, "not checked: no event type")]
        start = adapter.clock.now()
        data = adapter.read("/slots", "slots", params={"eventTypeId": event_types[0][1]["id"], "start": _ms(start),
                                                       "end": _ms(start + timedelta(days=7)), "timeZone": "UTC"})
        days = data.get("data") if isinstance(data.get("data"), dict) else {}
        starts = [s for day in days.values() if isinstance(day, list) for s in day]
        bad = [str(s)[:40] for s in starts if not (isinstance(s, dict) and is_instant(s.get("start")))]
        return [sample_check("cal.com: slots answer {day: [{start}]} (cal-api-version 2024-09-04)", len(starts), bad,
                             "availability checks read each slot's start; report it to Cal.com")]

    checks += _guard("cal.com: slots", _KEYS, slots)
    checks += _guard("cal.com: bookings", _KEYS, lambda: _bookings(adapter, owners, sample))
    return checks


def _previous(adapter: CalcomScheduler, key: str, uid: str) -> dict[str, Any]:
    data = adapter.read(f"/bookings/{uid}", "bookings", key=key).get("data")
    return data if isinstance(data, dict) else {}


def _bookings(adapter: CalcomScheduler, owners: dict[str, dict[str, Any]], sample: int) -> list[Check]:
    """Each key's latest bookings: shape, attendee, host (the key's owner) and the reschedule chain."""
    rows: list[tuple[str, dict[str, Any]]] = []
    for key, user in owners.items():
        listed = adapter.read("/bookings", "bookings", params={"sortUpdatedAt": "desc", "take": sample},
                              key=key).get("data") or []
        rows += [(key, b) for b in listed if isinstance(b, dict)]
    shape = [str(b.get("uid", "?")) for _, b in rows
             if not (b.get("uid") and str(b.get("status", "")).lower() in _STATUS and is_instant(b.get("start"))
                     and is_instant(b.get("end")) and is_instant(b.get("updatedAt"))
                     and isinstance(b.get("metadata"), dict))]
    attendees = [str(b.get("uid", "?")) for _, b in rows
                 if not (b.get("attendees") and b["attendees"][0].get("email") and b["attendees"][0].get("timeZone"))]
    hosted = [str(b.get("uid", "?")) for key, b in rows
              if not any(str(h.get("email", "")).casefold() == str(owners[key].get("email", "")).casefold()
                         for h in b.get("hosts") or [] if isinstance(h, dict))
              and not any(str(a.get("email", "")).casefold() == str(owners[key].get("email", "")).casefold()
                          for a in b.get("attendees") or [] if isinstance(a, dict))]
    chain = [str(b["uid"]) for key, b in rows if b.get("rescheduledFromUid")
             and _previous(adapter, key, str(b["rescheduledFromUid"])).get("rescheduledToUid") != b["uid"]]
    tagged = sum(1 for _, b in rows if str((b.get("metadata") or {}).get("ref") or "").startswith("is-"))
    return [sample_check("cal.com: bookings have uid, status, start, end, updatedAt and metadata", len(rows),
                         shape, "changed_bookings skips malformed bookings; report them to Cal.com",
                         note=f"{tagged} carry an interview-sync reference in metadata.ref"),
            sample_check("cal.com: first attendee has email and timeZone", len(rows), attendees,
                         "bookings without an attendee email are skipped; without timeZone times render "
                         "in policy.timezone"),
            sample_check("cal.com: a key's bookings are its owner's (hosts[].email)", len(rows), hosted,
                         "GET /v2/bookings lists the key owner's bookings; check scheduler.host_keys"),
            sample_check("cal.com: rescheduledFromUid names a booking whose rescheduledToUid points back",
                         sum(1 for _, b in rows if b.get("rescheduledFromUid")), chain,
                         "the reschedule is then read as a cancel plus a new booking; report it to Cal.com")]
