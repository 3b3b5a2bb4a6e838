"""Texts inside the planner/executor poll: the small surface :class:`Texts` works through.

:class:`Texts` needs a few things from the run it serves: the store, the clock,
how a candidate's message reads (zone, context, template set, route), sending an
email (a fallback) and alerting a recruiter. Here they are served the way the
rest of the poll does them: composition from the planner's :class:`Composer`,
emails and alerts as planned steps performed by the executor. The executor's
``text`` steps come back here through :meth:`PlannedHost.text_handler`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from ..context import Context
from ..invitation import Invitation
from ..planner import Planner, drive
from ..state import StateDB
from ..steps import Email, Result, Step, Text
from .outreach import Texts


def texts_for(ctx: Context) -> Texts | None:
    """The text-message side of a run, or None when ``[sms]`` is off."""
    channel = getattr(ctx, "sms", None)
    return None if channel is None else Texts(channel, ctx.settings)


def texted(db: StateDB, ref: str, key: str) -> bool:
    """The candidate was reached by text for ``key`` (sent, or held for their quiet hours)."""
    return db.outbox_state(f"{key}:sms") in ("sent", "unknown") or (db.held_text(ref) or {}).get("key") == key


class PlannedHost:
    """What :class:`Texts` calls, served by this poll's store, composer and executor."""

    def __init__(self, ctx: Context, db: StateDB, executor: Any, planner: Planner) -> None:
        self.ctx, self.db, self.executor, self.planner = ctx, db, executor, planner
        self.settings = ctx.settings
        self.report = executor.report

    @property
    def now(self) -> datetime:
        return self.executor.now

    def text_handler(self, texts: Texts) -> Callable[[Step, Text], Result]:
        """The executor's ``text`` handler: ``ok`` when the text reached (or waits for) the
        candidate, ``skipped`` when the email must carry the message."""
        def handle(step: Step, text: Text) -> Result:
            reached = texts.deliver(self, step.inv, text.kind, step.key, text.context, text.template_set)
            return Result("ok" if reached else "skipped")
        return handle

    # --- the surface Texts uses -----------------------------------------------------

    def _audit(self, inv: Invitation, event: str, **kw: Any) -> None:
        self.db.audit(event, at=self.now, ref=inv.ref, application_id=inv.application_id,
                      candidate_id=inv.candidate_id, actor=self.ctx.actor, **kw)

    def _org_name(self) -> str:
        return self.planner.compose._org_name()

    def _zone(self, inv: Invitation, reader: str) -> str:
        return self.planner.compose._zone(inv, reader)

    def _base_context(self, inv: Invitation) -> dict[str, Any]:
        return self.planner.compose._base_context(inv, "candidate")

    def _template_set(self, inv: Invitation) -> str:
        return self.planner.compose._template_set(inv)

    def _route(self, inv: Invitation) -> Any:
        routes = self.settings.routes
        return routes[inv.route_index] if inv.route_index is not None and inv.route_index < len(routes) else None

    def _claim(self, inv: Invitation, key: str, kind: str, channel: str, recipient: str | None) -> bool:
        return self.db.claim(key, ref=inv.ref, kind=kind, channel=channel, recipient=recipient) == "claimed"

    def _send(self, inv: Invitation, key: str, kind: str, to_name: str | None, to_email: str,
              context: dict[str, Any], template_set: str = "default", locale: str = "en") -> bool:
        email = Email(kind, to_name, to_email, context, (), template_set, locale=locale)
        return self.executor.perform(Step(inv, key, email)).status == "ok"

    def do_alert(self, inv: Invitation, action: Any) -> Invitation:
        return drive(self.planner.alert(inv, action), self.executor.perform)
