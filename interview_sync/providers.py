"""The provider registry: each name ``[ats] provider`` or ``[scheduler] provider`` may
take, mapped to the adapter that speaks its wire format and that adapter's own config model.

Context (building adapters), config (validating a section's keys), the sandbox
client (a sandbox section per wire format) and the CLI (`sandbox serve`
defaults) all read this one table, so a new vendor is one adapter module (its
class and its config model) plus one line here, plus its sandbox flavour and
test fake.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, get_args

from pydantic import SecretStr

from .ats.greenhouse import GreenhouseATS, GreenhouseConfig
from .ats.lever import LeverATS, LeverConfig
from .clock import Clock
from .config_base import VendorConfig
from .errors import BadRecord, ConfigError
from .http import VendorSession
from .scheduler.calcom import CalcomConfig, CalcomScheduler
from .scheduler.calendly import CalendlyConfig, CalendlyScheduler


@dataclass(frozen=True)
class Provider:
    name: str  # the value of `provider` in the config
    adapter: Any  # the adapter class; its `name` is the wire format it speaks
    config: type[VendorConfig]
    shared: tuple[str, ...] = ()  # keys every provider of the section has that this adapter also takes

    @property
    def wire(self) -> str:
        """The vendor wire format: the HTTP session's name and the sandbox flavour that serves it."""
        return str(self.adapter.name)


def _table(*providers: Provider) -> dict[str, Provider]:
    return {p.name: p for p in providers}


_GREENHOUSE_SHARED = ("per_page", "interview_stages")  # it reads stage history for those stages only
ATS_PROVIDERS = _table(
    Provider("greenhouse", GreenhouseATS, GreenhouseConfig, _GREENHOUSE_SHARED),
    Provider("lever", LeverATS, LeverConfig, ("per_page",)),
    Provider("sandbox", GreenhouseATS, GreenhouseConfig, _GREENHOUSE_SHARED),  # the built-in sandbox's flavour
)
SCHEDULER_PROVIDERS = _table(
    Provider("calendly", CalendlyScheduler, CalendlyConfig),
    Provider("calcom", CalcomScheduler, CalcomConfig),
    Provider("sandbox", CalendlyScheduler, CalendlyConfig),  # the built-in sandbox, Calendly flavour
)
SECTIONS: dict[str, dict[str, Provider]] = {"ats": ATS_PROVIDERS, "scheduler": SCHEDULER_PROVIDERS}


def build(section: str, values: Any, *, clock: Clock, on_bad_record: Callable[[BadRecord], None],
          sleeper: Callable[[float], None] | None = None) -> Any:
    """The adapter ``values.provider`` names (``values``: the loaded ``[section]``), from its
    vendor's own keys and the shared keys its registry line lists, with its own HTTP session."""
    entry = provider(section, values.provider)
    return entry.adapter(**values.adapter_args(), **{key: getattr(values, key) for key in entry.shared},
                         session=VendorSession(entry.wire, sleeper=sleeper), clock=clock, on_bad_record=on_bad_record)


def provider(section: str, name: str) -> Provider:
    """The registry entry for ``[section] provider = name``, or a one-line config error."""
    table = SECTIONS[section]
    if name not in table:
        raise ConfigError(f"unknown {section}.provider {name!r}", f"use one of {', '.join(table)}")
    return table[name]


def secret_keys(section: str) -> list[str]:
    """The keys any provider of ``section`` keeps secret (a SecretStr, or a mapping of them),
    so `doctor` warns about every vendor's secrets in a readable file, new vendors included."""
    keys: dict[str, None] = {}
    for entry in SECTIONS[section].values():
        for name, info in entry.config.model_fields.items():
            if _holds_secret(info.annotation):
                keys[name] = None
    return list(keys)


def _holds_secret(annotation: Any) -> bool:
    return annotation is SecretStr or any(_holds_secret(arg) for arg in get_args(annotation))
