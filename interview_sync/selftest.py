"""`interview-sync selftest`: every go-live scenario end to end, with the user's own config.

Each scenario gets a private sandbox (its own seeded world, on loopback), a
temporary directory for state and a file outbox, and one simulated clock
shared by the tool and the sandbox. The user's routes, templates, policy,
interview stages, sender and fallback contact are kept; the vendors are
swapped for the sandbox and mail goes to .eml files, so nothing reaches a
real person. What the scenario produced is read back the way a person would
see it — the .eml files (``X-Interview-Sync-Kind``/``-Ref`` headers), the
invitations' final state, the alerts raised, the ATS tags — and compared
with the scenario's expectations, key by key.

Route ``host`` overrides and ``[hosts]`` mappings name real people the
sandbox does not have, so they are left out: the seed job's hiring manager
hosts instead.
"""

from __future__ import annotations

import email
import email.policy
import re
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from pathlib import Path
from types import TracebackType
from typing import Any

from .clock import FixedClock, SystemClock
from .config import Settings
from .context import Context, build_context
from .errors import DeliveryError, LocalIOError
from .fixtures import SCENARIOS, START, Scenario, Step, apply_step, candidate_of, hm_emails_of
from .invitation import Invitation
from .mail.message import KIND_HEADER, parse_mailbox
from .poll import run_poll
from .private_files import write_private_text
from .sandbox import SandboxServer, World, build_app
from .sandbox import mailback
from .sandbox.client import SandboxClient, sandbox_settings
from .workflow import Policy

REF_HEADER = "X-Interview-Sync-Ref"
_REF_APP = re.compile(r"^is-(.+)-[0-9a-f]{10}$")
_LANG = re.compile(r'<html lang="([a-z-]+)"')
_ANCHOR = re.compile(r"^(?P<name>[a-z_]+)(?:(?P<sign>[+-])(?P<hours>\d+(?:\.\d+)?))?$")


@dataclass
class ScenarioResult:
    name: str
    description: str
    expected: dict[str, Any]
    observed: dict[str, Any]
    passed: bool
    differences: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    steps: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# --- settings for one scenario -------------------------------------------------------------------

SELFTEST_FIELDS = {"$consent": "custom.sms_consent", "$locale": "custom.preferred_language"}


def scenario_settings(user: Settings, sandbox_url: str, directory: Path, texting: bool = False) -> Settings:
    """The user's routes, templates, policy and sender; sandbox vendors; state and mail in ``directory``.
    A texting scenario also gets the sandbox's Twilio flavour and every route on email and text."""
    vendors = sandbox_settings(sandbox_url)
    ats = {**vendors["ats"], "interview_stages": list(user.ats.interview_stages), "flag_tag": user.ats.flag_tag}
    mail = {"transport": "file", "from": user.email.from_, "reply_to": user.email.reply_to,
            "outbox_dir": str(directory / "outbox"), "fallback_contact": user.email.fallback_contact,
            "org_name": user.email.org_name,
            "template_dir": str(user.email.template_dir) if user.email.template_dir else None}
    settings = Settings.model_validate({
        "state": {"path": str(directory / "selftest.db")},
        "ats": ats,
        "scheduler": vendors["scheduler"],
        "email": mail,
        "alerts": user.alerts.model_dump(),
        "policy": user.policy.model_dump(),
        "feedback": user.feedback.model_dump(),
        "report": user.report.model_dump(),
        "routes": [route.model_dump(exclude={"host"}) | ({"channels": ["email", "sms"]} if texting else {})
                   for route in user.routes],
        "locale": {"default": user.locale.default, "field": user.locale.field or SELFTEST_FIELDS["$locale"]},
        "sms": {**user.sms.model_dump(by_alias=True, exclude={"auth_token"}), "provider": "sandbox",
                "base_url": sandbox_url, "account_sid": user.sms.account_sid or "AC" + "0" * 32,
                "auth_token": "selftest", "from": user.sms.from_ or "+19165550100",
                "consent_field": user.sms.consent_field or SELFTEST_FIELDS["$consent"]}
        if texting else {"provider": "none"},
        "mailbox": mailback.mailbox_settings(sandbox_url),  # bounces and replies: the sandbox's Graph mailbox
    })
    settings.hosts = {}
    return settings


# --- expectations --------------------------------------------------------------------------------

