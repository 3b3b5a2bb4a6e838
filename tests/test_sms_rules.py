"""Pure rules of issue 14: opt-out words, quiet hours across DST, the texting verdict,
GSM-7 segments of every shipped text, locale choice and Spanish dates."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from interview_sync import locale as loc
from interview_sync.config import parse_quiet_hours
from interview_sync.mail.render import SMS_KINDS, TemplateRenderer
from interview_sync.sms import consent
from interview_sync.sms.phone import is_landline, to_e164
from interview_sync.sms.text import gsm_fold, is_gsm7, segments

WINDOW = parse_quiet_hours("08:00-21:00")
LA = "America/Los_Angeles"


@pytest.mark.parametrize("text", ["STOP", "stop", " Stop. ", "STOPALL", "unsubscribe", "Cancel", "END", "quit",
                                  "para", "PARA", "Baja", "no more texts", "Please stop texting me!",
                                  "No más mensajes por favor", "don't text me again", "remove me from this list"])
def test_opt_out_words(text: str) -> None:
    assert consent.classify(text) == consent.STOP


@pytest.mark.parametrize("text", ["yes", "Sí", "ok thanks", "Can I come at 3?", "cancel my interview",
                                  "I can't make Tuesday", "start time?", "para cuándo es?"])
def test_other_words_are_for_a_person(text: str) -> None:
    assert consent.classify(text) == consent.OTHER


def test_only_start_opts_back_in() -> None:
    assert consent.classify("START") == consent.classify(" start ") == consent.START
    assert consent.classify("unstop") == consent.classify("YES") == consent.OTHER


def test_quiet_hours_end_at_local_eight_across_spring_forward() -> None:
    # Saturday 13 March 2027 22:00 PST; DST starts at 02:00 on the 14th.
    late = datetime(2027, 3, 14, 6, 0, tzinfo=timezone.utc)
    assert consent.quiet_until(late, LA, WINDOW) == datetime(2027, 3, 14, 15, 0, tzinfo=timezone.utc)
    # and across fall back: Saturday 31 Oct 2026 23:00 PDT → Sunday 08:00 PST = 16:00 UTC
    autumn = datetime(2026, 11, 1, 6, 0, tzinfo=timezone.utc)
    assert consent.quiet_until(autumn, LA, WINDOW) == datetime(2026, 11, 1, 16, 0, tzinfo=timezone.utc)
    early = datetime(2026, 11, 30, 15, 59, tzinfo=timezone.utc)  # 07:59 PST: opens the same morning
    assert consent.quiet_until(early, LA, WINDOW) == datetime(2026, 11, 30, 16, 0, tzinfo=timezone.utc)
    assert consent.quiet_until(datetime(2026, 11, 30, 16, 0, tzinfo=timezone.utc), LA, WINDOW) is None


def test_verdict_order() -> None:
    now = datetime(2026, 11, 30, 18, 0, tzinfo=timezone.utc)  # 10:00 PST
    args = dict(in_stage=True, sent=0, limit=4, now=now, zone=LA, window=WINDOW)
    assert consent.may_text(consent=consent.GRANTED, **args).allowed
    assert consent.may_text(consent=None, **args).reason == "no consent on record"
    assert consent.may_text(consent=consent.REVOKED, **args).reason == "opted out"
    assert not consent.may_text(consent=consent.GRANTED, **{**args, "in_stage": False}).allowed
    assert "4 texts" in consent.may_text(consent=consent.GRANTED, **{**args, "sent": 4}).reason
    night = consent.may_text(consent=consent.GRANTED, **{**args, "now": now.replace(hour=6)})
    assert not night.allowed and night.not_before == datetime(2026, 11, 30, 16, 0, tzinfo=timezone.utc)


def test_quiet_hours_config_is_checked() -> None:
    assert parse_quiet_hours("09:30-20:00") == (570, 1200)
    for bad in ("9-5", "21:00-08:00", "08:00-25:00"):
        with pytest.raises(ValueError):
            parse_quiet_hours(bad)


def test_segments_count_gsm7_and_ucs2() -> None:
    assert segments("a" * 160) == 1 and segments("a" * 161) == 2 and segments("a" * 306) == 2
    assert segments("€" * 80) == 1 and segments("€" * 81) == 2  # extension characters cost two
    assert segments("á" * 70) == 1 and segments("á" * 71) == 2  # UCS-2
    assert is_gsm7(gsm_fold("Mañana: ¿está bien? Sí, aquí “ok” – adiós"))


CONTEXT = {"org_name": "Mercy Valley Health", "candidate_first_name": "José", "job_name": "Certified Nursing Assistant",
           "link": "https://calendly.com/d/cq4m-9hd-v3s", "updated": False}


@pytest.mark.parametrize("language", loc.SUPPORTED)
@pytest.mark.parametrize("kind", SMS_KINDS)
def test_every_shipped_text_is_gsm7_and_short(kind: str, language: str) -> None:
    when = datetime(2026, 12, 2, 16, 6, tzinfo=timezone.utc)
    context = CONTEXT | {"deadline_short": loc.format_short(when, LA, language),
                         "start_short": loc.format_short(when, LA, language)}
    body = gsm_fold(TemplateRenderer().render_sms(kind, context, "default", language))
    assert is_gsm7(body), body
    has_link = CONTEXT["link"] in body
    limit = 2 if has_link and language == "es" else 1
    assert segments(body) <= limit, (len(body), body)
    assert ("STOP" in body) or kind == "opt_out"


def test_locale_choice() -> None:
    assert loc.pick_locale({"preferred_language": "Español"}, "custom.preferred_language", None, "en") == "es"
    assert loc.pick_locale({"Preferred_Language": "es-MX"}, "custom.preferred_language", "en", "en") == "es"
    assert loc.pick_locale({"preferred_language": "Klingon"}, "custom.preferred_language", "es", "en") == "es"
    assert loc.pick_locale({}, "custom.preferred_language", None, "es") == "es"
    assert loc.pick_locale({"preferred_language": "English"}, "custom.preferred_language", "es", "es") == "en"


def test_spanish_dates_and_english_unchanged() -> None:
    at = datetime(2026, 12, 1, 17, 0, tzinfo=timezone.utc)
    assert loc.format_local(at, LA, "es") == "martes 1 de diciembre de 2026, 9:00 a.m. PST (America/Los_Angeles)"
    assert loc.format_local(at, LA) == "Tuesday, December 1, 2026 at 9:00 AM PST (America/Los_Angeles)"
    assert loc.format_short(at, LA, "es") == "mar 1 dic, 9:00 a.m. PST"


def test_numbers_in_e164() -> None:
    assert to_e164("(916) 555-0142") == "+19165550142"
    assert to_e164("+44 20 7946 0958") == "+442079460958"
    assert to_e164("call me maybe") is None and to_e164("") is None and to_e164("12") is None
    assert is_landline("+442079460958") and not is_landline("+19165550142")


def test_booking_form_answers_are_read_from_both_schedulers() -> None:
    from interview_sync.scheduler import calcom, calendly

    cal = calcom._booking({"uid": "b1", "status": "accepted", "start": "2026-12-03T16:00:00Z",
                           "end": "2026-12-03T16:30:00Z", "attendees": [{"email": "a@x.org", "name": "A"}],
                           "bookingFieldsResponses": {"smsConsent": True, "notes": "hi", "guests": []}},
                          "https://cal.com")
    assert dict(cal.form_answers) == {"smsConsent": "True", "notes": "hi"}
    event = {"uri": "https://api.calendly.com/scheduled_events/E1", "start_time": "2026-12-03T16:00:00Z",
             "end_time": "2026-12-03T16:30:00Z", "status": "active", "location": {}}
    invitee = {"uri": "https://api.calendly.com/scheduled_events/E1/invitees/I1", "email": "a@x.org", "name": "A",
               "status": "active", "questions_and_answers": [
                   {"question": "May we text you about this interview?", "answer": "Yes", "position": 0}]}
    assert calendly._booking(event, invitee).form_answers == (("May we text you about this interview?", "Yes"),)


def test_doctor_renders_spanish_and_text_templates_when_configured(tmp_path: Path) -> None:
    from interview_sync.clock import FixedClock
    from interview_sync.config import Settings
    from interview_sync.doctor import Doctor

    plain = Settings.model_validate({"state": {"path": str(tmp_path / "s.db")}})
    assert not [c for c in Doctor(plain, clock=FixedClock(datetime(2026, 11, 30, tzinfo=timezone.utc))).templates()
                if c.name.startswith("text and Spanish")]
    broken = tmp_path / "templates" / "default" / "es" / "sms"
    broken.mkdir(parents=True)
    (broken / "invite.txt.j2").write_text("{{ link ", encoding="utf-8")
    spanish = Settings.model_validate({"state": {"path": str(tmp_path / "s.db")}, "locale": {"default": "es"},
                                       "email": {"template_dir": str(tmp_path / "templates")}})
    [check] = [c for c in Doctor(spanish, clock=FixedClock(datetime(2026, 11, 30, tzinfo=timezone.utc))).templates()
               if c.name.startswith("text and Spanish")]
    assert not check.ok and "default/es/sms/invite.txt.j2" in check.detail and check.detail.startswith("1 fail")
