"""Issue 13, sending: app-only OAuth for Microsoft 365 (Graph, SMTP XOAUTH2) and Google Workspace.

Tokens come from the sandbox's Entra flavour through msal (a real msal client
on the wire) or from a ``responses`` fake of Google's JWT bearer grant. Time
moves with time-machine, never by sleeping.
"""

from __future__ import annotations

import email
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from email import policy
from pathlib import Path
from typing import Any

import pytest
import responses
import time_machine
from harness import Harness
from mail_rigs import (GOOGLE_TOKEN_URI, MAILBOX, RECIPIENT, GoogleFake, MailServer, msal_tokens, sandbox,
                       smtp_server, write_service_account)
from test_transport import rich_message

from interview_sync.config import load_settings
from interview_sync.context import build_transport
from interview_sync.doctor import Doctor, basic_auth_warning
from interview_sync.clock import FixedClock
from interview_sync.errors import AuthRefused, ConfigError, DeliveryError
from interview_sync.mail import oauth
from interview_sync.mail.graph import GraphTransport
from interview_sync.mail.oauth import EXCHANGE_SMTP_SCOPE, GRAPH_SCOPE, GoogleTokens, MsalTokens
from interview_sync.mail.transport import SmtpTransport
from interview_sync.sandbox import SandboxServer, World
from interview_sync.sandbox import graph as sandbox_graph
from interview_sync.starter import write_config

T0 = datetime(2026, 11, 30, 16, 0, tzinfo=timezone.utc)


@pytest.fixture(autouse=True)
def fresh_token_caches() -> Iterator[None]:
    oauth._APPS.clear()
    oauth._CREDENTIALS.clear()
    yield
    oauth._APPS.clear()
    oauth._CREDENTIALS.clear()


@pytest.fixture
def graph_sandbox() -> Iterator[tuple[SandboxServer, World]]:
    with sandbox() as built:
        yield built


def graph(server: SandboxServer, secret: str = sandbox_graph.CLIENT_SECRET) -> GraphTransport:
    return GraphTransport(MAILBOX, msal_tokens(server, GRAPH_SCOPE, secret), server.url + "/v1.0", timeout=5)


def token_requests(world: World) -> int:
    return int(sandbox_graph.state(world)["token_requests"])


# --- token cache and refresh ------------------------------------------------------------------

def test_one_msal_client_per_process_serves_every_poll_from_its_cache(graph_sandbox: Any) -> None:
    server, world = graph_sandbox
    for poll in range(3):  # each poll builds its transport afresh, as build_context does
        with graph(server) as transport:
            transport.send(rich_message(f"<p{poll}a@mv.example>"))
            transport.send(rich_message(f"<p{poll}b@mv.example>"))
    assert token_requests(world) == 1
    assert len(sandbox_graph.state(world)["mailboxes"][RECIPIENT]) == 6


def test_msal_token_is_refreshed_before_it_expires(graph_sandbox: Any) -> None:
    server, world = graph_sandbox
    with time_machine.travel(T0, tick=False) as traveller:
        with graph(server) as transport:
            transport.send(rich_message("<t0@mv.example>"))
        traveller.shift(timedelta(minutes=40))
        with graph(server) as transport:
            transport.send(rich_message("<t40@mv.example>"))
        assert token_requests(world) == 1  # still fresh: served from msal's cache
        traveller.shift(timedelta(minutes=17))  # 57 min: the 59:59 token has under 5 minutes left
        with graph(server) as transport:
            transport.send(rich_message("<t57@mv.example>"))
        assert token_requests(world) == 2  # renewed while the old one was still valid
    assert len(sandbox_graph.state(world)["mailboxes"][RECIPIENT]) == 3