def expected_for(scenario: Scenario, settings: Settings) -> dict[str, Any]:
    """The scenario's expectations, completed by what the user's policy implies."""
    exp = scenario.expected
    emails = dict(exp.emails)
    reminder_hours = Policy.from_settings(settings).reminder_before.total_seconds() / 3600
    if exp.reminder_emails and _reminder_due(scenario.steps, reminder_hours):
        _merge(emails, exp.reminder_emails)
    if exp.feedback_emails and settings.feedback.url:
        _merge(emails, exp.feedback_emails)
    expected: dict[str, Any] = {
        "emails": dict(sorted(emails.items())),
        "states": dict(sorted(exp.states.items())),
        "alerts": {app: sorted(codes) for app, codes in sorted(exp.alerts.items())},
        "errors": [],
    }
    if exp.event_types:
        expected["event_types"] = dict(sorted(exp.event_types.items()))
    if exp.flagged:
        expected["tags"] = {app: [settings.ats.flag_tag] for app in exp.flagged}
    if exp.intact_names:
        expected["recipients"] = {app: [f"{_seed_name(app)} <{candidate_of(app)['email']}>"]
                                  for app in exp.intact_names}
    for name in ("texts", "consent", "languages"):
        if getattr(exp, name):
            expected[name] = dict(sorted(getattr(exp, name).items()))
    return expected


def _merge(into: dict[str, int], more: Any) -> None:
    for key, count in more.items():
        into[key] = into.get(key, 0) + count


def _reminder_due(steps: Iterable[Step], reminder_hours: float) -> bool:
    """A separate reminder goes out only when the booking came before the reminder window opened."""
    for step in steps:
        if step.action == "book" and step.when is not None and isinstance(step.at, float):
            return reminder_hours > 0 and step.at < step.when - reminder_hours
    return False


def _seed_name(application_id: str) -> str:
    cand = candidate_of(application_id)
    return f"{cand['first_name']} {cand['last_name']}"


# --- the mail server that refuses one address -----------------------------------------------------

class RefusingTransport:
    """Delivers through the real transport, except to addresses a mail server refuses for good (550)."""

    def __init__(self, inner: Any, refused: Iterable[str]) -> None:
        self.inner = inner
        self.refused = {address.casefold() for address in refused}
        self.sent_paths = getattr(inner, "sent_paths", [])

    def open(self) -> None:
        self.inner.open()

    def close(self) -> None:
        self.inner.close()

    def __enter__(self) -> "RefusingTransport":
        self.open()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def send(self, msg: EmailMessage) -> None:
        to = msg["To"]
        addresses = {a.addr_spec.casefold() for a in getattr(to, "addresses", ())} if to is not None else set()
        refused = addresses & self.refused
        if refused:
            raise DeliveryError(f"550 5.1.1 <{sorted(refused)[0]}>: recipient address rejected (selftest)",
                                "correct the address in the ATS", permanent=True)
        self.inner.send(msg)


# --- one scenario ---------------------------------------------------------------------------------

