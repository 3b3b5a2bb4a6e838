"""Carries out planned steps: claim an outbox key, perform, record.

At-most-once to people: every effect (an email, an ATS note, a tag) claims
its idempotency key first, committed as ``sending``; the effect is recorded
``sent`` together with its audit row in one transaction. A key found in
``sending`` after a crash becomes ``unknown``: the planner then alerts a
recruiter instead of risking a second copy. The invitation's own state is
saved after its effects, so a crash in between replans the same keys, which
are then skipped.

The executor decides nothing: each step goes to its handler in one
``{kind: handler}`` table, and what happened goes back as a :class:`Result`
(exceptions the planner can answer become results; anything else is raised).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .clock import Clock
from .effects import Effects
from .errors import AuthRefused, DeliveryError, InterviewSyncError, VendorError
from .state import StateDB
from .steps import (AtsWrite, Audit, CreateLink, Email, Performed, Record, Report, Result, RevokeLink, Save, Settle,
                    Step, Text)


@dataclass
class Outcome:
    """One line of a poll's report: what happened to which invitation."""

    ref: str
    application_id: str
    action: str
    result: str  # sent | done | skipped | alert | error | planned | changed
    detail: str = ""
    recipient: str | None = None
    path: str | None = None


@dataclass
class RunReport:
    outcomes: list[Outcome] = field(default_factory=list)
    alerts: int = 0
    errors: list[str] = field(default_factory=list)  # work neither done nor handed to a person (exit 1)
    notices: list[str] = field(default_factory=list)  # worth a line, not an exit 1 (a page cap reached)
    baseline: int | None = None  # applications a first run recorded as its baseline; None on later runs
    performed: list[Performed] = field(default_factory=list)  # every step, in order (the plan, when dry)

    @property
    def needs_attention(self) -> bool:
        return self.alerts > 0 or bool(self.errors)


