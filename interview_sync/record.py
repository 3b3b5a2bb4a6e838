"""Record what the vendors told a live poll, and replay it through the workflow.

`poll --record FILE.jsonl` wraps the ATS and scheduler adapters at their
Protocol boundary and appends one JSON line per call (method, arguments,
answer) plus one ``poll`` line per cycle with its instant. `replay` puts
stand-ins behind the same Protocols that answer from the file, runs the same
poll cycle with a simulated clock, and so reproduces the actions of the live
run without touching a vendor or a person.

Personal data is pseudonymised unless ``raw``: names become ``Candidate
<hash>``, addresses ``u<hash>@example.com`` (still valid, still equal when
the original was), phone numbers are dropped. The same input always maps to
the same pseudonym, so matching by email still works in the replay.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections import defaultdict, deque
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from . import models
from .clock import ensure_utc, iso, parse_instant
from .errors import VendorError
from .paging import Paging

_TYPES = {cls.__name__: cls for cls in (models.Person, models.Candidate, models.Job, models.Application,
                                        models.Host, models.EventType, models.Booking)}
_PERSONAL_NAMES = {"name", "first_name", "last_name"}
_PERSONAL_EMAILS = {"email"}
_DROPPED = {"phone"}
# Listing calls are matched by order within a poll; other reads by their arguments too.
_LISTINGS = {"changed_applications", "changed_bookings"}
# Vendor writes whose answer is nothing. A replay never performs them, so it needs no
# recorded answer for them; a recorded one is still used, to replay the vendor's refusal.
_WRITES = {"add_note", "add_tag", "revoke_link", "mark_no_show"}


def _digest(value: str) -> str:
    return hashlib.sha256(value.strip().casefold().encode()).hexdigest()[:12]


def encode(value: Any, *, raw: bool, owner: str | None = None) -> Any:
    """JSON-ready form of adapter arguments and answers; dataclasses are tagged."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        name = type(value).__name__
        fields = {}
        for field in dataclasses.fields(value):
            item = getattr(value, field.name)
            if not raw and item is not None and name in ("Candidate", "Booking"):
                if field.name in _DROPPED:
                    item = None
                elif field.name in _PERSONAL_EMAILS:
                    item = f"u{_digest(item)}@example.com"
                elif field.name in _PERSONAL_NAMES:
                    item = f"Candidate {_digest(item)[:6]}"
            fields[field.name] = encode(item, raw=raw, owner=name)
        return {"__type__": name, **fields}
    if isinstance(value, datetime):
        return {"__dt__": iso(value)}
    if isinstance(value, (list, tuple)):
        return [encode(v, raw=raw, owner=owner) for v in value]
    if isinstance(value, dict):
        return {k: _pseudonym(k, v) if not raw and isinstance(v, str) else encode(v, raw=raw, owner=owner)
                for k, v in value.items()}
    return value


def _pseudonym(key: str, value: str) -> str:
    """Keyword arguments such as ``create_link(name=..., email=...)`` are personal too."""
    if key in _PERSONAL_EMAILS:
        return f"u{_digest(value)}@example.com"
    if key in _PERSONAL_NAMES:
        return f"Candidate {_digest(value)[:6]}"
    return value


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
    """Appends recorded lines to an open file (one JSON object per line)."""

    def __init__(self, out: IO[str], *, raw: bool = False) -> None:
        self.out = out
        self.raw = raw

    def poll(self, at: datetime, **options: Any) -> None:
        # Full precision: the replay's clock must be the live one to the microsecond, or
        # every deadline derived from it (and written into ATS notes) drifts.
        self._write({"kind": "poll", "at": ensure_utc(at).isoformat(), **options})

    def call(self, side: str, method: str, args: list[Any], answer: Any, error: str | None = None) -> None:
        line = {"kind": "call", "side": side, "method": method, "args": encode(args, raw=self.raw),
                "answer": encode(answer, raw=self.raw)}
        if error:
            line["error"] = error
        self._write(line)

    def _write(self, line: dict[str, Any]) -> None:
        self.out.write(json.dumps(line, ensure_ascii=False, sort_keys=True) + "\n")
        self.out.flush()


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
    that instant, computes the very same deadlines.
    """
    from .clock import FixedClock

    recorder = Recorder(out, raw=raw)
    ctx.clock = FixedClock(ctx.clock.now())
    recorder.poll(ctx.clock.now(), ats=ctx.ats.name, scheduler=ctx.scheduler.name, backfill=backfill)
    ctx.ats = Recording(ctx.ats, "ats", recorder)
    ctx.scheduler = Recording(ctx.scheduler, "scheduler", recorder)
    return recorder
