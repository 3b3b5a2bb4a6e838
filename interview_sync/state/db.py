"""The SQLite state store: the only SQL in the package.

One file holds everything a poll must remember between runs: vendor cursors,
the application baseline, one row per invitation, the outbox that makes
messages at-most-once, and the hash-chained audit log.

Why these choices:

* **Autocommit connection, explicit transactions.** The connection is opened
  with ``isolation_level=None`` so the driver never opens a transaction
  behind our back; :meth:`StateDB.transaction` issues ``BEGIN IMMEDIATE``
  (take the write lock up front, so two writers fail fast on ``busy_timeout``
  instead of deadlocking on lock upgrade). Nested use becomes a SAVEPOINT:
  it commits with the outer transaction, but an exception inside it undoes
  only its own work.
* **WAL, synchronous=NORMAL.** Readers (``status``, ``audit export``) never
  block the cron poll; NORMAL is durable across application crashes, which
  is the failure the outbox guards against.
* **Mode 0600.** The file holds candidate names and emails. It is created with
  ``os.open(..., 0o600)`` before SQLite sees it, and tightened if looser.
* **Migrations.** ``meta.schema_version`` counts the entries of
  :data:`MIGRATIONS` already applied; each runs in its own transaction. A file
  written by a newer interview-sync is refused rather than half-understood.
  Invitation columns follow the :class:`~interview_sync.invitation.Invitation`
  dataclass: a field added there becomes a column on the next open (additive
  only; a rename or removal needs a real migration).

Audit hash chain (see :meth:`StateDB.audit`)::

    pii_salt   = 16 random bytes (hex), per row
    pii_digest = sha256(canonical([pii_salt, recipient, detail]))
    hash       = sha256(prev_hash || canonical([seq, at, invitation_ref,
                        application_id, candidate_id, event, channel, actor,
                        pii_digest]))
    prev_hash of seq 1 = 64 zeros; canonical = compact JSON array, UTF-8.

Personal data (recipient, detail) enters the chain only through
``pii_digest``, so purge can blank recipient, detail *and the salt* and the
chain still verifies. Blanking the salt matters: without it the digest of a
purged row could be matched against guessed emails ("was jane@x invited?").

Append-only is enforced by triggers: DELETE always aborts; INSERT must use the
next seq; UPDATE aborts unless the ``audit_purge_gate`` table holds a row
(purge inserts one and removes it inside its own transaction, so no other
connection ever sees it open) *and* the update only sets recipient, detail and
pii_salt to NULL. Triggers stop accidents; the hash chain detects the rest.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import secrets
import sqlite3
import stat
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import MISSING, dataclass, fields
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import sqlite_utils

from ..clock import Clock, SystemClock, ensure_utc, parse_instant
from ..errors import StateError
from ..invitation import OPEN_STATES, PERSONAL_FIELDS, Invitation, State

GENESIS_HASH = "0" * 64
BUSY_TIMEOUT_MS = 5000
PSEUDONYM_KEY = "pseudonym_key"  # meta row: the HMAC key of `poll --record` pseudonyms (hex)
PSEUDONYM_KEY_BYTES = 32

ClaimOutcome = Literal["claimed", "done", "unknown"]

# outbox row states
SENDING = "sending"  # committed before the effect; left behind only by a crash
SENT = "sent"
SKIPPED = "skipped"
FAILED = "failed"  # transient: a later claim may try again
FAILED_PERMANENT = "failed_permanent"
UNKNOWN = "unknown"  # a crash between send and record: never resent automatically
SUPERSEDED = "superseded"  # released for `invite --resend`; kept as history
DONE_STATES = frozenset({SENT, SKIPPED, FAILED_PERMANENT})

AUDIT_COLUMNS = ("seq", "at", "invitation_ref", "application_id", "candidate_id", "event",
                 "channel", "recipient", "detail", "actor", "prev_hash", "hash")
# the columns bound into `hash`, in order (recipient/detail enter via pii_digest)
HASHED_COLUMNS = ("seq", "at", "invitation_ref", "application_id", "candidate_id", "event",
                  "channel", "actor", "pii_digest")


@dataclass(frozen=True)
class AppSnapshot:
    """What the baseline remembers of one application: enough to see a stage change."""

    id: str
    candidate_id: str
    job_id: str | None
    stage_id: str | None
    stage_name: str | None
    status: str | None
    updated_at: datetime


# --- hashing -----------------------------------------------------------------------------


def canonical(values: list[Any] | tuple[Any, ...]) -> bytes:
    """Compact JSON array: unambiguous (None ≠ "", 1 ≠ "1"), stable across Python versions."""
    return json.dumps(list(values), ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def pii_digest(salt: str | None, recipient: str | None, detail: str | None) -> str:
    return hashlib.sha256(canonical([salt, recipient, detail])).hexdigest()


def row_hash(prev_hash: str, row: dict[str, Any]) -> str:
    payload = prev_hash.encode("ascii") + canonical([row[c] for c in HASHED_COLUMNS])
    return hashlib.sha256(payload).hexdigest()


# --- value encoding ----------------------------------------------------------------------


def encode_instant(value: datetime | None) -> str | None:
    """UTC ISO 8601 with offset; text order is time order for these strings."""
    return None if value is None else ensure_utc(value).isoformat()


def decode_instant(value: str | None) -> datetime | None:
    return None if value is None else parse_instant(value)


def _field_kind(type_text: str) -> str:
    text = str(type_text)
    if "datetime" in text:
        return "datetime"
    if text.startswith("State"):
        return "state"
    if text.startswith("bool"):
        return "bool"
    if text.startswith("int"):
        return "int"
    if text.startswith("dict"):
        return "json"
    return "text"


_FIELD_KINDS: dict[str, str] = {f.name: _field_kind(f.type) for f in fields(Invitation)}
_HAS_DEFAULT = frozenset(f.name for f in fields(Invitation)
                         if f.default is not MISSING or f.default_factory is not MISSING)
_SQL_TYPES: dict[str, type] = {"datetime": str, "state": str, "bool": int, "int": int,
                               "json": str, "text": str}


def invitation_to_row(inv: Invitation) -> dict[str, Any]:
    row: dict[str, Any] = {}
    for name, kind in _FIELD_KINDS.items():
        value = getattr(inv, name)
        if value is None:
            row[name] = None
        elif kind == "datetime":
            row[name] = encode_instant(value)
        elif kind == "state":
            row[name] = State(value).value
        elif kind == "bool":
            row[name] = int(bool(value))
        elif kind == "json":
            row[name] = json.dumps(value, ensure_ascii=False, sort_keys=True)
        else:
            row[name] = value
    return row


def row_to_invitation(row: dict[str, Any]) -> Invitation:
    """Columns unknown to this code (written by a newer one) are ignored; a NULL in a
    column whose field has a default (a column added after the row was written) takes it."""
    values: dict[str, Any] = {}
    for name, kind in _FIELD_KINDS.items():
        value = row.get(name)
        if value is None:
            if name not in _HAS_DEFAULT:
                values[name] = None
        elif kind == "datetime":
            values[name] = decode_instant(value)
        elif kind == "state":
            values[name] = State(value)
        elif kind == "bool":
            values[name] = bool(value)
        elif kind == "json":
            values[name] = json.loads(value)
        else:
            values[name] = value
    return Invitation(**values)


# --- migrations --------------------------------------------------------------------------


def _m1_initial(db: sqlite_utils.Database) -> None:
    db["cursors"].create({"source": str, "value": str, "updated_at": str}, pk="source")
    db["baselines"].create({"source": str, "at": str}, pk="source")
    db["applications"].create({"id": str, "candidate_id": str, "job_id": str, "stage_id": str,
                               "stage_name": str, "status": str, "updated_at": str}, pk="id")
    db["invitations"].create({name: _SQL_TYPES[kind] for name, kind in _FIELD_KINDS.items()},
                             pk="ref")
    db["invitations"].create_index(["state"])
    db["invitations"].create_index(["application_id"])
    db["invitations"].create_index(["booking_ref"])
    db["invitations"].create_index(["candidate_email"])
    db["outbox"].create({"key": str, "ref": str, "kind": str, "channel": str, "recipient": str,
                         "state": str, "attempts": int, "message_id": str, "error": str,
                         "created_at": str, "updated_at": str}, pk="key",
                        not_null={"state", "attempts"})
    db["outbox"].create_index(["ref"])
    db.execute("""
        CREATE TABLE audit (
            seq INTEGER PRIMARY KEY,
            at TEXT NOT NULL,
            invitation_ref TEXT,
            application_id TEXT,
            candidate_id TEXT,
            event TEXT NOT NULL,
            channel TEXT,
            recipient TEXT,
            detail TEXT,
            actor TEXT NOT NULL,
            pii_salt TEXT,
            pii_digest TEXT NOT NULL,
            prev_hash TEXT NOT NULL,
            hash TEXT NOT NULL
        )""")
    db.execute("CREATE INDEX idx_audit_at ON audit (at)")
    db.execute("CREATE INDEX idx_audit_ref ON audit (invitation_ref)")
    db.execute("CREATE TABLE audit_purge_gate (open INTEGER NOT NULL)")
    db.execute("""
        CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
        BEGIN SELECT RAISE(ABORT, 'audit log is append-only: rows cannot be deleted'); END""")
    db.execute("""
        CREATE TRIGGER audit_append_in_order BEFORE INSERT ON audit
        WHEN NEW.seq IS NOT (SELECT COALESCE(MAX(seq), 0) + 1 FROM audit)
        BEGIN SELECT RAISE(ABORT, 'audit log is append-only: rows are added in seq order'); END""")
    unchanged = " OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in (
        "seq", "at", "invitation_ref", "application_id", "candidate_id", "event", "channel",
        "actor", "pii_digest", "prev_hash", "hash"))
    db.execute(f"""
        CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
        WHEN NOT EXISTS (SELECT 1 FROM audit_purge_gate)
          OR {unchanged}
          OR NEW.recipient IS NOT NULL OR NEW.detail IS NOT NULL OR NEW.pii_salt IS NOT NULL
        BEGIN SELECT RAISE(ABORT, 'audit log is append-only: only purge may blank personal fields'); END""")


def _m2_outbox_state_index(db: sqlite_utils.Database) -> None:
    """Each poll looks for rows a crashed run left in ``sending``; keep that cheap."""
    db["outbox"].create_index(["state"], if_not_exists=True)


def _m3_sms(db: sqlite_utils.Database) -> None:
    """The consent ledger (one row per number: its current state and where it came
    from; the history is in the audit log) and the texts we sent or received, so each
    poll can read delivery status and match replies to an invitation."""
    db["consent"].create({"phone": str, "state": str, "source": str, "text_shown": str, "candidate_id": str,
                          "at": str, "updated_at": str}, pk="phone", not_null={"state"})
    db["sms_messages"].create({"sid": str, "key": str, "ref": str, "phone": str, "direction": str,
                               "kind": str, "status": str, "error_code": int, "at": str, "updated_at": str},
                              pk="sid")
    db["sms_messages"].create_index(["ref"])
    db["sms_messages"].create_index(["status"])
    # a text waiting out the candidate's quiet hours (one per invitation: the latest wins)
    db["sms_pending"].create({"ref": str, "kind": str, "key": str, "not_before": str}, pk="ref")
    # numbers that cannot take a text (invalid, landline, unreachable): email carries on
    db["sms_unusable"].create({"phone": str, "code": str, "at": str}, pk="phone")


MIGRATIONS: tuple[Callable[[sqlite_utils.Database], None], ...] = (_m1_initial, _m2_outbox_state_index, _m3_sms)
SCHEMA_VERSION = len(MIGRATIONS)


# --- errors ------------------------------------------------------------------------------


def _state_error(path: str, exc: BaseException) -> StateError:
    """Turn a driver/OS error at open time into one line with the fix."""
    text = str(exc).lower()
    if isinstance(exc, PermissionError) or "readonly" in text or "read-only" in text:
        return StateError(f"state database {path} is read-only",
                          "make the file and its directory writable by this user "
                          "(e.g. chmod u+w), or set [state] path to a writable location")
    if "not a database" in text or "malformed" in text or "corrupt" in text:
        return StateError(f"state database {path} is corrupt or not a SQLite database",
                          "restore it from a backup, or move it aside and run `interview-sync "
                          "poll` to record a fresh baseline (sends nothing)")
    if "disk is full" in text or getattr(exc, "errno", None) == errno.ENOSPC:
        return StateError(f"no space left for state database {path}",
                          "free disk space on that disk, then run the command again (nothing was lost: "
                          "the unfinished step was rolled back)")
    if "disk i/o error" in text:
        return StateError(f"state database {path}: disk I/O error",
                          "check the disk (free space, the kernel log) and that the file sits on a local "
                          "disk, not a network share; then run the command again")
    if "locked" in text or "busy" in text:
        return StateError(f"state database {path} is busy (another process is writing)",
                          "retry in a moment")
    if isinstance(exc, FileNotFoundError) or "unable to open" in text:
        return StateError(f"cannot open state database {path}",
                          "check that its directory exists and is writable")
    return StateError(f"cannot use state database {path}: {exc}",
                      "run `interview-sync doctor`; restore the file from a backup if needed")


def _private_file(path: Path) -> None:
    """Create the DB file 0600 (or tighten it) before SQLite touches it.

    Opening O_RDWR also proves the file is writable by *this* process (root
    included, unlike os.access), which is how a read-only file is reported.
    """
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        if stat.S_IMODE(os.fstat(fd).st_mode) & 0o077:
            os.fchmod(fd, 0o600)
    finally:
        os.close(fd)
    for suffix in ("-wal", "-shm"):
        side = path.with_name(path.name + suffix)
        if side.exists() and stat.S_IMODE(side.stat().st_mode) & 0o077:
            side.chmod(0o600)


# --- the store ---------------------------------------------------------------------------


class StateDB:
    """The state store. Build it with :meth:`open` or :meth:`memory`."""

    def __init__(self, conn: sqlite3.Connection, *, path: str, readonly: bool,
                 clock: Clock | None = None) -> None:
        self.conn = conn
        self.db = sqlite_utils.Database(conn, execute_plugins=False)
        self.path = path
        self.readonly = readonly
        self.clock: Clock = clock or SystemClock()
        self._depth = 0
        self._stand_in_key: bytes | None = None  # see pseudonym_key(): read-only files without one

    # -- lifecycle ----------------------------------------------------------------------

    @classmethod
    def open(cls, path: Path | str, *, readonly: bool = False,
             clock: Clock | None = None) -> StateDB:
        """Open (creating and migrating unless ``readonly``) the state file at ``path``."""
        file = Path(path)
        name = str(file)
        conn: sqlite3.Connection | None = None
        try:
            if readonly:
                if not file.exists():
                    raise StateError(f"no state database at {name}",
                                     "run `interview-sync poll` once to create it, or fix "
                                     "[state] path")
                conn = sqlite3.connect(file.resolve().as_uri() + "?mode=ro", uri=True,
                                       isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
            else:
                _private_file(file)
                conn = sqlite3.connect(name, isolation_level=None,
                                       timeout=BUSY_TIMEOUT_MS / 1000)
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            conn.execute("PRAGMA foreign_keys = ON")
            # purge must really remove personal data, not leave it in free pages
            conn.execute("PRAGMA secure_delete = ON")
            if not readonly:
                mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
                if str(mode).lower() != "wal":
                    raise StateError(f"state database {name} cannot use WAL journaling "
                                     f"(got {mode})", "put it on a local file system")
                conn.execute("PRAGMA synchronous = NORMAL")
            store = cls(conn, path=name, readonly=readonly, clock=clock)
            store._prepare()
            return store
        except StateError:
            if conn is not None:
                conn.close()
            raise
        except (sqlite3.Error, OSError) as exc:
            if conn is not None:
                conn.close()
            raise _state_error(name, exc) from None

    @classmethod
    def memory(cls, *, clock: Clock | None = None) -> StateDB:
        """A private in-memory store, migrated: for tests, dry runs and replay."""
        conn = sqlite3.connect(":memory:", isolation_level=None)
        conn.execute("PRAGMA foreign_keys = ON")
        store = cls(conn, path=":memory:", readonly=False, clock=clock)
        store._prepare()
        return store

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> StateDB:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def schema_version(self) -> int:
        if not self.db["meta"].exists():
            return 0
        row = self.conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        return int(row[0]) if row else 0

    def _prepare(self) -> None:
        version = self.schema_version()
        if version > SCHEMA_VERSION:
            raise StateError(
                f"state database {self.path} has schema version {version}, newer than this "
                f"interview-sync understands ({SCHEMA_VERSION})",
                "upgrade interview-sync (pip install -U interview-sync) or point [state] path "
                "at another file")
        if self.readonly:
            if version < SCHEMA_VERSION:
                raise StateError(
                    f"state database {self.path} has schema version {version}; this "
                    f"interview-sync needs {SCHEMA_VERSION}",
                    "run `interview-sync poll` (or any writing command) once to migrate it")
            return
        self.migrate()

    def migrate(self) -> int:
        """Apply pending migrations, one transaction each; safe to call again. Returns the version."""
        while True:
            with self.transaction():
                self.db.execute("CREATE TABLE IF NOT EXISTS meta "
                                "(key TEXT PRIMARY KEY, value TEXT NOT NULL)")
                version = self.schema_version()  # re-read under the write lock
                if version > SCHEMA_VERSION:
                    raise StateError(f"state database {self.path} has schema version "
                                     f"{version}, newer than this interview-sync",
                                     "upgrade interview-sync")
                if version == SCHEMA_VERSION:
                    break
                MIGRATIONS[version](self.db)
                self.db.execute("INSERT INTO meta (key, value) VALUES ('schema_version', ?) "
                                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                                [str(version + 1)])
        self._add_invitation_columns()
        self._add_outbox_message_id_index()
        self._add_pseudonym_key()
        return SCHEMA_VERSION

    def _add_pseudonym_key(self) -> None:
        """Create the deployment's pseudonym key once. Idempotent, like the index below, so it
        needs no schema version; a concurrent opener may win the insert, and then its key stays."""
        if self._read_pseudonym_key() is not None:
            return
        with self.transaction():
            self.conn.execute("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING",
                              [PSEUDONYM_KEY, secrets.token_bytes(PSEUDONYM_KEY_BYTES).hex()])

    def _read_pseudonym_key(self) -> bytes | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", [PSEUDONYM_KEY]).fetchone()
        if row is None:
            return None
        try:
            key = bytes.fromhex(row[0])
        except ValueError:
            key = b""
        if len(key) != PSEUDONYM_KEY_BYTES:
            raise StateError(f"state database {self.path}: meta.{PSEUDONYM_KEY} is not "
                             f"{PSEUDONYM_KEY_BYTES * 2} hex digits",
                             "restore the file from a backup, or delete that meta row to get a new key "
                             "(later recordings then use new pseudonyms)")
        return key

    def pseudonym_key(self) -> bytes:
        """The secret key of this deployment's `poll --record` pseudonyms (HMAC-SHA-256).

        It lives here and never in a recording, so a recording alone cannot be checked
        against a list of guessed names or addresses, while every recording of this
        deployment gives one person the same pseudonym. A file opened read-only that
        predates the key cannot store one: it gets a random key for this process only
        (pseudonyms stable within the process, matching no other recording).
        """
        key = self._read_pseudonym_key()
        if key is not None:
            return key
        if not self.readonly:
            self._add_pseudonym_key()
            key = self._read_pseudonym_key()
            if key is not None:
                return key
        if self._stand_in_key is None:
            self._stand_in_key = secrets.token_bytes(PSEUDONYM_KEY_BYTES)
        return self._stand_in_key

    def _add_outbox_message_id_index(self) -> None:
        """Every message read back from the mailbox is matched by the Message-IDs it points at
        (issue 13). Idempotent like the columns below, so it needs no schema version of its own
        (and no migration number that another branch's migration would also take)."""
        if any(index.columns == ["message_id"] for index in self.db["outbox"].indexes):
            return
        with self.transaction():
            self.db["outbox"].create_index(["message_id"], if_not_exists=True)

    def _add_invitation_columns(self) -> None:
        present = set(self.db["invitations"].columns_dict)
        missing = [name for name in _FIELD_KINDS if name not in present]
        if missing:
            with self.transaction():
                for name in missing:
                    self.db["invitations"].add_column(name, _SQL_TYPES[_FIELD_KINDS[name]])

    # -- transactions -------------------------------------------------------------------

    @property
    def in_transaction(self) -> bool:
        return self._depth > 0

    @contextmanager
    def transaction(self) -> Iterator[StateDB]:
        """``BEGIN IMMEDIATE`` … ``COMMIT``; nested use joins the outer one via a SAVEPOINT."""
        if self._depth:
            name = f"nested_{self._depth}"
            self.conn.execute(f"SAVEPOINT {name}")
            self._depth += 1
            try:
                yield self
            except BaseException:
                if self.conn.in_transaction:
                    self.conn.execute(f"ROLLBACK TO {name}")
                    self.conn.execute(f"RELEASE {name}")
                raise
            else:
                self.conn.execute(f"RELEASE {name}")
            finally:
                self._depth -= 1
            return
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise _state_error(self.path, exc) from None
        self._depth = 1
        try:
            yield self
        except BaseException:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            raise
        else:
            try:
                self.conn.execute("COMMIT")
            except BaseException:
                if self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
                raise
        finally:
            self._depth = 0

    def explain(self, exc: BaseException) -> StateError:
        """The one-line error (path and fix) for a driver failure on this database."""
        return _state_error(self.path, exc)

    def _now(self) -> str:
        return encode_instant(self.clock.now()) or ""

    # -- cursors and baseline -----------------------------------------------------------

    def get_cursor(self, source: str) -> str | None:
        row = self.conn.execute("SELECT value FROM cursors WHERE source = ?", [source]).fetchone()
        return row[0] if row else None

    def set_cursor(self, source: str, value: str) -> None:
        with self.transaction():
            self.db["cursors"].upsert({"source": source, "value": value,
                                       "updated_at": self._now()}, pk="source")

    def is_baselined(self, source: str) -> bool:
        return self.conn.execute("SELECT 1 FROM baselines WHERE source = ?",
                                 [source]).fetchone() is not None

    def mark_baselined(self, source: str) -> None:
        with self.transaction():
            self.db["baselines"].upsert({"source": source, "at": self._now()}, pk="source")

    def get_application(self, app_id: str) -> AppSnapshot | None:
        rows = list(self.db.query("SELECT * FROM applications WHERE id = ?", [app_id]))
        if not rows:
            return None
        row = rows[0]
        return AppSnapshot(id=row["id"], candidate_id=row["candidate_id"], job_id=row["job_id"],
                           stage_id=row["stage_id"], stage_name=row["stage_name"],
                           status=row["status"],
                           updated_at=decode_instant(row["updated_at"]))  # type: ignore[arg-type]

    def put_application(self, snapshot: AppSnapshot) -> None:
        # Plain SQL rather than sqlite-utils' upsert: this runs once per listed application
        # (100k on a first run), and the upsert's table introspection was 80 % of its cost.
        with self.transaction():
            self.conn.execute(
                "INSERT INTO applications (id, candidate_id, job_id, stage_id, stage_name, status, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET candidate_id = excluded.candidate_id, "
                "job_id = excluded.job_id, stage_id = excluded.stage_id, stage_name = excluded.stage_name, "
                "status = excluded.status, updated_at = excluded.updated_at",
                [snapshot.id, snapshot.candidate_id, snapshot.job_id, snapshot.stage_id, snapshot.stage_name,
                 snapshot.status, encode_instant(snapshot.updated_at)])

    def count_applications(self) -> int:
        return int(self.conn.execute("SELECT COUNT(*) FROM applications").fetchone()[0])

    # -- invitations --------------------------------------------------------------------

    def save_invitation(self, inv: Invitation) -> None:
        """Insert or replace every column of the invitation (one column per field)."""
        with self.transaction():
            self.db["invitations"].upsert(invitation_to_row(inv), pk="ref")

    def _select_invitations(self, where: str = "", params: list[Any] | None = None,
                            order: str = "created_at, ref",
                            limit: int | None = None) -> Iterator[Invitation]:
        sql = f"SELECT * FROM invitations {where} ORDER BY {order}"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        for row in self.db.query(sql, params or []):
            yield row_to_invitation(row)

    def _first(self, where: str, params: list[Any]) -> Invitation | None:
        found = list(self._select_invitations(where, params, limit=1))  # cursor closed
        return found[0] if found else None

    def get_invitation(self, ref: str) -> Invitation | None:
        return self._first("WHERE ref = ?", [ref])

    def invitations(self, state: str | None = None,
                    application_id: str | None = None) -> list[Invitation]:
        clauses, params = [], []
        if state is not None:
            clauses.append("state = ?")
            params.append(State(state).value)
        if application_id is not None:
            clauses.append("application_id = ?")
            params.append(application_id)
        where = ("WHERE " + " AND ".join(clauses)) if clauses else ""
        return list(self._select_invitations(where, params))

    def open_invitations(self) -> list[Invitation]:
        states = sorted(s.value for s in OPEN_STATES)
        marks = ", ".join("?" for _ in states)
        return list(self._select_invitations(f"WHERE state IN ({marks})", states))

    def find_by_booking(self, booking_ref: str) -> Invitation | None:
        return self._first("WHERE booking_ref = ?", [booking_ref])

    def find_by_email_host(self, email: str, hm_email: str) -> list[Invitation]:
        """Invitations (any state, oldest first) for this candidate email and host email,
        compared case-insensitively: the fallback when a booking lost its reference."""
        return list(self._select_invitations(
            "WHERE lower(candidate_email) = lower(?) AND lower(hm_email) = lower(?)",
            [email, hm_email]))

    def iter_invitations(self, since: datetime | None = None,
                         until: datetime | None = None) -> Iterator[Invitation]:
        """Stream invitations whose stage change falls in [since, until), one row at a time."""
        clauses, params = [], []
        if since is not None:
            clauses.append("stage_changed_at >= ?")
            params.append(encode_instant(since))
        if until is not None:
            clauses.append("stage_changed_at < ?")
            params.append(encode_instant(until))
        where = ("WHERE " + " AND ".join(clauses)) if clauses else ""
        return self._select_invitations(where, params, order="stage_changed_at, ref")

    # -- outbox -------------------------------------------------------------------------

    def claim(self, key: str, *, ref: str, kind: str, channel: str,
              recipient: str | None) -> ClaimOutcome:
        """Reserve the right to perform the effect ``key`` exactly once.

        ``"claimed"``: a ``sending`` row is now *committed*; perform the effect,
        then :meth:`mark_sent` / :meth:`mark_failed`. ``"done"``: already sent,
        skipped or permanently failed. ``"unknown"``: a previous run crashed
        between claim and record — the row becomes ``unknown`` and is never
        claimed again (alert a person instead of risking a duplicate).

        Must be called outside :meth:`transaction`: if the claim were not
        committed before the send, a crash would roll it back and the next run
        would send again.
        """
        if self._depth:
            raise RuntimeError("claim() must run outside a transaction: the 'sending' row has "
                               "to be committed before the effect happens")
        with self.transaction():
            row = self.conn.execute("SELECT state FROM outbox WHERE key = ?", [key]).fetchone()
            now = self._now()
            if row is None:
                self.db["outbox"].insert({"key": key, "ref": ref, "kind": kind,
                                          "channel": channel, "recipient": recipient,
                                          "state": SENDING, "attempts": 1, "created_at": now,
                                          "updated_at": now})
                return "claimed"
            state = row[0]
            if state in DONE_STATES:
                return "done"
            if state in (SENDING, UNKNOWN):
                if state == SENDING:
                    self.conn.execute("UPDATE outbox SET state = ?, updated_at = ? WHERE key = ?",
                                      [UNKNOWN, now, key])
                return "unknown"
            if state == FAILED:
                self.conn.execute(
                    "UPDATE outbox SET state = ?, attempts = attempts + 1, recipient = ?, "
                    "channel = ?, updated_at = ? WHERE key = ?",
                    [SENDING, recipient, channel, now, key])
                return "claimed"
            raise StateError(f"outbox row {key} is in unexpected state {state!r}",
                             "run `interview-sync doctor`")

    def _set_outbox(self, key: str, **values: Any) -> None:
        values["updated_at"] = self._now()
        assignments = ", ".join(f"{name} = ?" for name in values)
        with self.transaction():
            cursor = self.conn.execute(f"UPDATE outbox SET {assignments} WHERE key = ?",
                                       [*values.values(), key])
            if cursor.rowcount != 1:
                raise KeyError(f"no outbox row {key!r}")

    def mark_sent(self, key: str, message_id: str | None = None) -> None:
        self._set_outbox(key, state=SENT, message_id=message_id, error=None)

    def mark_skipped(self, key: str, reason: str | None = None) -> None:
        """Record that the effect was deliberately not performed; later claims say "done"."""
        self._set_outbox(key, state=SKIPPED, error=reason)

    def mark_failed(self, key: str, error: str, permanent: bool) -> None:
        """Transient failure → ``failed`` (claimable again); permanent → ``failed_permanent``."""
        self._set_outbox(key, state=FAILED_PERMANENT if permanent else FAILED, error=error[:500])

    def outbox_state(self, key: str) -> str | None:
        row = self.conn.execute("SELECT state FROM outbox WHERE key = ?", [key]).fetchone()
        return row[0] if row else None

    def outbox_rows(self, ref: str | None = None) -> list[dict[str, Any]]:
        if ref is None:
            return list(self.db.query("SELECT * FROM outbox ORDER BY created_at, key"))
        return list(self.db.query("SELECT * FROM outbox WHERE ref = ? ORDER BY created_at, key",
                                  [ref]))

    def sent_with_message_id(self, message_ids: list[str]) -> dict[str, Any] | None:
        """The outbox row of the first of ``message_ids`` that we generated ourselves (a reply's
        In-Reply-To/References, a bounce's returned original), or None: the only way a message
        read back from the mailbox is tied to an invitation."""
        for message_id in message_ids:
            row = self.conn.execute("SELECT key, ref, kind, recipient FROM outbox WHERE message_id = ? "
                                    "ORDER BY created_at LIMIT 1", [message_id]).fetchone()
            if row is not None:
                return {"key": row[0], "ref": row[1], "kind": row[2], "recipient": row[3]}
        return None

    def stranded_rows(self) -> list[dict[str, Any]]:
        """Rows left in ``sending`` by a run that died between claim and record.

        Only meaningful under the run lock: then no other run is mid-send.
        """
        return list(self.db.query("SELECT * FROM outbox WHERE state = ? ORDER BY created_at, key", [SENDING]))

    def release(self, key: str) -> bool:
        """Free ``key`` for a new claim (``invite --resend``, or a person resolved ``unknown``).

        The old row is kept as history: it is renamed to ``<key>#superseded-<n>``
        with state ``superseded``, so the original key itself stays the natural
        idempotency key of the *next* attempt. Returns False if there was no row.
        """
        with self.transaction():
            if self.outbox_state(key) is None:
                return False
            taken = self.conn.execute("SELECT COUNT(*) FROM outbox WHERE key LIKE ? ESCAPE '\\'",
                                      [_like_prefix(key + "#superseded-")]).fetchone()[0]
            self.conn.execute("UPDATE outbox SET key = ?, state = ?, updated_at = ? WHERE key = ?",
                              [f"{key}#superseded-{taken + 1}", SUPERSEDED, self._now(), key])
            return True

    # -- SMS consent ledger and messages -------------------------------------------------

    def get_consent(self, phone: str) -> dict[str, Any] | None:
        row = self.conn.execute("SELECT * FROM consent WHERE phone = ?", [phone]).fetchone()
        if row is None:
            return None
        names = [d[0] for d in self.conn.execute("SELECT * FROM consent LIMIT 0").description]
        return dict(zip(names, row))

    def consents(self) -> list[dict[str, Any]]:
        return list(self.db.query("SELECT * FROM consent ORDER BY updated_at DESC, phone"))

    def put_consent(self, phone: str, *, state: str, source: str, text_shown: str | None,
                    candidate_id: str | None, at: datetime) -> None:
        """Insert or replace one number's consent state (callers audit the change)."""
        with self.transaction():
            self.conn.execute(
                "INSERT INTO consent (phone, state, source, text_shown, candidate_id, at, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (phone) DO UPDATE SET state = excluded.state, "
                "source = excluded.source, text_shown = COALESCE(excluded.text_shown, consent.text_shown), "
                "candidate_id = COALESCE(excluded.candidate_id, consent.candidate_id), "
                "at = excluded.at, updated_at = excluded.updated_at",
                [phone, state, source, text_shown, candidate_id, encode_instant(at), self._now()])

    def record_sms(self, sid: str, *, key: str | None, ref: str | None, phone: str, direction: str,
                   kind: str | None, status: str, error_code: int | None, at: datetime) -> bool:
        """Remember one message; False when its sid was already known (a re-read listing)."""
        with self.transaction():
            cursor = self.conn.execute(
                "INSERT INTO sms_messages (sid, key, ref, phone, direction, kind, status, error_code, at, "
                "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (sid) DO NOTHING",
                [sid, key, ref, phone, direction, kind, status, error_code, encode_instant(at), self._now()])
            return cursor.rowcount == 1

    def sms_message(self, sid: str) -> dict[str, Any] | None:
        rows = list(self.db.query("SELECT * FROM sms_messages WHERE sid = ?", [sid]))
        return rows[0] if rows else None

    def update_sms_status(self, sid: str, status: str, error_code: int | None) -> None:
        with self.transaction():
            self.conn.execute("UPDATE sms_messages SET status = ?, error_code = ?, updated_at = ? WHERE sid = ?",
                              [status, error_code, self._now(), sid])

    def sms_rows(self, ref: str | None = None) -> list[dict[str, Any]]:
        if ref is None:
            return list(self.db.query("SELECT * FROM sms_messages ORDER BY at"))
        return list(self.db.query("SELECT * FROM sms_messages WHERE ref = ? ORDER BY at", [ref]))

    def refs_emailed(self, kinds: frozenset[str]) -> set[str]:
        """Invitations that had at least one of these email kinds sent (one query, for exports)."""
        marks = ", ".join("?" for _ in kinds)
        return {row[0] for row in self.conn.execute(
            f"SELECT DISTINCT ref FROM outbox WHERE channel = 'email' AND state = 'sent' AND kind IN ({marks})",
            sorted(kinds))}

    def texts_sent(self, ref: str) -> int:
        return int(self.conn.execute("SELECT COUNT(*) FROM sms_messages WHERE ref = ? AND direction != 'inbound' "
                                     "AND kind != 'opt_out'", [ref]).fetchone()[0])

    def texts_sent_by_ref(self) -> dict[str, int]:
        """Texts per invitation, in one query (for exports)."""
        return {ref: count for ref, count in self.conn.execute(
            "SELECT ref, COUNT(*) FROM sms_messages WHERE direction != 'inbound' AND ref IS NOT NULL "
            "GROUP BY ref")}

    def hold_text(self, ref: str, kind: str, key: str, not_before: datetime) -> None:
        with self.transaction():
            self.conn.execute("INSERT INTO sms_pending (ref, kind, key, not_before) VALUES (?, ?, ?, ?) "
                              "ON CONFLICT (ref) DO UPDATE SET kind = excluded.kind, key = excluded.key, "
                              "not_before = excluded.not_before", [ref, kind, key, encode_instant(not_before)])

    def held_text(self, ref: str) -> dict[str, Any] | None:
        rows = list(self.db.query("SELECT * FROM sms_pending WHERE ref = ?", [ref]))
        return rows[0] if rows else None

    def texts_due(self, now: datetime) -> list[dict[str, Any]]:
        return list(self.db.query("SELECT * FROM sms_pending WHERE not_before <= ? ORDER BY not_before",
                                  [encode_instant(now)]))

    def release_text(self, ref: str) -> None:
        with self.transaction():
            self.conn.execute("DELETE FROM sms_pending WHERE ref = ?", [ref])

    def mark_unusable(self, phone: str, code: str, at: datetime) -> None:
        with self.transaction():
            self.conn.execute("INSERT INTO sms_unusable (phone, code, at) VALUES (?, ?, ?) ON CONFLICT (phone) "
                              "DO UPDATE SET code = excluded.code, at = excluded.at", [phone, code, encode_instant(at)])

    def unusable(self, phone: str) -> str | None:
        row = self.conn.execute("SELECT code FROM sms_unusable WHERE phone = ?", [phone]).fetchone()
        return str(row[0]) if row else None

    def latest_ref_for_phone(self, phone: str) -> str | None:
        """The invitation that last texted ``phone`` (a reply belongs to it)."""
        row = self.conn.execute("SELECT ref FROM sms_messages WHERE phone = ? AND direction != 'inbound' "
                                "AND ref IS NOT NULL ORDER BY at DESC LIMIT 1", [phone]).fetchone()
        return row[0] if row else None

    # -- audit --------------------------------------------------------------------------

    def audit(self, event: str, *, at: datetime, ref: str | None = None,
              application_id: str | None = None, candidate_id: str | None = None,
              channel: str | None = None, recipient: str | None = None,
              detail: str | None = None, actor: str = "interview-sync") -> int:
        """Append one chained audit row (in the current transaction, or its own); returns seq."""
        with self.transaction():
            last = self.conn.execute(
                "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
            seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS_HASH)
            salt = secrets.token_hex(16)
            row: dict[str, Any] = {
                "seq": seq, "at": encode_instant(at), "invitation_ref": ref,
                "application_id": application_id, "candidate_id": candidate_id,
                "event": event, "channel": channel, "recipient": recipient, "detail": detail,
                "actor": actor, "pii_salt": salt,
                "pii_digest": pii_digest(salt, recipient, detail), "prev_hash": prev}
            row["hash"] = row_hash(prev, row)
            names = ", ".join(row)
            marks = ", ".join("?" for _ in row)
            self.conn.execute(f"INSERT INTO audit ({names}) VALUES ({marks})", list(row.values()))
            return seq

    def iter_audit(self, since: datetime | None = None,
                   until: datetime | None = None) -> Iterator[dict[str, Any]]:
        """Stream audit rows in seq order (all stored columns), ``at`` in [since, until)."""
        clauses, params = [], []
        if since is not None:
            clauses.append("at >= ?")
            params.append(encode_instant(since))
        if until is not None:
            clauses.append("at < ?")
            params.append(encode_instant(until))
        where = ("WHERE " + " AND ".join(clauses)) if clauses else ""
        return self.db.query(f"SELECT * FROM audit {where} ORDER BY seq", params)

    def mail_counts(self) -> dict[str, tuple[int, int]]:
        """Invitation reference → (bounces, replies) read back from the mailbox, from the audit log."""
        rows = self.conn.execute(
            "SELECT invitation_ref, SUM(event IN ('mail_bounced', 'mail_soft_bounce')), SUM(event = 'mail_reply') "
            "FROM audit WHERE event IN ('mail_bounced', 'mail_soft_bounce', 'mail_reply') "
            "AND invitation_ref IS NOT NULL GROUP BY invitation_ref").fetchall()
        return {ref: (int(bounces), int(replies)) for ref, bounces, replies in rows}

    def audit_rows(self, refs: list[str]) -> list[dict[str, Any]]:
        """The audit rows of these invitations in seq order (one candidate's story: a
        few dozen rows, found through the invitation_ref index)."""
        if not refs:
            return []
        marks = ", ".join("?" for _ in refs)
        return list(self.db.query(f"SELECT * FROM audit WHERE invitation_ref IN ({marks}) ORDER BY seq", refs))

    def audit_count(self) -> int:
        return int(self.conn.execute("SELECT COUNT(*) FROM audit").fetchone()[0])

    def last_purge_seqs(self) -> dict[str | None, int]:
        """Per invitation ref, the seq of its latest ``purge`` audit event."""
        return {ref: seq for ref, seq in self.conn.execute(
            "SELECT invitation_ref, MAX(seq) FROM audit WHERE event = 'purge' "
            "GROUP BY invitation_ref")}

    # -- retention ----------------------------------------------------------------------

    def purge_candidates(self, cutoff: datetime, states: tuple[str, ...]) -> list[Invitation]:
        """Unpurged invitations in ``states`` last updated (or created) before ``cutoff``."""
        marks = ", ".join("?" for _ in states)
        return list(self._select_invitations(
            f"WHERE state IN ({marks}) AND COALESCE(purged, 0) = 0 "
            "AND COALESCE(updated_at, created_at) < ?",
            [*states, encode_instant(cutoff)]))

    def audit_rows_with_pii(self, ref: str) -> int:
        return int(self.conn.execute(
            "SELECT COUNT(*) FROM audit WHERE invitation_ref = ? AND pii_salt IS NOT NULL",
            [ref]).fetchone()[0])

    def purge_invitation(self, ref: str, *, at: datetime) -> int:
        """Blank one invitation's personal fields, its outbox recipients and its audit rows'
        recipient/detail (through the purge gate). Returns the audit rows blanked."""
        with self.transaction():
            inv = self.get_invitation(ref)
            if inv is None:
                raise KeyError(f"no invitation {ref!r}")
            for name in PERSONAL_FIELDS:
                setattr(inv, name, None)
            inv.purged = True
            inv.updated_at = at
            inv.last_action = "purged"
            self.save_invitation(inv)
            self.conn.execute("UPDATE outbox SET recipient = NULL, error = NULL WHERE ref = ?",
                              [ref])
            self.conn.execute("INSERT INTO audit_purge_gate (open) VALUES (1)")
            try:
                blanked = self.conn.execute(
                    "UPDATE audit SET recipient = NULL, detail = NULL, pii_salt = NULL "
                    "WHERE invitation_ref = ? AND pii_salt IS NOT NULL", [ref]).rowcount
            finally:
                self.conn.execute("DELETE FROM audit_purge_gate")
            return blanked

    def checkpoint(self) -> None:
        """Copy the WAL into the main file and truncate it (after purge: no stale page images)."""
        if self.path != ":memory:" and not self._depth:
            self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    # -- health -------------------------------------------------------------------------

    def integrity_check(self) -> str:
        """``"ok"``, or SQLite's first complaints on one line."""
        try:
            problems = [row[0] for row in self.conn.execute("PRAGMA integrity_check(5)")]
        except sqlite3.DatabaseError as exc:
            return str(exc)
        if problems == ["ok"]:
            return "ok"
        return "; ".join(problems)


def _like_prefix(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"
