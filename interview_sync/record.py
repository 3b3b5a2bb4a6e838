"""Record what the vendors told a live poll, and replay it through the workflow.

`poll --record FILE.jsonl` wraps the ATS and scheduler adapters at their
Protocol boundary and appends one JSON line per call (method, arguments,
answer) plus one ``poll`` line per cycle with its instant. `replay` puts
stand-ins behind the same Protocols that answer from the file, runs the same
poll cycle with a simulated clock, and so reproduces the actions of the live
run without touching a vendor or a person.

Personal data is pseudonymised unless ``raw`` (candidates, invitees, hiring
managers and recruiters alike): names become ``Candidate <hash>`` or ``Person
<hash>``, addresses ``u<hash>@example.com`` (still valid, still equal when the
original was), phone numbers are dropped, booking-link prefills and free text
are cleaned, and note bodies we wrote are left out. The pseudonyms are keyed
with the deployment's secret from the state database (never written to the
recording), so one person keeps one pseudonym across all polls and recordings
of a deployment and matching by email still works in the replay, while a
recording alone cannot be checked against a list of guessed names or addresses.
"""

from __future__ import annotations

import dataclasses
import json
from collections import defaultdict, deque
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from . import models
from .clock import ensure_utc, iso, parse_instant
from .errors import LocalIOError, VendorError
from .paging import Paging
from .private_files import open_private
from .pseudonym import Pseudonymiser, removed

_TYPES = {cls.__name__: cls for cls in (models.Person, models.Candidate, models.Job, models.Application,
                                        models.Host, models.EventType, models.Booking)}
_PERSONAL_NAMES = {"name", "first_name", "last_name"}
_PERSONAL_EMAILS = {"email", "host_email"}
_DROPPED = {"phone"}
# Records whose name/email fields are people: candidates, invitees, hiring managers, recruiters.
_PEOPLE = {"Candidate": "Candidate", "Booking": "Candidate", "Person": "Person", "Host": "Person"}
# Values the replay matches on or routes by; they name no one, so they stay as they are.
_IDENTIFIERS = {"id", "uri", "event_uri", "ref", "stage_id", "stage_name", "job_id", "candidate_id", "host_uri",
                "event_type_uri", "new_booking_uri", "old_booking_uri", "slug", "status", "timezone"}
# Free text a person typed: the replay never needs it.
_TYPED = {"cancel_reason"}
# Positional arguments that are text we wrote (note bodies): dropped, the replay writes its own.
_OUR_TEXT = {"add_note": 1}
# Listing calls are matched by order within a poll; other reads by their arguments too.
_LISTINGS = {"changed_applications", "changed_bookings"}
# Vendor writes whose answer is nothing. A replay never performs them, so it needs no
# recorded answer for them; a recorded one is still used, to replay the vendor's refusal.
_WRITES = {"add_note", "add_tag", "revoke_link", "mark_no_show"}


def encode(value: Any, *, raw: bool, pseudo: Pseudonymiser | None = None, field: str | None = None) -> Any:
    """JSON-ready form of adapter arguments and answers; dataclasses are tagged.

    Unless ``raw``, personal values are replaced through ``pseudo`` (see
    :mod:`interview_sync.pseudonym`); call :func:`learn` on the same value first so
    that names inside free text are known before that text is written. Without
    ``pseudo`` a one-off random key is used: nothing leaks, but the pseudonyms match
    no other call's, so pass the recording's Pseudonymiser whenever they must.
    """
    if not raw and pseudo is None:
        pseudo = Pseudonymiser()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        name = type(value).__name__
        fields = {}
        for item_field in dataclasses.fields(value):
            item = getattr(value, item_field.name)
            if pseudo is not None and isinstance(item, str) and name in _PEOPLE:
                fields[item_field.name] = _person_field(pseudo, _PEOPLE[name], item_field.name, item)
            else:
                fields[item_field.name] = encode(item, raw=raw, pseudo=pseudo, field=item_field.name)
        return {"__type__": name, **fields}
    if isinstance(value, datetime):
        return {"__dt__": iso(value)}
    if isinstance(value, (list, tuple)):
        return [encode(v, raw=raw, pseudo=pseudo, field=field) for v in value]
    if isinstance(value, dict):
        return {k: _person_field(pseudo, "Candidate", k, v) if pseudo is not None and isinstance(v, str)
                else encode(v, raw=raw, pseudo=pseudo, field=k) for k, v in value.items()}
    if pseudo is not None and isinstance(value, str):
        return pseudo.identifier(value) if field in _IDENTIFIERS else pseudo.text(value)
    return value


