"""``[mailbox]`` → a :class:`~interview_sync.mailbox.base.MailboxReader` (or None for ``provider = "none"``).

Kept apart from the package's ``__init__`` so that the pure planning code can
import the mailbox flows without loading HTTP or IMAP clients.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from interview_sync.clock import Clock
from interview_sync.config import Settings, microsoft_app, uses_google
from interview_sync.http import VendorSession
from interview_sync.mail.message import parse_mailbox
from interview_sync.mailbox.base import MailboxReader
from interview_sync.mailbox.tokens import ClientCredentials


def build_reader(settings: Settings, clock: Clock) -> MailboxReader | None:
    box = settings.mailbox
    if box.provider == "none":
        return None
    address = box.mailbox or box.username or parse_mailbox(settings.email.from_, "email.from").addr_spec
    lookback = timedelta(hours=box.lookback_hours)

    tenant_id, client_id, client_secret = microsoft_app(settings)

    def microsoft_tokens(scope: str) -> ClientCredentials:
        return ClientCredentials(session=VendorSession("entra"), authority_url=box.authority_url, tenant_id=tenant_id,
                                 client_id=client_id, client_secret=client_secret, scope=scope, clock=clock)

    if box.provider == "graph":
        from interview_sync.mailbox.graph import GraphReader
        from interview_sync.mailbox.tokens import GRAPH_SCOPE

        return GraphReader(session=VendorSession("graph"), graph_url=box.graph_url, mailbox=address,
                           tokens=microsoft_tokens(GRAPH_SCOPE), overlap=timedelta(minutes=box.overlap_minutes),
                           lookback=lookback, max_messages=box.max_messages)
    from interview_sync.mailbox.imap import ImapReader
    from interview_sync.mailbox.tokens import EXCHANGE_IMAP_SCOPE

    username = box.username or address
    if box.auth == "xoauth2":
        if uses_google(settings):
            from interview_sync.mail.oauth import GoogleTokens  # the sending half's token source

            token = GoogleTokens(service_account_file=Path(settings.email.service_account_file or ""),
                                 subject=username).token
        else:
            token = microsoft_tokens(EXCHANGE_IMAP_SCOPE)
        return ImapReader(host=box.host, port=box.port, username=username, token=token, folder=box.folder,
                          security=box.security, lookback=lookback, max_messages=box.max_messages)
    return ImapReader(host=box.host, port=box.port, username=username, password=box.password.get_secret_value(),
                      folder=box.folder, security=box.security, lookback=lookback, max_messages=box.max_messages)
