"""Delivery of an upward report by mail, to a platform that takes manuscripts at an editorial
address (`submission_mail`, `send_by_mail`); the project's mail notices use it too."""

from __future__ import annotations

import email.policy
import email.utils
import hashlib
import re
import smtplib
import ssl
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from functools import partial

from pydantic import SecretStr

from channels.errors import (
    ChannelError,
    ConfigurationInvalid,
    OutcomeUnknown,
    Permanent,
    Unavailable,
)
from channels.item import Item
from channels.upward.package import SubmissionPackage

KEY_HEADER = "X-Sanshen-Key"
PACKAGE_SHA_HEADER = "X-Sanshen-Package-SHA256"
PACKAGE_FILENAME = "submission.zip"
_MSGID_ATOM = re.compile(r"[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*")


@dataclass(frozen=True, slots=True)
class MailRoute:
    """How to reach a platform's editorial mailbox."""

    host: str
    port: int
    security: str  # "none", "starttls" or "ssl"
    username: str
    password: SecretStr
    timeout: float
    mail_from: str
    mail_to: str

    @property
    def domain(self) -> str:
        return self.mail_from.rpartition("@")[2] or "localhost"


def message_id(idempotency_key: str, domain: str) -> str:
    """A Message-ID naming the key, so that the platform (and a person) can match the mail."""
    local = idempotency_key
    if not _MSGID_ATOM.fullmatch(local):
        local = "k" + hashlib.sha256(idempotency_key.encode()).hexdigest()[:32]
    return f"<sanshen.{local}@{domain}>"


def _mail_text(item: Item, package: SubmissionPackage) -> str:
    review = "；".join(
        f"{line.stage} {line.person} {line.acted_at.isoformat()}" for line in item.review
    )
    lines = [
        f"标题：{item.title}",
        f"供稿单位：{item.department or '—'}",
        f"作者：{item.author or '—'}",
        f"拟发布日期：{item.publish_date.isoformat() if item.publish_date else '—'}",
        f"审批记录：{review}",
        f"幂等键：{package.idempotency_key}",
        f"投稿包 SHA-256：{package.sha256}",
        "",
        "稿件、图片、附件及审批记录见附件投稿包（zip）。",
    ]
    return "\n".join(lines) + "\n"


def submission_mail(
    item: Item, package: SubmissionPackage, route: MailRoute, *, subject: str
) -> EmailMessage:
    """The mail carrying `package`; the subject may be Chinese (encoded per RFC 2047)."""
    message = EmailMessage(policy=email.policy.SMTP)
    message["Subject"] = subject
    message["From"] = route.mail_from
    message["To"] = route.mail_to
    message["Date"] = email.utils.format_datetime(datetime.now(UTC))
    message["Message-ID"] = message_id(package.idempotency_key, route.domain)
    message[KEY_HEADER] = package.idempotency_key
    message[PACKAGE_SHA_HEADER] = package.sha256
    message.set_content(_mail_text(item, package))
    message.add_attachment(
        package.data, maintype="application", subtype="zip", filename=PACKAGE_FILENAME
    )
    return message


def _reply_error(
    code: int,
    reply: bytes | str,
    *,
    channel: str,
    reply_codes: Mapping[str | int, type[ChannelError]],
) -> ChannelError:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply
    kind = reply_codes.get(code) or (Unavailable if 400 <= code < 500 else Permanent)
    return kind(f"投稿邮箱服务器答复 {code} {text}", platform_code=code, channel=channel)


def _connect(route: MailRoute) -> smtplib.SMTP:
    if route.security == "ssl":
        smtp: smtplib.SMTP = smtplib.SMTP_SSL(
            route.host, route.port, local_hostname=route.domain, timeout=route.timeout
        )
    else:
        smtp = smtplib.SMTP(
            route.host, route.port, local_hostname=route.domain, timeout=route.timeout
        )
    try:
        if route.security == "starttls":
            smtp.starttls(context=ssl.create_default_context())
        if route.username:
            smtp.login(route.username, route.password.get_secret_value())
    except BaseException:
        smtp.close()
        raise
    return smtp


def _quit(smtp: smtplib.SMTP) -> None:
    try:
        smtp.quit()
    except OSError:
        smtp.close()


def send_by_mail(
    message: EmailMessage,
    route: MailRoute,
    *,
    channel: str,
    reply_codes: Mapping[str | int, type[ChannelError]],
) -> str:
    """Send one mail; the server's acceptance line, or raise from `channels.errors`.

    Up to the message data nothing can have been accepted, so failures there are `Unavailable`
    (or the mapped reply). Once the data went out, a lost answer is `OutcomeUnknown`.
    """
    raw = message.as_bytes(policy=email.policy.SMTP)
    mapped = partial(_reply_error, channel=channel, reply_codes=reply_codes)
    try:
        smtp = _connect(route)
    except smtplib.SMTPResponseException as exc:
        raise mapped(exc.smtp_code, exc.smtp_error) from exc
    except smtplib.SMTPNotSupportedError as exc:
        raise ConfigurationInvalid(f"投稿邮箱服务器不支持：{exc}", channel=channel) from exc
    except OSError as exc:
        raise Unavailable(f"无法连接投稿邮箱服务器：{type(exc).__name__}", channel=channel) from exc
    try:
        return _transaction(smtp, route, raw, channel=channel, mapped=mapped)
    finally:
        _quit(smtp)


def _transaction(
    smtp: smtplib.SMTP,
    route: MailRoute,
    raw: bytes,
    *,
    channel: str,
    mapped: Callable[[int, bytes | str], ChannelError],
) -> str:
    try:
        smtp.ehlo_or_helo_if_needed()
        code, reply = smtp.mail(route.mail_from)
        if code == 250:
            code, reply = smtp.rcpt(route.mail_to)
    except smtplib.SMTPResponseException as exc:
        raise mapped(exc.smtp_code, exc.smtp_error) from exc
    except OSError as exc:
        raise Unavailable(f"投稿邮件未能发出：{type(exc).__name__}", channel=channel) from exc
    if code not in (250, 251):
        raise mapped(code, reply)
    try:
        code, reply = smtp.data(raw)
    except smtplib.SMTPDataError as exc:
        raise mapped(exc.smtp_code, exc.smtp_error) from exc
    except OSError as exc:
        message = f"投稿邮件已发出，未收到服务器确认（{type(exc).__name__}）"
        raise OutcomeUnknown(message, channel=channel) from exc
    if code != 250:
        raise mapped(code, reply)
    return bytes(reply).decode("utf-8", "replace")