def test_google_token_refreshes_before_expiry_and_asserts_the_delegated_mailbox(tmp_path: Path) -> None:
    fake = GoogleFake()
    key_file = write_service_account(tmp_path / "sa.json")
    with responses.RequestsMock() as mock, time_machine.travel(T0, tick=False) as traveller:
        mock.add_callback(responses.POST, GOOGLE_TOKEN_URI, callback=fake)
        tokens = GoogleTokens(service_account_file=key_file, subject=MAILBOX)
        first = tokens.token()
        traveller.shift(timedelta(minutes=50))
        assert tokens.token() == first and fake.requests == 1
        next_cycle = GoogleTokens(service_account_file=key_file, subject=MAILBOX)  # a new transport, same process
        assert next_cycle.token() == first and fake.requests == 1
        traveller.shift(timedelta(minutes=7))  # under Google's refresh threshold before 59:59
        assert tokens.token() != first and fake.requests == 2
    claims = fake.assertions[0]
    assert claims["sub"] == MAILBOX and claims["scope"] == "https://mail.google.com/"
    assert claims["iss"] == "mailer@mv-mail.iam.gserviceaccount.com" and claims["aud"] == GOOGLE_TOKEN_URI


def test_google_refusal_names_domain_wide_delegation(tmp_path: Path) -> None:
    key_file = write_service_account(tmp_path / "sa.json")
    with responses.RequestsMock() as mock:
        mock.add_callback(responses.POST, GOOGLE_TOKEN_URI, callback=GoogleFake(delegated=False))
        with pytest.raises(AuthRefused) as refused:
            GoogleTokens(service_account_file=key_file, subject=MAILBOX).token()
    assert "unauthorized_client" in str(refused.value) and "domain-wide delegation" in str(refused.value)
    assert "\n" not in str(refused.value) and "BEGIN PRIVATE KEY" not in str(refused.value)


@pytest.mark.parametrize("content,expected", [(None, "does not exist"), ("{not json", "cannot be read as JSON"),
                                              ('{"type": "authorized_user"}', "not a service account key")])
def test_google_key_file_problems_are_one_line_config_errors(tmp_path: Path, content: str | None,
                                                             expected: str) -> None:
    path = tmp_path / "sa.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(ConfigError, match=expected) as err:
        GoogleTokens(service_account_file=path, subject=MAILBOX).token()
    assert "\n" not in str(err.value) and "service_account_file" in str(err.value)


# --- Graph answers ----------------------------------------------------------------------------

def test_graph_token_rejected_mid_life_is_forgotten_and_the_next_poll_recovers(graph_sandbox: Any) -> None:
    server, world = graph_sandbox
    with graph(server) as transport:
        transport.send(rich_message("<a@mv.example>"))
    sandbox_graph.state(world)["tokens"].clear()  # revoked on the server while msal still caches it
    with graph(server) as transport:
        with pytest.raises(AuthRefused, match="InvalidAuthenticationToken"):
            transport.send(rich_message("<b@mv.example>"))
        with pytest.raises(AuthRefused) as again:
            transport.send(rich_message("<c@mv.example>"))
        assert again.value.repeated
    with graph(server) as transport:
        transport.send(rich_message("<d@mv.example>"))
    assert token_requests(world) == 2
    ids = [str(email.message_from_bytes(r["mime"], policy=policy.default)["Message-ID"])
           for r in sandbox_graph.state(world)["mailboxes"][RECIPIENT]]
    assert ids == ["<a@mv.example>", "<d@mv.example>"]


def test_graph_mailbox_outside_the_rbac_scope_is_refused_with_the_fix(graph_sandbox: Any) -> None:
    server, world = graph_sandbox
    sandbox_graph.state(world)["mailbox_scope"] = {"recruiting@mv.example"}
    with graph(server) as transport, pytest.raises(AuthRefused) as refused:
        transport.send(rich_message("<a@mv.example>"))
    assert "ErrorAccessDenied" in str(refused.value) and "RBAC scope" in str(refused.value)


@pytest.mark.parametrize("status,permanent", [(429, False), (503, False), (400, True)])
def test_graph_throttling_is_temporary_and_a_rejected_message_is_permanent(graph_sandbox: Any, status: int,
                                                                           permanent: bool) -> None:
    server, world = graph_sandbox
    world.faults.append({"path": f"/v1.0/users/{MAILBOX}/sendMail", "status": status,
                         "headers": {"Retry-After": "7"},
                         "body": {"error": {"code": "ErrorInvalidRecipients" if status == 400 else "Throttled",
                                            "message": "nope"}}})
    with graph(server) as transport:
        with pytest.raises(DeliveryError) as failed:
            transport.send(rich_message("<a@mv.example>"))
        assert not isinstance(failed.value, AuthRefused) and failed.value.permanent is permanent
        transport.send(rich_message("<b@mv.example>"))  # one bad answer does not stop the poll
    assert f"HTTP {status}" in str(failed.value)


