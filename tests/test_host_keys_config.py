"""`scheduler.host_keys`: Cal.com keys per host, from the file or (better) the environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from interview_sync.config import load_settings
from interview_sync.errors import ConfigError

BASE = '[scheduler]\nprovider = "calcom"\nbase_url = "https://api.cal.com/v2"\n'


def test_host_keys_from_the_environment_as_json_keyed_by_casefolded_email(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "c.toml"
    path.write_text(BASE, encoding="utf-8")
    monkeypatch.setenv("INTERVIEW_SYNC_SCHEDULER__HOST_KEYS", '{"Maria.Delgado@Example.org": "cal_live_secret1"}')
    keys = load_settings(path).scheduler.host_keys
    assert {email: key.get_secret_value() for email, key in keys.items()} == {
        "maria.delgado@example.org": "cal_live_secret1"}
    assert "cal_live_secret1" not in repr(keys)


@pytest.mark.parametrize("table, words", [('"maria" = "cal_live_x"', ("host_keys", "email")),
                                          ('"maria@example.org" = ""', ("host_keys", "empty"))])
def test_bad_host_keys_are_one_line_errors_naming_the_field(tmp_path: Path, table: str,
                                                            words: tuple[str, ...]) -> None:
    path = tmp_path / "c.toml"
    path.write_text(BASE + "\n[scheduler.host_keys]\n" + table + "\n", encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_settings(path)
    assert all(word in str(err.value) for word in words) and "\n" not in str(err.value)
    assert "cal_live_x" not in str(err.value)
