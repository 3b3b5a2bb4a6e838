"""``report --html``: one self-contained page with a weekly trend chart per metric.

Self-contained means the file works offline, from an email attachment or a
shared drive: inline CSS, system fonts, charts drawn here as inline SVG. There
is deliberately no ``src=``/``href=`` and no URL at all in the output (inline
SVG in HTML needs no ``xmlns``), so nothing can phone home or break later.

Each chart is an ``<svg role="img">`` with a ``<title>`` and a ``<desc>`` that
spells out every weekly value, so a screen reader gets the data, not a shape.
Pass/fail is shown as a symbol *and* a word, never by colour alone.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

from .report import (DEFINITIONS, PERCENTILE_METHOD, WEEKLY_COLUMNS, Period, Report, fmt_hours, fmt_mark,
                     fmt_share, summary_rows, weekly_rows)
from .report_channels import COLUMNS as CHANNEL_COLUMNS
from .report_channels import ChannelFigures, channel_rows

WIDTH, HEIGHT = 680, 260
LEFT, RIGHT, TOP, BOTTOM = 64, 20, 34, 46
BLUE, ORANGE, GREEN, GREY, INK = "#1f5f9e", "#c4570c", "#2e7d32", "#8a8f98", "#1d2430"


@dataclass(frozen=True)
class Series:
    name: str
    values: list[float | None]
    color: str
    marker: str = "circle"  # circle | square: a second cue besides colour


@dataclass(frozen=True)
class ChartSpec:
    key: str
    title: str
    series: list[Series]
    kind: str  # line | bar
    fmt: Callable[[float | None], str]
    target: float | None = None
    target_text: str = ""
    y_max: float | None = None  # fixed top of the axis (e.g. 100 % for shares)
    axis_fmt: Callable[[float], str] = lambda v: f"{v:g}"


# --- scales ------------------------------------------------------------------------------


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values (1, 2, 2.5, 5 × 10^k steps) covering [low, high]."""
    if high <= low:
        high = low + 1.0
    raw = (high - low) / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = math.floor(low / step + 1e-9) * step
    last = math.ceil(high / step - 1e-9) * step
    steps = int(round((last - first) / step))
    return [round(first + i * step, 10) for i in range(steps + 1)]


def _num(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


# --- one chart ---------------------------------------------------------------------------


def chart_svg(spec: ChartSpec, weeks: Sequence[Period]) -> str:
    """An accessible inline SVG trend chart of ``spec`` over ``weeks``."""
    labels = [p.label for p in weeks]
    title_id, desc_id = f"chart-{spec.key}-title", f"chart-{spec.key}-desc"
    data = [v for s in spec.series for v in s.values if v is not None]
    parts: list[str] = [
        f'<svg class="chart" data-metric="{spec.key}" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="{title_id} {desc_id}" preserveAspectRatio="xMidYMid meet">',
        f'<title id="{title_id}">{escape(spec.title)} per ISO week</title>',
        f'<desc id="{desc_id}">{escape(_describe(spec, labels))}</desc>',
    ]
    if not data:
        parts.append(f'<text x="{WIDTH / 2}" y="{HEIGHT / 2}" text-anchor="middle" class="empty">'
                     "no data in this period</text></svg>")
        return "".join(parts)

    extent = data + ([spec.target] if spec.target is not None else []) + [0.0]
    low, high = min(extent), max(extent)
    if spec.y_max is not None:
        high = max(high, spec.y_max)
    ticks = nice_ticks(low, high * 1.05 if spec.y_max is None else high)
    y0, y1 = ticks[0], ticks[-1]
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def y(value: float) -> float:
        return TOP + plot_h * (1 - (value - y0) / (y1 - y0))

    band = plot_w / len(labels)

    def x(index: int) -> float:
        return LEFT + band * (index + 0.5)

    # grid and y axis
    for tick in ticks:
        parts.append(f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(tick):.1f}" '
                     f'y2="{y(tick):.1f}"/>')
        parts.append(f'<text class="tick" x="{LEFT - 8}" y="{y(tick) + 4:.1f}" text-anchor="end">'
                     f"{escape(spec.axis_fmt(tick))}</text>")
    parts.append(f'<line class="axis" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(max(y0, 0)):.1f}" '
                 f'y2="{y(max(y0, 0)):.1f}"/>')
    parts.append(f'<line class="axis" x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{TOP + plot_h}"/>')

    parts.extend(_x_axis(weeks, x, TOP + plot_h))

    # target line
    if spec.target is not None:
        ty = y(spec.target)
        parts.append(f'<line class="target" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{ty:.1f}" y2="{ty:.1f}"/>')
        parts.append(f'<text class="target-label" x="{WIDTH - RIGHT - 4}" y="{ty - 5:.1f}" '
                     f'text-anchor="end">{escape(spec.target_text)}</text>')

    # data
    if spec.kind == "bar":
        parts.extend(_bars(spec, labels, x, y, band))
    else:
        for series in spec.series:
            parts.extend(_line(series, labels, x, y, spec.fmt))

    if len(spec.series) > 1:  # a legend only when it tells two series apart
        parts.extend(_legend(spec.series))
    parts.append("</svg>")
    return "".join(parts)


