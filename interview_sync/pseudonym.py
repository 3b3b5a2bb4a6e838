"""Stable pseudonyms for the personal data in a `poll --record` stream.

A recording is kept for debugging and replay, often far longer and in more
places than the state database, so it must not carry who the candidates and
hiring managers are. Structured fields (a candidate's or a hiring manager's
name and address) map to stable pseudonyms: under one key the same input always
gives the same output, so matching a booking to an invitation by email still works in
the replay. Free text gets the same treatment wherever a known name, an email
address or a booking-link prefill shows up in it; text we wrote ourselves
(ATS note bodies) or that a candidate typed (cancel reasons) is dropped, since
the replay recomputes the one and never needs the other.

Pseudonyms are keyed: HMAC-SHA-256 under a secret key of the deployment (kept
in the state database, see :meth:`StateDB.pseudonym_key`). A plain hash of the
address would let anyone holding a recording and a list of guesses (a staff
list, a candidate's known email) confirm who is in it; without the key they
cannot compute a single pseudonym to compare.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

_EMAIL = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
_URL = re.compile(r"https?://[^\s\"'<>]+")
_PHONE = re.compile(r"\+?[\d\s().-]{7,}")
_MIN_TOKEN = 2  # shorter name fragments ("J") would rewrite ordinary words
_MIN_KEY_BYTES = 16  # an empty or short key would make the HMAC a guessable hash again


def removed(value: str) -> str:
    return f"[{len(value)} characters removed]"


class Pseudonymiser:
    """Maps personal values to pseudonyms and remembers the names it has seen.

    The memory is what lets free text be cleaned: a hiring manager's name read
    from a job earlier in the poll is replaced when it later shows up in, say,
    an event type's title or a custom field.

    ``key`` is the deployment's secret (:meth:`StateDB.pseudonym_key`); the same key
    gives the same pseudonyms. Without one a random key is drawn: safe, but its
    pseudonyms match those of no other Pseudonymiser.
    """

    def __init__(self, key: bytes | None = None) -> None:
        if key is None:
            key = secrets.token_bytes(32)
        if len(key) < _MIN_KEY_BYTES:
            raise ValueError(f"a pseudonym key needs at least {_MIN_KEY_BYTES} bytes")
        self._key = key
        self._names: dict[str, str] = {}
        self._pattern: re.Pattern[str] | None = None

    def _digest(self, value: str) -> str:
        """12 hex digits of HMAC-SHA-256 over the case-folded value (addresses compare
        case-insensitively, so ``Zoe@X`` and ``zoe@x`` must stay equal)."""
        return hmac.new(self._key, value.strip().casefold().encode(), hashlib.sha256).hexdigest()[:12]

    def email(self, value: str) -> str:
        """``u<12 hex>@example.com``: still a valid address, equal when the originals were."""
        return f"u{self._digest(value)}@example.com"

    def name(self, value: str, label: str = "Person") -> str:
        """``Person 1a2b3c`` for a full name; each part of it is remembered for free text."""
        alias = f"{label} {self._digest(value)[:6]}"
        self._learn(value, alias, label)
        return alias

    def _learn(self, value: str, alias: str, label: str) -> None:
        text = value.strip()
        if len(text) < _MIN_TOKEN:
            return
        fresh = {text.casefold(): alias}
        for part in re.split(r"[\s\-]+", text):
            if len(part) >= _MIN_TOKEN and part.casefold() not in self._names:
                fresh.setdefault(part.casefold(), f"{label} {self._digest(part)[:6]}")
        if any(key not in self._names for key in fresh):
            self._names.update({k: v for k, v in fresh.items() if k not in self._names})
            self._pattern = None

    def text(self, value: str) -> str:
        """Free text with booking-link prefills, addresses and known names replaced."""
        value = _URL.sub(lambda m: self._url(m.group(0)), value)
        value = _EMAIL.sub(lambda m: self.email(m.group(0)), value)
        return self._replace_names(value)

    def location(self, value: str) -> str:
        """A booking's location is often the candidate's phone number: that goes."""
        if _PHONE.fullmatch(value.strip()) and sum(c.isdigit() for c in value) >= 7:
            return "[phone number removed]"
        return self.text(value)

    def identifier(self, value: str) -> str:
        """A user slug such as Cal.com's ``maria-delgado`` names someone too; the
        replacement keeps it a slug so it still works as an id and in a URL path."""
        return self._replace_names(value, slug=True)

    def _replace_names(self, value: str, slug: bool = False) -> str:
        if not self._names:
            return value
        if self._pattern is None:
            alternatives = sorted(self._names, key=len, reverse=True)
            self._pattern = re.compile(r"(?<!\w)(?:" + "|".join(map(re.escape, alternatives)) + r")(?!\w)",
                                       re.IGNORECASE)

        def alias(match: re.Match[str]) -> str:
            found = self._names.get(match.group(0).casefold(), match.group(0))
            return found.replace(" ", "-").lower() if slug else found

        return self._pattern.sub(alias, value)

    def _url(self, url: str) -> str:
        """Query parameters of a link: Calendly and Cal.com prefill ``name`` and ``email`` there."""
        parts = urlsplit(url)
        parts = parts._replace(path=self._replace_names(parts.path, slug=True))
        query = []
        for key, item in parse_qsl(parts.query, keep_blank_values=True):
            lowered = key.casefold()
            if "@" in item or "email" in lowered:
                item = self.email(item) if item else item
            elif "name" in lowered:
                item = self.name(item, "Candidate") if item else item
            else:
                item = self._replace_names(_EMAIL.sub(lambda m: self.email(m.group(0)), item))
            query.append((key, item))
        return urlunsplit(parts._replace(query=urlencode(query, quote_via=quote)))