def test_graph_sends_mime_so_the_sandbox_stores_our_exact_bytes(graph_sandbox: Any) -> None:
    server, world = graph_sandbox
    sent = rich_message("<exact@mv.example>")
    with graph(server) as transport:
        transport.send(sent)
    (record,) = sandbox_graph.state(world)["mailboxes"][MAILBOX.casefold()]
    assert record["parentFolderId"] == "sentitems" and record["mime"] == sent.as_bytes(policy=policy.SMTP)


# --- SMTP XOAUTH2 ------------------------------------------------------------------------------

def test_exchange_xoauth2_asks_for_the_outlook_scope_and_a_server_refusal_forgets_the_token(
        graph_sandbox: Any) -> None:
    server, world = graph_sandbox
    accepted = {"scope": EXCHANGE_SMTP_SCOPE}

    def token_ok(user: str, token: str) -> bool:
        issued = sandbox_graph.state(world)["tokens"].get(token)
        return user == MAILBOX and issued is not None and issued["scope"] == accepted["scope"]

    handler = MailServer(token_ok=token_ok)
    with smtp_server(handler) as port:
        def transport() -> SmtpTransport:
            return SmtpTransport("127.0.0.1", port, "none", MAILBOX, None, timeout=5,
                                 tokens=msal_tokens(server, EXCHANGE_SMTP_SCOPE))

        assert "OAuth token" in transport().login_check()
        accepted["scope"] = "nothing"  # the mailbox lost SMTP.SendAsApp
        with pytest.raises(AuthRefused, match="535"):
            transport().login_check()
        accepted["scope"] = EXCHANGE_SMTP_SCOPE
        with transport() as smtp:
            smtp.send(rich_message("<x@mv.example>"))
    assert token_requests(world) == 2  # the refused token was dropped, not offered again
    assert len(handler.received) == 1


def test_xoauth2_against_a_server_without_the_mechanism_is_a_config_error(graph_sandbox: Any) -> None:
    server, world = graph_sandbox

    class PasswordOnly:  # no auth_XOAUTH2: the server offers LOGIN and PLAIN only
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            return "250 OK"

    with smtp_server(PasswordOnly(), password=True) as port:  # type: ignore[arg-type]
        transport = SmtpTransport("127.0.0.1", port, "none", MAILBOX, None, timeout=5,
                                  tokens=msal_tokens(server, EXCHANGE_SMTP_SCOPE))
        with pytest.raises(ConfigError, match="does not offer AUTH XOAUTH2") as err:
            transport.login_check()
    assert "LOGIN" in str(err.value) and token_requests(world) == 0  # no token asked for nothing


# --- optional extras ---------------------------------------------------------------------------

@pytest.mark.parametrize("module,extra", [("msal", "microsoft"), ("google.oauth2.service_account", "google")])
def test_a_missing_extra_is_a_config_error_naming_it(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                     module: str, extra: str) -> None:
    monkeypatch.setitem(sys.modules, module, None)  # import now raises ImportError
    if module == "msal":
        tokens: Any = MsalTokens(tenant_id="t", client_id="c", client_secret="s", scope=GRAPH_SCOPE)
    else:
        tokens = GoogleTokens(service_account_file=write_service_account(tmp_path / "sa.json"), subject=MAILBOX)
    with pytest.raises(ConfigError) as err:
        tokens.token()
    assert f"pip install 'interview-sync[{extra}]'" in str(err.value) and "\n" not in str(err.value)


# --- configuration -----------------------------------------------------------------------------

def settings_with(tmp_path: Path, **email: Any) -> Any:
    path = tmp_path / "interview-sync.toml"
    write_config(path, {"email": {"from": "Talent <talent@mv.example>", **email}})
    return load_settings(path)