class _Run:
    """One scenario in its own sandbox: steps, polls, then what was observed."""

    def __init__(self, scenario: Scenario, user: Settings, directory: Path) -> None:
        self.scenario = scenario
        self.directory = directory
        self.world = World()
        self.world.fixed_now = START - timedelta(hours=1)
        self.server = SandboxServer(build_app(self.world)).start()
        self.client = SandboxClient(self.server.url)
        self.settings = scenario_settings(user, self.server.url, directory, texting=scenario.texting)
        self.clock = FixedClock(START)
        self.hours = 0.0
        self.errors: list[str] = []
        self.notes: list[str] = []
        self.ctx: Context | None = None

    def run(self) -> dict[str, Any]:
        try:
            self.ctx = build_context(self.settings, clock=self.clock, sleeper=lambda seconds: None)
            if self.scenario.bounce:
                refused = [candidate_of(app)["email"] for app in self.scenario.bounce]
                self.ctx.transport = RefusingTransport(self.ctx.transport, refused)
            self._set_time(0.0)
            self._poll()  # the first run records a baseline and sends nothing
            for step in self.scenario.steps:
                self._step(step)
            return self._observe()
        finally:
            if self.ctx is not None:
                self.ctx.close()
            self.server.stop()

    def _set_time(self, hours: float) -> None:
        self.hours = max(self.hours, hours)  # simulated time never runs backwards
        now = START + timedelta(hours=self.hours)
        self.clock.set(now)
        with self.world.lock:
            self.world.fixed_now = now

    def _step(self, step: Step) -> None:
        at = self._resolve(step.at)
        if at is None:
            self.notes.append(f"not reached: {step.describe()} (its anchor is not set)")
            return
        self._set_time(at)
        if step.action == "poll":
            self._poll()
            return
        if step.action == "set_field":  # the configured ATS field names
            fields = {"$consent": self.settings.sms.consent_field, "$locale": self.settings.locale.field}
            step = replace(step, fields=tuple((fields.get(k, k).removeprefix("custom."), v) for k, v in step.fields))
        if step.action == "mail_back":
            self._mail_back(step)
            return
        try:
            apply_step(self.client, step, world=self.world)
        except Exception as exc:  # noqa: BLE001 - a refused step is an observation, not a crash
            self.errors.append(f"step {step.describe()}: {exc}")

    def _mail_back(self, step: Step) -> None:
        """What a mail server or the candidate sends back, built around the email in the outbox and
        dropped into the sandbox mailbox the tool reads (a person answering, not a vendor API)."""
        mailbox = parse_mailbox(self.settings.email.from_, "email.from").addr_spec
        try:
            mailback.answer(self.world, self.settings.email.outbox_dir, mailbox,
                            candidate_of(step.application_id or "")["email"], step.answering, step.answer)
        except Exception as exc:  # noqa: BLE001 - a step that could not happen is an observation
            self.errors.append(f"step {step.describe()}: {exc}")

    def _poll(self) -> None:
        assert self.ctx is not None
        try:
            report, _ = run_poll(self.ctx)
        except Exception as exc:  # noqa: BLE001 - e.g. a broken template stops the poll: record it
            self.errors.append(f"poll at +{self.hours:g}h stopped: {exc}")
            return
        self.errors.extend(f"poll at +{self.hours:g}h: {line}" for line in report.errors)

    def _anchor_invitation(self) -> Invitation | None:
        assert self.ctx is not None
        found = self.ctx.db.invitations(application_id=self.scenario.anchor)
        return max(found, key=lambda inv: inv.created_at) if found else None

    def _resolve(self, at: float | str) -> float | None:
        if isinstance(at, (int, float)):
            return float(at)
        match = _ANCHOR.match(at.replace(" ", ""))
        if match is None:
            raise ValueError(f"step time {at!r}: use hours or <anchor>+<hours>")
        inv = self._anchor_invitation()
        if inv is None:
            return None
        policy = Policy.from_settings(self.settings)
        base: datetime | None
        name = match["name"]
        if name == "deadline":
            base = inv.deadline_at
        elif name == "followup_deadline":
            base = inv.followup_deadline_at
        elif name == "reminder":
            base = inv.interview_start - policy.reminder_before if inv.interview_start else None
        elif name == "end":
            base = inv.interview_end
        elif name == "feedback":
            base = inv.interview_end + policy.feedback_after if inv.interview_end else None
        else:
            raise ValueError(f"unknown anchor {name!r}")
        if base is None:
            return None
        offset = float(match["hours"] or 0) * (-1 if match["sign"] == "-" else 1)
        hours = (base - START).total_seconds() / 3600 + offset
        if name == "reminder" and inv.interview_start is not None:  # stay inside the reminder window
            hours = min(hours, (inv.interview_start - START).total_seconds() / 3600 - 1 / 60)
        return hours

    # --- what reached people, and where things stand ---------------------------------------------

    def _observe(self) -> dict[str, Any]:
        assert self.ctx is not None
        emails: dict[str, int] = {}
        recipients: dict[str, set[str]] = {}
        languages: dict[str, set[str]] = {}
        for message in read_outbox(self.settings.email.outbox_dir):
            app = application_of(str(message.get(REF_HEADER, "")))
            kind = str(message.get(KIND_HEADER, "?"))
            to = message["To"]
            address = to.addresses[0].addr_spec if getattr(to, "addresses", None) else str(to)
            role = role_of(app, address)
            key = f"{app} {role} {kind}"
            emails[key] = emails.get(key, 0) + 1
            if role == "candidate":
                recipients.setdefault(app, set()).add(str(to))
                html = message.get_body(("html",))
                lang = _LANG.search(html.get_content()) if html is not None else None
                languages.setdefault(app, set()).add(lang.group(1) if lang else "?")
        invitations = self.ctx.db.invitations()
        states: dict[str, str] = {}
        for inv in sorted(invitations, key=lambda i: i.created_at):
            states[inv.application_id] = "+".join(filter(None, (states.get(inv.application_id), inv.state.value)))
        alerts: dict[str, list[str]] = {}
        for row in self.ctx.db.outbox_rows():
            if row.get("kind") == "recruiter_alert" and ":alert:" in str(row["key"]):
                app = application_of(str(row.get("ref") or ""))
                alerts.setdefault(app, []).append(str(row["key"]).split(":alert:", 1)[1].split(":", 1)[0])
        observed: dict[str, Any] = {
            "emails": dict(sorted(emails.items())),
            "states": dict(sorted(states.items())),
            "alerts": {app: sorted(codes) for app, codes in sorted(alerts.items())},
            "errors": self.errors,
        }
        exp = self.scenario.expected
        if exp.event_types:
            routed = {inv.application_id: inv.event_type for inv in invitations}
            observed["event_types"] = {app: routed.get(app) for app in sorted(exp.event_types)}
        if exp.flagged:
            observed["tags"] = {app: self._tags(app) for app in exp.flagged}
        if exp.intact_names:
            observed["recipients"] = {app: sorted(recipients.get(app, set())) for app in exp.intact_names}
        if exp.languages:
            observed["languages"] = {app: "/".join(sorted(languages.get(app, set()))) or None
                                     for app in sorted(exp.languages)}
        if exp.texts or exp.consent:
            observed.update(self._texts(invitations))
        return observed

    def _texts(self, invitations: list[Invitation]) -> dict[str, Any]:
        """Texts the sandbox provider accepted, by application and kind, and each number's consent."""
        assert self.ctx is not None
        apps = {inv.ref: inv.application_id for inv in invitations}
        texts: dict[str, int] = {}
        for row in self.ctx.db.sms_rows():
            if row["direction"] != "inbound" and row["ref"] in apps:
                key = f"{apps[row['ref']]} {row['kind']}"
                texts[key] = texts.get(key, 0) + 1
        consent: dict[str, str] = {}
        for inv in invitations:
            if inv.sms_phone:
                row = self.ctx.db.get_consent(inv.sms_phone)
                consent[inv.application_id] = row["state"] if row else "none"
        return {"texts": dict(sorted(texts.items())), "consent": dict(sorted(consent.items()))}

    def _tags(self, application_id: str) -> list[str]:
        candidate_id = candidate_of(application_id)["id"]
        with self.world.lock:
            gh = self.world.data.get("greenhouse", {})
            tag_ids = [row["candidate_tag_id"] for row in gh.get("applied_candidate_tags", {}).values()
                       if row["candidate_id"] == candidate_id]
            return sorted(gh["candidate_tags"][t]["name"] for t in tag_ids)