def _x_axis(weeks: Sequence[Period], x: Callable[[int], float], bottom: float) -> list[str]:
    """ISO week and its Monday under each column, thinned out when there are many weeks."""
    parts: list[str] = []
    every = max(1, math.ceil(len(weeks) / 12))
    for i, period in enumerate(weeks):
        if i % every:
            continue
        week = period.label.split("-")[-1]
        monday = period.start.strftime("%d %b") if period.start else ""
        parts.append(f'<text class="tick" x="{x(i):.1f}" y="{bottom + 16}" text-anchor="middle">'
                     f"{escape(week)}</text>")
        parts.append(f'<text class="tick sub" x="{x(i):.1f}" y="{bottom + 30}" '
                     f'text-anchor="middle">{escape(monday)}</text>')
    return parts


def _bars(spec: ChartSpec, labels: Sequence[str], x: Callable[[int], float], y: Callable[[float], float],
          band: float) -> list[str]:
    """The first series as bars from zero, each with its value when there is room."""
    parts: list[str] = []
    series = spec.series[0]
    width = min(band * 0.6, 48)
    base = y(0.0)
    for i, value in enumerate(series.values):
        if value is None:
            continue
        top, bottom = sorted((y(value), base))
        parts.append(f'<rect x="{x(i) - width / 2:.1f}" y="{top:.1f}" width="{width:.1f}" '
                     f'height="{max(bottom - top, 0.5):.1f}" fill="{series.color}">'
                     f"<title>{escape(labels[i])}: {escape(spec.fmt(value))}</title></rect>")
        if len(labels) <= 16:
            label_y = top - 4 if value >= 0 else bottom + 12
            parts.append(f'<text class="value" x="{x(i):.1f}" y="{label_y:.1f}" '
                         f'text-anchor="middle">{escape(_num(value))}</text>')
    return parts


def _legend(all_series: Sequence[Series]) -> list[str]:
    parts: list[str] = []
    lx = LEFT
    for series in all_series:
        parts.append(f'<line x1="{lx}" x2="{lx + 18}" y1="14" y2="14" stroke="{series.color}" '
                     'stroke-width="2.5"/>')
        parts.append(_marker(series, lx + 9, 14, ""))
        parts.append(f'<text class="legend" x="{lx + 24}" y="18">{escape(series.name)}</text>')
        lx += 24 + 8 * len(series.name) + 24
    return parts


def _line(series: Series, labels: Sequence[str], x: Callable[[int], float],
          y: Callable[[float], float], fmt: Callable[[float | None], str]) -> list[str]:
    """Polyline segments between consecutive known weeks; a week without data breaks the line."""
    parts: list[str] = []
    run: list[str] = []
    for i, value in enumerate([*series.values, None]):
        if value is None:
            if len(run) > 1:
                parts.append(f'<polyline fill="none" stroke="{series.color}" stroke-width="2.5" '
                             f'stroke-linejoin="round" points="{" ".join(run)}"/>')
            run = []
            continue
        run.append(f"{x(i):.1f},{y(value):.1f}")
    for i, value in enumerate(series.values):
        if value is not None:
            parts.append(_marker(series, x(i), y(value),
                                 f"{labels[i]} {series.name}: {fmt(value)}"))
    return parts


def _marker(series: Series, cx: float, cy: float, tooltip: str) -> str:
    inner = f"<title>{escape(tooltip)}</title>" if tooltip else ""
    if series.marker == "square":
        return (f'<rect x="{cx - 4:.1f}" y="{cy - 4:.1f}" width="8" height="8" fill="{series.color}">'
                f"{inner}</rect>")
    return f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="4.5" fill="{series.color}">{inner}</circle>'


