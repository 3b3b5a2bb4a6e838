"""The commands a newcomer runs first: demo and init, for every sandbox flavour."""

from __future__ import annotations

import email
import email.policy
import tomllib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from interview_sync.cli.app import app

runner = CliRunner()


@pytest.mark.parametrize("ats, scheduler", [("greenhouse", "calendly"), ("lever", "calcom")])
def test_demo_writes_invites_with_booking_links(tmp_path: Path, ats: str, scheduler: str) -> None:
    result = runner.invoke(app, ["demo", "--dir", str(tmp_path / "demo"), "--ats", ats, "--scheduler", scheduler])
    assert result.exit_code == 0, result.output
    messages = [email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
                for p in (tmp_path / "demo" / "outbox").glob("*.eml")]
    invites = [m for m in messages if m["X-Interview-Sync-Kind"] == "invite"]
    assert len(invites) >= 3
    for invite in invites:
        body = invite.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
        assert "http://127.0.0.1:" in body and "/d/" in body  # a link from the sandbox scheduler
    assert f"{len(messages)} emails written" in result.output
    # issue 13: a bounce and a candidate's reply come back through the sandbox mailbox and reach the recruiter
    alerts = [m.get_body(preferencelist=("plain",)).get_content() for m in messages  # type: ignore[union-attr]
              if m["X-Interview-Sync-Kind"] == "recruiter_alert"]
    assert any("emily.chen@example.com bounced" in a and "5.1.1" in a for a in alerts)
    assert any("Fatima Al-Sayed replied" in a and "night shifts" in a for a in alerts)
    config = tomllib.loads((tmp_path / "demo" / "interview-sync.toml").read_text(encoding="utf-8"))
    assert config["scheduler"]["provider"] == ("calcom" if scheduler == "calcom" else "sandbox")


def test_demo_twice_in_one_directory_starts_afresh(tmp_path: Path) -> None:
    for _ in range(2):
        result = runner.invoke(app, ["demo", "--dir", str(tmp_path)])
        assert result.exit_code == 0, result.output
    invites = [p for p in (tmp_path / "outbox").glob("*.eml") if "-invite-" in p.name]
    assert len(invites) == 6  # not 12: the second run replaced the first run's state and outbox


def test_init_sandbox_flavours_and_refusals(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    result = runner.invoke(app, ["--config", str(path), "init", "--sandbox", "--ats", "lever"])
    assert result.exit_code == 0, result.output
    config = tomllib.loads(path.read_text(encoding="utf-8"))
    assert config["ats"]["provider"] == "lever" and config["ats"]["base_url"].endswith("/v1")
    assert path.stat().st_mode & 0o077 == 0
    again = runner.invoke(app, ["--config", str(path), "init"])
    assert again.exit_code == 2 and "--force" in again.stderr
    bad = runner.invoke(app, ["--config", str(tmp_path / "d.toml"), "init", "--sandbox", "--scheduler", "acuity"])
    assert bad.exit_code == 2 and "calendly, calcom" in bad.stderr


def test_init_without_sandbox_writes_the_annotated_example(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    assert runner.invoke(app, ["--config", str(path), "init"]).exit_code == 0
    example = (Path(__file__).resolve().parents[1] / "config.example.toml").read_text(encoding="utf-8")
    assert path.read_text(encoding="utf-8") == example


def test_demo_shows_a_text_conversation(tmp_path: Path) -> None:
    result = runner.invoke(app, ["demo", "--dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    conversation = result.output.split("text conversation with José", 1)[1]
    lines = [line.strip() for line in conversation.splitlines()[1:] if line.strip().startswith(("→", "←"))]
    assert lines[0].startswith("→ Mercy Valley Health: Reserve su entrevista") and lines[0].endswith("[delivered]")
    assert lines[1] == "← ¿Puedo llevar mi certificado en el teléfono?"
    assert "← para" in lines and "Ya no le enviaremos mensajes" in lines[-1]
    assert sum(line.startswith("→") for line in lines) == 5  # 4 texts (the cap) + the one opt-out confirmation
