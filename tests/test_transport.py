"""Transports: .eml files on disk, and SMTP against a real local aiosmtpd server."""

from __future__ import annotations

import email
import re
import socket
import stat
from collections.abc import Iterator
from datetime import datetime, timezone
from email import policy
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from interview_sync.clock import FixedClock
from interview_sync.errors import ConfigError, DeliveryError
from interview_sync.mail.message import build_message
from interview_sync.mail.render import Rendered
from interview_sync.mail.transport import FileTransport, SmtpTransport, Transport

SECRET = "s3cr3t-Pa55word!"


def message(to: str = "zoe+nurse@example.org", kind: str = "invite", mid: str = "<is-1.abc@mv.example>"):
    rendered = Rendered(subject="Interview invitation: Registered Nurse – ICU", text="Hi Zoë,\n",
                        html="<p>Hi Zoë,</p>\n", kind=kind)
    return build_message(sender="Talent <talent@mv.example>", to_name="Zoë O'Brien-Nguyễn", to_email=to,
                         rendered=rendered, message_id=mid,
                         date=datetime(2026, 11, 24, 9, 0, tzinfo=timezone.utc))


# --- FileTransport --------------------------------------------------------------------------

def test_file_transport_writes_private_atomic_eml(tmp_path: Path) -> None:
    outbox = tmp_path / "state" / "outbox"
    clock = FixedClock(datetime(2026, 11, 24, 9, 5, 7, tzinfo=timezone.utc))
    with FileTransport(outbox, clock=clock) as transport:
        assert isinstance(transport, Transport)
        transport.send(message())
        clock.advance(seconds=1)
        transport.send(message(kind="", mid="<is-1.def@mv.example>"))
    assert stat.S_IMODE(outbox.stat().st_mode) == 0o700
    first, second = transport.sent_paths
    assert re.fullmatch(r"20261124T090507-invite-[0-9a-f]{8}\.eml", first.name)
    assert re.fullmatch(r"20261124T090508-interview-invitation-registered-nurse-ic-[0-9a-f]{8}\.eml",
                        second.name)
    for path in (first, second):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(p.name for p in outbox.iterdir()) == sorted([first.name, second.name])  # no temp files
    parsed = email.message_from_bytes(first.read_bytes(), policy=policy.default)
    assert parsed["To"].addresses[0].display_name == "Zoë O'Brien-Nguyễn"
    assert parsed["To"].addresses[0].addr_spec == "zoe+nurse@example.org"
    assert b"\r\n" in first.read_bytes()


def test_file_transport_retry_of_same_message_overwrites(tmp_path: Path) -> None:
    clock = FixedClock(datetime(2026, 11, 24, 9, 5, 7, tzinfo=timezone.utc))
    transport = FileTransport(tmp_path / "outbox", clock=clock)
    transport.send(message())
    transport.send(message())
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == 1
    assert transport.sent_paths[0] == transport.sent_paths[1]


# --- SMTP against aiosmtpd ------------------------------------------------------------------

class RecordingHandler:
    """Records messages and the session (= connection) each one arrived on."""

    def __init__(self) -> None:
        self.received: list[tuple[Any, list[str], bytes]] = []

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: list[str]) -> str:
        if address.startswith("nobody@"):
            return "550 5.1.1 <nobody@example.org>: user unknown"
        if address.startswith("busy@"):
            return "451 4.3.0 mailbox busy, try later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.received.append((session, list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted"

    @property
    def connections(self) -> int:
        distinct: list[Any] = []
        for session, _, _ in self.received:
            if not any(session is seen for seen in distinct):
                distinct.append(session)
        return len(distinct)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and auth_data.login == b"talent" and auth_data.password == SECRET.encode()
    return AuthResult(success=ok, handled=False)


@pytest.fixture
def smtpd() -> Iterator[tuple[RecordingHandler, int]]:
    handler = RecordingHandler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, authenticator=authenticator,
                            auth_require_tls=False)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


def test_smtp_delivers_several_messages_on_one_connection(smtpd: tuple[RecordingHandler, int]) -> None:
    handler, port = smtpd
    with SmtpTransport("127.0.0.1", port, "none", None, None, timeout=5) as transport:
        for i in range(3):
            transport.send(message(mid=f"<is-1.{i}@mv.example>"))
    assert len(handler.received) == 3
    assert handler.connections == 1 and transport.connections_opened == 1
    _, rcpts, content = handler.received[0]
    assert rcpts == ["zoe+nurse@example.org"]
    parsed = email.message_from_bytes(content, policy=policy.default)
    assert parsed["To"].addresses[0].display_name == "Zoë O'Brien-Nguyễn"
    assert parsed["Message-ID"] == "<is-1.0@mv.example>"


