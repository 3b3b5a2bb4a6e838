"""Outcomes per channel (issue 14): did texts reach people, and did they book after?

Pure computation like :mod:`interview_sync.report`: invitations, their outbox rows,
their text rows and the numbers that opted out in; figures per channel out. An
invitation counts for a channel when at least one candidate message went to it on
that channel, so "booked after" and the no-show rate compare candidates reached by
text with candidates reached by email (many are reached by both).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from .invitation import Invitation
from .report import fmt_share, is_booked

CANDIDATE_KINDS = frozenset({"invite", "relink", "followup", "confirmation", "reminder_candidate"})
CHANNELS = ("email", "sms")
COLUMNS = ("channel", "reached", "sent", "delivered", "failed", "opted out", "booked after", "no-show")


@dataclass
class ChannelFigures:
    channel: str
    reached: int = 0  # invitations with at least one candidate message on this channel
    sent: int = 0  # candidate messages handed to the provider
    delivered: int | None = None  # provider-confirmed; None where the channel reports no receipts (email)
    failed: int = 0  # refused or undelivered
    opted_out: int = 0  # reached numbers whose consent is now revoked (texts only)
    booked_after: int = 0  # reached invitations holding a confirmed booking
    interviews_due: int = 0
    no_shows: int = 0

    @property
    def no_show_rate(self) -> float | None:
        return self.no_shows / self.interviews_due if self.interviews_due else None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"no_show_rate": self.no_show_rate}


def channel_figures(invitations: Iterable[Invitation], outbox: Iterable[dict[str, Any]],
                    texts: Iterable[dict[str, Any]], revoked: set[str], now: datetime) -> list[ChannelFigures]:
    invs = {inv.ref: inv for inv in invitations}
    email, sms = ChannelFigures("email"), ChannelFigures("sms", delivered=0)
    reached: dict[str, set[str]] = {"email": set(), "sms": set()}
    for row in outbox:
        if row["ref"] not in invs or row["kind"] not in CANDIDATE_KINDS:
            continue
        if row["channel"] == "email":
            if row["state"] == "sent":
                email.sent += 1
                reached["email"].add(row["ref"])
            elif row["state"] == "failed_permanent":
                email.failed += 1
        elif row["channel"] == "sms" and row["state"] == "failed_permanent":
            sms.failed += 1  # refused at send (21610, invalid number)
    for row in texts:
        if row["ref"] not in invs or row["direction"] == "inbound" or row["kind"] not in CANDIDATE_KINDS:
            continue
        sms.sent += 1
        reached["sms"].add(row["ref"])
        if row["status"] == "delivered":
            sms.delivered = (sms.delivered or 0) + 1
        elif row["status"] in ("undelivered", "failed"):
            sms.failed += 1
    for figures in (email, sms):
        for ref in reached[figures.channel]:
            inv = invs[ref]
            if figures.channel == "sms" and inv.sms_phone in revoked:
                figures.opted_out += 1
            if is_booked(inv):
                figures.booked_after += 1
                if inv.interview_start is not None and inv.interview_start <= now:
                    figures.interviews_due += 1
                    figures.no_shows += int(inv.no_show)
        figures.reached = len(reached[figures.channel])
    return [email, sms]


def channel_rows(figures: list[ChannelFigures]) -> list[list[str]]:
    return [[f.channel, str(f.reached), str(f.sent), "–" if f.delivered is None else str(f.delivered),
             str(f.failed), str(f.opted_out) if f.channel == "sms" else "–", str(f.booked_after),
             f"{fmt_share(f.no_show_rate)} ({f.no_shows}/{f.interviews_due})"] for f in figures]
