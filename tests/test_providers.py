"""The provider registry: one table from `provider` names to adapters and their own config models."""

from __future__ import annotations

import inspect
from importlib import import_module
from pathlib import Path

import pytest

from interview_sync.clock import FixedClock, parse_instant
from interview_sync.config import load_settings
from interview_sync.context import build_ats, build_scheduler
from interview_sync.providers import ATS_PROVIDERS, SCHEDULER_PROVIDERS, SECTIONS
from interview_sync.sandbox import ATS_FLAVOURS, SCHEDULER_FLAVOURS
from interview_sync.sandbox.client import configured_sandbox_url, sandbox_section, sandbox_settings
from interview_sync.starter import write_config

CLOCK = FixedClock(parse_instant("2026-11-30T16:00:00Z"))
URL = "http://127.0.0.1:9555"


@pytest.mark.parametrize("section, name", [(s, n) for s, table in SECTIONS.items() for n in table])
def test_every_config_model_feeds_exactly_its_adapters_vendor_arguments(section: str, name: str) -> None:
    from interview_sync.config import ATSConfig, SchedulerConfig

    entry = SECTIONS[section][name]
    params = inspect.signature(entry.adapter.__init__).parameters
    shared_model = {"ats": ATSConfig, "scheduler": SchedulerConfig}[section]
    assert set(entry.shared) <= set(shared_model.model_fields), f"{name}: shared keys the section lacks"
    args = {**entry.config().adapter_args(), **dict.fromkeys(entry.shared)}
    assert set(args) <= set(params), f"{name}: {set(args) - set(params)} are not constructor arguments"
    required = {p for p, spec in params.items() if spec.default is inspect.Parameter.empty and p != "self"}
    assert required - {"session", "clock"} <= set(args), f"{name}: the config model misses {required}"


def test_every_wire_format_has_a_sandbox_flavour() -> None:
    assert ATS_FLAVOURS == ("greenhouse", "lever") and SCHEDULER_FLAVOURS == ("calendly", "calcom")
    for wire in {p.wire for table in (ATS_PROVIDERS, SCHEDULER_PROVIDERS) for p in table.values()}:
        assert callable(import_module(f"interview_sync.sandbox.{wire}").mount), wire
        assert sandbox_section(wire, URL)["base_url"].startswith(URL), wire


@pytest.mark.parametrize("ats", ATS_FLAVOURS)
@pytest.mark.parametrize("scheduler", SCHEDULER_FLAVOURS)
def test_a_sandbox_config_builds_the_adapters_of_its_flavours(tmp_path: Path, ats: str, scheduler: str) -> None:
    path = tmp_path / "c.toml"
    write_config(path, sandbox_settings(URL, ats=ats, scheduler=scheduler))
    settings = load_settings(path)
    built_ats = build_ats(settings, CLOCK, [].append)
    built_scheduler = build_scheduler(settings, CLOCK, [].append)
    assert (built_ats.name, built_scheduler.name) == (ats, scheduler)
    assert built_ats.session.vendor == ats and built_scheduler.session.vendor == scheduler
    assert configured_sandbox_url(settings) == URL


def test_a_real_vendor_config_names_no_sandbox(tmp_path: Path) -> None:
    from interview_sync.errors import ConfigError

    path = tmp_path / "c.toml"
    path.write_text('[ats]\nprovider = "lever"\nbase_url = "http://127.0.0.1:9555/v1"\napi_key = "live"\n',
                    encoding="utf-8")
    with pytest.raises(ConfigError, match="names no sandbox"):
        configured_sandbox_url(load_settings(path))


def test_doctor_knows_every_providers_secrets() -> None:
    from interview_sync.doctor import SECRET_KEYS

    assert set(SECRET_KEYS) == {("ats", "client_secret"), ("ats", "api_key"), ("scheduler", "api_token"),
                                ("scheduler", "host_keys"), ("email", "smtp_password"), ("email", "client_secret"),
                                ("mailbox", "password"), ("mailbox", "client_secret")}
