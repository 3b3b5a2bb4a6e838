"""Real receiving ends for the transport contract (tests/test_transport.py).

Each rig builds a working transport, one whose login or token is refused, and
reads back what was delivered and how many times credentials were presented:

- file: the outbox directory;
- smtp: aiosmtpd with AUTH LOGIN/PLAIN;
- graph: the sandbox's Graph flavour (Entra token endpoint through msal, sendMail);
- smtp-xoauth2-microsoft: aiosmtpd with an ``auth_XOAUTH2`` mechanism accepting tokens the
  sandbox's Entra token endpoint issued for ``https://outlook.office365.com/.default``;
- smtp-xoauth2-google: the same server accepting tokens from a ``responses`` fake of Google's
  JWT bearer grant, which checks the service account's signed assertion with its public key.
"""

from __future__ import annotations

import base64
import json
import secrets
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import jwt
import responses
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from interview_sync.clock import FixedClock
from interview_sync.mail import oauth
from interview_sync.mail.graph import GraphTransport
from interview_sync.mail.oauth import EXCHANGE_SMTP_SCOPE, GRAPH_SCOPE, GoogleTokens, MsalTokens
from interview_sync.mail.transport import FileTransport, SmtpTransport, Transport
from interview_sync.sandbox import SandboxServer, World, build_app
from interview_sync.sandbox import graph as sandbox_graph

MAILBOX = "talent@mv.example"
RECIPIENT = "zoe+nurse@example.org"
SMTP_PASSWORD = "s3cr3t-Pa55word!"
GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"


@dataclass
class Rig:
    make: Callable[[], Transport]
    make_refused: Callable[[], Transport] | None
    delivered: Callable[[], list[bytes]]
    logins: Callable[[], int]  # credentials presented: AUTH commands plus token requests
    secret: str
    logins_per_poll: int = 1  # XOAUTH2: one token request and one AUTH


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class MailServer:
    """aiosmtpd handler: records messages and every AUTH attempt, whatever the mechanism."""

    token_ok: Callable[[str, str], bool] = lambda user, token: False
    received: list[bytes] = field(default_factory=list)
    auth_attempts: int = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.received.append(envelope.content)
        return "250 Message accepted"

    async def auth_XOAUTH2(self, server: Any, args: list[str]) -> AuthResult:
        """SASL XOAUTH2 as Gmail and Exchange Online speak it: a refused token gets a 334
        carrying a JSON error, the client answers with an empty line, then 535."""
        self.auth_attempts += 1
        raw = base64.b64decode(args[1]) if len(args) > 1 else await server.challenge_auth("")
        fields = dict(part.split("=", 1) for part in raw.decode().split("\x01") if "=" in part)
        user, bearer = fields.get("user", ""), fields.get("auth", "").removeprefix("Bearer ")
        if self.token_ok(user, bearer):
            return AuthResult(success=True, handled=False)
        await server.challenge_auth(json.dumps({"status": "400", "schemes": "Bearer",
                                                "scope": "https://mail.google.com/"}))
        return AuthResult(success=False, handled=False)


def _password_check(server: MailServer) -> Callable[..., AuthResult]:
    def check(smtp: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
        server.auth_attempts += 1
        ok = (isinstance(auth_data, LoginPassword) and auth_data.login == b"talent"
              and auth_data.password == SMTP_PASSWORD.encode())
        return AuthResult(success=ok, handled=False)
    return check


@contextmanager
def smtp_server(handler: MailServer, password: bool = False) -> Iterator[int]:
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, auth_require_tls=False,
                            authenticator=_password_check(handler) if password else None)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


@contextmanager
def sandbox() -> Iterator[tuple[SandboxServer, World]]:
    world = World()
    with SandboxServer(build_app(world)) as server:
        yield server, world


def msal_tokens(server: SandboxServer, scope: str, secret: str = sandbox_graph.CLIENT_SECRET) -> MsalTokens:
    return MsalTokens(tenant_id=sandbox_graph.TENANT, client_id=sandbox_graph.CLIENT_ID, client_secret=secret,
                      scope=scope, authority_url=server.url, timeout=5)


def sandbox_token_ok(world: World, scope: str) -> Callable[[str, str], bool]:
    def ok(user: str, token: str) -> bool:
        issued = sandbox_graph.state(world)["tokens"].get(token)
        return user == MAILBOX and issued is not None and issued["scope"] == scope
    return ok


@lru_cache(maxsize=1)
def service_account_key() -> tuple[bytes, Any]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    return pem, key.public_key()


def write_service_account(path: Path) -> Path:
    pem, _ = service_account_key()
    path.write_text(json.dumps({
        "type": "service_account", "project_id": "mv-mail", "private_key_id": "k1",
        "private_key": pem.decode(), "client_email": "mailer@mv-mail.iam.gserviceaccount.com",
        "client_id": "104857600000000000001", "token_uri": GOOGLE_TOKEN_URI}), encoding="utf-8")
    path.chmod(0o600)
    return path


