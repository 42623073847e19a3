"""Notification e-mail over real SMTP on loopback (aiosmtpd)."""

from __future__ import annotations

import asyncio
import email
import email.policy
import socket
import time
from collections.abc import Iterator
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP as SMTPServer
from aiosmtpd.smtp import Envelope, Session

from orchestrator.notify.errors import NotifyError
from orchestrator.notify.mail import MailSettings, send_mail

SENDER = "sanshen@qingpu.gov.test"
SUBJECT = "稿件 12《青浦区秋季征兵工作动员会召开》等待您终审"
TEXT = "李老师您好：\n稿件 12 已送达终审，请在 2 个工作日内处理。\nhttp://127.0.0.1:8000/console/items/12\n"
HTML = '<p>李老师您好：</p><p>稿件 12 已送达<a href="http://127.0.0.1:8000/console/items/12">终审</a>。</p>'


class _Mailbox:
    """Accepts everything but `nobody@…` (550) and `later@…` (450); `hang_s` delays DATA."""

    def __init__(self) -> None:
        self.mails: list[tuple[list[str], EmailMessage]] = []
        self.hang_s = 0.0

    async def handle_RCPT(
        self,
        server: SMTPServer,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if address.startswith("nobody@"):
            return "550 5.1.1 No such user here"
        if address.startswith("later@"):
            return "450 4.2.1 Mailbox busy, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTPServer, session: Session, envelope: Envelope) -> str:
        if self.hang_s:
            await asyncio.sleep(self.hang_s)
        raw = envelope.original_content or b""
        message = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.mails.append((list(envelope.rcpt_tos), message))
        return "250 2.0.0 Queued"


class _LoopbackController(Controller):
    """aiosmtpd's Controller, but `port=0` picks a free port."""

    def _trigger_server(self) -> None:
        server: Any = self.server
        self.port = server.sockets[0].getsockname()[1]
        super()._trigger_server()  # type: ignore[no-untyped-call]


@pytest.fixture
def mailbox() -> Iterator[tuple[_Mailbox, MailSettings]]:
    handler = _Mailbox()
    controller = _LoopbackController(handler, hostname="127.0.0.1", port=0)
    controller.start()
    settings = MailSettings("127.0.0.1", controller.port, "", "", "none", SENDER, timeout=5.0)
    try:
        yield handler, settings
    finally:
        controller.stop()


def _text(message: EmailMessage, subtype: str) -> str:
    part = message.get_body((subtype,))
    assert part is not None
    return str(part.get_content()).replace("\r\n", "\n")


def test_a_utf8_mail_arrives_intact_once_per_recipient(
    mailbox: tuple[_Mailbox, MailSettings],
) -> None:
    handler, settings = mailbox

    send_mail(settings, ["li@qingpu.gov.test", "wang@qingpu.gov.test"], SUBJECT, TEXT, html=HTML)

    assert [rcpt for rcpt, _ in handler.mails] == [["li@qingpu.gov.test"], ["wang@qingpu.gov.test"]]
    _, message = handler.mails[0]
    assert message["Subject"] == SUBJECT
    assert (message["From"], message["To"]) == (SENDER, "li@qingpu.gov.test")
    assert message["Message-ID"].endswith("@qingpu.gov.test>")
    assert _text(message, "plain") == TEXT
    assert _text(message, "html").strip() == HTML


def test_a_550_rejection_is_permanent(mailbox: tuple[_Mailbox, MailSettings]) -> None:
    handler, settings = mailbox

    with pytest.raises(NotifyError) as caught:
        send_mail(settings, ["nobody@qingpu.gov.test"], SUBJECT, TEXT)

    error = caught.value
    assert (error.code, error.permanent, error.platform_code) == ("mail_rejected", True, 550)
    assert error.undelivered == ("nobody@qingpu.gov.test",)
    assert "5.1.1 No such user here" in error.message_cn
    assert handler.mails == []


def test_one_refused_address_does_not_stop_the_others(
    mailbox: tuple[_Mailbox, MailSettings],
) -> None:
    handler, settings = mailbox
    to = ["nobody@qingpu.gov.test", "li@qingpu.gov.test", "later@qingpu.gov.test"]

    with pytest.raises(NotifyError) as caught:
        send_mail(settings, to, SUBJECT, TEXT)

    error = caught.value
    assert [rcpt for rcpt, _ in handler.mails] == [["li@qingpu.gov.test"]]
    assert error.undelivered == ("nobody@qingpu.gov.test", "later@qingpu.gov.test")
    assert (error.code, error.permanent) == ("mail_deferred", False)  # the 450 is worth a retry


def test_a_4xx_reply_is_transient(mailbox: tuple[_Mailbox, MailSettings]) -> None:
    _, settings = mailbox

    with pytest.raises(NotifyError) as caught:
        send_mail(settings, ["later@qingpu.gov.test"], SUBJECT, TEXT)

    assert (caught.value.code, caught.value.permanent, caught.value.platform_code) == (
        "mail_deferred",
        False,
        450,
    )


def test_a_refused_connection_is_transient() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings = MailSettings("127.0.0.1", port, "", "", "none", SENDER, timeout=2.0)
    to = ["li@qingpu.gov.test", "wang@qingpu.gov.test"]

    with pytest.raises(NotifyError) as caught:
        send_mail(settings, to, SUBJECT, TEXT)

    error = caught.value
    assert (error.code, error.permanent) == ("mail_unavailable", False)
    assert error.undelivered == tuple(to)  # one try: the second address would wait as long


def test_a_server_silent_after_the_data_is_transient(
    mailbox: tuple[_Mailbox, MailSettings],
) -> None:
    handler, settings = mailbox
    handler.hang_s = 1.5
    quick = MailSettings(settings.host, settings.port, "", "", "none", SENDER, timeout=0.5)

    started = time.monotonic()
    with pytest.raises(NotifyError) as caught:
        send_mail(quick, ["li@qingpu.gov.test"], SUBJECT, TEXT)

    assert time.monotonic() - started < 1.4
    assert (caught.value.code, caught.value.permanent) == ("mail_outcome_unknown", False)


@pytest.mark.parametrize(
    ("to", "code"),
    [([], "recipients_empty"), (["li@qingpu.gov.test\r\nBcc: x@y.z"], "address_invalid")],
)
def test_bad_recipients_are_refused_before_connecting(to: list[str], code: str) -> None:
    settings = MailSettings("127.0.0.1", 9, "", "", "none", SENDER, timeout=0.5)

    with pytest.raises(NotifyError) as caught:
        send_mail(settings, to, SUBJECT, TEXT)

    assert (caught.value.code, caught.value.permanent) == (code, True)


def test_settings_check_themselves_and_hide_the_password() -> None:
    settings = MailSettings("smtp.qingpu.test", 465, "sanshen", "hunter2-mail", "ssl", SENDER)

    assert "hunter2-mail" not in repr(settings)
    assert "hunter2-mail" not in repr(settings.route("li@qingpu.gov.test"))
    with pytest.raises(ValueError):
        MailSettings("smtp.qingpu.test", 25, "", "", "tls", SENDER)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        MailSettings("smtp.qingpu.test", 25, "", "", "none", "not an address")
