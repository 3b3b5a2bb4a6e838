"""App-only tokens from Microsoft Entra ID for reading a mailbox (client credentials).

One POST to ``{authority}/{tenant}/oauth2/v2.0/token`` with
``grant_type=client_credentials`` and a ``/.default`` scope (Graph for the
Graph reader, ``outlook.office365.com`` for IMAP XOAUTH2), cached until five
minutes before ``expires_in`` runs out, so a poll asks at most once. The
session is pinned to the configured authority.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from interview_sync.clock import Clock
from interview_sync.errors import VendorAuthError, VendorError
from interview_sync.http import VendorSession

GRAPH_SCOPE = "https://graph.microsoft.com/.default"
EXCHANGE_IMAP_SCOPE = "https://outlook.office365.com/.default"
_EARLY = timedelta(minutes=5)


class ClientCredentials:
    """A callable returning a valid bearer token for one app registration and scope."""

    def __init__(self, *, session: VendorSession, authority_url: str, tenant_id: str, client_id: str,
                 client_secret: str, scope: str, clock: Clock) -> None:
        self.url = f"{authority_url.rstrip('/')}/{tenant_id.strip()}/oauth2/v2.0/token"
        session.pin(self.url)
        self.session, self.clock = session, clock
        self.client_id, self.scope = client_id.strip(), scope
        self._secret = client_secret
        self._token: str | None = None
        self._expires: datetime | None = None

    def __repr__(self) -> str:
        return f"ClientCredentials(client={self.client_id!r}, scope={self.scope!r})"

    def __call__(self) -> str:
        now = self.clock.now()
        if self._token and self._expires and now < self._expires - _EARLY:
            return self._token
        try:
            body = self.session.json("POST", self.url, data={
                "grant_type": "client_credentials", "client_id": self.client_id,
                "client_secret": self._secret, "scope": self.scope}, expected=(200,))
        except VendorAuthError:
            raise
        except VendorError as exc:
            if exc.status in (400, 401):
                raise VendorAuthError("entra", f"the token endpoint refused app {self.client_id}",
                                      "check mailbox.tenant_id, client_id and the client secret's value "
                                      "(not its id), and that the secret has not expired", exc.status) from None
            raise
        token = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise VendorError("entra", "the token response had no access_token",
                              "check mailbox.authority_url; the next poll tries again")
        self._token = token
        self._expires = now + timedelta(seconds=float(body.get("expires_in", 3599) or 3599))
        return token
