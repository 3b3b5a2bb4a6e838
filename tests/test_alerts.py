"""Issue 10: recruiter alerts speak to recruiters.

Every alert states the problem and the fix in plain words, names the candidate
and the job, links to the application in the ATS (else gives its id), and any
command it suggests has the real values filled in, ready to paste.
"""

from __future__ import annotations

import shlex
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

import pytest
from harness import Harness

from interview_sync import alerts
from interview_sync.alerts import AlertText
from interview_sync.mail.render import TemplateRenderer
from interview_sync.mail.samples import SAMPLE_CONTEXT

UTC = timezone.utc
APP = "17001"
LEVER_APP = "0a0a0000-0000-4000-a000-000000017001"
TOM = "tom.becker@mercyvalley.example"
ZOE = "17001"

# One realistic call per alert cause the tool can raise (workflow and executor).
CATALOG: dict[str, Callable[[str], AlertText]] = {
    "no-email": lambda app: alerts.no_email(app, "Zoë O'Brien-Nguyễn"),
    "bad-email": lambda app: alerts.bad_email(app, "Zoë O'Brien-Nguyễn", "address 'zoe@' has no domain"),
    "address-refused": lambda app: alerts.address_refused(app, "550 5.1.1 user unknown"),
    "no-route": lambda app: alerts.no_route(app, "Respiratory Therapist", "Respiratory Care", "First Interview"),
    "no-hiring-manager": lambda app: alerts.no_hiring_manager(app, "Travel RN – Emergency Department"),
    "host-not-in-scheduler": lambda app: alerts.host_not_in_scheduler(app, "Maria Delgado", "calcom"),
    "event-type-missing": lambda app: alerts.event_type_missing(app, "Maria Delgado", "phone-screen-30",
                                                                 "calendly"),
    "no-availability": lambda app: alerts.no_availability(app, "Maria Delgado", "phone-screen-30", 10,
                                                           "calendly"),
    "vendor-error": lambda app: alerts.vendor_error(app, "invite", 3, "calendly scheduling_links: HTTP 500",
                                                    "retry later; check status.calendly.com", can_resend=True),
    "unknown": lambda app: alerts.interrupted("invite", "zoe+nurse@example.org"),
    "flag": lambda app: alerts.flagged(app, "Zoë O'Brien-Nguyễn"),
    "re-entered": lambda app: alerts.re_entered(app, "Phone Screen"),
    "stage-left-booked": lambda app: alerts.stage_left_booked("Phone Screen", "Offer"),
    "booked-after-close": lambda app: alerts.booked_after_close(),
    "double-booking": lambda app: alerts.double_booking("calcom"),
}
NEEDS_COMMAND = {"no-email", "bad-email", "address-refused", "no-route", "no-hiring-manager",
                 "host-not-in-scheduler", "event-type-missing", "no-availability", "vendor-error", "flag",
                 "re-entered"}
JARGON = ("APPLICATION_ID", "--reason ...", "`", "NeedsPerson", "Traceback", "None", "invitation_ref")


@pytest.mark.parametrize("code", sorted(CATALOG))
@pytest.mark.parametrize("app_id", [APP, LEVER_APP])
def test_every_alert_has_a_plain_fix_and_a_ready_command(code: str, app_id: str) -> None:
    text = CATALOG[code](app_id)
    assert text.code == code
    assert text.reason and text.fix and text.reason[0] != " "
    for word in JARGON:
        assert word not in text.reason + text.fix, (code, word)
    if code in NEEDS_COMMAND:
        assert text.command is not None and "command below" in text.fix
        argv = shlex.split(text.command)
        assert argv[:3] == ["interview-sync", "invite", app_id] and argv[3:5] == ["--resend", "--reason"]
        assert len(argv) == 6 and argv[5] and argv[5] != "..."  # a real reason, ready to paste
    else:
        assert text.command is None and "command below" not in text.fix


def test_the_command_is_quoted_for_the_shell() -> None:
    command = alerts.resend_command("17001; rm -rf ~", "it's fixed")
    assert shlex.split(command) == ["interview-sync", "invite", "17001; rm -rf ~", "--resend", "--reason",
                                    "it's fixed"]


