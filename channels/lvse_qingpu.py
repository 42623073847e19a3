"""绿色青浦: upward reports by the interface in `docs/channels/lvse_qingpu.md`, or by mail.

The API answers with real HTTP statuses and `{"success": true, "data": ...}` or
`{"success": false, "error": {"code": "...", "message": "...", "problems": [...]}}`.
With `delivery = "smtp"` the package goes to the editorial mailbox instead; the platform files
the mail under its `X-Sanshen-Key` header, so status, find and withdraw still use the API.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Literal, Self

from pydantic import Field, SecretStr, model_validator

from channels.base import ChannelSettings, Receipt, RemoteState
from channels.errors import (
    ChannelError,
    ConfigurationInvalid,
    ContentRejected,
    CredentialsExpired,
    NotSupported,
    RateLimited,
    Unavailable,
)
from channels.http import problems_from
from channels.item import Item
from channels.upward import (
    MailRoute,
    PlatformError,
    RemoteSubmission,
    SubmissionPackage,
    UpwardApi,
    UpwardChannel,
    UpwardLimits,
    UpwardSettings,
    send_by_mail,
    submission_mail,
)

# The API's documented codes: code -> (meaning, what we raise).
DOCUMENTED_ERROR_CODES: Mapping[str, tuple[str, type[ChannelError]]] = {
    "BAD_REQUEST": ("缺少字段或格式错误", ConfigurationInvalid),
    "BAD_SIGNATURE": ("签名错误", ConfigurationInvalid),
    "SIGNATURE_EXPIRED": ("签名已过期", CredentialsExpired),
    "UNKNOWN_APP": ("应用不存在或已停用", ConfigurationInvalid),
    "FORBIDDEN": ("该应用无投稿权限", ConfigurationInvalid),
    "NOT_FOUND": ("投稿不存在", ConfigurationInvalid),  # status/withdraw answer NOT_FOUND instead
    "ALREADY_ADOPTED": ("稿件已采用，不可撤回", NotSupported),
    "ALREADY_CLOSED": ("稿件未采用，无需撤回", NotSupported),
    "PACKAGE_INVALID": ("投稿包格式错误或校验失败", ContentRejected),
    "PAYLOAD_TOO_LARGE": ("投稿包超过大小上限", ContentRejected),
    "SIGN_OFF_MISSING": ("审批记录缺少签发", ContentRejected),
    "CONTENT_REJECTED": ("稿件内容未通过预审", ContentRejected),
    "RATE_LIMITED": ("投稿过于频繁", RateLimited),
    "SERVICE_UNAVAILABLE": ("服务暂不可用", Unavailable),
}
# The editorial mail server's documented replies: code -> (meaning, what we raise).
DOCUMENTED_SMTP_REPLIES: Mapping[int, tuple[str, type[ChannelError]]] = {
    421: ("服务暂不可用，关闭连接", Unavailable),
    450: ("投稿过于频繁（4.7.1），稍后再投", RateLimited),
    451: ("处理出错，稍后再投", Unavailable),
    452: ("存储空间不足，稍后再投", Unavailable),
    530: ("需要认证", ConfigurationInvalid),
    535: ("认证失败", ConfigurationInvalid),
    550: ("收件地址不存在或拒绝中继", ConfigurationInvalid),
    552: ("邮件超过大小上限", ContentRejected),
    553: ("发件地址不被接受", ConfigurationInvalid),
    554: ("投稿包校验失败或内容被拒收", ContentRejected),
}
NOT_FOUND_CODE = "NOT_FOUND"
STATES: Mapping[str, RemoteState] = {
    "received": RemoteState.SUBMITTED,
    "adopted": RemoteState.PUBLISHED,
    "not_adopted": RemoteState.REJECTED,
    "withdrawn": RemoteState.RETRACTED,
}
SUBJECT_PREFIX = "【投稿】"


class LvseQingpuSettings(UpwardSettings):
    delivery: Literal["http", "smtp"] = "http"
    smtp_host: str = "localhost"
    smtp_port: int = Field(default=25, gt=0, lt=65536)
    smtp_security: Literal["none", "starttls", "ssl"] = "starttls"
    smtp_username: str = ""
    smtp_password: SecretStr = SecretStr("")
    smtp_timeout: float = Field(default=20.0, gt=0)
    mail_from: str = ""
    mail_to: str = ""  # the editorial address, e.g. tougao@… as the platform tells it

    @model_validator(mode="after")
    def _mail_addresses(self) -> Self:
        if self.delivery == "smtp" and not ("@" in self.mail_from and "@" in self.mail_to):
            raise ValueError("smtp 投递需要 mail_from 和 mail_to（投稿邮箱）")
        return self

    @property
    def mail_route(self) -> MailRoute:
        return MailRoute(
            host=self.smtp_host,
            port=self.smtp_port,
            security=self.smtp_security,
            username=self.smtp_username,
            password=self.smtp_password,
            timeout=self.smtp_timeout,
            mail_from=self.mail_from,
            mail_to=self.mail_to,
        )


class LvseQingpuChannel(UpwardChannel):
    name: ClassVar[str] = "lvse_qingpu"
    display_name: ClassVar[str] = "绿色青浦"
    settings_model: ClassVar[type[ChannelSettings]] = LvseQingpuSettings
    settings: LvseQingpuSettings
    error_codes: ClassVar[Mapping[str | int, type[ChannelError]]] = {
        code: kind
        for table in (DOCUMENTED_ERROR_CODES, DOCUMENTED_SMTP_REPLIES)
        for code, (_, kind) in table.items()
    }
    simulator: ClassVar[str | None] = "channels.simulators.lvse_qingpu:LvseQingpuSimulator"
    not_found_code: ClassVar[str | int] = NOT_FOUND_CODE
    api: ClassVar[UpwardApi] = UpwardApi(
        submit="/api/v1/submissions",
        one="/api/v1/submissions/{id}",
        find="/api/v1/submissions",
        find_param="idempotency_key",
        withdraw="/api/v1/submissions/{id}/withdraw",
        package_field="package",
    )
    limits: ClassVar[UpwardLimits] = UpwardLimits(
        title_min=4,
        title_max=40,
        image_kinds=frozenset({"jpeg", "png", "gif"}),
        max_image_bytes=3 * 1024 * 1024,
        max_package_bytes=10 * 1024 * 1024,  # mail-sized: most mail servers refuse more
        max_attachments=10,
    )

    def _deliver(self, item: Item, package: SubmissionPackage) -> Receipt:
        if self.settings.delivery == "http":
            return super()._deliver(item, package)
        route = self.settings.mail_route
        message = submission_mail(item, package, route, subject=SUBJECT_PREFIX + item.title)
        reply = send_by_mail(message, route, channel=self.name, reply_codes=self.error_codes)
        # The platform assigns its id when it files the mail; status and find ask by key.
        return Receipt(
            channel=self.name,
            idempotency_key=package.idempotency_key,
            external_id="",
            state=RemoteState.SUBMITTED,
            extra={
                "via": "smtp",
                "package_sha256": package.sha256,
                "message_id": str(message["Message-ID"]),
                "smtp_reply": reply,
            },
        )

    def _submit_fields(self, item: Item, package: SubmissionPackage) -> dict[str, str]:
        return {
            "title": item.title,
            "department": item.department,
            "author": item.author,
            "sha256": package.sha256,
        }

    def _unwrap(self, status_code: int, body: Any) -> Any:
        if body["success"] is True:
            return body["data"]
        error = body["error"]
        raise PlatformError(
            str(error["code"]), str(error.get("message", "")), problems_from(error.get("problems"))
        )

    def _submission(self, data: Any) -> RemoteSubmission:
        return RemoteSubmission(
            external_id=str(data["id"]),
            idempotency_key=str(data["idempotency_key"]),
            state=STATES[str(data["state"])],
            url=str(data.get("published_url") or ""),
            reason=str(data.get("reason") or ""),
            published_at=str(data.get("published_at") or ""),
            duplicate=bool(data.get("duplicate", False)),
        )

    def _submissions(self, data: Any) -> list[RemoteSubmission]:
        return [self._submission(entry) for entry in data["items"]]
