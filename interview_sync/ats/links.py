"""Links a recruiter can click to open an application in the ATS's own web app.

The forms are in docs/vendors.md ("Links into the ATS"). Ids come from the
vendor and are percent-encoded, never trusted as path text. A sandbox (a
loopback API) has no recruiter pages, so its admin view of the record stands in.
"""

from __future__ import annotations

from urllib.parse import quote, urlsplit

from ..config_base import is_loopback


def segment(value: str) -> str:
    """One path segment or query value, percent-encoded (``/``, ``?`` and ``#`` included)."""
    return quote(str(value), safe="")


def record_url(api_base: str, web_url: str, web_path: str, sandbox_path: str) -> str:
    """``web_url + web_path``; against a loopback sandbox, ``sandbox_path`` on its origin."""
    parts = urlsplit(api_base)
    if is_loopback(parts.hostname):
        return f"{parts.scheme}://{parts.netloc}{sandbox_path}"
    return web_url.rstrip("/") + web_path
