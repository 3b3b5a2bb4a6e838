"""Issue 4, acceptance 3: `report` on a replayed month of synthetic activity gives the medians
and shares computed independently here; the HTML page has one chart per metric, needs no
network, and renders in headless Chromium. Also the `no-show` command that feeds the rate."""

from __future__ import annotations

import html
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import zlib
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from html.parser import HTMLParser
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from typer.testing import CliRunner

from interview_sync.cli.app import app
from interview_sync.clock import FixedClock
from interview_sync.context import os_user
from interview_sync.invitation import Invitation, State
from interview_sync.no_show import record_no_show
from interview_sync.report import Report, Targets, compute_report, percentile
from interview_sync.report_html import render_html
from interview_sync.state import StateDB

REPO = Path(__file__).resolve().parent.parent
FIRST_MONDAY = datetime(2026, 10, 5, tzinfo=timezone.utc)  # 2026-W41
NOW = datetime(2026, 11, 6, 18, 0, tzinfo=timezone.utc)  # Friday of 2026-W45
WEEK_LABELS = ["2026-W41", "2026-W42", "2026-W43", "2026-W44", "2026-W45"]
METRICS = {"hours_to_booking", "zero_touch_share", "no_show_rate", "alerts", "hours_saved"}


def make(n: int, changed: datetime, *, delay_h: float | None = None, interview_in_h: float = 72.0,
         alerts: int = 0, manual: int = 0, no_show: bool = False, cancelled: bool = False) -> Invitation:
    inv = Invitation(ref=f"is-{n}", application_id=str(50000 + n), candidate_id=str(90000 + n), job_id="7",
                     stage_id="20", stage_name="Phone Screen", stage_changed_at=changed, created_at=changed,
                     state=State.INVITED, alerts=alerts, manual_interventions=manual)
    if delay_h is not None:
        inv.booked_at = changed + timedelta(hours=delay_h)
        inv.state = State.BOOKED
        if cancelled:  # what a cancel leaves behind: booked_at kept, booking cleared
            inv.state = State.PENDING
        else:
            inv.booking_ref = f"https://sched.invalid/invitees/{n}"
            inv.interview_start = inv.booked_at + timedelta(hours=interview_in_h)
            inv.interview_end = inv.interview_start + timedelta(minutes=30)
            inv.no_show = no_show
    return inv


def synthetic_month(seed: int = 4, count: int = 200) -> list[Invitation]:
    """A replayed month: 200 stage changes over five ISO weeks, with weekly drift in the delays,
    some waiting, some cancelled, alerts, manual commands and no-shows."""
    rng = random.Random(seed)
    out: list[Invitation] = []
    for n in range(count):
        changed = FIRST_MONDAY + timedelta(seconds=rng.uniform(0, (NOW - FIRST_MONDAY).total_seconds() - 3600))
        week = (changed - FIRST_MONDAY).days // 7
        delay = rng.lognormvariate(2.0 + 0.3 * week, 0.8)
        alerts = rng.choice([1, 2]) if rng.random() < 0.1 else 0
        manual = 1 if rng.random() < 0.07 else 0
        if rng.random() < 0.1 or changed + timedelta(hours=delay) > NOW:
            out.append(make(n, changed, alerts=alerts, manual=manual))  # still waiting / never booked
            continue
        interview_in = rng.uniform(20, 150)
        passed = changed + timedelta(hours=delay + interview_in) <= NOW
        out.append(make(n, changed, delay_h=delay, interview_in_h=interview_in, alerts=alerts, manual=manual,
                        no_show=passed and rng.random() < 0.12, cancelled=rng.random() < 0.03))
    rng.shuffle(out)  # input order must not matter
    return out


