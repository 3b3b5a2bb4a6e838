"""The vendors' documented JSON shapes, as plain builders shared by the tests.

One place says what a Greenhouse application, a Lever opportunity, a Calendly
invitee or a Cal.com booking looks like on the wire (field names, nesting,
timestamp formats), taken from the vendors' API references. The per-vendor
``responses`` tests (tests/test_<vendor>.py) build single answers with them;
the contract suite's stateful fakes (tests/test_contract.py) render their
in-memory state through them. Nothing here imports ``interview_sync.sandbox``:
these shapes stand for the documentation, independently of our sandbox.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

# ---------------------------------------------------------------- Greenhouse Harvest v3
# Flat objects with integer ids and foreign keys; ISO 8601 instants with milliseconds.


def gh_token(access_token: str, expires_in: int = 3600) -> dict[str, Any]:
    """``POST /token`` (client credentials) answer."""
    return {"access_token": access_token, "token_type": "Bearer", "expires_in": expires_in}


def gh_application(app_id: int, **overrides: object) -> dict[str, object]:
    """``GET /v3/applications`` row: flat, no nested candidate or stage. ``stage_id`` is the id of the
    application's current ``application_stages`` row (a stage *visit*), not a job interview stage id;
    ``stage_name`` names the interview stage."""
    record: dict[str, object] = {"id": app_id, "candidate_id": app_id - 10000, "job_id": 101,
                                 "stage_id": gh_visit_id(app_id), "stage_name": "Phone Screen",
                                 "status": "in_process", "prospect": False, "created_at": "2026-11-01T10:00:00.000Z",
                                 "updated_at": "2026-11-24T08:30:00.000Z",
                                 "last_activity_at": "2026-11-24T08:30:00.000Z", "custom_fields": {}}
    record.update(overrides)
    return record


def gh_visit_id(app_id: int, visit: int = 0) -> int:
    """An ``application_stages`` row id: its own id space, unlike any application or stage id."""
    return 500000 + app_id * 10 + visit


def gh_custom_field(name: str, kind: str, value: object) -> dict[str, object]:
    """One ``custom_fields`` value as v3 reads render it (keyed by the field's key)."""
    return {"name": name, "type": kind, "value": value}


def gh_candidate(cand_id: int, first_name: str, last_name: str, *, emails: Sequence[tuple[str, str]] = (),
                 phones: Sequence[tuple[str, str]] = (), updated_at: str = "2026-11-01T10:00:00.000Z") -> dict[str, Any]:
    """``GET /v3/candidates`` row; addresses are ``{value, type}`` objects."""
    return {"id": cand_id, "first_name": first_name, "last_name": last_name, "company": None, "title": None,
            "is_private": False, "can_email": True, "created_at": "2026-11-01T10:00:00.000Z", "updated_at": updated_at,
            "email_addresses": [{"value": v, "type": t} for v, t in emails],
            "phone_numbers": [{"value": v, "type": t} for v, t in phones]}


def gh_user(user_id: int, first_name: str, last_name: str, email: str, *, title: str | None = None) -> dict[str, Any]:
    """``GET /v3/users`` row: the user's title is ``job_title``."""
    return {"id": user_id, "first_name": first_name, "last_name": last_name, "name": f"{first_name} {last_name}",
            "primary_email": email, "emails": [email], "job_title": title, "deactivated": False, "site_admin": False,
            "created_at": "2026-01-05T09:00:00.000Z", "updated_at": "2026-01-05T09:00:00.000Z"}


def gh_job(job_id: int, name: str, *, department_id: int | None, office_ids: list[int],
           status: str = "open") -> dict[str, Any]:
    return {"id": job_id, "name": name, "requisition_id": f"REQ-{job_id}", "status": status, "confidential": False,
            "department_id": department_id, "office_ids": office_ids, "created_at": "2026-10-01T09:00:00.000Z",
            "updated_at": "2026-10-01T09:00:00.000Z"}


def gh_named(ident: int, name: str) -> dict[str, Any]:
    """A department or office row."""
    return {"id": ident, "name": name, "parent_id": None, "external_id": None}


def gh_stage(stage_id: int, job_id: int, name: str, sort_order: int) -> dict[str, Any]:
    """``GET /v3/job_interview_stages`` row."""
    return {"id": stage_id, "job_id": job_id, "name": name, "sort_order": sort_order}


def gh_application_stage(row_id: int, application_id: int, interview_stage_id: int, entered_at: str,
                         exited_at: str | None) -> dict[str, Any]:
    """``GET /v3/application_stages`` row: one visit of an application to a job interview stage."""
    return {"id": row_id, "application_id": application_id, "job_interview_stage_id": interview_stage_id,
            "entered_at": entered_at, "exited_at": exited_at, "current": exited_at is None, "days_in_stage": 0,
            "created_at": entered_at, "updated_at": exited_at or entered_at}


def gh_team_row(row_id: int, job_id: int, user_id: int, kind: str | None = None) -> dict[str, Any]:
    """``GET /v3/job_hiring_managers`` row, or ``/v3/job_owners`` with ``type`` (recruiter, coordinator)."""
    row: dict[str, Any] = {"id": row_id, "job_id": job_id, "user_id": user_id}
    if kind is not None:
        row["type"] = kind
    return row


# ---------------------------------------------------------------- Lever v1
# ``{"data": ...}`` envelopes; timestamps are integer milliseconds; ids are UUIDs.


def lever_listing(data: list, next_token: str | None = None) -> dict[str, object]:
    """A list answer: ``hasNext`` and, when true, the ``next`` offset token."""
    body: dict[str, object] = {"data": data, "hasNext": next_token is not None}
    if next_token is not None:
        body["next"] = next_token
    return body


def lever_opportunity(opp_id: str, *, contact: str, name: str, emails: list[str], phones: list[dict[str, str]],
                      stage: object, stage_changes: list[dict[str, Any]], applications: list[object], owner: str,
                      created_at: int, updated_at: int | None, last_advanced_at: int | None,
                      archived: dict[str, Any] | None = None, confidentiality: str = "non-confidential",
                      tags: list[str] | None = None, headline: str = "", location: str = "") -> dict[str, object]:
    """An opportunity; ``stage`` is an id, or ``{id, text}`` with ``expand=stage``; ``applications``
    ids, or application objects with ``expand=applications``."""
    return {"id": opp_id, "name": name, "headline": headline, "contact": contact, "emails": emails, "phones": phones,
            "confidentiality": confidentiality, "location": location, "links": [], "archived": archived,
            "createdAt": created_at, "updatedAt": updated_at, "lastInteractionAt": updated_at,
            "lastAdvancedAt": last_advanced_at, "snoozedUntil": None, "stage": stage, "stageChanges": stage_changes,
            "owner": owner, "followers": [owner], "tags": list(tags or []), "sources": ["Job site"],
            "origin": "applied", "applications": applications, "isAnonymized": False, "dataProtection": None}


def lever_stage_change(to_stage: str, index: int, at_ms: int, user: str) -> dict[str, Any]:
    return {"toStageId": to_stage, "toStageIndex": index, "updatedAt": at_ms, "userId": user}


def lever_application(app_id: str, opp_id: str, *, posting: str | None, hiring_manager: str | None,
                      owner: str | None, created_at: int = 1795000000000) -> dict[str, Any]:
    """An opportunity's application (``GET /opportunities/{id}/applications`` row)."""
    return {"id": app_id, "type": "posting", "opportunityId": opp_id, "candidateId": opp_id, "posting": posting,
            "postingHiringManager": hiring_manager, "postingOwner": owner, "user": None, "createdAt": created_at,
            "archived": None}


def lever_posting(posting_id: str, text: str, *, team: str | None, department: str | None, location: str | None,
                  hiring_manager: str | None, owner: str | None, user: str | None = None,
                  confidentiality: str = "non-confidential") -> dict[str, Any]:
    return {"id": posting_id, "text": text, "state": "published", "confidentiality": confidentiality,
            "user": user or owner, "owner": owner, "hiringManager": hiring_manager,
            "categories": {"team": team, "department": department, "location": location,
                           "commitment": "Full-time"},
            "createdAt": 1790000000000, "updatedAt": 1790000000000}


def lever_user(user_id: str, name: str, email: str, *, job_title: str | None = None) -> dict[str, Any]:
    return {"id": user_id, "name": name, "username": email.split("@")[0], "email": email, "accessRole": "team member",
            "photo": None, "createdAt": 1780000000000, "deactivatedAt": None, "externalDirectoryId": None,
            "linkedContactIds": None, "jobTitle": job_title, "manager": None}  # the manager's user id


def lever_contact(contact_id: str, name: str, emails: list[str], phones: list[dict[str, str]]) -> dict[str, Any]:
    return {"id": contact_id, "name": name, "headline": "", "isAnonymized": False, "location": {"name": ""},
            "emails": emails, "phones": phones}


# ---------------------------------------------------------------- Calendly v2
# ``{"resource": ...}`` for one object, ``{"collection", "pagination"}`` for lists;
# instants with microseconds; every reference is a full URI.


def calendly_page(collection: list, next_token: str | None = None,
                  api: str = "https://api.calendly.com") -> dict:
    return {"collection": collection, "pagination": {
        "count": len(collection), "next_page_token": next_token, "previous_page_token": None,
        "next_page": f"{api}/x?page_token={next_token}" if next_token else None, "previous_page": None}}


def calendly_user(uri: str, name: str, email: str, *, timezone: str, organization: str, slug: str) -> dict:
    return {"uri": uri, "name": name, "slug": slug, "email": email, "timezone": timezone,
            "scheduling_url": f"https://calendly.com/{slug}", "current_organization": organization,
            "created_at": "2026-01-05T09:00:00.000000Z", "updated_at": "2026-01-05T09:00:00.000000Z"}


def calendly_membership(uri: str, organization: str, user: dict, role: str = "user") -> dict:
    return {"uri": uri, "role": role, "organization": organization, "user": user,
            "created_at": "2026-01-05T09:00:00.000000Z", "updated_at": "2026-01-05T09:00:00.000000Z"}


def calendly_event_type(uri: str, *, slug: str, name: str, duration: int, owner: str, owner_name: str,
                        scheduling_url: str, active: bool = True) -> dict:
    return {"uri": uri, "name": name, "active": active, "slug": slug, "scheduling_url": scheduling_url,
            "duration": duration, "kind": "solo", "pooling_type": None, "type": "StandardEventType",
            "color": "#0069ff", "secret": False, "booking_method": "instant",
            "profile": {"type": "User", "name": owner_name, "owner": owner},
            "created_at": "2026-01-05T09:00:00.000000Z", "updated_at": "2026-01-05T09:00:00.000000Z"}


def calendly_available_time(start_time: str, scheduling_url: str) -> dict:
    return {"status": "available", "invitees_remaining": 1, "start_time": start_time,
            "scheduling_url": scheduling_url}


def calendly_event(uri: str, *, start: str, end: str, updated: str, event_type: str, host_uri: str, host_email: str,
                   host_name: str, status: str = "active", name: str = "Phone Screen (30 min)",
                   created: str = "2026-11-20T10:00:00.000000Z", location: dict | None = None,
                   cancellation: dict | None = None) -> dict:
    """``GET /scheduled_events`` row."""
    return {"uri": uri, "name": name, "status": status, "start_time": start, "end_time": end,
            "event_type": event_type,
            "location": location if location is not None else {"type": "zoom", "location": None,
                                                               "join_url": "https://zoom.example/j/123"},
            "invitees_counter": {"total": 1, "active": 1 if status == "active" else 0, "limit": 1},
            "created_at": created, "updated_at": updated,
            "event_memberships": [{"user": host_uri, "user_email": host_email, "user_name": host_name}],
            "event_guests": [], "cancellation": cancellation}


def calendly_invitee(uri: str, event: str, *, email: str, name: str, utm_content: str | None,
                     status: str = "active", created: str = "2026-11-20T10:00:00.000000Z",
                     updated: str = "2026-11-20T10:00:00.000000Z", timezone: str = "America/Chicago",
                     **extra: Any) -> dict:
    """``GET /scheduled_events/{uuid}/invitees`` row; our reference rides in ``tracking.utm_content``."""
    uuid = uri.rstrip("/").rsplit("/", 1)[-1]
    body = {"uri": uri, "email": email, "name": name, "status": status, "event": event, "timezone": timezone,
            "created_at": created, "updated_at": updated,
            "tracking": {"utm_campaign": None, "utm_source": None, "utm_medium": None,
                         "utm_content": utm_content, "utm_term": None, "salesforce_uuid": None},
            "rescheduled": False, "old_invitee": None, "new_invitee": None,
            "cancel_url": f"https://calendly.com/cancellations/{uuid}",
            "reschedule_url": f"https://calendly.com/reschedulings/{uuid}",
            "cancellation": None, "no_show": None, "questions_and_answers": []}
    body.update(extra)
    return body


# ---------------------------------------------------------------- Cal.com API v2
# ``{"status": "success", "data": ...}``; instants with milliseconds; numeric ids, string uids.


def calcom_ok(data: Any) -> dict:
    return {"status": "success", "data": data}


def calcom_error(code: str, message: str) -> dict:
    return {"status": "error", "error": {"code": code, "message": message}}


def calcom_me(*, user_id: int = 1, username: str = "ops", email: str = "ops@mercyvalley.example",
              name: str = "Talent Ops", org: int | None = 77, timezone: str = "America/Chicago") -> dict:
    """``GET /v2/me`` answer."""
    return calcom_ok({"id": user_id, "username": username, "email": email, "name": name, "timeFormat": 12,
                      "defaultScheduleId": 1, "weekStart": "Monday", "timeZone": timezone, "organizationId": org,
                      "organization": {"isPlatform": False, "id": org}})


def calcom_org_user(email: str, *, user_id: int = 12, username: str = "maria", name: str = "Maria Delgado",
                    org: int = 77, timezone: str = "America/Los_Angeles") -> dict:
    """``GET /v2/organizations/{orgId}/users`` row."""
    return {"id": user_id, "username": username, "name": name, "email": email, "timeZone": timezone,
            "weekStart": "Monday", "locale": "en",
            "profile": {"id": user_id + 1000, "organizationId": org, "userId": user_id, "username": username}}


def calcom_event_type(ident: int, slug: str, *, title: str = "Phone Screen (30 min)", length: int = 30,
                      owner_id: int = 12) -> dict:
    """``GET /v2/event-types`` row (cal-api-version 2024-06-14)."""
    return {"id": ident, "lengthInMinutes": length, "title": title, "slug": slug, "ownerId": owner_id,
            "hidden": False, "locations": [{"type": "phone"}], "bookingFields": []}


def calcom_private_link(link_id: str, event_type_id: int, booking_url: str, *, expires_at: str | None = None,
                        max_usage: int | None = None, usage: int = 0, expired: bool = False) -> dict:
    """A private link (cal-api-version 2024-09-04)."""
    body: dict[str, Any] = {"linkId": link_id, "eventTypeId": event_type_id, "isExpired": expired,
                            "bookingUrl": booking_url}
    if expires_at is not None:
        body["expiresAt"] = expires_at
    if max_usage is not None:
        body.update(maxUsageCount=max_usage, usageCount=usage)
    return body


def calcom_booking(uid: str, *, attendee: tuple[str, str], host: tuple[str, str], status: str = "accepted",
                   start: str = "2026-11-24T17:00:00.000Z", end: str = "2026-11-24T17:30:00.000Z",
                   duration: int = 30, event_type: tuple[int, str] = (501, "phone-screen-30"),
                   created: str = "2026-11-20T10:00:00.000Z", updated: str = "2026-11-23T14:58:00.000Z",
                   metadata: dict[str, str] | None = None, booking_id: int = 1, **extra: Any) -> dict:
    """``GET /v2/bookings`` row (cal-api-version 2024-08-13); ``attendee``/``host`` are (name, email)."""
    body = {"id": booking_id, "uid": uid, "title": f"{event_type[1]} between {host[0]} and {attendee[0]}",
            "hosts": [{"id": 12, "name": host[0], "email": host[1], "username": host[1].split("@")[0],
                       "timeZone": "America/Los_Angeles"}],
            "status": status, "cancellationReason": None, "cancelledByEmail": None, "reschedulingReason": None,
            "rescheduledByEmail": None, "rescheduledFromUid": None, "rescheduledToUid": None,
            "start": start, "end": end, "duration": duration,
            "eventTypeId": event_type[0], "eventType": {"id": event_type[0], "slug": event_type[1]},
            "meetingUrl": "https://cal.video/abc", "location": "https://cal.video/abc", "absentHost": False,
            "createdAt": created, "updatedAt": updated, "metadata": dict(metadata or {}),
            "attendees": [{"name": attendee[0], "email": attendee[1], "timeZone": "America/Chicago",
                           "language": "en", "absent": False}],
            "guests": [], "bookingFieldsResponses": {"name": attendee[0], "email": attendee[1]}}
    body.update(extra)
    return body


def calcom_listing(data: list, *, skip: int = 0, total: int | None = None, per_page: int = 100) -> dict:
    """A ``take``/``skip`` page with its ``pagination`` object."""
    total = len(data) if total is None else total
    return {"status": "success", "data": data, "pagination": {
        "totalItems": total, "remainingItems": total - skip - len(data), "returnedItems": len(data),
        "itemsPerPage": per_page, "currentPage": skip // per_page + 1, "totalPages": max(1, -(-total // per_page)),
        "hasNextPage": skip + len(data) < total, "hasPreviousPage": skip > 0}}
