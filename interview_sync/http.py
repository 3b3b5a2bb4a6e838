"""One HTTP session policy for every vendor adapter.

- timeouts on every request (a hung vendor must not hang cron);
- urllib3 ``Retry`` for idempotent methods on 429/5xx and connection faults,
  honouring ``Retry-After`` but capped low, so one poll never sleeps for
  minutes (the next cron run picks up where we stopped);
- POSTs are never retried automatically: a retried "create link" or "add
  note" could duplicate a write; the outbox decides about those;
- the sleeper is injectable, so tests check the wait without waiting;
- vendor errors become :class:`VendorError` with the fix in the message, and
  no secret or payload ever lands in the message.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from .errors import NotFound, VendorAuthError, VendorError

DEFAULT_TIMEOUT = (5.0, 30.0)
RETRY_STATUSES = (429, 500, 502, 503, 504)


class CappedRetry(Retry):
    """Retry that caps ``Retry-After`` and sleeps through an injectable function."""

    max_retry_after: float = 30.0
    sleeper: Callable[[float], None] = staticmethod(time.sleep)

    def new(self, **kw: Any) -> "CappedRetry":
        new = super().new(**kw)
        new.max_retry_after = self.max_retry_after
        new.sleeper = self.sleeper
        return new

    def get_retry_after(self, response: Any) -> float | None:
        value = super().get_retry_after(response)
        if value is None:
            return None
        return min(value, self.max_retry_after)

    def sleep_for_retry(self, response: Any = None) -> bool:
        retry_after = self.get_retry_after(response) if response is not None else None
        if retry_after:
            self.sleeper(retry_after)
            return True
        return False

    def _sleep_backoff(self) -> None:
        backoff = self.get_backoff_time()
        if backoff > 0:
            self.sleeper(backoff)


class VendorSession:
    """A ``requests.Session`` with our retry/timeout policy and error mapping.

    ``calls`` counts requests by "METHOD path" for `poll --verbose` and the
    benchmark. ``on_response`` lets adapters read rate-limit headers.
    """

    def __init__(self, vendor: str, *, retries: int = 3, backoff_factor: float = 0.5,
                 max_retry_after: float = 30.0, timeout: tuple[float, float] = DEFAULT_TIMEOUT,
                 sleeper: Callable[[float], None] | None = None,
                 user_agent: str = "interview-sync/0.1 (+https://github.com/interview-sync)") -> None:
        self.vendor = vendor
        self.timeout = timeout
        self.calls: Counter[str] = Counter()
        self.sleeper = sleeper or time.sleep
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
        self.session = requests.Session()
        adapter = HTTPAdapter(max_retries=retry, pool_maxsize=4)
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)
        self.session.headers["User-Agent"] = user_agent
        self.session.headers["Accept"] = "application/json"

    def request(self, method: str, url: str, *, expected: tuple[int, ...] = (200, 201, 204),
                **kwargs: Any) -> requests.Response:
        """Send one request; return the response or raise a VendorError subclass."""
        kwargs.setdefault("timeout", self.timeout)
        path = requests.utils.urlparse(url).path
        self.calls[f"{method.upper()} {path}"] += 1
        try:
            response = self.session.request(method, url, **kwargs)
        except requests.exceptions.RetryError as exc:
            raise VendorError(self.vendor, f"{method} {path} kept failing after retries",
                              "the vendor is unavailable or rate-limiting; the next poll retries") from exc
        except requests.exceptions.Timeout as exc:
            raise VendorError(self.vendor, f"{method} {path} timed out",
                              "check the vendor's status page; the next poll retries") from exc
        except requests.exceptions.ConnectionError as exc:
            raise VendorError(self.vendor, f"cannot connect for {method} {path}",
                              "check base_url and network access; the next poll retries") from exc
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
