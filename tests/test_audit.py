"""Audit log: hash chain, append-only triggers, verify, export, purge."""

from __future__ import annotations

import csv
import inspect
import io
import json
import sqlite3
import tracemalloc
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from interview_sync import audit
from interview_sync.audit import INVITATION_COLUMNS, export, purge, verify_chain
from interview_sync.invitation import PERSONAL_FIELDS, Invitation, State
from interview_sync.state import AUDIT_COLUMNS, GENESIS_HASH, StateDB

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=timezone.utc)
EMAIL = "zoe.obrien@example.org"
NAME = "Zoë O'Brien"


def five_rows(db: StateDB) -> None:
    for i in range(1, 6):
        db.audit(f"event{i}", at=T0 + timedelta(minutes=i), ref=f"r{i}", application_id=f"a{i}",
                 candidate_id=f"c{i}", channel="email", recipient=f"p{i}@x.org",
                 detail=f"detail {i}", actor="tester")


def tamper(db_path: Path, sql: str, params: tuple = ()) -> None:
    """What someone with the sqlite3 CLI could do: drop the guards, then edit."""
    raw = sqlite3.connect(db_path)
    for (name,) in raw.execute("SELECT name FROM sqlite_master WHERE type='trigger'").fetchall():
        raw.execute(f"DROP TRIGGER {name}")
    raw.execute(sql, params)
    raw.commit()
    raw.close()


# --- chain ---------------------------------------------------------------------------------


def test_chain_links_and_genesis(db: StateDB) -> None:
    five_rows(db)
    rows = list(db.iter_audit())
    assert [r["seq"] for r in rows] == [1, 2, 3, 4, 5]
    assert rows[0]["prev_hash"] == GENESIS_HASH
    assert all(b["prev_hash"] == a["hash"] for a, b in zip(rows, rows[1:]))
    assert rows[2]["at"] == "2026-11-24T09:03:00+00:00"
    assert verify_chain(db) == audit.VerifyResult(True, 5, None, "ok")


def test_empty_log_verifies(db: StateDB) -> None:
    assert verify_chain(db).ok and verify_chain(db).rows == 0


def test_audit_joins_the_open_transaction(db: StateDB) -> None:
    with pytest.raises(RuntimeError):
        with db.transaction():
            db.audit("invite", at=T0)
            raise RuntimeError
    assert db.audit_count() == 0
    assert db.audit("invite", at=T0) == 1


TAMPER_VALUES = {
    "at": "2026-11-24T09:03:01+00:00", "invitation_ref": "r9", "application_id": "a9",
    "candidate_id": "c9", "event": "booked", "channel": "ats", "recipient": "evil@x.org",
    "detail": "changed", "actor": "someone", "pii_salt": None, "pii_digest": "0" * 64,
    "prev_hash": "f" * 64, "hash": "e" * 64, "seq": 99,
}


@pytest.mark.parametrize("column", sorted(TAMPER_VALUES))
@pytest.mark.parametrize("target", [1, 3, 5])
def test_any_changed_column_breaks_verify_at_that_row(db: StateDB, db_path: Path, column: str,
                                                      target: int) -> None:
    five_rows(db)
    tamper(db_path, f"UPDATE audit SET {column} = ? WHERE seq = ?",
           (TAMPER_VALUES[column], target))
    result = verify_chain(db)
    assert not result.ok
    assert result.first_bad_seq == target, result.reason
    assert result.rows == target - 1


def test_deleted_row_is_detected(db: StateDB, db_path: Path) -> None:
    five_rows(db)
    tamper(db_path, "DELETE FROM audit WHERE seq = 3")
    result = verify_chain(db)
    assert (result.ok, result.first_bad_seq) == (False, 3)
    assert "missing" in result.reason


def test_deleted_and_renumbered_row_is_detected(db: StateDB, db_path: Path) -> None:
    five_rows(db)
    tamper(db_path, "DELETE FROM audit WHERE seq = 3")
    tamper(db_path, "UPDATE audit SET seq = seq - 1 WHERE seq > 3")
    result = verify_chain(db)
    assert (result.ok, result.first_bad_seq) == (False, 3)


def test_swapped_rows_are_detected(db: StateDB, db_path: Path) -> None:
    five_rows(db)
    tamper(db_path, "UPDATE audit SET seq = -2 WHERE seq = 2")
    tamper(db_path, "UPDATE audit SET seq = 2 WHERE seq = 4")
    tamper(db_path, "UPDATE audit SET seq = 4 WHERE seq = -2")
    result = verify_chain(db)
    assert (result.ok, result.first_bad_seq) == (False, 2)