def read_outbox(outbox: Path) -> list[EmailMessage]:
    if not outbox.is_dir():
        return []
    return [email.message_from_bytes(path.read_bytes(), policy=email.policy.default)  # type: ignore[misc]
            for path in sorted(outbox.glob("*.eml"))]


def application_of(ref: str) -> str:
    match = _REF_APP.match(ref.strip())
    return match.group(1) if match else "?"


def role_of(application_id: str, address: str) -> str:
    folded = address.casefold()
    if application_id != "?":
        cand_email = candidate_of(application_id).get("email")
        if cand_email and folded == cand_email.casefold():
            return "candidate"
        if folded in hm_emails_of(application_id):
            return "hm"
    return "recruiter"


def compare(expected: dict[str, Any], observed: dict[str, Any]) -> list[str]:
    """One line per mismatch, naming the key: ``emails[17002 candidate invite]: expected 1, observed 0``."""
    differences: list[str] = []
    for section, want in expected.items():
        got = observed.get(section)
        if isinstance(want, dict) and isinstance(got, dict):
            for key in sorted(set(want) | set(got)):
                w, g = want.get(key, 0 if section == "emails" else None), got.get(key, 0 if section == "emails"
                                                                                  else None)
                if w != g:
                    differences.append(f"{section}[{key}]: expected {_show(w)}, observed {_show(g)}")
        elif want != got:
            differences.append(f"{section}: expected {_show(want)}, observed {_show(got)}")
    return differences


