"""Render the `report --html` page to a PNG with headless Chromium (issue 4, acceptance 3).

Usage::

    python bench/render_report_screenshot.py                      # synthetic month -> report.png
    python bench/render_report_screenshot.py --html page.html -o page.png
    interview-sync report --html page.html && python bench/render_report_screenshot.py --html page.html

Without ``--html`` the script builds a synthetic month itself (200 invitations
over five ISO weeks, fixed seed, so two runs give the same picture), renders it
with :func:`interview_sync.report_html.render_html` and screenshots that.

Chromium is found as ``$CHROMIUM``, ``chromium`` or ``chromium-browser`` on
PATH (Debian: ``apt-get install chromium``). It runs headless with
``--no-sandbox --disable-gpu``, a throwaway profile, and host resolution
mapped to nothing, so the screenshot also proves the page needs no network.

Exit 0 and one line ``<png> <width>x<height> <bytes>``; exit 3 when no Chromium
is installed; exit 1 when Chromium produced no usable PNG.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import struct
import subprocess
import sys
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

NO_CHROMIUM = 3


def find_chromium() -> str | None:
    for candidate in (os.environ.get("CHROMIUM"), "chromium", "chromium-browser", "google-chrome"):
        if candidate and (path := shutil.which(candidate)):
            return path
    return None


def synthetic_page() -> str:
    """A month of made-up activity, rendered: for looking at the page without a state DB."""
    from interview_sync.invitation import Invitation, State
    from interview_sync.report import compute_report
    from interview_sync.report_html import render_html

    rng = random.Random(20261005)
    first = datetime(2026, 10, 5, tzinfo=timezone.utc)  # Monday of 2026-W41
    now = first + timedelta(days=34)
    invitations = []
    for n in range(200):
        changed = first + timedelta(hours=rng.uniform(0, 33 * 24))
        inv = Invitation(ref=f"is-{n}", application_id=str(30000 + n), candidate_id=str(n), job_id="1",
                         stage_id="10", stage_name="Phone Screen", stage_changed_at=changed,
                         created_at=changed, state=State.INVITED)
        week = (changed - first).days // 7
        delay = rng.lognormvariate(2.2 + 0.25 * week, 0.7)
        if rng.random() < 0.9 and changed + timedelta(hours=delay) < now:
            inv.booked_at = changed + timedelta(hours=delay)
            inv.interview_start = inv.booked_at + timedelta(days=rng.uniform(1, 6))
            inv.state = State.BOOKED
            inv.no_show = inv.interview_start < now and rng.random() < 0.1
        inv.alerts = 1 if rng.random() < 0.08 + 0.02 * week else 0
        inv.manual_interventions = 1 if rng.random() < 0.05 else 0
        invitations.append(inv)
    return render_html(compute_report(invitations, now=now))


def png_size(path: Path) -> tuple[int, int]:
    """Width and height from the IHDR chunk; ValueError if this is not a PNG."""
    head = path.read_bytes()[:24]
    if head[:8] != b"\x89PNG\r\n\x1a\n" or head[12:16] != b"IHDR":
        raise ValueError(f"{path} is not a PNG")
    width, height = struct.unpack(">II", head[16:24])
    return width, height


def screenshot(html: Path, png: Path, *, chromium: str, width: int = 1100, height: int = 3400,
               timeout: float = 90) -> tuple[int, int]:
    """Screenshot ``html`` (a local file) into ``png``; returns the PNG's size."""
    png.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="report-chromium-") as profile:
        command = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                   "--no-first-run", "--disable-extensions", "--force-device-scale-factor=1",
                   "--host-resolver-rules=MAP * ~NOTFOUND", f"--user-data-dir={profile}",
                   f"--window-size={width},{height}", f"--screenshot={png.resolve()}",
                   html.resolve().as_uri()]
        subprocess.run(command, check=False, timeout=timeout, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
    if not png.exists():
        raise RuntimeError(f"chromium wrote no screenshot to {png}")
    return png_size(png)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--html", type=Path, help="page to render (default: a synthetic month)")
    parser.add_argument("-o", "--output", type=Path, default=Path("report.png"), help="PNG to write")
    parser.add_argument("--width", type=int, default=1100)
    parser.add_argument("--height", type=int, default=3400)
    args = parser.parse_args(argv)

    chromium = find_chromium()
    if chromium is None:
        print("no chromium found: install it (apt-get install chromium) or set $CHROMIUM", file=sys.stderr)
        return NO_CHROMIUM
    with tempfile.TemporaryDirectory(prefix="report-page-") as tmp:
        page = args.html
        if page is None:
            page = Path(tmp) / "report.html"
            page.write_text(synthetic_page(), encoding="utf-8")
        try:
            width, height = screenshot(page, args.output, chromium=chromium, width=args.width,
                                       height=args.height)
        except (RuntimeError, ValueError, subprocess.TimeoutExpired) as exc:
            print(f"screenshot failed: {exc}", file=sys.stderr)
            return 1
    print(f"{args.output} {width}x{height} {args.output.stat().st_size}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