def independent(invs: list[Invitation], now: datetime) -> dict[str, dict[str, object]]:
    """The same figures, computed the plain way (UTC ISO weeks, statistics module)."""
    groups: dict[str, list[Invitation]] = defaultdict(list)
    for inv in invs:
        year, week, _ = inv.stage_changed_at.isocalendar()
        groups[f"{year}-W{week:02d}"].append(inv)
    groups["overall"] = list(invs)
    result: dict[str, dict[str, object]] = {}
    for label, group in groups.items():
        booked = [i for i in group if i.booked_at is not None and i.interview_start is not None]
        delays = [(i.booked_at - i.stage_changed_at).total_seconds() / 3600 for i in booked]  # type: ignore[operator]
        zero = [i for i in booked if i.alerts == 0 and i.manual_interventions == 0]
        due = [i for i in booked if i.interview_start <= now]  # type: ignore[operator]
        alerts = sum(i.alerts for i in group)
        result[label] = {
            "invitations": len(group), "booked": len(booked),
            "median": statistics.median(delays),
            "p90": statistics.quantiles(delays, n=10, method="inclusive")[8],
            "share": len(zero) / len(booked),
            "no_show_rate": sum(1 for i in due if i.no_show) / len(due),
            "alerts": alerts,
            "saved": (len(zero) * 30 - alerts * 10) / 60,
        }
    return result


@pytest.fixture(scope="module")
def month() -> list[Invitation]:
    return synthetic_month()


@pytest.fixture(scope="module")
def report(month: list[Invitation]) -> Report:
    return compute_report(month, now=NOW, manual_minutes=30, alert_minutes=10)


# --- the numbers ---------------------------------------------------------------------------


def test_percentile_is_linear_between_closest_ranks() -> None:
    assert percentile([10, 1, 4, 3, 2], 0.5) == 3
    assert percentile([1, 2, 3, 4, 10], 0.9) == pytest.approx(7.6)  # h = 3.6 → 4 + 0.6·6
    assert percentile([5.0], 0.9) == 5.0
    assert percentile([1, 2], 0.5) == 1.5
    with pytest.raises(ValueError):
        percentile([], 0.5)


def test_replayed_month_matches_independent_computation(month: list[Invitation], report: Report) -> None:
    expected = independent(month, NOW)
    assert [p.label for p in report.weeks] == WEEK_LABELS
    assert sum(p.invitations for p in report.weeks) == report.overall.invitations == 200
    for period in [*report.weeks, report.overall]:
        want = expected[period.label]
        assert period.invitations == want["invitations"], period.label
        assert period.booked == want["booked"], period.label
        assert period.median_hours == pytest.approx(want["median"]), period.label
        assert period.p90_hours == pytest.approx(want["p90"]), period.label
        assert period.zero_touch_share == pytest.approx(want["share"]), period.label
        assert period.no_show_rate == pytest.approx(want["no_show_rate"]), period.label
        assert period.alerts == want["alerts"], period.label
        assert period.hours_saved == pytest.approx(want["saved"]), period.label
    # the data really exercises each rule
    assert 0 < report.overall.no_shows < report.overall.interviews_due < report.overall.booked
    assert report.overall.alerts > 0 and report.overall.zero_touch < report.overall.booked
    assert any(i.booked_at and not i.interview_start for i in month)  # cancelled ones are not "booked"
    medians = [p.median_hours for p in report.weeks]
    assert medians[0] < medians[-1]  # the drift the generator put in


