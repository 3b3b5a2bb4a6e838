"""`interview-sync doctor`: the quarterly review of every connection, one line per check.

The seed asks teams to review every connection each quarter; vendors rotate
credentials, recruiters rename stages, hiring managers leave, and a template
edit can break an email no one sends until Monday. Each check here talks to
the real thing (mint a token, list stages, read a sample of live records, ask
for availability, log in to SMTP, render every template) and catches its own
errors, so one failure never hides the others. Nothing is written anywhere
except the date of a passing review, in the state database.
"""

from __future__ import annotations

import os
import stat
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from .ats.base import ATS
from .clock import Clock, iso, parse_instant
from .config import Route, Settings
from .context import build_ats, build_scheduler, build_transport
from .errors import BadRecord
from .mail.render import KINDS, TemplateRenderer
from .mail.samples import SAMPLE_CONTEXT
from .mail.graph import GraphTransport
from .mail.transport import SmtpTransport
from .models import Application, EventType, Host, Job
from .providers import SECTIONS, secret_keys
from .routing import pick_route
from .scheduler.base import Scheduler
from .state import StateDB
from .workflow import Policy

SAMPLE_SIZE = 10
REVIEW_CURSOR = "doctor:last_run"
REVIEW_INTERVAL = timedelta(days=91)  # one quarter
# (section, key) of every secret the config file can hold
SECRET_KEYS: tuple[tuple[str, str], ...] = (
    *((section, key) for section in SECTIONS for key in secret_keys(section)), ("email", "smtp_password"),
    ("email", "client_secret"))
SECRET_KEYS += (("mailbox", "password"), ("mailbox", "client_secret"))


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""


EXCHANGE_ONLINE_SMTP = ("smtp.office365.com", "smtp-legacy.office365.com")


def basic_auth_warning(host: str, smtp_auth: str, now: datetime) -> Check | None:
    """A password login to Exchange Online is living on borrowed time (Microsoft message MC786329).

    Informational (ok stays True): it works today, and the fix is a planned change, not an outage.
    """
    name = host.strip().lower().rstrip(".")
    if smtp_auth != "password" or not (name in EXCHANGE_ONLINE_SMTP or name.endswith(".outlook.com")):
        return None
    when = ("is disabled by default since the end of December 2026" if now >= datetime(2027, 1, 1, tzinfo=timezone.utc)
            else "will be disabled by default at the end of December 2026")
    return Check("smtp password auth", True,
                 f"warning: {name} is Exchange Online, where Basic authentication for SMTP AUTH {when} "
                 "(Microsoft 365 message center MC786329)",
                 "switch to transport = \"graph\" or smtp_auth = \"xoauth2\" (README: Microsoft 365 set-up)")


def _failed(name: str, exc: BaseException, fix: str = "") -> Check:
    message = getattr(exc, "message", None) or " ".join(str(exc).split()) or type(exc).__name__
    return Check(name, False, message[:300], getattr(exc, "fix", None) or fix)


def _guard(name: str, fix: str, func: Callable[[], list[Check]]) -> list[Check]:
    """Run one check; any exception becomes its own failed line."""
    try:
        return func()
    except Exception as exc:  # noqa: BLE001 - a doctor reports, it does not crash
        return [_failed(name, exc, fix)]


@dataclass
class _Sample:
    """What the live-record sample found: per hiring manager, the route(s) their jobs take."""

    applications: int = 0
    with_email: int = 0
    with_job: int = 0
    with_hm: int = 0
    managers: dict[str, tuple[str, list[Route]]] | None = None  # email -> (name, routes)
    error: str | None = "not run"  # why the sample could not be read; None once it was


