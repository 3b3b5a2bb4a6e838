"""Issue 11: every time a person reads is in their own zone, and says which zone it is.

Unit tests of the pure rules (which zone, how it is written, DST) and one end
to end run per scheduler where the office, the candidate and the hiring manager
are in three different zones, none of them ``policy.timezone``.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from harness import Harness

from interview_sync.config import load_settings
from interview_sync.errors import ConfigError
from interview_sync.zones import (candidate_zone, fallback_zone, format_local, format_range, known_zone,
                                  manager_zone, office_zone)

UTC = timezone.utc
OFFICES = {"Sacramento": "America/Denver", "Folsom ": "America/Phoenix"}


# --- which zone -------------------------------------------------------------------------

@pytest.mark.parametrize("value", ["Mars/Olympus", "", "   ", None, 42, "../../etc/passwd", "UTC" * 40,
                                   "America/Los_Angeles\x00"])
def test_unknown_zone_text_from_a_vendor_is_ignored(value: Any) -> None:
    assert known_zone(value) is None


def test_known_zone_is_kept_stripped() -> None:
    assert known_zone(" America/Anchorage ") == "America/Anchorage"


def test_candidate_zone_prefers_the_booking_then_the_office_then_the_policy() -> None:
    assert candidate_zone("America/Anchorage", "Sacramento", OFFICES, "America/Chicago") == "America/Anchorage"
    assert candidate_zone(None, "Sacramento", OFFICES, "America/Chicago") == "America/Denver"
    assert candidate_zone(None, "sacramento ", OFFICES, "America/Chicago") == "America/Denver"  # typed by hand
    assert candidate_zone(None, "folsom", OFFICES, "America/Chicago") == "America/Phoenix"
    assert candidate_zone(None, "Roseville", OFFICES, "America/Chicago") == "America/Chicago"
    assert candidate_zone(None, None, {}, "America/Chicago") == "America/Chicago"
    # a zone the scheduler got wrong does not break anything: the next rule applies
    assert candidate_zone("Pacific/Nowhere", "Sacramento", OFFICES, "America/Chicago") == "America/Denver"


def test_manager_zone_prefers_the_scheduler_account_then_the_same_fallback() -> None:
    assert manager_zone("America/New_York", "Sacramento", OFFICES, "America/Chicago") == "America/New_York"
    assert manager_zone(None, "Sacramento", OFFICES, "America/Chicago") == "America/Denver"
    assert manager_zone("not a zone", None, OFFICES, "America/Chicago") == "America/Chicago"
    assert fallback_zone("Sacramento", OFFICES, "UTC") == "America/Denver"
    assert office_zone("Nowhere", OFFICES) is None


# --- how a time is written ---------------------------------------------------------------

def test_every_rendered_time_names_abbreviation_and_iana_zone() -> None:
    moment = datetime(2026, 12, 1, 17, 0, tzinfo=UTC)
    assert format_local(moment, "America/Los_Angeles") == \
        "Tuesday, December 1, 2026 at 9:00 AM PST (America/Los_Angeles)"
    assert format_local(moment, "America/Chicago") == "Tuesday, December 1, 2026 at 11:00 AM CST (America/Chicago)"
    assert format_range(moment, moment + timedelta(minutes=30), "America/Los_Angeles") == \
        "Tuesday, December 1, 2026 at 9:00 AM PST – 9:30 AM PST (America/Los_Angeles)"


def test_same_instant_either_side_of_the_dst_change() -> None:
    # US DST ends 2026-11-01 at 02:00 local: 16:00 UTC is 9:00 PDT the day before, 8:00 PST the day after
    before = datetime(2026, 10, 31, 16, 0, tzinfo=UTC)
    after = datetime(2026, 11, 2, 16, 0, tzinfo=UTC)
    assert format_local(before, "America/Los_Angeles") == \
        "Saturday, October 31, 2026 at 9:00 AM PDT (America/Los_Angeles)"
    assert format_local(after, "America/Los_Angeles") == \
        "Monday, November 2, 2026 at 8:00 AM PST (America/Los_Angeles)"
    # Europe changes a week earlier: on 2026-10-26 London is already on GMT
    assert format_local(datetime(2026, 10, 26, 9, 0, tzinfo=UTC), "Europe/London") == \
        "Monday, October 26, 2026 at 9:00 AM GMT (Europe/London)"


def test_range_across_the_dst_change_names_both_abbreviations() -> None:
    start = datetime(2026, 11, 1, 8, 30, tzinfo=UTC)  # 1:30 AM PDT, the first 1:30 of the night
    assert format_range(start, start + timedelta(hours=1), "America/Los_Angeles") == \
        "Sunday, November 1, 2026 at 1:30 AM PDT – 1:30 AM PST (America/Los_Angeles)"


def test_range_past_midnight_names_the_end_date() -> None:
    start = datetime(2026, 12, 2, 7, 30, tzinfo=UTC)  # 11:30 PM PST on the 1st
    assert format_range(start, start + timedelta(hours=1), "America/Los_Angeles") == \
        "Tuesday, December 1, 2026 at 11:30 PM PST – Wednesday, December 2, 2026 at 12:30 AM PST " \
        "(America/Los_Angeles)"


# --- [offices] --------------------------------------------------------------------------

def test_offices_table_is_validated_at_load(tmp_path: Path) -> None:
    path = tmp_path / "interview-sync.toml"
    path.write_text('[offices]\n"Sacramento" = "America/Los_Angeles"\n"Reno" = "America/Renoo"\n')
    with pytest.raises(ConfigError) as err:
        load_settings(path)
    line = str(err.value)
    assert "\n" not in line and "offices" in line and "'Reno'" in line and "America/Renoo" in line
    assert "IANA" in line
    path.write_text('[offices]\n"Sacramento" = "America/Los_Angeles"\n')
    assert load_settings(path).offices == {"Sacramento": "America/Los_Angeles"}


# --- end to end: three readers, three zones ----------------------------------------------

ZOE, ZOE_EMAIL = "17001", "zoe+nurse@example.org"
MARIA = "maria.delgado@mercyvalley.example"
SLOT = datetime(2026, 12, 3, 18, 0, tzinfo=UTC)  # Thursday 10:00 PST, a free slot on Maria's grid
SLOT_HOURS = 74.0


def _text(message: Any) -> str:
    return str(message.get_body(preferencelist=("plain",)).get_content())


def _set_booked_zone(h: Harness, zone: str, phone: str) -> None:
    """What the candidate chose on the booking page: their zone and a number to call."""
    if h.scheduler == "calendly":
        for invitee in h.world.data["calendly"]["invitees"].values():
            if invitee["email"] == ZOE_EMAIL:
                invitee["timezone"], invitee["text_reminder_number"] = zone, phone
    else:
        for booking in h.world.data["calcom"]["bookings"].values():
            if booking["email"] == ZOE_EMAIL:
                booking["timeZone"], booking["phoneNumber"] = zone, phone


@pytest.fixture(params=["calendly", "calcom"])
def zoned(tmp_path: Path, request: pytest.FixtureRequest) -> Any:
    # the policy says Chicago, Zoe's job sits in the Sacramento office (Denver here, to tell it
    # apart), Zoe books from Anchorage, and Maria's scheduler account is in Los Angeles
    h = Harness(tmp_path, config_changes={"policy": {"timezone": "America/Chicago"},
                                          "offices": {"Sacramento": "America/Denver"}},
                scheduler=request.param)
    h.poll()
    yield h
    h.close()


def test_each_reader_gets_their_own_zone_from_invite_to_cancellation(zoned: Harness) -> None:
    h = zoned
    h.at(0.1)
    h.sandbox.move(ZOE, "Phone Screen")
    assert h.poll().alerts == 0
    invite = _text(h.emails_to(ZOE_EMAIL, "invite")[0])
    # before a booking: the office's zone (deadline = 0.1 h + 48 h = Wed 16:06 UTC = 9:06 MST)
    assert "Wednesday, December 2, 2026 at 9:06 AM MST (America/Denver)" in invite

    h.at(3)
    h.sandbox.book(ZOE, at=SLOT)
    _set_booked_zone(h, "America/Anchorage", "+1 907 555 0199")
    assert h.poll().alerts == 0
    inv = h.invitation(ZOE)
    assert inv.candidate_timezone == "America/Anchorage" and inv.hm_timezone == "America/Los_Angeles"
    confirmation = _text(h.emails_to(ZOE_EMAIL, "confirmation")[0])
    assert "Thursday, December 3, 2026 at 9:00 AM AKST – 9:30 AM AKST (America/Anchorage)" in confirmation
    assert "PST" not in confirmation and "CST" not in confirmation
    hm_booking = h.emails_to(MARIA, "hm_booking")[0]
    hm_text = _text(hm_booking)
    assert "Thursday, December 3, 2026 at 10:00 AM PST – 10:30 AM PST (America/Los_Angeles)" in hm_text
    assert "AKST" not in hm_text
    assert "Candidate's phone: +1 907 555 0199" in hm_text  # from the booking, not the ATS
    ics = next(p for p in hm_booking.walk() if p.get_content_type() == "text/calendar").get_content()
    ics = ics.replace("\r\n ", "")  # unfold
    assert "DTSTART:20261203T180000Z" in ics  # the calendar itself carries UTC
    assert "10:00 AM PST – 10:30 AM PST (America/Los_Angeles)" in ics
    # the ATS note is for recruiters: the office's zone
    assert any("Thursday, December 3, 2026 at 11:00 AM MST (America/Denver)" in n
               for n in h.ats_record(ZOE)["notes"])

    # reminders days later keep each reader's zone (persisted on the invitation)
    h.at(SLOT_HOURS - 23.9)
    h.poll()
    assert "Thursday, December 3, 2026 at 9:00 AM AKST" in _text(h.emails_to(ZOE_EMAIL, "reminder_candidate")[0])
    assert "at 10:00 AM PST – 10:30 AM PST (America/Los_Angeles)" in _text(h.emails_to(MARIA, "reminder_hm")[0])

    # a cancellation: the manager's notice in their zone, the candidate's new deadline in theirs
    h.at(SLOT_HOURS - 20)
    h.sandbox.cancel(ZOE)
    h.poll()
    assert "Thursday, December 3, 2026 at 10:00 AM PST (America/Los_Angeles)" in \
        _text(h.emails_to(MARIA, "hm_cancel")[0])
    relink = _text(h.emails_to(ZOE_EMAIL, "relink")[0])
    # the new deadline, 54 h + 48 h after the start (Friday 22:00 UTC), in the zone Zoe booked in
    assert "Friday, December 4, 2026 at 1:00 PM AKST (America/Anchorage)" in relink


def test_an_unknown_zone_from_the_scheduler_does_not_break_the_poll(zoned: Harness) -> None:
    h = zoned
    report = h.invite_and_book(ZOE, SLOT,
                               before_poll=lambda: _set_booked_zone(h, "Mars/Olympus_Mons", "+1 907 555 0199"))
    assert report.alerts == 0 and not report.errors
    inv = h.invitation(ZOE)
    assert inv.candidate_timezone is None
    # falls back to the office's zone
    assert "(America/Denver)" in _text(h.emails_to(ZOE_EMAIL, "confirmation")[0])


def test_booked_before_the_dst_change_for_a_time_after_it(tmp_path: Path) -> None:
    # Thursday 29 October 2026, 9:00 PDT; US clocks go back on Sunday 1 November
    h = Harness(tmp_path, start=datetime(2026, 10, 29, 16, 0, tzinfo=UTC))
    try:
        h.poll()
        slot = datetime(2026, 11, 2, 18, 0, tzinfo=UTC)  # Monday 10:00 PST (it would be 11:00 PDT)
        assert h.invite_and_book(ZOE, slot).alerts == 0
        invite = _text(h.emails_to(ZOE_EMAIL, "invite")[0])
        assert "Saturday, October 31, 2026 at 9:06 AM PDT (America/Los_Angeles)" in invite  # deadline, still PDT
        confirmation = _text(h.emails_to(ZOE_EMAIL, "confirmation")[0])
        assert "Monday, November 2, 2026 at 10:00 AM PST – 10:30 AM PST (America/Los_Angeles)" in confirmation
        h.at(98 - 23.9)  # inside the reminder window (the interview is 98 h after the start)
        h.poll()
        assert "Monday, November 2, 2026 at 10:00 AM PST" in _text(h.emails_to(MARIA, "reminder_hm")[0])
    finally:
        h.close()