def test_marks_flip_at_the_thresholds() -> None:
    monday = FIRST_MONDAY

    def week(delay: float, zero_touch: int, total: int = 20) -> Report:
        invs = [make(n, monday + timedelta(hours=n), delay_h=delay, manual=0 if n < zero_touch else 1)
                for n in range(total)]
        return compute_report(invs, now=monday + timedelta(days=6))

    passing = week(23.99, 17).overall  # 17/20 = exactly 85 %
    assert passing.median_hours == pytest.approx(23.99) and passing.p90_hours == pytest.approx(23.99)
    assert passing.median_pass is True and passing.p90_pass is True
    assert passing.zero_touch_share == pytest.approx(0.85) and passing.zero_touch_pass is True
    failing = week(24.0, 16).overall  # the time target is strict: 24.0 h fails
    assert failing.median_pass is False and failing.p90_pass is False
    assert failing.zero_touch_pass is False
    # p90 alone can fail while the median passes
    mixed = compute_report([make(n, monday, delay_h=10.0 if n < 8 else 40.0) for n in range(10)],
                           now=monday + timedelta(days=6)).overall
    assert mixed.median_pass is True and mixed.p90_pass is False
    # custom targets move the line
    strict = compute_report([make(1, monday, delay_h=5.0)], now=monday + timedelta(days=6),
                            targets=Targets(max_hours_to_booking=4.0, min_zero_touch_share=1.0)).overall
    assert strict.median_pass is False and strict.zero_touch_pass is True
    # nothing booked: no verdict rather than a fake pass or fail
    empty = compute_report([make(1, monday)], now=monday + timedelta(days=6)).overall
    assert (empty.median_pass, empty.zero_touch_pass, empty.no_show_rate) == (None, None, None)


def test_window_and_week_bucketing(month: list[Invitation]) -> None:
    last_two = compute_report(month, now=NOW, weeks=2)
    assert [p.label for p in last_two.weeks] == WEEK_LABELS[-2:]
    assert last_two.overall.invitations == sum(1 for i in month if i.stage_changed_at >= datetime(
        2026, 10, 26, tzinfo=timezone.utc))
    since = compute_report(month, now=NOW, since=datetime(2026, 10, 21, tzinfo=timezone.utc))
    assert [p.label for p in since.weeks] == WEEK_LABELS[2:]
    assert since.overall.invitations == sum(1 for i in month if i.stage_changed_at.day >= 21
                                            or i.stage_changed_at.month == 11)
    # empty weeks stay in the series (a gap in the chart, not a silent jump)
    gap = compute_report([make(1, FIRST_MONDAY, delay_h=2), make(2, FIRST_MONDAY + timedelta(weeks=2), delay_h=2)],
                         now=FIRST_MONDAY + timedelta(weeks=2, days=1))
    assert [p.booked for p in gap.weeks] == [1, 0, 1] and gap.weeks[1].median_hours is None
    # weeks are cut in the report's time zone: Sunday 23:00 in Chicago is Monday in UTC
    late_sunday = datetime(2026, 10, 12, 4, 0, tzinfo=timezone.utc)  # Sun 11 Oct 23:00 CDT
    chicago = compute_report([make(1, late_sunday, delay_h=1)], now=late_sunday + timedelta(days=1),
                             tz=ZoneInfo("America/Chicago"))
    assert chicago.weeks[0].label == "2026-W41" and chicago.weeks[0].invitations == 1
    assert compute_report([make(1, late_sunday, delay_h=1)],
                          now=late_sunday + timedelta(days=1)).weeks[0].label == "2026-W42"


def test_to_dict_is_plain_json(report: Report) -> None:
    data = json.loads(json.dumps(report.to_dict()))
    assert data["targets"] == {"max_hours_to_booking": 24.0, "min_zero_touch_share": 0.85}
    assert data["weeks"][0]["label"] == "2026-W41" and data["weeks"][0]["start"] == "2026-10-05"
    assert data["overall"]["median_hours"] == pytest.approx(report.overall.median_hours)
    assert "linear" in data["percentile_method"]


# --- the CLI --------------------------------------------------------------------------------


def _config(tmp_path: Path, invs: list[Invitation]) -> Path:
    db = StateDB.open(tmp_path / "state.db")
    with db.transaction():
        for inv in invs:
            db.save_invitation(inv)
    db.close()
    path = tmp_path / "interview-sync.toml"
    path.write_text('[state]\npath = "state.db"\n\n[policy]\ntimezone = "UTC"\n\n'
                    "[report]\nmanual_minutes_per_schedule = 30\nminutes_per_alert = 10\n", encoding="utf-8")
    return path


