"""Finding the booking link a candidate was sent, shared by the scheduler flavours.

The tool writes each link into an ATS note; the sandbox's "book as the
candidate" admin route reads it back from the vendor-neutral notes record
(``world.data["notes"][application_id]``), the way a candidate clicks the
link in their email. Both scheduler flavours serve links at ``/d/<token>``.
"""

from __future__ import annotations

import html
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .server import World

URL_RE = re.compile(r"https?://[^\s<>\"'()\[\]]+")


def link_from_url(state: dict[str, Any], url: str) -> tuple[str, dict[str, str]] | None:
    """(link token, prefill query) when ``url`` is one of this sandbox's links."""
    parts = urlsplit(html.unescape(url.rstrip(".,;:!?")))
    match = re.fullmatch(r"/d/([^/]+)(?:/[^/]*)?", parts.path)
    if not match or match.group(1) not in state["links"]:
        return None
    query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
    return match.group(1), query


def latest_link_for(world: World, state: dict[str, Any], application_id: str) -> tuple[str, dict[str, str]] | None:
    """The last booking URL of ours in the application's notes (newest last)."""
    for text in reversed(world.data.get("notes", {}).get(str(application_id), [])):
        for url in reversed(URL_RE.findall(str(text))):
            found = link_from_url(state, url)
            if found:
                return found
    return None
