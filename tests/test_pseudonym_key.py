"""Recording pseudonyms are keyed by a secret of the deployment, kept in the state database.

An unkeyed hash of an address lets anyone with a recording and a list of guesses
(a staff list, a candidate's known email) confirm who is in it. These tests run
the old dictionary attack against real recordings, and check where the key lives
and that it keeps one person's pseudonym stable across polls and recordings.
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest
from harness import Harness

from interview_sync.clock import iso
from interview_sync.errors import StateError
from interview_sync.pseudonym import Pseudonymiser
from interview_sync.record import load_recording, replay, split_polls
from interview_sync.sandbox import seed
from interview_sync.state import StateDB

ZOE = "zoe+nurse@example.org"
MARIA = "maria.delgado@mercyvalley.example"  # Zoë's hiring manager
SEEDED_EMAILS = [p["email"] for p in [*seed.CANDIDATES, *seed.USERS] if p["email"]]
PSEUDO_EMAIL = re.compile(r"u[0-9a-f]{12}@example\.com")


def _invite_and_book(h: Harness, stream: Path) -> list:  # type: ignore[type-arg]
    """Baseline, Zoë invited, Zoë booked: three polls, the last two name her and her manager."""
    reports = [h.recorded_poll(stream, 0)]
    h.sandbox.move("17001", "Phone Screen")
    h.sandbox.move("17003", "First Interview")
    reports.append(h.recorded_poll(stream, 0.5))
    h.sandbox.book("17001", at=h.start + timedelta(days=2, hours=1))
    reports.append(h.recorded_poll(stream, 5))
    return reports


def _unkeyed(email: str) -> str:
    """The pseudonym an unkeyed SHA-256 gives: what an attacker computes from a guessed address."""
    return hashlib.sha256(email.strip().casefold().encode()).hexdigest()[:12]


def _stored_key(h: Harness) -> str:
    raw = sqlite3.connect(h.settings.state.path)
    try:
        row = raw.execute("SELECT value FROM meta WHERE key = 'pseudonym_key'").fetchone()
    finally:
        raw.close()
    assert row is not None, "no pseudonym key in the state database"
    return str(row[0])


def _actions(reports) -> list[tuple[str, str, str]]:  # type: ignore[no-untyped-def]
    return [(o.application_id, o.action, o.result) for r in reports for o in getattr(r, "report", r).outcomes]


def test_a_recording_defeats_the_unkeyed_dictionary_attack(harness: Harness, tmp_path: Path) -> None:
    stream = tmp_path / "stream.jsonl"
    _invite_and_book(harness, stream)
    text = stream.read_text(encoding="utf-8")
    keyed = Pseudonymiser(harness.ctx.db.pseudonym_key())
    # the people are in the recording, under the deployment's keyed pseudonyms...
    assert keyed.email(ZOE) in text and keyed.email(MARIA) in text
    # ...and a list of guessed addresses hashed without the key matches none of them
    assert [email for email in SEEDED_EMAILS if _unkeyed(email) in text] == []
    assert set(PSEUDO_EMAIL.findall(text)).isdisjoint({f"u{_unkeyed(e)}@example.com" for e in SEEDED_EMAILS})


def test_two_deployments_give_one_address_different_pseudonyms(tmp_path: Path) -> None:
    found = []
    for name in ("one", "two"):
        (tmp_path / name).mkdir()
        h = Harness(tmp_path / name)
        try:
            stream = tmp_path / name / "stream.jsonl"
            _invite_and_book(h, stream)
            text = stream.read_text(encoding="utf-8")
            assert Pseudonymiser(h.ctx.db.pseudonym_key()).email(ZOE) in text
            found.append(set(PSEUDO_EMAIL.findall(text)))
        finally:
            h.close()
    assert found[0] and found[1]
    assert found[0].isdisjoint(found[1])  # same people, same polls, no pseudonym in common


def test_one_deployment_keeps_a_pseudonym_across_polls_and_recordings(harness: Harness, tmp_path: Path) -> None:
    stream = tmp_path / "stream.jsonl"
    live = _invite_and_book(harness, stream)
    zoe = Pseudonymiser(harness.ctx.db.pseudonym_key()).email(ZOE)
    polls = split_polls(load_recording(stream))
    assert [zoe in json.dumps(calls) for _, calls in polls] == [False, True, True]  # invited, then booked
    # the replay matches the booking to the invitation by that pseudonym
    replayed = replay(harness.settings, stream, workdir=tmp_path / "replay")
    assert _actions(replayed) == _actions(live)
    assert any(action == "confirmation" for _, action, _ in _actions(replayed))
    # a later recording, made through the CLI (which opens the state database itself), agrees
    harness.sandbox.reschedule("17001", harness.start + timedelta(days=3, hours=2))
    later = tmp_path / "later.jsonl"
    result = harness.cli("poll", "--now", iso(harness.at(6)), "--record", str(later))
    assert result.exit_code == 0, result.output
    assert zoe in later.read_text(encoding="utf-8")


def test_the_key_is_in_the_state_database_and_never_in_the_recording(harness: Harness, tmp_path: Path) -> None:
    stream = tmp_path / "stream.jsonl"
    _invite_and_book(harness, stream)
    stored = _stored_key(harness)
    assert re.fullmatch(r"[0-9a-f]{64}", stored)
    assert bytes.fromhex(stored) == harness.ctx.db.pseudonym_key()
    text = stream.read_text(encoding="utf-8")
    assert PSEUDO_EMAIL.search(text)  # pseudonyms were written...
    assert stored not in text.lower()  # ...but not the key that made them
    assert stored[:16] not in text.lower()


def test_the_key_survives_reopening(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    with StateDB.open(path) as db:
        first = db.pseudonym_key()
        assert len(first) == 32
        db.migrate()  # idempotent: migrating again keeps the key
        assert db.pseudonym_key() == first
    with StateDB.open(path) as db:
        assert db.pseudonym_key() == first
    with StateDB.open(path, readonly=True) as db:
        assert db.pseudonym_key() == first
    with StateDB.open(tmp_path / "other.db") as other:
        assert other.pseudonym_key() != first


def _tampered(tmp_path: Path, sql: str) -> Path:
    """A fresh state database with ``sql`` run on it behind the store's back."""
    path = tmp_path / "state.db"
    StateDB.open(path).close()
    raw = sqlite3.connect(path)
    raw.execute(sql)
    raw.commit()
    raw.close()
    return path