def test_report_cli_json_and_html(tmp_path: Path, month: list[Invitation]) -> None:
    config = _config(tmp_path, month)
    page = tmp_path / "page.html"
    result = CliRunner().invoke(app, ["--config", str(config), "report", "--json", "--now", NOW.isoformat(),
                                      "--html", str(page)])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert set(data) >= {"generated_at", "timezone", "since", "targets", "assumptions", "overall", "weeks"}
    assert data["timezone"] == "UTC" and data["generated_at"].startswith("2026-11-06T18:00:00")
    assert [w["label"] for w in data["weeks"]] == WEEK_LABELS
    assert set(data["overall"]) >= {"invitations", "booked", "median_hours", "p90_hours", "median_pass",
                                    "p90_pass", "zero_touch_share", "zero_touch_pass", "no_show_rate",
                                    "alerts", "hours_saved"}
    want = independent(month, NOW)["overall"]
    assert data["overall"]["invitations"] == 200
    assert data["overall"]["median_hours"] == pytest.approx(want["median"])
    assert data["overall"]["zero_touch_share"] == pytest.approx(want["share"])
    assert page.exists() and page.read_text(encoding="utf-8").count("<svg") == len(METRICS)
    assert '<h2 id="channels">' in page.read_text(encoding="utf-8")  # the terminal's per-channel table too

    weeks = CliRunner().invoke(app, ["--config", str(config), "report", "--json", "--now", NOW.isoformat(),
                                     "--weeks", "1"])
    assert [w["label"] for w in json.loads(weeks.stdout)["weeks"]] == ["2026-W45"]
    plain = CliRunner().invoke(app, ["--config", str(config), "report", "--now", NOW.isoformat(),
                                     "--since", "2026-10-19"])
    assert plain.exit_code == 0, plain.output
    assert "metric\toverall\ttarget\tresult" in plain.stdout and "2026-W41" not in plain.stdout
    assert "2026-W43\t" in plain.stdout
    bad = CliRunner().invoke(app, ["--config", str(config), "report", "--since", "last tuesday"])
    assert bad.exit_code == 2


def test_no_show_cli_records_locally_and_is_idempotent(tmp_path: Path) -> None:
    past = datetime(2020, 3, 2, 15, 0, tzinfo=timezone.utc)
    booked = make(1, past, delay_h=5)
    booked.booking_ref = None  # nothing to tell the scheduler: no network in this test
    future = make(2, datetime(2999, 1, 1, tzinfo=timezone.utc), delay_h=5)
    config = _config(tmp_path, [booked, future])
    runner = CliRunner()
    first = runner.invoke(app, ["--config", str(config), "no-show", booked.application_id, "--reason",
                                "did not dial in"])
    assert first.exit_code == 0, first.output
    assert "recorded locally only" in first.stdout
    db = StateDB.open(tmp_path / "state.db", readonly=True)
    try:
        stored = db.invitations(application_id=booked.application_id)[0]
        rows = [r for r in db.iter_audit() if r["event"] == "no_show"]
        assert stored.no_show is True and stored.state is State.BOOKED
        assert stored.alerts == 0 and stored.manual_interventions == 0  # nothing else moves
        assert len(rows) == 1 and rows[0]["actor"] == f"user:{os_user()}"
        assert rows[0]["invitation_ref"] == booked.ref and "did not dial in" in rows[0]["detail"]
    finally:
        db.close()
    again = runner.invoke(app, ["--config", str(config), "no-show", booked.application_id])
    assert again.exit_code == 0 and "already recorded" in again.stdout
    not_yet = runner.invoke(app, ["--config", str(config), "no-show", future.application_id])
    assert not_yet.exit_code == 2 and "has passed" in not_yet.output
    unknown = runner.invoke(app, ["--config", str(config), "no-show", "404404"])
    assert unknown.exit_code == 2
    db = StateDB.open(tmp_path / "state.db", readonly=True)
    try:
        assert sum(1 for r in db.iter_audit() if r["event"] == "no_show") == 1
    finally:
        db.close()


