"""A real SMTP server for tests: aiosmtpd on 127.0.0.1, keeping what it receives."""

from __future__ import annotations

import email
import email.header
import email.policy
import re
import socket

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

HOST = "127.0.0.1"
PASSWORD = "pw-Sup3r-s3cret"


class Inbox:
    """An aiosmtpd handler keeping what it receives; it refuses mail to nobody@example.com."""

    def __init__(self) -> None:
        self.envelopes: list = []
        self.tls: list[bool] = []
        self.authenticated: list[bool] = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: ANN001
        if address == "nobody@example.com":
            return "550 5.1.1 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: ANN001
        self.envelopes.append(envelope)
        self.tls.append(server.transport.get_extra_info("ssl_object") is not None)
        self.authenticated.append(bool(session.authenticated))
        return "250 OK"

    def message(self, index: int = 0) -> email.message.EmailMessage:
        """Parse a received message with local (LF) line ends, as a mail client would."""
        wire = self.envelopes[index].original_content
        return email.message_from_bytes(wire.replace(b"\r\n", b"\n"), policy=email.policy.default)

    def subject(self, index: int = 0) -> str:
        """Return the Subject unfolded as RFC 5322 says (Python's parser keeps a fold's space)."""
        raw = self.envelopes[index].original_content.decode("ascii")
        unfolded = re.sub(r"\r\n(?=[ \t])", "", raw.split("\r\n\r\n")[0])
        (subject,) = re.findall(r"^Subject: ([^\r]*)", unfolded, re.MULTILINE)
        return str(email.header.make_header(email.header.decode_header(subject)))


def accept_dial(server, session, envelope, mechanism, auth_data):  # noqa: ANN001
    """Accept user `dial` with PASSWORD only."""
    ok = isinstance(auth_data, LoginPassword) and auth_data == (b"dial", PASSWORD.encode())
    return AuthResult(success=ok, handled=False)  # handled=False: the server answers 535


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


@pytest.fixture
def serve():
    """Start aiosmtpd servers on free ports: serve(**controller_options) -> (inbox, port)."""
    controllers = []

    def start(**options) -> tuple[Inbox, int]:
        inbox, port = Inbox(), free_port()
        controller = Controller(inbox, hostname=HOST, port=port, **options)
        controller.start()
        controllers.append(controller)
        return inbox, port

    yield start
    for controller in controllers:
        controller.stop()
