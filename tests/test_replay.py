"""`poll --record` then `replay`: the replay reproduces the live run's actions."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from harness import START, Harness

from interview_sync.errors import VendorError
from interview_sync.models import Application
from interview_sync.record import Replaying, attach_recorder, encode, replay
from interview_sync.state import StateDB


def _actions(reports) -> list[tuple[str, str, str, str]]:  # type: ignore[no-untyped-def]
    reports = [getattr(r, "report", r) for r in reports]  # ReplayedPoll wraps a RunReport
    return [(o.application_id, o.action, o.result, o.recipient or "") for r in reports for o in r.outcomes]


def _recorded_poll(h: Harness, recording: Path, raw: bool = False):  # type: ignore[no-untyped-def]
    """One live poll with the recorder attached, then the harness's own adapters and clock back."""
    real_ats, real_scheduler = h.ctx.ats, h.ctx.scheduler
    try:
        with recording.open("a", encoding="utf-8") as out:
            attach_recorder(h.ctx, out, raw=raw)
            return h.poll()
    finally:
        h.ctx.ats, h.ctx.scheduler, h.ctx.clock = real_ats, real_scheduler, h.clock


def _live_run(h: Harness, recording: Path) -> list:  # type: ignore[type-arg]
    reports = []

    def poll() -> None:
        reports.append(_recorded_poll(h, recording))

    h.at(0)
    poll()
    h.sandbox.move("17001", "Phone Screen")
    h.sandbox.move("17003", "First Interview")
    h.sandbox.move("17006", "Phone Screen")  # no hiring manager: an alert
    h.at(0.5)
    poll()
    h.sandbox.book("17001", at=h.start + timedelta(days=2, hours=1))
    h.at(5)
    poll()
    h.at(49)
    poll()  # follow-up for 17003, reminder window for 17001
    h.at(75)
    poll()  # flag 17003
    return reports


def test_replay_reproduces_the_live_actions(harness: Harness, tmp_path: Path) -> None:
    recording = tmp_path / "stream.jsonl"
    live = _live_run(harness, recording)
    live_actions = _actions(live)
    kinds = {a[1] for a in live_actions}
    assert {"invite", "confirmation", "hm_booking", "followup", "recruiter_alert"} <= kinds

    replayed = replay(harness.settings, recording, workdir=tmp_path / "replay")
    # pseudonymised addresses differ from the live ones; compare everything else, and the mapping
    assert [(a, k, r) for a, k, r, _ in _actions(replayed)] == [(a, k, r) for a, k, r, _ in live_actions]
    assert len(replayed) == 5


def test_recording_pseudonymises_personal_fields(harness: Harness, tmp_path: Path) -> None:
    recording = tmp_path / "stream.jsonl"
    _live_run(harness, recording)
    text = recording.read_text(encoding="utf-8")
    assert "zoe+nurse@example.org" not in text
    assert "Zoë" not in text and "Nguyễn" not in text
    assert all(json.loads(line)["kind"] in ("poll", "call") for line in text.splitlines())


def test_raw_recording_replays_with_the_same_recipients(harness: Harness, tmp_path: Path) -> None:
    recording = tmp_path / "raw.jsonl"
    harness.at(0)
    reports = [_recorded_poll(harness, recording, raw=True)]
    harness.sandbox.move("17001", "Phone Screen")
    harness.at(1)
    reports.append(_recorded_poll(harness, recording, raw=True))
    replayed = replay(harness.settings, recording, workdir=tmp_path / "replay")
    assert _actions(replayed) == _actions(reports)
    assert ("17001", "invite", "sent", "zoe+nurse@example.org") in _actions(replayed)


def test_cli_poll_record_then_replay(harness: Harness, tmp_path: Path) -> None:
    from interview_sync.clock import iso

    stream = tmp_path / "cli.jsonl"
    first = harness.cli("poll", "--now", iso(harness.at(0)), "--record", str(stream))
    assert first.exit_code == 0, first.output
    harness.sandbox.move("17002", "Phone Screen")
    second = harness.cli("poll", "--now", iso(harness.at(1)), "--record", str(stream))
    assert second.exit_code == 0, second.output
    assert "invite" in second.output
    result = harness.cli("replay", str(stream))
    assert result.exit_code == 0, result.output
    assert "17002\tinvite\twould send" in result.stdout
    assert "nothing was sent" in result.stderr
    missing = harness.cli("replay", str(tmp_path / "nope.jsonl"))
    assert missing.exit_code == 2 and "poll --record" in missing.output


def test_replay_into_a_copy_of_the_live_state_with_a_sub_second_clock(tmp_path: Path) -> None:
    """The README's way: copy the state as the recording begins, record, replay into the copy.
    A live clock has microseconds; the replay must compute the same deadlines and ATS notes."""
    import shutil

    h = Harness(tmp_path, start=START + timedelta(microseconds=250_000))
    try:
        recording = tmp_path / "stream.jsonl"
        h.at(0)
        h.poll()  # the baseline, before the recording begins
        h.ctx.db.checkpoint()
        copy = tmp_path / "copy.db"
        shutil.copy(h.settings.state.path, copy)
        live = []
        h.sandbox.move("17001", "Phone Screen")
        h.sandbox.move("17003", "First Interview")
        h.at(0.5)
        live.append(_recorded_poll(h, recording))
        h.at(49)
        live.append(_recorded_poll(h, recording))
        h.at(75)
        live.append(_recorded_poll(h, recording))  # flag 17003: a tag and a note
        replayed = replay(h.settings, recording, state_db=copy, workdir=tmp_path / "replay")
        assert [p.report.errors for p in replayed] == [[], [], []]
        assert [(a, k, r) for a, k, r, _ in _actions(replayed)] == [(a, k, r) for a, k, r, _ in _actions(live)]
        db = StateDB.open(copy, readonly=True)
        try:
            again = {i.ref: i for i in db.invitations()}
        finally:
            db.close()
        for inv in h.ctx.db.invitations():
            assert again[inv.ref].deadline_at == inv.deadline_at
            assert again[inv.ref].state == inv.state
    finally:
        h.close()


def test_replay_needs_no_recorded_answer_for_writes_it_does_not_perform() -> None:
    app = Application(id="17001", candidate_id="9001", job_id="301", stage_id="5", stage_name="Phone Screen",
                      status="in_process", updated_at=START)
    refused = {"kind": "call", "side": "ats", "method": "add_tag", "args": encode([app, "needs-review"], raw=True),
               "answer": None, "error": "POST /applied_candidate_tags failed (422)"}
    ats = Replaying("ats", "greenhouse", [refused])
    # a note whose text matches nothing recorded (another link, another instant): answered, never applied
    assert ats.add_note(app, "[interview-sync] Interview booking link sent.\nBook by: 2026-12-02T16:00:00.5") is None
    # a recorded refusal of a write is replayed, so the replay takes the live run's path
    with pytest.raises(VendorError, match="422"):
        ats.add_tag(app, "needs-review")
    # reads still come only from the recording: a diverged read is reported, not invented
    with pytest.raises(VendorError, match="no recorded answer for get_candidate"):
        ats.get_candidate("9001")
