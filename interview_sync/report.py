"""Outcome metrics (SPEC §6): the numbers leadership judges the workflow by.

Pure computation: invitation records and a "now" in, a :class:`Report` out.
No database, no clock, no I/O, so the CLI, the HTML page and the tests all see
the same figures.

Why a *cohort* view: every invitation is counted in the ISO week (in the
report's time zone) of its **stage change**, and so are its booking, its
alerts and its no-show. A week's row therefore answers "what happened to the
candidates who reached an interview stage that week?", and the time-to-book
figures are never split across two weeks.

Metric definitions: :data:`DEFINITIONS` (one line each; shown on the HTML page
and in ``report --json``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from typing import Any

from .invitation import Invitation

PERCENTILE_METHOD = ("linear interpolation between closest ranks (h = (n-1)·q; the R-7 / "
                     "Excel PERCENTILE.INC / Python statistics.quantiles(method='inclusive') rule); "
                     "the median is the 50th percentile by the same rule")

DEFINITIONS: dict[str, str] = {
    "invitations": "invitations whose ATS stage change falls in the period",
    "booked": "of those, invitations holding a confirmed booking (booked_at and interview time set; "
              "a cancelled booking that was not re-booked does not count)",
    "median_hours": "median hours from the ATS stage change to the confirmed booking (booked_at); "
                    "target: below the threshold",
    "p90_hours": "90th percentile of the same delay; target: below the threshold",
    "zero_touch_share": "share of booked invitations with no recruiter alert and no manual command "
                        "(alerts = 0 and manual_interventions = 0); target: at least the threshold",
    "no_show_rate": "booked interviews marked no-show / booked interviews whose start time has passed",
    "alerts": "recruiter alerts raised for the period's invitations (booked or not)",
    "bounces": "emails to the period's invitations that came back undelivered (read from the mailbox; "
               "a temporary failure that was retried counts too)",
    "replies": "replies by people (not auto-replies) to emails of the period's invitations, read from the mailbox",
    "hours_saved": "(booked with zero intervention × manual minutes per schedule − alerts × minutes "
                   "per alert) / 60; negative when alerts cost more than automation saved",
}


@dataclass(frozen=True)
class Targets:
    """The seed targets from the SPEC; a pass is strictly below / at least."""

    max_hours_to_booking: float = 24.0
    min_zero_touch_share: float = 0.85


@dataclass
class Period:
    """The figures of one ISO week (``label`` like ``2026-W45``) or of the whole window."""

    label: str
    start: date | None  # Monday of the ISO week; None for the overall period
    invitations: int = 0
    booked: int = 0
    median_hours: float | None = None
    p90_hours: float | None = None
    median_pass: bool | None = None  # None: nothing booked, no verdict
    p90_pass: bool | None = None
    zero_touch: int = 0
    zero_touch_share: float | None = None
    zero_touch_pass: bool | None = None
    interviews_due: int = 0  # booked interviews whose start has passed
    no_shows: int = 0
    no_show_rate: float | None = None
    alerts: int = 0
    hours_saved: float = 0.0
    bounces: int = 0
    replies: int = 0


@dataclass
class Report:
    generated_at: datetime
    timezone: str
    since: datetime | None  # effective lower bound on the stage change (from --since / --weeks)
    overall: Period
    weeks: list[Period]
    targets: Targets = field(default_factory=Targets)
    manual_minutes: float = 30.0
    alert_minutes: float = 10.0

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types: instants as ISO 8601 with offset, dates as YYYY-MM-DD."""
        return {
            "generated_at": self.generated_at.isoformat(),
            "timezone": self.timezone,
            "since": self.since.isoformat() if self.since else None,
            "targets": asdict(self.targets),
            "assumptions": {"manual_minutes_per_schedule": self.manual_minutes,
                            "minutes_per_alert": self.alert_minutes},
            "percentile_method": PERCENTILE_METHOD,
            "definitions": dict(DEFINITIONS),
            "overall": _period_dict(self.overall),
            "weeks": [_period_dict(p) for p in self.weeks],
        }


def _period_dict(period: Period) -> dict[str, Any]:
    data = asdict(period)
    data["start"] = period.start.isoformat() if period.start else None
    return data


