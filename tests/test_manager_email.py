"""Issue 11: the hiring manager's booking email and .ics carry what the brief asks for.

Candidate name, role, the candidate's phone for phone screens (booking answer,
else the ATS), a link to the application in the ATS, and only the application
notes the recruiter chose in ``[manager_notes]``.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from harness import Harness

from interview_sync.ats.greenhouse import GreenhouseATS
from interview_sync.ats.lever import LeverATS
from interview_sync.clock import FixedClock
from interview_sync.config import load_settings
from interview_sync.context import build_ats
from interview_sync.errors import ConfigError
from interview_sync.http import VendorSession
from interview_sync.manager_notes import MAX_VALUE, note_lines, phone_text
from interview_sync.models import Application

UTC = timezone.utc
T0 = datetime(2026, 11, 30, 16, 0, tzinfo=UTC)
ZOE, ZOE_EMAIL, ZOE_PHONE = "17001", "zoe+nurse@example.org", "+1 916 555 0101"
KWAME_HM = "james.oconnor@mercyvalley.example"  # job 104: a leadership (video) route
MARIA = "maria.delgado@mercyvalley.example"
SLOT = datetime(2026, 12, 3, 18, 0, tzinfo=UTC)


def _app(**kw: Any) -> Application:
    base: dict[str, Any] = dict(id="17001", candidate_id="7001", job_id="101", stage_id="1", stage_name="Phone Screen",
                                status="in_process", updated_at=T0)
    return Application(**(base | kw))


# --- which notes ---------------------------------------------------------------------------

def test_only_the_chosen_fields_in_the_chosen_order() -> None:
    app = _app(custom={"preferred_shift": "Nights", "salary_expectation": "private"}, source="Referral")
    lines = note_lines(["custom.preferred_shift", "source", "stage"], app=app, stage_name="Phone Screen",
                       stage_changed_at=T0, department="Nursing", office="Sacramento", seen_stages=[],
                       zone="America/Los_Angeles")
    assert lines == ["Preferred shift: Nights", "Source: Referral",
                     "Stage: Phone Screen since Monday, November 30, 2026 at 8:00 AM PST (America/Los_Angeles)"]
    assert not any("private" in line or "Nursing" in line for line in lines)  # not chosen: not shown
    assert note_lines([], app=app, stage_name="Phone Screen", stage_changed_at=T0, department="Nursing",
                      office=None, seen_stages=[], zone="UTC") == []


def test_missing_values_are_skipped_and_long_ones_clipped() -> None:
    app = _app(custom={"notes": "x" * 1000 + "\n\ninjected"})
    lines = note_lines(["custom.preferred_shift", "source", "custom.notes", "department", "office"], app=app,
                       stage_name=None, stage_changed_at=None, department=None, office="Folsom", seen_stages=[],
                       zone="UTC")
    assert lines[0].startswith("Notes: xxx") and len(lines[0]) <= len("Notes: ") + MAX_VALUE
    assert "\n" not in lines[0]
    assert lines[1:] == ["Office: Folsom"]


def test_phone_numbers_from_outside_become_one_short_line() -> None:
    assert phone_text("+1 (916)\r\n555-0101\x00") == "+1 (916) 555-0101"
    assert phone_text("9" * 200) == "9" * 40
    assert phone_text("  \n ") is None and phone_text(None) is None


def test_stage_history_is_what_interview_sync_saw_oldest_first() -> None:
    seen = [("Phone Screen", datetime(2026, 11, 20, 17, 0, tzinfo=UTC)), ("First Interview", T0)]
    lines = note_lines(["stage_history"], app=_app(), stage_name="First Interview", stage_changed_at=T0,
                       department=None, office=None, seen_stages=seen, zone="America/Los_Angeles")
    assert lines == ["Stage history: Phone Screen, entered Friday, November 20, 2026 at 9:00 AM PST "
                     "(America/Los_Angeles)",
                     "Stage history: First Interview, entered Monday, November 30, 2026 at 8:00 AM PST "
                     "(America/Los_Angeles)"]


def test_manager_notes_setting_is_validated(tmp_path: Path) -> None:
    path = tmp_path / "interview-sync.toml"
    path.write_text('[manager_notes]\nfields = ["stage", "salary"]\n')
    with pytest.raises(ConfigError) as err:
        load_settings(path)
    assert "manager_notes.fields" in str(err.value) and "'salary'" in str(err.value)
    assert "custom.<field>" in str(err.value)
    path.write_text('[manager_notes]\nfields = ["custom.preferred_shift", "source", "stage_history"]\n')
    assert load_settings(path).manager_notes.fields == ["custom.preferred_shift", "source", "stage_history"]
    path.write_text("")
    assert load_settings(path).manager_notes.fields == ["stage"]  # the default: nothing personal


# --- the ATS link ------------------------------------------------------------------------

def _greenhouse(base: str = "https://harvest.greenhouse.io/v3") -> GreenhouseATS:
    return GreenhouseATS(base_url=base, token_url="https://auth.greenhouse.io/token", client_id="c",
                         client_secret="s", user_id="1", session=VendorSession("greenhouse"),
                         clock=FixedClock(T0))


def _lever(base: str = "https://api.lever.co/v1") -> LeverATS:
    return LeverATS(base_url=base, api_key="k", perform_as="u", session=VendorSession("lever"), clock=FixedClock(T0))


def test_application_url_follows_each_vendors_documented_form() -> None:
    assert _greenhouse().application_url("17001", "7001") == \
        "https://app.greenhouse.io/people/7001?application_id=17001"
    assert _lever().application_url("0a0a0000-0000-4000-a000-000000017001", "c1") == \
        "https://hire.lever.co/candidates/0a0a0000-0000-4000-a000-000000017001"
    # ids are vendor data: they cannot steer the link elsewhere
    assert _greenhouse().application_url("1&x=y", "../../evil") == \
        "https://app.greenhouse.io/people/..%2F..%2Fevil?application_id=1%26x%3Dy"
    # a sandbox on loopback has no recruiter pages: its admin view of the record stands in
    assert _greenhouse("http://127.0.0.1:8765/v3").application_url("17001", "7001") == \
        "http://127.0.0.1:8765/_admin/greenhouse/applications/17001"


def test_ats_web_url_overrides_the_host(tmp_path: Path) -> None:
    path = tmp_path / "interview-sync.toml"
    path.write_text('[ats]\nprovider = "lever"\nbase_url = "https://api.eu.lever.co/v1"\n'
                    'web_url = "https://hire.eu.lever.co"\n')
    settings = load_settings(path)
    ats = build_ats(settings, FixedClock(T0), on_bad_record=lambda bad: None)
    assert ats.application_url("abc", "c", settings.ats.web_url) == "https://hire.eu.lever.co/candidates/abc"
    assert _greenhouse().application_url("1", "2", "https://app.eu.greenhouse.io/") == \
        "https://app.eu.greenhouse.io/people/2?application_id=1"
    path.write_text('[ats]\nweb_url = "http://example.org"\n')
    with pytest.raises(ConfigError, match="ats.web_url"):
        load_settings(path)


# --- end to end --------------------------------------------------------------------------

def _text(message: Any) -> str:
    return str(message.get_body(preferencelist=("plain",)).get_content())


def _description(message: Any) -> str:
    part = next(p for p in message.walk() if p.get_content_type() == "text/calendar")
    ics = part.get_content().replace("\r\n ", "")
    (line,) = [ln for ln in ics.split("\r\n") if ln.startswith("DESCRIPTION:")]
    return line.removeprefix("DESCRIPTION:").replace("\\n", "\n").replace("\\,", ",").replace("\\;", ";")


@pytest.fixture
def noted(tmp_path: Path) -> Any:
    h = Harness(tmp_path, config_changes={"manager_notes": {"fields": ["custom.preferred_shift", "source",
                                                                       "stage_history"]}})
    h.world.data["greenhouse"]["applications"][17001]["custom_fields"] = {"preferred_shift": "Nights",
                                                                           "salary_expectation": "95k"}
    h.poll()
    yield h
    h.close()


def test_phone_screen_booking_email_and_ics_carry_phone_link_and_chosen_notes(noted: Harness) -> None:
    h = noted
    assert h.invite_and_book(ZOE, SLOT).alerts == 0
    message = h.emails_to(MARIA, "hm_booking")[0]
    body = _text(message)
    link = f"{h.server.url}/_admin/greenhouse/applications/17001"
    assert "Zoë O'Brien-Nguyễn" in body and "Registered Nurse – ICU (Nights)" in body
    assert f"Candidate's phone: {ZOE_PHONE}" in body  # no number on the booking: the ATS's
    assert f"Open in the ATS: {link}" in body
    assert "- Preferred shift: Nights" in body
    assert "- Stage history: Phone Screen, entered Monday, November 30, 2026 at 8:06 AM PST" in body
    assert "95k" not in body and "Salary" not in body  # not chosen by the recruiter
    html = message.get_body(preferencelist=("html",)).get_content()
    assert f'href="{link}"' in html and "<li>Preferred shift: Nights</li>" in html
    description = _description(message)
    for needle in ("Candidate: Zoë O'Brien-Nguyễn", "Role: Registered Nurse – ICU (Nights)",
                   f"Candidate's phone: {ZOE_PHONE}", "Preferred shift: Nights",
                   f"Application in the ATS: {link}"):
        assert needle in description, needle
    assert "95k" not in description
    # the candidate's own emails never carry the internal link or notes
    for kind in ("invite", "confirmation"):
        candidate_mail = _text(h.emails_to(ZOE_EMAIL, kind)[0])
        assert "_admin" not in candidate_mail and "Preferred shift" not in candidate_mail
    # the hiring manager's reminder carries them too
    h.at(74 - 23.9)
    h.poll()
    reminder = _text(h.emails_to(MARIA, "reminder_hm")[0])
    assert f"Candidate's phone: {ZOE_PHONE}" in reminder and link in reminder


def test_the_number_given_on_the_booking_wins_over_the_ats(noted: Harness) -> None:
    h = noted

    def answer_on_booking_page() -> None:
        for invitee in h.world.data["calendly"]["invitees"].values():
            invitee["text_reminder_number"] = "+1 530 555 0177"

    h.invite_and_book(ZOE, SLOT, before_poll=answer_on_booking_page)
    body = _text(h.emails_to(MARIA, "hm_booking")[0])
    assert "Candidate's phone: +1 530 555 0177" in body and ZOE_PHONE not in body


def test_video_interviews_do_not_hand_out_the_candidates_phone(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    try:
        h.poll()
        assert h.invite_and_book("17004").alerts == 0  # Kwame, job 104: the leadership video route
        body = _text(h.emails_to(KWAME_HM, "hm_booking")[0])
        assert "+1 916 555 0104" not in body and "Candidate's phone" not in body
        assert h.invitation("17004").candidate_phone is None
        assert "- Stage: Phone Screen since" in body  # the default notes: the stage only
    finally:
        h.close()


def test_lever_source_reaches_the_hiring_manager_when_chosen(tmp_path: Path) -> None:
    h = Harness(tmp_path, ats="lever", config_changes={"manager_notes": {"fields": ["source"]}})
    try:
        h.poll()
        h.invite_and_book(ZOE, SLOT)
        body = _text(h.emails_to(MARIA, "hm_booking")[0])
        assert "- Source: Job site" in body  # the opportunity's `sources`
        assert "Stage:" not in body  # only what was chosen
        assert f"/_admin/lever/opportunities/{h.app_id(ZOE)}" in body
    finally:
        h.close()
