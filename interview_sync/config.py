"""Configuration: a TOML file plus ``INTERVIEW_SYNC_<SECTION>__<KEY>`` overrides.

Secrets are ``SecretStr`` so they never print; every validation problem is
reported as one line naming the key and the fix (exit 2).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, Union
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (Discriminator, Field, SecretStr, Tag, ValidationError, create_model, field_validator,
                      model_validator)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, TomlConfigSettingsSource

from .config_base import URL_FIX, Section, check_url, is_loopback
from .errors import ConfigError
from .providers import SECTIONS, Provider

ENV_PREFIX = "INTERVIEW_SYNC_"
DEFAULT_CONFIG_NAME = "interview-sync.toml"

_FIXES: dict[str, str] = {
    "url": URL_FIX,
    "timezone": "use an IANA zone name such as America/Chicago",
    "regex": "fix the regular expression (Python re syntax)",
}


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


class StateConfig(Section):
    path: Path = Path("interview-sync.db")


class ATSConfig(Section):
    """The ``[ats]`` keys every ATS provider has; its vendor's own keys come from the registry."""

    provider: str = "greenhouse"
    interview_stages: list[str] = Field(default_factory=lambda: ["Phone Screen", "First Interview",
                                                                 "Panel Interview"])
    flag_tag: str = "Scheduling: needs recruiter"
    web_url: str = ""  # where recruiters open records (empty: the vendor's default host)
    overlap_minutes: int = Field(default=10, ge=0, le=24 * 60)
    per_page: int = Field(default=100, ge=1, le=500)
    max_pages: int = Field(default=50, ge=1, le=10_000)  # per poll; the next poll continues the listing

    # its own name: a vendor model's `_urls` must not be shadowed in the merged section model
    _shared_urls = field_validator("web_url")(classmethod(lambda cls, v: check_url(v)))


class SchedulerConfig(Section):
    """The ``[scheduler]`` keys every scheduler provider has."""

    provider: str = "calendly"
    max_pages: int = Field(default=20, ge=1, le=10_000)  # per poll; the next poll continues the listing


def _provider_models(shared: type[Section], providers: dict[str, Provider]) -> dict[str, type[Section]]:
    """One model per provider: the section's shared keys plus that vendor's own, nothing else,
    so a key of another vendor is refused with the provider named (see :func:`_one_line`)."""
    return {name: create_model(f"{name.capitalize()}{shared.__name__}", __base__=(shared, p.config),
                               __module__=__name__, provider=(Literal[name], name))  # type: ignore[call-overload]
            for name, p in providers.items()}


def _by_provider(default: str) -> Any:
    def provider_of(value: Any) -> str:
        return str(value.get("provider", default) if isinstance(value, dict) else getattr(value, "provider", default))
    return provider_of


def _section_type(models: dict[str, type[Section]], default: str) -> Any:
    """The flat TOML section (SPEC §4) validated by the model its ``provider`` names."""
    return Annotated[Union[tuple(Annotated[m, Tag(name)] for name, m in models.items())],  # type: ignore[valid-type]
                     Discriminator(_by_provider(default))]


ATS_MODELS = _provider_models(ATSConfig, SECTIONS["ats"])
SCHEDULER_MODELS = _provider_models(SchedulerConfig, SECTIONS["scheduler"])
ATSSection = _section_type(ATS_MODELS, "greenhouse")
SchedulerSection = _section_type(SCHEDULER_MODELS, "calendly")


class PollConfig(Section):
    deadline_seconds: float = Field(default=240, gt=0, le=3600)  # a poll stops cleanly after this long


def parse_listen(value: str) -> tuple[str, int]:
    """``HOST:PORT``, ``:PORT`` or ``PORT`` (loopback), ``[::1]:PORT`` → (host, port), or ValueError."""
    text = value.strip()
    host, sep, port_text = text.rpartition(":")
    if not sep:
        host, port_text = "", text
    host = host.strip("[]") or "127.0.0.1"
    if not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise ValueError(f"{value!r} is not HOST:PORT: write e.g. 127.0.0.1:8787 (0 picks a free port)")
    return host, int(port_text)


class RunConfig(Section):
    """`interview-sync run`: the long-running mode (the command line overrides these)."""

    every_seconds: float = Field(default=60, ge=1, le=86_400)  # between cycles, before jitter
    listen: str = ""  # HOST:PORT for webhooks, /healthz and /metrics; empty = no listener
    healthy_within_seconds: float = Field(default=900, ge=10)  # /healthz: 503 once the last good cycle is older
    max_backoff_seconds: float = Field(default=900, ge=5, le=86_400)  # while a vendor is down

    @field_validator("listen")
    @classmethod
    def _listen(cls, value: str) -> str:
        if value.strip():
            parse_listen(value)
        return value.strip()


