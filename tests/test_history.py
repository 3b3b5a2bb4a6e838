"""Issue 10: `history APPLICATION_ID` tells one candidate's story from the audit log in local
time, and `status` names the candidate and the job.

The sandbox runs on the harness's pinned clock (Monday 2026-11-30 16:00 UTC = 08:00 PST);
every instant below is a fixed number of hours after it.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

from harness import Harness
from typer.testing import CliRunner

from interview_sync.audit import purge
from interview_sync.cli.app import app
from interview_sync.history import IMPERSONAL, PURGED, SENTENCES, load_history

ZOE, ZOE_EMAIL, ZOE_NAME = "17001", "zoe+nurse@example.org", "Zoë O'Brien-Nguyễn"
ZOE_JOB = "Registered Nurse – ICU (Nights)"
SIOBHAN, SIOBHAN_EMAIL = "17003", "siobhan.nibhriain+rt@example.net"
MARIA = "maria.delgado@mercyvalley.example"


def cli(h: Harness, *args: str) -> Any:
    return CliRunner().invoke(app, ["--config", str(h.config_path), *args])


def _story(h: Harness) -> None:
    """Zoë: invited, books, cancels, gets a new link, then a follow-up. Siobhán: invited,
    followed up, flagged."""
    h.at(0)
    h.poll()
    h.sandbox.move(ZOE, "Phone Screen")
    h.sandbox.move(SIOBHAN, "First Interview")
    h.at(0.1)
    h.poll()
    h.sandbox.book(ZOE, at=h.start + timedelta(days=2, hours=1))
    h.at(5)
    h.poll()
    h.sandbox.cancel(ZOE)
    h.at(6)
    h.poll()
    h.at(49)
    h.poll()
    h.at(75)
    h.poll()


def test_history_tells_every_step_in_local_time(harness: Harness) -> None:
    h = harness
    _story(h)
    result = cli(h, "history", ZOE)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == f"{ZOE_NAME} — {ZOE_JOB} (application {ZOE})"
    assert "  times in America/Los_Angeles" in lines
    story = [line for line in lines if not line.startswith(" ") and line != lines[0]]
    # 16:06 UTC on Monday 30 Nov is 08:06 in Los Angeles
    assert story[0] == "Mon 30 Nov 08:06 PST  moved to interview stage 'Phone Screen' in the ATS"
    assert f"Mon 30 Nov 08:06 PST  invite emailed to {ZOE_EMAIL}" in story
    assert "Mon 30 Nov 08:06 PST  link sent; waiting for a booking until Wed 02 Dec 08:06 PST" in story
    assert "Mon 30 Nov 13:00 PST  interview booked for Wed 02 Dec 09:00 PST" in story
    assert f"Mon 30 Nov 13:00 PST  calendar invite (.ics) for the hiring manager emailed to {MARIA}" in story
    assert "Mon 30 Nov 14:00 PST  interview cancelled (canceled by invitee)" in story
    assert "Mon 30 Nov 13:00 PST  note added in the ATS (booking note)" in story
    # the new link is named on the email that carried it, without the name/email prefill
    inv = h.invitation(ZOE)
    link = inv.link_url.split("?")[0]  # type: ignore[union-attr]
    relink = next(line for line in story if "new booking link (after a cancellation) emailed" in line)
    assert relink.endswith(f"(link {link})") and "email=" not in relink
    first_invite = next(line for line in story if "invite emailed" in line)
    assert "(link" not in first_invite  # that link was replaced after the cancel: not the stored one
    assert story[-1] == "Thu 03 Dec 11:00 PST  follow-up sent; waiting for a booking until Fri 04 Dec 11:00 PST"
    # one line per audit row, in order, none of them the fallback for an unknown event
    rows = h.ctx.db.audit_rows([inv.ref])
    assert len(story) == len(rows) >= 20
    untold = {r["event"] for r in rows} - (set(SENTENCES) | IMPERSONAL | set(PURGED) | {"email_sent"})
    assert not untold, f"give these audit events a sentence in interview_sync/history.py: {untold}"


def test_history_json_and_the_flagged_candidate(harness: Harness) -> None:
    h = harness
    _story(h)
    result = cli(h, "history", SIOBHAN, "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["candidate"] == "Siobhán Ní Bhriain" and data["job"] == "Respiratory Therapist"
    assert data["timezone"] == "America/Los_Angeles"
    assert [i["state"] for i in data["invitations"]] == ["flagged"]
    events = data["events"]
    assert [e["seq"] for e in events] == sorted(e["seq"] for e in events)
    by_event = {e["event"]: e for e in events}
    assert by_event["flagged"]["at"] == "2026-12-03T19:00:00+00:00"
    assert by_event["flagged"]["local"] == "Thu 03 Dec 11:00 PST"
    assert by_event["ats_tag"]["text"] == "tag 'Scheduling: needs recruiter' added in the ATS (flag tag)"
    assert by_event["alert"]["text"].startswith("recruiter dana.whitfield@mercyvalley.example alerted: ")


def test_history_reads_in_the_policy_zone(tmp_path: Path) -> None:
    h = Harness(tmp_path, config_changes={"policy": {"timezone": "America/Chicago"}})
    try:
        _story(h)
        story = load_history(h.ctx.db, h.settings, ZOE)
        assert story.zone == "America/Chicago"
        assert story.entries[0].local == "Mon 30 Nov 10:06 CST"
        assert story.entries[0].at.isoformat() == "2026-11-30T16:06:00+00:00"
    finally:
        h.close()


def test_history_of_a_purged_invitation_shows_what_remains(harness: Harness) -> None:
    h = harness
    _story(h)
    result = purge(h.ctx.db, older_than_days=0, now=h.at(76), dry_run=False)
    assert result.invitations == 1  # Siobhán's flagged invitation; Zoë's is still open
    outcome = cli(h, "history", SIOBHAN)
    assert outcome.exit_code == 0, outcome.output
    assert SIOBHAN_EMAIL not in outcome.stdout and "Siobhán" not in outcome.stdout
    lines = outcome.stdout.splitlines()
    assert lines[0] == f"(name removed by purge) — Respiratory Therapist (application {SIOBHAN})"
    assert "Mon 30 Nov 08:06 PST  email sent (details removed by purge)" in lines
    assert "Mon 30 Nov 08:06 PST  moved to interview stage 'First Interview' in the ATS" in lines
    assert "Thu 03 Dec 11:00 PST  flagged for recruiter review: no booking after the invite and the " \
           "follow-up" in lines
    assert lines[-1].startswith("Thu 03 Dec 12:00 PST  personal data removed (")
    status = cli(h, "status", SIOBHAN)
    assert "(name removed by purge)\tRespiratory Therapist" in status.stdout


def test_history_of_an_unknown_application_is_a_usage_error(harness: Harness) -> None:
    h = harness
    h.poll()
    result = cli(h, "history", "99999")
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1
    assert "application '99999' has no invitation" in result.stderr and "interview-sync status" in result.stderr


def test_history_tells_an_event_newer_than_this_code(harness: Harness) -> None:
    h = harness
    _story(h)
    inv = h.invitation(SIOBHAN)
    h.ctx.db.audit("whatsapp_sent", at=h.at(80), ref=inv.ref, application_id=inv.application_id,
                   candidate_id=inv.candidate_id, channel="whatsapp", recipient="+15555550123", detail="reminder",
                   actor="user:dana")
    last = load_history(h.ctx.db, h.settings, SIOBHAN).entries[-1]
    assert (last.local, last.text) == ("Thu 03 Dec 16:00 PST",
                                       "whatsapp sent: reminder (+15555550123) (by user:dana)")


def test_status_names_the_candidate_and_the_job(harness: Harness) -> None:
    h = harness
    _story(h)
    result = cli(h, "status")
    assert result.exit_code == 0, result.output
    header, *rows = result.stdout.splitlines()
    assert header.split("\t")[:5] == ["application", "candidate", "job", "stage", "state"]
    cells = {row.split("\t")[0]: row.split("\t") for row in rows}
    assert cells[ZOE][1:5] == [ZOE_NAME, ZOE_JOB, "Phone Screen", "followed_up"]
    assert cells[SIOBHAN][1:5] == ["Siobhán Ní Bhriain", "Respiratory Therapist", "First Interview", "flagged"]


def test_readme_documents_history() -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    assert "### `interview-sync history`" in readme  # the generated reference
    assert "**One candidate's story** (`history APPLICATION_ID`" in readme  # and the prose