def test_config_builds_each_oauth_transport_with_its_scope(tmp_path: Path) -> None:
    microsoft = {"tenant_id": "t-1", "client_id": "c-1", "client_secret": "s-1"}
    graph_t = build_transport(settings_with(tmp_path, transport="graph", **microsoft))
    assert isinstance(graph_t, GraphTransport) and graph_t.mailbox == MAILBOX
    assert isinstance(graph_t.tokens, MsalTokens) and graph_t.tokens.scope == GRAPH_SCOPE
    exo = build_transport(settings_with(tmp_path, transport="smtp", smtp_host="smtp.office365.com",
                                        smtp_auth="xoauth2", **microsoft))
    assert isinstance(exo, SmtpTransport) and exo.username == MAILBOX
    assert isinstance(exo.tokens, MsalTokens) and exo.tokens.scope == EXCHANGE_SMTP_SCOPE
    write_service_account(tmp_path / "sa.json")
    gmail = build_transport(settings_with(tmp_path, transport="smtp", smtp_host="smtp.gmail.com",
                                          smtp_auth="xoauth2", service_account_file="sa.json"))
    assert isinstance(gmail, SmtpTransport) and isinstance(gmail.tokens, GoogleTokens)
    assert gmail.tokens.subject == MAILBOX and gmail.tokens.path == tmp_path / "sa.json"  # relative to the file
    assert "s-1" not in repr(graph_t) and "s-1" not in repr(exo)


@pytest.mark.parametrize("email_cfg,words", [
    ({"transport": "graph"}, ["tenant_id, client_id, client_secret", "INTERVIEW_SYNC_EMAIL__CLIENT_SECRET"]),
    ({"transport": "graph", "tenant_id": "t", "client_id": "c"}, ["client_secret empty"]),
    ({"transport": "smtp", "smtp_host": "smtp.office365.com", "smtp_auth": "xoauth2"},
     ["service_account_file for Google"]),
    ({"transport": "graph", "tenant_id": "t", "client_id": "c", "client_secret": "s",
      "service_account_file": "sa.json"}, ["service_account_file is for Google"]),
    ({"smtp_auth": "kerberos"}, ["smtp_auth"]),
    ({"candidate_calendar_invite": "sometimes"}, ["candidate_calendar_invite"]),
])
def test_oauth_settings_are_checked_with_one_line_errors(tmp_path: Path, email_cfg: dict[str, Any],
                                                         words: list[str]) -> None:
    with pytest.raises(ConfigError) as err:
        settings_with(tmp_path, **email_cfg)
    text = str(err.value)
    assert "\n" not in text and all(w in text for w in words), text


# --- doctor ------------------------------------------------------------------------------------

@pytest.mark.parametrize("host,auth,warns", [("smtp.office365.com", "password", True),
                                             ("SMTP.Office365.com.", "password", True),
                                             ("contoso-com.mail.protection.outlook.com", "password", True),
                                             ("smtp.office365.com", "xoauth2", False),
                                             ("smtp.gmail.com", "password", False)])
def test_doctor_warns_about_password_smtp_to_exchange_online(host: str, auth: str, warns: bool) -> None:
    check = basic_auth_warning(host, auth, T0)
    assert (check is not None) is warns
    if check is not None:
        assert check.ok and "MC786329" in check.detail and "end of December 2026" in check.detail
        assert "graph" in check.fix and "xoauth2" in check.fix
        later = basic_auth_warning(host, auth, datetime(2027, 2, 1, tzinfo=timezone.utc))
        assert later is not None and "is disabled by default since" in later.detail


