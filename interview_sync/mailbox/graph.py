"""Read the mailbox through Microsoft Graph with an app-only token.

``GET /users/{mailbox}/mailFolders/inbox/messages`` filtered on
``receivedDateTime ge <cursor - overlap>``, ordered by the same property (Graph
wants an ``$orderby`` property to appear in ``$filter`` too), with ``$select``
trimmed to the id and the time; each new message's MIME then comes from
``GET /users/{mailbox}/messages/{id}/$value``. Paging follows
``@odata.nextLink`` as given, through a session pinned to the configured Graph
origin. The token is a callable (the email transport's cached token source,
or any other), asked once per request so its cache decides when to refresh.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

from interview_sync.clock import iso, parse_instant
from interview_sync.errors import VendorError
from interview_sync.http import VendorSession
from interview_sync.mailbox.base import MAX_MESSAGE_BYTES, Batch, InboundMail


class GraphReader:
    """The inbox of one mailbox, as the app registration's token may read it."""

    name = "graph"

    def __init__(self, *, session: VendorSession, graph_url: str, mailbox: str, tokens: Callable[[], str],
                 overlap: timedelta = timedelta(minutes=10), lookback: timedelta = timedelta(days=2),
                 page_size: int = 50, max_messages: int = 200) -> None:
        self.session = session
        self.graph_url = graph_url.rstrip("/")
        session.pin(self.graph_url)
        self.mailbox = mailbox
        self.tokens = tokens
        self.overlap, self.lookback = overlap, lookback
        self.page_size, self.max_messages = page_size, max_messages

    def __repr__(self) -> str:
        return f"GraphReader({self.mailbox} at {self.graph_url})"

    def close(self) -> None:
        self.session.session.close()

    def _get(self, url: str, **kwargs: Any) -> Any:
        headers = {"Authorization": f"Bearer {self.tokens()}", **kwargs.pop("headers", {})}
        return self.session.request("GET", url, headers=headers, **kwargs)

    def probe(self) -> str:
        user = quote(self.mailbox, safe="@")
        self._json(f"{self.graph_url}/users/{user}/mailFolders/inbox/messages", {"$top": 1, "$select": "id"})
        return f"token accepted; the inbox of {self.mailbox} is readable through Graph"

    def read(self, cursor: str | None, now: datetime) -> Batch:
        since = parse_instant(cursor) - self.overlap if cursor else now - self.lookback
        user = quote(self.mailbox, safe="@")
        url: str | None = f"{self.graph_url}/users/{user}/mailFolders/inbox/messages"
        params: dict[str, Any] | None = {
            "$filter": f"receivedDateTime ge {iso(since)}",
            "$orderby": "receivedDateTime asc",
            "$select": "id,receivedDateTime,internetMessageId",
            "$top": self.page_size,
        }
        listed: list[dict[str, Any]] = []
        while url and len(listed) < self.max_messages:
            page = self._json(url, params)
            items = [item for item in page.get("value", []) if isinstance(item, dict) and item.get("id")]
            listed += items
            next_link = page.get("@odata.nextLink")  # it carries every parameter; followed as given
            url = next_link if isinstance(next_link, str) and items else None  # an empty page ends the listing
            params = None
        listed = listed[: self.max_messages]
        mails = []
        newest = since
        for item in listed:
            received = _instant(item.get("receivedDateTime"))
            newest = max(newest, received or newest)
            response = self._get(f"{self.graph_url}/users/{user}/messages/{quote(str(item['id']), safe='')}/$value",
                                 headers={"Accept": "*/*"}, stream=True)
            raw = response.raw.read(MAX_MESSAGE_BYTES + 1, decode_content=True)
            response.close()
            if len(raw) <= MAX_MESSAGE_BYTES:
                mails.append(InboundMail(server_id=str(item["id"]), raw=raw, received_at=received))
        capped = len(listed) >= self.max_messages
        return Batch(mails, iso(newest if capped else max(now, newest)))

    def _json(self, url: str, params: dict[str, Any] | None) -> dict[str, Any]:
        response = self._get(url, params=params)
        try:
            body = response.json()
        except ValueError:
            raise VendorError("graph", "the message listing was not JSON",
                              "check mailbox.graph_url; the next poll reads the mailbox again") from None
        return body if isinstance(body, dict) else {}


def _instant(value: object) -> datetime | None:
    try:
        return parse_instant(str(value)) if value else None
    except ValueError:
        return None
