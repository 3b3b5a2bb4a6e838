"""App-only OAuth access tokens for sending mail: Microsoft Entra (msal) and Google (google-auth).

Hospitals send from Microsoft 365 or Google Workspace, and both have ended (or
are ending) password logins for programs. A token source hands out a bearer
token that is cached and refreshed before it expires, so a poll that sends a
hundred messages asks the identity provider at most once. ``msal`` and
``google-auth`` are optional extras, imported only when configured.
"""

from __future__ import annotations

import hashlib
import json
import threading
from importlib import import_module
from pathlib import Path
from types import ModuleType
from typing import Any, Protocol, runtime_checkable
from urllib.parse import urlsplit

import requests

from interview_sync.config import EmailConfig, is_loopback
from interview_sync.errors import AuthRefused, ConfigError, DeliveryError

GRAPH_SCOPE = "https://graph.microsoft.com/.default"
EXCHANGE_SMTP_SCOPE = "https://outlook.office365.com/.default"
GOOGLE_MAIL_SCOPE = "https://mail.google.com/"
MICROSOFT_LOGIN = "https://login.microsoftonline.com"
GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"

_EXTRAS = {"msal": "microsoft", "google.oauth2.service_account": "google",
           "google.auth.transport.requests": "google", "google.auth.exceptions": "google"}


def require(module: str) -> ModuleType:
    """Import an optional dependency, or a one-line config error naming the extra to install."""
    try:
        return import_module(module)
    except ImportError:
        extra = _EXTRAS.get(module, module)
        raise ConfigError(f"{module} is not installed, and the [email] settings need it",
                          f"pip install 'interview-sync[{extra}]'") from None


@runtime_checkable
class TokenSource(Protocol):
    """A bearer token for one mailbox and one scope. ``forget`` drops a token the server refused."""

    @property
    def label(self) -> str: ...
    def token(self) -> str: ...
    def forget(self) -> None: ...


def _one_line(text: object, limit: int = 240) -> str:
    return " ".join(str(text).split())[:limit]


# --- Microsoft Entra ID (msal) -------------------------------------------------------------------

_APPS: dict[tuple[str, str, str], Any] = {}
_APPS_LOCK = threading.Lock()


class _LoopbackLogin(requests.Session):
    """Sends msal's requests for ``login.microsoftonline.com`` to a loopback sandbox instead.

    msal accepts only an https authority; the sandbox speaks plain http on
    127.0.0.1. This rewrites the origin of each request and of nothing else, so
    msal's own discovery and token requests still happen on the wire.
    """

    def __init__(self, loopback: str) -> None:
        super().__init__()
        self.loopback = loopback.rstrip("/")

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        text = url.decode() if isinstance(url, bytes) else url
        if text.startswith(MICROSOFT_LOGIN + "/"):
            text = self.loopback + text[len(MICROSOFT_LOGIN):]
        return super().request(method, text, *args, **kwargs)


