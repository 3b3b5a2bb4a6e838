"""The building blocks every config model shares, vendor models included.

Kept apart from :mod:`interview_sync.config` so an adapter module can define
its own config model (its keys, defaults and URL checks) without importing
the whole settings tree, which itself imports the provider registry.
"""

from __future__ import annotations

import ipaddress
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict

URL_FIX = "use https://, or http:// only for 127.0.0.1/localhost"


def is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_url(value: str) -> str:
    """A vendor URL we may call: https, or http on loopback only (the sandbox)."""
    if not value:
        return value
    parts = urlsplit(value)
    if parts.scheme == "https" and parts.hostname:
        return value.rstrip("/")
    if parts.scheme == "http" and is_loopback(parts.hostname):
        return value.rstrip("/")
    raise ValueError(f"{value!r} is not allowed: {URL_FIX}")


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class VendorConfig(Section):
    """The keys one vendor's adapter needs, flat in its ``[ats]`` or ``[scheduler]`` section.

    Each adapter module defines one subclass; the provider registry pairs it
    with the adapter class, and :mod:`interview_sync.config` merges it with the
    section's shared keys, so a key of another vendor is refused by name.
    """

    def adapter_args(self) -> dict[str, Any]:
        """The adapter constructor's vendor arguments, secrets revealed (only the adapter sees them)."""
        raise NotImplementedError