def test_inserted_row_is_detected(db: StateDB, db_path: Path) -> None:
    five_rows(db)
    tamper(db_path, "UPDATE audit SET seq = -(seq + 1) WHERE seq >= 3")  # via negatives:
    tamper(db_path, "UPDATE audit SET seq = -seq WHERE seq < 0")  # the PK is checked per row
    tamper(db_path, "INSERT INTO audit SELECT 3, at, invitation_ref, application_id, "
                    "candidate_id, 'forged', channel, recipient, detail, actor, pii_salt, "
                    "pii_digest, prev_hash, hash FROM audit WHERE seq = 2")
    result = verify_chain(db)
    assert (result.ok, result.first_bad_seq) == (False, 3)


# --- append-only guards --------------------------------------------------------------------


@pytest.mark.parametrize("sql", [
    "UPDATE audit SET detail = 'x' WHERE seq = 2",
    "UPDATE audit SET recipient = NULL, detail = NULL, pii_salt = NULL WHERE seq = 2",
    "UPDATE audit SET event = 'x' WHERE seq = 2",
    "DELETE FROM audit WHERE seq = 2",
    "DELETE FROM audit",
    "INSERT INTO audit (seq, at, event, actor, pii_digest, prev_hash, hash) "
    "VALUES (99, 'x', 'x', 'x', 'x', 'x', 'x')",
    "INSERT INTO audit (seq, at, event, actor, pii_digest, prev_hash, hash) "
    "VALUES (2, 'x', 'x', 'x', 'x', 'x', 'x')",
])
def test_audit_rejects_edits_outside_purge(db: StateDB, db_path: Path, sql: str) -> None:
    five_rows(db)
    for conn in (db.conn, sqlite3.connect(db_path)):  # ours, and a stranger's connection
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            conn.execute(sql)
    assert verify_chain(db).ok and db.audit_count() == 5


def test_purge_gate_allows_only_blanking(db: StateDB) -> None:
    five_rows(db)
    with pytest.raises(sqlite3.IntegrityError):
        with db.transaction():
            db.conn.execute("INSERT INTO audit_purge_gate (open) VALUES (1)")
            db.conn.execute("UPDATE audit SET recipient = NULL, detail = NULL, pii_salt = NULL,"
                            " event = 'x' WHERE seq = 2")
    assert db.conn.execute("SELECT COUNT(*) FROM audit_purge_gate").fetchone()[0] == 0


# --- export --------------------------------------------------------------------------------

HOSTILE = ['=HYPERLINK("http://x","y")', "@SUM(A1)", "+1+1", "-2-2", "\tcmd", "\rcmd"]


def hostile_rows(db: StateDB) -> None:
    for i, text in enumerate(HOSTILE):
        db.audit("note", at=T0 + timedelta(hours=i), ref="r1", recipient=text, detail=text,
                 channel="ats")
    db.audit("plain", at=T0 + timedelta(hours=10), ref="r1", recipient="a@b.org",
             detail='quote " and, comma\nnewline')


def test_csv_export_neutralises_formulas(db: StateDB) -> None:
    hostile_rows(db)
    out = io.StringIO()
    assert export(db, kind="events", fmt="csv", out=out) == len(HOSTILE) + 1
    rows = list(csv.reader(io.StringIO(out.getvalue(), newline="")))
    assert rows[0] == list(AUDIT_COLUMNS)
    for text, row in zip(HOSTILE, rows[1:]):
        record = dict(zip(rows[0], row))
        assert record["detail"] == "'" + text
        assert record["recipient"] == "'" + text
        assert record["event"] == "note"
    plain = dict(zip(rows[0], rows[-1]))
    assert plain["detail"] == 'quote " and, comma\nnewline' and plain["recipient"] == "a@b.org"
    assert plain["at"] == "2026-11-24T19:00:00+00:00"
    assert plain["seq"] == str(len(HOSTILE) + 1)
    assert plain["prev_hash"] == dict(zip(rows[0], rows[-2]))["hash"]


def test_jsonl_export_is_raw(db: StateDB) -> None:
    hostile_rows(db)
    out = io.StringIO()
    assert export(db, kind="events", fmt="jsonl", out=out) == len(HOSTILE) + 1
    records = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [r["detail"] for r in records[:-1]] == HOSTILE
    assert list(records[0]) == list(AUDIT_COLUMNS)
    assert records[0]["seq"] == 1 and records[0]["channel"] == "ats"
    assert records[0]["application_id"] is None


def test_export_since_until(db: StateDB) -> None:
    five_rows(db)  # minutes 1..5
    out = io.StringIO()
    n = export(db, kind="events", fmt="jsonl", since=T0 + timedelta(minutes=2),
               until=T0 + timedelta(minutes=4), out=out)
    assert n == 2
    assert [json.loads(x)["seq"] for x in out.getvalue().splitlines()] == [2, 3]