class WebhooksConfig(Section):
    """Per-vendor webhook secrets: a verified webhook only wakes a cycle (SPEC §8)."""

    greenhouse_secret: SecretStr = SecretStr("")  # the web hook's "Secret key"
    lever_token: SecretStr = SecretStr("")  # the webhook's signature token
    calendly_signing_key: SecretStr = SecretStr("")  # the subscription's signing_key
    calcom_secret: SecretStr = SecretStr("")  # the webhook's secret
    tolerance_seconds: float = Field(default=180, ge=10, le=3600)  # signed timestamps older than this are stale


class EmailConfig(Section):
    transport: Literal["smtp", "graph", "file"] = "file"
    from_: str = Field(default="Talent Acquisition <talent@example.org>", alias="from")
    reply_to: str = ""
    smtp_host: str = ""
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_security: Literal["starttls", "ssl", "none"] = "starttls"
    smtp_username: str = ""
    smtp_password: SecretStr = SecretStr("")
    # OAuth instead of a password: transport = "graph", or smtp_auth = "xoauth2".
    smtp_auth: Literal["password", "xoauth2"] = "password"
    tenant_id: str = ""  # Microsoft: Directory (tenant) ID
    client_id: str = ""  # Microsoft: Application (client) ID
    client_secret: SecretStr = SecretStr("")  # Microsoft: the client secret's value
    service_account_file: Path | None = None  # Google: service account JSON key (domain-wide delegation)
    graph_url: str = "https://graph.microsoft.com/v1.0"
    authority_url: str = "https://login.microsoftonline.com"
    candidate_calendar_invite: Literal["auto", "always", "never"] = "auto"
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
        oauth = self.transport == "graph" or (self.transport == "smtp" and self.smtp_auth == "xoauth2")
        if oauth and not (self.transport == "smtp" and self.service_account_file):
            missing = [key for key in ("tenant_id", "client_id") if not getattr(self, key).strip()]
            if not self.client_secret.get_secret_value():
                missing.append("client_secret")
            if missing:
                google = "" if self.transport == "graph" else " (or service_account_file for Google Workspace)"
                raise ValueError(f"{', '.join(missing)} empty while "
                                 + ("transport = \"graph\"" if self.transport == "graph" else "smtp_auth = \"xoauth2\"")
                                 + f": set them from the Microsoft app registration{google}; the secret goes in "
                                 "INTERVIEW_SYNC_EMAIL__CLIENT_SECRET")
        if self.transport == "graph" and self.service_account_file:
            raise ValueError("service_account_file is for Google over SMTP: with transport = \"graph\" remove it, "
                             "or use transport = \"smtp\" with smtp_auth = \"xoauth2\"")
        return self

    _oauth_urls = field_validator("graph_url", "authority_url")(classmethod(lambda cls, v: check_url(v)))


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

    _urls = field_validator("graph_url", "authority_url")(classmethod(lambda cls, v: check_url(v)))

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



_QUIET = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)$")


def parse_quiet_hours(value: str) -> tuple[int, int]:
    """``"08:00-21:00"`` → minutes after local midnight when texting may start and must stop."""
    match = _QUIET.match(value.strip())
    if not match:
        raise ValueError(f"{value!r} is not a time range: write it as \"08:00-21:00\" (24-hour, local)")
    start = int(match.group(1)) * 60 + int(match.group(2))
    end = int(match.group(3)) * 60 + int(match.group(4))
    if not start < end <= 24 * 60:
        raise ValueError(f"{value!r}: the start must come before the end within one day")
    return start, end


class SmsConfig(Section):
    """Text messages (SPEC §8). ``auth_token`` comes from the environment
    (INTERVIEW_SYNC_SMS__AUTH_TOKEN), never the file."""

    provider: Literal["none", "twilio", "sandbox"] = "none"
    base_url: str = "https://api.twilio.com"
    account_sid: str = ""
    auth_token: SecretStr = SecretStr("")
    messaging_service_sid: str = ""
    from_: str = Field(default="", alias="from")
    consent_field: str = ""  # ATS field ("custom.<field>") or tag ("tag:<name>") that records consent
    consent_question: str = ""  # booking form question (Calendly) or field (Cal.com) whose yes records consent
    consent_text: str = ("I agree to receive text messages about my interview from this employer. "
                         "Msg & data rates may apply. Reply STOP to opt out.")
    quiet_hours: str = "08:00-21:00"  # candidate's local time
    max_per_invitation: int = Field(default=4, ge=0, le=50)
    region: str = "US"  # how numbers written without +country code are read

    _urls = field_validator("base_url")(classmethod(lambda cls, v: check_url(v)))

    @field_validator("consent_field")
    @classmethod
    def _consent_source(cls, value: str) -> str:
        value = value.strip()
        if value and not ((value.startswith("custom.") and len(value) > 7) or (value.startswith("tag:") and
                                                                               value[4:].strip())):
            raise ValueError(f"{value!r}: use \"custom.<field>\" (an application custom field) or \"tag:<name>\"")
        return value

    @field_validator("quiet_hours")
    @classmethod
    def _quiet(cls, value: str) -> str:
        parse_quiet_hours(value)
        return value.strip()

    @model_validator(mode="after")
    def _sender(self) -> "SmsConfig":
        if self.provider == "none":
            return self
        if not self.account_sid:
            raise ValueError("account_sid is empty: set sms.account_sid (Twilio console → Account Info)")
        if not (self.from_ or self.messaging_service_sid):
            raise ValueError("set sms.from (an E.164 number) or sms.messaging_service_sid (MG...)")
        return self


