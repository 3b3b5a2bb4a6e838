"""Audit log: verify the hash chain, export for compliance, purge after retention.

The chain itself is written by :meth:`StateDB.audit` (design in
``interview_sync/state/db.py``). This module only reads rows through the
store's streaming iterators, so an export of a million rows holds one row in
memory at a time.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal, TextIO

from .clock import ensure_utc
from .invitation import PERSONAL_FIELDS, Invitation, State
from .report_channels import CANDIDATE_KINDS
from .sanitize import clean
from .state.db import AUDIT_COLUMNS, GENESIS_HASH, StateDB, pii_digest, row_hash

INVITATION_COLUMNS = ("invitation_ref", "application_id", "candidate_id", "job", "stage",
                      "stage_changed_at", "invite_sent_at", "candidate_email", "booking_link",
                      "booking_ref", "followup_sent_at", "booked_at", "interview_start",
                      "interview_end", "interview_format", "reschedules", "cancelled_at",
                      "flagged_at", "alerts", "state", "channels", "texts_sent", "sms_consent",
                      "sms_consent_source", "locale")
# The last five (issue 14) follow SPEC §5's columns: the channels that carried candidate
# messages, and the number's consent state and source at export time (TCPA record).

# states whose personal data may be purged once old enough (never an open invitation)
PURGEABLE_STATES = (State.CLOSED.value, State.FLAGGED.value, State.NEEDS_ATTENTION.value)

# A spreadsheet runs a cell starting with one of these as a formula (OWASP CSV injection),
# also after leading whitespace, and Excel and LibreOffice read the full-width forms too.
_FORMULA_STARTS = ("=", "+", "-", "@", "\uff1d", "\uff0b", "\uff0d", "\uff20")
_BREAKS = "\t\r\n"  # legal inside a quoted cell, but a cell may not start with one
# What Excel needs to read a UTF-8 CSV as UTF-8 (else "Zoë" shows as "ZoÃ«").
EXCEL_BOM = "\ufeff"


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    rows: int
    first_bad_seq: int | None = None
    reason: str = "ok"


@dataclass(frozen=True)
class PurgeResult:
    cutoff: datetime
    dry_run: bool
    invitations: int
    audit_rows: int
    refs: list[str] = field(default_factory=list)
    oldest: datetime | None = None  # earliest last change among the purged invitations
    newest: datetime | None = None  # latest one (always before the cutoff)


# --- verify ------------------------------------------------------------------------------


def verify_chain(db: StateDB) -> VerifyResult:
    """Walk the log in seq order and report the first row that breaks the chain.

    Checks, per row: seq is the next integer (a gap means a deleted row);
    prev_hash equals the previous row's hash (a deleted or reordered row);
    pii_digest matches recipient/detail (unless purged, which is legitimate
    only before a ``purge`` event for the same invitation); hash matches the
    row's contents. An attacker who rewrites *every* later hash is not caught
    here; keeping the last hash of each export elsewhere closes that gap.
    """
    purges = db.last_purge_seqs()
    expected_seq, prev, rows = 1, GENESIS_HASH, 0
    for row in db.iter_audit():
        seq = row["seq"]
        if seq != expected_seq:
            if seq > expected_seq:
                why = f"row {expected_seq} is missing (next row is {seq})"
            else:
                why = f"rows out of order (seq {seq} after {expected_seq - 1})"
            return VerifyResult(False, rows, expected_seq, why)
        if row["prev_hash"] != prev:
            return VerifyResult(False, rows, seq,
                                f"row {seq} does not follow row {seq - 1} (prev_hash differs: "
                                "a row was removed, inserted or reordered)")
        reason = _pii_problem(row, purges)
        if reason:
            return VerifyResult(False, rows, seq, reason)
        if row_hash(prev, row) != row["hash"]:
            return VerifyResult(False, rows, seq, f"row {seq} was changed after it was written")
        prev, expected_seq, rows = row["hash"], seq + 1, rows + 1
    return VerifyResult(True, rows, None, "ok")


def _pii_problem(row: dict[str, Any], purges: dict[str | None, int]) -> str | None:
    seq = row["seq"]
    if row["pii_salt"] is None:
        if row["recipient"] is not None or row["detail"] is not None:
            return f"row {seq} recipient/detail were changed after it was written"
        if purges.get(row["invitation_ref"], 0) <= seq:
            return f"row {seq} recipient/detail were blanked without a purge"
        return None
    if pii_digest(row["pii_salt"], row["recipient"], row["detail"]) != row["pii_digest"]:
        return f"row {seq} recipient/detail were changed after it was written"
    return None


# --- export ------------------------------------------------------------------------------


def neutralise(value: str) -> str:
    """A cell a spreadsheet cannot misread: bidi overrides and control characters gone
    (tabs and line breaks stay: the CSV writer quotes them), and a would-be formula
    prefixed with ``'`` (OWASP CSV injection), leading whitespace or not."""
    value = clean(value, keep=_BREAKS)
    risky = value.startswith(tuple(_BREAKS)) or value.lstrip().startswith(_FORMULA_STARTS)
    return "'" + value if risky else value


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return ensure_utc(value).isoformat()
    return neutralise(str(value))


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return ensure_utc(value).isoformat()
    return value


def invitation_record(inv: Invitation) -> dict[str, Any]:
    """The SPEC §5 compliance record of one invitation, in column order."""
    return {
        "invitation_ref": inv.ref, "application_id": inv.application_id,
        "candidate_id": inv.candidate_id, "job": inv.job_name, "stage": inv.stage_name,
        "stage_changed_at": inv.stage_changed_at, "invite_sent_at": inv.invite_sent_at,
        "candidate_email": inv.candidate_email, "booking_link": inv.link_url,
        "booking_ref": inv.booking_ref, "followup_sent_at": inv.followup_sent_at,
        "booked_at": inv.booked_at, "interview_start": inv.interview_start,
        "interview_end": inv.interview_end, "interview_format": inv.interview_format,
        "reschedules": inv.reschedules, "cancelled_at": inv.cancelled_at,
        "flagged_at": inv.flagged_at, "alerts": inv.alerts, "state": State(inv.state).value,
    }


