"""Issue 14 acceptance in the sandbox: texts with consent, STOP/START, quiet hours across a
DST change, landline fallback, replies to recruiters, 21610, and Spanish candidates."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from harness import Harness
from interview_sync.config import SmsConfig
from interview_sync.context import build_sms
from interview_sync.sms.text import segments
from interview_sync.starter import SANDBOX_ROUTES

JOSE = "17002"  # Certified Nursing Assistant (phone route), +1 916 555 0102
JOSE_PHONE = "+19165550102"
JOSE_EMAIL = "jose.martinez@example.com"
FATIMA = "17007"  # same job, +1 916 555 0107
FATIMA_PHONE = "+19165550107"
FATIMA_EMAIL = "fatima.alsayed+cna@example.org"
CONSENT_QUESTION = "May we text you about this interview?"
BARE_LINK = "https://calendly.com/d/cq4m-9hd-v3s"  # a Calendly single-use link without prefill


def routes(channels: list[str]) -> list[dict[str, Any]]:
    return [dict(route, channels=channels) for route in SANDBOX_ROUTES]


def texting(tmp: Path, channels: list[str] = ["email", "sms"], **kwargs: Any) -> Harness:
    """A baselined sandbox harness with the Twilio flavour switched on."""
    h = Harness(tmp, config_changes={"routes": routes(channels),
                                     "locale": {"field": "custom.preferred_language"}}, **kwargs)
    h.settings.sms = SmsConfig.model_validate({
        "provider": "sandbox", "base_url": h.server.url, "account_sid": "AC" + "0" * 32,
        "auth_token": "sandbox-token", "from": "+19165550100", "consent_field": "custom.sms_consent",
        "consent_question": CONSENT_QUESTION})
    h.ctx.sms = build_sms(h.settings, sleeper=lambda s: None)
    h.poll()  # baseline
    return h


@pytest.fixture
def h(tmp_path: Path) -> Any:
    harness = texting(tmp_path)
    yield harness
    harness.close()


def texts_to(h: Harness, phone: str) -> list[dict[str, Any]]:
    return [m for m in h.sandbox.texts()["messages"] if m["to"] == phone and m["direction"] != "inbound"]


def consent_row(h: Harness, phone: str) -> dict[str, Any] | None:
    return h.ctx.db.get_consent(phone)


def invite_with_consent(h: Harness, seed: str, language: str | None = None) -> None:
    h.at(0.05)
    h.sandbox.custom_field(seed, "sms_consent", "Yes")
    if language:
        h.sandbox.custom_field(seed, "preferred_language", language)
    h.at(0.1)
    h.sandbox.move(seed, "Phone Screen")
    h.poll()


def test_invite_goes_by_text_and_email_with_consent_recorded(h: Harness) -> None:
    invite_with_consent(h, JOSE)
    assert len(h.emails_to(JOSE_EMAIL, "invite")) == 1
    [text] = texts_to(h, JOSE_PHONE)
    inv = h.invitation(JOSE)
    assert inv.link_url and inv.link_url in text["body"]
    assert "Reply STOP" in text["body"]
    # the wording fits one segment around a bare single-use link; prefill parameters add one
    assert segments(text["body"].replace(inv.link_url, BARE_LINK)) == 1 and segments(text["body"]) <= 3
    row = consent_row(h, JOSE_PHONE)
    assert row and row["state"] == "granted" and row["source"] == "ATS field custom.sms_consent"
    assert "STOP" in row["text_shown"]
    events = [r["event"] for r in h.ctx.db.iter_audit()]
    assert "consent_granted" in events and "sms_sent" in events
    h.at(0.2)
    h.poll()  # delivery status read back on the next poll
    assert [r["status"] for r in h.ctx.db.sms_rows(inv.ref)] == ["delivered"]


def test_no_consent_no_text(h: Harness) -> None:
    h.at(0.1)
    h.sandbox.move(FATIMA, "Phone Screen")
    h.poll()
    assert texts_to(h, FATIMA_PHONE) == []
    assert len(h.emails_to(FATIMA_EMAIL, "invite")) == 1


def test_a_stop_read_in_a_poll_holds_back_that_polls_texts(h: Harness) -> None:
    invite_with_consent(h, JOSE)
    h.at(48.4)
    h.sandbox.text_from(JOSE_PHONE, "stop")
    h.at(48.5)
    h.poll()  # reads the STOP first, then the follow-up is due: email only, nothing tried by text
    assert len(texts_to(h, JOSE_PHONE)) == 1 and len(h.emails_to(JOSE_EMAIL, "followup")) == 1
    assert not [r for r in h.ctx.db.outbox_rows() if r["channel"] == "sms" and r["kind"] == "followup"]


def test_stop_mid_flow_stops_texts_email_continues_start_reopens(h: Harness) -> None:
    invite_with_consent(h, JOSE)
    h.at(1)
    h.sandbox.text_from(JOSE_PHONE, "Stop")
    h.poll()
    assert consent_row(h, JOSE_PHONE)["state"] == "revoked"
    h.at(48.5)
    h.poll()  # the follow-up is due
    assert len(h.emails_to(JOSE_EMAIL, "followup")) == 1
    assert len(texts_to(h, JOSE_PHONE)) == 1  # the invite only: no follow-up text
    h.at(49)
    h.sandbox.text_from(JOSE_PHONE, "START")
    h.poll()
    assert consent_row(h, JOSE_PHONE)["state"] == "granted"
    h.at(50)
    h.sandbox.book(JOSE)
    h.poll()
    bodies = [t["body"] for t in texts_to(h, JOSE_PHONE)]
    assert len(bodies) == 2 and "Booked" in bodies[1]
    events = [r["event"] for r in h.ctx.db.iter_audit()]
    assert events.count("consent_revoked") == 1 and events.count("consent_granted") == 2


def test_plain_words_opt_out_gets_one_confirmation(h: Harness) -> None:
    invite_with_consent(h, JOSE)
    h.at(1)
    h.sandbox.text_from(JOSE_PHONE, "please, no more texts")
    h.poll()
    h.at(1.5)
    h.sandbox.text_from(JOSE_PHONE, "no more texts!!")
    h.poll()
    assert consent_row(h, JOSE_PHONE)["state"] == "revoked"
    bodies = [t["body"] for t in texts_to(h, JOSE_PHONE)]
    assert len(bodies) == 2 and "no more texts" in bodies[1] and "START" in bodies[1]


def test_inbound_question_alerts_the_recruiter_as_plain_text(h: Harness) -> None:
    invite_with_consent(h, JOSE)
    h.at(1)
    h.sandbox.text_from(JOSE_PHONE, "Can I bring my badge? <b>thanks</b>")
    h.poll()
    [alert] = [m for m in h.emails() if m["X-Interview-Sync-Kind"] == "recruiter_alert"]
    text = alert.get_body(("plain",)).get_content()
    html = alert.get_body(("html",)).get_content()
    assert "Can I bring my badge? <b>thanks</b>" in text
    assert "<b>thanks</b>" not in html and "&lt;b&gt;thanks&lt;/b&gt;" in html
    assert consent_row(h, JOSE_PHONE)["state"] == "granted"


def test_21610_from_the_provider_updates_the_ledger(h: Harness) -> None:
    invite_with_consent(h, JOSE)
    h.at(48.4)
    h.sandbox._post("/_admin/twilio/opt-out", {"phone": JOSE_PHONE})  # opted out of this sender elsewhere
    h.at(48.5)
    h.poll()
    row = consent_row(h, JOSE_PHONE)
    assert row["state"] == "revoked" and "21610" in row["source"]
    assert len(h.emails_to(JOSE_EMAIL, "followup")) == 1


def test_landline_falls_back_to_email_on_a_text_only_route(tmp_path: Path) -> None:
    h = texting(tmp_path, channels=["sms"])
    try:
        h.sandbox.landline(JOSE_PHONE)
        invite_with_consent(h, JOSE)
        assert h.emails_to(JOSE_EMAIL, "invite") == []  # text-only route: the text went, no email
        assert len(texts_to(h, JOSE_PHONE)) == 1
        h.at(0.2)
        h.poll()  # the carrier answered 30006
        assert len(h.emails_to(JOSE_EMAIL, "invite")) == 1
        assert h.ctx.db.unusable(JOSE_PHONE) == "30006"
        h.at(48.5)
        h.poll()
        assert len(texts_to(h, JOSE_PHONE)) == 1 and len(h.emails_to(JOSE_EMAIL, "followup")) == 1
    finally:
        h.close()


def test_text_only_route_without_consent_uses_email(tmp_path: Path) -> None:
    h = texting(tmp_path, channels=["sms"])
    try:
        h.at(0.1)
        h.sandbox.move(FATIMA, "Phone Screen")
        h.poll()
        assert texts_to(h, FATIMA_PHONE) == [] and len(h.emails_to(FATIMA_EMAIL, "invite")) == 1
    finally:
        h.close()


def test_quiet_hours_defer_a_text_across_the_dst_change(tmp_path: Path) -> None:
    # Saturday 13 March 2027, 22:00 PST; clocks go forward that night, so the window
    # opens on Sunday at 08:00 PDT = 15:00 UTC (16:00 UTC on a fixed -8 offset).
    start = datetime(2027, 3, 14, 6, 0, tzinfo=timezone.utc)
    h = texting(tmp_path, start=start)
    try:
        invite_with_consent(h, JOSE)
        assert len(h.emails_to(JOSE_EMAIL, "invite")) == 1 and texts_to(h, JOSE_PHONE) == []
        h.at(8.95)  # 07:57 PDT
        h.poll()
        assert texts_to(h, JOSE_PHONE) == []
        h.at(9.0)  # 08:00 PDT
        h.poll()
        [text] = texts_to(h, JOSE_PHONE)
        assert text["date_created"].endswith("15:00:00 +0000")
        assert "sms_deferred" in [r["event"] for r in h.ctx.db.iter_audit()]
    finally:
        h.close()


def test_spanish_candidate_reads_spanish_and_english_one_does_not(h: Harness) -> None:
    invite_with_consent(h, JOSE, language="Español")
    invite_with_consent(h, FATIMA)
    [es_mail] = h.emails_to(JOSE_EMAIL, "invite")
    [en_mail] = h.emails_to(FATIMA_EMAIL, "invite")
    assert str(es_mail["Subject"]).strip().startswith("Invitación a entrevista")
    es_body = es_mail.get_body(("plain",)).get_content()
    assert "antes del miércoles 2 de diciembre de 2026" in es_body and "llamada telefónica" in es_body
    assert 'lang="es"' in es_mail.get_body(("html",)).get_content()
    [es_text] = texts_to(h, JOSE_PHONE)
    assert "Reserve su entrevista" in es_text["body"] and "mié 2 dic" in es_text["body"]
    assert segments(es_text["body"].replace(h.invitation(JOSE).link_url, BARE_LINK)) <= 2
    assert str(en_mail["Subject"]).strip().startswith("Interview invitation")
    en_body = en_mail.get_body(("plain",)).get_content()
    assert "Wednesday, December 2, 2026" in en_body and "miércoles" not in en_body
    [en_text] = texts_to(h, FATIMA_PHONE)
    assert "Book your" in en_text["body"] and "Wed Dec 2" in en_text["body"]
    # after booking, the confirmation carries Spanish dates too
    h.at(3)
    h.sandbox.book(JOSE)
    h.poll()
    [confirm] = h.emails_to(JOSE_EMAIL, "confirmation")
    assert "Su entrevista está confirmada" in confirm.get_body(("plain",)).get_content()
    assert "el lunes 30 de noviembre de 2026, 11:00 a.m. PST" in confirm["Subject"]


def test_consent_commands_list_show_revoke(h: Harness) -> None:
    import json

    invite_with_consent(h, JOSE)
    listed = h.cli("consent", "list", "--json")
    assert listed.exit_code == 0, listed.output
    assert [(r["phone"], r["state"]) for r in json.loads(listed.output)] == [(JOSE_PHONE, "granted")]
    revoked = h.cli("consent", "revoke", "(916) 555-0102", "--reason", "asked on the phone", "--json")
    assert revoked.exit_code == 0, revoked.output
    assert json.loads(revoked.output) == {"phone": JOSE_PHONE, "state": "revoked", "changed": True}
    shown = json.loads(h.cli("consent", "show", JOSE_PHONE, "--json").output)
    assert shown["state"] == "revoked" and shown["record"]["source"] == "recruiter: asked on the phone"
    assert [c["event"] for c in shown["changes"]] == ["consent_granted", "consent_revoked"]
    bad = h.cli("consent", "show", "call me")
    assert bad.exit_code == 2 and "PHONE 'call me' is not a phone number" in bad.output
    h.at(48.5)
    h.poll()
    assert len(texts_to(h, JOSE_PHONE)) == 1  # the revoke holds: no follow-up text


def test_report_per_channel_and_export_columns(h: Harness) -> None:
    import json

    from interview_sync.clock import iso

    invite_with_consent(h, JOSE)  # email + text, booked, then a no-show
    h.at(0.1)
    h.sandbox.move(FATIMA, "Phone Screen")  # email only (no consent on record)
    h.poll()
    h.at(3)
    h.sandbox.book(JOSE)
    h.poll()
    booked = h.invitation(JOSE)
    h.at((booked.interview_end - h.start).total_seconds() / 3600 + 0.5)
    h.sandbox.no_show(JOSE)
    h.poll()
    h.sandbox.text_from(JOSE_PHONE, "STOP")
    h.at((booked.interview_end - h.start).total_seconds() / 3600 + 1)
    h.poll()
    out = h.cli("report", "--json", "--now", iso(h.clock.now()))
    assert out.exit_code == 0, out.output
    channels = {c["channel"]: c for c in json.loads(out.output)["channels"]}
    assert channels["email"]["reached"] == 2 and channels["sms"]["reached"] == 1
    assert channels["sms"]["sent"] == 2 and channels["sms"]["delivered"] == 2  # invite + confirmation
    assert channels["sms"]["opted_out"] == 1 and channels["sms"]["booked_after"] == 1
    assert channels["sms"]["no_show_rate"] == 1.0 and channels["email"]["no_show_rate"] == 1.0
    assert channels["email"]["delivered"] is None
    exported = h.cli("audit", "export", "--kind", "invitations", "--format", "jsonl")
    rows = {r["application_id"]: r for r in map(json.loads, exported.output.splitlines())}
    assert rows[JOSE]["channels"] == "email+sms" and rows[JOSE]["texts_sent"] == 2
    assert rows[JOSE]["sms_consent"] == "revoked" and rows[JOSE]["sms_consent_source"].startswith("reply SM")
    assert rows[FATIMA]["channels"] == "email" and rows[FATIMA]["sms_consent"] == "none"
    events = h.cli("audit", "export", "--kind", "events", "--format", "jsonl").output.splitlines()
    assert any(json.loads(e)["event"] == "sms_sent" and json.loads(e)["channel"] == "sms" for e in events)


def test_a_provider_outage_does_not_hold_up_the_email(h: Harness) -> None:
    h.sandbox.fault("/2010-04-01/Accounts/", 500, method="POST")
    h.at(0.05)
    h.sandbox.custom_field(JOSE, "sms_consent", "Yes")
    h.at(0.1)
    h.sandbox.move(JOSE, "Phone Screen")
    report = h.poll()
    assert len(h.emails_to(JOSE_EMAIL, "invite")) == 1 and texts_to(h, JOSE_PHONE) == []
    assert h.invitation(JOSE).state.value == "invited"
    assert any("invite text not sent" in e for e in report.errors)


def test_consent_given_on_the_booking_form(h: Harness) -> None:
    def answer_on_booking_page() -> None:
        for invitee in h.world.data["calendly"]["invitees"].values():
            invitee["text_reminder_number"] = "+1 530 555 0177"
            invitee["questions_and_answers"] = [{"question": CONSENT_QUESTION, "answer": "Yes", "position": 0}]

    h.at(0.05)
    h.invite_and_book(FATIMA, before_poll=answer_on_booking_page)
    assert len(h.emails_to(FATIMA_EMAIL, "invite")) == 1 and texts_to(h, FATIMA_PHONE) == []  # no consent yet
    [text] = texts_to(h, "+15305550177")  # the number given with the consent
    assert "Booked" in text["body"]
    row = consent_row(h, "+15305550177")
    assert row["state"] == "granted" and row["source"] == f"booking form: {CONSENT_QUESTION}"
    assert row["text_shown"] == CONSENT_QUESTION


def test_text_only_route_still_emails_the_confirmation_details(tmp_path: Path) -> None:
    h = texting(tmp_path, channels=["sms"])
    try:
        invite_with_consent(h, JOSE)
        assert h.emails_to(JOSE_EMAIL, "invite") == []
        h.at(3)
        h.sandbox.book(JOSE)
        h.poll()
        assert len(h.emails_to(JOSE_EMAIL, "confirmation")) == 1
        assert "Details are in your email" in texts_to(h, JOSE_PHONE)[-1]["body"]
    finally:
        h.close()


def test_history_tells_the_text_story(h: Harness) -> None:
    import json

    invite_with_consent(h, JOSE)
    h.at(1)
    h.sandbox.text_from(JOSE_PHONE, "STOP")
    h.poll()
    story = h.cli("history", JOSE, "--json")
    assert story.exit_code == 0, story.output
    lines = [e["text"] for e in json.loads(story.output)["events"]]
    assert f"consent to texts recorded for {JOSE_PHONE} (source: ATS field custom.sms_consent)" in lines
    assert any(line.startswith(f"text sent to {JOSE_PHONE} (invite SM") for line in lines)
    assert any(line.startswith(f"consent to texts withdrawn for {JOSE_PHONE} (source: reply SM") for line in lines)


def test_consent_from_an_ats_tag(h: Harness) -> None:
    h.settings.sms.consent_field = "tag:SMS OK"
    h.at(0.05)
    from interview_sync.models import Application

    app = Application(id=FATIMA, candidate_id="7007", job_id="102", stage_id=None, stage_name=None,
                      status="in_process", updated_at=h.clock.now())
    h.ctx.ats.add_tag(app, "SMS OK")  # a recruiter tags the candidate in the ATS
    h.at(0.1)
    h.sandbox.move(FATIMA, "Phone Screen")
    h.sandbox.move(JOSE, "Phone Screen")  # no tag: no text
    h.poll()
    assert len(texts_to(h, FATIMA_PHONE)) == 1 and texts_to(h, JOSE_PHONE) == []
    assert consent_row(h, FATIMA_PHONE)["source"] == "ATS tag SMS OK"
