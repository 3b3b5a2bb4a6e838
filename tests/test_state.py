"""The state store: file safety, migrations, invitations, outbox semantics."""

from __future__ import annotations

import os
import shutil
import sqlite3
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import fields
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from interview_sync.clock import FixedClock
from interview_sync.errors import ExitStatus, StateError
from interview_sync.invitation import Invitation, State
from interview_sync.state import SCHEMA_VERSION, AppSnapshot, StateDB
from interview_sync.state import db as dbmod

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=timezone.utc)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def full_invitation(ref: str = "is-1-abc") -> Invitation:
    """Every field set to a non-default value, datetimes in assorted zones."""
    cet = timezone(timedelta(hours=1))
    return Invitation(
        ref=ref, application_id="1", candidate_id="c1", job_id="j1", stage_id="s1",
        stage_name="Phone screen", stage_changed_at=T0, created_at=T0.astimezone(cet),
        state=State.BOOKED, candidate_name="Zoë O'Brien", candidate_email="zoe@example.org",
        candidate_timezone="Europe/Berlin", job_name="Nurse", department="ICU", office="Berlin",
        hm_name="Dr. Hm", hm_title="Head", hm_email="hm@example.org",
        recruiter_email="rec@example.org", route_index=2, event_type="phone-30",
        event_type_uri="https://api.calendly.com/event_types/X", interview_format="phone",
        duration_minutes=30, link_url="https://calendly.com/d/abc", link_generation=2,
        invite_sent_at=T0 + timedelta(minutes=1), deadline_at=T0 + timedelta(hours=48),
        followup_sent_at=T0 + timedelta(hours=48), followup_deadline_at=T0 + timedelta(hours=72),
        flagged_at=T0 + timedelta(hours=73), booking_ref="https://api.calendly.com/inv/1",
        event_uri="https://api.calendly.com/ev/1", booked_at=T0 + timedelta(hours=50),
        interview_start=datetime(2026, 11, 27, 10, 0, 0, 123456, tzinfo=cet),
        interview_end=datetime(2026, 11, 27, 10, 30, tzinfo=cet), location="Room 1",
        join_url="https://meet/x", cancel_url="https://c/x", reschedule_url="https://r/x",
        booking_notes="bring ID", ics_sequence=3, reschedules=1,
        cancelled_at=T0 + timedelta(hours=49), reminder_sent_at=T0 + timedelta(days=2),
        feedback_sent_at=T0 + timedelta(days=3), no_show=True, attention_reason="none",
        alerts=2, closed_reason="done", manual_interventions=1, last_action="booked",
        updated_at=T0 + timedelta(days=3), purged=True, extra={"k": "v", "ü": "ß"})


# --- the file ------------------------------------------------------------------------------


def test_new_file_is_private_and_wal(db: StateDB, db_path: Path) -> None:
    assert _mode(db_path) == 0o600
    assert db.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
    assert db.conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert db.conn.execute("PRAGMA busy_timeout").fetchone()[0] >= 1000
    db.set_cursor("ats", "x")  # forces the -wal file into existence
    assert _mode(db_path.with_name("state.db-wal")) == 0o600


def test_loose_mode_is_tightened(db_path: Path) -> None:
    StateDB.open(db_path).close()
    db_path.chmod(0o644)
    StateDB.open(db_path).close()
    assert _mode(db_path) == 0o600


def test_migrations_idempotent(db_path: Path) -> None:
    first = StateDB.open(db_path)
    first.save_invitation(full_invitation())
    schema = sorted(first.conn.execute("SELECT type, name, sql FROM sqlite_master"))
    assert first.schema_version() == SCHEMA_VERSION
    assert first.migrate() == SCHEMA_VERSION
    first.close()
    again = StateDB.open(db_path)
    assert sorted(again.conn.execute("SELECT type, name, sql FROM sqlite_master")) == schema
    assert again.schema_version() == SCHEMA_VERSION
    assert again.get_invitation("is-1-abc") == full_invitation()
    again.close()