class Doctor:
    def __init__(self, settings: Settings, *, clock: Clock, config_file: Path | None = None,
                 ats: ATS | None = None, scheduler: Scheduler | None = None,
                 sleeper: Callable[[float], None] | None = None, sample_size: int = SAMPLE_SIZE) -> None:
        self.settings = settings
        self.clock = clock
        self.now = clock.now()
        self.config_file = config_file
        self.sample_size = sample_size
        self.bad_records: list[BadRecord] = []
        self._ats = ats
        self._scheduler = scheduler
        self.sleeper = sleeper
        self.sample = _Sample()
        self.hosts: dict[str, Host] = {}  # scheduler hosts found, by email
        self._event_types: dict[tuple[str, str], EventType | None] = {}

    @property
    def ats(self) -> ATS:
        if self._ats is None:
            self._ats = build_ats(self.settings, self.clock, self.bad_records.append, self.sleeper)
        return self._ats

    @property
    def scheduler(self) -> Scheduler:
        if self._scheduler is None:
            self._scheduler = build_scheduler(self.settings, self.clock, self.bad_records.append, self.sleeper)
        return self._scheduler

    def run(self, record: bool = True) -> list[Check]:
        s = self.settings
        checks: list[Check] = [Check("config", True, f"{self.config_file or '(no file: defaults and environment)'}"
                                     f" is valid: {len(s.routes)} route(s), {len(s.ats.interview_stages)} "
                                     f"interview stage(s)")]
        checks += _guard("ats credentials", "check INTERVIEW_SYNC_ATS__CLIENT_ID / __CLIENT_SECRET (or API key)",
                         self.ats_credentials)
        checks += _guard("scheduler credentials", "check INTERVIEW_SYNC_SCHEDULER__API_TOKEN",
                         self.scheduler_credentials)
        checks += _guard("interview stages", "check ats.interview_stages against the ATS", self.stages)
        checks += _guard("field mappings", "check the ATS credential's permissions and the ATS records",
                         self.field_mappings)
        checks += _guard("hiring managers", "check the hiring managers' scheduler accounts", self.hiring_managers)
        checks += _guard("route event types", "check [[routes]] event_type against the scheduler",
                         self.route_event_types)
        checks += _guard("email", "check the [email] section", self.email)
        checks += _guard("mailbox", "check the [mailbox] section", self.mailbox)
        checks += _guard("templates", "fix the template named, then run doctor again", self.templates)
        checks += _guard("state database", "check [state] path", self.state_db)
        checks += _guard("secrets", "keep secrets in INTERVIEW_SYNC_* environment variables", self.secrets)
        checks += _guard("quarterly review", "", lambda: self.review(all(c.ok for c in checks), record))
        return checks

    # --- vendors -------------------------------------------------------------------------------

    def ats_credentials(self) -> list[Check]:
        facts = self.ats.check_auth()
        who = f" as user {facts['user_id']}" if facts.get("user_id") else ""
        checks = [Check("ats credentials", True, f"{self.ats.name}: credentials accepted{who}"
                        + (" (token minted)" if "token_expires_at" in facts else ""))]
        expires = facts.get("token_expires_at")
        if expires:
            at = parse_instant(expires)
            minutes = (at - self.now).total_seconds() / 60
            checks.append(Check("ats token expiry", minutes > 0,
                                f"access token expires {expires} (in {minutes:.0f} min); refreshed "
                                "automatically before expiry", "" if minutes > 0 else
                                "the token endpoint returned an expired token: check the server clock"))
        elif "token_expires_at" in facts:
            checks.append(Check("ats token expiry", True, "the vendor states no expiry for this token"))
        return checks

    def scheduler_credentials(self) -> list[Check]:
        facts = self.scheduler.check_auth()
        where = facts.get("organization") or facts.get("user") or ""
        return [Check("scheduler credentials", True, f"{self.scheduler.name}: token accepted"
                      + (f" ({where})" if where else ""))]

    def stages(self) -> list[Check]:
        known = self.ats.stage_names()
        folded = {name.casefold() for name in known}
        checks = []
        for stage in self.settings.ats.interview_stages:
            ok = stage.casefold() in folded
            checks.append(Check(f"stage {stage!r}", ok, "exists in the ATS" if ok else
                                f"not found among the ATS's {len(known)} stage names",
                                "" if ok else f"rename it in ats.interview_stages to the ATS's spelling, or "
                                f"remove it (known: {', '.join(sorted(known)[:8])})"))
        return checks

    def field_mappings(self) -> list[Check]:
        """Read a handful of recent live applications: are email, job and hiring manager there?

        A field missing on *some* records is data (a candidate without email);
        missing on *all* of them is a mapping or permission problem.
        """
        sample = self.sample
        sample.managers = {}
        apps: list[Application] = []
        sample.error = "the ATS refused the listing"
        for app in self.ats.changed_applications(None):
            if app.active:
                apps.append(app)
            if len(apps) >= self.sample_size:
                break
        sample.applications = len(apps)
        sample.error = None
        if not apps:
            return [Check("field mappings", True, "no active applications to sample yet")]
        for app in apps:
            candidate = app.candidate or self.ats.get_candidate(app.candidate_id)
            sample.with_email += bool(candidate.email)
            job: Job | None = app.job or (self.ats.get_job(app.job_id) if app.job_id else None)
            sample.with_job += job is not None
            picked = pick_route(self.settings.routes, app, job)
            route = picked[1] if picked else None
            email, name = self._manager(route, job)
            if email:
                sample.with_hm += 1
                _, routes = sample.managers.setdefault(email.casefold(), (name or email, []))
                if route is not None and route not in routes:
                    routes.append(route)
        n = sample.applications
        shares = {"candidate email": sample.with_email, "job": sample.with_job, "hiring manager": sample.with_hm}
        missing = [field for field, count in shares.items() if count == 0]
        detail = f"{n} recent application(s): " + ", ".join(f"{f} {c}/{n}" for f, c in shares.items())
        return [Check("field mappings", not missing, detail,
                      "" if not missing else f"no sampled record has a {', '.join(missing)}: check the ATS "
                      "credential's permissions (e.g. candidates, hiring team) and the records")]

    def _manager(self, route: Route | None, job: Job | None) -> tuple[str | None, str | None]:
        """The scheduler email a job's interviews are booked on, as the executor picks it."""
        hosts = {k.casefold(): v for k, v in self.settings.hosts.items()}
        if route is not None and route.host:
            return hosts.get(route.host.casefold(), route.host), None
        for person in job.hiring_managers if job else ():
            mapped = hosts.get(str(person.id).casefold()) or (hosts.get(person.email.casefold())
                                                              if person.email else None)
            if mapped or person.email:
                return mapped or person.email, person.name
        return None, None

    def _event_type(self, host: Host, key: str) -> EventType | None:
        cache_key = (host.uri, key)
        if cache_key not in self._event_types:
            self._event_types[cache_key] = self.scheduler.get_event_type(host, key)
        return self._event_types[cache_key]

    def hiring_managers(self) -> list[Check]:
        if self.sample.error is not None:
            return [Check("hiring managers", False, f"not checked: reading the sample of live records failed "
                          f"({self.sample.error})", "fix the ATS lines above first")]
        managers = self.sample.managers or {}
        if not managers:
            return [Check("hiring managers", self.sample.applications == 0,
                          "no hiring manager found on the sampled jobs" if self.sample.applications
                          else "no applications sampled, nothing to check",
                          "add hiring managers to the jobs' hiring teams in the ATS, or set `host` on routes")]
        days = Policy.from_settings(self.settings).no_availability_days
        return [check for email, (name, routes) in sorted(managers.items())
                for check in _guard(f"hiring manager {name}", "", lambda e=email, n=name, r=routes:
                                    [self._availability(e, n, r, days)])]

    def _availability(self, email: str, name: str, routes: list[Route], days: int) -> Check:
        label = f"hiring manager {name}"
        host = self.scheduler.find_host(email)
        if host is None:
            return Check(label, False, f"{email} has no {self.scheduler.name} account in the organization",
                         "invite them to the scheduler organization, or map them under [hosts]")
        self.hosts[email.casefold()] = host
        keys = [r.event_type for r in routes] + [r.event_type for r in self.settings.routes]
        event_type = next((et for key in dict.fromkeys(keys) if (et := self._event_type(host, key))), None)
        if event_type is None:
            return Check(label, False, f"none of the routes' event types exists for {host.name}",
                         "create the event type for them in the scheduler, or fix the route's event_type")
        times = self.scheduler.available_times(event_type, self.now, self.now + timedelta(days=days))
        if not times:
            return Check(label, False, f"no free {event_type.slug} slot in the next {days} days",
                         "open up calendar time for them (invitations would alert a recruiter instead)")
        return Check(label, True, f"found in {self.scheduler.name}; {len(times)} free {event_type.slug} slot(s) "
                     f"in the next {days} days, first {iso(times[0])}")

    def route_event_types(self) -> list[Check]:
        checks = []
        for index, route in enumerate(self.settings.routes):
            label = f"route {index + 1} event type {route.event_type!r}"
            checks += _guard(label, "", lambda i=index, r=route, lab=label: [self._route_event_type(i, r, lab)])
        return checks

    def _route_event_type(self, index: int, route: Route, label: str) -> Check:
        hosts = list(self.hosts.values())
        if route.host:
            mapped = {k.casefold(): v for k, v in self.settings.hosts.items()}.get(route.host.casefold(), route.host)
            host = self.scheduler.find_host(mapped)
            if host is None:
                return Check(label, False, f"the route's host {mapped} has no scheduler account",
                             f"fix routes[{index}].host or invite them to the scheduler")
            hosts = [host]
        if not hosts:
            return Check(label, False, "not checked: no hiring manager was found in the scheduler to check "
                         "it against", "fix the hiring-manager lines above first")
        having = [h.name for h in hosts if self._event_type(h, route.event_type) is not None]
        if having:
            return Check(label, True, f"exists for {len(having)} of {len(hosts)} host(s): {', '.join(having[:4])}")
        return Check(label, False, f"not found for any of the {len(hosts)} host(s) checked",
                     f"create {route.event_type!r} in the scheduler or fix routes[{index}].event_type "
                     "(slug or URI)")

    # --- local -----------------------------------------------------------------------------------

    def email(self) -> list[Check]:
        mail = self.settings.email
        if mail.transport == "graph":
            try:
                graph = build_transport(self.settings)
                assert isinstance(graph, GraphTransport)
                return [Check("graph sign-in", True, graph.login_check())]
            except Exception as exc:  # noqa: BLE001 - the Graph line is named, whatever failed
                return [_failed("graph sign-in", exc, "check email.tenant_id, client_id and the client secret")]
        if mail.transport == "smtp":
            warning = basic_auth_warning(mail.smtp_host, mail.smtp_auth, self.now)
            try:
                transport = build_transport(self.settings)
                assert isinstance(transport, SmtpTransport)
                transport.timeout = 15
                checks = [Check("smtp login", True, transport.login_check())]
            except Exception as exc:  # noqa: BLE001 - the SMTP line is named, whatever failed
                checks = [_failed("smtp login", exc, "check email.smtp_host, smtp_port, smtp_security and the login")]
            return checks + ([warning] if warning else [])
        target = Path(mail.outbox_dir)
        probe = target
        while not probe.exists() and probe != probe.parent:
            probe = probe.parent
        ok = probe.is_dir() and os.access(probe, os.W_OK | os.X_OK)
        where = "exists" if probe == target else f"will be created under {probe}"
        return [Check("email outbox", ok, f"file transport: {target} {where}" + ("" if ok else ", not writable"),
                      "" if ok else f"make {probe} writable for this user, or change email.outbox_dir")]

    def templates(self) -> list[Check]:
        renderer = TemplateRenderer(self.settings.email.template_dir)
        sets = ["default"] + [r.template for r in self.settings.routes if r.template != "default"]
        checks = []
        for template_set in dict.fromkeys(sets):
            problems = []
            for kind in KINDS:
                try:
                    renderer.render(kind, SAMPLE_CONTEXT[kind], template_set)
                except Exception as exc:  # noqa: BLE001 - report every broken kind, not just the first
                    problems.append(getattr(exc, "message", None) or str(exc))
            where = self.settings.email.template_dir or "packaged templates"
            checks.append(Check(f"templates {template_set!r}", not problems,
                                f"all {len(KINDS)} kinds render with a sample ({where})" if not problems
                                else f"{len(problems)} of {len(KINDS)} kinds fail: " + "; ".join(problems[:3]),
                                "" if not problems else "fix the template named (Jinja syntax, known keys)"))
            if self._languages_or_texts():
                checks.append(self._localised_templates(renderer, template_set))
        return checks

    def _languages_or_texts(self) -> bool:
        cfg = self.settings
        return cfg.sms.provider != "none" or bool(cfg.locale.field) or cfg.locale.default != "en" or \
            any(route.locale not in (None, "en") for route in cfg.routes)

    def _localised_templates(self, renderer: TemplateRenderer, template_set: str) -> Check:
        """Spanish emails and every text, in both languages, with a sample (issue 14)."""
        from .mail.render import SMS_KINDS

        problems, rendered = [], 0
        texts = {"deadline_short": "Fri Nov 27, 9:00 AM PST", "start_short": "Thu Dec 3, 8:00 AM PST"}
        for kind in KINDS:
            try:
                renderer.render(kind, SAMPLE_CONTEXT[kind], template_set, "es")
                rendered += 1
            except Exception as exc:  # noqa: BLE001 - report every broken kind, not just the first
                problems.append(getattr(exc, "message", None) or str(exc))
        for language in ("en", "es"):
            for kind in SMS_KINDS:
                try:
                    renderer.render_sms(kind, SAMPLE_CONTEXT["confirmation"] | texts, template_set, language)
                    rendered += 1
                except Exception as exc:  # noqa: BLE001
                    problems.append(getattr(exc, "message", None) or str(exc))
        return Check(f"text and Spanish templates {template_set!r}", not problems,
                     f"{rendered} render with a sample" if not problems
                     else f"{len(problems)} fail: " + "; ".join(problems[:3]),
                     "" if not problems else "fix the template named (Jinja syntax, known keys)")

    def state_db(self) -> list[Check]:
        path = Path(self.settings.state.path)
        if not path.exists():
            return [Check("state database", True, f"{path} does not exist yet (the first poll creates it)")]
        db = StateDB.open(path, readonly=True)
        try:
            result = db.integrity_check()
        finally:
            db.close()
        return [Check("state database", result == "ok", f"{path}: integrity_check {result}",
                      "" if result == "ok" else "restore the file from a backup; keep the damaged copy for audit")]

    def mailbox(self) -> list[Check]:
        """Where bounces and replies are read back: signed in and the folder opened, nothing read."""
        from .mailbox.factory import build_reader

        reader = build_reader(self.settings, self.clock)
        if reader is None:
            return [Check("mailbox", True, "not read (mailbox.provider = \"none\"): bounces that arrive after "
                          "sending and candidates' replies stay unseen by interview-sync")]
        try:
            return [Check("mailbox", True, reader.probe())]
        finally:
            reader.close()

    def secrets(self) -> list[Check]:
        path = self.config_file
        if path is None or not Path(path).exists():
            return [Check("secrets", True, "no config file: every value comes from the environment")]
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        in_file = [f"{section}.{key}" for section, key in SECRET_KEYS
                   if str((data.get(section) or {}).get(key) or "").strip()]
        mode = stat.S_IMODE(Path(path).stat().st_mode)
        if not in_file:
            return [Check("secrets", True, f"no secret in {path}; they come from the environment")]
        if mode & 0o077:
            first = in_file[0]
            env = "INTERVIEW_SYNC_" + first.replace(".", "__").upper()
            return [Check("secrets", False, f"{path} (mode {mode:o}) is readable by others and holds "
                          f"{', '.join(in_file)}",
                          f"move it to {env} (and chmod 600 {path})")]
        return [Check("secrets", True, f"{', '.join(in_file)} in {path}, readable by its owner only (mode "
                      f"{mode:o}); the environment is safer")]

    def review(self, all_ok: bool, record: bool) -> list[Check]:
        """When the last passing review was, and when the next one is due. Informational."""
        path = Path(self.settings.state.path)
        if not path.exists():
            due = self.now + REVIEW_INTERVAL
            return [Check("quarterly review", True, f"not recorded (no state database yet); next review by "
                          f"{due:%Y-%m-%d}")]
        db = StateDB.open(path, readonly=not (record and all_ok), clock=self.clock)
        try:
            last_text = db.get_cursor(REVIEW_CURSOR)
            if record and all_ok:
                db.set_cursor(REVIEW_CURSOR, iso(self.now))
        finally:
            db.close()
        last = parse_instant(last_text) if last_text else None
        if all_ok:
            previous = f" (previous: {last:%Y-%m-%d})" if last else ""
            return [Check("quarterly review", True, f"this review passed{previous}{' and is recorded' if record else ''}"
                          f"; next review by {self.now + REVIEW_INTERVAL:%Y-%m-%d}")]
        if last is None:
            return [Check("quarterly review", True, "no passing review recorded yet; fix the lines above, "
                          "then run doctor again")]
        due = last + REVIEW_INTERVAL
        late = " (overdue)" if due < self.now else ""
        return [Check("quarterly review", True, f"last passing review {last:%Y-%m-%d}; next due {due:%Y-%m-%d}{late}")]


def run_checks(settings: Settings, *, clock: Clock, config_file: Path | None = None, ats: ATS | None = None,
               scheduler: Scheduler | None = None, sleeper: Callable[[float], None] | None = None,
               sample_size: int = SAMPLE_SIZE, record: bool = True) -> list[Check]:
    """Every check, in a stable order; ``record`` stores the date of a fully passing review."""
    return Doctor(settings, clock=clock, config_file=config_file, ats=ats, scheduler=scheduler,
                  sleeper=sleeper, sample_size=sample_size).run(record=record)


def as_dicts(checks: list[Check]) -> list[dict[str, Any]]:
    return [{"name": c.name, "ok": c.ok, "detail": c.detail, "fix": c.fix} for c in checks]


def config_failure(exc: BaseException) -> Check:
    """The `config` line when the file does not load (the other checks cannot run)."""
    return _failed("config", exc, "fix the config file")


__all__ = ["Check", "Doctor", "REVIEW_CURSOR", "as_dicts", "config_failure", "run_checks"]
