"""Where built messages go: a directory of .eml files, an SMTP server, or Microsoft Graph.

All are context managers behind one Protocol so the executor, the demo and
the tests never care which one they hold. Error mapping is the contract the
executor relies on: ``DeliveryError(permanent=True)`` means "this address
will never work, alert a recruiter"; ``permanent=False`` means "try later".
"""

from __future__ import annotations

import hashlib
import ipaddress
import os
import re
import smtplib
import socket
import ssl
import unicodedata
from email import policy
from email.message import EmailMessage
from pathlib import Path
from types import TracebackType
from typing import Literal, Protocol, Self, runtime_checkable

from interview_sync.clock import Clock, SystemClock
from interview_sync.errors import AuthRefused, ConfigError, DeliveryError, LocalIOError
from interview_sync.mail.message import KIND_HEADER
from interview_sync.mail.oauth import TokenSource
from interview_sync.private_files import write_private

Security = Literal["starttls", "ssl", "none"]


@runtime_checkable
class Transport(Protocol):
    def open(self) -> None: ...
    def close(self) -> None: ...
    def send(self, msg: EmailMessage) -> None: ...
    def __enter__(self) -> Self: ...
    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None: ...


class _ContextManaged:
    """Open/close as a context manager, and remember a refused login for the rest of the poll.

    A poll opens the transport once and closes it at the end; a refusal is
    kept between the two, so fifty invitations cost one token request and one
    error line, not fifty.
    """

    _refused: AuthRefused | None = None

    def _check_refused(self) -> None:
        if self._refused is not None:
            raise self._refused.again()

    def _remember(self, refusal: AuthRefused) -> AuthRefused:
        self._refused = refusal
        return refusal

    def open(self) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        self.open()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
        self._refused = None  # the next poll tries the login again


def _slug(text: str, limit: int = 40) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:limit].strip("-") or "message"


class FileTransport(_ContextManaged):
    """Writes one ``.eml`` per message into ``outbox_dir`` (owner-only: it holds personal data).

    Files appear atomically (temp file + rename), so a reader or a crash never
    sees half a message. The name sorts by send time and the short Message-ID
    hash makes a retried send of the same message overwrite, not duplicate,
    within the same second.
    """

    def __init__(self, outbox_dir: Path, clock: Clock | None = None) -> None:
        self.outbox_dir = Path(outbox_dir)
        self.clock: Clock = clock or SystemClock()
        self.sent_paths: list[Path] = []

    def open(self) -> None:
        if not self.outbox_dir.is_dir():
            try:
                self.outbox_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
                os.chmod(self.outbox_dir, 0o700)  # mkdir's mode is filtered by the umask
            except OSError as exc:
                raise LocalIOError.from_os_error(exc, self.outbox_dir, "email.outbox_dir") from None

    def close(self) -> None:
        pass

    def path_for(self, msg: EmailMessage) -> Path:
        stamp = self.clock.now().strftime("%Y%m%dT%H%M%S")
        kind = msg.get(KIND_HEADER)
        label = _slug(str(kind)) if kind else _slug(str(msg.get("Subject", "")))
        digest = hashlib.sha256(str(msg.get("Message-ID", "")).encode()).hexdigest()[:8]
        return self.outbox_dir / f"{stamp}-{label}-{digest}.eml"

    def send(self, msg: EmailMessage) -> None:
        self.open()
        target = self.path_for(msg)
        data = msg.as_bytes(policy=policy.SMTP)
        try:
            with write_private(target, "wb") as handle:
                handle.write(data)
        except OSError as exc:  # read-only or full outbox: the poll stops with exit 2, the row is retried
            raise LocalIOError.from_os_error(exc, self.outbox_dir, "email.outbox_dir") from None
        self.sent_paths.append(target)


def is_loopback(host: str) -> bool:
    if host.strip().lower() in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _reply_text(raw: bytes | str) -> str:
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    return " ".join(text.split())[:200]


