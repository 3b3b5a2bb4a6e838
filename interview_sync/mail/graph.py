"""Sending through Microsoft Graph ``sendMail`` as the ``from`` mailbox, app-only.

The message goes as MIME (base64, ``Content-Type: text/plain``), not as
Graph's JSON message, so what the recipient gets is byte for byte what
``build_message`` built: our Message-ID (which bounce and reply matching
rely on), ``X-Interview-Sync-Ref``, the text/calendar part and attachments.
Graph answers 202 once it has accepted the message; a recipient that does not
exist comes back later as a bounce, not as an error here.
"""

from __future__ import annotations

import base64
from email import policy
from email.message import EmailMessage
from typing import Any
from urllib.parse import quote

import requests

from interview_sync.errors import AuthRefused, DeliveryError
from interview_sync.mail.oauth import TokenSource
from interview_sync.mail.transport import _ContextManaged

GRAPH_URL = "https://graph.microsoft.com/v1.0"


def _graph_error(response: requests.Response) -> str:
    """``code: message`` from Graph's error body, one line; never the request."""
    try:
        body: Any = response.json()
        error = body.get("error", {}) if isinstance(body, dict) else {}
        code, message = error.get("code", ""), error.get("message", "")
    except ValueError:
        code, message = "", response.text
    text = " ".join(f"{code}: {message}".strip(": ").split())[:200]
    return f"HTTP {response.status_code}" + (f" {text}" if text else "")


class GraphTransport(_ContextManaged):
    """``POST {graph_url}/users/{mailbox}/sendMail`` with an app-only token (``Mail.Send``).

    Graph's sendMail is not idempotent, so a send is never retried here: a
    timeout after the request went out leaves the message state unknown, and
    the executor's outbox row decides what happens next.
    """

    def __init__(self, mailbox: str, tokens: TokenSource, graph_url: str = GRAPH_URL,
                 session: requests.Session | None = None, timeout: float = 30) -> None:
        self.mailbox = mailbox
        self.tokens = tokens
        self.graph_url = graph_url.rstrip("/")
        self.session = session or requests.Session()
        self.timeout = timeout
        self.sent = 0

    def __repr__(self) -> str:
        return f"GraphTransport({self.mailbox!r}, {self.graph_url}, {self.tokens!r})"

    @property
    def endpoint(self) -> str:
        return f"{self.graph_url}/users/{quote(self.mailbox, safe='@')}/sendMail"

    def open(self) -> None:
        pass  # nothing to connect: each message is one HTTPS request

    def close(self) -> None:
        pass

    def _token(self) -> str:
        try:
            return self.tokens.token()
        except AuthRefused as refusal:
            raise self._remember(refusal) from None

    def login_check(self) -> str:
        """Get a token (what ``doctor`` reports); sends nothing."""
        self._token()
        return f"Graph sendMail as {self.mailbox}: app-only token acquired ({self.tokens.label})"

    def send(self, msg: EmailMessage) -> None:
        self._check_refused()
        token = self._token()
        body = base64.b64encode(msg.as_bytes(policy=policy.SMTP))
        try:
            response = self.session.post(self.endpoint, data=body, timeout=self.timeout, allow_redirects=False,
                                         headers={"Authorization": f"Bearer {token}", "Content-Type": "text/plain"})
        except requests.ConnectionError as exc:
            raise DeliveryError(f"cannot reach Microsoft Graph at {self.graph_url}: {type(exc).__name__}",
                                "check the network; the message will be retried", permanent=False) from None
        except requests.RequestException as exc:
            raise DeliveryError(f"Microsoft Graph did not answer sendMail: {type(exc).__name__}",
                                "the message state is unknown; check the mailbox's Sent Items",
                                permanent=False) from None
        status = response.status_code
        if status == 202:
            self.sent += 1
            return
        detail = _graph_error(response)
        if status == 401:
            self.tokens.forget()
            raise self._remember(AuthRefused(f"Microsoft Graph refused the token for {self.mailbox}: {detail}",
                                             "check the app registration's Mail.Send application permission "
                                             "and admin consent"))
        if status in (403, 404):
            raise self._remember(AuthRefused(
                f"Microsoft Graph will not send as {self.mailbox}: {detail}",
                "email.from must be a mailbox in the tenant that the app may send as (Mail.Send, and the "
                "mailbox inside its RBAC scope or application access policy)"))
        if status == 429 or status >= 500:
            wait = response.headers.get("Retry-After")
            raise DeliveryError(f"Microsoft Graph could not take the message now: {detail}"
                                + (f" (Retry-After {wait}s)" if wait else ""),
                                "temporary; it will be retried next poll", permanent=False)
        raise DeliveryError(f"Microsoft Graph rejected the message: {detail}",
                            "check the recipient address and the message; alert a recruiter", permanent=True)