def _describe(spec: ChartSpec, labels: Sequence[str]) -> str:
    if not labels:
        return f"{spec.title}: no weeks in this period."
    kind = "Bar chart" if spec.kind == "bar" else "Line chart"
    text = [f"{kind} of {spec.title.lower()} per ISO week, {labels[0]} to {labels[-1]}."]
    for series in spec.series:
        values = "; ".join(f"{label} {spec.fmt(v) if v is not None else 'no data'}"
                           for label, v in zip(labels, series.values))
        text.append(f"{series.name}: {values}.")
    if spec.target is not None:
        text.append(f"Target line: {spec.target_text}.")
    return " ".join(text)


# --- the page ----------------------------------------------------------------------------


def chart_specs(report: Report) -> list[ChartSpec]:
    """One chart per metric of SPEC §6."""
    weeks, t = report.weeks, report.targets
    hours_target = f"target < {t.max_hours_to_booking:g} h"
    return [
        ChartSpec("hours_to_booking", "Hours from stage change to booking",
                  [Series("median", [p.median_hours for p in weeks], BLUE),
                   Series("p90", [p.p90_hours for p in weeks], ORANGE, "square")],
                  "line", fmt_hours, t.max_hours_to_booking, hours_target,
                  axis_fmt=lambda v: f"{v:g} h"),
        ChartSpec("zero_touch_share", "Booked with zero recruiter intervention",
                  [Series("share", [p.zero_touch_share for p in weeks], BLUE)],
                  "line", fmt_share, t.min_zero_touch_share,
                  f"target ≥ {t.min_zero_touch_share * 100:g} %", y_max=1.0,
                  axis_fmt=lambda v: f"{v * 100:g} %"),
        ChartSpec("no_show_rate", "No-show rate",
                  [Series("no-show rate", [p.no_show_rate for p in weeks], ORANGE)],
                  "line", fmt_share, axis_fmt=lambda v: f"{v * 100:g} %"),
        ChartSpec("alerts", "Recruiter alerts",
                  [Series("alerts", [float(p.alerts) for p in weeks], ORANGE)],
                  "bar", lambda v: "–" if v is None else f"{v:g}"),
        ChartSpec("hours_saved", "Estimated recruiter hours saved",
                  [Series("hours saved", [p.hours_saved for p in weeks], GREEN)],
                  "bar", fmt_hours, axis_fmt=lambda v: f"{v:g} h"),
    ]


CSS = """
:root { color-scheme: light; }
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
       color: #1d2430; background: #f6f7f9; margin: 0; }
main { max-width: 980px; margin: 0 auto; padding: 28px 24px 48px; }
h1 { font-size: 1.6rem; margin: 0 0 4px; }
h2 { font-size: 1.2rem; margin: 32px 0 12px; }
.meta { color: #4a5361; margin: 0 0 20px; }
table { border-collapse: collapse; width: 100%; background: #fff; border: 1px solid #d9dde3; }
th, td { padding: 7px 12px; text-align: left; border-bottom: 1px solid #e6e9ee; }
thead th { background: #eef1f5; font-weight: 600; }
tbody th { font-weight: 500; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.pass { color: #1b6e20; font-weight: 600; }
.fail { color: #b3261e; font-weight: 600; }
.na { color: #6b7380; }
.charts { display: grid; grid-template-columns: 1fr; gap: 18px; }
figure { margin: 0; background: #fff; border: 1px solid #d9dde3; border-radius: 6px; padding: 12px 14px 6px; }
figcaption { font-weight: 600; margin-bottom: 4px; }
figcaption small { font-weight: 400; color: #4a5361; }
svg.chart { width: 100%; height: auto; display: block; }
svg .grid { stroke: #e3e6eb; stroke-width: 1; }
svg .axis { stroke: #7a818c; stroke-width: 1; }
svg .tick { font-size: 12px; fill: #4a5361; }
svg .tick.sub { font-size: 10.5px; fill: #7a818c; }
svg .value { font-size: 11px; fill: #1d2430; }
svg .legend { font-size: 12.5px; fill: #1d2430; }
svg .target { stroke: #b3261e; stroke-width: 1.5; stroke-dasharray: 6 4; }
svg .target-label { font-size: 12px; fill: #b3261e; font-weight: 600; }
svg .empty { font-size: 14px; fill: #6b7380; }
dl { background: #fff; border: 1px solid #d9dde3; padding: 12px 16px; margin: 0; }
dt { font-weight: 600; margin-top: 6px; }
dd { margin: 0 0 4px 0; color: #3a4250; }
"""


