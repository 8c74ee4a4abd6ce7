"""A real SMTP server in the test process (aiosmtpd): what the site sends is
delivered over a socket and read back as parsed email messages.

``fail_next(n, reply)`` makes the next n deliveries answer ``reply`` at DATA (e.g.
"451 4.3.0 try again later"), for the retry tests.
"""

from __future__ import annotations

import email
import email.policy
import re
import threading
import time
from email.message import EmailMessage

from aiosmtpd.controller import Controller

from tests.localstack import free_port


class _Handler:
    def __init__(self, inbox: Inbox):
        self.inbox = inbox

    async def handle_DATA(self, server, session, envelope):
        with self.inbox.lock:
            if self.inbox.failures:
                self.inbox.failures -= 1
                self.inbox.refused += 1
                return self.inbox.failure_reply
            message = email.message_from_bytes(
                envelope.original_content, policy=email.policy.default
            )
            self.inbox.messages.append(message)
        return "250 Message accepted for delivery"


class Inbox:
    def __init__(self):
        self.messages: list[EmailMessage] = []
        self.lock = threading.Lock()
        self.failures = 0
        self.refused = 0
        self.failure_reply = "451 4.3.0 try again later"
        self.port = free_port()
        self.controller = Controller(
            _Handler(self), hostname="127.0.0.1", port=self.port
        )

    def start(self) -> Inbox:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    def clear(self) -> None:
        with self.lock:
            self.messages.clear()
            self.failures = self.refused = 0

    def fail_next(self, n: int, reply: str = "451 4.3.0 try again later") -> None:
        with self.lock:
            self.failures, self.failure_reply = n, reply

    def wait(self, count: int = 1, timeout: float = 60) -> list[EmailMessage]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.messages) >= count:
                    return list(self.messages)
            time.sleep(0.1)
        raise AssertionError(
            f"{len(self.messages)} message(s) delivered within {timeout} s, "
            f"expected {count}"
        )


def parts(message: EmailMessage) -> tuple[str, str]:
    """(plain text, HTML) of a delivered message."""
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    return text, html


def link(text: str, path_part: str) -> str:
    """The first absolute link in ``text`` whose path contains ``path_part``."""
    for url in re.findall(r"https?://[^\s<>\"]+", text):
        if path_part in url:
            return url
    raise AssertionError(f"no link with {path_part!r} in:\n{text}")
