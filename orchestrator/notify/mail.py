"""Notification e-mail: UTF-8 plain text, optionally with an HTML alternative.

The SMTP conversation is the one 绿色青浦's mail delivery uses (`channels.upward.send_by_mail`:
connect, STARTTLS or SSL, login, MAIL/RCPT/DATA, every step under `timeout`); here its
`channels.errors` are turned into `NotifyError`: a 5xx reply is permanent, a 4xx reply, a
refused or timed-out connection and a lost reply after the data are transient.

Each recipient gets a mail of their own ("等待您终审" is personal, and one refused address
does not stop the others); the error then names the addresses not reached in `undelivered`.
"""

from __future__ import annotations

import email.policy
import email.utils
import ssl
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Literal

from pydantic import SecretStr

from channels.errors import ChannelError, ConfigurationInvalid, OutcomeUnknown
from channels.upward import MailRoute, send_by_mail
from orchestrator.notify.errors import NotifyError

NAME = "notify_mail"
SECURITIES = ("none", "starttls", "ssl")
AUTH_REPLIES = frozenset({530, 534, 535, 538})


@dataclass(frozen=True, slots=True)
class MailSettings:
    """How to reach the outgoing mail server. `use_tls`: "none", "starttls" or "ssl"."""

    host: str
    port: int
    username: str
    password: str = field(repr=False)
    use_tls: Literal["none", "starttls", "ssl"]
    sender: str  # the From address, e.g. sanshen@qingpu.gov.cn
    timeout: float = 20.0

    def __post_init__(self) -> None:
        if self.use_tls not in SECURITIES:
            raise ValueError(f"use_tls 须为 {'、'.join(SECURITIES)} 之一")
        if not 0 < self.port < 65536:
            raise ValueError("邮件服务器端口须在 1 到 65535 之间")
        if not _is_address(self.sender):
            raise ValueError("发件地址不合法")
        if self.timeout <= 0:
            raise ValueError("超时须大于 0 秒")

    def route(self, recipient: str) -> MailRoute:
        return MailRoute(
            host=self.host,
            port=self.port,
            security=self.use_tls,
            username=self.username,
            password=SecretStr(self.password),
            timeout=self.timeout,
            mail_from=self.sender,
            mail_to=recipient,
        )


def send_mail(
    settings: MailSettings,
    to: Sequence[str],
    subject: str,
    text: str,
    *,
    html: str | None = None,
) -> None:
    """Send `text` (and `html` as its alternative) to each address in `to`; raise NotifyError
    if any was not reached, naming those in `undelivered`."""
    recipients = _recipients(to)
    failures: list[NotifyError] = []
    cause: ChannelError | None = None
    for index, recipient in enumerate(recipients):
        message = _message(settings, recipient, subject, text, html)
        try:
            send_by_mail(message, settings.route(recipient), channel=NAME, reply_codes={})
        except ChannelError as exc:
            cause = cause or exc
            failure = _failure(exc, recipient)
            if failure.code == "mail_unavailable":  # the server itself: the rest would wait too
                failures.append(_with(failure, recipients[index:]))
                break
            failures.append(failure)
    if failures:
        raise _combined(failures) from cause


def _is_address(value: str) -> bool:
    _, address = email.utils.parseaddr(value)
    return "@" in address and not any(c.isspace() for c in value) and address == value


def _recipients(to: Sequence[str]) -> list[str]:
    if isinstance(to, str):
        raise TypeError("to 须为收件地址的列表，而不是字符串")
    recipients = list(dict.fromkeys(a.strip() for a in to if a.strip()))
    if not recipients:
        raise NotifyError("没有收件人", "recipients_empty", True)
    bad = [a for a in recipients if not _is_address(a)]
    if bad:
        message = f"收件地址不合法：{'、'.join(bad)}"
        raise NotifyError(message, "address_invalid", True, undelivered=tuple(bad))
    return recipients


def _message(
    settings: MailSettings, recipient: str, subject: str, text: str, html: str | None
) -> EmailMessage:
    message = EmailMessage(policy=email.policy.SMTP)
    message["Subject"] = " ".join(subject.split())  # no line breaks in a header
    message["From"] = settings.sender
    message["To"] = recipient
    message["Date"] = email.utils.format_datetime(datetime.now(UTC))
    message["Message-ID"] = email.utils.make_msgid("sanshen", settings.sender.rpartition("@")[2])
    # base64: the server need not speak 8BITMIME for Chinese text to arrive intact.
    message.set_content(text, charset="utf-8", cte="base64")
    if html is not None:
        message.add_alternative(html, subtype="html", charset="utf-8", cte="base64")
    return message


def _failure(exc: ChannelError, recipient: str) -> NotifyError:
    """`send_by_mail`'s error as ours; the one place that reads an SMTP failure."""
    where = (recipient,)
    reply = exc.platform_code
    if isinstance(reply, int):
        # send_by_mail words it "…答复 <code> <server text>": keep the server's own text.
        said = exc.message.partition(f"{reply} ")[2].strip() or "（无说明）"
        if reply in AUTH_REPLIES:
            message = f"邮件服务器拒绝登录（{reply} {said}）：请检查用户名和密码"
            return NotifyError(message, "mail_auth_failed", True, platform_code=reply)
        if 500 <= reply < 600:
            message = f"邮件服务器拒收发给 {recipient} 的邮件（{reply} {said}）"
            return NotifyError(
                message, "mail_rejected", True, platform_code=reply, undelivered=where
            )
        message = f"邮件服务器暂不接收（{reply} {said}），请稍后重试"
        return NotifyError(message, "mail_deferred", False, platform_code=reply, undelivered=where)
    cause = exc.__cause__
    if isinstance(exc, OutcomeUnknown):
        message = f"发给 {recipient} 的邮件已发出，未收到服务器确认（{type(cause).__name__}）"
        return NotifyError(message, "mail_outcome_unknown", False, undelivered=where)
    if isinstance(cause, ssl.SSLCertVerificationError):
        message = "邮件服务器的证书未通过校验：请检查服务器地址与 TLS 设置"
        return NotifyError(message, "mail_tls_failed", True, undelivered=where)
    if isinstance(exc, ConfigurationInvalid):
        message = f"邮件服务器不支持所需的功能（STARTTLS 或登录）：{cause}"
        return NotifyError(message, "mail_not_supported", True, undelivered=where)
    message = f"无法连接邮件服务器（{type(cause).__name__}），请稍后重试"
    return NotifyError(message, "mail_unavailable", False, undelivered=where)


def _with(error: NotifyError, undelivered: Sequence[str]) -> NotifyError:
    return NotifyError(
        error.message_cn,
        error.code,
        error.permanent,
        platform_code=error.platform_code,
        undelivered=tuple(undelivered),
    )


def _combined(failures: list[NotifyError]) -> NotifyError:
    """One error for all: permanent only if every failure is, coded as the first that is not."""
    if len(failures) == 1:
        return failures[0]
    lead = next((f for f in failures if not f.permanent), failures[0])
    return NotifyError(
        "；".join(f.message_cn for f in failures),
        lead.code,
        lead.permanent,
        platform_code=lead.platform_code,
        undelivered=tuple(a for f in failures for a in f.undelivered),
    )