class SmtpTransport(_ContextManaged):
    """One SMTP connection, opened on first send and reused for the whole poll.

    A reused connection is probed with NOOP before each message; if the server
    dropped it we reconnect once. We never resend after a failure *during* a
    transaction: the server may already have accepted the message, and a
    duplicate email to a candidate is worse than a recruiter alert.
    """

    def __init__(self, host: str, port: int, security: Security, username: str | None,
                 password: str | None, timeout: float = 30, local_hostname: str | None = None,
                 tokens: TokenSource | None = None) -> None:
        if security not in ("starttls", "ssl", "none"):
            raise ConfigError(f"email.smtp_security {security!r} is not known", "use starttls, ssl or none")
        if not host:
            raise ConfigError("email.smtp_host is empty", "set email.smtp_host, or transport = \"file\"")
        if security == "none" and not is_loopback(host):
            raise ConfigError(f"smtp_security = \"none\" sends mail unencrypted to {host}",
                              "use starttls or ssl; none is allowed only for a loopback smtp_host")
        if tokens is not None and not username:
            raise ConfigError("smtp_auth = \"xoauth2\" needs the mailbox to sign in as",
                              "set email.smtp_username (or email.from) to the sending mailbox")
        if username and not password and tokens is None:
            raise ConfigError(f"email.smtp_username {username!r} is set but the password is empty",
                              "set INTERVIEW_SYNC_EMAIL__SMTP_PASSWORD")
        self.host, self.port, self.security = host, port, security
        self.username = username or None
        self._password = password
        self.timeout = timeout
        self.local_hostname = local_hostname
        self.tokens = tokens
        self._smtp: smtplib.SMTP | None = None
        self.connections_opened = 0

    def __repr__(self) -> str:  # never show the password, even in a debugger or a traceback
        auth = "xoauth2" if self.tokens is not None else "password"
        return f"SmtpTransport({self.host}:{self.port}, {self.security}, {auth}, user={self.username!r})"

    @property
    def _where(self) -> str:
        return f"{self.host}:{self.port}"

    def open(self) -> None:
        if self._smtp is not None:
            return
        context = ssl.create_default_context()
        try:
            if self.security == "ssl":
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout,
                                                      local_hostname=self.local_hostname, context=context)
            else:
                smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout,
                                    local_hostname=self.local_hostname)
        except (OSError, smtplib.SMTPException) as err:
            raise DeliveryError(f"cannot connect to SMTP server {self._where}: {_describe(err)}",
                                "check email.smtp_host/smtp_port and the network; the message will be retried",
                                permanent=False) from None
        try:
            smtp.ehlo()
            if self.security == "starttls":
                if not smtp.has_extn("starttls"):
                    raise ConfigError(f"SMTP server {self._where} does not offer STARTTLS",
                                      "use smtp_security = \"ssl\" (usually port 465) or the server's submission port 587")
                smtp.starttls(context=context)
                smtp.ehlo()
            if self.tokens is not None:
                self._xoauth2(smtp)
            elif self.username:
                smtp.login(self.username, self._password or "")
        except smtplib.SMTPAuthenticationError as err:
            _quietly_close(smtp)
            if self.tokens is not None:
                self.tokens.forget()  # a refused token is not reused: the next poll asks for a new one
            fix = (f"check that {self.tokens.label} may send as {self.username} (SMTP.SendAsApp and mailbox "
                   "permission on Exchange Online; domain-wide delegation on Google)" if self.tokens is not None
                   else "check email.smtp_username and INTERVIEW_SYNC_EMAIL__SMTP_PASSWORD")
            raise self._remember(AuthRefused(f"SMTP server {self._where} refused the login for {self.username!r}: "
                                             f"{err.smtp_code} {_reply_text(err.smtp_error)}", fix)) from None
        except AuthRefused as refusal:  # the identity provider refused the token: nothing to send with
            _quietly_close(smtp)
            raise self._remember(refusal) from None
        except (ConfigError, DeliveryError):
            _quietly_close(smtp)
            raise
        except (OSError, smtplib.SMTPException) as err:
            _quietly_close(smtp)
            raise DeliveryError(f"SMTP session with {self._where} failed: {_describe(err)}",
                                "check email.smtp_security and the server; the message will be retried",
                                permanent=False) from None
        self._smtp = smtp
        self.connections_opened += 1

    def close(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            try:
                smtp.quit()
            except (OSError, smtplib.SMTPException):
                _quietly_close(smtp)

    def _xoauth2(self, smtp: smtplib.SMTP) -> None:
        """SASL XOAUTH2: ``user=<mailbox>^Aauth=Bearer <token>^A^A`` as the initial response.

        On failure the server first sends a 334 challenge carrying a JSON error;
        the client answers it with an empty line and then gets the final 535.
        """
        offered = str(smtp.esmtp_features.get("auth", "")).upper().split()
        if "XOAUTH2" not in offered:
            raise ConfigError(f"SMTP server {self._where} does not offer AUTH XOAUTH2 "
                              f"(offers: {' '.join(offered) or 'no AUTH'})",
                              "use smtp.office365.com:587 or smtp.gmail.com:587 with starttls, or smtp_auth = "
                              "\"password\"")
        bearer = self.tokens.token() if self.tokens is not None else ""
        initial = f"user={self.username}\x01auth=Bearer {bearer}\x01\x01"
        smtp.auth("XOAUTH2", lambda challenge=None: initial if challenge is None else "",
                  initial_response_ok=True)

    def login_check(self) -> str:
        """Connect, negotiate TLS, log in and quit: what ``doctor`` reports."""
        self.close()
        self.open()
        self.close()
        who = f" as {self.username}" if self.username else " (no login)"
        if self.tokens is not None:
            who += f" with an OAuth token ({self.tokens.label})"
        return f"SMTP {self._where} {self.security}: connected{who}"

    def _alive(self) -> bool:
        assert self._smtp is not None
        try:
            return self._smtp.noop()[0] == 250
        except (OSError, smtplib.SMTPException):
            return False

    def send(self, msg: EmailMessage) -> None:
        self._check_refused()
        if self._smtp is not None and not self._alive():
            _quietly_close(self._smtp)
            self._smtp = None  # the server dropped us between messages: reconnect once
        self.open()
        assert self._smtp is not None
        try:
            refused = self._smtp.send_message(msg)
        except smtplib.SMTPRecipientsRefused as err:
            codes = [code for code, _ in err.recipients.values()]
            detail = "; ".join(f"{rcpt}: {code} {_reply_text(text)}" for rcpt, (code, text) in err.recipients.items())
            raise DeliveryError(f"SMTP server {self._where} refused the recipient ({detail})",
                                "check the address in the ATS" if all(c >= 500 for c in codes)
                                else "the server asked to try later; it will be retried",
                                permanent=all(c >= 500 for c in codes)) from None
        except smtplib.SMTPResponseException as err:  # sender refused, data refused, ...
            permanent = err.smtp_code >= 500
            self._drop_if_unusable(err)
            raise DeliveryError(f"SMTP server {self._where} refused the message: "
                                f"{err.smtp_code} {_reply_text(err.smtp_error)}",
                                "check email.from and the message; alert a recruiter" if permanent
                                else "temporary server condition; it will be retried",
                                permanent=permanent) from None
        except smtplib.SMTPNotSupportedError as err:
            raise DeliveryError(f"SMTP server {self._where} cannot carry this message: {_describe(err)}",
                                "the address needs SMTPUTF8; ask the candidate for an ASCII address",
                                permanent=True) from None
        except (OSError, smtplib.SMTPException) as err:
            _quietly_close(self._smtp)
            self._smtp = None
            raise DeliveryError(f"SMTP connection to {self._where} failed while sending: {_describe(err)}",
                                "check the server and network; the message state is unknown",
                                permanent=False) from None
        if refused:
            codes = [code for code, _ in refused.values()]
            raise DeliveryError(f"SMTP server {self._where} refused {len(refused)} recipient(s): "
                                + "; ".join(f"{rcpt}: {code}" for rcpt, (code, _) in refused.items()),
                                "check those addresses in the ATS",
                                permanent=all(c >= 500 for c in codes))

    def _drop_if_unusable(self, err: smtplib.SMTPResponseException) -> None:
        if err.smtp_code in (421,) and self._smtp is not None:
            _quietly_close(self._smtp)
            self._smtp = None


def _describe(err: BaseException) -> str:
    if isinstance(err, smtplib.SMTPResponseException):
        return f"{err.smtp_code} {_reply_text(err.smtp_error)}"
    if isinstance(err, socket.timeout):
        return "timed out"
    return " ".join(str(err).split())[:200] or type(err).__name__


def _quietly_close(smtp: smtplib.SMTP) -> None:
    try:
        smtp.close()
    except OSError:
        pass
