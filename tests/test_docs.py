"""README's command reference is generated from --help; it must not drift."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _generator():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("command_reference", ROOT / "scripts" / "command_reference.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_readme_command_reference_matches_help() -> None:
    gen = _generator()
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert readme == gen.replaced(readme), "run `python scripts/command_reference.py` and commit README.md"


def test_every_spec_command_is_documented() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for command in ("poll", "invite", "status", "init", "demo", "audit export", "audit verify", "purge",
                    "sandbox serve", "sandbox move", "sandbox book", "sandbox cancel", "sandbox reschedule",
                    "sandbox block", "sandbox no-show", "replay", "report", "no-show", "doctor",
                    "fixtures list", "fixtures load", "selftest"):
        assert f"### `interview-sync {command}`" in readme, command


def test_readme_has_the_two_setup_commands() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "pip install . && interview-sync demo" in readme
    assert "pip install -e '.[test]' && pytest" in readme


def test_readme_covers_texts_consent_opt_out_and_limits() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Text messages and languages", 1)[1].split("\n## ", 1)[0]
    for heading in ("### Twilio set-up", "### Consent sources", "### Opt-out handling", "### Languages",
                    "### What the tool does not cover"):
        assert heading in section, heading
    for fact in ("INTERVIEW_SYNC_SMS__AUTH_TOKEN", "interview-sync[sms]", "not legal advice", "10DLC",
                 "consent revoke", "START"):
        assert fact in section, fact
    for command in ("consent list", "consent show", "consent revoke"):
        assert f"### `interview-sync {command}`" in readme, command