def _show(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, list):
        return "[" + "; ".join(str(v) for v in value) + "]" if value else "none"
    return str(value)


def run_scenario(scenario: Scenario, user: Settings, directory: Path) -> ScenarioResult:
    expected = expected_for(scenario, user)
    run = _Run(scenario, user, directory)
    try:
        observed = run.run()
    except Exception as exc:  # noqa: BLE001 - one scenario failing to run must not hide the others
        observed = {"errors": run.errors + [f"the scenario could not run: {exc}"]}
    differences = compare(expected, observed)
    notes = [f"routes[{i}].host {route.host!r} is not a sandbox user: the job's hiring manager hosted instead"
             for i, route in enumerate(user.routes) if route.host] + run.notes
    return ScenarioResult(scenario.name, scenario.description, expected, observed, not differences,
                          differences, notes, ["0h poll (baseline)"] + [step.describe() for step in scenario.steps])


def run_selftest(settings: Settings, *, scenarios: Sequence[Scenario] | None = None,
                 workdir: Path | None = None) -> list[ScenarioResult]:
    """Run every scenario (or the given ones), each in its own sandbox and temporary directory."""
    results: list[ScenarioResult] = []
    for scenario in scenarios if scenarios is not None else SCENARIOS:
        if workdir is not None:
            directory = workdir / scenario.name
            directory.mkdir(parents=True, exist_ok=True)
            results.append(run_scenario(scenario, settings, directory))
            continue
        with tempfile.TemporaryDirectory(prefix=f"interview-sync-selftest-{scenario.name}-") as tmp:
            results.append(run_scenario(scenario, settings, Path(tmp)))
    return results


# --- the documented record ------------------------------------------------------------------------

def summary(section: dict[str, Any]) -> str:
    """A compact one-line form of an expected/observed dict, for tables."""
    parts: list[str] = []
    emails = section.get("emails") or {}
    if emails:
        parts.append("emails: " + ", ".join(f"{k}" + (f" ×{v}" if v != 1 else "") for k, v in emails.items()))
    elif "emails" in section:
        parts.append("emails: none")
    if section.get("states"):
        parts.append("state: " + ", ".join(f"{k} {v}" for k, v in section["states"].items()))
    if section.get("alerts"):
        parts.append("alerts: " + ", ".join(f"{k} {'/'.join(v)}" for k, v in section["alerts"].items()))
    for extra in ("event_types", "tags", "recipients", "texts", "consent", "languages"):
        if section.get(extra):
            parts.append(f"{extra}: " + ", ".join(f"{k} {_show(v)}" for k, v in section[extra].items()))
    if section.get("errors"):
        parts.append("errors: " + " | ".join(section["errors"]))
    return "; ".join(parts)


def write_markdown(results: Sequence[ScenarioResult], path: Path, *, config_path: Path | str | None = None,
                   now: datetime | None = None) -> Path:
    """The go-live record: date, config, and per scenario what was expected, observed, and the verdict."""
    when = (now or SystemClock().now()).astimezone(timezone.utc)
    passed = sum(1 for r in results if r.passed)
    lines = [
        "# interview-sync go-live self-test",
        "",
        f"- Date: {when:%Y-%m-%d %H:%M} UTC",
        f"- Config: `{config_path}`" if config_path else "- Config: (defaults)",
        f"- Result: {passed} of {len(results)} scenarios passed",
        "- Each scenario ran against a private sandbox with the config's routes, templates and policy; "
        "mail went to a temporary .eml outbox, nothing reached a real person.",
        "",
        "| # | scenario | result |",
        "|---|---|---|",
    ]
    lines += [f"| {i} | {r.name} | {'PASS' if r.passed else '**FAIL**'} |" for i, r in enumerate(results, 1)]
    for i, r in enumerate(results, 1):
        lines += ["", f"## {i}. {r.name} — {'PASS' if r.passed else 'FAIL'}", "", r.description, "",
                  f"- Steps: {_md('; '.join(r.steps))}", f"- Expected: {_md(summary(r.expected))}", f"- Observed: {_md(summary(r.observed))}"]
        lines += [f"- Difference: {_md(d)}" for d in r.differences]
        lines += [f"- Note: {_md(n)}" for n in r.notes]
    try:
        write_private_text(path, "\n".join(lines) + "\n")
    except OSError as exc:
        raise LocalIOError.from_os_error(exc, path, "--report") from None
    return path


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
