"""Issue 13, reading half: bounces, replies, auto-replies and declined invites read back
from the mailbox, over a real IMAP server and over Microsoft Graph's wire format.

Acceptance 2: a DSN bounce, a non-standard bounce, a reply, an auto-reply and a
declined calendar reply each produce exactly their outcome, once, across
repeated polls, for both mailbox providers: IMAP (a real server over a socket),
Graph over its documented wire format (`responses`), and Graph against the
sandbox's Microsoft 365 flavour over real HTTP.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import responses
from harness import Harness
from imap_server import ImapServer
from mailbox_rigs import CLIENT_ID, CLIENT_SECRET, TENANT, GraphMailbox

from interview_sync.sandbox import graph as sandbox_graph
from interview_sync.sandbox import mailback as samples
from interview_sync.config import MailboxConfig
from interview_sync.invitation import State
from interview_sync.mailbox.factory import build_reader

TALENT = "talent@mercyvalley.example"
ZOE, JOSE, SIOBHAN, KWAME, EMILY, FATIMA = "17001", "17002", "17003", "17004", "17005", "17007"
EMAILS = {ZOE: "zoe+nurse@example.org", JOSE: "jose.martinez@example.com",
          SIOBHAN: "siobhan.nibhriain+rt@example.net", KWAME: "kwame.mensah@example.org",
          EMILY: "emily.chen@example.com", FATIMA: "fatima.alsayed+cna@example.org"}
MARIA = "maria.delgado@mercyvalley.example"  # Emily's hiring manager


class Rig:
    """A baselined harness whose poll reads a mailbox; ``deliver`` drops a message in it."""

    def __init__(self, h: Harness, deliver: Callable[[bytes], Any]) -> None:
        self.h, self.deliver = h, deliver

    def ref(self, app: str) -> str:
        return self.h.invitation(app).ref

    def message_id(self, address: str, kind: str, index: int = 0) -> str:
        return str(self.h.emails_to(address, kind)[index]["Message-ID"])

    def alerts(self, app: str) -> list[EmailMessage]:
        ref = self.ref(app)
        return [m for m in self.h.emails() if m["X-Interview-Sync-Kind"] == "recruiter_alert"
                and m["X-Interview-Sync-Ref"] == ref]

    def events(self, app: str, *names: str) -> list[dict[str, Any]]:
        ref = self.ref(app)
        return [r for r in self.h.ctx.db.iter_audit() if r["invitation_ref"] == ref and r["event"] in names]


def _harness(tmp: Path) -> Harness:
    h = Harness(tmp)
    h.poll()
    return h


@pytest.fixture(params=["imap", "graph", "graph-sandbox"])
def rig(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Rig]:
    h = _harness(tmp_path)
    try:
        if request.param == "imap":
            with ImapServer() as server:
                server.mailbox.username = TALENT
                h.settings.mailbox = MailboxConfig(provider="imap", host="127.0.0.1", port=server.port,
                                                   security="none", password=server.mailbox.password)
                h.ctx.mailbox = build_reader(h.settings, h.clock)
                yield Rig(h, lambda raw: server.mailbox.add(raw, h.clock.now()))
                assert not {"STORE", "EXPUNGE", "SELECT", "UID STORE"} & set(server.mailbox.commands)
        elif request.param == "graph-sandbox":  # the sandbox's Microsoft 365 flavour, over real HTTP
            h.settings.mailbox = MailboxConfig(**samples.mailbox_settings(h.server.url))
            h.ctx.mailbox = build_reader(h.settings, h.clock)
            yield Rig(h, lambda raw: sandbox_graph.deliver(h.world, TALENT, raw))
        else:
            with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
                rsps.add_passthru(h.server.url)
                graph = GraphMailbox(rsps, TALENT, h.clock.now)
                h.settings.mailbox = MailboxConfig(provider="graph", tenant_id=TENANT, client_id=CLIENT_ID,
                                                   client_secret=CLIENT_SECRET)
                h.ctx.mailbox = build_reader(h.settings, h.clock)
                yield Rig(h, graph.add)
    finally:
        h.close()


def _invite_all(rig: Rig, *apps: str) -> None:
    rig.h.at(0.1)
    for app in apps:
        rig.h.sandbox.move(app, "Phone Screen")
    rig.h.poll()
    for app in apps:
        assert rig.h.invitation(app).state is State.INVITED


def test_each_message_has_exactly_its_outcome_once_across_polls(rig: Rig) -> None:
    h = rig.h
    _invite_all(rig, ZOE, JOSE, SIOBHAN, KWAME, EMILY)
    h.at(2.5)
    h.sandbox.book(EMILY)
    h.poll()
    assert h.invitation(EMILY).state is State.BOOKED
    notes_before = {app: len(h.notes(h.app_id(app))) for app in (ZOE, JOSE, SIOBHAN, KWAME, EMILY)}

    h.at(3)
    rig.deliver(samples.dsn(rig.message_id(EMAILS[ZOE], "invite"), rig.ref(ZOE), EMAILS[ZOE]))
    rig.deliver(samples.qmail_bounce(rig.message_id(EMAILS[JOSE], "invite"), rig.ref(JOSE), EMAILS[JOSE]))
    rig.deliver(samples.reply(rig.message_id(EMAILS[SIOBHAN], "invite"), f"Siobhán <{EMAILS[SIOBHAN]}>"))
    rig.deliver(samples.auto_reply(rig.message_id(EMAILS[KWAME], "invite"), EMAILS[KWAME]))
    rig.deliver(samples.declined(rig.message_id(MARIA, "hm_booking"), f"{rig.ref(EMILY)}@interview-sync", MARIA))
    rig.deliver(samples.newsletter())
    for hours in (3.1, 3.2, 3.3):  # the same messages are in every read window (Graph overlap)
        h.at(hours)
        report = h.poll()
        assert report.errors == []

    # DSN (RFC 3464), hard: parked, one alert naming the address and the reason, ATS note, audit event
    zoe = h.invitation(ZOE)
    assert zoe.state is State.NEEDS_ATTENTION
    [alert] = rig.alerts(ZOE)
    assert EMAILS[ZOE] in alert.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "5.1.1" in zoe.attention_reason and "User unknown" in zoe.attention_reason
    assert len(h.notes(h.app_id(ZOE))) == notes_before[ZOE] + 1 and "bounced" in h.notes(h.app_id(ZOE))[-1]
    assert len(rig.events(ZOE, "mail_bounced")) == 1
    assert zoe.alerts == 1 and len(rig.events(ZOE, "alert")) == 1

    # the non-standard (qmail) bounce: the same outcome through flufl.bounce
    jose = h.invitation(JOSE)
    assert jose.state is State.NEEDS_ATTENTION and EMAILS[JOSE] in (jose.attention_reason or "")
    assert len(rig.alerts(JOSE)) == 1 and len(rig.events(JOSE, "mail_bounced")) == 1
    assert len(h.notes(h.app_id(JOSE))) == notes_before[JOSE] + 1

    # the reply: one alert with the candidate's name and an excerpt, note, audit event, follow-up held
    siobhan = h.invitation(SIOBHAN)
    [alert] = rig.alerts(SIOBHAN)
    body = alert.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "Siobhán Ní Bhriain" in body and "None of these times work for me" in body
    assert "wrote:" not in body and "tracker.example" not in body  # no quoted original, no HTML
    assert siobhan.state is State.NEEDS_ATTENTION
    assert len(rig.events(SIOBHAN, "mail_reply")) == 1
    assert siobhan.alerts == 1 and len(rig.events(SIOBHAN, "alert")) == 1
    assert len(h.notes(h.app_id(SIOBHAN))) == notes_before[SIOBHAN] + 1

    # the auto-reply: an audit event and nothing else
    kwame = h.invitation(KWAME)
    assert kwame.state is State.INVITED and rig.alerts(KWAME) == []
    assert len(rig.events(KWAME, "mail_auto_reply")) == 1
    assert len(h.notes(h.app_id(KWAME))) == notes_before[KWAME]

    # the hiring manager's iTIP REPLY with PARTSTAT=DECLINED: one recruiter alert, booking kept
    emily = h.invitation(EMILY)
    [alert] = rig.alerts(EMILY)
    assert "declined the calendar invitation" in alert.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert emily.state is State.BOOKED and len(rig.events(EMILY, "mail_declined")) == 1
    assert emily.alerts == 1 and len(rig.events(EMILY, "alert")) == 1

    # two days on: the follow-up goes to the auto-replier, not to the candidate who wrote back
    h.at(50)
    h.poll()
    assert len(h.emails_to(EMAILS[KWAME], "followup")) == 1
    assert h.emails_to(EMAILS[SIOBHAN], "followup") == []
    assert h.emails_to(EMAILS[ZOE], "followup") == []

    # `history` tells each in words
    story = h.cli("history", h.app_id(ZOE))
    assert story.exit_code == 0 and f"an email to {EMAILS[ZOE]} came back undelivered: hard bounce" in story.stdout
    assert "an answer came back by email: reply to invite: None of these times" in h.cli("history",
                                                                                       h.app_id(SIOBHAN)).stdout

    # `report` counts them per week of the stage change: two bounces, one reply (auto-replies are not replies)
    result = h.cli("report", "--json", "--now", "2026-12-02T18:00:00Z")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (data["overall"]["bounces"], data["overall"]["replies"]) == (2, 1)
    assert [(w["bounces"], w["replies"]) for w in data["weeks"] if w["invitations"]] == [(2, 1)]


def test_soft_bounce_is_retried_once_then_alerted(rig: Rig) -> None:
    h = rig.h
    _invite_all(rig, FATIMA)
    address = EMAILS[FATIMA]
    h.at(3)
    rig.deliver(samples.dsn(rig.message_id(address, "invite"), rig.ref(FATIMA), address, status="4.2.2",
                            diagnostic="452 4.2.2 Mailbox full", message_id="<delay-1@mx.example>"))
    for hours in (3.1, 3.2):
        h.at(hours)
        h.poll()
    invites = h.emails_to(address, "invite")
    assert len(invites) == 2 and invites[0]["Message-ID"] != invites[1]["Message-ID"]
    assert rig.alerts(FATIMA) == [] and h.invitation(FATIMA).state is State.INVITED
    assert len(rig.events(FATIMA, "mail_soft_bounce")) == 1

    h.at(4)
    rig.deliver(samples.dsn(str(invites[1]["Message-ID"]), rig.ref(FATIMA), address, status="4.2.2",
                            diagnostic="452 4.2.2 Mailbox full", message_id="<delay-2@mx.example>"))
    for hours in (4.1, 4.2):
        h.at(hours)
        h.poll()
    assert len(h.emails_to(address, "invite")) == 2
    [alert] = rig.alerts(FATIMA)
    assert "after one retry" in alert.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert h.invitation(FATIMA).state is State.NEEDS_ATTENTION


def test_messages_that_point_at_nothing_of_ours_change_nothing(rig: Rig) -> None:
    """A forged bounce naming a real reference but an address we never wrote to, a reply to
    someone else's message, and mail from a candidate's own address without a reference."""
    h = rig.h
    _invite_all(rig, ZOE)
    h.at(3)
    rig.deliver(samples.dsn("<not-ours@elsewhere.example>", rig.ref(ZOE), "attacker@evil.example"))
    rig.deliver(samples.reply("<someone-else@elsewhere.example>", EMAILS[ZOE]))
    rig.deliver(samples.declined("<x@elsewhere.example>", f"{rig.ref(ZOE)}@interview-sync", "attacker@evil.example"))
    h.at(3.1)
    h.poll()
    assert h.invitation(ZOE).state is State.INVITED and rig.alerts(ZOE) == []
    assert rig.events(ZOE, "mail_bounced", "mail_reply", "mail_declined", "mail_auto_reply") == []


def test_mail_answering_our_own_alerts_never_alerts_again(rig: Rig) -> None:
    """A recruiter's reply to an alert is not the candidate's; a bounced alert reaches no one,
    so it is reported once (exit 1), not alerted about."""
    h = rig.h
    h.at(0.1)
    h.sandbox.move("17006", "Phone Screen")  # no hiring manager: one alert to the recruiter
    h.poll()
    tom = "tom.becker@mercyvalley.example"
    [alert] = h.emails_to(tom, "recruiter_alert")
    h.at(1)
    rig.deliver(samples.reply(str(alert["Message-ID"]), f"Tom <{tom}>", text="On it, thanks",
                              message_id="<tom-1@mercyvalley.example>"))
    rig.deliver(samples.dsn(str(alert["Message-ID"]), rig.ref("17006"), tom, message_id="<dsn-tom@mx.example>"))
    h.at(1.1)
    first = h.poll()
    h.at(1.2)
    second = h.poll()
    assert len(h.emails_to(tom, "recruiter_alert")) == 1
    assert [e for e in first.errors if "recruiter alert to tom.becker" in e] and second.errors == []
    assert len(rig.events("17006", "mail_bounced")) == 1 and rig.events("17006", "mail_reply") == []


def test_a_candidate_declining_a_calendar_invite_is_named_as_the_candidate(rig: Rig) -> None:
    """The sending half can put a calendar invite in the candidate's confirmation too (same UID)."""
    h = rig.h
    _invite_all(rig, EMILY)
    h.at(2.5)
    h.sandbox.book(EMILY)
    h.poll()
    h.at(3)
    rig.deliver(samples.declined("<their-client@example.com>", f"{rig.ref(EMILY)}@interview-sync", EMAILS[EMILY],
                                 message_id="<emily-declines@example.com>"))
    h.at(3.1)
    h.poll()
    [alert] = rig.alerts(EMILY)
    body = alert.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "Emily Chen declined the calendar invitation for their interview" in body


def test_dry_run_plans_what_the_mailbox_brought_and_changes_nothing(rig: Rig) -> None:
    h = rig.h
    _invite_all(rig, ZOE)
    h.at(3)
    rig.deliver(samples.dsn(rig.message_id(EMAILS[ZOE], "invite"), rig.ref(ZOE), EMAILS[ZOE]))
    h.at(3.1)
    cursor = h.ctx.db.get_cursor("mailbox")
    h.poll(dry_run=True)
    assert rig.alerts(ZOE) == [] and h.invitation(ZOE).state is State.INVITED
    assert any("bounce" in f"{row.action} {row.detail}" for row in h.last_plan)
    assert h.ctx.db.get_cursor("mailbox") == cursor  # the next real poll reads the same messages
    h.poll()
    assert len(rig.alerts(ZOE)) == 1 and h.invitation(ZOE).state is State.NEEDS_ATTENTION
