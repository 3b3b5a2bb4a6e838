"""A small IMAP4rev1 server for tests: the subset a mailbox reader speaks, over a real socket.

No pure-Python IMAP server on PyPI is both maintained and usable in-process
without an asyncio stack of its own, so the tests speak to this one: a
threaded TCP server on loopback answering CAPABILITY, LOGIN, AUTHENTICATE
XOAUTH2 (RFC 7628-style SASL, as Microsoft and Google define it), SELECT /
EXAMINE (with UIDVALIDITY), UID SEARCH (ALL, SINCE, UID ranges with RFC 3501's
``n:*`` rule), UID FETCH (RFC822.SIZE, BODY.PEEK[]), NOOP and LOGOUT. It
records every command so a test can prove the reader never writes (no STORE,
no EXPUNGE, no non-PEEK fetch).
"""

from __future__ import annotations

import base64
import re
import socketserver
import threading
from dataclasses import dataclass, field
from datetime import date, datetime


@dataclass
class StoredMessage:
    uid: int
    raw: bytes
    internal_date: date


@dataclass
class Mailbox:
    username: str = "talent@example.org"
    password: str = "imap-password"
    token: str = "imap-token"
    issued: set[str] = field(default_factory=set)  # further tokens accepted (an identity provider's fake issues them)
    uidvalidity: int = 7001
    messages: list[StoredMessage] = field(default_factory=list)
    next_uid: int = 1
    commands: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, raw: bytes, when: datetime) -> int:
        with self.lock:
            uid = self.next_uid
            self.messages.append(StoredMessage(uid, raw, when.date()))
            self.next_uid += 1
            return uid

    def renumber(self) -> None:
        """What a rebuilt mailbox does: new UIDVALIDITY, every UID reassigned."""
        with self.lock:
            self.uidvalidity += 1
            for index, message in enumerate(self.messages, start=1):
                message.uid = index
            self.next_uid = len(self.messages) + 1


_MONTHS = {m: i for i, m in enumerate(("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep",
                                        "Oct", "Nov", "Dec"), start=1)}


def _uid_set(text: str, highest: int) -> set[int] | tuple[int, None]:
    wanted: set[int] = set()
    for item in text.split(","):
        lo, _, hi = item.partition(":")
        if hi == "*":
            return (int(lo), None)
        start = int(lo)
        end = int(hi) if hi else start
        wanted.update(range(min(start, end), max(start, end) + 1))
    return wanted