def test_doctor_signs_in_to_graph_and_names_a_refused_secret(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    try:
        email_cfg = h.settings.email
        email_cfg.transport = "graph"
        email_cfg.tenant_id, email_cfg.client_id = sandbox_graph.TENANT, sandbox_graph.CLIENT_ID
        email_cfg.graph_url, email_cfg.authority_url = h.server.url + "/v1.0", h.server.url
        email_cfg.client_secret = type(h.settings.email.smtp_password)(sandbox_graph.CLIENT_SECRET)
        (ok,) = Doctor(h.settings, clock=FixedClock(T0)).email()
        assert ok.ok and ok.name == "graph sign-in" and "token acquired" in ok.detail
        oauth._APPS.clear()
        email_cfg.client_secret = type(h.settings.email.smtp_password)("wrong")
        (bad,) = Doctor(h.settings, clock=FixedClock(T0)).email()
        assert not bad.ok and "AADSTS7000215" in bad.detail and "CLIENT_SECRET" in bad.fix
    finally:
        h.close()


# --- a whole poll -------------------------------------------------------------------------------

def test_a_refused_graph_token_is_one_error_per_poll_and_the_next_poll_sends_everything(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    try:
        h.poll()  # baseline
        email_cfg = h.settings.email
        email_cfg.transport = "graph"
        email_cfg.tenant_id, email_cfg.client_id = sandbox_graph.TENANT, sandbox_graph.CLIENT_ID
        email_cfg.graph_url, email_cfg.authority_url = h.server.url + "/v1.0", h.server.url
        email_cfg.client_secret = type(email_cfg.smtp_password)("revoked-secret")
        h.ctx.transport = build_transport(h.settings)
        h.at(0.1)
        h.sandbox.move("17001", "Phone Screen")
        h.sandbox.move("17004", "First Interview")
        report = h.poll()
        mail_errors = [e for e in report.errors if "refused the app-only token" in e]
        assert len(mail_errors) == 1 and "AADSTS7000215" in mail_errors[0]
        assert "revoked-secret" not in " ".join(report.errors)
        assert token_requests(h.world) == 1 and not sandbox_graph.state(h.world)["mailboxes"]

        email_cfg.client_secret = type(email_cfg.smtp_password)(sandbox_graph.CLIENT_SECRET)
        oauth._APPS.clear()
        h.ctx.transport = build_transport(h.settings)
        h.at(0.2)
        report = h.poll()
        assert not report.errors, report.errors
        boxes = sandbox_graph.state(h.world)["mailboxes"]
        invites = {addr for addr in ("zoe+nurse@example.org", "kwame.mensah@example.org") if boxes.get(addr)}
        assert invites == {"zoe+nurse@example.org", "kwame.mensah@example.org"}
        zoe = email.message_from_bytes(boxes["zoe+nurse@example.org"][0]["mime"], policy=policy.default)
        assert zoe["X-Interview-Sync-Kind"] == "invite" and zoe["X-Interview-Sync-Ref"] == h.invitation("17001").ref
    finally:
        h.close()


def test_sandbox_graph_lists_a_mailbox_with_paging_and_serves_the_mime(graph_sandbox: Any) -> None:
    """What the mailbox reader will read: the listing, its nextLink, each message's $value."""
    import requests

    server, world = graph_sandbox
    with graph(server) as transport:
        for i in range(3):
            transport.send(rich_message(f"<m{i}@mv.example>"))
    sandbox_graph.deliver(world, MAILBOX, b"From: Mail Delivery <postmaster@example.org>\r\n"
                                          b"To: talent@mv.example\r\nSubject: Undeliverable\r\n"
                                          b"Message-ID: <dsn-1@example.org>\r\n\r\nbounce\r\n")
    base = f"{server.url}/v1.0/users/{RECIPIENT}/messages"
    assert requests.get(base, timeout=5).status_code == 401  # no token, no mail
    headers = {"Authorization": f"Bearer {msal_tokens(server, GRAPH_SCOPE).token()}"}
    first = requests.get(base + "?$top=2", headers=headers, timeout=5).json()
    assert [m["internetMessageId"] for m in first["value"]] == ["<m0@mv.example>", "<m1@mv.example>"]
    second = requests.get(first["@odata.nextLink"], headers=headers, timeout=5).json()
    assert [m["internetMessageId"] for m in second["value"]] == ["<m2@mv.example>"]
    assert "@odata.nextLink" not in second and "mime" not in second["value"][0]
    mime = requests.get(f"{base}/{second['value'][0]['id']}/$value", headers=headers, timeout=5)
    assert email.message_from_bytes(mime.content, policy=policy.default)["Message-ID"] == "<m2@mv.example>"
    inbox = requests.get(f"{server.url}/v1.0/users/{MAILBOX}/messages", headers=headers, timeout=5).json()
    assert [m["subject"] for m in inbox["value"]] == ["Undeliverable"]  # sent items are not the inbox
    assert inbox["value"][0]["from"]["emailAddress"]["address"] == "postmaster@example.org"
