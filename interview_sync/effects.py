"""The effects themselves: the only code that talks to the outside on a run's behalf.

Two implementations of one small surface. :class:`VendorEffects` really sends
the email, writes the ATS, makes or revokes the link; :class:`RecordingEffects`
performs nothing (a dry run), so the same executor and planner show the plan.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from email.utils import parseaddr
from typing import Protocol

from .context import Context
from .enrich import stub_application
from .mail.message import build_message, make_message_id
from .models import Application
from .steps import AtsWrite, CreateLink, Email, RevokeLink, Step


class Effects(Protocol):
    def send_email(self, step: Step, email: Email, now: datetime) -> tuple[str, str | None]:
        """Send; returns (Message-ID, where a file transport wrote it or None)."""
        ...

    def write_ats(self, step: Step, write: AtsWrite, now: datetime) -> None: ...

    def create_link(self, step: Step, request: CreateLink) -> str: ...

    def revoke_link(self, step: Step, revoke: RevokeLink) -> None: ...


class VendorEffects:
    """The real thing: ``apps`` holds this run's listing records (ATS writes address them)."""

    def __init__(self, ctx: Context, apps: Mapping[str, Application]) -> None:
        self.ctx, self.apps = ctx, apps

    def send_email(self, step: Step, email: Email, now: datetime) -> tuple[str, str | None]:
        settings = self.ctx.settings
        rendered = self.ctx.renderer.render(email.kind, email.context, email.template_set)
        domain = parseaddr(settings.email.from_)[1].rpartition("@")[2] or "interview-sync.local"
        message_id = make_message_id(step.inv.ref, step.key, domain)
        message = build_message(sender=settings.email.from_, to_name=email.to_name, to_email=email.to_email,
                                rendered=rendered, message_id=message_id,
                                reply_to=settings.email.reply_to or None,
                                headers={"X-Interview-Sync-Ref": step.inv.ref, "X-Interview-Sync-Kind": email.kind},
                                attachments=list(email.attachments), date=now)
        self.ctx.transport.send(message)
        paths = getattr(self.ctx.transport, "sent_paths", None)
        return message_id, str(paths[-1]) if paths else None

    def write_ats(self, step: Step, write: AtsWrite, now: datetime) -> None:
        app = self.apps.get(step.inv.application_id) or stub_application(step.inv, now)
        if write.tag is not None:
            self.ctx.ats.add_tag(app, write.tag)
        else:
            self.ctx.ats.add_note(app, write.body or "")

    def create_link(self, step: Step, request: CreateLink) -> str:
        return self.ctx.scheduler.create_link(request.event_type, name=request.name, email=request.email,
                                              ref=step.inv.ref, expires_at=request.expires_at)

    def revoke_link(self, step: Step, revoke: RevokeLink) -> None:
        self.ctx.scheduler.revoke_link(revoke.url)


class RecordingEffects:
    """A dry run: nothing leaves the machine; a link is a placeholder the plan can name."""

    def send_email(self, step: Step, email: Email, now: datetime) -> tuple[str, str | None]:
        return f"<dry-run:{step.key}>", None

    def write_ats(self, step: Step, write: AtsWrite, now: datetime) -> None:
        return None

    def create_link(self, step: Step, request: CreateLink) -> str:
        return f"(a single-use link on {request.event_type.slug or request.event_type.uri}, made by the real run)"

    def revoke_link(self, step: Step, revoke: RevokeLink) -> None:
        return None