class Executor:
    """Performs steps against ``db`` (the state store, or a dry run's scratch copy)."""

    def __init__(self, db: StateDB, clock: Clock, effects: Effects, report: RunReport, actor: str) -> None:
        self.db, self.clock, self.effects, self.report, self.actor = db, clock, effects, report, actor
        self.handlers: dict[str, Callable[[Step, Any], Result]] = {
            "email": self._email, "ats": self._ats, "link": self._link, "revoke": self._revoke,
            "save": self._save, "audit": self._audit_step, "record": self._record, "settle": self._settle,
            "report": self._report, "text": self._text,
        }
        # texts (issue 14): set by the poll when [sms] is on; without it every text is skipped
        self.texts: Callable[[Step, Text], Result] | None = None

    @property
    def now(self) -> datetime:
        return self.clock.now()

    def perform(self, step: Step) -> Result:
        record = Performed.of(step)
        self.report.performed.append(record)
        result = self.handlers[step.kind](step, step.effect)
        record.result = result.status
        return result

    # --- bookkeeping ------------------------------------------------------------------

    def _audit(self, step: Step, event: str, **kw: Any) -> None:
        inv = step.inv
        self.db.audit(event, at=self.now, ref=inv.ref, application_id=inv.application_id,
                      candidate_id=inv.candidate_id, actor=self.actor, **kw)

    def _row(self, step: Step, action: str, result: str, detail: str = "", recipient: str | None = None,
             path: str | None = None) -> None:
        self.report.outcomes.append(Outcome(step.inv.ref, step.inv.application_id, action, result, detail,
                                            recipient, path))

    def _save(self, step: Step, save: Save) -> Result:
        inv = step.inv
        if save.touch:
            inv.updated_at = self.now
            if save.event:
                inv.last_action = save.event
        with self.db.transaction():
            if save.snapshot is not None:
                self.db.put_application(save.snapshot)
            self.db.save_invitation(inv)
            if save.event:
                self._audit(step, save.event, channel=save.channel, recipient=save.recipient, detail=save.detail)
        if save.row:
            self._row(step, *save.row)
        return Result()

    def _audit_step(self, step: Step, audit: Audit) -> Result:
        with self.db.transaction():
            self._audit(step, audit.event, detail=audit.detail)
        return Result()

    def _record(self, step: Step, record: Record) -> Result:
        verdict = self._claim(step, record.what, "mailbox", record.recipient)
        if verdict != "claimed":
            return Result(verdict)
        with self.db.transaction():
            self.db.mark_sent(step.key)
            self._audit(step, record.event, channel="mailbox", recipient=record.recipient, detail=record.detail)
        return Result()

    def _report(self, step: Step, report: Report) -> Result:
        self.report.errors.append(f"{step.inv.application_id}: {report.message}")
        if report.action:
            self._row(step, report.action, "error", report.message)
        return Result()

    def _claim(self, step: Step, kind: str, channel: str, recipient: str | None) -> str:
        return self.db.claim(step.key, ref=step.inv.ref, kind=kind, channel=channel, recipient=recipient)

    def _settle(self, step: Step, settle: Settle) -> Result:
        verdict = self.db.claim(step.key, ref=step.inv.ref, kind=settle.kind, channel=settle.channel,
                                recipient=settle.recipient)
        return Result("unknown" if verdict == "unknown" else "done")

    # --- effects ------------------------------------------------------------------------

    def _email(self, step: Step, email: Email) -> Result:
        """Claim, send, record. An alert counts even when it cannot be sent."""
        if email.alert is not None:
            self.report.alerts += 1
        verdict = self._claim(step, email.kind, "email", email.to_email)
        if verdict != "claimed":
            self._email_row(step, email, "done", "already handled")
            return Result(verdict)
        try:
            message_id, path = self.effects.send_email(step, email, self.now)
        except DeliveryError as exc:
            self.db.mark_failed(step.key, str(exc), permanent=exc.permanent)
            if email.alert is not None:
                return Result("failed", message=str(exc), error_type=type(exc).__name__)
            return Result("refused" if exc.permanent else "failed", message=str(exc), error_type=type(exc).__name__,
                          repeated=isinstance(exc, AuthRefused) and exc.repeated)
        except Exception as exc:
            self.db.mark_failed(step.key, str(exc) if isinstance(exc, InterviewSyncError) else type(exc).__name__,
                                permanent=False)
            if email.alert is None:
                raise
            return Result("failed", message=str(exc), error_type=type(exc).__name__)
        with self.db.transaction():
            self.db.mark_sent(step.key, message_id)
            self._audit(step, "email_sent", channel="email", recipient=email.to_email,
                        detail=f"{email.kind} Message-ID {message_id}")
        self._email_row(step, email, "sent", "", path)
        return Result()

    def _email_row(self, step: Step, email: Email, result: str, detail: str, path: str | None = None) -> None:
        if email.alert is not None:
            result, detail = "alert", email.alert
        self._row(step, email.kind, result, detail, email.to_email, path)

    def _ats(self, step: Step, write: AtsWrite) -> Result:
        verdict = self._claim(step, write.what, "ats", None)
        if verdict != "claimed":
            return Result(verdict)
        try:
            self.effects.write_ats(step, write, self.now)
        except Exception as exc:
            self.db.mark_failed(step.key, type(exc).__name__, permanent=False)
            if isinstance(exc, VendorError):
                return _vendor_error(exc)
            raise
        with self.db.transaction():
            self.db.mark_sent(step.key)
            self._audit(step, "ats_tag" if write.tag is not None else "ats_note", channel="ats", detail=write.what)
        return Result()

    def _text(self, step: Step, text: Text) -> Result:
        return Result("skipped") if self.texts is None else self.texts(step, text)

    def _link(self, step: Step, request: CreateLink) -> Result:
        try:
            return Result(value=self.effects.create_link(step, request))
        except VendorError as exc:
            return _vendor_error(exc)

    def _revoke(self, step: Step, revoke: RevokeLink) -> Result:
        try:
            self.effects.revoke_link(step, revoke)
        except VendorError as exc:
            return _vendor_error(exc)
        return Result()


def _vendor_error(exc: VendorError) -> Result:
    return Result("vendor_error", message=str(exc), detail=exc.message, fix=exc.fix, error_type=type(exc).__name__)