LOCALES = ("en", "es")


class LocaleConfig(Section):
    default: Literal["en", "es"] = "en"
    field: str = ""  # e.g. "custom.preferred_language"


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
    channels: list[Literal["email", "sms"]] = Field(default_factory=lambda: ["email"])
    locale: Literal["en", "es"] | None = None

    @field_validator("channels")
    @classmethod
    def _channels(cls, value: list[str]) -> list[str]:
        if not value or len(set(value)) != len(value):
            raise ValueError("use [\"email\"], [\"email\", \"sms\"] or [\"sms\"]")
        return value

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
    ats: ATSSection = Field(default_factory=ATS_MODELS["greenhouse"])
    scheduler: SchedulerSection = Field(default_factory=SCHEDULER_MODELS["calendly"])
    poll: PollConfig = Field(default_factory=PollConfig)
    run: RunConfig = Field(default_factory=RunConfig)
    webhooks: WebhooksConfig = Field(default_factory=WebhooksConfig)
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
    sms: SmsConfig = Field(default_factory=SmsConfig)
    locale: LocaleConfig = Field(default_factory=LocaleConfig)

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
        if box.provider == "graph" or (box.provider == "imap" and box.auth == "xoauth2" and not uses_google(self)):
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
        if self.email.service_account_file is not None and not self.email.service_account_file.is_absolute():
            self.email.service_account_file = base / self.email.service_account_file
        return self


def uses_google(settings: Settings) -> bool:
    """IMAP XOAUTH2 against Google Workspace: ``[email]`` names a service account key (its
    domain-wide delegation covers reading too) and ``[mailbox]`` names no Microsoft app."""
    return bool(settings.email.service_account_file) and not settings.mailbox.tenant_id


def microsoft_app(settings: Settings) -> tuple[str, str, str]:
    """(tenant_id, client_id, client_secret) the mailbox is read with: ``[mailbox]``'s own, each
    falling back to ``[email]``'s (SPEC §8: Graph reading uses the sending app's credentials)."""
    box, mail = settings.mailbox, settings.email
    secret = box.client_secret.get_secret_value() or mail.client_secret.get_secret_value()
    return (box.tenant_id or mail.tenant_id, box.client_id or mail.client_id, secret)


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
    loc, provider = _without_provider_tag(tuple(first.get("loc", ())))
    key = ".".join(str(part) for part in loc if part != "__root__") or "(config)"
    message = first.get("msg", "invalid value").removeprefix("Value error, ")
    kind = first.get("type", "")
    if kind == "union_tag_invalid" and loc and loc[0] in SECTIONS:
        return ConfigError(f"{path}: {loc[0]}.provider {first.get('ctx', {}).get('tag')!r} is not a provider",
                           f"use one of {', '.join(SECTIONS[str(loc[0])])}")
    if kind == "extra_forbidden" and provider is not None and _owners(str(loc[0]), str(loc[-1])):
        env = ENV_PREFIX + "__".join(str(p).upper() for p in loc[:2])
        return ConfigError(f"{path}: {key} does not apply to {loc[0]}.provider {provider!r}",
                           f"remove it from the file or {env}, or set {loc[0]}.provider to "
                           f"{' or '.join(_owners(str(loc[0]), str(loc[-1])))}")
    if kind == "extra_forbidden":
        return ConfigError(f"{path}: unknown key {key!r}", "remove it or check its spelling against config.example.toml")
    if kind == "missing":
        return ConfigError(f"{path}: {key} is required", f"add {key} to the config file")
    more = f" (+{exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    env = ENV_PREFIX + "__".join(str(p).upper() for p in loc[:2])
    return ConfigError(f"{path}: {key}: {message}{more}", f"fix {key} in the file or {env}")


def _without_provider_tag(loc: tuple[Any, ...]) -> tuple[tuple[Any, ...], str | None]:
    """``('ats', 'lever', 'api_key')`` -> ``(('ats', 'api_key'), 'lever')``: the section's
    union puts the provider in the error location; the file has no such level."""
    if len(loc) >= 2 and loc[0] in SECTIONS and loc[1] in SECTIONS[str(loc[0])]:
        return (loc[0], *loc[2:]), str(loc[1])
    return loc, None


def _owners(section: str, key: str) -> list[str]:
    """The providers of ``section`` that take ``key`` (none: a typo, reported as an unknown key)."""
    return [name for name, p in SECTIONS[section].items() if key in p.config.model_fields]
