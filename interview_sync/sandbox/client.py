"""A small client for the sandbox's admin API (used by the CLI, demo and tests)."""

from __future__ import annotations

from datetime import datetime
from importlib import import_module
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import requests
from pydantic import SecretStr

from ..clock import iso
from ..config_base import is_loopback
from ..errors import ConfigError, InterviewSyncError
from ..providers import provider
from . import seed

if TYPE_CHECKING:
    from ..config import Settings

DEFAULT_PORT = 8765
DEFAULT_URL = f"http://127.0.0.1:{DEFAULT_PORT}"
SANDBOX_CLIENT_ID = "sandbox-client"
SANDBOX_CLIENT_SECRET = "sandbox-secret"
SANDBOX_CALENDLY_TOKEN = "sandbox-calendly-token"
SANDBOX_USER_ID = "4005"
# Lever users are UUIDs; the sandbox derives them from the seed ids (see sandbox/lever.py).
SANDBOX_LEVER_USER = "c1a5e2b8-0000-4000-8000-000000004005"


class SandboxClient:
    def __init__(self, url: str = DEFAULT_URL, timeout: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        try:
            response = requests.post(f"{self.url}{path}", json=body, timeout=self.timeout)
        except requests.ConnectionError:
            raise InterviewSyncError(f"no sandbox answers at {self.url}",
                                     "start one with `interview-sync sandbox serve`, or pass --url") from None
        data = response.json() if response.content else {}
        if response.status_code >= 400:
            raise InterviewSyncError(f"sandbox refused {path}: {data.get('message', response.status_code)}",
                                     "check the application id / arguments")
        return data

    def set_clock(self, now: datetime) -> None:
        self._post("/_admin/clock", {"now": iso(now)})

    def move(self, application_id: str, stage: str) -> dict[str, Any]:
        return self._post("/_admin/move", {"application_id": application_id, "stage": stage})

    def set_status(self, application_id: str, status: str) -> dict[str, Any]:
        return self._post("/_admin/move", {"application_id": application_id, "status": status})

    def book(self, application_id: str, at: datetime | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"application_id": application_id}
        if at is not None:
            body["at"] = iso(at)
        return self._post("/_admin/book", body)

    def cancel(self, application_id: str) -> dict[str, Any]:
        return self._post("/_admin/cancel", {"application_id": application_id})

    def reschedule(self, application_id: str, at: datetime) -> dict[str, Any]:
        return self._post("/_admin/reschedule", {"application_id": application_id, "at": iso(at)})

    def custom_field(self, application_id: str, key: str, value: str) -> dict[str, Any]:
        return self._post("/_admin/greenhouse/custom-field", {"application_id": application_id, "key": key,
                                                              "value": value})

    def text_from(self, phone: str, body: str) -> dict[str, Any]:
        """A candidate's text to our number (Twilio flavour)."""
        return self._post("/_admin/twilio/inbound", {"from": phone, "body": body})

    def landline(self, phone: str) -> dict[str, Any]:
        return self._post("/_admin/twilio/landline", {"phone": phone})

    def texts(self) -> dict[str, Any]:
        response = requests.get(f"{self.url}/_admin/twilio/messages", timeout=self.timeout)
        response.raise_for_status()
        return dict(response.json())

    def block(self, host_email: str, days: int = 30) -> dict[str, Any]:
        return self._post("/_admin/block", {"host_email": host_email, "days": days})

    def no_show(self, application_id: str) -> dict[str, Any]:
        return self._post("/_admin/no-show", {"application_id": application_id})

    def fault(self, path: str, status: int, headers: dict[str, str] | None = None,
              method: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"path": path, "status": status, "headers": headers or {}}
        if method:
            body["method"] = method
        return self._post("/_admin/faults", body)


SANDBOX_LEVER_KEY = "sandbox-lever-key"
SANDBOX_CALCOM_KEY = "cal_sandbox_key"
# Each sandbox Cal.com host's own API key, as `scheduler.host_keys` holds them: Cal.com lets
# only an event type's owner create private links on it. The main key is Maria Delgado's.
SANDBOX_CALCOM_HOST_KEYS = {u["email"]: f"cal_sandbox_host_{u['id']}" for u in seed.USERS
                            if u.get("host") and u["id"] != 4001}


def sandbox_section(wire: str, url: str) -> dict[str, Any]:
    """The config section that points the real adapter of a wire format (see
    interview_sync/providers.py) at a sandbox serving that flavour at ``url``; each
    flavour module (``sandbox/<wire>.py``) says it in its ``config_section``."""
    return import_module(f"{__package__}.{wire}").config_section(url)  # type: ignore[no-any-return]


def sandbox_settings(url: str, *, ats: str = "greenhouse", scheduler: str = "calendly") -> dict[str, Any]:
    """The config sections that point interview-sync at a sandbox of the given flavours.

    The real adapters are used unchanged; only base URLs and credentials differ.
    """
    url = url.rstrip("/")
    return {"ats": sandbox_section(ats, url), "scheduler": sandbox_section(scheduler, url)}


def is_sandbox_section(section: Any, wire: str) -> bool:
    """Whether a loaded ``[ats]``/``[scheduler]`` section is one :func:`sandbox_settings` wrote
    for the ``wire`` flavour: provider ``sandbox``, or that flavour's sandbox secret (a real
    vendor's key never equals it)."""
    expected = sandbox_section(wire, "http://127.0.0.1")
    if section.provider == "sandbox":
        return True
    secrets = {key: value.get_secret_value() for key, value in vars(section).items() if isinstance(value, SecretStr)}
    return section.provider == expected["provider"] and bool(secrets) and all(
        expected.get(key) == value for key, value in secrets.items())


def configured_sandbox_url(settings: "Settings", option: str = "--url") -> str:
    """The sandbox a config written by :func:`sandbox_settings` points at: its ATS origin.

    The sandbox serves both vendors on one loopback port, so the ATS base URL's
    origin is the admin API's too. A config that talks to a real vendor names
    no sandbox, and we say so rather than drive whatever listens on 8765.
    """
    ats = settings.ats
    parts = urlsplit(ats.base_url)
    if not is_sandbox_section(ats, provider("ats", ats.provider).wire) or not is_loopback(parts.hostname):
        raise ConfigError(f"the config names no sandbox (ats.provider {ats.provider!r} at {ats.base_url})",
                          f"pass {option} http://127.0.0.1:PORT, or --config a file written by "
                          "`interview-sync init --sandbox`")
    return f"{parts.scheme}://{parts.netloc}"
