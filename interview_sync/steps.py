"""The vocabulary between planner and executor: steps, and the results of performing them.

A step is one thing the executor does for one invitation: send an email,
write an ATS note or tag, create or revoke a link, save the invitation (with
its audit row), write an audit row, settle a stranded outbox row, or add a
line to the run's report. Its ``effect`` says which (and picks the handler);
its ``key`` is the outbox idempotency key for claimed effects and a readable
name otherwise, so a plan can be compared step by step with what a run did.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from .invitation import Invitation
from .mail.message import Attachment
from .models import EventType

if TYPE_CHECKING:
    from .state import AppSnapshot  # a type only: the pure core does not load the store


@dataclass(frozen=True)
class Email:
    """A message to one person; ``alert`` is set (to the reason) for recruiter alerts."""

    kind: str
    to_name: str | None
    to_email: str
    context: dict[str, Any]
    attachments: tuple[Attachment, ...] = ()
    template_set: str = "default"
    alert: str | None = None
    locale: str = "en"  # the reader's language (candidate messages; staff read English)
    kind_name = "email"

    def describe(self, inv: Invitation) -> str:
        return f"{self.kind} → {self.to_email}" + (f": {self.alert}" if self.alert else "")


@dataclass(frozen=True)
class Text:
    """A text message to the candidate, tried before (or instead of) the email with the same
    key; the handler decides whether consent and the candidate's hours allow it now."""

    kind: str
    context: dict[str, Any]
    template_set: str = "default"
    kind_name = "text"

    def describe(self, inv: Invitation) -> str:
        return f"{self.kind} text (if consent, hours and channel allow)"


@dataclass(frozen=True)
class AtsWrite:
    """A note (``body``) or a tag (``tag``) on the application; ``what`` names it in the outbox."""

    what: str
    body: str | None = None
    tag: str | None = None
    kind_name = "ats"

    def describe(self, inv: Invitation) -> str:
        return self.what


@dataclass(frozen=True)
class CreateLink:
    event_type: EventType
    name: str
    email: str
    expires_at: datetime
    kind_name = "link"

    def describe(self, inv: Invitation) -> str:
        return f"single-use link on {self.event_type.slug or self.event_type.uri}"


@dataclass(frozen=True)
class RevokeLink:
    url: str
    kind_name = "revoke"

    def describe(self, inv: Invitation) -> str:
        return "revoke the booking link"


@dataclass(frozen=True)
class Save:
    """Persist the step's invitation, with an audit row when ``event`` is set. ``snapshot``
    is stored in the same transaction (a stage entry); ``row`` adds a report line."""

    event: str | None
    channel: str | None = None
    recipient: str | None = None
    detail: str | None = None
    snapshot: AppSnapshot | None = None
    touch: bool = True  # stamp updated_at / last_action
    row: tuple[str, str, str] | None = None  # (action, result, detail)
    kind_name = "save"

    def describe(self, inv: Invitation) -> str:
        return f"{inv.state}" + (f" ({self.event})" if self.event else "")


@dataclass(frozen=True)
class Audit:
    event: str
    detail: str
    kind_name = "audit"

    def describe(self, inv: Invitation) -> str:
        return self.event


@dataclass(frozen=True)
class Record:
    """An audit row written once: claimed under ``key`` like an email, so the same message read
    back from the mailbox in several polls is recorded once (``what`` is the outbox kind)."""

    event: str
    detail: str
    what: str
    recipient: str | None = None
    kind_name = "record"

    def describe(self, inv: Invitation) -> str:
        return self.event


@dataclass(frozen=True)
class Settle:
    """Claim a row a killed run left in ``sending``: it becomes ``unknown``."""

    kind: str
    channel: str
    recipient: str | None
    kind_name = "settle"

    def describe(self, inv: Invitation) -> str:
        return f"settle an interrupted {self.kind}"


@dataclass(frozen=True)
class Report:
    """A line for the run's report: an error (``action`` names the row, None for errors only)."""

    message: str
    action: str | None = None
    kind_name = "report"

    def describe(self, inv: Invitation) -> str:
        return self.message


Effect = Email | Text | AtsWrite | CreateLink | RevokeLink | Save | Audit | Record | Settle | Report


@dataclass(frozen=True)
class Step:
    inv: Invitation
    key: str
    effect: Effect

    @property
    def kind(self) -> str:
        return self.effect.kind_name

    def describe(self) -> str:
        return self.effect.describe(self.inv)


@dataclass(frozen=True)
class Result:
    """What performing a step came to. ``ok``; ``done`` (an earlier run did it) or ``unknown``
    (an earlier run may have: never redone) for claimed effects; or a failure: ``refused``
    (a permanent delivery refusal), ``failed`` (transient), ``vendor_error``."""

    status: str = "ok"
    value: str | None = None  # CreateLink: the URL
    message: str = ""  # the error as one line
    detail: str = ""  # VendorError.message (without the fix)
    fix: str | None = None
    error_type: str = ""  # the exception's class name
    repeated: bool = False  # the same refusal was already reported this poll (a refused mail login)

    @property
    def failed(self) -> bool:
        return self.status in ("refused", "failed", "vendor_error")



@dataclass
class Performed:
    """One step as a plan shows it (`poll --dry-run`) and as a run records it."""

    application_id: str
    ref: str
    action: str  # the step kind
    key: str
    detail: str = ""
    result: str = ""  # the Result status, once performed

    @classmethod
    def of(cls, step: Step) -> Performed:
        return cls(step.inv.application_id, step.inv.ref, step.kind, step.key, step.describe())


