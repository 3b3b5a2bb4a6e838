"""The go-live scenarios, as data: what people do in the sandbox, when we poll, what must follow.

The seed's advice is to run at least ten synthetic scenarios before the
workflow touches a real candidate and to document each result. Keeping the
scenarios as plain data (not test code) lets three things share them:
``fixtures list`` prints them, ``fixtures load`` puts their starting
position into a running sandbox for a hands-on rehearsal, and ``selftest``
plays each one end to end against a private sandbox and compares.

Times are hours after the scenario's start (a Monday 08:00 in the hosts'
zone). A step's ``at`` may also name an *anchor* read from the scenario's
``anchor`` invitation when the step is reached — ``deadline``,
``followup_deadline``, ``reminder``, ``end``, ``feedback`` — plus or minus
hours (``"deadline+0.1"``), so the same scenario follows whatever policy the
user configured (a 72-hour booking deadline moves the follow-up poll with it).

Expected e-mails are keyed ``"<application> <role> <kind>"``; the role is
``candidate`` (the application's candidate), ``hm`` (the job's hiring
manager) or ``recruiter`` (anyone else: the job's recruiter or the alerts
inbox), so the expectations hold whatever ``alerts.recruiter_email`` says.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from .sandbox import seed
from .sandbox.client import SandboxClient

# Monday 2026-11-30 08:00 in Sacramento (UTC-8), as in the demo and the tests.
START = datetime(2026, 11, 30, 16, 0, tzinfo=timezone.utc)
# Thursday 08:00 and Friday 08:00 PST: the first slot of the day is on every event type's grid.
THURSDAY_0800 = 72.0
FRIDAY_0800 = 96.0

ACTIONS = ("move", "set_status", "book", "cancel", "reschedule", "block", "set_candidate", "poll")
ANCHORS = ("deadline", "followup_deadline", "reminder", "end", "feedback")


@dataclass(frozen=True)
class Step:
    """One thing that happens at ``at``: a person acts in the sandbox, or the cron job polls."""

    action: str
    at: float | str
    application_id: str | None = None
    stage: str | None = None  # move
    status: str | None = None  # set_status: rejected | hired | converted
    when: float | None = None  # book / reschedule: interview start, hours after START (None: first free)
    by: str = "invitee"  # cancel: invitee | host
    host_email: str | None = None  # block
    days: int = 30  # block
    fields: tuple[tuple[str, Any], ...] = ()  # set_candidate: ATS candidate fields; set_field: custom fields
    body: str | None = None  # text: what the candidate texts back
    answer: str = ""  # mail_back: bounce | soft_bounce | reply | auto_reply comes back to the mailbox
    answering: str = ""  # mail_back: the kind of our email it answers (invite, confirmation ...)

    def describe(self) -> str:
        who = self.application_id or self.host_email or ""
        extra = {"move": self.stage, "set_status": self.status, "cancel": f"by {self.by}",
                 "block": f"{self.days} days", "set_candidate": ", ".join(f"{k}={v}" for k, v in self.fields),
                 "set_field": ", ".join(f"{k}={v}" for k, v in self.fields),
                 "text": repr(self.body),
                 "book": f"at +{self.when}h" if self.when is not None else "first free slot",
                 "reschedule": f"to +{self.when}h",
                 "mail_back": f"{self.answer} to the {self.answering} email"}.get(self.action)
        return " ".join(part for part in (f"{self.at}h" if isinstance(self.at, float) else str(self.at),
                                          self.action, who, extra or "") if part)


@dataclass(frozen=True)
class Expected:
    """What must have happened once every step ran. Compared key by key."""

    emails: Mapping[str, int]
    states: Mapping[str, str]
    alerts: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # application -> alert codes
    event_types: Mapping[str, str] = field(default_factory=dict)  # application -> routed event type
    flagged: tuple[str, ...] = ()  # applications that must carry ats.flag_tag
    intact_names: tuple[str, ...] = ()  # candidate mail must carry the exact seed name and address
    # added when the booking was made before the reminder window opened (depends on the policy)
    reminder_emails: Mapping[str, int] = field(default_factory=dict)
    # added when [feedback] url is configured
    feedback_emails: Mapping[str, int] = field(default_factory=dict)
    texts: Mapping[str, int] = field(default_factory=dict)  # "17002 invite" -> texts sent (texting scenarios)
    consent: Mapping[str, str] = field(default_factory=dict)  # application -> granted | revoked
    languages: Mapping[str, str] = field(default_factory=dict)  # application -> lang of its candidate emails


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    steps: tuple[Step, ...]
    expected: Expected
    anchor: str  # the application whose invitation resolves anchored step times
    bounce: tuple[str, ...] = ()  # applications whose candidate address the mail server refuses (550)
    texting: bool = False  # runs with the sandbox's Twilio flavour and every route on ["email", "sms"]

    @property
    def applications(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(s.application_id for s in self.steps if s.application_id))

    def setup_steps(self) -> tuple[Step, ...]:
        """The starting position: every step before the first poll."""
        out: list[Step] = []
        for step in self.steps:
            if step.action == "poll":
                break
            out.append(step)
        return tuple(out)


def _emails(**by_app: str) -> dict[str, int]:
    """``_emails(a17002="candidate invite, hm hm_booking")`` → {"17002 candidate invite": 1, ...}."""
    counts: dict[str, int] = {}
    for key, spec in by_app.items():
        app = key.removeprefix("a")
        for item in (part.strip() for part in spec.split(",") if part.strip()):
            words = item.split()
            times = int(words[2]) if len(words) > 2 else 1
            name = f"{app} {words[0]} {words[1]}"
            counts[name] = counts.get(name, 0) + times
    return counts


def poll(at: float | str) -> Step:
    return Step("poll", at)


def move(at: float, app: str, stage: str) -> Step:
    return Step("move", at, application_id=app, stage=stage)


# Maria Delgado (job 101), Aisha Bello (102), Priya Raman (103), James O'Connor (104, leadership);
# job 105 has no hiring manager; candidate 7009 (application 17009) has no email address.
PRIYA = "priya.raman@mercyvalley.example"

SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        "standard-booking",
        "José (CNA, Nursing) enters Phone Screen, books Thursday 08:00 two hours later: confirmation, "
        ".ics to the hiring manager, one reminder each, then feedback request (if configured) and close.",
        (move(0.1, "17002", "Phone Screen"), poll(0.1),
         Step("book", 2.0, application_id="17002", when=THURSDAY_0800), poll(2.0),
         poll("reminder+0.1"), poll("end+0.1"), poll("feedback+0.1"), poll("feedback+24")),
        Expected(_emails(a17002="candidate invite, candidate confirmation, hm hm_booking"),
                 {"17002": "closed"},
                 reminder_emails=_emails(a17002="candidate reminder_candidate, hm reminder_hm"),
                 feedback_emails=_emails(a17002="hm feedback_request")),
        anchor="17002"),
    Scenario(
        "hm-fully-blocked",
        "Priya's calendar is full for 30 days when Siobhán enters First Interview: one recruiter alert, "
        "nothing to the candidate, no follow-up later.",
        (Step("block", 0.05, host_email=PRIYA, days=30), move(0.1, "17003", "First Interview"), poll(0.1),
         poll(50.0), poll(80.0)),
        Expected(_emails(a17003="recruiter recruiter_alert"), {"17003": "needs_attention"},
                 alerts={"17003": ("no-availability",)}),
        anchor="17003"),
    Scenario(
        "special-characters",
        "Zoë O'Brien-Nguyễn (zoe+nurse@example.org) is invited and books: every message carries her "
        "name and plus-address exactly.",
        (move(0.1, "17001", "Phone Screen"), poll(0.1),
         Step("book", 2.0, application_id="17001", when=THURSDAY_0800), poll(2.0)),
        Expected(_emails(a17001="candidate invite, candidate confirmation, hm hm_booking"), {"17001": "booked"},
                 intact_names=("17001",)),
        anchor="17001"),
    Scenario(
        "no-response-followup-flag",
        "Emily never books: exactly one follow-up at the booking deadline, then the flag tag, an ATS note "
        "and a recruiter alert at the follow-up deadline; no third email, ever.",
        (move(0.1, "17005", "Phone Screen"), poll(0.1), poll("deadline-0.1"), poll("deadline+0.1"),
         poll("followup_deadline-0.1"), poll("followup_deadline+0.1"), poll("followup_deadline+100")),
        Expected(_emails(a17005="candidate invite, candidate followup, recruiter recruiter_alert"),
                 {"17005": "flagged"}, alerts={"17005": ("flag",)}, flagged=("17005",)),
        anchor="17005"),
    Scenario(
        "cancel-after-booking",
        "Fatima books, then cancels: the hiring manager gets a cancellation (.ics CANCEL), Fatima a new "
        "link, and the deadlines start again.",
        (move(0.1, "17007", "Phone Screen"), poll(0.1),
         Step("book", 2.0, application_id="17007", when=THURSDAY_0800), poll(2.0),
         Step("cancel", 10.0, application_id="17007"), poll(10.0)),
        Expected(_emails(a17007="candidate invite, candidate confirmation, hm hm_booking, hm hm_cancel, "
                                "candidate relink"), {"17007": "invited"}),
        anchor="17007"),
    Scenario(
        "missing-hiring-manager",
        "Dmitri's job (Travel RN) has no hiring manager in the ATS: one recruiter alert naming the fix, "
        "nothing to the candidate.",
        (move(0.1, "17006", "Phone Screen"), poll(0.1), poll(50.0)),
        Expected(_emails(a17006="recruiter recruiter_alert"), {"17006": "needs_attention"},
                 alerts={"17006": ("no-hiring-manager",)}),
        anchor="17006"),
    Scenario(
        "duplicate-trigger",
        "José's move to Phone Screen is seen again (re-poll, the same move repeated, two polls in a row): "
        "one invite only.",
        (move(0.1, "17002", "Phone Screen"), poll(0.1), poll(0.2), move(0.3, "17002", "Phone Screen"),
         poll(0.3), poll(0.3), poll(1.0)),
        Expected(_emails(a17002="candidate invite"), {"17002": "invited"}),
        anchor="17002"),
    Scenario(
        "reschedule",
        "Kwame (leadership role) books Thursday and moves it to Friday: an updated confirmation and an "
        "updated .ics (same UID), no new link.",
        (move(0.1, "17004", "First Interview"), poll(0.1),
         Step("book", 2.0, application_id="17004", when=THURSDAY_0800), poll(2.0),
         Step("reschedule", 20.0, application_id="17004", when=FRIDAY_0800), poll(20.0)),
        Expected(_emails(a17004="candidate invite, candidate confirmation 2, hm hm_booking 2"),
                 {"17004": "booked"}),
        anchor="17004"),
    Scenario(
        "stage-exit-after-booking",
        "Ngozi books, then is rejected in the ATS: the recruiter is alerted (a person decides about the "
        "interview) and no reminders go out.",
        (move(0.1, "17010", "First Interview"), poll(0.1),
         Step("book", 2.0, application_id="17010", when=THURSDAY_0800), poll(2.0),
         Step("set_status", 5.0, application_id="17010", status="rejected"), poll(5.0),
         poll(THURSDAY_0800 - 12), poll(THURSDAY_0800 + 5)),
        Expected(_emails(a17010="candidate invite, candidate confirmation, hm hm_booking, "
                                "recruiter recruiter_alert"), {"17010": "needs_attention"},
                 alerts={"17010": ("stage-left-booked",)}),
        anchor="17010"),
    Scenario(
        "leadership-vs-clinical",
        "Kwame (Nurse Unit Manager, Nursing Leadership) and Zoë (ICU nurse, Nursing) enter interview "
        "stages together: the leadership job gets the leadership route, the clinical one the phone screen.",
        (move(0.1, "17004", "First Interview"), move(0.1, "17001", "Phone Screen"), poll(0.1)),
        Expected(_emails(a17004="candidate invite", a17001="candidate invite"),
                 {"17004": "invited", "17001": "invited"},
                 event_types={"17004": "leadership-video-60", "17001": "phone-screen-30"}),
        anchor="17004"),
    Scenario(
        "no-email-or-opted-out",
        "Marcus has no email address and Emily has opted out of email (can_email = false): a recruiter "
        "alert for each, nothing sent to either.",
        (Step("set_candidate", 0.05, application_id="17005", fields=(("can_email", False),)),
         move(0.1, "17009", "Phone Screen"), move(0.1, "17005", "Phone Screen"), poll(0.1), poll(50.0)),
        Expected(_emails(a17009="recruiter recruiter_alert", a17005="recruiter recruiter_alert"),
                 {"17009": "needs_attention", "17005": "needs_attention"},
                 alerts={"17009": ("no-email",), "17005": ("no-email",)}),
        anchor="17009"),
    Scenario(
        "bounce-after-acceptance",
        "José books, then his confirmation comes back as a permanent delivery failure (a DSN read from "
        "the mailbox): one recruiter alert naming the address, an ATS note, no reminders to a dead address.",
        (move(0.1, "17002", "Phone Screen"), poll(0.1),
         Step("book", 2.0, application_id="17002", when=THURSDAY_0800), poll(2.0),
         Step("mail_back", 3.0, application_id="17002", answer="bounce", answering="confirmation"), poll(3.0),
         poll(3.1), poll("reminder+0.1")),
        Expected(_emails(a17002="candidate invite, candidate confirmation, hm hm_booking, recruiter recruiter_alert"),
                 {"17002": "needs_attention"}, alerts={"17002": ("bounce",)}),
        anchor="17002"),
    Scenario(
        "candidate-replies",
        "Siobhán answers the invitation by email instead of booking (\"none of these times work\"): one "
        "recruiter alert with her words, an ATS note, and the follow-up is held while a person looks.",
        (move(0.1, "17003", "First Interview"), poll(0.1),
         Step("mail_back", 5.0, application_id="17003", answer="reply", answering="invite"), poll(5.0),
         poll(5.1), poll("deadline+0.1"), poll("deadline+30")),
        Expected(_emails(a17003="candidate invite, recruiter recruiter_alert"), {"17003": "needs_attention"},
                 alerts={"17003": ("reply",)}),
        anchor="17003"),
    Scenario(
        "bounced-address",
        "The mail server refuses Renée's address permanently (550): a recruiter alert, no retry, no "
        "follow-up.",
        (move(0.1, "17008", "First Interview"), poll(0.1), poll(1.0), poll(50.0)),
        Expected(_emails(a17008="recruiter recruiter_alert"), {"17008": "needs_attention"},
                 alerts={"17008": ("address-refused",)}),
        anchor="17008", bounce=("17008",)),
)


# Text and language scenarios (issue 14). ``$consent`` / ``$locale`` stand for the configured
# ATS fields (sms.consent_field / locale.field; selftest supplies one when the config has none).
TEXTING_SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        "text-consent-stop-start",
        "José agreed to texts in the ATS: the invite goes by email and text; he texts STOP, so the "
        "follow-up goes by email only; he texts START and his booking confirmation is texted again.",
        (Step("set_field", 0.05, application_id="17002", fields=(("$consent", "Yes"),)),
         move(0.1, "17002", "Phone Screen"), poll(0.1),
         Step("text", 1.0, application_id="17002", body="STOP"), poll(1.0), poll("deadline+0.1"),
         Step("text", "deadline+0.5", application_id="17002", body="START"), poll("deadline+0.5"),
         Step("book", "deadline+1", application_id="17002"), poll("deadline+1")),
        Expected(_emails(a17002="candidate invite, candidate followup, candidate confirmation, hm hm_booking"),
                 {"17002": "booked"}, texts={"17002 invite": 1, "17002 confirmation": 1},
                 consent={"17002": "granted"}),
        anchor="17002", texting=True),
    Scenario(
        "text-question-to-recruiter",
        "Fatima agreed to texts and replies to her invite with a question: the recruiter gets it as an "
        "alert; her consent stands.",
        (Step("set_field", 0.05, application_id="17007", fields=(("$consent", "yes"),)),
         move(0.1, "17007", "Phone Screen"), poll(0.1),
         Step("text", 1.0, application_id="17007", body="Is there parking at the hospital?"), poll(1.0)),
        Expected(_emails(a17007="candidate invite, recruiter recruiter_alert"), {"17007": "invited"},
                 alerts={"17007": ("sms_reply",)}, texts={"17007 invite": 1}, consent={"17007": "granted"}),
        anchor="17007", texting=True),
    Scenario(
        "spanish-candidate",
        "José prefers Spanish (ATS field), Zoë has no preference: José's invite and confirmation are in "
        "Spanish with Spanish dates, Zoë's in English.",
        (Step("set_field", 0.05, application_id="17002", fields=(("$locale", "Español"),)),
         move(0.1, "17002", "Phone Screen"), move(0.1, "17001", "Phone Screen"), poll(0.1),
         Step("book", 2.0, application_id="17002", when=THURSDAY_0800), poll(2.0)),
        Expected(_emails(a17002="candidate invite, candidate confirmation, hm hm_booking",
                         a17001="candidate invite"), {"17002": "booked", "17001": "invited"},
                 languages={"17002": "es", "17001": "en"}),
        anchor="17002"),
)
SCENARIOS = SCENARIOS + TEXTING_SCENARIOS


def by_name(name: str) -> Scenario:
    for scenario in SCENARIOS:
        if scenario.name == name:
            return scenario
    raise KeyError(name)


# --- people of the seed, by application ---------------------------------------------------------

def candidate_of(application_id: str) -> dict[str, Any]:
    wanted = int(application_id)
    return next(c for c in seed.CANDIDATES if seed.application_id(c["id"]) == wanted)


def job_of(application_id: str) -> dict[str, Any]:
    job_id = candidate_of(application_id)["job"]
    return next(j for j in seed.JOBS if j["id"] == job_id)


def hm_emails_of(application_id: str) -> set[str]:
    users = {u["id"]: u for u in seed.USERS}
    return {users[u]["email"].casefold() for u in job_of(application_id)["hiring_managers"]}


def at_time(hours: float) -> datetime:
    return START + timedelta(hours=hours)


# --- applying steps to a sandbox -----------------------------------------------------------------

def apply_step(client: SandboxClient, step: Step, *, world: Any = None) -> str:
    """Carry out one person-step against a sandbox; returns what was done, one line.

    ``set_candidate`` has no admin route (a real ATS changes such fields by
    hand), so it needs the sandbox's ``world`` object (selftest has it).
    """
    app = step.application_id or ""
    if step.action == "move":
        client.move(app, step.stage or "")
    elif step.action == "set_status":
        client.set_status(app, step.status or "")
    elif step.action == "book":
        client.book(app, at_time(step.when) if step.when is not None else None)
    elif step.action == "cancel":
        if step.by == "invitee":
            client.cancel(app)
        else:  # the hiring manager cancels: the admin route takes `by`, the client helper does not
            client._post("/_admin/cancel", {"application_id": app, "by": step.by})
    elif step.action == "reschedule":
        client.reschedule(app, at_time(step.when or 0.0))
    elif step.action == "block":
        client.block(step.host_email or "", days=step.days)
    elif step.action == "set_field":
        for key, value in step.fields:
            client.custom_field(app, key, str(value))
    elif step.action == "text":
        from .sms.phone import to_e164

        client.text_from(to_e164(candidate_of(app)["phone"]) or "", step.body or "")
    elif step.action == "mail_back":
        return f"skipped: {step.describe()} (needs the tool's outbox and a private sandbox; selftest does it)"
    elif step.action == "set_candidate":
        if world is None:
            return f"skipped: {step.describe()} (needs a private sandbox; selftest does it)"
        candidate_id = candidate_of(app)["id"]
        with world.lock:
            world.data["greenhouse"]["candidates"][candidate_id].update(dict(step.fields))
    else:
        raise ValueError(f"step {step.action!r} is not a sandbox action")
    return step.describe()


def load(scenarios: Scenario | list[Scenario] | tuple[Scenario, ...] | None, sandbox_url: str) -> list[str]:
    """Put the starting position of the scenarios (all when None) into a running sandbox.

    Then `interview-sync poll` invites them and `interview-sync sandbox book|cancel|...`
    plays the rest by hand. The sandbox's clock is left alone. Loading several
    scenarios into one sandbox shares its applications and hosts (a blocked
    calendar blocks every scenario of that host); ``selftest`` gives each
    scenario its own sandbox instead.
    """
    chosen = SCENARIOS if scenarios is None else (
        (scenarios,) if isinstance(scenarios, Scenario) else tuple(scenarios))
    client = SandboxClient(sandbox_url)
    done: list[str] = []
    seen: set[Step] = set()
    for scenario in chosen:
        for step in scenario.setup_steps():
            key = Step(step.action, 0.0, step.application_id, step.stage, step.status, step.when, step.by,
                       step.host_email, step.days, step.fields)
            if key in seen:
                continue
            seen.add(key)
            done.append(f"{scenario.name}: {apply_step(client, step)}")
        if scenario.bounce:
            done.append(f"{scenario.name}: skipped: the refused address is simulated by selftest's mail "
                        "transport, not by the sandbox")
    return done
