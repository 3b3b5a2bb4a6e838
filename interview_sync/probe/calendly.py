"""`doctor --probe` for Calendly v2: the fields and id relations CalendlyScheduler relies on.

GETs only. Each check reads a small sample of one record kind and reports what
matched and what did not, with the fix; docs/vendors.md lists the same facts
with their public sources.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from ..clock import iso
from ..doctor import Check, _guard
from ..scheduler.calendly import PAGE_SIZE, CalendlyScheduler, _last_segment
from .checks import is_instant, sample_check

_SCOPES = "check the token's scopes (README: Calendly credentials)"


def probe(adapter: CalendlyScheduler, *, sample: int = 10) -> list[Check]:
    """One line per relied-on fact, over up to ``sample`` records of each kind."""
    checks: list[Check] = []
    me: dict[str, Any] = {}

    def token() -> list[Check]:
        me.update(adapter.read("/users/me").get("resource") or {})
        org = me.get("current_organization")
        return [Check("calendly: token owner belongs to an organization", bool(org),
                      f"current_organization = {org}" if org else "/users/me has no current_organization",
                      "" if org else "use a token of an owner or admin of the Calendly organization")]

    checks += _guard("calendly: token owner", _SCOPES, token)
    if not me.get("current_organization"):
        return checks
    org = str(me["current_organization"])
    users: list[dict[str, Any]] = []

    def memberships() -> list[Check]:
        rows = adapter.read_all("/organization_memberships", {"organization": org, "count": min(sample, PAGE_SIZE)},
                                sample)
        users.extend(r["user"] for r in rows if isinstance(r.get("user"), dict))
        bad = [u.get("uri", "?") for u in users if not (u.get("uri") and u.get("email") and u.get("timezone"))]
        return [sample_check("calendly: memberships carry user uri, email and timezone", len(users), bad,
                       "find_host matches hiring managers by membership.user.email; give each a Calendly seat")]

    checks += _guard("calendly: memberships", _SCOPES, memberships)
    event_types: list[dict[str, Any]] = []

    def owned_event_types() -> list[Check]:
        bad: list[str] = []
        for user in users[:sample]:
            for item in adapter.read_all("/event_types", {"user": user["uri"], "count": PAGE_SIZE}, sample):
                event_types.append(item)
                owner = (item.get("profile") or {}).get("owner")
                if not (item.get("slug") and item.get("uri") and item.get("duration")) or owner != user["uri"]:
                    bad.append(f"{item.get('slug') or item.get('uri', '?')} (owner {owner})")
        return [sample_check("calendly: event types have slug, uri, duration and profile.owner = their host",
                       len(event_types), bad, "get_event_type finds a host's event type by slug among "
                       "GET /event_types?user=; fix the event type's owner or the route's event_type")]

    checks += _guard("calendly: event types", _SCOPES, owned_event_types)
    checks += _guard("calendly: available times", _SCOPES, lambda: _available_times(adapter, event_types))
    events: list[dict[str, Any]] = []

    def scheduled_events() -> list[Check]:
        since = adapter.clock.now() - adapter.lookback
        events.extend(adapter.read_all("/scheduled_events", {"organization": org, "min_start_time": iso(since),
                                                             "sort": "start_time:asc", "count": PAGE_SIZE}, sample))
        shape = [e.get("uri", "?") for e in events
                 if not (e.get("uri") and is_instant(e.get("updated_at")) and is_instant(e.get("start_time")))]
        no_email = [e.get("uri", "?") for e in events
                    if not any(m.get("user_email") for m in e.get("event_memberships") or [])]
        unresolved = [uri for uri in no_email if not _resolves(adapter, events, uri)]
        return [sample_check("calendly: scheduled events have uri, updated_at and start_time", len(events), shape,
                       "changed_bookings skips such events; report them to Calendly"),
                sample_check("calendly: event_memberships[].user_email names the host", len(events), unresolved,
                       "give the token users:read so the host is read from GET /users/{uuid}",
                       note=f"{len(no_email) - len(unresolved)} resolved through the membership's user URI"
                       if no_email else "")]

    checks += _guard("calendly: scheduled events", _SCOPES, scheduled_events)

    checks += _guard("calendly: invitees", _SCOPES, lambda: _invitees(adapter, events, sample))
    return checks


def _resolves(adapter: CalendlyScheduler, events: list[dict[str, Any]], event_uri: str) -> bool:
    event = next(e for e in events if e.get("uri") == event_uri)
    return any(m.get("user") and adapter.user_email(str(m["user"])) for m in event.get("event_memberships") or [])


def _available_times(adapter: CalendlyScheduler, event_types: list[dict[str, Any]]) -> list[Check]:
    """One window of the first active event type's available times (what availability checks read)."""
    active = next((e for e in event_types if e.get("active", True)), None)
    if active is None:
        return [Check("calendly: available times in 7-day windows", True, "not checked: no active event type")]
    start = adapter.clock.now().replace(microsecond=0) + timedelta(minutes=1)
    body = adapter.read("/event_type_available_times", {"event_type": active["uri"], "start_time": iso(start),
                                                        "end_time": iso(start + adapter.window)})
    slots = body.get("collection") or []
    bad = [str(s)[:60] for s in slots if not is_instant(s.get("start_time"))]
    return [sample_check(f"calendly: available times in {adapter.window.days}-day windows have start_time",
                         len(slots), bad, "report it to Calendly; availability checks read start_time")]


def _invitees(adapter: CalendlyScheduler, events: list[dict[str, Any]], sample: int) -> list[Check]:
    """The invitees of the sampled events: what a booking is read from, and the reschedule link."""
    rows: list[dict[str, Any]] = []
    for event in events[:sample]:
        rows += adapter.read_all(f"/scheduled_events/{_last_segment(str(event['uri']))}/invitees",
                                 {"count": PAGE_SIZE}, sample)
    shape = [i.get("uri", "?") for i in rows
             if not (i.get("email") and isinstance(i.get("tracking"), dict) and i.get("timezone"))]
    tagged = sum(1 for i in rows if str((i.get("tracking") or {}).get("utm_content") or "").startswith("is-"))
    moved = [i.get("uri", "?") for i in rows if i.get("rescheduled") and not i.get("new_invitee")]
    return [sample_check("calendly: invitees have email, tracking and timezone", len(rows), shape,
                         "bookings without email are skipped; without tracking they match by email + host",
                         note=f"{tagged} carry an interview-sync reference in tracking.utm_content"),
            sample_check("calendly: a rescheduled invitee names its new_invitee", len(rows), moved,
                         "the reschedule is then read as a cancel plus a new booking; report it to Calendly")]