class _RecordingScheduler:
    def __init__(self, fail: Exception | None = None) -> None:
        self.marked: list[str] = []
        self.fail = fail

    def mark_no_show(self, booking) -> None:  # type: ignore[no-untyped-def]
        if self.fail:
            raise self.fail
        self.marked.append(booking.uri)


def test_no_show_tells_the_scheduler_and_survives_its_refusal() -> None:
    from interview_sync.errors import VendorError

    db = StateDB.memory()
    inv = make(1, FIRST_MONDAY, delay_h=5, interview_in_h=24)
    other = make(2, FIRST_MONDAY, delay_h=5, interview_in_h=24)
    db.save_invitation(inv)
    db.save_invitation(other)
    clock = FixedClock(FIRST_MONDAY + timedelta(days=3))
    ok = _RecordingScheduler()
    result = record_no_show(db, ok, clock, inv.application_id, reason=None, actor="user:tester")  # type: ignore[arg-type]
    assert result.scheduler_marked and ok.marked == [inv.booking_ref]
    refusing = _RecordingScheduler(VendorError("calendly", "invitee is already marked as a no show"))
    refused = record_no_show(db, refusing, clock, other.application_id, reason="late", actor="user:tester")  # type: ignore[arg-type]
    assert not refused.scheduler_marked and "recorded locally only" in refused.scheduler_note
    assert db.get_invitation(other.ref).no_show is True  # type: ignore[union-attr]
    details = [r["detail"] for r in db.iter_audit() if r["event"] == "no_show"]
    assert len(details) == 2 and "already marked" in details[1]
    # and the report sees both
    assert compute_report(db.invitations(), now=clock.now()).overall.no_shows == 2


def test_no_show_reaches_the_sandbox_scheduler(harness) -> None:  # type: ignore[no-untyped-def]
    """End to end over loopback: a real booking, then the mark lands on the Calendly-style invitee."""
    zoe = "17001"
    harness.poll()
    harness.at(0.1)
    harness.sandbox.move(zoe, "Phone Screen")
    harness.poll()
    harness.at(1)
    harness.sandbox.book(zoe)
    harness.poll()
    inv = harness.invitation(zoe)
    assert inv.state is State.BOOKED and inv.booking_ref and inv.interview_end
    harness.at((inv.interview_end - harness.start).total_seconds() / 3600 + 1)
    result = record_no_show(harness.ctx.db, harness.ctx.scheduler, harness.clock, zoe, reason="no answer",
                            actor="user:t")
    assert result.scheduler_marked, result.scheduler_note
    invitees = harness.world.data["calendly"]["invitees"].values()
    assert [i["id"] for i in invitees if i.get("no_show")] == [inv.booking_ref.rsplit("/", 1)[-1]]
    harness.poll()  # a later poll keeps the local mark
    assert harness.invitation(zoe).no_show is True


# --- the page -------------------------------------------------------------------------------


