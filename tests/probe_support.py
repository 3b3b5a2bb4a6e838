"""Running a vendor probe against a sandbox and seeing which endpoints it touched."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import requests

from interview_sync.doctor import Check
from interview_sync.sandbox.server import SandboxServer


def probe_with_writes(server: SandboxServer, probe: Callable[..., list[Check]],
                      adapter: Any) -> tuple[list[Check], set[str]]:
    """The probe's checks, and every non-GET endpoint it called (a token mint is the only one allowed)."""
    before = requests.get(f"{server.url}/_admin/requests", timeout=5).json()
    checks = probe(adapter, sample=10)
    after = requests.get(f"{server.url}/_admin/requests", timeout=5).json()
    return checks, {k for k, n in after.items() if not k.startswith("GET ") and n > before.get(k, 0)}


def check_names(checks: list[Check]) -> str:
    return " | ".join(c.name for c in checks)