def test_invitations_export(db: StateDB) -> None:
    cet = timezone(timedelta(hours=1))
    inv = Invitation(ref="is-1-x", application_id="1", candidate_id="c1", job_id="j",
                     stage_id="s", stage_name="Phone screen", stage_changed_at=T0,
                     created_at=T0, state=State.BOOKED, job_name="=cmd|' /C calc'!A0",
                     candidate_email="ann@x.org", link_url="https://cal/x",
                     booking_ref="bk1", invite_sent_at=T0 + timedelta(minutes=5),
                     booked_at=T0 + timedelta(hours=3),
                     interview_start=datetime(2026, 11, 26, 10, 0, tzinfo=cet),
                     interview_end=datetime(2026, 11, 26, 10, 30, tzinfo=cet),
                     interview_format="video", reschedules=1, alerts=2)
    db.save_invitation(inv)
    db.save_invitation(Invitation(ref="is-2-y", application_id="2", candidate_id="c2",
                                  job_id=None, stage_id="s", stage_name="Onsite",
                                  stage_changed_at=T0 - timedelta(days=30),
                                  created_at=T0 - timedelta(days=30)))
    out = io.StringIO()
    assert export(db, kind="invitations", fmt="csv", since=T0 - timedelta(days=1), out=out) == 1
    header, row = list(csv.reader(io.StringIO(out.getvalue(), newline="")))
    assert header == list(INVITATION_COLUMNS)
    record = dict(zip(header, row))
    assert record == {
        "invitation_ref": "is-1-x", "application_id": "1", "candidate_id": "c1",
        "job": "'=cmd|' /C calc'!A0", "stage": "Phone screen",
        "stage_changed_at": "2026-11-24T09:00:00+00:00",
        "invite_sent_at": "2026-11-24T09:05:00+00:00", "candidate_email": "ann@x.org",
        "booking_link": "https://cal/x", "booking_ref": "bk1", "followup_sent_at": "",
        "booked_at": "2026-11-24T12:00:00+00:00", "interview_start": "2026-11-26T09:00:00+00:00",
        "interview_end": "2026-11-26T09:30:00+00:00", "interview_format": "video",
        "reschedules": "1", "cancelled_at": "", "flagged_at": "", "alerts": "2",
        "state": "booked", "channels": "", "texts_sent": "0", "sms_consent": "", "sms_consent_source": "",
        "locale": ""}
    out = io.StringIO()
    assert export(db, kind="invitations", fmt="jsonl", out=out) == 2
    first = json.loads(out.getvalue().splitlines()[0])
    assert first["invitation_ref"] == "is-2-y" and first["alerts"] == 0
    assert first["booked_at"] is None


def test_export_rejects_unknown_kind_and_format(db: StateDB) -> None:
    with pytest.raises(ValueError):
        export(db, kind="people", fmt="csv", out=io.StringIO())  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        export(db, kind="events", fmt="xlsx", out=io.StringIO())  # type: ignore[arg-type]


class CountingSink:
    """A TextIO that keeps nothing, so only the exporter's own memory is measured."""

    def __init__(self) -> None:
        self.chars = 0

    def write(self, text: str) -> int:
        self.chars += len(text)
        return len(text)


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_export_streams_in_constant_memory(db: StateDB, fmt: str) -> None:
    with db.transaction():
        for i in range(20_000):
            db.audit("invite_sent", at=T0 + timedelta(seconds=i), ref=f"is-{i}",
                     application_id=str(i), candidate_id=f"c{i}", channel="email",
                     recipient=f"person{i}@example.org", detail="x" * 200)
    assert inspect.isgenerator(db.iter_audit())
    sink = CountingSink()
    tracemalloc.start()
    try:
        count = export(db, kind="events", fmt=fmt, out=sink)  # type: ignore[arg-type]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 20_000
    assert sink.chars > 20_000 * 300  # everything was written ...
    assert peak < 2_000_000  # ... while holding far less than the ~10 MB of rows in memory


# --- purge ---------------------------------------------------------------------------------