def _person_field(pseudo: Pseudonymiser, label: str, field: str, value: str) -> str | None:
    if field in _DROPPED:
        return None
    if field in _PERSONAL_EMAILS:
        return pseudo.email(value)
    if field in _PERSONAL_NAMES:
        return pseudo.name(value, label)
    if field in _TYPED:
        return removed(value)
    if field == "location":
        return pseudo.location(value)
    return pseudo.identifier(value) if field in _IDENTIFIERS else pseudo.text(value)


def learn(value: Any, pseudo: Pseudonymiser) -> None:
    """Meet every person's name in ``value`` before any of its free text is cleaned."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        label = _PEOPLE.get(type(value).__name__)
        for item_field in dataclasses.fields(value):
            item = getattr(value, item_field.name)
            if label and item_field.name in _PERSONAL_NAMES and isinstance(item, str):
                pseudo.name(item, label)
            else:
                learn(item, pseudo)
    elif isinstance(value, (list, tuple)):
        for item in value:
            learn(item, pseudo)
    elif isinstance(value, dict):
        for key, item in value.items():
            if key in _PERSONAL_NAMES and isinstance(item, str):
                pseudo.name(item, "Candidate")
            else:
                learn(item, pseudo)


def decode(value: Any) -> Any:
    if isinstance(value, dict):
        if "__dt__" in value:
            return parse_instant(value["__dt__"])
        if "__type__" in value:
            cls = _TYPES[value["__type__"]]
            kwargs = {k: decode(v) for k, v in value.items() if k != "__type__"}
            for field in dataclasses.fields(cls):
                if "tuple" in str(field.type) and isinstance(kwargs.get(field.name), list):
                    kwargs[field.name] = tuple(kwargs[field.name])
            return cls(**kwargs)
        return {k: decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [decode(v) for v in value]
    return value


class Recorder:
    """Appends recorded lines to an open file (one JSON object per line).

    ``key`` is the pseudonym key (:meth:`StateDB.pseudonym_key`); without it a random
    one is drawn, and this recorder's pseudonyms match no other recording's.
    """

    def __init__(self, out: IO[str], *, raw: bool = False, key: bytes | None = None) -> None:
        self.out = out
        self.raw = raw
        self.pseudo = None if raw else Pseudonymiser(key)
        self.failure: LocalIOError | None = None

    def poll(self, at: datetime, **options: Any) -> None:
        # Full precision: the replay's clock must be the live one to the microsecond, or
        # every deadline derived from it (and written into ATS notes) drifts.
        self._write({"kind": "poll", "at": ensure_utc(at).isoformat(), **options})

    def call(self, side: str, method: str, args: list[Any], answer: Any, error: str | None = None) -> None:
        if self.pseudo is not None:
            position = _OUR_TEXT.get(method)
            if position is not None and position < len(args) and isinstance(args[position], str):
                args = [*args[:position], removed(args[position]), *args[position + 1:]]
            learn([args, answer], self.pseudo)
        line = {"kind": "call", "side": side, "method": method,
                "args": encode(args, raw=self.raw, pseudo=self.pseudo),
                "answer": encode(answer, raw=self.raw, pseudo=self.pseudo)}
        if error:
            line["error"] = error if self.pseudo is None else self.pseudo.text(error)
        self._write(line)

    def _write(self, line: dict[str, Any]) -> None:
        """A full disk must not stop the poll halfway (its vendor writes are done and must be
        recorded in state): the recording stops, and :meth:`check` reports it afterwards."""
        if self.failure is not None:
            return
        try:
            self.out.write(json.dumps(line, ensure_ascii=False, sort_keys=True) + "\n")
            self.out.flush()
        except OSError as exc:
            self.failure = LocalIOError.from_os_error(exc, getattr(self.out, "name", "the recording"), "--record")

    def check(self) -> None:
        """Raise the write failure, if any, once the poll is over."""
        if self.failure is not None:
            raise self.failure


def open_recording(path: Path) -> IO[str]:
    """The recording file, opened for appending and created 0600 (it holds vendor answers)."""
    try:
        return open_private(path, "a")
    except OSError as exc:
        raise LocalIOError.from_os_error(exc, path, "--record") from None


class Recording:
    """Wraps an adapter; forwards every call and records its answer."""

    def __init__(self, inner: Any, side: str, recorder: Recorder) -> None:
        self._inner = inner
        self._side = side
        self._recorder = recorder
        self.name = inner.name

    def __getattr__(self, method: str) -> Any:
        target = getattr(self._inner, method)
        if not callable(target):
            return target

        def call(*args: Any, **kwargs: Any) -> Any:
            # A listing's page budget is the poll's bookkeeping, not a vendor argument.
            arguments = [a for a in ([*args, kwargs] if kwargs else list(args)) if not isinstance(a, Paging)]
            try:
                answer = target(*args, **kwargs)
                if isinstance(answer, Iterator):
                    answer = list(answer)
            except VendorError as exc:
                self._recorder.call(self._side, method, arguments, None, error=exc.message)
                raise
            self._recorder.call(self._side, method, arguments, answer)
            return iter(answer) if method in _LISTINGS else answer

        return call


class Replaying:
    """Answers adapter calls from a recording, in the order they were made."""

    def __init__(self, side: str, name: str, calls: list[dict[str, Any]]) -> None:
        self._side = side
        self.name = name
        self._queues: dict[str, deque[dict[str, Any]]] = defaultdict(deque)
        for line in calls:
            self._queues[self._key(line["method"], line["args"])].append(line)

    @staticmethod
    def _key(method: str, args: Any) -> str:
        """Listings match by order; writes by their target (a note's text embeds links
        and instants the replay need not reproduce to the byte); other calls by their
        non-personal arguments (a pseudonymised recording cannot reproduce the personal ones)."""
        if method in _LISTINGS:
            return method
        if method in _WRITES:
            target = args[0] if args else None
            if isinstance(target, dict):
                target = target.get("id") or target.get("uri")
            return method + json.dumps(target, sort_keys=True, ensure_ascii=False)
        personal = _PERSONAL_NAMES | _PERSONAL_EMAILS
        kept = [{k: v for k, v in a.items() if k not in personal} if isinstance(a, dict) else a for a in args]
        if method in _OUR_TEXT:
            kept = kept[:_OUR_TEXT[method]]
        return method + json.dumps(kept, sort_keys=True, ensure_ascii=False)

    def __getattr__(self, method: str) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            arguments = [*args, kwargs] if kwargs else list(args)
            queue = self._queues.get(self._key(method, encode(arguments, raw=True)))
            if not queue and method in _WRITES:
                return None  # not performed by a replay, so nothing to answer
            if not queue:
                raise VendorError(f"replay:{self.name}", f"no recorded answer for {method}",
                                  "the replay diverged from the recording (different config or code?)")
            line = queue.popleft()
            if line.get("error"):
                raise VendorError(self.name, line["error"], "recorded vendor error")
            answer = decode(line["answer"])
            return iter(answer) if method in _LISTINGS else answer

        return call


def load_recording(path: Path) -> list[dict[str, Any]]:
    """Every line of a recording; a bad line is a one-line error naming it."""
    lines = []
    with path.open(encoding="utf-8") as handle:
        for number, text in enumerate(handle, start=1):
            if not text.strip():
                continue
            try:
                line = json.loads(text)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}:{number}: not JSON ({exc.msg})") from None
            if line.get("kind") not in ("poll", "call"):
                raise ValueError(f"{path}:{number}: unknown kind {line.get('kind')!r}")
            lines.append(line)
    return lines


def split_polls(lines: list[dict[str, Any]]) -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:
    """Group calls under the poll line that precedes them."""
    polls: list[tuple[dict[str, Any], list[dict[str, Any]]]] = []
    for line in lines:
        if line["kind"] == "poll":
            polls.append((line, []))
        elif polls:
            polls[-1][1].append(line)
    return polls


class CollectingTransport:
    """A mail transport that keeps messages in memory: replay sends nothing."""

    def __init__(self) -> None:
        self.messages: list[Any] = []

    def open(self) -> None:
        return None

    def close(self) -> None:
        return None

    def send(self, message: Any) -> None:
        self.messages.append(message)

    def __enter__(self) -> "CollectingTransport":
        return self

    def __exit__(self, *exc: object) -> None:
        return None


@dataclasses.dataclass
class ReplayedPoll:
    at: datetime
    report: Any  # executor.RunReport


def replay(settings: Any, path: Path, *, state_db: Path | None = None, apply: bool = False,
           workdir: Path | None = None) -> list[ReplayedPoll]:
    """Run the recorded polls through the real poll cycle with a simulated clock.

    Without ``apply`` the messages are collected, not sent, and state goes to a
    scratch database (``state_db`` if given, else one in ``workdir``).
    """
    import tempfile

    from .clock import FixedClock
    from .context import Context, build_transport
    from .mail.render import TemplateRenderer
    from .poll import run_poll
    from .state import StateDB

    lines = load_recording(path)
    polls = split_polls(lines)
    if not polls:
        raise ValueError(f"{path}: no poll lines: record one with `poll --record {path.name}`")
    calls = [line for _, group in polls for line in group]
    first = polls[0][0]
    ats = Replaying("ats", first.get("ats", "ats"), [c for c in calls if c["side"] == "ats"])
    scheduler = Replaying("scheduler", first.get("scheduler", "scheduler"),
                          [c for c in calls if c["side"] == "scheduler"])
    scratch = Path(workdir or tempfile.mkdtemp(prefix="interview-sync-replay-"))
    scratch.mkdir(parents=True, exist_ok=True)
    db_path = state_db or scratch / "replay.db"
    clock = FixedClock(parse_instant(first["at"]))
    settings = settings.model_copy(deep=True)
    settings.state.path = db_path
    db = StateDB.open(db_path)
    transport = build_transport(settings, clock) if apply else CollectingTransport()
    ctx = Context(settings=settings, clock=clock, db=db, ats=ats, scheduler=scheduler,  # type: ignore[arg-type]
                  transport=transport, renderer=TemplateRenderer(settings.email.template_dir),
                  actor="replay")
    results = []
    try:
        for marker, _ in polls:
            clock.set(parse_instant(marker["at"]))
            report, _ = run_poll(ctx, backfill=bool(marker.get("backfill")))
            results.append(ReplayedPoll(clock.now(), report))
    finally:
        ctx.close()
    return results


def attach_recorder(ctx: Any, out: IO[str], *, raw: bool = False, backfill: bool = False) -> Recorder:
    """Wrap the context's adapters so this poll's vendor answers land in ``out``.

    The clock is frozen at the poll's start so the replay, which only knows
    that instant, computes the very same deadlines. Pseudonyms use the state
    database's key, so polls appended to one file (and other recordings of this
    deployment) agree on who is who.
    """
    from .clock import FixedClock

    recorder = Recorder(out, raw=raw, key=None if raw else ctx.db.pseudonym_key())
    ctx.clock = FixedClock(ctx.clock.now())
    recorder.poll(ctx.clock.now(), ats=ctx.ats.name, scheduler=ctx.scheduler.name, backfill=backfill)
    ctx.ats = Recording(ctx.ats, "ats", recorder)
    ctx.scheduler = Recording(ctx.scheduler, "scheduler", recorder)
    return recorder