@pytest.mark.parametrize("code", sorted(CATALOG))
def test_every_alert_renders_for_a_recruiter(code: str) -> None:
    text = CATALOG[code](APP)
    link = "https://app.greenhouse.io/people/7001?application_id=17001"
    ctx = SAMPLE_CONTEXT["recruiter_alert"] | {"reason": text.reason, "fix": text.fix, "command": text.command,
                                                "ats_link": link, "candidate_name": "Zoë O'Brien-Nguyễn",
                                                "job_name": "Registered Nurse – ICU (Nights)",
                                                "application_id": APP}
    out = TemplateRenderer().render("recruiter_alert", ctx)
    for needle in (text.reason, text.fix, "Zoë O'Brien-Nguyễn", "Registered Nurse – ICU (Nights)",
                   f"Open in the ATS: {link}", f"Application ID: {APP}"):
        assert needle in out.text, needle
    assert text.command is None or text.command in out.text
    assert ("Command (run it" in out.text) == (text.command is not None)
    assert "APPLICATION_ID" not in out.text + out.html and "what you changed" not in out.text
    assert f'href="{link.replace("&", "&amp;")}"' in out.html or f'href="{link}"' in out.html
    without_link = TemplateRenderer().render("recruiter_alert", ctx | {"ats_link": None})
    assert f"Application ID: {APP}" in without_link.text and "Open in the ATS" not in without_link.text


def test_no_placeholder_commands_left_in_the_package() -> None:
    package = Path(__file__).resolve().parent.parent / "interview_sync"
    for path in [*package.rglob("*.py"), *package.rglob("*.j2")]:
        assert "APPLICATION_ID --resend" not in path.read_text(encoding="utf-8"), path


# --- end to end: what a recruiter receives ---------------------------------------------

def _text(message: Any) -> str:
    return str(message.get_body(preferencelist=("plain",)).get_content())


def _alert(h: Harness, address: str = TOM) -> str:
    (message,) = h.emails_to(address, "recruiter_alert")
    return _text(message)


@pytest.fixture(params=["greenhouse", "lever"])
def h(tmp_path: Path, request: pytest.FixtureRequest) -> Any:
    harness = Harness(tmp_path, ats=request.param)
    harness.poll()
    yield harness
    harness.close()


def test_no_availability_alert_names_people_links_the_ats_and_fills_the_command(h: Harness) -> None:
    h.sandbox.block("maria.delgado@mercyvalley.example")
    h.at(0.1)
    h.sandbox.move(ZOE, "Phone Screen")
    assert h.poll().alerts == 1
    body = _alert(h)
    app_id = h.app_id(ZOE)
    assert "Candidate: Zoë O'Brien-Nguyễn" in body and "Job: Registered Nurse – ICU (Nights)" in body
    admin = "greenhouse/applications" if h.ats == "greenhouse" else "lever/opportunities"
    assert f"Open in the ATS: {h.server.url}/_admin/{admin}/{app_id}" in body
    assert "Maria Delgado has no free time" in body and "next 10 days" in body
    assert f"interview-sync invite {app_id} --resend --reason 'calendar time opened'" in body
    assert "APPLICATION_ID" not in body and "..." not in body


def test_missing_hiring_manager_alert_for_the_right_application(h: Harness) -> None:
    h.at(0.1)
    h.sandbox.move("17006", "Phone Screen")  # Dmitri: job 105 has no hiring manager
    assert h.poll().alerts == 1
    body = _alert(h)
    app_id = h.app_id("17006")
    assert "Candidate: Dmitri Volkov" in body and "hiring team" in body
    assert f"interview-sync invite {app_id} --resend --reason 'hiring manager added'" in body


def test_booked_interview_alert_shows_the_time_and_no_resend_command(h: Harness) -> None:
    h.invite_and_book(ZOE, datetime(2026, 12, 3, 18, 0, tzinfo=UTC))
    h.at(5)
    h.sandbox.move(ZOE, "Offer")
    h.poll()
    body = _alert(h)
    assert "Booked interview: Thursday, December 3, 2026 at 10:00 AM PST (America/Los_Angeles)" in body
    assert "now Offer" in body and "cancel the interview" in body and "--resend" not in body


def test_vendor_failure_alert_keeps_secrets_and_payloads_out(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    try:
        h.poll()
        h.fault_scheduler_write(500, times=3)
        for hours in (0.1, 0.2, 0.3):
            h.at(hours)
            if hours == 0.1:
                h.sandbox.move(ZOE, "Phone Screen")
            h.poll()
        body = _alert(h)
        assert "failed 3 times" in body and "forward this email" in body
        assert "interview-sync invite 17001 --resend --reason 'connection fixed'" in body
        secrets = [h.settings.scheduler.api_token.get_secret_value(), h.settings.ats.client_secret.get_secret_value()]
        for secret in filter(None, secrets):
            assert secret not in body
        assert "{" not in body  # no JSON payload
    finally:
        h.close()
