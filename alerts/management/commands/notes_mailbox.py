"""A local SMTP server for the demo: every email the site sends is kept as an .eml
file (open it in any mail app) instead of leaving the machine.

    manage.py notes_mailbox --port 8025 --dir var/mail

Point the site at it with EMAIL_HOST=127.0.0.1 EMAIL_PORT=8025 (scripts/demo.sh does);
for a real relay, see README "Commute notes".
"""

from __future__ import annotations

import signal
import threading
import time
from email import message_from_bytes, policy
from pathlib import Path

from aiosmtpd.controller import Controller
from django.core.management.base import BaseCommand


class SaveToFolder:
    def __init__(self, folder: Path, say=None):
        self.folder = folder
        self.say = say or (lambda text: None)
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        message = message_from_bytes(envelope.original_content, policy=policy.default)
        with self.lock:
            name = f"{time.strftime('%Y%m%d-%H%M%S')}-{time.monotonic_ns()}.eml"
            (self.folder / name).write_bytes(envelope.original_content)
        self.say(f"{name}: {message['To']}: {message['Subject']}")
        return "250 Message accepted for delivery"


def serve(port: int, folder: Path, say=None) -> Controller:
    folder.mkdir(parents=True, exist_ok=True)
    controller = Controller(SaveToFolder(folder, say), hostname="127.0.0.1", port=port)
    controller.start()
    return controller


class Command(BaseCommand):
    help = "Run a local SMTP server that keeps every email as an .eml file (demo)."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=8025)
        parser.add_argument("--dir", default="var/mail")

    def handle(self, *args, port: int, dir: str, **options):
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        controller = serve(port, Path(dir), self.stdout.write)
        self.stdout.write(f"SMTP on 127.0.0.1:{port}, emails kept in {dir}/")
        try:
            stop.wait()
        except KeyboardInterrupt:
            pass
        finally:
            controller.stop()