def test_smtp_refused_recipient_is_permanent_and_connection_survives(smtpd: tuple[RecordingHandler, int]) -> None:
    handler, port = smtpd
    with SmtpTransport("127.0.0.1", port, "none", None, None, timeout=5) as transport:
        with pytest.raises(DeliveryError) as refused:
            transport.send(message(to="nobody@example.org"))
        assert refused.value.permanent is True
        assert "550" in str(refused.value) and "\n" not in str(refused.value)
        with pytest.raises(DeliveryError) as busy:
            transport.send(message(to="busy@example.org"))
        assert busy.value.permanent is False
        transport.send(message())
    assert [r for _, r, _ in handler.received] == [["zoe+nurse@example.org"]]
    assert transport.connections_opened == 1


def test_smtp_reconnects_once_after_server_dropped_the_connection(smtpd: tuple[RecordingHandler, int]) -> None:
    handler, port = smtpd
    with SmtpTransport("127.0.0.1", port, "none", None, None, timeout=5) as transport:
        transport.send(message(mid="<a@mv.example>"))
        assert transport._smtp is not None
        transport._smtp.sock.shutdown(socket.SHUT_RDWR)  # the line goes dead between two sends
        transport.send(message(mid="<b@mv.example>"))
    assert len(handler.received) == 2
    assert handler.connections == 2 and transport.connections_opened == 2


def test_smtp_login(smtpd: tuple[RecordingHandler, int]) -> None:
    handler, port = smtpd
    good = SmtpTransport("127.0.0.1", port, "none", "talent", SECRET, timeout=5)
    assert "connected as talent" in good.login_check()
    with good:
        good.send(message())
    assert len(handler.received) == 1
    bad = SmtpTransport("127.0.0.1", port, "none", "talent", "wrong-" + SECRET, timeout=5)
    with pytest.raises(DeliveryError) as err:
        bad.login_check()
    assert "refused the login" in str(err.value) and err.value.permanent is False
    assert SECRET not in str(err.value) and SECRET not in repr(bad) and SECRET not in repr(good)


def test_smtp_starttls_missing_is_config_error(smtpd: tuple[RecordingHandler, int]) -> None:
    _, port = smtpd
    with pytest.raises(ConfigError, match="does not offer STARTTLS"):
        SmtpTransport("127.0.0.1", port, "starttls", None, None, timeout=5).login_check()


def test_smtp_unreachable_is_temporary() -> None:
    transport = SmtpTransport("127.0.0.1", free_port(), "none", None, None, timeout=5)
    with pytest.raises(DeliveryError) as err:
        transport.send(message())
    assert err.value.permanent is False and "cannot connect" in str(err.value)


def test_smtp_config_guards() -> None:
    with pytest.raises(ConfigError, match="loopback"):
        SmtpTransport("smtp.example.org", 25, "none", None, None)
    for host in ("localhost", "127.0.0.1", "::1"):
        SmtpTransport(host, 25, "none", None, None)  # allowed, not connected
    with pytest.raises(ConfigError, match="SMTP_PASSWORD"):
        SmtpTransport("smtp.example.org", 587, "starttls", "talent", None)
    with pytest.raises(ConfigError):
        SmtpTransport("smtp.example.org", 587, "tls", None, None)  # type: ignore[arg-type]


# --- One contract for every transport ---------------------------------------------------------
# File, SMTP (password), Microsoft Graph and SMTP XOAUTH2 (Exchange Online via msal, Google via
# google-auth) each run the same tests against a real receiving end: the disk, aiosmtpd, the
# sandbox's Graph flavour. The rigs live in tests/mail_rigs.py.

from mail_rigs import Rig, make_rig  # noqa: E402 - the contract below is this file's second half

from interview_sync.errors import AuthRefused  # noqa: E402
from interview_sync.ics import build_ics  # noqa: E402
from interview_sync.mail.message import Attachment  # noqa: E402


