"""Rendering and MIME building: every kind, realistic and hostile inputs."""

from __future__ import annotations

import email
from email import policy
from email.header import decode_header, make_header
from email.message import EmailMessage
from pathlib import Path

import pytest
from icalendar import Calendar

from interview_sync.errors import ConfigError, DeliveryError
from interview_sync.mail.message import (Attachment, build_message, clean_display_name,
                                         make_message_id, validate_address)
from interview_sync.mail.render import CONTEXT_KEYS, KINDS, Rendered, TemplateRenderer
from interview_sync.mail.samples import HOSTILE_CONTEXT, SAMPLE_CONTEXT

SENDER = "Mercy Valley Talent <talent@mercyvalley.example>"
CANDIDATE = "Zoë O'Brien-Nguyễn"
ADDRESS = "zoe+nurse@example.org"


@pytest.fixture(scope="module")
def renderer() -> TemplateRenderer:
    return TemplateRenderer()


def parse(msg: EmailMessage) -> EmailMessage:
    parsed = email.message_from_bytes(msg.as_bytes(), policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def body(parsed: EmailMessage, subtype: str) -> str:
    part = parsed.get_body(preferencelist=(subtype,))
    assert part is not None, f"no text/{subtype} part"
    return part.get_content().replace("\r\n", "\n")  # quoted-printable keeps the wire's CRLF


def send_kind(renderer: TemplateRenderer, kind: str, ctx: dict, to_name: str = CANDIDATE,
              attachments: tuple[Attachment, ...] = ()) -> EmailMessage:
    rendered = renderer.render(kind, ctx)
    msg = build_message(sender=SENDER, to_name=to_name, to_email=ADDRESS, rendered=rendered,
                        message_id=make_message_id("is-17001-3f9a2c7d1e", f"k:{kind}", "mercyvalley.example"),
                        reply_to="Recruiting <recruiting@mercyvalley.example>",
                        attachments=list(attachments))
    return parse(msg)


# --- rendering -----------------------------------------------------------------------------

@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_renders_sample(renderer: TemplateRenderer, kind: str) -> None:
    out = renderer.render(kind, SAMPLE_CONTEXT[kind])
    assert out.kind == kind
    assert out.subject and "\n" not in out.subject and "\r" not in out.subject
    assert out.text.endswith("\n") and "\n\n\n" not in out.text
    assert out.html.lstrip().startswith("<!DOCTYPE html>")
    assert SAMPLE_CONTEXT[kind]["org_name"] in out.text
    assert renderer.keys(kind) <= set(CONTEXT_KEYS)


def test_invite_golden_text(renderer: TemplateRenderer) -> None:
    out = renderer.render("invite", SAMPLE_CONTEXT["invite"])
    assert out.subject == "Interview invitation: Registered Nurse – ICU (Nights) at Mercy Valley Health"
    assert out.text.splitlines()[:3] == [
        "Hi Zoë,",
        "",
        "Thank you for applying for the Registered Nurse – ICU (Nights) role at Mercy Valley Health. "
        "Maria Delgado, Nurse Manager, ICU, would like to talk with you in a 30-minute phone call.",
    ]
    ctx = SAMPLE_CONTEXT["invite"]
    for needle in (ctx["link"], ctx["deadline"], ctx["fallback_contact"]):
        assert needle in out.text
    assert f'href="{ctx["link"]}"' in out.html
    assert "@mercyvalley.example" not in out.text + out.html  # never the hiring manager's email


def test_confirmation_updated_and_format_details(renderer: TemplateRenderer) -> None:
    ctx = SAMPLE_CONTEXT["confirmation"]
    first = renderer.render("confirmation", ctx)
    moved = renderer.render("confirmation", {**ctx, "updated": True})
    assert first.subject.startswith("Confirmed:") and moved.subject.startswith("Updated:")
    assert "has been moved" in moved.text and "has been moved" not in first.text
    assert f"Join: {ctx['join_url']}" in first.text
    assert f"Reschedule: {ctx['reschedule_url']}" in first.text
    assert f"Cancel: {ctx['cancel_url']}" in first.text
    in_person = renderer.render("confirmation", {**ctx, "interview_format": "in_person",
                                                 "location": "100 Example Way"})
    assert "Where: 100 Example Way" in in_person.text and "Join:" not in in_person.text


def test_hostile_values_are_escaped_in_html(renderer: TemplateRenderer) -> None:
    for kind in KINDS:
        out = renderer.render(kind, HOSTILE_CONTEXT)
        assert "<script" not in out.html, kind
        assert "<img" not in out.html and "<iframe" not in out.html, kind
        assert 'href="javascript:' not in out.html and 'href="data:' not in out.html, kind
        assert "\n" not in out.subject and "\r" not in out.subject, kind
    invite = renderer.render("invite", HOSTILE_CONTEXT)
    assert "&lt;script&gt;" in renderer.render("reminder_hm", HOSTILE_CONTEXT).html
    assert 'href="#"' in invite.html
    assert "javascript:alert(document.cookie)" in invite.text  # plain text shows it, inertly


def test_unknown_format_is_a_config_error(renderer: TemplateRenderer) -> None:
    with pytest.raises(ConfigError, match=r"default/invite\.txt\.j2.*interview_format"):
        renderer.render("invite", {**SAMPLE_CONTEXT["invite"], "interview_format": "carrier pigeon"})


def test_missing_key_names_template_and_key(renderer: TemplateRenderer) -> None:
    ctx = dict(SAMPLE_CONTEXT["invite"])
    del ctx["deadline"]
    with pytest.raises(ConfigError, match=r"default/invite\.txt\.j2: 'deadline' is undefined"):
        renderer.render("invite", ctx)


def test_broken_user_template_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "default").mkdir()
    (tmp_path / "default" / "invite.txt.j2").write_text("Hi {{ candidate_first_name \n", encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        TemplateRenderer(tmp_path).render("invite", SAMPLE_CONTEXT["invite"])
    assert "default/invite.txt.j2 line" in str(err.value)
    assert "fix the Jinja syntax" in str(err.value)


def test_user_override_and_fallback_to_default(tmp_path: Path) -> None:
    (tmp_path / "nursing").mkdir()
    (tmp_path / "nursing" / "invite.subject.j2").write_text("Nursing: {{ job_name }}\n", encoding="utf-8")
    renderer = TemplateRenderer(tmp_path)
    out = renderer.render("invite", SAMPLE_CONTEXT["invite"], template_set="nursing")
    assert out.subject == "Nursing: Registered Nurse – ICU (Nights)"
    assert out.text == TemplateRenderer().render("invite", SAMPLE_CONTEXT["invite"]).text


def test_missing_template_and_bad_set_name(tmp_path: Path, renderer: TemplateRenderer) -> None:
    with pytest.raises(ConfigError, match="unknown email kind"):
        renderer.render("welcome", SAMPLE_CONTEXT["invite"])
    with pytest.raises(ConfigError, match="not a plain directory name"):
        renderer.render("invite", SAMPLE_CONTEXT["invite"], template_set="../etc")
    with pytest.raises(ConfigError, match="not a directory"):
        TemplateRenderer(tmp_path / "nope")


def test_packaged_templates_reachable_through_top_level_symlink() -> None:
    top = Path(__file__).resolve().parents[1] / "templates"
    assert top.is_symlink() and not Path(str(top.readlink())).is_absolute()
    assert (top / "default" / "invite.subject.j2").is_file()


# --- message building -----------------------------------------------------------------------

@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("ctx_name", ["sample", "hostile"])
def test_every_kind_builds_a_safe_message(renderer: TemplateRenderer, kind: str, ctx_name: str) -> None:
    ctx = SAMPLE_CONTEXT[kind] if ctx_name == "sample" else HOSTILE_CONTEXT
    to_name = CANDIDATE if ctx_name == "sample" else "Zoë\r\nBcc: evil@attacker.example\x00"
    parsed = send_kind(renderer, kind, ctx, to_name=to_name)
    assert parsed["Bcc"] is None and parsed["X-Injected"] is None and parsed["X-Evil"] is None
    assert parsed["To"].addresses[0].addr_spec == ADDRESS
    assert "\n" not in parsed["To"].addresses[0].display_name
    assert parsed["Subject"] == renderer.render(kind, ctx).subject
    assert parsed["X-Interview-Sync-Kind"] == kind
    assert parsed.get_content_type() == "multipart/alternative"
    assert body(parsed, "plain") == renderer.render(kind, ctx).text
    assert "<script" not in body(parsed, "html")


def test_special_names_survive_parsing(renderer: TemplateRenderer) -> None:
    parsed = send_kind(renderer, "invite", SAMPLE_CONTEXT["invite"])
    to = parsed["To"].addresses[0]
    assert (to.display_name, to.addr_spec) == (CANDIDATE, ADDRESS)
    assert parsed["From"].addresses[0].display_name == "Mercy Valley Talent"
    assert parsed["Reply-To"].addresses[0].addr_spec == "recruiting@mercyvalley.example"
    assert "Hi Zoë," in body(parsed, "plain")
    comma = build_message(sender=SENDER, to_name="O'Brien-Nguyễn, Zoë", to_email=ADDRESS,
                          rendered=Rendered("s", "t\n", "<p>h</p>\n"), message_id="<a@b>")
    assert parse(comma)["To"].addresses[0].display_name == "O'Brien-Nguyễn, Zoë"


def test_long_mixed_names_and_subjects_read_back_exactly() -> None:
    name = "Siobhán Ní Bhriain-Ó Catháin de la Fuente-Montgomery, Jr. (RN)"
    subject = "Reminder: interview with " + name + " – Registered Nurse – ICU (Nights) on Tuesday"
    msg = build_message(sender=SENDER, to_name=name, to_email=ADDRESS,
                        rendered=Rendered(subject, "t\n", "h\n"), message_id="<a@b>")
    parsed = parse(msg)
    assert parsed["Subject"] == subject
    # A long To folds between two encoded-words; RFC 2047 decoders drop that
    # whitespace (the stdlib's address parser keeps it, a known stdlib quirk).
    raw_to = email.message_from_bytes(msg.as_bytes(), policy=policy.compat32)["To"]
    assert str(make_header(decode_header(raw_to))) == f"{name} <{ADDRESS}>"


def test_wire_format_is_crlf_and_7bit_safe(renderer: TemplateRenderer) -> None:
    rendered = renderer.render("invite", SAMPLE_CONTEXT["invite"])
    raw = build_message(sender=SENDER, to_name=CANDIDATE, to_email=ADDRESS, rendered=rendered,
                        message_id="<x@y>").as_bytes()
    assert raw.isascii()  # quoted-printable bodies, RFC 2047 headers: survives any relay
    assert b"\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b"")
    assert all(len(line) <= 998 for line in raw.split(b"\r\n"))


def test_calendar_invite_structure(renderer: TemplateRenderer) -> None:
    ics = (b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nMETHOD:REQUEST\r\nBEGIN:VEVENT\r\n"
           b"UID:u-1\r\nDTSTAMP:20261124T090000Z\r\nSUMMARY:Interview Zo\xc3\xab\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
    parsed = send_kind(renderer, "hm_booking", SAMPLE_CONTEXT["hm_booking"], to_name="Maria Delgado",
                       attachments=(Attachment.ics(ics, "REQUEST"),))
    assert parsed.get_content_type() == "multipart/mixed"
    calendar_parts = [p for p in parsed.walk() if p.get_content_type() == "text/calendar"]
    assert len(calendar_parts) == 1
    cal_part = calendar_parts[0]
    assert cal_part.get_param("method") == "REQUEST"
    assert cal_part.get_content_charset() == "utf-8"
    assert Calendar.from_ical(cal_part.get_content())["METHOD"] == "REQUEST"
    files = list(parsed.iter_attachments())
    assert [f.get_filename() for f in files] == ["invite.ics"]
    assert files[0].get_content() == ics
    assert body(parsed, "plain").startswith("Hi Maria Delgado,")


def test_extra_headers_are_one_line_and_validated() -> None:
    msg = build_message(sender=SENDER, to_name=None, to_email=ADDRESS, rendered=Rendered("s", "t\n", "h\n"),
                        message_id="<a@b>", headers={"X-Interview-Sync-Ref": "is-1\r\nBcc: x@y.example"})
    parsed = parse(msg)
    assert parsed["X-Interview-Sync-Ref"] == "is-1 Bcc: x@y.example" and parsed["Bcc"] is None
    with pytest.raises(ValueError):
        build_message(sender=SENDER, to_name=None, to_email=ADDRESS, rendered=Rendered("s", "t", "h"),
                      message_id="<a@b>", headers={"Bad: Name": "v"})


def test_bad_sender_is_config_error() -> None:
    with pytest.raises(ConfigError, match="email.from"):
        build_message(sender="Talent Acquisition", to_name=None, to_email=ADDRESS,
                      rendered=Rendered("s", "t", "h"), message_id="<a@b>")


def test_message_id_is_deterministic() -> None:
    first = make_message_id("is-17001-3f9a2c7d1e", "is-17001-3f9a2c7d1e:invite", "mercyvalley.example")
    assert first == make_message_id("is-17001-3f9a2c7d1e", "is-17001-3f9a2c7d1e:invite", "MercyValley.example")
    assert first != make_message_id("is-17001-3f9a2c7d1e", "is-17001-3f9a2c7d1e:followup", "mercyvalley.example")
    assert first.startswith("<is-17001-3f9a2c7d1e.") and first.endswith("@mercyvalley.example>")
    with pytest.raises(ConfigError):
        make_message_id("r", "k", "bad domain\r\n")
    parsed = parse(build_message(sender=SENDER, to_name=None, to_email=ADDRESS,
                                 rendered=Rendered("s", "t\n", "h\n"), message_id=first))
    assert parsed["Message-ID"] == first


def test_validate_address() -> None:
    assert validate_address(ADDRESS) == ADDRESS
    assert validate_address(" Nurse@Example.ORG ") == "Nurse@example.org"
    for bad in ("", "no-at-sign", "a@b@c.example", "zoe@example.org\r\nBcc: x@y.example", "zoë@example.org"):
        with pytest.raises(DeliveryError) as err:
            validate_address(bad)
        assert err.value.permanent is True
        assert "\n" not in str(err.value) and "\r" not in str(err.value)
    with pytest.raises(DeliveryError) as err:
        build_message(sender=SENDER, to_name=None, to_email="not an address",
                      rendered=Rendered("s", "t", "h"), message_id="<a@b>")
    assert err.value.permanent


def test_clean_display_name() -> None:
    assert clean_display_name(CANDIDATE) == CANDIDATE
    # controls become spaces; bidi overrides go (they are invisible: a space would split a word)
    assert clean_display_name("A\r\nB\x00C\u2028D\u202eE") == "A B C DE"
    assert clean_display_name(None) == ""