def channel_columns(inv: Invitation, consents: dict[str, dict[str, Any]], emailed: set[str],
                    texts: dict[str, int]) -> dict[str, Any]:
    """The channels that carried candidate messages and the number's consent (``consents``
    by phone, ``emailed`` refs and ``texts`` per ref are read once per export, not per row)."""
    consent = consents.get(inv.sms_phone or "")
    sent = texts.get(inv.ref, 0)
    used = [name for name, on in (("email", inv.ref in emailed), ("sms", sent > 0)) if on]
    return {
        "channels": "+".join(used), "texts_sent": sent,
        "sms_consent": consent["state"] if consent else ("none" if inv.sms_phone else ""),
        "sms_consent_source": consent["source"] if consent else "", "locale": inv.locale or "",
    }


def _records(db: StateDB, kind: str, since: datetime | None,
             until: datetime | None) -> tuple[tuple[str, ...], Iterator[dict[str, Any]]]:
    if kind == "events":
        # `at` is stored as ISO 8601 with offset already
        return AUDIT_COLUMNS, ({c: row[c] for c in AUDIT_COLUMNS}
                               for row in db.iter_audit(since, until))
    if kind == "invitations":
        consents = {row["phone"]: row for row in db.consents()}
        emailed = db.refs_emailed(CANDIDATE_KINDS)
        texts = db.texts_sent_by_ref()
        return INVITATION_COLUMNS, (invitation_record(inv) | channel_columns(inv, consents, emailed, texts)
                                    for inv in db.iter_invitations(since, until))
    raise ValueError(f"unknown export kind {kind!r}; use events or invitations")


def export(db: StateDB, *, kind: Literal["events", "invitations"] = "events",
           fmt: Literal["csv", "jsonl"] = "csv", since: datetime | None = None,
           until: datetime | None = None, out: TextIO, excel: bool = False) -> int:
    """Stream ``kind`` rows with ``since <= time < until`` to ``out``; returns the row count.

    ``events`` filters on the event time, ``invitations`` on the stage change
    time. CSV gets a header and spreadsheet-safe cells (and with ``excel`` a
    UTF-8 byte-order mark first); JSONL is raw values.
    """
    if fmt not in ("csv", "jsonl"):
        raise ValueError(f"unknown export format {fmt!r}; use csv or jsonl")
    if excel and fmt != "csv":
        raise ValueError("the Excel byte-order mark applies to CSV only")
    columns, records = _records(db, kind, since, until)
    count = 0
    if fmt == "csv":
        if excel:
            out.write(EXCEL_BOM)
        writer = csv.writer(out)
        writer.writerow(columns)
        for record in records:
            writer.writerow([_cell(record[c]) for c in columns])
            count += 1
    else:
        for record in records:
            out.write(json.dumps({c: _json_value(record[c]) for c in columns},
                                 ensure_ascii=False) + "\n")
            count += 1
    return count


# --- purge -------------------------------------------------------------------------------


def purge(db: StateDB, *, older_than_days: int, now: datetime, dry_run: bool) -> PurgeResult:
    """Blank personal data of finished invitations not updated for ``older_than_days``.

    Each purged invitation loses its PERSONAL_FIELDS, its outbox recipients
    and the recipient/detail of its audit rows (their digests stay, so
    ``verify_chain`` stays green), and gains a ``purge`` audit row.
    """
    if older_than_days < 0:
        raise ValueError("older_than_days must be 0 or more")
    cutoff = ensure_utc(now) - timedelta(days=older_than_days)
    candidates = db.purge_candidates(cutoff, PURGEABLE_STATES)
    refs = [inv.ref for inv in candidates]
    changed = [inv.updated_at or inv.created_at for inv in candidates]
    span = (min(changed), max(changed)) if changed else (None, None)
    if dry_run:
        rows = sum(db.audit_rows_with_pii(ref) for ref in refs)
        return PurgeResult(cutoff, True, len(refs), rows, refs, *span)
    rows = 0
    with db.transaction():
        for inv in candidates:
            rows += db.purge_invitation(inv.ref, at=now)
            db.audit("purge", at=now, ref=inv.ref, application_id=inv.application_id,
                     candidate_id=inv.candidate_id,
                     detail=f"personal data removed after {older_than_days} days")
    db.checkpoint()
    return PurgeResult(cutoff, False, len(refs), rows, refs, *span)


def purge_summary(result: PurgeResult) -> list[str]:
    """What a purge removes and keeps, in words a recruiter or a privacy officer can check."""
    if not result.invitations:
        return [f"nothing to purge: no closed, flagged or needs-attention invitation last changed before "
                f"{result.cutoff:%Y-%m-%d}"]
    assert result.oldest is not None and result.newest is not None
    return [
        f"{result.invitations} invitation(s) (closed, flagged or needs attention), last changed between "
        f"{result.oldest:%Y-%m-%d} and {result.newest:%Y-%m-%d} (cutoff {result.cutoff:%Y-%m-%d})",
        f"removes: {', '.join(name.replace('_', ' ') for name in PERSONAL_FIELDS)}; outbox recipients; "
        f"recipient and detail of {result.audit_rows} audit row(s)",
        "keeps: application, candidate and job ids, stages, states, dates and counts (reports still add up), "
        "and every audit row with its hash (`audit verify` stays green)",
    ]
