"""Configuration: a TOML file plus ``INTERVIEW_SYNC_<SECTION>__<KEY>`` overrides.

Secrets are ``SecretStr`` so they never print; every validation problem is
reported as one line naming the key and the fix (exit 2).
"""

from __future__ import annotations

import ipaddress
import os
import re
from pathlib import Path
from typing import Any, ClassVar, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, TomlConfigSettingsSource

from .errors import ConfigError

ENV_PREFIX = "INTERVIEW_SYNC_"
DEFAULT_CONFIG_NAME = "interview-sync.toml"

_FIXES: dict[str, str] = {
    "url": "use https://, or http:// only for 127.0.0.1/localhost",
    "timezone": "use an IANA zone name such as America/Chicago",
    "regex": "fix the regular expression (Python re syntax)",
}


def is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _check_url(value: str) -> str:
    if not value:
        return value
    parts = urlsplit(value)
    if parts.scheme == "https" and parts.hostname:
        return value.rstrip("/")
    if parts.scheme == "http" and is_loopback(parts.hostname):
        return value.rstrip("/")
    raise ValueError(f"{value!r} is not allowed: {_FIXES['url']}")


def check_zone(value: str) -> str:
    """An IANA zone name that loads, or ValueError (a one-line config error naming the key).

    ZoneInfo reports a bad name in several ways: ZoneInfoNotFoundError (a
    KeyError) for "Mars/Base", IsADirectoryError for "Pacific" (a directory in
    tzdata), ValueError for "" or a path, other OSErrors for unreadable files.
    """
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, OSError, ValueError):
        raise ValueError(f"unknown time zone {value!r}: {_FIXES['timezone']}") from None
    return value


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class StateConfig(Section):
    path: Path = Path("interview-sync.db")


class ATSConfig(Section):
    provider: Literal["greenhouse", "lever", "sandbox"] = "greenhouse"
    base_url: str = "https://harvest.greenhouse.io/v3"
    token_url: str = "https://auth.greenhouse.io/token"
    client_id: str = ""
    client_secret: SecretStr = SecretStr("")
    user_id: str = ""
    api_key: SecretStr = SecretStr("")  # lever
    perform_as: str = ""  # lever
    interview_stages: list[str] = Field(default_factory=lambda: ["Phone Screen", "First Interview",
                                                                 "Panel Interview"])
    flag_tag: str = "Scheduling: needs recruiter"
    web_url: str = ""  # where recruiters open records (empty: the vendor's default host)
    overlap_minutes: int = Field(default=10, ge=0, le=24 * 60)
    per_page: int = Field(default=100, ge=1, le=500)
    max_pages: int = Field(default=50, ge=1, le=10_000)  # per poll; the next poll continues the listing

    _urls = field_validator("base_url", "token_url", "web_url")(classmethod(lambda cls, v: _check_url(v)))


class SchedulerConfig(Section):
    provider: Literal["calendly", "calcom", "sandbox"] = "calendly"
    base_url: str = "https://api.calendly.com"
    api_token: SecretStr = SecretStr("")
    max_pages: int = Field(default=20, ge=1, le=10_000)  # per poll; the next poll continues the listing
    # Cal.com: host email -> that host's own API key. Cal.com lets only an event
    # type's owner create private links on it, and lists a key's own bookings only.
    host_keys: dict[str, SecretStr] = Field(default_factory=dict)

    _urls = field_validator("base_url")(classmethod(lambda cls, v: _check_url(v)))

    @field_validator("host_keys")
    @classmethod
    def _host_keys_by_email(cls, value: dict[str, SecretStr]) -> dict[str, SecretStr]:
        for email, key in value.items():
            if "@" not in email:
                raise ValueError(f"{email!r} is not an email address: key each API key by its host's Cal.com email")
            if not key.get_secret_value().strip():
                raise ValueError(f"the API key for {email} is empty: set it or remove the entry")
        return {email.strip().casefold(): key for email, key in value.items()}