def test_migration_runs_once_and_in_order(db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []

    def newer(db) -> None:  # noqa: ANN001
        calls.append(1)
        db.execute("CREATE TABLE extra_thing (id INTEGER PRIMARY KEY)")

    StateDB.open(db_path).close()
    nxt = dbmod.SCHEMA_VERSION + 1
    monkeypatch.setattr(dbmod, "MIGRATIONS", (*dbmod.MIGRATIONS, newer))
    monkeypatch.setattr(dbmod, "SCHEMA_VERSION", nxt)
    store = StateDB.open(db_path)
    assert store.schema_version() == nxt and calls == [1]
    store.close()
    StateDB.open(db_path).close()
    assert calls == [1]


def test_failed_migration_rolls_back(db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(db) -> None:  # noqa: ANN001
        db.execute("CREATE TABLE half_done (id INTEGER)")
        raise RuntimeError("boom")

    StateDB.open(db_path).close()
    current = dbmod.SCHEMA_VERSION
    monkeypatch.setattr(dbmod, "MIGRATIONS", (*dbmod.MIGRATIONS, broken))
    monkeypatch.setattr(dbmod, "SCHEMA_VERSION", current + 1)
    with pytest.raises(RuntimeError):
        StateDB.open(db_path)
    raw = sqlite3.connect(db_path)
    assert raw.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone() == (str(current),)
    assert raw.execute("SELECT name FROM sqlite_master WHERE name='half_done'").fetchone() is None
    raw.close()


def test_newer_schema_is_refused(db_path: Path) -> None:
    StateDB.open(db_path).close()
    raw = sqlite3.connect(db_path)
    raw.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", [str(SCHEMA_VERSION + 5)])
    raw.commit()
    raw.close()
    for readonly in (False, True):
        with pytest.raises(StateError) as info:
            StateDB.open(db_path, readonly=readonly)
        assert "newer" in str(info.value) and "upgrade" in str(info.value)
        assert info.value.exit_status == ExitStatus.USAGE


@pytest.mark.parametrize("content", [b"this is not a database at all\n" * 100,
                                     b"SQLite format 3\x00" + b"\xff" * 4000])
def test_corrupt_file_is_one_line_state_error(db_path: Path, content: bytes) -> None:
    db_path.write_bytes(content)
    with pytest.raises(StateError) as info:
        StateDB.open(db_path)
    message = str(info.value)
    assert "corrupt" in message and "backup" in message and "\n" not in message
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_corrupt_page_is_reported(db_path: Path) -> None:
    StateDB.open(db_path).close()
    data = bytearray(db_path.read_bytes())
    data[100:4096] = b"\x07" * (4096 - 100)  # page 1 after the header: the schema table
    db_path.write_bytes(bytes(data))
    with pytest.raises(StateError, match="corrupt"):
        StateDB.open(db_path)


@contextmanager
def _as_unprivileged() -> Iterator[None]:
    """Root ignores file modes; drop the effective uid so a 0444 file is really read-only."""
    if os.geteuid() != 0:
        yield
        return
    try:
        os.seteuid(65534)
    except PermissionError:
        pytest.skip("cannot drop privileges here")
    try:
        yield
    finally:
        os.seteuid(0)


def test_read_only_file_is_state_error() -> None:
    folder = Path(tempfile.mkdtemp(prefix="is-ro-"))  # not under pytest-of-root (0700)
    try:
        folder.chmod(0o755)
        path = folder / "state.db"
        StateDB.open(path).close()
        path.chmod(0o444)
        with _as_unprivileged():
            with pytest.raises(StateError) as info:
                StateDB.open(path)
        assert "read-only" in str(info.value) and "writable" in str(info.value)
    finally:
        shutil.rmtree(folder)


def test_readonly_open(db_path: Path) -> None:
    with pytest.raises(StateError, match="no state database"):
        StateDB.open(db_path, readonly=True)
    writer = StateDB.open(db_path)
    writer.set_cursor("ats", "c1")
    reader = StateDB.open(db_path, readonly=True)
    assert reader.get_cursor("ats") == "c1"
    with pytest.raises(sqlite3.OperationalError):
        reader.set_cursor("ats", "c2")
    reader.close()
    writer.close()


def test_integrity_check(db: StateDB) -> None:
    assert db.integrity_check() == "ok"


# --- transactions --------------------------------------------------------------------------


def test_transaction_rolls_back_and_nests(db: StateDB) -> None:
    with pytest.raises(RuntimeError):
        with db.transaction():
            db.set_cursor("ats", "lost")
            raise RuntimeError
    assert db.get_cursor("ats") is None
    with db.transaction():
        db.set_cursor("ats", "kept")
        with pytest.raises(RuntimeError):
            with db.transaction():
                db.set_cursor("sched", "inner")
                raise RuntimeError
        assert db.in_transaction
    assert db.get_cursor("ats") == "kept" and db.get_cursor("sched") is None
    assert not db.conn.in_transaction


def test_transaction_is_invisible_to_others_until_commit(db: StateDB, db_path: Path) -> None:
    other = StateDB.open(db_path)
    with db.transaction():
        db.set_cursor("ats", "v1")
        assert other.get_cursor("ats") is None
    assert other.get_cursor("ats") == "v1"
    other.close()


# --- cursors, baseline ---------------------------------------------------------------------


def test_cursors_and_baseline(db: StateDB) -> None:
    assert db.get_cursor("ats") is None
    db.set_cursor("ats", "2026-11-24T09:00:00Z")
    db.set_cursor("ats", "2026-11-24T10:00:00Z")
    assert db.get_cursor("ats") == "2026-11-24T10:00:00Z"
    assert not db.is_baselined("ats")
    db.mark_baselined("ats")
    db.mark_baselined("ats")
    assert db.is_baselined("ats") and not db.is_baselined("scheduler")


def test_application_snapshot_round_trip(db: StateDB) -> None:
    snap = AppSnapshot(id="1", candidate_id="c", job_id=None, stage_id="s", stage_name="Phone",
                       status="active", updated_at=T0.astimezone(timezone(timedelta(hours=-5))))
    assert db.get_application("1") is None and db.count_applications() == 0
    db.put_application(snap)
    db.put_application(snap)
    assert db.get_application("1") == snap
    assert db.get_application("1").updated_at.utcoffset() == timedelta(0)  # type: ignore[union-attr]
    assert db.count_applications() == 1


# --- invitations ---------------------------------------------------------------------------


def test_invitation_round_trip_all_fields(db: StateDB, db_path: Path) -> None:
    inv = full_invitation()
    db.save_invitation(inv)
    db.close()
    back = StateDB.open(db_path, readonly=True).get_invitation(inv.ref)
    assert back == inv
    for f in fields(Invitation):
        value = getattr(back, f.name)
        if isinstance(value, datetime):
            assert value.tzinfo is not None and value.utcoffset() == timedelta(0)
    assert isinstance(back.state, State) and back.no_show is True and back.extra == inv.extra


def test_invitation_columns_one_per_field(db: StateDB) -> None:
    db.save_invitation(full_invitation())
    row = db.conn.execute("SELECT state, created_at, no_show, extra FROM invitations").fetchone()
    assert row == ("booked", "2026-11-24T09:00:00+00:00", 1, '{"k": "v", "ü": "ß"}')
    columns = {r[1] for r in db.conn.execute("PRAGMA table_info(invitations)")}
    assert columns == {f.name for f in fields(Invitation)}


def test_invitation_defaults_round_trip_and_upsert(db: StateDB) -> None:
    inv = Invitation(ref="r", application_id="a", candidate_id="c", job_id=None, stage_id="s",
                     stage_name="S", stage_changed_at=T0, created_at=T0)
    db.save_invitation(inv)
    assert db.get_invitation("r") == inv
    inv.state = State.INVITED
    inv.link_url = "https://x"
    db.save_invitation(inv)
    assert db.get_invitation("r") == inv
    assert db.conn.execute("SELECT COUNT(*) FROM invitations").fetchone()[0] == 1


def test_naive_datetime_is_refused(db: StateDB) -> None:
    inv = Invitation(ref="r", application_id="a", candidate_id="c", job_id=None, stage_id="s",
                     stage_name="S", stage_changed_at=datetime(2026, 1, 1), created_at=T0)
    with pytest.raises(ValueError):
        db.save_invitation(inv)


def _inv(ref: str, app: str, state: State, minutes: int = 0, **kw: object) -> Invitation:
    return Invitation(ref=ref, application_id=app, candidate_id="c" + app, job_id=None,
                      stage_id="s", stage_name="S", stage_changed_at=T0,
                      created_at=T0 + timedelta(minutes=minutes), state=state, **kw)  # type: ignore[arg-type]


def test_invitation_queries(db: StateDB) -> None:
    db.save_invitation(_inv("r3", "2", State.CLOSED, 3))
    db.save_invitation(_inv("r1", "1", State.INVITED, 1, candidate_email="Ann@X.org",
                            hm_email="hm@x.org"))
    db.save_invitation(_inv("r2", "1", State.BOOKED, 2, booking_ref="bk-1",
                            candidate_email="ann@x.org", hm_email="HM@x.org"))
    db.save_invitation(_inv("r4", "3", State.FLAGGED, 4))
    assert db.get_invitation("nope") is None
    assert [i.ref for i in db.invitations()] == ["r1", "r2", "r3", "r4"]
    assert [i.ref for i in db.invitations(state="closed")] == ["r3"]
    assert [i.ref for i in db.invitations(application_id="1")] == ["r1", "r2"]
    assert [i.ref for i in db.invitations(state="booked", application_id="1")] == ["r2"]
    assert [i.ref for i in db.open_invitations()] == ["r1", "r2"]
    assert db.find_by_booking("bk-1").ref == "r2"  # type: ignore[union-attr]
    assert db.find_by_booking("bk-2") is None
    assert [i.ref for i in db.find_by_email_host("ANN@x.org", "hm@X.org")] == ["r1", "r2"]
    assert db.find_by_email_host("ann@x.org", "other@x.org") == []


def test_new_invitation_field_becomes_a_column(db_path: Path) -> None:
    store = StateDB.open(db_path)
    store.save_invitation(full_invitation())
    store.close()
    raw = sqlite3.connect(db_path)
    raw.execute("ALTER TABLE invitations DROP COLUMN alerts")  # as if written by older code
    raw.commit()
    raw.close()
    store = StateDB.open(db_path)
    old_row = store.get_invitation("is-1-abc")
    assert old_row is not None and old_row.alerts == 0  # NULL in the new column → default
    store.save_invitation(full_invitation())
    assert store.get_invitation("is-1-abc").alerts == 2  # type: ignore[union-attr]
    store.close()


# --- outbox --------------------------------------------------------------------------------

CLAIM = {"ref": "r1", "kind": "invite", "channel": "email", "recipient": "ann@x.org"}


def test_claim_then_sent_is_done(db: StateDB, db_path: Path) -> None:
    assert db.claim("r1:invite", **CLAIM) == "claimed"
    # committed before the effect: another connection already sees `sending`
    other = StateDB.open(db_path, readonly=True)
    assert other.outbox_state("r1:invite") == "sending"
    other.close()
    db.mark_sent("r1:invite", "<m1@x>")
    assert db.outbox_state("r1:invite") == "sent"
    assert db.claim("r1:invite", **CLAIM) == "done"
    row = db.outbox_rows("r1")[0]
    assert row["message_id"] == "<m1@x>" and row["attempts"] == 1


def test_sending_left_by_crash_becomes_unknown_forever(db_path: Path) -> None:
    crashed = StateDB.open(db_path)
    assert crashed.claim("r1:invite", **CLAIM) == "claimed"
    crashed.conn.close()  # the process dies between send and record
    next_run = StateDB.open(db_path)
    assert next_run.claim("r1:invite", **CLAIM) == "unknown"
    assert next_run.outbox_state("r1:invite") == "unknown"
    for _ in range(3):
        assert next_run.claim("r1:invite", **CLAIM) == "unknown"
    next_run.close()


def test_transient_failure_is_reclaimable_permanent_is_not(db: StateDB) -> None:
    assert db.claim("k1", **CLAIM) == "claimed"
    db.mark_failed("k1", "421 try later", permanent=False)
    assert db.outbox_state("k1") == "failed"
    assert db.claim("k1", **CLAIM) == "claimed"
    assert db.outbox_rows()[0]["attempts"] == 2
    db.mark_failed("k1", "550 no such user", permanent=True)
    assert db.outbox_state("k1") == "failed_permanent"
    assert db.claim("k1", **CLAIM) == "done"


def test_skipped_is_done(db: StateDB) -> None:
    assert db.claim("k1", **CLAIM) == "claimed"
    db.mark_skipped("k1", "dry run")
    assert db.claim("k1", **CLAIM) == "done"


def test_claim_inside_transaction_is_refused(db: StateDB) -> None:
    with db.transaction():
        with pytest.raises(RuntimeError, match="outside a transaction"):
            db.claim("k1", **CLAIM)
    assert db.outbox_state("k1") is None


def test_mark_unknown_key_raises(db: StateDB) -> None:
    with pytest.raises(KeyError):
        db.mark_sent("missing")


def test_release_allows_resend_and_keeps_history(db: StateDB) -> None:
    assert db.release("r1:invite") is False
    assert db.claim("r1:invite", **CLAIM) == "claimed"
    db.mark_sent("r1:invite")
    assert db.release("r1:invite") is True
    assert db.claim("r1:invite", **CLAIM) == "claimed"
    db.mark_sent("r1:invite")
    assert db.release("r1:invite") is True
    states = {r["key"]: r["state"] for r in db.outbox_rows("r1")}
    assert states == {"r1:invite#superseded-1": "superseded",
                      "r1:invite#superseded-2": "superseded"}
    assert db.claim("r1:invite", **CLAIM) == "claimed"


def test_outbox_rows_filter(db: StateDB) -> None:
    db.claim("a", **CLAIM)
    db.claim("b", **{**CLAIM, "ref": "r2"})
    assert [r["key"] for r in db.outbox_rows()] == ["a", "b"]
    assert [r["key"] for r in db.outbox_rows("r2")] == ["b"]
    assert db.outbox_rows()[0]["created_at"] == "2026-11-24T09:00:00+00:00"  # injected clock


def test_missing_directory_is_state_error(tmp_path: Path) -> None:
    with pytest.raises(StateError, match="directory"):
        StateDB.open(tmp_path / "no" / "such" / "state.db")


def test_memory_store_works() -> None:
    store = StateDB.memory(clock=FixedClock(T0))
    assert store.schema_version() == SCHEMA_VERSION
    store.save_invitation(full_invitation())
    assert store.get_invitation("is-1-abc") == full_invitation()
    assert store.claim("k", **CLAIM) == "claimed"
    assert store.audit("x", at=T0) == 1
    store.close()
