"""The editorial mailbox of an upward platform (aiosmtpd on loopback, after `start_smtp()`):
a mail with the package attached and the key in `X-Sanshen-Key` is filed like an API
submission, under the same fault knobs."""

from __future__ import annotations

import asyncio
import email
import email.policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP as SMTPServer
from aiosmtpd.smtp import Envelope, Session

from channels.simulators.faults import FaultConfig, FaultKind
from channels.simulators.upward.desk import UpwardDesk
from channels.simulators.upward.records import Refused
from channels.upward import KEY_HEADER


class EditorialMailbox(UpwardDesk):
    """The desk's mailbox: open it, point the adapter at it, file what arrives."""

    def __init__(self, faults: FaultConfig | None = None) -> None:
        super().__init__(faults)
        self._smtp: Controller | None = None

    @property
    def smtp_port(self) -> int | None:
        return self._smtp.port if self._smtp is not None else None

    def start_smtp(self) -> int:
        """Open the mailbox on 127.0.0.1 at a free port; returns the port."""
        if self._smtp is None:
            limit = self.limits.max_package_bytes * 2
            self._smtp = _LoopbackController(
                _Mailbox(self), hostname="127.0.0.1", port=0, data_size_limit=limit
            )
            self._smtp.start()
        return self._smtp.port

    def stop_smtp(self) -> None:
        if self._smtp is not None:
            self._smtp.stop()
            self._smtp = None

    def mail_settings(self) -> dict[str, Any]:
        """Adapter settings for delivery by mail to this simulator's mailbox (if it is open)."""
        if self._smtp is None:
            return {}
        return {
            "smtp_host": "127.0.0.1",
            "smtp_port": self._smtp.port,
            "smtp_security": "none",
            "smtp_timeout": 5.0,
            "mail_from": self.mail_from,
            "mail_to": self.editorial_address,
        }

    def receive_mail(self, raw: bytes) -> str:
        """File one mail; the SMTP reply line (ASCII, as SMTP wants)."""
        message = email.message_from_bytes(raw, _class=EmailMessage, policy=email.policy.default)
        key = str(message.get(KEY_HEADER, "")).strip()
        if not key:
            return f"550 5.6.0 Missing {KEY_HEADER} header"
        zips = [
            part.get_content()
            for part in message.iter_attachments()
            if part.get_content_type() == "application/zip"
        ]
        if len(zips) != 1:
            return "554 5.6.0 Exactly one zip package expected"
        try:
            package = self.verify_package(zips[0], key)
        except Refused as refused:
            self.note(
                "refused", via="email", refusal=refused.refusal.value, message=refused.message
            )
            return f"554 5.6.0 Package refused: {refused.refusal.value}"
        subject = str(message.get("Subject", ""))
        submission, _ = self.file(key, package, via="email", subject=subject)
        return f"250 2.0.0 Filed as {submission.id}"


class _LoopbackController(Controller):
    """aiosmtpd's Controller, but `port=0` picks a free port (it probes the port it binds)."""

    def _trigger_server(self) -> None:
        server: Any = self.server
        self.port = server.sockets[0].getsockname()[1]
        super()._trigger_server()  # type: ignore[no-untyped-call]


_SMTP_FAULT_REPLIES = {
    FaultKind.SERVER_ERROR: "421 4.3.2 Service not available, try again later",
    FaultKind.RATE_LIMIT: "450 4.7.1 Too many submissions, try again later",
    FaultKind.CONTENT_REJECTED: "554 5.7.1 Content rejected by the editorial desk",
}


class _Mailbox:
    """aiosmtpd handler: only the editorial address, and the simulator's fault knobs."""

    def __init__(self, simulator: EditorialMailbox) -> None:
        self._sim = simulator

    async def handle_RCPT(
        self,
        server: SMTPServer,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if address.lower() != self._sim.editorial_address.lower():
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTPServer, session: Session, envelope: Envelope) -> str:
        config = self._sim.faults.config
        if config.latency_ms:
            await asyncio.sleep(config.latency_ms / 1000)
        kind = self._sim.faults.draw()
        if kind is FaultKind.TIMEOUT:
            await asyncio.sleep(config.hang_s)
        elif kind is FaultKind.RESET:
            return self._cut(server)
        elif kind in _SMTP_FAULT_REPLIES:
            return _SMTP_FAULT_REPLIES[kind]
        content = envelope.original_content or envelope.content or b""
        raw = content if isinstance(content, bytes) else content.encode()
        reply = await asyncio.to_thread(self._sim.receive_mail, raw)
        if reply.startswith("250") and self._sim.faults.drop_reply():
            return self._cut(server)
        return reply

    @staticmethod
    def _cut(server: SMTPServer) -> str:
        transport: Any = server.transport
        if transport is not None:
            transport.abort()
        return "421 4.3.0 Connection lost"