class PollConfig(Section):
    deadline_seconds: float = Field(default=240, gt=0, le=3600)  # a poll stops cleanly after this long


class EmailConfig(Section):
    transport: Literal["smtp", "file"] = "file"
    from_: str = Field(default="Talent Acquisition <talent@example.org>", alias="from")
    reply_to: str = ""
    smtp_host: str = ""
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_security: Literal["starttls", "ssl", "none"] = "starttls"
    smtp_username: str = ""
    smtp_password: SecretStr = SecretStr("")
    outbox_dir: Path = Path("outbox")
    fallback_contact: str = "Recruiting desk: (555) 010-0100, recruiting@example.org"
    org_name: str = ""  # shown in emails; defaults to the display name of `from`
    template_dir: Path | None = None  # your own templates; packaged ones fill the gaps

    @model_validator(mode="after")
    def _smtp_needs_host(self) -> "EmailConfig":
        if self.transport == "smtp" and not self.smtp_host:
            raise ValueError("smtp_host is empty while transport = \"smtp\": set email.smtp_host, "
                             "or transport = \"file\" to write .eml files")
        if self.transport == "smtp" and self.smtp_security == "none" and not is_loopback(self.smtp_host):
            raise ValueError("smtp_security = \"none\" is allowed only for a loopback smtp_host: use starttls or ssl")
        return self


class MailboxConfig(Section):
    """Where bounces and replies come back (SPEC §8): read on every poll."""

    provider: Literal["none", "graph", "imap"] = "none"
    # imap
    host: str = ""
    port: int = Field(default=993, ge=1, le=65535)
    security: Literal["ssl", "starttls", "none"] = "ssl"  # none: loopback only
    username: str = ""  # default: the address of email.from
    auth: Literal["password", "xoauth2"] = "password"
    password: SecretStr = SecretStr("")
    folder: str = "INBOX"
    # graph, and xoauth2 on Exchange Online: a Microsoft app registration (client credentials);
    # empty: the [email] section's app (the one that sends through Graph), when it has one
    mailbox: str = ""  # the mailbox to read; default: the address of email.from
    tenant_id: str = ""
    client_id: str = ""
    client_secret: SecretStr = SecretStr("")
    graph_url: str = "https://graph.microsoft.com/v1.0"
    authority_url: str = "https://login.microsoftonline.com"
    # both
    lookback_hours: float = Field(default=48, gt=0, le=24 * 30)  # how far back the very first read looks
    overlap_minutes: int = Field(default=10, ge=0, le=24 * 60)  # graph: re-read this much before the cursor
    max_messages: int = Field(default=200, ge=1, le=10_000)  # per poll; the next poll continues

    _urls = field_validator("graph_url", "authority_url")(classmethod(lambda cls, v: _check_url(v)))

    @model_validator(mode="after")
    def _complete(self) -> "MailboxConfig":
        if self.provider == "imap":
            if not self.host:
                raise ValueError("host is empty while provider = \"imap\": set mailbox.host (e.g. "
                                 "outlook.office365.com or imap.gmail.com)")
            if self.security == "none" and not is_loopback(self.host):
                raise ValueError("security = \"none\" is allowed only for a loopback host: use ssl or starttls")
            if self.auth == "password" and not self.password.get_secret_value():
                raise ValueError("password is empty while auth = \"password\": set "
                                 "INTERVIEW_SYNC_MAILBOX__PASSWORD, or auth = \"xoauth2\"")
        return self


class AlertsConfig(Section):
    recruiter_email: str = "recruiting-alerts@example.org"



class PolicyConfig(Section):
    timezone: str = "America/Chicago"
    booking_deadline_hours: float = Field(default=48, gt=0)
    followup_deadline_hours: float = Field(default=24, gt=0)
    reminder_hours_before: float = Field(default=24, ge=0)
    no_availability_days: int = Field(default=10, ge=1, le=60)
    feedback_after_hours: float = Field(default=2, ge=0)

    _zone = field_validator("timezone")(classmethod(lambda cls, v: check_zone(v)))