# --- statistics --------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile (0 ≤ q ≤ 1) by linear interpolation between closest ranks.

    Position ``h = (n - 1) * q`` in the sorted values; the result lies between
    the values at ``floor(h)`` and ``ceil(h)``. Chosen because it is the rule
    spreadsheets (PERCENTILE.INC) and numpy use by default, so a recruiter
    re-checking an export gets the same number.
    """
    if not values:
        raise ValueError("percentile of no values")
    if not 0.0 <= q <= 1.0:
        raise ValueError(f"quantile {q} is outside [0, 1]")
    ordered = sorted(values)
    h = (len(ordered) - 1) * q
    low = math.floor(h)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (h - low) * (ordered[high] - ordered[low])


# --- bucketing ---------------------------------------------------------------------------


def week_start(instant: datetime, tz: tzinfo) -> date:
    """Monday of the ISO week holding ``instant`` as seen in ``tz``."""
    local = instant.astimezone(tz).date()
    return local - timedelta(days=local.weekday())


def week_label(monday: date) -> str:
    year, week, _ = monday.isocalendar()
    return f"{year}-W{week:02d}"


def is_booked(inv: Invitation) -> bool:
    """Holds a confirmed booking. A cancel clears the interview time but keeps
    ``booked_at``, so both are required."""
    return inv.booked_at is not None and inv.interview_start is not None


def hours_to_booking(inv: Invitation) -> float:
    """Stage change → confirmed booking, in hours; never negative (vendor clocks drift)."""
    assert inv.booked_at is not None
    return max(0.0, (inv.booked_at - inv.stage_changed_at).total_seconds() / 3600.0)


def is_zero_touch(inv: Invitation) -> bool:
    return inv.alerts == 0 and inv.manual_interventions == 0


@dataclass
class _Tally:
    invitations: int = 0
    delays: list[float] = field(default_factory=list)
    zero_touch: int = 0
    interviews_due: int = 0
    no_shows: int = 0
    alerts: int = 0
    bounces: int = 0
    replies: int = 0

    def add(self, inv: Invitation, now: datetime, mail: tuple[int, int] = (0, 0)) -> None:
        self.invitations += 1
        self.alerts += inv.alerts
        self.bounces += mail[0]
        self.replies += mail[1]
        if not is_booked(inv):
            return
        self.delays.append(hours_to_booking(inv))
        if is_zero_touch(inv):
            self.zero_touch += 1
        assert inv.interview_start is not None
        if inv.interview_start <= now:
            self.interviews_due += 1
            if inv.no_show:
                self.no_shows += 1

    def merge(self, other: _Tally) -> None:
        self.invitations += other.invitations
        self.delays.extend(other.delays)
        self.zero_touch += other.zero_touch
        self.interviews_due += other.interviews_due
        self.no_shows += other.no_shows
        self.alerts += other.alerts
        self.bounces += other.bounces
        self.replies += other.replies

    def period(self, label: str, start: date | None, targets: Targets, manual_minutes: float,
               alert_minutes: float) -> Period:
        booked = len(self.delays)
        median = percentile(self.delays, 0.5) if booked else None
        p90 = percentile(self.delays, 0.9) if booked else None
        share = self.zero_touch / booked if booked else None
        limit = targets.max_hours_to_booking
        return Period(
            label=label, start=start, invitations=self.invitations, booked=booked,
            median_hours=median, p90_hours=p90,
            median_pass=None if median is None else median < limit,
            p90_pass=None if p90 is None else p90 < limit,
            zero_touch=self.zero_touch, zero_touch_share=share,
            zero_touch_pass=None if share is None else share >= targets.min_zero_touch_share,
            interviews_due=self.interviews_due, no_shows=self.no_shows,
            no_show_rate=self.no_shows / self.interviews_due if self.interviews_due else None,
            alerts=self.alerts,
            hours_saved=(self.zero_touch * manual_minutes - self.alerts * alert_minutes) / 60.0,
            bounces=self.bounces, replies=self.replies,
        )


# --- the report --------------------------------------------------------------------------


def window_start(*, now: datetime, since: datetime | None, weeks: int | None,
                 tz: tzinfo) -> datetime | None:
    """The later of ``since`` and the Monday 00:00 (in ``tz``) that opens the last ``weeks``
    ISO weeks, the current week included."""
    bounds: list[datetime] = []
    if since is not None:
        bounds.append(since)
    if weeks is not None:
        if weeks < 1:
            raise ValueError("weeks must be at least 1")
        first = week_start(now, tz) - timedelta(weeks=weeks - 1)
        bounds.append(datetime.combine(first, time(0), tzinfo=tz))
    return max(bounds) if bounds else None


def compute_report(invitations: Iterable[Invitation], *, now: datetime,
                   since: datetime | None = None, weeks: int | None = None,
                   manual_minutes: float = 30.0, alert_minutes: float = 10.0,
                   tz: tzinfo = timezone.utc, targets: Targets = Targets(),
                   mail_counts: Mapping[str, tuple[int, int]] | None = None) -> Report:
    """Per ISO week of the stage change (in ``tz``) and overall. ``mail_counts`` maps an
    invitation reference to its (bounces, replies) read back from the mailbox.

    Invitations whose stage change is before ``since`` / the ``weeks`` window
    are left out. Every week from the window's first (or the earliest
    invitation's) to the current one is listed, empty weeks included, so a
    trend chart shows gaps as gaps.
    """
    start = window_start(now=now, since=since, weeks=weeks, tz=tz)
    tallies: dict[date, _Tally] = {}
    for inv in invitations:
        if start is not None and inv.stage_changed_at < start:
            continue
        tallies.setdefault(week_start(inv.stage_changed_at, tz), _Tally()).add(
            inv, now, (mail_counts or {}).get(inv.ref, (0, 0)))

    mondays: list[date] = []
    if tallies or start is not None:
        first = week_start(start, tz) if start is not None else min(tallies)
        last = max([week_start(now, tz), *tallies])
        mondays = [first + timedelta(weeks=i) for i in range((last - first).days // 7 + 1)]

    overall = _Tally()
    weekly: list[Period] = []
    for monday in mondays:
        tally = tallies.get(monday, _Tally())
        overall.merge(tally)
        weekly.append(tally.period(week_label(monday), monday, targets, manual_minutes, alert_minutes))
    return Report(
        generated_at=now, timezone=str(getattr(tz, "key", None) or tz.tzname(now) or "UTC"),
        since=start, overall=overall.period("overall", None, targets, manual_minutes, alert_minutes),
        weeks=weekly, targets=targets, manual_minutes=manual_minutes, alert_minutes=alert_minutes)


# --- presentation helpers shared by the CLI and the HTML page ----------------------------


def fmt_hours(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f} h"


def fmt_share(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f} %"


def fmt_mark(passed: bool | None) -> str:
    return {True: "✓ pass", False: "✗ fail", None: "– no data"}[passed]


@dataclass(frozen=True)
class SummaryRow:
    key: str
    label: str
    value: str
    target: str
    passed: bool | None  # None: no target, or no data to judge
    has_target: bool


def summary_rows(report: Report) -> list[SummaryRow]:
    """The overall figures with their targets, in display order."""
    o, t = report.overall, report.targets
    hours = f"< {t.max_hours_to_booking:g} h"
    return [
        SummaryRow("invitations", "Invitations (stage changes)", str(o.invitations), "", None, False),
        SummaryRow("booked", "Booked", str(o.booked), "", None, False),
        SummaryRow("median_hours", "Median hours, stage change → booking", fmt_hours(o.median_hours),
                   hours, o.median_pass, True),
        SummaryRow("p90_hours", "p90 hours, stage change → booking", fmt_hours(o.p90_hours),
                   hours, o.p90_pass, True),
        SummaryRow("zero_touch_share", "Booked with zero recruiter intervention",
                   f"{fmt_share(o.zero_touch_share)} ({o.zero_touch}/{o.booked})",
                   f">= {t.min_zero_touch_share * 100:g} %", o.zero_touch_pass, True),
        SummaryRow("no_show_rate", "No-show rate",
                   f"{fmt_share(o.no_show_rate)} ({o.no_shows}/{o.interviews_due})", "", None, False),
        SummaryRow("alerts", "Recruiter alerts", str(o.alerts), "", None, False),
        SummaryRow("bounces", "Emails bounced", str(o.bounces), "", None, False),
        SummaryRow("replies", "Replies read back", str(o.replies), "", None, False),
        SummaryRow("hours_saved", "Estimated recruiter hours saved", f"{o.hours_saved:.1f} h", "",
                   None, False),
    ]


WEEKLY_COLUMNS = ("week", "invites", "booked", "median", "p90", "zero-touch", "no-show", "alerts",
                  "bounces", "replies", "saved h")


def weekly_rows(report: Report) -> list[list[str]]:
    return [[p.label, str(p.invitations), str(p.booked), fmt_hours(p.median_hours),
             fmt_hours(p.p90_hours), fmt_share(p.zero_touch_share), fmt_share(p.no_show_rate),
             str(p.alerts), str(p.bounces), str(p.replies), f"{p.hours_saved:.1f}"] for p in report.weeks]