def _is_loopback_http(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme == "http" and is_loopback(parts.hostname)


class MsalTokens:
    """Client-credentials tokens from Microsoft Entra ID through one msal app per process.

    msal keeps its own in-memory token cache and, since 1.23,
    ``acquire_token_for_client`` answers from it until shortly before expiry;
    keeping one ``ConfidentialClientApplication`` per (tenant, client, secret)
    for the life of the process is what makes that cache useful across polls.
    """

    def __init__(self, *, tenant_id: str, client_id: str, client_secret: str, scope: str,
                 authority_url: str = MICROSOFT_LOGIN, timeout: float = 30,
                 http_client: requests.Session | None = None) -> None:
        for key, value in (("tenant_id", tenant_id), ("client_id", client_id)):
            if not value.strip():
                raise ConfigError(f"email.{key} is empty, and Microsoft app-only sign-in needs it",
                                  f"set email.{key} from the app registration's Overview page")
        if not client_secret:
            raise ConfigError("email.client_secret is empty, and Microsoft app-only sign-in needs it",
                              "set INTERVIEW_SYNC_EMAIL__CLIENT_SECRET to the app registration's secret value")
        self.tenant_id, self.client_id, self.scope = tenant_id.strip(), client_id.strip(), scope
        self._secret = client_secret
        self.authority_url = authority_url.rstrip("/")
        self.timeout = timeout
        self._http = http_client

    def __repr__(self) -> str:
        return f"MsalTokens(tenant={self.tenant_id!r}, client={self.client_id!r}, scope={self.scope!r})"

    @property
    def label(self) -> str:
        return f"Microsoft Entra app {self.client_id}"

    def _app(self) -> Any:
        msal = require("msal")
        digest = hashlib.sha256(self._secret.encode()).hexdigest()
        key = (f"{self.authority_url}/{self.tenant_id}", self.client_id, digest)
        with _APPS_LOCK:
            app = _APPS.get(key)
            if app is None:
                http = self._http
                authority = f"{self.authority_url}/{self.tenant_id}"
                if _is_loopback_http(self.authority_url):
                    http, authority = _LoopbackLogin(self.authority_url), f"{MICROSOFT_LOGIN}/{self.tenant_id}"
                app = msal.ConfidentialClientApplication(
                    self.client_id, client_credential=self._secret, authority=authority,
                    http_client=http, timeout=self.timeout,
                    # Only login.microsoftonline.com-style authorities are configured here, so
                    # msal's extra instance-discovery round trip adds nothing.
                    instance_discovery=False)
                _APPS[key] = app
        return app

    def token(self) -> str:
        try:
            result = self._app().acquire_token_for_client(scopes=[self.scope])
        except ValueError as exc:  # msal: the tenant's OpenID configuration could not be read
            raise AuthRefused(f"Microsoft sign-in for tenant {self.tenant_id!r} failed: {_one_line(exc)}",
                              "check email.tenant_id (the Directory (tenant) ID)") from None
        except requests.RequestException as exc:
            raise DeliveryError(f"cannot reach Microsoft sign-in at {self.authority_url}: {type(exc).__name__}",
                                "check the network; the message will be retried", permanent=False) from None
        if result and result.get("access_token"):
            return str(result["access_token"])
        result = result or {}
        code = result.get("error", "no token")
        # Entra's description starts with an AADSTS code and a sentence, then trace ids.
        description = _one_line(str(result.get("error_description", "")).split("\n")[0], 200)
        raise AuthRefused(f"Microsoft refused the app-only token for {self.label} ({self.scope}): {code} "
                          f"{description}".rstrip(),
                          "check email.tenant_id, email.client_id, INTERVIEW_SYNC_EMAIL__CLIENT_SECRET and "
                          "that an admin granted consent to the app's permission")

    def forget(self) -> None:
        """Drop the cached token (the server refused it, e.g. after consent was revoked)."""
        app = _APPS.get((f"{self.authority_url}/{self.tenant_id}", self.client_id,
                         hashlib.sha256(self._secret.encode()).hexdigest()))
        if app is not None:
            app.remove_tokens_for_client()


# --- Google Workspace (google-auth, service account with domain-wide delegation) ----------------

_CREDENTIALS: dict[tuple[str, str, str], Any] = {}


class GoogleTokens:
    """Tokens for ``subject`` (the sending mailbox) from a service account with domain-wide delegation.

    google-auth signs a JWT with the account's private key and exchanges it at
    the key file's ``token_uri`` (the JWT bearer grant); ``Credentials.valid``
    turns false a few minutes before expiry, which is when we refresh.
    """

    def __init__(self, *, service_account_file: Path, subject: str, scope: str = GOOGLE_MAIL_SCOPE,
                 session: requests.Session | None = None) -> None:
        self.path = Path(service_account_file)
        self.subject, self.scope = subject, scope
        self._session = session

    @property
    def _key(self) -> tuple[str, str, str]:
        return (str(self.path), self.subject, self.scope)

    @property
    def _credentials(self) -> Any:
        # Kept per process, like msal's apps: a long-running process that builds a new
        # transport every cycle still asks Google once an hour, not once a cycle.
        return _CREDENTIALS.get(self._key)

    def __repr__(self) -> str:
        return f"GoogleTokens({self.path.name!r}, subject={self.subject!r}, scope={self.scope!r})"

    @property
    def label(self) -> str:
        return f"Google service account for {self.subject}"

    def _load(self) -> Any:
        service_account = require("google.oauth2.service_account")
        try:
            info = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"email.service_account_file {str(self.path)!r} does not exist",
                              "download the service account's JSON key and point email.service_account_file at it"
                              ) from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ConfigError(f"email.service_account_file {str(self.path)!r} cannot be read as JSON "
                              f"({type(exc).__name__})", "use the JSON key file exactly as Google issued it") from None
        try:
            return service_account.Credentials.from_service_account_info(
                info, scopes=[self.scope], subject=self.subject)
        except (ValueError, KeyError) as exc:
            raise ConfigError(f"email.service_account_file {str(self.path)!r} is not a service account key "
                              f"({_one_line(exc, 120)})", "use the JSON key of a service account "
                              "(type service_account)") from None

    def token(self) -> str:
        credentials = self._credentials
        if credentials is None:
            credentials = _CREDENTIALS[self._key] = self._load()
        if not credentials.valid:
            transport = require("google.auth.transport.requests")
            exceptions = require("google.auth.exceptions")
            try:
                credentials.refresh(transport.Request(self._session or requests.Session()))
            except exceptions.RefreshError as exc:
                raise AuthRefused(f"Google refused the token for {self.subject} ({self.scope}): "
                                  f"{_refresh_reason(exc)}",
                                  "in the Admin console, add the service account's client ID under domain-wide "
                                  "delegation with the scope https://mail.google.com/") from None
            except exceptions.TransportError as exc:
                raise DeliveryError(f"cannot reach Google's token endpoint: {_one_line(exc, 120)}",
                                    "check the network; the message will be retried", permanent=False) from None
        return str(credentials.token)

    def forget(self) -> None:
        _CREDENTIALS.pop(self._key, None)


def _refresh_reason(exc: BaseException) -> str:
    """The OAuth error and its description, never the signed assertion."""
    args = getattr(exc, "args", ())
    text = args[0] if args else str(exc)
    return _one_line(text, 200)


def email_tokens(mail: EmailConfig, scope_for_microsoft: str, mailbox: str) -> TokenSource:
    """The token source the ``[email]`` settings describe: Google when a key file is set, else Microsoft."""
    if mail.service_account_file:
        return GoogleTokens(service_account_file=Path(mail.service_account_file), subject=mailbox)
    return MsalTokens(tenant_id=mail.tenant_id, client_id=mail.client_id,
                      client_secret=mail.client_secret.get_secret_value(), scope=scope_for_microsoft,
                      authority_url=mail.authority_url)
