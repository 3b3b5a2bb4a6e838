"""The consent ledger: one row per number (its current state, source, time and the
text the candidate was shown), every change an audit event. Opt-out is recorded at
once and wins over any later ATS field: only a START reply opens the number again."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ..state import StateDB
from .consent import GRANTED, REVOKED

TRUTHY = frozenset({"yes", "y", "true", "1", "si", "sí", "opted in", "opt-in", "agree", "agreed", "consent"})


def state(db: StateDB, phone: str) -> str | None:
    row = db.get_consent(phone)
    return str(row["state"]) if row else None


def change(db: StateDB, phone: str, new_state: str, *, source: str, at: datetime, actor: str,
           text_shown: str | None = None, candidate_id: str | None = None, ref: str | None = None,
           application_id: str | None = None) -> bool:
    """Record a consent change and its audit event in one transaction; False when the
    number is already in ``new_state`` (nothing to record)."""
    with db.transaction():
        if state(db, phone) == new_state:
            return False
        db.put_consent(phone, state=new_state, source=source, text_shown=text_shown, candidate_id=candidate_id,
                       at=at)
        db.audit("consent_granted" if new_state == GRANTED else "consent_revoked", at=at, ref=ref,
                 application_id=application_id, candidate_id=candidate_id, channel="sms", recipient=phone,
                 detail=f"source: {source}", actor=actor)
    return True


def grant_from_ats(db: StateDB, phone: str, value: Any, *, field: str, text_shown: str, at: datetime,
                   actor: str, candidate_id: str | None, ref: str | None, application_id: str | None) -> bool:
    """A consent field (ATS, or a booking form answer) saying yes grants consent, but only
    for a number the ledger has never seen: a revoked number stays revoked whatever it says."""
    if not isinstance(value, str) or value.strip().casefold() not in TRUTHY or state(db, phone) is not None:
        return False
    source = field if field.startswith("booking form") else \
        f"ATS tag {field[4:].strip()}" if field.startswith("tag:") else f"ATS field {field}"
    return change(db, phone, GRANTED, source=source, at=at, actor=actor, text_shown=text_shown,
                  candidate_id=candidate_id, ref=ref, application_id=application_id)


def revoke(db: StateDB, phone: str, *, source: str, at: datetime, actor: str, **where: Any) -> bool:
    return change(db, phone, REVOKED, source=source, at=at, actor=actor, **where)
