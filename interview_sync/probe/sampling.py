"""What the vendor probes share: one read that becomes a failing line when refused, and the
"how many sampled records keep this fact" line."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from ..doctor import Check
from ..errors import VendorAuthError, VendorError

MAX_NAMED = 5  # record ids named in one failing line
T = TypeVar("T")


def read(checks: list[Check], name: str, scope_fix: str, fetch: Callable[[], T]) -> T | None:
    """One read; a refusal becomes this check's failing line (and None)."""
    try:
        return fetch()
    except VendorAuthError as exc:
        checks.append(Check(name, False, exc.message, scope_fix))
    except VendorError as exc:
        checks.append(Check(name, False, exc.message, exc.fix or "the probe can be run again"))
    return None


def share(name: str, records: list[dict[str, Any]], holds: Callable[[dict[str, Any]], bool], fix: str, *,
          detail: Callable[[dict[str, Any]], str] | None = None, empty_ok: bool = False) -> Check:
    """How many sampled records keep a fact; the ones that do not, named by id."""
    if not records:
        return Check(name, empty_ok, "no record in the sample to check" if empty_ok else "the sample was empty",
                     "" if empty_ok else "add test data to the tenant or raise the sample size")
    failed = [r for r in records if not holds(r)]
    if not failed:
        return Check(name, True, f"{len(records)}/{len(records)} sampled records")
    named = ", ".join(f"{r.get('id')}" + (f" ({detail(r)})" if detail else "") for r in failed[:MAX_NAMED])
    more = f" and {len(failed) - MAX_NAMED} more" if len(failed) > MAX_NAMED else ""
    return Check(name, False, f"{len(records) - len(failed)}/{len(records)} kept it; not: {named}{more}", fix)


def user_checks(vendor: str, users: list[Any], title: str, email: str, report_fix: str) -> list[Check]:
    """The two user facts both ATSs are relied on for: a title field, and an email to mail."""
    rows = [u for u in users if isinstance(u, dict)]
    return [share(f"{vendor} probe: users carry {title}", rows, lambda u: title in u,
                  "the hiring manager's title would be missing from invitations; " + report_fix),
            share(f"{vendor} probe: users carry {email}", rows,
                  lambda u: isinstance(u.get(email), str) and "@" in u[email],
                  "a user without an email cannot be a hiring manager we mail; check the user")]
