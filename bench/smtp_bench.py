"""SMTP benchmark: messages per second through SmtpTransport to a local aiosmtpd.

One poll's messages go over one connection (the transport probes it with
NOOP between messages and reconnects only if the server dropped it). The
bench prints messages/s and how many connections the server saw, next to a
connection-per-message baseline (at most 100 messages: it is slow) for comparison.

    python bench/smtp_bench.py                 # 1,000 messages
    python bench/smtp_bench.py --messages 200
"""

from __future__ import annotations

import argparse
import socket
import sys
import time
from datetime import datetime, timezone
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout without installing

from interview_sync.mail.message import build_message, make_message_id  # noqa: E402
from interview_sync.mail.render import Rendered  # noqa: E402
from interview_sync.mail.transport import SmtpTransport  # noqa: E402


class CountingHandler:
    """Counts delivered messages and the distinct SMTP sessions that carried them."""

    def __init__(self) -> None:
        self.messages = 0
        self.sessions: set[Any] = set()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages += 1
        self.sessions.add(session.peer)  # (host, client port): one per TCP connection
        return "250 Message accepted for delivery"


def message(index: int) -> EmailMessage:
    rendered = Rendered(subject=f"Interview with Mercy Valley Health ({index})",
                         text="Dear Zoë,\n\nPlease pick a time: https://calendly.example/d/abc\n" * 5,
                         html="<p>Dear Zoë,</p><p>Please pick a time.</p>" * 5, kind="invite")
    return build_message(sender="Mercy Valley Talent Team <talent@mercyvalley.example>", to_name="Zoë O'Brien",
                         to_email=f"candidate{index}@example.org", rendered=rendered,
                         message_id=make_message_id(f"is-{index}", f"k{index}", "mercyvalley.example"),
                         reply_to=None, headers={"X-Interview-Sync-Kind": "invite"}, attachments=[],
                         date=datetime(2026, 11, 30, 16, tzinfo=timezone.utc))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run(n: int, reuse: bool) -> tuple[float, int, int, int]:
    handler = CountingHandler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        messages = [message(i) for i in range(n)]
        opened = 0
        start = time.perf_counter()
        if reuse:
            with SmtpTransport("127.0.0.1", port, "none", None, None) as transport:
                for msg in messages:
                    transport.send(msg)
                opened = transport.connections_opened
        else:
            for msg in messages:
                with SmtpTransport("127.0.0.1", port, "none", None, None) as transport:
                    transport.send(msg)
                    opened += transport.connections_opened
        elapsed = time.perf_counter() - start
    finally:
        controller.stop()
    return elapsed, handler.messages, len(handler.sessions), opened


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=1000)
    args = parser.parse_args()
    print(f"{'mode':<32} {'messages':>8} {'seconds':>8} {'msg/s':>8} {'server sessions':>15} {'opened':>7}")
    for label, reuse, count in (("SmtpTransport, one connection", True, args.messages),
                                ("baseline: connection per message", False, min(args.messages, 100))):
        elapsed, delivered, sessions, opened = run(count, reuse)
        print(f"{label:<32} {delivered:>8} {elapsed:>8.2f} {delivered / elapsed:>8.0f} {sessions:>15} {opened:>7}")


if __name__ == "__main__":
    main()
