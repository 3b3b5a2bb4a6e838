"""`doctor --probe` for Greenhouse Harvest v3: does the live tenant keep the wire facts we rely on?

Read-only (GETs only, through the adapter's authenticated session). Each check
reads a small sample and says, per relied-on fact, how many sampled records
kept it; a failing line names the records that did not and the fix. The facts
and their public sources are listed in docs/vendors.md ("Greenhouse Harvest v3").
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from ..ats.greenhouse import STATUSES, GreenhouseATS
from ..clock import iso
from ..doctor import Check
from ..errors import VendorAuthError, VendorError
from .sampling import read, share, user_checks

APPLICATION_FIELDS = ("id", "candidate_id", "job_id", "stage_id", "stage_name", "status", "updated_at")
VISIT_FIELDS = ("id", "application_id", "job_interview_stage_id", "entered_at", "exited_at", "current")
REPORT_FIX = ("the adapter's reading of Harvest v3 does not hold on this tenant: note what differs in "
              "docs/vendors.md and report it before relying on the poll")
SCOPE_FIX = "give the Harvest credential read access to this resource (Configure > Dev Center > API Credentials)"


def probe(adapter: GreenhouseATS, *, sample: int = 10) -> list[Check]:
    """One line per wire fact the Greenhouse adapter relies on, over ``sample`` live records."""
    size = str(max(1, min(int(sample), 50)))  # ids= filters take at most 50
    checks: list[Check] = []
    apps = read(checks, "greenhouse probe: list applications", SCOPE_FIX, lambda: adapter.read_list(
        "/applications", {"per_page": size}))
    if apps is None:
        return checks
    apps = [a for a in apps if isinstance(a, dict)]
    for name in APPLICATION_FIELDS:
        checks.append(share(f"greenhouse probe: application.{name} present", apps,
                            lambda a, n=name: a.get(n) is not None, REPORT_FIX))
    checks.append(share("greenhouse probe: application.status is one we read", apps,
                        lambda a: a.get("status") in STATUSES,
                        f"statuses outside {', '.join(sorted(STATUSES))} are skipped as bad records; {REPORT_FIX}",
                        detail=lambda a: f"status {a.get('status')!r}"))
    checks.append(_history_filter(adapter))
    ids = [str(a["id"]) for a in apps if a.get("id") is not None]
    visits = read(checks, "greenhouse probe: read stage visits of the sample", SCOPE_FIX, lambda: adapter.read_list(
        "/application_stages", {"application_ids": ",".join(ids), "per_page": "500"})) if ids else []
    if visits is not None:
        checks.extend(_visit_checks(adapter, apps, [v for v in visits if isinstance(v, dict)]))
    checks.append(share("greenhouse probe: application.custom_fields values are {name, type, value}",
                        [a for a in apps if isinstance(a.get("custom_fields"), dict) and a["custom_fields"]],
                        lambda a: all(isinstance(v, dict) and "value" in v and "name" in v
                                      for v in a["custom_fields"].values()),
                        "`custom.<field>` routes would not match; " + REPORT_FIX, empty_ok=True))
    checks.extend(_candidate_checks(adapter, apps))
    checks.extend(_people_checks(adapter, apps, size))
    checks.append(_rate_limit(adapter))
    return checks


def _history_filter(adapter: GreenhouseATS) -> Check:
    """The primary change signal: stage visits filtered by ``updated_at``."""
    name = "greenhouse probe: application_stages accept updated_at=gte|<ISO>"
    since = adapter.clock.now() - timedelta(days=1)
    try:
        adapter.read_list("/application_stages", {"updated_at": f"gte|{iso(since)}", "per_page": "1"})
    except VendorAuthError as exc:
        return Check(name, False, exc.message, "grant the credential read access to Application Stages: without "
                                               "it a stage move that leaves updated_at alone is missed")
    except VendorError as exc:
        return Check(name, False, exc.message, REPORT_FIX)
    return Check(name, True, "the stage-history read works (primary stage-change signal)")


def _visit_checks(adapter: GreenhouseATS, apps: list[dict[str, Any]], visits: list[dict[str, Any]]) -> list[Check]:
    checks = [share("greenhouse probe: application_stages rows carry " + ", ".join(VISIT_FIELDS[2:]), visits,
                    lambda v: all(f in v for f in VISIT_FIELDS), REPORT_FIX)]
    by_id = {str(v.get("id")): v for v in visits}
    active = [a for a in apps if a.get("status") in ("in_process", "active") and a.get("stage_id") is not None]
    checks.append(share("greenhouse probe: application.stage_id is its current application_stages row", active,
                        lambda a: _is_current_visit(by_id.get(str(a["stage_id"])), a),
                        "stage moves would be named and timed wrongly; " + REPORT_FIX,
                        detail=lambda a: f"stage_id {a.get('stage_id')}"))
    stage_ids = {str(v["job_interview_stage_id"]) for v in visits if v.get("job_interview_stage_id") is not None}
    names: dict[str, str] = {}
    if stage_ids:
        try:
            rows = adapter.read_list("/job_interview_stages", {"ids": ",".join(sorted(stage_ids)[:50]),
                                                               "per_page": "500"})
            names = {str(r.get("id")): str(r.get("name")) for r in rows if isinstance(r, dict)}
        except VendorError as exc:
            return checks + [Check("greenhouse probe: stage names resolve", False, exc.message, REPORT_FIX)]

    def same_name(app: dict[str, Any]) -> bool:
        visit = by_id.get(str(app["stage_id"]))
        stage = names.get(str(visit.get("job_interview_stage_id"))) if visit else None
        return stage is not None and stage == app.get("stage_name")

    checks.append(share("greenhouse probe: stage_name matches the visit's job_interview_stage name", active,
                        same_name, "routes match stage names; " + REPORT_FIX,
                        detail=lambda a: f"stage_name {a.get('stage_name')!r}"))
    return checks


def _is_current_visit(visit: dict[str, Any] | None, app: dict[str, Any]) -> bool:
    return (visit is not None and str(visit.get("application_id")) == str(app.get("id"))
            and (visit.get("current") is True or ("current" not in visit and visit.get("exited_at") is None)))


def _candidate_checks(adapter: GreenhouseATS, apps: list[dict[str, Any]]) -> list[Check]:
    ids = _ids(a.get("candidate_id") for a in apps)
    checks: list[Check] = []
    rows = read(checks, "greenhouse probe: read candidates by ids=", SCOPE_FIX, lambda: adapter.read_list(
        "/candidates", {"ids": ",".join(ids), "per_page": "50"})) if ids else []
    if rows is None:
        return checks
    rows = [r for r in rows if isinstance(r, dict)]
    checks.append(share("greenhouse probe: candidates batch-read by ids= come back", [{"id": i} for i in ids],
                        lambda r: r["id"] in {str(c.get("id")) for c in rows},
                        "candidate reads are batched 50 per request; " + REPORT_FIX))
    checks.append(share("greenhouse probe: candidate email_addresses/phone_numbers are [{value, type}]", rows,
                        lambda c: all(_contact_list(c.get(k)) for k in ("email_addresses", "phone_numbers")),
                        "candidates would get no email; " + REPORT_FIX))
    return checks


def _contact_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(e, dict) and "value" in e and "type" in e for e in value)


def _people_checks(adapter: GreenhouseATS, apps: list[dict[str, Any]], size: str) -> list[Check]:
    checks: list[Check] = []
    users = read(checks, "greenhouse probe: list users", SCOPE_FIX,
                 lambda: adapter.read_list("/users", {"per_page": size}))
    if users is not None:
        checks.extend(user_checks("greenhouse", users, "job_title", "primary_email", REPORT_FIX))
    jobs = _ids(a.get("job_id") for a in apps if a.get("status") in ("in_process", "active"))
    if not jobs:
        return checks
    managers = read(checks, "greenhouse probe: read job hiring managers", SCOPE_FIX, lambda: adapter.read_list(
        "/job_hiring_managers", {"job_ids": ",".join(jobs), "per_page": "500"}))
    if managers is None:
        return checks
    by_job: dict[str, list[str]] = {}
    for row in managers:
        if isinstance(row, dict) and row.get("user_id") is not None:
            by_job.setdefault(str(row.get("job_id")), []).append(str(row["user_id"]))
    people = _ids(u for team in by_job.values() for u in team)
    found = read(checks, "greenhouse probe: read hiring managers by ids=", SCOPE_FIX, lambda: adapter.read_list(
        "/users", {"ids": ",".join(people), "per_page": "50"})) if people else []
    if found is None:
        return checks
    mailable = {str(u.get("id")) for u in found if isinstance(u, dict) and u.get("primary_email")}
    # Jobs without a hiring manager are data (plain `doctor` names them); this checks the relation.
    checks.append(share("greenhouse probe: job_hiring_managers.user_id resolves to a user with an email",
                        [{"id": user} for user in people], lambda u: u["id"] in mailable,
                        "give the user an email in Greenhouse, or replace them on the job's hiring team",
                        empty_ok=True))
    return checks


def _rate_limit(adapter: GreenhouseATS) -> Check:
    name = "greenhouse probe: X-RateLimit-Limit/Remaining/Reset on responses"
    seen = sorted(adapter.rate_limit)
    ok = len(seen) == 3
    return Check(name, ok, f"seen: {', '.join(seen) or 'none'}",
                 "" if ok else "pacing falls back to 429 + Retry-After only; " + REPORT_FIX)


def _ids(values: Iterable[Any]) -> list[str]:
    return list(dict.fromkeys(str(v) for v in values if v is not None))[:50]