# What a hiring manager's booking email may show about the application (privacy: only
# what the recruiter lists here). ``custom.<field>`` names an application custom field.
MANAGER_NOTE_FIELDS = ("stage", "stage_history", "source", "department", "office")


class ManagerNotesConfig(Section):
    fields: list[str] = Field(default_factory=lambda: ["stage"])

    @field_validator("fields")
    @classmethod
    def _known(cls, value: list[str]) -> list[str]:
        for name in value:
            if name not in MANAGER_NOTE_FIELDS and not (name.startswith("custom.") and len(name) > 7):
                raise ValueError(f"unknown field {name!r}: use {', '.join(MANAGER_NOTE_FIELDS)} or custom.<field>")
        return value


class FeedbackConfig(Section):
    url: str = ""


class ReportConfig(Section):
    manual_minutes_per_schedule: float = Field(default=30, ge=0)
    minutes_per_alert: float = Field(default=10, ge=0)
    retention_days: int = Field(default=4 * 365, ge=1)


class Route(Section):
    match: dict[str, str] = Field(default_factory=dict)
    event_type: str
    duration_minutes: int = Field(default=30, ge=5, le=480)
    format: Literal["phone", "video", "in_person"] = "phone"
    location: str | None = None
    host: str | None = None
    template: str = "default"
    notes: str | None = None

    @field_validator("match")
    @classmethod
    def _keys(cls, value: dict[str, str]) -> dict[str, str]:
        allowed = {"stage", "job_id", "job_name", "department", "office"}
        for key, pattern in value.items():
            if key not in allowed and not key.startswith("custom."):
                raise ValueError(f"unknown match key {key!r}: use one of {sorted(allowed)} or custom.<field>")
            if key == "job_name":
                try:
                    re.compile(pattern)
                except re.error as exc:
                    raise ValueError(f"job_name {pattern!r} is not a valid regex ({exc}): {_FIXES['regex']}") from None
        return value