def rich_message(mid: str) -> Any:
    """A message with everything a real send carries: our headers, an .ics invite, a PDF."""
    rendered = Rendered(subject="Interview confirmed: Registered Nurse – ICU", text="Hi Zoë,\n",
                        html="<p>Hi Zoë,</p>\n", kind="confirmation")
    ics = build_ics(method="REQUEST", uid="is-17001-abc@mv.example", sequence=2,
                    start=datetime(2026, 12, 3, 18, tzinfo=timezone.utc),
                    end=datetime(2026, 12, 3, 18, 30, tzinfo=timezone.utc),
                    dtstamp=datetime(2026, 11, 24, 9, tzinfo=timezone.utc), summary="Interview",
                    description="", location=None, organizer=("Talent", "talent@mv.example"),
                    attendees=[("Zoë", "zoe+nurse@example.org")])
    return build_message(sender="Talent <talent@mv.example>", to_name="Zoë O'Brien-Nguyễn",
                         to_email="zoe+nurse@example.org", rendered=rendered, message_id=mid,
                         headers={"X-Interview-Sync-Ref": "is-17001-abc"},
                         attachments=[Attachment.ics(ics, "REQUEST"),
                                      Attachment("directions.pdf", b"%PDF-1.4 fake", "application/pdf")],
                         date=datetime(2026, 11, 24, 9, 0, tzinfo=timezone.utc))


@pytest.fixture(params=["file", "smtp", "graph", "smtp-xoauth2-microsoft", "smtp-xoauth2-google"])
def rig(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Rig]:
    with make_rig(request.param, tmp_path) as built:
        yield built


class TestTransportContract:
    """What the executor relies on from any transport."""

    def test_is_a_transport_and_hides_its_secret(self, rig: Rig) -> None:
        transport = rig.make()
        assert isinstance(transport, Transport)
        assert rig.secret not in repr(transport)

    def test_delivers_the_message_as_built(self, rig: Rig) -> None:
        sent = rich_message("<is-17001-abc.0001@mv.example>")
        with rig.make() as transport:
            transport.send(sent)
        (raw,) = rig.delivered()
        got = email.message_from_bytes(raw, policy=policy.default)
        for header in ("Message-ID", "X-Interview-Sync-Ref", "X-Interview-Sync-Kind", "Subject", "Date"):
            assert str(got[header]) == str(sent[header]), header
        assert got["To"].addresses[0].display_name == "Zoë O'Brien-Nguyễn"
        parts = {part.get_content_type(): part for part in got.walk()}
        assert parts["text/calendar"].get_param("method") == "REQUEST"
        assert b"UID:is-17001-abc@mv.example" in parts["application/ics"].get_payload(decode=True)
        assert parts["application/pdf"].get_payload(decode=True) == b"%PDF-1.4 fake"

    def test_several_messages_in_one_poll_arrive_once_each_in_order(self, rig: Rig) -> None:
        with rig.make() as transport:
            for i in range(3):
                transport.send(rich_message(f"<is-1.{i}@mv.example>"))
        ids = [str(email.message_from_bytes(raw, policy=policy.default)["Message-ID"]) for raw in rig.delivered()]
        assert ids == [f"<is-1.{i}@mv.example>" for i in range(3)]
        assert rig.logins() <= rig.logins_per_poll  # one connection, one token for the whole poll

    def test_a_refused_login_is_reported_once_per_poll_and_then_fails_fast(self, rig: Rig) -> None:
        if rig.make_refused is None:
            pytest.skip("the file transport has no login")
        transport = rig.make_refused()

        def poll(*mids: str) -> list[AuthRefused]:
            """One poll's worth of sends; SMTP may already be refused when the poll opens it."""
            refusals: list[AuthRefused] = []
            try:
                transport.__enter__()
            except AuthRefused as refused:
                refusals.append(refused)
            for mid in mids:
                with pytest.raises(AuthRefused) as refused_send:
                    transport.send(rich_message(mid))
                refusals.append(refused_send.value)
            transport.__exit__(None, None, None)
            return refusals

        first, *rest = poll("<a@mv.example>", "<b@mv.example>", "<c@mv.example>")
        attempts = rig.logins()
        assert attempts >= 1 and first.repeated is False and first.permanent is False
        assert rig.secret not in str(first)
        assert len(rest) >= 2 and all(r.repeated and str(r) == str(first) for r in rest)
        assert rig.logins() == attempts  # nothing was asked again within the poll
        next_first, *_ = poll("<d@mv.example>")  # the next poll tries once more
        assert next_first.repeated is False and rig.logins() > attempts
        assert rig.delivered() == []
