"""The mailbox readers and the classifier on their own: IMAP over a real socket, Graph over
its documented wire format, and every kind of message a recruiting mailbox gets back."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import responses
from hypothesis import given, settings
from hypothesis import strategies as st
from imap_server import ImapServer
from mailbox_rigs import CLIENT_ID, CLIENT_SECRET, GRAPH, LOGIN, TENANT, GraphMailbox

from interview_sync.clock import FixedClock
from interview_sync.errors import ConfigError, ForeignOrigin, VendorAuthError
from interview_sync.http import VendorSession
from interview_sync.mailbox.classify import AUTO_REPLY, BOUNCE, DECLINED, OTHER, REPLY, classify
from interview_sync.mailbox.graph import GraphReader
from interview_sync.mailbox.imap import ImapReader
from interview_sync.mailbox.tokens import GRAPH_SCOPE, ClientCredentials
from interview_sync.sandbox import mailback as samples

NOW = datetime(2026, 11, 30, 18, 0, tzinfo=timezone.utc)
OURS = "<is-17001-abc.0123456789abcdef0123@mercyvalley.example>"
REF = "is-17001-abc"


# --- classifier ---------------------------------------------------------------------------

def test_rfc3464_hard_and_soft_bounces() -> None:
    hard = classify(samples.dsn(OURS, REF, "zoe@example.org"))
    assert (hard.kind, hard.hard, hard.address, hard.points_at, hard.ref_hint) == \
        (BOUNCE, True, "zoe@example.org", (OURS,), REF)
    assert hard.reason.startswith("5.1.1") and "User unknown" in hard.reason
    soft = classify(samples.dsn(OURS, REF, "zoe@example.org", status="4.2.2", diagnostic="452 4.2.2 full"))
    assert soft.kind == BOUNCE and soft.hard is False and soft.reason.startswith("4.2.2")


def test_non_standard_bounce_through_flufl() -> None:
    found = classify(samples.qmail_bounce(OURS, REF, "jose@example.com"))
    assert (found.kind, found.hard, found.address, found.points_at, found.ref_hint) == \
        (BOUNCE, True, "jose@example.com", (OURS,), REF)
    assert "5.1.1" in (found.reason or "")


def test_reply_excerpt_is_plain_capped_and_without_the_quote() -> None:
    found = classify(samples.reply(OURS, "Siobhán <s@example.net>", text="Thanks!\u202e exe.txt " + "x" * 600))
    assert found.kind == REPLY and found.points_at == (OURS,)
    assert found.excerpt is not None and len(found.excerpt) <= 280 and found.excerpt.endswith("…")
    assert "\u202e" not in found.excerpt and "wrote" not in found.excerpt
    html_only = classify(samples.reply(OURS, "s@example.net", html_only=True))
    assert html_only.kind == REPLY and html_only.excerpt is None  # HTML is never parsed


@pytest.mark.parametrize("header", [("Auto-Submitted", "auto-replied"), ("X-Autoreply", "yes"),
                                    ("Precedence", "auto_reply"), ("Subject", "Out of Office: Re: your interview")])
def test_auto_replies_by_header_or_subject(header: tuple[str, str]) -> None:
    raw = samples.reply(OURS, "k@example.org").replace(b"Subject: Re: Schedule your interview",
                                                      f"{header[0]}: {header[1]}".encode()
                                                      if header[0] == "Subject" else
                                                      f"Subject: Re: x\r\n{header[0]}: {header[1]}".encode())
    assert classify(raw).kind == AUTO_REPLY
    assert classify(samples.auto_reply(OURS, "k@example.org")).kind == AUTO_REPLY


def test_declined_itip_reply_and_other_mail() -> None:
    found = classify(samples.declined(OURS, f"{REF}@interview-sync", "maria@example.org"))
    assert (found.kind, found.ref_hint, found.address) == (DECLINED, REF, "maria@example.org")
    accepted = samples.declined(OURS, f"{REF}@interview-sync", "maria@example.org").replace(
        b"PARTSTAT=DECLINED", b"PARTSTAT=ACCEPTED")
    assert classify(accepted).kind == REPLY  # an acceptance is just a reply to a person
    assert classify(samples.newsletter()).kind == OTHER


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=2000), st.sampled_from([b"", b"Content-Type: multipart/report; report-type=delivery-status; "
                                                  b"boundary=b\r\n\r\n--b\r\nContent-Type: message/delivery-status"
                                                  b"\r\n\r\n", b"In-Reply-To: <a@b>\r\nContent-Type: text/calendar"
                                                  b"\r\n\r\nBEGIN:VCALENDAR\r\nMETHOD:REPLY\r\n"]))
def test_classify_never_raises_on_arbitrary_input(tail: bytes, head: bytes) -> None:
    found = classify(head + tail)
    assert found.kind in (OTHER, BOUNCE, REPLY, AUTO_REPLY, DECLINED)
    for text in (found.excerpt, found.reason, found.address):
        assert text is None or ("\n" not in text and "\r" not in text and len(text) <= 280)


def test_hostile_bytes_never_raise() -> None:
    for raw in (b"", b"\x00\xff" * 50, b"Content-Type: multipart/report; report-type=delivery-status\r\n\r\n--",
                b"Content-Type: text/calendar\r\n\r\nBEGIN:VCALENDAR\r\nMETHOD:REPLY\r\n"):
        assert classify(raw).kind in (OTHER, BOUNCE, REPLY, AUTO_REPLY, DECLINED)


# --- IMAP ----------------------------------------------------------------------------------

def _imap(server: ImapServer, **kw: object) -> ImapReader:
    args = {"host": "127.0.0.1", "port": server.port, "username": server.mailbox.username, "security": "none",
            "password": server.mailbox.password} | kw
    return ImapReader(**args)  # type: ignore[arg-type]


def test_imap_cursor_reads_only_new_messages_and_never_writes() -> None:
    with ImapServer() as server:
        server.mailbox.add(samples.newsletter(), NOW - timedelta(days=5))  # older than the first look-back
        server.mailbox.add(samples.reply(OURS, "a@example.org"), NOW)
        reader = _imap(server)
        first = reader.read(None, NOW)
        assert [m.server_id for m in first.mails] == ["7001:2"] and first.cursor == "7001:2"
        again = reader.read(first.cursor, NOW)
        assert again.mails == [] and again.cursor == "7001:2"  # "3:*" still answers UID 2; not re-read
        server.mailbox.add(samples.auto_reply(OURS, "a@example.org"), NOW)
        third = reader.read(again.cursor, NOW)
        assert [m.server_id for m in third.mails] == ["7001:3"]
        assert not {"STORE", "UID STORE", "EXPUNGE", "SELECT"} & set(server.mailbox.commands)


def test_imap_new_uidvalidity_starts_over_with_the_lookback() -> None:
    with ImapServer() as server:
        server.mailbox.add(samples.reply(OURS, "a@example.org"), NOW)
        reader = _imap(server)
        cursor = reader.read(None, NOW).cursor
        server.mailbox.renumber()
        batch = reader.read(cursor, NOW)
        assert [m.server_id for m in batch.mails] == ["7002:1"] and batch.cursor == "7002:1"


def test_imap_xoauth2_and_refusals() -> None:
    with ImapServer() as server:
        server.mailbox.add(samples.reply(OURS, "a@example.org"), NOW)
        tokens = iter(["imap-token"])
        assert len(_imap(server, password=None, token=lambda: next(tokens)).read(None, NOW).mails) == 1
        assert "AUTHENTICATE" in server.mailbox.commands
        with pytest.raises(VendorAuthError, match="refused the XOAUTH2 token"):
            _imap(server, password=None, token=lambda: "stale").read(None, NOW)
        with pytest.raises(VendorAuthError) as refused:
            _imap(server, password="wrong-secret-value").read(None, NOW)
        assert "wrong-secret-value" not in str(refused.value)
    with pytest.raises(ConfigError):
        ImapReader(host="h", port=1, username="u")


# --- Graph ---------------------------------------------------------------------------------

def _graph(clock: FixedClock, page_size: int = 2) -> GraphReader:
    tokens = ClientCredentials(session=VendorSession("entra"), authority_url=LOGIN, tenant_id=TENANT,
                               client_id=CLIENT_ID, client_secret=CLIENT_SECRET, scope=GRAPH_SCOPE, clock=clock)
    return GraphReader(session=VendorSession("graph", retries=0), graph_url=GRAPH, mailbox="talent@example.org",
                       tokens=tokens, page_size=page_size)


@responses.activate
def test_graph_pages_through_next_links_and_moves_the_cursor_with_overlap() -> None:
    clock = FixedClock(NOW - timedelta(minutes=30))
    fake = GraphMailbox(responses.mock, "talent@example.org", clock.now)
    for n in range(5):
        fake.add(samples.reply(OURS, "a@example.org", message_id=f"<r{n}@example.org>"))
    clock.set(NOW)
    reader = _graph(clock)
    batch = reader.read(None, NOW)
    assert [m.server_id for m in batch.mails] == [f"AAMkAD{n:06d}=" for n in range(1, 6)]
    assert batch.mails[0].raw.startswith(b"From:") or b"Message-ID" in batch.mails[0].raw
    listings = [u for u in fake.requests if "mailFolders/inbox/messages" in u]
    assert len(listings) == 3 and "receivedDateTime+ge+2026-11-28T18%3A00%3A00Z" in listings[0].replace(" ", "+")
    clock.set(NOW + timedelta(minutes=20))
    fake.add(samples.auto_reply(OURS, "a@example.org"))
    later = reader.read(batch.cursor, clock.now())
    # read again from the cursor (this read's start) less the 10-minute overlap: only the new one
    assert [m.server_id for m in later.mails] == ["AAMkAD000006="]
    token_calls = [c for c in responses.calls if c.request.url.endswith("/oauth2/v2.0/token")]
    assert len(token_calls) == 1  # cached across requests and reads (refreshed 5 minutes before expiry)
    clock.set(NOW + timedelta(minutes=56))
    reader.read(later.cursor, clock.now())
    assert len([c for c in responses.calls if c.request.url.endswith("/oauth2/v2.0/token")]) == 2


@responses.activate
def test_graph_follows_no_next_link_off_the_configured_origin() -> None:
    responses.add(responses.GET, f"{GRAPH}/users/talent@example.org/mailFolders/inbox/messages",
                  json={"value": [{"id": "AAMk1", "receivedDateTime": "2026-11-30T17:00:00Z"}],
                        "@odata.nextLink": "https://evil.example/steal"})
    reader = GraphReader(session=VendorSession("graph", retries=0), graph_url=GRAPH, mailbox="talent@example.org",
                         tokens=lambda: "secret-token")
    with pytest.raises(ForeignOrigin):
        reader.read(None, NOW)
    assert all("evil.example" not in call.request.url for call in responses.calls)


def test_doctor_signs_in_to_the_mailbox_without_reading_it(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from interview_sync.config import MailboxConfig, Settings
    from interview_sync.doctor import Doctor, _guard

    with ImapServer() as server:
        server.mailbox.add(samples.reply(OURS, "a@example.org"), NOW)
        settings = Settings(mailbox=MailboxConfig(provider="imap", host="127.0.0.1", port=server.port,
                                                  security="none", username=server.mailbox.username,
                                                  password=server.mailbox.password))
        [check] = Doctor(settings, clock=FixedClock(NOW)).mailbox()
        assert check.ok and "1 message(s)" in check.detail and "read-only" in check.detail
        assert "UID FETCH" not in server.mailbox.commands
        settings.mailbox.password = type(settings.mailbox.password)("nope")
        [failed] = _guard("mailbox", "check the [mailbox] section", Doctor(settings, clock=FixedClock(NOW)).mailbox)
        assert not failed.ok and "refused the password" in failed.detail and "nope" not in failed.detail


def test_matching_by_message_id_uses_an_index() -> None:
    """Each message read back is looked up by Message-ID: a scan of a 100k-row outbox took
    about 20 ms per lookup (4 s for a 200-message poll), the index makes it a seek."""
    from interview_sync.state import StateDB

    db = StateDB.memory()
    plan = " ".join(str(row) for row in db.conn.execute(
        "EXPLAIN QUERY PLAN SELECT key FROM outbox WHERE message_id = ?", ["<x@y>"]).fetchall())
    assert "USING INDEX" in plan and "message_id" in plan


@pytest.mark.parametrize("section, expected", [
    ('provider = "graph"\n', "mailbox tenant_id, client_id, client_secret empty"),
    ('provider = "imap"\n', "set mailbox.host"),
    ('provider = "imap"\nhost = "imap.example.org"\n', "password is empty"),
    ('provider = "imap"\nhost = "imap.example.org"\nsecurity = "none"\npassword = "x"\n', "loopback host"),
    ('provider = "pop3"\n', "mailbox.provider"),
    ('provider = "graph"\ngraph_url = "http://graph.example.org/v1.0"\n', "use https://"),
])
def test_mailbox_config_errors_are_one_line_naming_the_key(tmp_path, section: str, expected: str) -> None:  # type: ignore[no-untyped-def]
    from interview_sync.config import load_settings

    path = tmp_path / "c.toml"
    path.write_text("[mailbox]\n" + section, encoding="utf-8")
    with pytest.raises(ConfigError) as refused:
        load_settings(path)
    assert expected in str(refused.value) and "\n" not in str(refused.value)


@responses.activate
def test_graph_stops_at_an_empty_page_that_links_to_itself() -> None:
    url = f"{GRAPH}/users/talent@example.org/mailFolders/inbox/messages"
    responses.add(responses.GET, url, json={"value": [], "@odata.nextLink": url + "?$skip=0"})
    reader = GraphReader(session=VendorSession("graph", retries=0), graph_url=GRAPH, mailbox="talent@example.org",
                         tokens=lambda: "t")
    assert reader.read(None, NOW).mails == [] and len(responses.calls) == 1


@responses.activate
def test_imap_xoauth2_with_the_google_service_account_of_the_email_settings(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Google Workspace: the sending half's service account (domain-wide delegation, scope
    https://mail.google.com/) signs in to IMAP for the same mailbox."""
    from mail_rigs import GOOGLE_TOKEN_URI, MAILBOX, GoogleFake, write_service_account

    from interview_sync.config import EmailConfig, MailboxConfig, Settings
    from interview_sync.mail import oauth
    from interview_sync.mailbox.factory import build_reader

    oauth._CREDENTIALS.clear()
    fake = GoogleFake()
    responses.add_callback(responses.POST, GOOGLE_TOKEN_URI, callback=fake)
    key = write_service_account(tmp_path / "sa.json")
    with ImapServer() as server:
        server.mailbox.username = MAILBOX
        server.mailbox.issued = fake.issued
        server.mailbox.add(samples.reply(OURS, "a@example.org"), NOW)
        settings = Settings(email=EmailConfig(transport="file", **{"from": MAILBOX}, service_account_file=key),
                            mailbox=MailboxConfig(provider="imap", host="127.0.0.1", port=server.port, security="none",
                                                  auth="xoauth2"))
        reader = build_reader(settings, FixedClock(NOW))
        assert reader is not None and len(reader.read(None, NOW).mails) == 1
        assert fake.requests == 1 and fake.assertions[0]["sub"] == MAILBOX