class Settings(BaseSettings):
    """The whole configuration. Load with :func:`load_settings`, not directly."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, env_nested_delimiter="__",
                                      extra="forbid", case_sensitive=False)
    _toml_path: ClassVar[Path | None] = None

    state: StateConfig = Field(default_factory=StateConfig)
    ats: ATSConfig = Field(default_factory=ATSConfig)
    scheduler: SchedulerConfig = Field(default_factory=SchedulerConfig)
    poll: PollConfig = Field(default_factory=PollConfig)
    email: EmailConfig = Field(default_factory=EmailConfig)
    mailbox: MailboxConfig = Field(default_factory=MailboxConfig)
    alerts: AlertsConfig = Field(default_factory=AlertsConfig)
    policy: PolicyConfig = Field(default_factory=PolicyConfig)
    feedback: FeedbackConfig = Field(default_factory=FeedbackConfig)
    report: ReportConfig = Field(default_factory=ReportConfig)
    routes: list[Route] = Field(default_factory=list)
    hosts: dict[str, str] = Field(default_factory=dict)
    offices: dict[str, str] = Field(default_factory=dict)  # office name -> IANA zone, before a booking exists
    manager_notes: ManagerNotesConfig = Field(default_factory=ManagerNotesConfig)

    @field_validator("offices")
    @classmethod
    def _office_zones(cls, value: dict[str, str]) -> dict[str, str]:
        for office, zone in value.items():
            try:
                check_zone(zone)
            except ValueError:
                raise ValueError(f"office {office!r}: unknown time zone {zone!r}: {_FIXES['timezone']}") from None
        return value

    @model_validator(mode="after")
    def _mailbox_app(self) -> "Settings":
        box = self.mailbox
        if box.provider == "graph" or (box.provider == "imap" and box.auth == "xoauth2"):
            missing = [name for name, value in zip(("tenant_id", "client_id", "client_secret"), microsoft_app(self))
                       if not value.strip()]
            if missing:
                raise ValueError(f"mailbox {', '.join(missing)} empty while the mailbox is read with a Microsoft "
                                 "app token: set them from the app registration (or in [email] when it sends "
                                 "through the same app); the secret goes in INTERVIEW_SYNC_MAILBOX__CLIENT_SECRET")
        return self

    @classmethod
    def settings_customise_sources(cls, settings_cls: type[BaseSettings],
                                   init_settings: PydanticBaseSettingsSource,
                                   env_settings: PydanticBaseSettingsSource,
                                   dotenv_settings: PydanticBaseSettingsSource,
                                   file_secret_settings: PydanticBaseSettingsSource,
                                   ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if cls._toml_path is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=cls._toml_path))
        return tuple(sources)

    def resolve_paths(self, base: Path) -> "Settings":
        """Relative paths in the file are relative to the file, not the cwd (cron)."""
        if not self.state.path.is_absolute():
            self.state.path = base / self.state.path
        if not self.email.outbox_dir.is_absolute():
            self.email.outbox_dir = base / self.email.outbox_dir
        if self.email.template_dir is not None and not self.email.template_dir.is_absolute():
            self.email.template_dir = base / self.email.template_dir
        return self


def microsoft_app(settings: Settings) -> tuple[str, str, str]:
    """(tenant_id, client_id, client_secret) the mailbox is read with: ``[mailbox]``'s own, each
    falling back to ``[email]``'s (SPEC §8: Graph reading uses the sending app's credentials)."""
    box, mail = settings.mailbox, settings.email
    secret = box.client_secret.get_secret_value() or getattr(mail, "client_secret", SecretStr("")).get_secret_value()
    return (box.tenant_id or getattr(mail, "tenant_id", ""), box.client_id or getattr(mail, "client_id", ""), secret)


def config_path(explicit: str | Path | None) -> Path:
    if explicit:
        return Path(explicit)
    env = os.environ.get("INTERVIEW_SYNC_CONFIG")
    return Path(env) if env else Path(DEFAULT_CONFIG_NAME)


def load_settings(path: str | Path | None = None, *, require_file: bool = True,
                  overrides: dict[str, Any] | None = None) -> Settings:
    """Load and validate; raise ConfigError with one line naming key and fix."""
    resolved = config_path(path)
    if not resolved.exists():
        if require_file:
            raise ConfigError(f"config file {str(resolved)!r} not found",
                              "run `interview-sync init` (or `init --sandbox`), or pass --config PATH")
        toml_path = None
    else:
        toml_path = resolved
    try:
        import tomllib

        if toml_path is not None:
            tomllib.loads(toml_path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{resolved}: not valid TOML ({exc})", "fix the syntax at that line") from None
    holder = type("LoadedSettings", (Settings,), {})
    holder._toml_path = toml_path
    try:
        settings = holder(**(overrides or {}))
    except ValidationError as exc:
        raise _one_line(exc, resolved) from None
    base = (toml_path.parent if toml_path else Path.cwd()).resolve()
    return settings.resolve_paths(base)


def _one_line(exc: ValidationError, path: Path) -> ConfigError:
    first = exc.errors()[0]
    key = ".".join(str(part) for part in first.get("loc", ()) if part != "__root__") or "(config)"
    message = first.get("msg", "invalid value").removeprefix("Value error, ")
    kind = first.get("type", "")
    if kind == "extra_forbidden":
        return ConfigError(f"{path}: unknown key {key!r}", "remove it or check its spelling against config.example.toml")
    if kind == "missing":
        return ConfigError(f"{path}: {key} is required", f"add {key} to the config file")
    more = f" (+{exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    env = ENV_PREFIX + "__".join(str(p).upper() for p in first.get("loc", ())[:2])
    return ConfigError(f"{path}: {key}: {message}{more}", f"fix {key} in the file or {env}")
