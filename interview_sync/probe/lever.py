"""`doctor --probe` for Lever v1: does the live account keep the wire facts we rely on?

Read-only (GETs only, with the adapter's key). Each check reads a small sample
and says, per relied-on fact, how many sampled records kept it; a failing line
names the records that did not and the fix. The facts and their public sources
are listed in docs/vendors.md ("Lever v1").
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import quote

from ..ats.lever import LeverATS, to_ms
from ..doctor import Check
from ..errors import VendorError
from .sampling import read, share, user_checks

SCOPE_FIX = "give the Lever API key read access to this endpoint (Settings > Integrations and API > API Credentials)"
REPORT_FIX = ("the adapter's reading of Lever v1 does not hold on this account: note what differs in "
              "docs/vendors.md and report it before relying on the poll")
ARCHIVE_TYPES = ("hired", "non-hired")
MAX_POSTINGS = 5  # postings read one by one


def probe(adapter: LeverATS, *, sample: int = 10) -> list[Check]:
    """One line per wire fact the Lever adapter relies on, over ``sample`` live records."""
    limit = str(max(1, min(int(sample), 100)))
    checks: list[Check] = []
    opps = read(checks, "lever probe: list opportunities (confidentiality=all, expand=stage,applications)",
                SCOPE_FIX, lambda: adapter.read_list("/opportunities", {
                    "limit": limit, "confidentiality": "all", "expand": ["stage", "applications"]}))
    if opps is None:
        return checks
    opps = [o for o in opps if isinstance(o, dict)]
    checks.append(share("lever probe: opportunity.contact is an id", opps,
                        lambda o: isinstance(o.get("contact"), str) and bool(o["contact"]), REPORT_FIX))
    checks.append(share("lever probe: opportunity.updatedAt/createdAt are integer milliseconds", opps,
                        lambda o: _ms(o.get("createdAt")) and (o.get("updatedAt") is None or _ms(o["updatedAt"])),
                        "change detection filters on these; " + REPORT_FIX))
    checks.append(share("lever probe: opportunity.stage expands to {id, text}", opps,
                        lambda o: isinstance(o.get("stage"), dict) and bool(o["stage"].get("id"))
                        and isinstance(o["stage"].get("text"), str), "routes match stage names; " + REPORT_FIX))
    checks.append(share("lever probe: stageChanges record the entry into the current stage", opps, _entered_current,
                        "stage_changed_at falls back to lastAdvancedAt; " + REPORT_FIX))
    checks.append(share("lever probe: opportunity.archived is null or {reason, archivedAt}", opps,
                        lambda o: o.get("archived") is None or (isinstance(o["archived"], dict)
                                                                and "reason" in o["archived"]), REPORT_FIX))
    checks.append(share("lever probe: emails are strings, phones are [{type, value}]", opps, _contacts,
                        "candidates would get no email; " + REPORT_FIX))
    checks.append(share("lever probe: opportunity.owner is a user id", opps,
                        lambda o: isinstance(o.get("owner"), str) and bool(o["owner"]), REPORT_FIX, empty_ok=True))
    checks.append(share("lever probe: applications expand with posting, postingHiringManager, postingOwner",
                        [o for o in opps if o.get("applications")], _expanded_applications,
                        "jobs would be read with one more request per opportunity; " + REPORT_FIX, empty_ok=True))
    checks.append(_updated_filter(adapter))
    checks.extend(_settings_checks(adapter, opps))
    checks.extend(_people_checks(adapter, opps, limit))
    return checks


def _ms(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _entered_current(opp: dict[str, Any]) -> bool:
    stage = opp.get("stage")
    stage_id = stage.get("id") if isinstance(stage, dict) else stage
    changes = opp.get("stageChanges")
    return isinstance(changes, list) and any(
        isinstance(c, dict) and c.get("toStageId") == stage_id and _ms(c.get("updatedAt")) for c in changes)


def _contacts(opp: dict[str, Any]) -> bool:
    emails, phones = opp.get("emails"), opp.get("phones")
    return (isinstance(emails, list) and all(isinstance(e, str) for e in emails)
            and isinstance(phones, list) and all(isinstance(p, dict) and "value" in p for p in phones))


def _expanded_applications(opp: dict[str, Any]) -> bool:
    return all(isinstance(a, dict) and {"posting", "postingHiringManager", "postingOwner"} <= set(a)
               for a in opp["applications"])


def _updated_filter(adapter: LeverATS) -> Check:
    name = "lever probe: opportunities accept updated_at_start=<ms>"
    since = adapter.clock.now() - timedelta(days=1)
    try:
        adapter.read_list("/opportunities", {"limit": "1", "confidentiality": "all",
                                             "updated_at_start": str(to_ms(since))})
    except VendorError as exc:
        return Check(name, False, exc.message, "changed opportunities are found with this filter; " + REPORT_FIX)
    return Check(name, True, "the change listing's filter is accepted")


def _settings_checks(adapter: LeverATS, opps: list[dict[str, Any]]) -> list[Check]:
    checks: list[Check] = []
    stages = read(checks, "lever probe: list stages", SCOPE_FIX, lambda: adapter.read_list("/stages", {"limit": "100"}))
    if stages is not None:
        known = {s.get("id") for s in stages if isinstance(s, dict)}
        checks.append(share("lever probe: every sampled stage id is in /stages", opps,
                            lambda o: (o["stage"].get("id") if isinstance(o.get("stage"), dict)
                                       else o.get("stage")) in known,
                            "stage names come from /stages; " + REPORT_FIX))
    reasons = read(checks, "lever probe: list archive reasons", SCOPE_FIX,
                   lambda: adapter.read_list("/archive_reasons", {"limit": "100"}))
    if reasons is not None:
        checks.append(share("lever probe: archive reasons are typed hired | non-hired",
                            [r for r in reasons if isinstance(r, dict)], lambda r: r.get("type") in ARCHIVE_TYPES,
                            "hired and rejected candidacies are told apart by this type; " + REPORT_FIX))
    return checks


def _people_checks(adapter: LeverATS, opps: list[dict[str, Any]], limit: str) -> list[Check]:
    checks: list[Check] = []
    users = read(checks, "lever probe: list users", SCOPE_FIX, lambda: adapter.read_list("/users", {"limit": limit}))
    if users is not None:
        checks.extend(user_checks("lever", users, "jobTitle", "email", REPORT_FIX))
    contact = next((o["contact"] for o in opps if isinstance(o.get("contact"), str)), None)
    if contact is not None:
        person = read(checks, "lever probe: read a contact", SCOPE_FIX,
                      lambda: adapter.read_one(f"/contacts/{quote(contact, safe='')}"))
        if person is not None:
            checks.append(share("lever probe: contacts carry name, emails, phones", [person],
                                lambda c: isinstance(c.get("name"), str) and _contacts(c), REPORT_FIX))
    postings = list(dict.fromkeys(a["posting"] for o in opps for a in o.get("applications") or []
                                  if isinstance(a, dict) and isinstance(a.get("posting"), str)))[:MAX_POSTINGS]
    rows: list[dict[str, Any]] = []
    for posting in postings:
        found = read(checks, f"lever probe: read posting {posting}", SCOPE_FIX,
                     lambda p=posting: adapter.read_one(f"/postings/{quote(p, safe='')}"))
        if found is not None:
            rows.append(found)
    mailable = {u.get("id") for u in users or [] if isinstance(u, dict) and u.get("email")}
    team = [{"id": row.get(role)} for row in rows for role in ("hiringManager", "owner") if row.get(role)]
    checks.append(share("lever probe: posting hiringManager/owner resolve to users with an email",
                        team, lambda t: t["id"] in mailable or _user_has_email(adapter, t["id"]),
                        "give the user an email in Lever, or set another hiring manager on the posting",
                        empty_ok=True))
    return checks


def _user_has_email(adapter: LeverATS, user_id: str) -> bool:
    try:
        user = adapter.read_one(f"/users/{quote(user_id, safe='')}")
    except VendorError:
        return False
    return isinstance(user.get("email"), str) and "@" in user["email"]