def test_a_read_only_database_without_a_key_gets_a_stand_in(tmp_path: Path) -> None:
    """A file migrated before keys existed, opened read-only: no crash, no write, a key for this process only."""
    path = _tampered(tmp_path, "DELETE FROM meta WHERE key = 'pseudonym_key'")
    with StateDB.open(path, readonly=True) as db:
        stand_in = db.pseudonym_key()
        assert len(stand_in) == 32 and db.pseudonym_key() == stand_in
    with StateDB.open(path, readonly=True) as db:
        assert db.pseudonym_key() != stand_in  # never stored, so never reused
    with StateDB.open(path) as db:  # a writable open creates the real one
        created = db.pseudonym_key()
    with StateDB.open(path, readonly=True) as db:
        assert db.pseudonym_key() == created


def test_a_damaged_key_is_refused_not_replaced(tmp_path: Path) -> None:
    path = _tampered(tmp_path, "UPDATE meta SET value = 'not hex' WHERE key = 'pseudonym_key'")
    with pytest.raises(StateError, match="pseudonym_key"):
        StateDB.open(path)


def test_a_pseudonymiser_without_a_key_draws_a_random_one() -> None:
    key = bytes(range(32))
    assert Pseudonymiser(key).email(ZOE) == Pseudonymiser(key).email(ZOE.upper())
    assert Pseudonymiser(key).name("Zoë O'Brien-Nguyễn") == Pseudonymiser(key).name("zoë o'brien-nguyễn")
    unkeyed = f"u{_unkeyed(ZOE)}@example.com"
    assert len({Pseudonymiser().email(ZOE), Pseudonymiser().email(ZOE), Pseudonymiser(key).email(ZOE), unkeyed}) == 4
    with pytest.raises(ValueError, match="at least 16 bytes"):
        Pseudonymiser(b"")
