"""Configuration: TOML + INTERVIEW_SYNC_<SECTION>__<KEY>, secrets hidden, one-line errors (exit 2)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from interview_sync.cli.app import app
from interview_sync.config import load_settings
from interview_sync.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "c.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_example_config_loads_and_routes_leadership_first() -> None:
    settings = load_settings(ROOT / "config.example.toml")
    assert settings.routes[0].event_type == "leadership-video-60"
    assert settings.routes[-1].match == {}  # a catch-all, so no application is left without a route


def test_environment_overrides_the_file_and_secrets_never_print(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, '[ats]\nclient_id = "from-file"\n')
    monkeypatch.setenv("INTERVIEW_SYNC_ATS__CLIENT_ID", "from-env")
    monkeypatch.setenv("INTERVIEW_SYNC_ATS__CLIENT_SECRET", "s3cr3t-value")
    settings = load_settings(path)
    assert settings.ats.client_id == "from-env"
    assert settings.ats.client_secret.get_secret_value() == "s3cr3t-value"
    assert "s3cr3t-value" not in repr(settings) and "s3cr3t-value" not in str(settings.model_dump())


def test_relative_paths_are_relative_to_the_config_file(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, '[state]\npath = "state/x.db"\n'))
    assert settings.state.path == (tmp_path / "state" / "x.db").resolve()


@pytest.mark.parametrize("text, names", [
    ('[ats]\nbase_url = "http://harvest.example.com/v3"\n', ("ats.base_url", "https://")),
    ('[scheduler]\nbase_url = "http://127.0.0.1:8765"\n', None),  # loopback http is fine
    ('[policy]\ntimezone = "Mars/Olympus"\n', ("policy.timezone", "IANA")),
    ('[policy]\nbooking_deadline_hours = -1\n', ("policy.booking_deadline_hours", "INTERVIEW_SYNC_POLICY__")),
    ('[atz]\nx = 1\n', ("'atz'", "config.example.toml")),
    ('[[routes]]\nmatch = { colour = "blue" }\nevent_type = "x"\n', ("routes", "custom.<field>")),
    ('[[routes]]\nmatch = { job_name = "(" }\nevent_type = "x"\n', ("routes", "regular expression")),
    ('[email]\ntransport = "smtp"\n', ("smtp_host", 'transport = "file"')),
    ('[email]\ntransport = "smtp"\nsmtp_host = "mail.example.org"\nsmtp_security = "none"\n', ("loopback",)),
    ('[ats\n', ("not valid TOML",)),
])
def test_bad_values_give_one_line_naming_the_key_and_the_fix(tmp_path: Path, text: str,
                                                             names: tuple[str, ...] | None) -> None:
    path = write(tmp_path, text)
    if names is None:
        load_settings(path)
        return
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    message = str(caught.value)
    assert "\n" not in message and " — " in message  # one line, with the fix after the dash
    for name in names:
        assert name in message, message


def test_cli_maps_a_config_error_to_exit_2_with_one_stderr_line(tmp_path: Path) -> None:
    path = write(tmp_path, '[policy]\ntimezone = "Nowhere/Land"\n')
    result = CliRunner().invoke(app, ["--config", str(path), "status"])
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: ") and "policy.timezone" in result.stderr


def test_missing_config_file_names_the_fix(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["--config", str(tmp_path / "nope.toml"), "poll"])
    assert result.exit_code == 2 and "interview-sync init" in result.stderr


def test_lever_keys_from_the_environment_build_lever_with_its_own_defaults(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from interview_sync.ats.lever import LeverATS
    from interview_sync.clock import FixedClock, parse_instant
    from interview_sync.context import build_ats

    monkeypatch.setenv("INTERVIEW_SYNC_ATS__PROVIDER", "lever")
    monkeypatch.setenv("INTERVIEW_SYNC_ATS__API_KEY", "lever-s3cr3t")
    monkeypatch.setenv("INTERVIEW_SYNC_ATS__PERFORM_AS", "u-1")
    settings = load_settings(write(tmp_path, '[ats]\nflag_tag = "t"\n'))
    assert settings.ats.base_url == "https://api.lever.co/v1"  # Lever's root, not Greenhouse's
    assert settings.ats.flag_tag == "t" and "lever-s3cr3t" not in repr(settings)
    ats = build_ats(settings, FixedClock(parse_instant("2026-11-30T16:00:00Z")), [].append)
    assert isinstance(ats, LeverATS) and ats.perform_as == "u-1" and ats.base_url == "https://api.lever.co/v1"


@pytest.mark.parametrize("text, names", [
    ('[ats]\napi_key = "k"\n', ("ats.api_key", "'greenhouse'", "lever")),
    ('[ats]\nprovider = "lever"\nclient_secret = "s"\n', ("ats.client_secret", "'lever'", "greenhouse")),
    ('[scheduler]\nprovider = "calendly"\n[scheduler.host_keys]\n"a@b.org" = "k"\n',
     ("scheduler.host_keys", "'calendly'", "calcom")),
    ('[ats]\nprovider = "workday"\n', ("ats.provider", "'workday'", "greenhouse, lever, sandbox")),
    ('[scheduler]\nprovider = "lever"\n', ("scheduler.provider", "calendly, calcom, sandbox")),
    ('[ats]\nprovider = "lever"\nbase_url = "http://api.lever.co/v1"\n', ("ats.base_url", "https://")),
    ('[ats]\nprovider = "lever"\napi_kee = "k"\n', ("unknown key 'ats.api_kee'",)),
])
def test_a_key_of_another_provider_is_one_line_naming_key_and_provider(tmp_path: Path, text: str,
                                                                        names: tuple[str, ...]) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(write(tmp_path, text))
    message = str(caught.value)
    assert "\n" not in message and " — " in message
    for name in names:
        assert name in message, message
    assert '"k"' not in message and "'k'" not in message and "'s'" not in message  # values stay out


def test_a_key_of_another_provider_from_the_environment_names_the_variable(tmp_path: Path,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INTERVIEW_SYNC_ATS__API_KEY", "lever-s3cr3t")
    result = CliRunner().invoke(app, ["--config", str(write(tmp_path, '[ats]\nprovider = "greenhouse"\n')), "status"])
    assert result.exit_code == 2 and result.stderr.count("\n") == 1
    assert "ats.api_key" in result.stderr and "INTERVIEW_SYNC_ATS__API_KEY" in result.stderr
    assert "lever-s3cr3t" not in result.stderr
