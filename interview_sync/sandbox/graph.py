"""A Microsoft 365 mail flavour: Entra ID client-credentials tokens and Graph mail.

Enough of the wire format for the tool's Graph transport (through msal) and a
mailbox reader: the tenant's OpenID configuration and token endpoint,
``POST /v1.0/users/{id}/sendMail`` with a base64 MIME body, and
``GET /v1.0/users/{id}/messages`` or ``.../mailFolders/inbox/messages`` (plus
``/messages/{id}/$value``) over the mail that arrived. Sent mail is delivered to
every recipient's sandbox mailbox and kept in the sender's ``sentitems``.
Mounted on every sandbox: its paths (``/{tenant}/oauth2/...``, ``/v1.0/...``)
clash with no other flavour.
"""

from __future__ import annotations

import base64
import binascii
import email
import secrets
from datetime import timedelta
from email import policy
from email.utils import getaddresses
from functools import partial
from typing import Any

from ..clock import iso, parse_instant
from .common import bearer_token, mount_routes
from .server import Handler, Request, Response, SandboxApp, World

TENANT = "sandbox-tenant"
CLIENT_ID = "sandbox-mail-app"
CLIENT_SECRET = "sandbox-mail-secret"
GRAPH_SCOPE = "https://graph.microsoft.com/.default"
TOKEN_SECONDS = 3599
LOGIN = "https://login.microsoftonline.com"


def _graph_error(status: int, code: str, message: str) -> Response:
    return Response(status, {"error": {"code": code, "message": message}})


def _entra_error(status: int, error: str, aadsts: str) -> Response:
    return Response(status, {"error": error, "error_description": aadsts, "error_codes": [int(aadsts[6:13])]})


def _address(value: str) -> dict[str, Any]:
    name, addr = getaddresses([value])[0] if value else ("", "")
    return {"emailAddress": {"name": name or addr, "address": addr}}


def state(world: Any) -> dict[str, Any]:
    """The flavour's state; ``mailbox_scope`` (None: any mailbox) mimics an Exchange RBAC scope."""
    return world.data.setdefault("graph", {
        "apps": {CLIENT_ID: {"secret": CLIENT_SECRET, "tenant": TENANT}},
        "mailbox_scope": None,
        "tokens": {},
        "token_requests": 0,
        "mailboxes": {},
        "next_id": 1,
    })


def deliver(world: Any, mailbox: str, raw: bytes, folder: str = "inbox") -> dict[str, Any]:
    """Put one RFC 5322 message into ``mailbox`` (a bounce, a reply ...) as Graph would list it."""
    with world.lock:
        graph = state(world)
        parsed = email.message_from_bytes(raw, policy=policy.default)
        record = {
            "id": f"AAMk{graph['next_id']:08d}",
            "internetMessageId": str(parsed.get("Message-ID", "")),
            "subject": str(parsed.get("Subject", "")),
            "from": _address(str(parsed.get("From", ""))),
            "toRecipients": [_address(f"{n} <{a}>") for n, a in getaddresses([str(v) for v in
                                                                              parsed.get_all("To", [])])],
            "receivedDateTime": iso(world.now()),
            "parentFolderId": folder,
            "mime": raw,
        }
        graph["next_id"] += 1
        graph["mailboxes"].setdefault(mailbox.casefold(), []).append(record)
        return record


def _listed(record: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in record.items() if key != "mime"}


def _refusal(world: World, request: Request) -> Response | None:
    """None when the token is valid for Graph and the path's mailbox is inside the app's mailbox scope."""
    user = request.params["user"]
    token = bearer_token(request.headers.get("authorization", "")) or ""
    graph = state(world)
    issued = graph["tokens"].get(token)
    if issued is None or issued["expires"] <= world.now():
        return _graph_error(401, "InvalidAuthenticationToken", "Access token has expired or is not yet valid.")
    if issued["scope"] != GRAPH_SCOPE:
        return _graph_error(401, "InvalidAuthenticationToken", "Invalid audience.")
    scope = graph["mailbox_scope"]
    if scope is not None and user.casefold() not in {m.casefold() for m in scope}:
        return _graph_error(403, "ErrorAccessDenied", "Access is denied. Check credentials and try again.")
    return None


def _authorised(world: World, handler: Handler) -> Handler:
    """Run ``handler`` only for a valid token that may use the path's mailbox."""

    def run(request: Request) -> Response:
        return _refusal(world, request) or handler(request)

    return run


def openid_configuration(world: World, request: Request) -> Response:
    # The endpoints Entra itself would name: msal accepts only https ones, and the tool's
    # loopback session (mail/oauth.py) maps login.microsoftonline.com back to this server.
    tenant = request.params["tenant"]
    base = f"{LOGIN}/{tenant}"
    return Response(200, {"token_endpoint": f"{base}/oauth2/v2.0/token",
                          "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                          "issuer": f"{base}/v2.0",
                          "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt"]})