class _Handler(socketserver.StreamRequestHandler):
    server: "_Server"

    def send(self, line: str | bytes) -> None:
        data = line if isinstance(line, bytes) else line.encode()
        self.wfile.write(data + b"\r\n")

    def handle(self) -> None:
        box = self.server.mailbox
        self.send("* OK [CAPABILITY IMAP4rev1 AUTH=XOAUTH2] test IMAP server ready")
        authed = False
        selected = False
        while True:
            line = self.rfile.readline()
            if not line:
                return
            text = line.decode("utf-8", "replace").rstrip("\r\n")
            tag, _, rest = text.partition(" ")
            command, _, args = rest.partition(" ")
            command = command.upper()
            if command == "UID":
                sub, _, args = args.partition(" ")
                command = "UID " + sub.upper()
            box.commands.append(command if command not in ("LOGIN",) else "LOGIN")
            if command == "CAPABILITY":
                self.send("* CAPABILITY IMAP4rev1 AUTH=XOAUTH2")
                self.send(f"{tag} OK CAPABILITY completed")
            elif command == "NOOP":
                self.send(f"{tag} OK NOOP completed")
            elif command == "LOGOUT":
                self.send("* BYE logging out")
                self.send(f"{tag} OK LOGOUT completed")
                return
            elif command == "LOGIN":
                user, password = [p.strip('"') for p in re.findall(r'"(?:[^"\\]|\\.)*"|\S+', args)[:2]]
                authed = user == box.username and password == box.password
                self.send(f"{tag} OK LOGIN completed" if authed else f"{tag} NO [AUTHENTICATIONFAILED] Invalid")
            elif command == "AUTHENTICATE" and args.upper().startswith("XOAUTH2"):
                self.send("+ ")
                answer = base64.b64decode(self.rfile.readline().strip() or b"").decode("utf-8", "replace")
                fields = dict(part.split("=", 1) for part in answer.split("\x01") if "=" in part)
                bearer = fields.get("auth", "").removeprefix("Bearer ")
                authed = fields.get("user") == box.username and (bearer == box.token or bearer in box.issued)
                self.send(f"{tag} OK AUTHENTICATE completed" if authed
                          else f"{tag} NO [AUTHENTICATIONFAILED] Invalid token")
            elif not authed:
                self.send(f"{tag} BAD not authenticated")
            elif command in ("SELECT", "EXAMINE"):
                selected = args.strip().strip('"').upper() == "INBOX"
                if not selected:
                    self.send(f"{tag} NO no such mailbox")
                    continue
                with box.lock:
                    self.send(f"* {len(box.messages)} EXISTS")
                    self.send("* FLAGS (\\Seen \\Answered \\Flagged \\Deleted \\Draft)")
                    self.send(f"* OK [UIDVALIDITY {box.uidvalidity}] UIDs valid")
                    self.send(f"* OK [UIDNEXT {box.next_uid}] next UID")
                self.send(f"{tag} OK [READ-ONLY] {command} completed")
            elif not selected:
                self.send(f"{tag} BAD no mailbox selected")
            elif command == "UID SEARCH":
                self.send("* SEARCH " + " ".join(str(uid) for uid in self._search(args)))
                self.send(f"{tag} OK SEARCH completed")
            elif command == "UID FETCH":
                self._fetch(tag, args)
            else:
                self.send(f"{tag} BAD command not supported here: {command}")

    def _search(self, args: str) -> list[int]:
        box = self.server.mailbox
        words = args.replace("(", " ").replace(")", " ").split()
        with box.lock:
            found = list(box.messages)
        i = 0
        while i < len(words):
            word = words[i].upper()
            if word == "ALL":
                i += 1
            elif word == "SINCE":
                day, month, year = words[i + 1].strip('"').split("-")
                bound = date(int(year), _MONTHS[month], int(day))
                found = [m for m in found if m.internal_date >= bound]
                i += 2
            elif word == "UID":
                wanted = _uid_set(words[i + 1], box.next_uid - 1)
                if isinstance(wanted, tuple):
                    above = [m for m in found if m.uid >= wanted[0]]
                    found = above or found[-1:]  # RFC 3501: "n:*" always includes the highest UID
                else:
                    found = [m for m in found if m.uid in wanted]
                i += 2
            else:
                i += 1
        return [m.uid for m in found]

    def _fetch(self, tag: str, args: str) -> None:
        box = self.server.mailbox
        uid_text, _, items = args.partition(" ")
        wanted = _uid_set(uid_text, box.next_uid - 1)
        with box.lock:
            messages = list(enumerate(box.messages, start=1))
        for seq, message in messages:
            if isinstance(wanted, tuple):
                if message.uid < wanted[0]:
                    continue
            elif message.uid not in wanted:
                continue
            upper = items.upper()
            if "BODY.PEEK[]" in upper or "BODY[]" in upper:
                self.wfile.write(f"* {seq} FETCH (UID {message.uid} BODY[] {{{len(message.raw)}}}\r\n".encode()
                                 + message.raw + b")\r\n")
            else:
                self.send(f"* {seq} FETCH (UID {message.uid} RFC822.SIZE {len(message.raw)})")
        self.send(f"{tag} OK FETCH completed")


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, mailbox: Mailbox) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.mailbox = mailbox


class ImapServer:
    """``with ImapServer() as server:`` → ``server.port``, ``server.mailbox``."""

    def __init__(self, mailbox: Mailbox | None = None) -> None:
        self.mailbox = mailbox or Mailbox()
        self._server = _Server(self.mailbox)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> "ImapServer":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
