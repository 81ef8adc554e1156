"""A real SMTP server on loopback (aiosmtpd) for tests: every message the platform sends, as received.

    with local_smtp() as inbox:
        ...  # point the platform at inbox.url (the worklink_smtp connection)
        [(recipients, message)] = inbox.messages
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from email import message_from_bytes, policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller


class Inbox:
    def __init__(self, port: int):
        self.port = port
        self.messages: list[tuple[list[str], EmailMessage]] = []

    @property
    def url(self) -> str:
        """The Airflow connection URI of this server (``AIRFLOW_CONN_WORKLINK_SMTP``)."""
        return f"smtp://127.0.0.1:{self.port}?disable_ssl=true&disable_tls=true&timeout=10"

    def settle(self, seconds: float = 0.3) -> None:
        """Give the server time to finish handing over the last message."""
        time.sleep(seconds)

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.messages.append((list(envelope.rcpt_tos),
                              message_from_bytes(envelope.content, policy=policy.default)))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def local_smtp() -> Iterator[Inbox]:
    inbox = Inbox(free_port())
    controller = Controller(inbox, hostname="127.0.0.1", port=inbox.port)
    controller.start()
    try:
        yield inbox
    finally:
        controller.stop()
