"""One HTTP session policy for every vendor adapter.

- timeouts on every request (a hung vendor must not hang cron);
- urllib3 ``Retry`` for idempotent methods on 429/5xx and connection faults,
  honouring ``Retry-After`` but capped low, so one poll never sleeps for
  minutes (the next cron run picks up where we stopped);
- POSTs are never retried automatically: a retried "create link" or "add
  note" could duplicate a write; the outbox decides about those;
- the sleeper is injectable, so tests check the wait without waiting;
- every response's rate-limit headers feed a :class:`RatePacer`, which
  spreads the next requests so a burst (1,000 invitations) stays inside the
  vendor's window instead of running into 429s;
- vendor errors become :class:`VendorError` with the fix in the message, and
  no secret or payload ever lands in the message;
- once an adapter pins its configured base URL, every request (and every
  redirect) must stay on that origin: a vendor-supplied URL elsewhere (a
  ``Link`` next page, a resource URI, a ``Location``) is refused before any
  byte, credential included, leaves for it;
- a read that times out is not retried (a hung vendor costs one timeout, not
  four), and a 429 whose ``Retry-After`` exceeds the cap ends the call at once
  instead of sleeping through the poll.
"""

from __future__ import annotations

import math
import re
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import LocationParseError, ReadTimeoutError
from urllib3.util import parse_url
from urllib3.util.retry import Retry

from .errors import ConfigError, ForeignOrigin, NotFound, RetryTooLate, VendorAuthError, VendorError

DEFAULT_TIMEOUT = (5.0, 30.0)
RETRY_STATUSES = (429, 500, 502, 503, 504)
DEFAULT_PORTS = {"http": 80, "https": 443}


def origin_of(url: str) -> str | None:
    """``scheme://host:port`` as a request to ``url`` would reach it, or None.

    The host is lower-cased and IDNA-encoded and the default port filled in,
    so ``https://API.Example`` and ``https://api.example:443/x`` compare equal
    while another host, another port or plain http do not. A URL with
    credentials in it (``https://a@b``) or a scheme other than http(s) has no
    origin we would ever call.
    """
    try:
        parts = parse_url(url)
    except (LocationParseError, ValueError):
        return None
    scheme = (parts.scheme or "").lower()
    if scheme not in DEFAULT_PORTS or not parts.host or parts.auth:
        return None
    host = parts.host.lower()
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            return None
    return f"{scheme}://{host}:{parts.port or DEFAULT_PORTS[scheme]}"


