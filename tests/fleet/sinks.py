"""Real local receivers for notifications: a minimal SMTP server and a webhook endpoint."""

from __future__ import annotations

import email
import json
import socketserver
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Inbox:
    """What a sink received, shared with its handler threads."""

    items: list[Any] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, item: Any) -> None:
        with self.lock:
            self.items.append(item)

    def snapshot(self) -> list[Any]:
        with self.lock:
            return list(self.items)


class _SmtpHandler(socketserver.StreamRequestHandler):
    """Enough of RFC 5321 for smtplib: HELO/EHLO, MAIL, RCPT, DATA, RSET, NOOP, QUIT."""

    server: _SmtpServer

    def _reply(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")
        self.wfile.flush()

    def handle(self) -> None:
        self._reply("220 test-sink ESMTP")
        while True:
            raw = self.rfile.readline()
            if not raw:
                return
            verb = raw.decode(errors="replace").strip().split(" ", 1)[0].upper()
            if verb in ("EHLO", "HELO"):
                self._reply("250 test-sink")
            elif verb in ("MAIL", "RCPT", "RSET", "NOOP"):
                self._reply("250 OK")
            elif verb == "DATA":
                self._reply("354 End data with <CR><LF>.<CR><LF>")
                lines: list[bytes] = []
                while True:
                    line = self.rfile.readline()
                    if line in (b".\r\n", b".\n", b""):
                        break
                    lines.append(line[1:] if line.startswith(b"..") else line)
                self.server.inbox.add(email.message_from_bytes(b"".join(lines)))
                self._reply("250 OK queued")
            elif verb == "QUIT":
                self._reply("221 Bye")
                return
            else:
                self._reply("502 Command not implemented")


class _SmtpServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    inbox: Inbox


@dataclass
class Sink:
    port: int
    inbox: Inbox

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def received(self) -> list[Any]:
        return self.inbox.snapshot()


@contextmanager
def _serving(server: _SmtpServer | _WebhookServer) -> Iterator[Sink]:
    """``server`` answering in a thread, with an empty inbox, until the block ends."""
    server.inbox = Inbox()
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield Sink(server.server_address[1], server.inbox)
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def smtp_sink() -> Iterator[Sink]:
    """An SMTP server on a free local port; ``received()`` gives the parsed messages."""
    with _serving(_SmtpServer(("127.0.0.1", 0), _SmtpHandler)) as sink:
        yield sink


class _WebhookHandler(BaseHTTPRequestHandler):
    server: _WebhookServer

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.server.inbox.add(json.loads(body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the test says what it needs."""


class _WebhookServer(ThreadingHTTPServer):
    daemon_threads = True
    inbox: Inbox


@contextmanager
def webhook_sink() -> Iterator[Sink]:
    """An HTTP server on a free local port that keeps every JSON body POSTed to it."""
    with _serving(_WebhookServer(("127.0.0.1", 0), _WebhookHandler)) as sink:
        yield sink


def subjects(messages: list[Message]) -> list[str]:
    return [str(message["Subject"]) for message in messages]
