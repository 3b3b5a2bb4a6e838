"""The state store (SQLite): cursors, baseline, invitations, outbox, audit log."""

from .db import (
    AUDIT_COLUMNS,
    GENESIS_HASH,
    SCHEMA_VERSION,
    AppSnapshot,
    ClaimOutcome,
    StateDB,
)

__all__ = ["AUDIT_COLUMNS", "GENESIS_HASH", "SCHEMA_VERSION", "AppSnapshot", "ClaimOutcome",
           "StateDB"]
