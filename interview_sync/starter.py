"""Starter configurations written by `init` and `demo`."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import tomli_w

from .errors import LocalIOError
from .private_files import write_private_text
from .sandbox.client import DEFAULT_URL, sandbox_settings

SANDBOX_ROUTES: list[dict[str, Any]] = [
    {"match": {"job_name": "(?i)director|manager|chief"}, "event_type": "leadership-video-60",
     "duration_minutes": 60, "format": "video",
     "notes": "A video conversation about leadership on a hospital unit."},
    {"match": {"department": "Nursing"}, "event_type": "phone-screen-30", "duration_minutes": 30,
     "format": "phone", "notes": "A short call about your experience, licensure and preferred shifts."},
    {"match": {}, "event_type": "first-interview-45", "duration_minutes": 45, "format": "video",
     "notes": "A conversation with the hiring manager about the role and your experience."},
]


def sandbox_config(url: str = DEFAULT_URL, *, state_path: str = "interview-sync.db",
                   outbox_dir: str = "outbox", ats: str = "greenhouse", scheduler: str = "calendly") -> dict[str, Any]:
    """A complete config that runs against a sandbox at ``url`` with file mail."""
    config: dict[str, Any] = {"state": {"path": state_path}}
    config.update(sandbox_settings(url, ats=ats, scheduler=scheduler))
    config["ats"].update({"interview_stages": ["Phone Screen", "First Interview", "Panel Interview"],
                          "flag_tag": "Scheduling: needs recruiter"})
    config["email"] = {"transport": "file", "from": "Mercy Valley Talent Team <talent@mercyvalley.example>",
                       "outbox_dir": outbox_dir, "org_name": "Mercy Valley Health",
                       "fallback_contact": "Recruiting desk: (916) 555-0100, recruiting@mercyvalley.example"}
    config["alerts"] = {"recruiter_email": "recruiting-alerts@mercyvalley.example"}
    config["policy"] = {"timezone": "America/Los_Angeles", "booking_deadline_hours": 48,
                        "followup_deadline_hours": 24, "reminder_hours_before": 24, "no_availability_days": 10,
                        "feedback_after_hours": 2}
    config["feedback"] = {"url": "https://forms.mercyvalley.example/interview-feedback"}
    config["routes"] = SANDBOX_ROUTES
    return config


def write_config(path: Path, config: dict[str, Any]) -> None:
    write_config_text(path, tomli_w.dumps(config))


def write_config_text(path: Path, text: str) -> None:
    """A config names people (alert addresses) and may hold secrets: 0600 from the first byte."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_private_text(path, text)
    except OSError as exc:
        raise LocalIOError.from_os_error(exc, path, "--config") from None


def example_config_text() -> str:
    """The annotated example shipped in the package (the same file as the repo's)."""
    return resources.files("interview_sync").joinpath("config.example.toml").read_text(encoding="utf-8")