class _PageAudit(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.svgs: list[dict[str, str | None]] = []
        self.svg_children: list[list[str]] = []
        self.resource_attrs: list[tuple[str, str, str | None]] = []
        self.tags: set[str] = set()
        self.marks: list[str] = []
        self._in_svg = False
        self._depth = 0
        self._cell: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        for name, value in attrs:
            if name in ("src", "href", "xlink:href", "srcset", "action", "data", "poster"):
                self.resource_attrs.append((tag, name, value))
        if tag == "svg":
            self.svgs.append(dict(attrs))
            self.svg_children.append([])
            self._in_svg, self._depth = True, 0
        elif self._in_svg:
            self._depth += 1
            if self._depth == 1:
                self.svg_children[-1].append(tag)
        if tag == "td":
            self._cell = dict(attrs).get("class")

    def handle_endtag(self, tag: str) -> None:
        if tag == "svg":
            self._in_svg = False
        elif self._in_svg:
            self._depth -= 1
        if tag == "td":
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell in ("pass", "fail") and data.strip():
            self.marks.append(data.strip())


def test_html_page_has_one_accessible_chart_per_metric_and_no_network(report: Report) -> None:
    page = render_html(report)
    audit = _PageAudit()
    audit.feed(page)
    assert len(audit.svgs) == len(METRICS)
    assert {svg["data-metric"] for svg in audit.svgs} == METRICS
    for svg, children in zip(audit.svgs, audit.svg_children):
        assert svg["role"] == "img" and svg["aria-labelledby"]
        assert children[:2] == ["title", "desc"], children
        assert any(c in ("polyline", "circle", "rect") for c in children)  # something was drawn
    assert audit.resource_attrs == []
    assert not {"script", "link", "img", "iframe", "object", "embed"} & audit.tags
    assert "http://" not in page and "https://" not in page and "url(" not in page and "@import" not in page
    # one mark per target, matching the figures
    o = report.overall
    expected = ["✓ pass" if flag else "✗ fail" for flag in (o.median_pass, o.p90_pass, o.zero_touch_pass)]
    assert audit.marks == expected
    assert "2026-W41" in page and "<desc" in page and "target &lt; 24 h" in page


def test_html_page_with_no_data_still_renders() -> None:
    page = render_html(compute_report([], now=NOW))
    audit = _PageAudit()
    audit.feed(page)
    assert len(audit.svgs) == len(METRICS) and "no data in this period" in page


def _chromium() -> str | None:
    for name in (os.environ.get("CHROMIUM"), "chromium", "chromium-browser", "google-chrome"):
        if name and shutil.which(name):
            return shutil.which(name)
    return None


@pytest.mark.skipif(_chromium() is None, reason="headless Chromium is not installed (CI may not have it)")
def test_page_renders_in_headless_chromium(tmp_path: Path, report: Report) -> None:
    page = tmp_path / "report.html"
    page.write_text(render_html(report), encoding="utf-8")
    png = tmp_path / "report.png"
    done = subprocess.run([sys.executable, str(REPO / "bench" / "render_report_screenshot.py"), "--html", str(page),
                           "-o", str(png), "--width", "1000", "--height", "1600"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    raw = png.read_bytes()
    assert raw[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(raw[16:20], "big"), int.from_bytes(raw[20:24], "big")
    assert (width, height) == (1000, 1600)
    assert len(raw) > 20_000  # a blank page compresses to a few kB
    # decode the image data enough to see many distinct byte values (text, lines, colours)
    pos, idat = 8, b""
    while pos < len(raw):
        length = int.from_bytes(raw[pos:pos + 4], "big")
        kind = raw[pos + 4:pos + 8]
        if kind == b"IDAT":
            idat += raw[pos + 8:pos + 8 + length]
        pos += 12 + length
    pixels = zlib.decompress(idat)
    assert len(set(pixels)) > 64


def test_html_page_carries_the_per_channel_table_the_terminal_prints(report: Report) -> None:
    from interview_sync.report_channels import COLUMNS, ChannelFigures, channel_rows

    email = ChannelFigures("email", reached=12, sent=30, failed=1, booked_after=9, interviews_due=8, no_shows=1)
    sms = ChannelFigures("sms<b>", reached=5, sent=7, delivered=6, failed=1, opted_out=2, booked_after=4,
                         interviews_due=4, no_shows=0)
    page = render_html(report, [email, sms])
    section = page[page.index('<h2 id="channels">'):page.index('<h2 id="definitions">')]
    rows = [[cell for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row)]
            for row in re.findall(r"<tr>(.*?)</tr>", section)]
    assert rows[0] == list(COLUMNS)
    assert rows[1:] == [[html.escape(v) for v in row] for row in channel_rows([email, sms])]
    assert "sms&lt;b&gt;" in section and "<b>" not in section  # a value is text, never markup
    assert "6" in rows[2] and "1/8" in rows[1][-1]
    assert '<h2 id="channels">' not in render_html(report)  # no figures, no section
