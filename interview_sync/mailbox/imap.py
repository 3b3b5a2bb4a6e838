"""Read the mailbox over IMAP (imapclient), with a password or an XOAUTH2 token.

The cursor is ``<UIDVALIDITY>:<last UID>``: UIDs only grow inside one
UIDVALIDITY (RFC 3501 §2.3.1.1), so "every UID above the last one" is exactly
what arrived since. When the server changes UIDVALIDITY (a rebuilt mailbox)
the old UIDs mean nothing and the reader starts over with a bounded look-back;
the per-message idempotency keys make a message seen twice harmless. The
folder is opened read-only and bodies are fetched with ``BODY.PEEK[]``, so the
tool never marks a message as read or changes the mailbox in any way.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Literal

from interview_sync.errors import ConfigError, VendorAuthError, VendorError
from interview_sync.mailbox.base import MAX_MESSAGE_BYTES, Batch, InboundMail

Security = Literal["ssl", "starttls", "none"]
_FIX = "check mailbox.host, mailbox.port and mailbox.security; the next poll reads the mailbox again"


def _imapclient() -> Any:
    try:
        import imapclient
    except ImportError:
        raise ConfigError("imapclient is not installed, and mailbox.provider = \"imap\" needs it",
                          "pip install 'interview-sync[imap]'") from None
    return imapclient


class ImapReader:
    """One IMAP folder. ``token`` (for XOAUTH2) is called once per connection, so a
    token source with its own cache decides when to refresh."""

    name = "imap"

    def __init__(self, *, host: str, port: int, username: str, password: str | None = None,
                 token: Callable[[], str] | None = None, folder: str = "INBOX", security: Security = "ssl",
                 lookback: timedelta = timedelta(days=2), max_messages: int = 200, timeout: float = 30,
                 ssl_context: ssl.SSLContext | None = None) -> None:
        if (password is None) == (token is None):
            raise ConfigError("the IMAP reader needs exactly one of a password or an XOAUTH2 token",
                              "set mailbox.password, or mailbox.auth = \"xoauth2\" with the OAuth settings")
        self.host, self.port, self.username, self.folder = host, port, username, folder
        self._password, self._token = password, token
        self.security = security
        self.lookback, self.max_messages, self.timeout = lookback, max_messages, timeout
        self.ssl_context = ssl_context

    def __repr__(self) -> str:
        return f"ImapReader({self.username}@{self.host}:{self.port}/{self.folder})"

    def close(self) -> None:
        """Each read opens and closes its own connection: nothing is held between polls."""

    def _connect(self) -> Any:
        lib = _imapclient()
        try:
            client = lib.IMAPClient(self.host, port=self.port, ssl=self.security == "ssl",
                                    ssl_context=self.ssl_context, timeout=self.timeout)
            if self.security == "starttls":
                client.starttls(self.ssl_context or ssl.create_default_context())
        except (OSError, lib.exceptions.IMAPClientError) as exc:
            raise VendorError("imap", f"cannot connect to {self.host}:{self.port} ({type(exc).__name__})",
                              _FIX) from None
        try:
            if self._token is not None:
                client.oauth2_login(self.username, self._token())
            else:
                client.login(self.username, self._password)
        except lib.exceptions.LoginError:
            _quietly(client.logout)
            how = "XOAUTH2 token" if self._token is not None else "password"
            raise VendorAuthError("imap", f"{self.host} refused the {how} for {self.username}",
                                  "check mailbox.username and the credentials (a token needs the IMAP "
                                  "permission for this mailbox)", 401) from None
        return client

    def probe(self) -> str:
        lib = _imapclient()
        client = self._connect()
        try:
            selected = client.select_folder(self.folder, readonly=True)
            count = int(selected.get(b"EXISTS", 0))
        except (OSError, lib.exceptions.IMAPClientError) as exc:
            raise VendorError("imap", f"cannot open {self.folder} on {self.host} ({type(exc).__name__})",
                              "check mailbox.folder") from None
        finally:
            _quietly(client.logout)
        how = "XOAUTH2" if self._token is not None else "password"
        return f"{self.username} signed in to {self.host} ({how}); {self.folder} opened read-only, {count} message(s)"

    def read(self, cursor: str | None, now: datetime) -> Batch:
        lib = _imapclient()
        client = self._connect()
        try:
            selected = client.select_folder(self.folder, readonly=True)
            validity = int(selected.get(b"UIDVALIDITY", 0))
            last = _last_uid(cursor, validity)
            if last is None:
                since = (now - self.lookback).date()
                uids = sorted(client.search(["SINCE", since]))
            else:
                uids = sorted(uid for uid in client.search(["UID", f"{last + 1}:*"]) if uid > last)
            uids = uids[: self.max_messages]
            mails: list[InboundMail] = []
            if uids:
                sizes = client.fetch(uids, ["RFC822.SIZE"])
                wanted = [uid for uid in uids if int(sizes.get(uid, {}).get(b"RFC822.SIZE", 0)) <= MAX_MESSAGE_BYTES]
                bodies = client.fetch(wanted, ["BODY.PEEK[]"]) if wanted else {}
                for uid in wanted:
                    raw = bodies.get(uid, {}).get(b"BODY[]")
                    if isinstance(raw, bytes):
                        mails.append(InboundMail(server_id=f"{validity}:{uid}", raw=raw))
            end = uids[-1] if uids else (last or 0)
            return Batch(mails, f"{validity}:{end}")
        except (OSError, lib.exceptions.IMAPClientError) as exc:
            raise VendorError("imap", f"reading {self.folder} on {self.host} failed ({type(exc).__name__}: "
                                      f"{str(exc)[:120]})", _FIX) from None
        finally:
            _quietly(client.logout)


def _last_uid(cursor: str | None, validity: int) -> int | None:
    """The last UID handled, or None when there is none for this UIDVALIDITY."""
    if not cursor:
        return None
    stored, _, uid = cursor.partition(":")
    if stored != str(validity) or not uid.isdigit():
        return None
    return int(uid)


def _quietly(call: Callable[[], Any]) -> None:
    try:
        call()
    except Exception:  # noqa: BLE001 - closing a connection that already failed
        pass