def issue_token(world: World, request: Request) -> Response:
    form = request.form()
    graph = state(world)
    with world.lock:
        graph["token_requests"] += 1
    if form.get("grant_type") != "client_credentials":
        return _entra_error(400, "unsupported_grant_type", "AADSTS7000218: grant_type must be client_credentials.")
    app_entry = graph["apps"].get(form.get("client_id", ""))
    if app_entry is None or app_entry["tenant"] != request.params["tenant"]:
        return _entra_error(400, "unauthorized_client", "AADSTS700016: Application not found in the directory.")
    if form.get("client_secret") != app_entry["secret"]:
        return _entra_error(401, "invalid_client", "AADSTS7000215: Invalid client secret provided.")
    scope = form.get("scope", "")
    if not scope.endswith("/.default"):
        return _entra_error(400, "invalid_scope", "AADSTS1002012: The provided value for scope is not valid.")
    access = secrets.token_urlsafe(24)
    with world.lock:
        graph["tokens"][access] = {"scope": scope, "client": form["client_id"],
                                   "expires": world.now() + timedelta(seconds=TOKEN_SECONDS)}
    return Response(200, {"token_type": "Bearer", "expires_in": TOKEN_SECONDS, "ext_expires_in": TOKEN_SECONDS,
                          "access_token": access})


def send_mail(world: World, request: Request) -> Response:
    if not request.headers.get("content-type", "").startswith("text/plain"):
        return _graph_error(400, "RequestBodyRead", "the sandbox accepts sendMail in MIME format only "
                            "(Content-Type: text/plain, base64 body)")
    try:
        raw = base64.b64decode(request.body, validate=True)
    except (binascii.Error, ValueError):
        return _graph_error(400, "ErrorMimeContentInvalidBase64String", "Invalid base64 string for MIME content.")
    parsed = email.message_from_bytes(raw, policy=policy.default)
    recipients = [addr for _, addr in getaddresses([str(v) for field in ("To", "Cc", "Bcc")
                                                    for v in parsed.get_all(field, [])]) if addr]
    if not recipients:
        return _graph_error(400, "ErrorInvalidRecipients", "At least one recipient is not valid.")
    deliver(world, request.params["user"], raw, folder="sentitems")
    for recipient in recipients:
        deliver(world, recipient, raw)
    return Response(202, b"")


def list_messages(world: World, request: Request) -> Response:
    user = request.params["user"]
    top = min(int(request.arg("$top", "10") or 10), 1000)
    skip = int(request.arg("$skip", "0") or 0)
    since = request.arg("$filter", "") or ""
    with world.lock:
        records = [r for r in state(world)["mailboxes"].get(user.casefold(), []) if r["parentFolderId"] == "inbox"]
    if since.startswith("receivedDateTime ge "):
        bound = parse_instant(since.removeprefix("receivedDateTime ge "))
        records = [r for r in records if parse_instant(r["receivedDateTime"]) >= bound]
    page = records[skip:skip + top]
    body: dict[str, Any] = {"value": [_listed(r) for r in page]}
    if skip + top < len(records):
        query = f"$top={top}&$skip={skip + top}" + (f"&$filter={since}" if since else "")
        body["@odata.nextLink"] = f"{request.base_url}/v1.0/users/{user}/messages?{query}"
    return Response(200, body)


def list_folder_messages(world: World, request: Request) -> Response:
    """The inbox by its well-known name, as the mailbox reader asks for it."""
    if request.params["folder"].casefold() != "inbox":
        return _graph_error(404, "ErrorFolderNotFound", "The specified folder could not be found in the store.")
    return list_messages(world, request)


def message_mime(world: World, request: Request) -> Response:
    if request.params["part"] != "$value":
        return _graph_error(400, "BadRequest", f"unsupported segment {request.params['part']!r}")
    with world.lock:
        for record in state(world)["mailboxes"].get(request.params["user"].casefold(), []):
            if record["id"] == request.params["message"]:
                return Response(200, record["mime"], content_type="text/plain")
    return _graph_error(404, "ErrorItemNotFound", "The specified object was not found in the store.")


def admin_deliver(world: World, request: Request) -> Response:
    """Drop a raw message (a DSN, a reply) into ``?mailbox=``'s inbox."""
    mailbox = request.arg("mailbox") or ""
    if "@" not in mailbox:
        return Response(400, {"message": "give ?mailbox=user@example.org and the raw message as the body"})
    return Response(201, _listed(deliver(world, mailbox, request.body)))


def mount(app: SandboxApp) -> None:
    world = app.world
    api = partial(_authorised, world)
    mount_routes(app, [
        ("GET", "/{tenant}/v2.0/.well-known/openid-configuration", partial(openid_configuration, world)),
        ("POST", "/{tenant}/oauth2/v2.0/token", partial(issue_token, world)),
        ("POST", "/v1.0/users/{user}/sendMail", api(partial(send_mail, world))),
        ("GET", "/v1.0/users/{user}/messages", api(partial(list_messages, world))),
        ("GET", "/v1.0/users/{user}/mailFolders/{folder}/messages", api(partial(list_folder_messages, world))),
        # the router reads "$" as regex, so "$value" is matched as a {part}
        ("GET", "/v1.0/users/{user}/messages/{message}/{part}", api(partial(message_mime, world))),
        ("POST", "/_admin/graph/deliver", partial(admin_deliver, world)),
    ])