def _seed_for_purge(db: StateDB) -> None:
    old = T0 - timedelta(days=400)
    specs = [("old-closed", State.CLOSED, old), ("old-flagged", State.FLAGGED, old),
             ("old-attention", State.NEEDS_ATTENTION, old), ("old-open", State.INVITED, old),
             ("new-closed", State.CLOSED, T0 - timedelta(days=10))]
    for ref, state, when in specs:
        inv = Invitation(ref=ref, application_id="app-" + ref, candidate_id="cand-" + ref,
                         job_id="j", stage_id="s", stage_name="Phone", stage_changed_at=when,
                         created_at=when, state=state, updated_at=when,
                         candidate_name=f"{NAME} {ref}", candidate_email=f"{ref}.{EMAIL}",
                         link_url="https://cal/" + ref, hm_name="Dr Host", hm_email="hm@x.org",
                         join_url="https://meet/" + ref, location="Room 7",
                         cancel_url="https://c/" + ref, reschedule_url="https://r/" + ref,
                         booking_notes=f"notes about {NAME}", job_name="Nurse")
        db.save_invitation(inv)
        db.audit("invite_sent", at=when, ref=ref, application_id=inv.application_id,
                 candidate_id=inv.candidate_id, channel="email",
                 recipient=f"{ref}.{EMAIL}", detail=f"invited {NAME} {ref}")
        key = f"{ref}:invite"
        assert db.claim(key, ref=ref, kind="invite", channel="email",
                        recipient=f"{ref}.{EMAIL}") == "claimed"
        db.mark_sent(key)
    db.audit("poll", at=T0, detail="cycle done")


PURGED = {"old-closed", "old-flagged", "old-attention"}


def test_purge_dry_run_changes_nothing(db: StateDB) -> None:
    _seed_for_purge(db)
    before = db.audit_count()
    result = purge(db, older_than_days=365, now=T0, dry_run=True)
    assert (result.dry_run, result.invitations, result.audit_rows) == (True, 3, 3)
    assert set(result.refs) == PURGED
    assert result.cutoff == T0 - timedelta(days=365)
    assert db.audit_count() == before
    assert db.get_invitation("old-closed").candidate_email is not None  # type: ignore[union-attr]


def test_purge_blanks_personal_data_and_keeps_chain(db: StateDB, db_path: Path) -> None:
    _seed_for_purge(db)
    result = purge(db, older_than_days=365, now=T0, dry_run=False)
    assert (result.invitations, result.audit_rows) == (3, 3) and set(result.refs) == PURGED
    verified = verify_chain(db)
    assert verified.ok, verified.reason
    for inv in db.invitations():
        if inv.ref in PURGED:
            assert inv.purged and all(getattr(inv, f) is None for f in PERSONAL_FIELDS)
            assert inv.job_name == "Nurse" and inv.application_id == "app-" + inv.ref
        else:
            assert not inv.purged and inv.candidate_email == f"{inv.ref}.{EMAIL}"
    events = {(r["invitation_ref"], r["event"]): r for r in db.iter_audit()}
    for ref in PURGED:
        sent = events[(ref, "invite_sent")]
        assert sent["recipient"] is None and sent["detail"] is None and sent["pii_digest"]
        assert events[(ref, "purge")]["recipient"] is None
        assert NAME not in (events[(ref, "purge")]["detail"] or "")
        assert db.outbox_rows(ref)[0]["recipient"] is None
    assert events[("new-closed", "invite_sent")]["recipient"] == f"new-closed.{EMAIL}"
    # nothing left anywhere in the file, not even in free pages or the WAL
    db.close()
    raw = b"".join(p.read_bytes() for p in db_path.parent.glob("state.db*"))
    for ref in PURGED:
        assert f"{ref}.{EMAIL}".encode() not in raw
        assert f"{NAME} {ref}".encode() not in raw
    assert f"new-closed.{EMAIL}".encode() in raw


def test_purge_is_idempotent(db: StateDB) -> None:
    _seed_for_purge(db)
    purge(db, older_than_days=365, now=T0, dry_run=False)
    count = db.audit_count()
    again = purge(db, older_than_days=365, now=T0 + timedelta(days=1), dry_run=False)
    assert again.invitations == 0 and db.audit_count() == count
    assert verify_chain(db).ok


def test_blanking_without_purge_is_detected(db: StateDB, db_path: Path) -> None:
    _seed_for_purge(db)
    tamper(db_path, "UPDATE audit SET recipient = NULL, detail = NULL, pii_salt = NULL "
                    "WHERE invitation_ref = 'new-closed'")
    result = verify_chain(db)
    assert not result.ok and "without a purge" in result.reason
    assert result.first_bad_seq == 5


def test_purged_row_digest_still_guarded(db: StateDB, db_path: Path) -> None:
    _seed_for_purge(db)
    purge(db, older_than_days=365, now=T0, dry_run=False)
    tamper(db_path, "UPDATE audit SET pii_digest = ? WHERE seq = 1", ("1" * 64,))
    result = verify_chain(db)
    assert (result.ok, result.first_bad_seq) == (False, 1)
