"""The ways to reach a person (企业微信 application message, e-mail) and sending one message
through every way the person chose."""

from __future__ import annotations

from collections.abc import Callable

from orchestrator.models import Person
from orchestrator.notify.errors import NotifyError
from orchestrator.settings import Settings

Route = Callable[[Person, str, str, str], None]  # (person, title, body, absolute url)


def routes_from(settings: Settings) -> dict[str, Route]:
    """The configured ways to reach people: `wecom` and/or `email`."""
    found: dict[str, Route] = {}
    if settings.wecom_corp_id and settings.wecom_secret and settings.wecom_agent_id:
        from orchestrator.notify.wecom import WeComApp

        client = WeComApp(
            settings.wecom_corp_id,
            settings.wecom_secret.get_secret_value(),
            settings.wecom_agent_id,
            base_url=settings.wecom_base_url,
        )

        def wecom(person: Person, title: str, body: str, url: str) -> None:
            if not person.wecom_userid:
                raise NotifyError(
                    f"{person.name}未登记企业微信账号", code="no_address", permanent=True
                )
            result = client.send_card([person.wecom_userid], title, body, url)
            if result.invalid_users:
                raise NotifyError(
                    f"企业微信账号 {person.wecom_userid} 无效或不在应用可见范围",
                    code="recipients_invalid",
                    permanent=True,
                )

        found["wecom"] = wecom
    if settings.smtp_host:
        from orchestrator.notify.mail import MailSettings, send_mail

        mail = MailSettings(
            host=settings.smtp_host,
            port=settings.smtp_port,
            username=settings.smtp_username,
            password=settings.smtp_password.get_secret_value() if settings.smtp_password else "",
            use_tls=settings.smtp_tls,
            sender=settings.smtp_sender,
        )

        def email(person: Person, title: str, body: str, url: str) -> None:
            if not person.email:
                raise NotifyError(f"{person.name}未登记邮箱", code="no_address", permanent=True)
            send_mail(mail, [person.email], title, f"{body}\n\n办理：{url}\n")

        found["email"] = email
    return found


def chosen(person: Person) -> list[str]:
    return [v.strip() for v in person.notify_via.split(",") if v.strip()]


def send(
    person: Person, title: str, body: str, url: str, routes: dict[str, Route]
) -> tuple[str, str | None, bool]:
    """Through every route the person chose that is configured: (delivered via, error,
    permanent). Delivered by one route is delivered."""
    via, errors, permanent = [], [], True
    for name in chosen(person):
        route = routes.get(name)
        if route is None:
            continue
        try:
            route(person, title, body, url)
            via.append(name)
        except NotifyError as error:
            errors.append(f"{name}: {error.message_cn}")
            permanent = permanent and error.permanent
    if via:
        return ",".join(via), None, False
    if not errors:
        return "", "没有可用的通知方式（未配置企业微信或邮件，或本人未选择）", True
    return "", "；".join(errors), permanent