class WaitTooLong(Exception):
    """Raised from inside urllib3 when a 429 asks for more than the retry cap allows."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        super().__init__(f"Retry-After {seconds:.0f} s")


class CappedRetry(Retry):
    """Retry that caps ``Retry-After`` and sleeps through an injectable function."""

    max_retry_after: float = 30.0
    sleeper: Callable[[float], None] = staticmethod(time.sleep)
    observer: Callable[[int], None] | None = None  # told the status of each response that will be retried

    def new(self, **kw: Any) -> "CappedRetry":
        new = super().new(**kw)
        new.max_retry_after = self.max_retry_after
        new.sleeper = self.sleeper
        new.observer = self.observer
        return new

    def get_retry_after(self, response: Any) -> float | None:
        value = super().get_retry_after(response)
        if value is None:
            return None
        return min(value, self.max_retry_after)

    def increment(self, *args: Any, **kw: Any) -> "CappedRetry":
        error = kw.get("error")
        if isinstance(error, ReadTimeoutError):
            raise error  # the vendor accepted and went silent: waiting again only doubles the hang
        retry = super().increment(*args, **kw)
        response = kw.get("response")
        if response is not None and self.observer is not None:
            self.observer(response.status)  # a retried answer; the final one is counted by the session
        return retry  # type: ignore[return-value]

    def sleep_for_retry(self, response: Any = None) -> bool:
        asked = Retry.get_retry_after(self, response) if response is not None else None
        if asked is not None and asked > self.max_retry_after:
            raise WaitTooLong(asked)
        retry_after = self.get_retry_after(response) if response is not None else None
        if retry_after:
            self.sleeper(retry_after)
            return True
        return False

    def _sleep_backoff(self) -> None:
        backoff = self.get_backoff_time()
        if backoff > 0:
            self.sleeper(backoff)


_RATE_HEADER = re.compile(r"^x-ratelimit-(limit|remaining|reset)(?:-(.+))?$", re.IGNORECASE)
EPOCH_SECONDS = 1e9  # a Reset value at least this big is a Unix time, not "seconds from now"
EPOCH_MILLISECONDS = 1e12


@dataclass
class RateBucket:
    """One advertised limit: ``remaining`` requests until ``reset_at`` (pacer clock seconds)."""

    limit: int | None
    remaining: int
    reset_at: float


class RatePacer:
    """Keeps a session inside the vendor's advertised rate limit.

    Vendors say where we stand on every response, in three dialects:

    - Greenhouse Harvest: ``X-RateLimit-Limit/Remaining/Reset``, Reset a Unix time;
    - Calendly: the same names, Reset in *seconds from now*;
    - Cal.com v2: one set per named limit, ``X-RateLimit-Remaining-Default`` ...,
      Reset a Unix time.

    A Reset value is read as a Unix time when it is that large (ms or s), else
    as a delay, so one parser serves all three. Before each request we wait
    only when needed: with ``remaining == 0`` until the reset (plus a small
    margin for clock skew); within the last ``reserve`` of the window the
    remaining requests are spread evenly until the reset, which costs nothing
    against a fixed window and keeps a rolling window from tripping. The
    whole fixed-window minimum is therefore the only time a burst takes.
    """

    def __init__(self, clock: Callable[[], float], sleeper: Callable[[float], None], *,
                 max_wait: float = 60.0, reserve_fraction: float = 0.2, margin: float = 0.05) -> None:
        self.clock = clock
        self.sleeper = sleeper
        self.max_wait = max_wait
        self.reserve_fraction = reserve_fraction
        self.margin = margin
        self.buckets: dict[str, RateBucket] = {}
        self.waited = 0.0  # total seconds slept for pacing, for `poll --verbose` and the bench
        self.waits = 0

    def observe(self, headers: Mapping[str, str]) -> None:
        """Remember what the vendor said about each of its limits."""
        seen: dict[str, dict[str, str]] = {}
        for name, value in headers.items():
            match = _RATE_HEADER.match(name)
            if match:
                seen.setdefault((match.group(2) or "").lower(), {})[match.group(1).lower()] = value
        now = self.clock()
        for bucket, values in seen.items():
            try:
                remaining = int(float(values["remaining"]))
                reset = float(values["reset"])
            except (KeyError, ValueError):
                continue
            if not math.isfinite(reset) or reset < 0:
                continue
            limit: int | None
            try:
                limit = int(float(values["limit"]))
            except (KeyError, ValueError):
                limit = None
            if reset >= EPOCH_MILLISECONDS:
                reset_at = reset / 1000.0
            elif reset >= EPOCH_SECONDS:
                reset_at = reset
            else:
                reset_at = now + reset
            self.buckets[bucket] = RateBucket(limit, max(remaining, 0), reset_at)

    def delay(self) -> float:
        """Seconds to wait before the next request (0 when the budget allows it now)."""
        now = self.clock()
        wait = 0.0
        for name, bucket in list(self.buckets.items()):
            left = bucket.reset_at - now
            if left <= 0:
                del self.buckets[name]  # the window rolled over: the next answer tells us more
                continue
            if bucket.remaining <= 0:
                wait = max(wait, left + self.margin)
                continue
            reserve = max(1, math.ceil((bucket.limit or 0) * self.reserve_fraction))
            if bucket.remaining <= reserve:
                wait = max(wait, left / (bucket.remaining + 1))
        return min(wait, self.max_wait)

    def before_request(self) -> float:
        """Wait if the budget says so, then count this request against every bucket."""
        wait = self.delay()
        if wait > 0:
            self.sleeper(wait)
            self.waited += wait
            self.waits += 1
            now = self.clock()
            for name, bucket in list(self.buckets.items()):
                if bucket.reset_at <= now:
                    del self.buckets[name]
        for bucket in self.buckets.values():
            bucket.remaining = max(bucket.remaining - 1, 0)
        return wait


class _GuardedSession(requests.Session):
    """A session that asks ``check`` about every prepared URL it is about to send.

    ``send`` sees the URL exactly as urllib3 will connect to it, for the first
    request and for every redirect, so no parser difference can slip past."""

    def __init__(self, check: Callable[[str], None]) -> None:
        super().__init__()
        self._check = check

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        self._check(request.url or "")
        return super().send(request, **kwargs)


class VendorSession:
    """A ``requests.Session`` with our retry/timeout policy and error mapping.

    ``calls`` counts requests by "METHOD path" for `poll --verbose` and the
    benchmark; ``statuses`` counts every HTTP answer by status, retried ones
    included (`run`'s metrics report the 429s). ``pacer`` spreads requests by
    the vendor's rate-limit headers;
    ``clock`` (seconds, default ``time.time``) is what it measures waits with,
    injectable together with ``sleeper`` so a benchmark runs in simulated time.
    ``pin`` (called by each adapter with its configured base URL) restricts the
    session to that origin.
    """

    def __init__(self, vendor: str, *, retries: int = 3, backoff_factor: float = 0.5,
                 max_retry_after: float = 30.0, timeout: tuple[float, float] = DEFAULT_TIMEOUT,
                 sleeper: Callable[[float], None] | None = None,
                 clock: Callable[[], float] | None = None, max_rate_wait: float = 60.0,
                 user_agent: str = "interview-sync/0.1 (+https://github.com/interview-sync)") -> None:
        self.vendor = vendor
        self.timeout = timeout
        self.max_retry_after = max_retry_after
        self.calls: Counter[str] = Counter()
        self.statuses: Counter[int] = Counter()
        self.sleeper = sleeper or time.sleep
        self.pacer = RatePacer(clock or time.time, self.sleeper, max_wait=max_rate_wait)
        retry = CappedRetry(
            total=retries,
            connect=retries,
            read=retries,
            status=retries,
            backoff_factor=backoff_factor,
            status_forcelist=RETRY_STATUSES,
            allowed_methods=frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"}),
            respect_retry_after_header=True,
            raise_on_status=False,
        )
        retry.max_retry_after = max_retry_after
        retry.sleeper = self.sleeper
        retry.observer = self._count_status
        self.origins: set[str] = set()
        self.endpoints: set[tuple[str, str]] = set()
        self.session = _GuardedSession(self.check_origin)
        adapter = HTTPAdapter(max_retries=retry, pool_maxsize=4)
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)
        self.session.headers["User-Agent"] = user_agent
        self.session.headers["Accept"] = "application/json"

    def _count_status(self, status: int) -> None:
        self.statuses[status] += 1

    def pin(self, base_url: str, *endpoints: str) -> None:
        """Allow only ``base_url``'s origin from now on, plus these exact configured
        endpoints (Greenhouse's token URL may live on another host: it is
        configuration, not something a vendor told us)."""
        origin = origin_of(base_url)
        if origin is None:
            raise ConfigError(f"{self.vendor} base_url {base_url!r} is not an http(s) URL",
                              "set base_url in the config to the vendor's API root")
        self.origins.add(origin)
        for endpoint in endpoints:
            self.endpoints.add((origin_of(endpoint) or "", parse_url(endpoint).path or "/"))

    def check_origin(self, url: str) -> None:
        """Raise :class:`ForeignOrigin` unless ``url`` is on a pinned origin (or a
        configured endpoint). Unpinned sessions allow everything."""
        if not self.origins:
            return
        origin = origin_of(url)
        if origin in self.origins:
            return
        if origin is not None and (origin, parse_url(url).path or "/") in self.endpoints:
            return
        shown = origin or "a URL that is not plain http(s)"
        raise ForeignOrigin(self.vendor, f"refused to call {shown}: it is not the configured base_url's origin "
                                         f"({', '.join(sorted(self.origins))})",
                            "a vendor response pointed elsewhere; nothing was sent there. Check base_url is "
                            "the vendor's API host, and report the response to the vendor if it is")

    def request(self, method: str, url: str, *, expected: tuple[int, ...] = (200, 201, 204),
                **kwargs: Any) -> requests.Response:
        """Send one request; return the response or raise a VendorError subclass."""
        kwargs.setdefault("timeout", self.timeout)
        path = requests.utils.urlparse(url).path
        self.calls[f"{method.upper()} {path}"] += 1
        self.pacer.before_request()
        try:
            response = self.session.request(method, url, **kwargs)
        except WaitTooLong as exc:
            raise RetryTooLate(self.vendor, f"{method} {path} rate-limited (429): the vendor asks to wait "
                                            f"{exc.seconds:.0f} s, more than the {self.max_retry_after:.0f} s "
                                            "one poll may sleep; this poll stopped reading it",
                               "the next poll retries; lower the poll frequency if this persists", 429) from None
        except requests.exceptions.RetryError as exc:
            raise VendorError(self.vendor, f"{method} {path} kept failing after retries",
                              "the vendor is unavailable or rate-limiting; the next poll retries") from exc
        except requests.exceptions.Timeout as exc:
            raise VendorError(self.vendor, f"{method} {path} timed out",
                              "check the vendor's status page; the next poll retries") from exc
        except requests.exceptions.ConnectionError as exc:
            raise VendorError(self.vendor, f"cannot connect for {method} {path}",
                              "check base_url and network access; the next poll retries") from exc
        self._count_status(response.status_code)
        self.pacer.observe(response.headers)
        if response.status_code in expected:
            return response
        raise _error_for(self.vendor, method, path, response)

    def json(self, method: str, url: str, **kwargs: Any) -> Any:
        response = self.request(method, url, **kwargs)
        if response.status_code == 204 or not response.content:
            return {}
        try:
            return response.json()
        except ValueError as exc:
            raise VendorError(self.vendor, f"{method} {requests.utils.urlparse(url).path} returned invalid JSON",
                              "the response was truncated or not JSON; the next poll retries") from exc


def _error_for(vendor: str, method: str, path: str, response: requests.Response) -> VendorError:
    status = response.status_code
    if status in (401, 403):
        return VendorAuthError(vendor, f"{method} {path} was refused ({status})",
                               "check the credentials and their scopes/permissions in the config", status)
    if status == 404:
        return NotFound(vendor, f"{method} {path} not found (404)", "check the id or base_url", status)
    if status == 429:
        return VendorError(vendor, f"{method} {path} rate-limited (429)",
                           "the next poll retries; lower the poll frequency if this persists", status)
    detail = _vendor_message(response)
    return VendorError(vendor, f"{method} {path} failed ({status}{': ' + detail if detail else ''})",
                       "see the vendor's message; the next poll retries" if status >= 500
                       else "check the request's ids and the config", status)


def _vendor_message(response: requests.Response) -> str:
    """The vendor's own short message, never the whole body (it may hold personal data)."""
    try:
        body = response.json()
    except ValueError:
        return ""
    if isinstance(body, dict):
        for key in ("message", "title", "error_description", "error"):
            value = body.get(key)
            if isinstance(value, str):
                return value[:200]
            if isinstance(value, dict) and isinstance(value.get("message"), str):
                return value["message"][:200]
    return ""
