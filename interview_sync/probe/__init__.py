"""`doctor --probe`: read-only checks of every vendor field and id relation the adapters rely on.

The adapters, the sandbox and the test fakes were written from one reading of
the vendors' docs; only the live tenant can say whether that reading holds.
Each vendor module here reads a small sample of the records its adapter uses
and returns one :class:`~interview_sync.doctor.Check` per relied-on fact
("application.stage_id is the id of the current application_stages row"),
saying what matched and, where it did not, the fix.

Vendor modules expose ``probe(adapter, *, sample: int) -> list[Check]``. The
runner finds one from the adapter's own module (an adapter class in
``interview_sync.ats.greenhouse`` is probed by ``interview_sync.probe.greenhouse``;
the SMS channel in ``interview_sync.sms.twilio`` by ``interview_sync.probe.twilio``,
when ``[sms]`` is on) and hands it a *read view* of the adapter, never the adapter itself:

* the view refuses the adapter's write methods (notes, tags, links, no-show marks, texts);
* the adapter's HTTP session is swapped for one that sends only GET/HEAD (and
  the one POST that mints a credential), for the duration of the probe.

So a probe runs against a customer's live tenant without being able to change
it, whatever a vendor module does by mistake. Writes are `--probe-writes`
(:mod:`interview_sync.probe.writes`), asked for by name and by application.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Any

from ..clock import Clock
from ..config import Settings
from ..context import build_ats, build_scheduler, build_sms
from ..doctor import SAMPLE_SIZE, Check, _failed
from ..errors import BadRecord, InterviewSyncError

# Protocol methods that change something at the vendor.
WRITE_METHODS = frozenset({"add_note", "add_tag", "remove_tag", "create_link", "revoke_link", "mark_no_show",
                           "send"})
READ_VERBS = frozenset({"GET", "HEAD", "OPTIONS"})


class WriteRefused(InterviewSyncError):
    """A probe tried to change the vendor's data."""


class ReadOnlySession:
    """A vendor session that sends reads only.

    ``credential_url`` is the one address a POST may go to: minting an OAuth
    token (Greenhouse) is how every read is authorised, and changes no data.
    """

    def __init__(self, inner: Any, credential_url: str | None = None) -> None:
        self._inner = inner
        self._credential_url = credential_url

    def _check(self, method: str, url: str) -> None:
        verb = method.upper()
        if verb in READ_VERBS or (verb == "POST" and url == self._credential_url):
            return
        raise WriteRefused(f"doctor --probe is read-only: refused {verb} {url.split('?', 1)[0]}",
                           "probes read; writes belong to --probe-writes APPLICATION_ID")

    def request(self, method: str, url: str, **kwargs: Any) -> Any:
        self._check(method, url)
        return self._inner.request(method, url, **kwargs)

    def json(self, method: str, url: str, **kwargs: Any) -> Any:
        self._check(method, url)
        return self._inner.json(method, url, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class ReadView:
    """What a vendor probe gets: the adapter's reads, attributes and helpers; no writes."""

    def __init__(self, adapter: Any) -> None:
        self._adapter = adapter

    def __getattr__(self, name: str) -> Any:
        if name in WRITE_METHODS:
            raise WriteRefused(f"doctor --probe is read-only: {name} is not available to a probe",
                               "probes read; writes belong to --probe-writes APPLICATION_ID")
        return getattr(self._adapter, name)


@contextmanager
def read_only(adapter: Any) -> Iterator[ReadView]:
    """The adapter as a read view, its session guarded until the block ends."""
    session = getattr(adapter, "session", None)
    if session is None:
        yield ReadView(adapter)
        return
    adapter.session = ReadOnlySession(session, getattr(adapter, "token_url", None))
    try:
        yield ReadView(adapter)
    finally:
        adapter.session = session


def vendor_of(adapter: Any) -> str:
    """``interview_sync.ats.greenhouse.GreenhouseATS`` → ``greenhouse``."""
    return type(adapter).__module__.rsplit(".", 1)[-1]


def probe_module(vendor: str) -> ModuleType | None:
    """The vendor's probe module, or None when there is none yet (an import error
    *inside* an existing module is not hidden: it is a bug to report)."""
    name = f"{__name__}.{vendor}"
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name == name:
            return None
        raise


def probe_adapter(side: str, adapter: Any, *, sample: int, **options: Any) -> list[Check]:
    """One adapter's lines: its vendor module's checks, or one failed line saying why not.
    ``options`` go to the vendor's ``probe`` as keywords (the SMS probe takes the clock)."""
    vendor = vendor_of(adapter)
    label = f"{side} probe ({vendor})"
    try:
        module = probe_module(vendor)
    except Exception as exc:  # noqa: BLE001 - a broken probe module is one failed line
        return [_failed(label, exc, f"fix interview_sync/probe/{vendor}.py")]
    if module is None:
        return [Check(label, False, f"no probe for {vendor} yet",
                      f"add interview_sync/probe/{vendor}.py with probe(adapter, *, sample)")]
    try:
        with read_only(adapter) as view:
            checks = list(module.probe(view, sample=sample, **options))
    except Exception as exc:  # noqa: BLE001 - a doctor reports, it does not crash
        return [_failed(label, exc, "check the credentials and network, then run doctor --probe again")]
    if not checks:
        return [Check(label, False, "the probe checked nothing", f"fix interview_sync/probe/{vendor}.py")]
    return checks


def run_probe(settings: Settings, *, clock: Clock, ats: Any = None, scheduler: Any = None, sms: Any = None,
              sample: int = SAMPLE_SIZE, sleeper: Callable[[float], None] | None = None) -> list[Check]:
    """Probe the configured ATS, then the scheduler, then the SMS channel when ``[sms]`` is on;
    every line, in a stable order.

    Records an adapter could not parse while the probes read are findings too:
    one failed line per side names how many and the first.
    """
    bad: list[BadRecord] = []
    ats = ats if ats is not None else build_ats(settings, clock, bad.append, sleeper)
    scheduler = scheduler if scheduler is not None else build_scheduler(settings, clock, bad.append, sleeper)
    checks: list[Check] = []
    for side, adapter in (("ats", ats), ("scheduler", scheduler)):
        before = len(bad)
        checks += probe_adapter(side, adapter, sample=sample)
        skipped = bad[before:]
        if skipped:
            checks.append(Check(f"{side} records ({vendor_of(adapter)})", False,
                                f"{len(skipped)} sampled record(s) could not be parsed; first: {skipped[0]}",
                                "the adapter's reading of this field differs from the tenant's: see the line "
                                "above and docs/vendors.md"))
    return checks + _probe_sms(settings, clock, sms, sample, sleeper)


def _probe_sms(settings: Settings, clock: Clock, sms: Any, sample: int,
               sleeper: Callable[[float], None] | None) -> list[Check]:
    """The SMS channel's lines; none when ``sms.provider = "none"``."""
    if sms is None:
        try:
            sms = build_sms(settings, sleeper)
        except InterviewSyncError as exc:
            return [_failed(f"sms probe ({settings.sms.provider})", exc, "fix [sms] in the config")]
    if sms is None:
        return []
    return probe_adapter("sms", sms, sample=sample, clock=clock)


__all__ = ["ReadOnlySession", "ReadView", "WriteRefused", "probe_adapter", "read_only", "run_probe", "vendor_of"]