@dataclass
class GoogleFake:
    """Google's token endpoint for the JWT bearer grant (RFC 7523), as responses callbacks."""

    delegated: bool = True
    issued: set[str] = field(default_factory=set)
    requests: int = 0
    assertions: list[dict[str, Any]] = field(default_factory=list)

    def __call__(self, request: Any) -> tuple[int, dict[str, str], str]:
        self.requests += 1
        form = {k: v[-1] for k, v in parse_qs(request.body if isinstance(request.body, str)
                                                else request.body.decode()).items()}
        if form.get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer":
            return 400, {}, json.dumps({"error": "unsupported_grant_type"})
        _, public = service_account_key()
        claims = jwt.decode(form["assertion"], public, algorithms=["RS256"], audience=GOOGLE_TOKEN_URI)
        self.assertions.append(claims)
        if not self.delegated or claims.get("sub") != MAILBOX or claims.get("scope") != "https://mail.google.com/":
            return 401, {}, json.dumps({"error": "unauthorized_client",
                                        "error_description": "Client is unauthorized to retrieve access tokens "
                                        "using this method, or client not authorized for any of the scopes "
                                        "requested."})
        token = "ya29." + secrets.token_urlsafe(16)
        self.issued.add(token)
        return 200, {}, json.dumps({"access_token": token, "expires_in": 3599, "token_type": "Bearer"})


@contextmanager
def make_rig(kind: str, tmp: Path) -> Iterator[Rig]:
    oauth._APPS.clear()  # a sandbox port can be reused by a later test: no msal app may outlive its sandbox
    oauth._CREDENTIALS.clear()
    if kind == "file":
        outbox = tmp / "outbox"
        clock = FixedClock(datetime(2026, 11, 24, 9, 5, tzinfo=timezone.utc))

        def make_file() -> Transport:
            clock.advance(seconds=1)  # one file per message, named by send time
            return FileTransport(outbox, clock=clock)

        class Ticking(FileTransport):
            def send(self, msg: Any) -> None:
                clock.advance(seconds=1)
                super().send(msg)

        yield Rig(lambda: Ticking(outbox, clock=clock), None,
                  lambda: [p.read_bytes() for p in sorted(outbox.glob("*.eml"))] if outbox.exists() else [],
                  lambda: 0, "no-secret-here")
        return
    if kind == "smtp":
        handler = MailServer()
        with smtp_server(handler, password=True) as port:
            yield Rig(lambda: SmtpTransport("127.0.0.1", port, "none", "talent", SMTP_PASSWORD, timeout=5),
                      lambda: SmtpTransport("127.0.0.1", port, "none", "talent", "wrong-" + SMTP_PASSWORD, timeout=5),
                      lambda: list(handler.received), lambda: handler.auth_attempts, SMTP_PASSWORD)
        return
    if kind == "graph":
        with sandbox() as (server, world):
            def mailbox() -> list[bytes]:
                return [r["mime"] for r in sandbox_graph.state(world)["mailboxes"].get(RECIPIENT, [])]

            yield Rig(lambda: GraphTransport(MAILBOX, msal_tokens(server, GRAPH_SCOPE), server.url + "/v1.0", timeout=5),
                      lambda: GraphTransport(MAILBOX, msal_tokens(server, GRAPH_SCOPE, "wrong-secret"),
                                             server.url + "/v1.0", timeout=5),
                      mailbox, lambda: sandbox_graph.state(world)["token_requests"], sandbox_graph.CLIENT_SECRET)
        return
    if kind == "smtp-xoauth2-microsoft":
        with sandbox() as (server, world):
            handler = MailServer(token_ok=sandbox_token_ok(world, EXCHANGE_SMTP_SCOPE))
            with smtp_server(handler) as port:
                def make_ms(secret: str = sandbox_graph.CLIENT_SECRET) -> Transport:
                    return SmtpTransport("127.0.0.1", port, "none", MAILBOX, None, timeout=5,
                                         tokens=msal_tokens(server, EXCHANGE_SMTP_SCOPE, secret))

                yield Rig(make_ms, lambda: make_ms("wrong-secret"), lambda: list(handler.received),
                          lambda: sandbox_graph.state(world)["token_requests"] + handler.auth_attempts,
                          sandbox_graph.CLIENT_SECRET, logins_per_poll=2)
        return
    if kind == "smtp-xoauth2-google":
        fake = GoogleFake()
        key_file = write_service_account(tmp / "google-sa.json")
        handler = MailServer(token_ok=lambda user, token: user == MAILBOX and token in fake.issued)
        refused = GoogleFake(delegated=False)
        with smtp_server(handler) as port, responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
            active = {"fake": fake}
            mock.add_callback(responses.POST, GOOGLE_TOKEN_URI, callback=lambda req: active["fake"](req))

            def make_google(which: GoogleFake = fake) -> Transport:
                active["fake"] = which
                return SmtpTransport("127.0.0.1", port, "none", MAILBOX, None, timeout=5,
                                     tokens=GoogleTokens(service_account_file=key_file, subject=MAILBOX))

            pem, _ = service_account_key()
            yield Rig(make_google, lambda: make_google(refused), lambda: list(handler.received),
                      lambda: fake.requests + refused.requests + handler.auth_attempts,
                      pem.decode().splitlines()[5], logins_per_poll=2)
        return
    raise ValueError(kind)
