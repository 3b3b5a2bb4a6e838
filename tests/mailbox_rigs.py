"""Mailbox servers for tests: the IMAP server over a socket, and Microsoft Graph over `responses`.

The Graph fake answers the documented wire format: the Entra token endpoint
(client credentials), ``GET /v1.0/users/{mailbox}/mailFolders/inbox/messages``
with ``$filter=receivedDateTime ge ...``, ``$orderby``, ``$select`` and ``$top``
(paging through ``@odata.nextLink``), and ``GET /v1.0/users/{mailbox}/messages/{id}/$value``
returning the MIME. A request without the token it issued is refused (401).
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import responses

from interview_sync.clock import iso, parse_instant

GRAPH = "https://graph.microsoft.com/v1.0"
LOGIN = "https://login.microsoftonline.com"
TENANT, CLIENT_ID, CLIENT_SECRET = "hospital-tenant", "mail-reader-app", "reader-secret"


class GraphMailbox:
    def __init__(self, rsps: responses.RequestsMock, mailbox: str, now: Callable[[], datetime]) -> None:
        self.mailbox, self.now = mailbox, now
        self.messages: list[dict[str, Any]] = []
        self.tokens: set[str] = set()
        self.requests: list[str] = []
        rsps.add_callback(responses.POST, f"{LOGIN}/{TENANT}/oauth2/v2.0/token", callback=self._token)
        rsps.add_callback(responses.GET, re.compile(re.escape(f"{GRAPH}/users/") + r".*"), callback=self._get)

    def add(self, raw: bytes) -> str:
        message_id = f"AAMkAD{len(self.messages) + 1:06d}="
        self.messages.append({"id": message_id, "receivedDateTime": iso(self.now()), "raw": raw})
        return message_id

    def _token(self, request: Any) -> tuple[int, dict[str, str], str]:
        form = parse_qs(request.body)
        ok = (form.get("grant_type") == ["client_credentials"] and form.get("client_id") == [CLIENT_ID]
              and form.get("client_secret") == [CLIENT_SECRET]
              and form.get("scope") == ["https://graph.microsoft.com/.default"])
        if not ok:
            return 401, {}, json.dumps({"error": "invalid_client", "error_description": "AADSTS7000215"})
        token = secrets.token_urlsafe(12)
        self.tokens.add(token)
        return 200, {}, json.dumps({"token_type": "Bearer", "expires_in": 3599, "access_token": token})

    def _get(self, request: Any) -> tuple[int, dict[str, str], bytes | str]:
        self.requests.append(request.url)
        if request.headers.get("Authorization", "").removeprefix("Bearer ") not in self.tokens:
            return 401, {}, json.dumps({"error": {"code": "InvalidAuthenticationToken", "message": "expired"}})
        parts = urlsplit(request.url)
        path = parts.path.removeprefix("/v1.0/users/")
        user, _, rest = path.partition("/")
        if user.casefold() != self.mailbox.casefold():
            return 404, {}, json.dumps({"error": {"code": "ErrorItemNotFound", "message": "no mailbox"}})
        if rest == "mailFolders/inbox/messages":
            query = {k: v[0] for k, v in parse_qs(parts.query).items()}
            bound = parse_instant(query["$filter"].removeprefix("receivedDateTime ge "))
            assert query["$orderby"] == "receivedDateTime asc"
            assert set(query["$select"].split(",")) >= {"id", "receivedDateTime"}
            top, skip = int(query.get("$top", 10)), int(query.get("$skip", 0))
            found = [m for m in self.messages if parse_instant(m["receivedDateTime"]) >= bound]
            page = [{"id": m["id"], "receivedDateTime": m["receivedDateTime"]} for m in found[skip:skip + top]]
            body: dict[str, Any] = {"value": page}
            if skip + top < len(found):
                body["@odata.nextLink"] = (f"{GRAPH}/users/{user}/mailFolders/inbox/messages?$filter="
                                           f"{query['$filter']}&$orderby=receivedDateTime asc&$select="
                                           f"{query['$select']}&$top={top}&$skip={skip + top}")
            return 200, {"Content-Type": "application/json"}, json.dumps(body)
        match = re.fullmatch(r"messages/([^/]+)/\$value", rest)
        if match:
            for message in self.messages:
                if message["id"] == unquote(match.group(1)):
                    return 200, {"Content-Type": "text/plain"}, message["raw"]
        return 404, {}, json.dumps({"error": {"code": "ErrorItemNotFound", "message": "not found"}})