def _mark_cell(passed: bool | None, has_target: bool) -> str:
    if not has_target:
        return '<td class="na"></td>'
    css = {True: "pass", False: "fail", None: "na"}[passed]
    return f'<td class="{css}">{escape(fmt_mark(passed))}</td>'


def _head_and_body(columns: Sequence[str], rows: Sequence[Sequence[str]]) -> tuple[str, str]:
    """A table's header cells and body rows: the first column names the row, the rest are numbers."""
    head = "".join('<th scope="col">' + escape(c) + "</th>" if i == 0 else
                   '<th scope="col" class="num">' + escape(c) + "</th>" for i, c in enumerate(columns))
    body = "".join(
        "<tr>" + "".join(f'<th scope="row">{escape(v)}</th>' if i == 0 else f'<td class="num">{escape(v)}</td>'
                         for i, v in enumerate(row)) + "</tr>"
        for row in rows)
    return head, body


def _channel_table(channels: Sequence[ChannelFigures]) -> str:
    """The per-channel table the terminal report prints (issue 14), or nothing without figures."""
    if not channels:
        return ""
    head, body = _head_and_body(CHANNEL_COLUMNS, channel_rows(list(channels)))
    return (f'\n<h2 id="channels">Per channel (candidates reached on it)</h2>\n'
            f'<table aria-describedby="channels">\n<thead><tr>{head}</tr></thead>\n<tbody>{body}</tbody>\n</table>\n')


def render_html(report: Report, channels: Sequence[ChannelFigures] = ()) -> str:
    """The whole page as one string (UTF-8, no external resources); ``channels`` adds the
    per-channel table (email and text: reached, delivered, booked after, no-shows)."""
    window = (f"stage changes since {report.since:%Y-%m-%d %H:%M %Z}" if report.since
              else "all recorded stage changes")
    span = (f"{report.weeks[0].label} – {report.weeks[-1].label}" if report.weeks else "no weeks")
    summary = "".join(
        f"<tr><th scope=\"row\">{escape(r.label)}</th><td class=\"num\">{escape(r.value)}</td>"
        f"<td>{escape(r.target)}</td>{_mark_cell(r.passed, r.has_target)}</tr>"
        for r in summary_rows(report))
    weekly_head, weekly_body = _head_and_body(WEEKLY_COLUMNS, weekly_rows(report))
    figures = "".join(
        f'<figure><figcaption>{escape(spec.title)}'
        f'{f" <small>({escape(spec.target_text)})</small>" if spec.target_text else ""}</figcaption>'
        f"{chart_svg(spec, report.weeks)}</figure>"
        for spec in chart_specs(report))
    definitions = "".join(f"<dt>{escape(key)}</dt><dd>{escape(text)}</dd>"
                          for key, text in DEFINITIONS.items())
    assumptions = (f"Hours saved assume {report.manual_minutes:g} minutes of recruiter time per "
                   f"manually scheduled interview and {report.alert_minutes:g} minutes per alert "
                   "([report] manual_minutes_per_schedule, minutes_per_alert).")
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Interview scheduling report — {escape(span)}</title>
<style>{CSS}</style>
</head>
<body>
<main>
<h1>Interview scheduling report</h1>
<p class="meta">{escape(span)} · {escape(window)} · weeks are ISO weeks of the stage change in
{escape(report.timezone)} · generated {report.generated_at:%Y-%m-%d %H:%M %Z}</p>

<h2 id="summary">Summary</h2>
<table aria-describedby="summary">
<thead><tr><th scope="col">Metric</th><th scope="col" class="num">Overall</th><th scope="col">Target</th>
<th scope="col">Result</th></tr></thead>
<tbody>{summary}</tbody>
</table>
<p class="meta">{escape(assumptions)}</p>

<h2 id="trends">Weekly trends</h2>
<div class="charts">{figures}</div>

<h2 id="weekly">Weekly figures</h2>
<table aria-describedby="weekly">
<thead><tr>{weekly_head}</tr></thead>
<tbody>{weekly_body}</tbody>
</table>

{_channel_table(channels)}
<h2 id="definitions">How each figure is computed</h2>
<dl>{definitions}<dt>percentiles</dt><dd>{escape(PERCENTILE_METHOD)}</dd></dl>
</main>
</body>
</html>
"""

