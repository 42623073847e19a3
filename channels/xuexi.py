"""学习强国: upward reports through the contribution interface in `docs/channels/xuexi.md`.

Answers come as HTTP 200 with `{"code": 0, "msg": ..., "data": ...}`; a non-zero `code` is a
business error (see `DOCUMENTED_ERROR_CODES`). Rate limiting and maintenance also use HTTP 429 and
503. A manuscript's `auditStatus` is 0 待审核, 1 已采用, 2 未采用 or 3 已撤回.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from pydantic import Field

from channels.base import ChannelSettings, RemoteState
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
    PlatformError,
    RemoteSubmission,
    SubmissionPackage,
    UpwardApi,
    UpwardChannel,
    UpwardLimits,
    UpwardSettings,
)

# The platform's documented codes: code -> (meaning, what we raise).
DOCUMENTED_ERROR_CODES: Mapping[int, tuple[str, type[ChannelError]]] = {
    40001: ("签名错误", ConfigurationInvalid),
    40002: ("签名已过期（时间戳超出允许范围）", CredentialsExpired),
    40003: ("appKey 不存在或已停用", ConfigurationInvalid),
    40004: ("调用方 IP 不在白名单内", ConfigurationInvalid),
    40005: ("缺少必填参数或参数格式错误", ConfigurationInvalid),
    40006: ("未获授权向该栏目投稿", ConfigurationInvalid),
    40400: ("稿件不存在", ConfigurationInvalid),  # status/withdraw answer NOT_FOUND instead
    40901: ("稿件已采用，不可撤回", NotSupported),
    40902: ("稿件已结束审核（未采用），不可撤回", NotSupported),
    41001: ("投稿包格式错误或校验失败", ContentRejected),
    41002: ("稿件内容未通过平台预审", ContentRejected),
    41003: ("标题长度不符合要求", ContentRejected),
    41004: ("审批记录缺少签发", ContentRejected),
    41005: ("投稿包超过大小上限", ContentRejected),
    42900: ("调用过于频繁", RateLimited),
    50000: ("系统内部错误", Unavailable),
    50300: ("系统维护中", Unavailable),
}
NOT_FOUND_CODE = 40400
AUDIT_STATES: Mapping[int, RemoteState] = {
    0: RemoteState.SUBMITTED,  # 待审核
    1: RemoteState.PUBLISHED,  # 已采用
    2: RemoteState.REJECTED,  # 未采用
    3: RemoteState.RETRACTED,  # 已撤回
}


class XuexiSettings(UpwardSettings):
    column_code: str = Field(default="qingpu-zwfw", min_length=1)  # 栏目代码, given by the platform


class XuexiChannel(UpwardChannel):
    name: ClassVar[str] = "xuexi"
    display_name: ClassVar[str] = "学习强国"
    settings_model: ClassVar[type[ChannelSettings]] = XuexiSettings
    settings: XuexiSettings
    error_codes: ClassVar[Mapping[str | int, type[ChannelError]]] = {
        code: kind for code, (_, kind) in DOCUMENTED_ERROR_CODES.items()
    }
    simulator: ClassVar[str | None] = "channels.simulators.xuexi:XuexiSimulator"
    page_hosts: ClassVar[tuple[str, ...]] = ("www.xuexi.cn",)
    not_found_code: ClassVar[str | int] = NOT_FOUND_CODE
    api: ClassVar[UpwardApi] = UpwardApi(
        submit="/openapi/v2/manuscripts",
        one="/openapi/v2/manuscripts/{id}",
        find="/openapi/v2/manuscripts",
        find_param="requestKey",
        withdraw="/openapi/v2/manuscripts/{id}/revoke",
        package_field="file",
    )
    limits: ClassVar[UpwardLimits] = UpwardLimits(
        title_min=5,
        title_max=30,
        image_kinds=frozenset({"jpeg", "png"}),
        max_image_bytes=5 * 1024 * 1024,
        max_package_bytes=20 * 1024 * 1024,
        max_attachments=5,
    )

    def _submit_fields(self, item: Item, package: SubmissionPackage) -> dict[str, str]:
        return {
            "title": item.title,
            "orgName": item.department,
            "columnCode": self.settings.column_code,
            "packageSha256": package.sha256,
        }

    def _unwrap(self, status_code: int, body: Any) -> Any:
        code = int(body["code"])
        if code != 0:
            data = body.get("data") or {}
            raise PlatformError(code, str(body.get("msg", "")), problems_from(data.get("problems")))
        return body["data"]

    def _submission(self, data: Any) -> RemoteSubmission:
        state = AUDIT_STATES[int(data["auditStatus"])]
        return RemoteSubmission(
            external_id=str(data["manuscriptId"]),
            idempotency_key=str(data["requestKey"]),
            state=state,
            url=str(data.get("articleUrl") or ""),
            reason=str(data.get("auditOpinion") or ""),
            published_at=str(data.get("publishTime") or ""),
            duplicate=bool(data.get("duplicate", False)),
        )

    def _submissions(self, data: Any) -> list[RemoteSubmission]:
        return [self._submission(entry) for entry in data["list"]]
