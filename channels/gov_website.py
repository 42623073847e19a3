"""政府网站: the office's sub-channel on the district government website (PC).

Speaks the contract in docs/channels/gov_website.md: signed JSON over HTTP, attachments first,
then an idempotent draft (`Idempotency-Key`), then the publish step.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any, ClassVar

import requests
from pydantic import Field

from channels.base import Capabilities, ChannelKind, ChannelSettings, Receipt, RemoteState
from channels.errors import (
    ChannelError,
    ConfigurationInvalid,
    ContentRejected,
    CredentialsExpired,
    Permanent,
    Problem,
    RateLimited,
    Unavailable,
)
from channels.http import json_body, problems_from
from channels.item import Attachment, Image, Item
from channels.rendering import image_problems
from channels.signed_http import SignedApi, SignedHttpChannel, SignedLimits, SignedSettings

log = logging.getLogger(__name__)

# Every code the contract documents, with its meaning; `error_codes` must cover each one.
DOCUMENTED_ERROR_CODES: Mapping[str, str] = {
    "INVALID_REQUEST": "请求格式错误或缺少必填项",
    "APP_KEY_UNKNOWN": "应用标识未登记",
    "INVALID_SIGNATURE": "签名错误",
    "SIGNATURE_EXPIRED": "签名时间戳超出允许范围",
    "NONCE_REUSED": "随机串重复使用",
    "PERMISSION_DENIED": "无权发布到该栏目或来源地址未登记",
    "ARTICLE_NOT_FOUND": "文章不存在",
    "ARTICLE_STATE_CONFLICT": "文章当前状态不允许此操作",
    "FILE_TOO_LARGE": "文件超过大小上限",
    "UNSUPPORTED_FILE_TYPE": "文件类型不受支持",
    "VALIDATION_FAILED": "字段不符合要求",
    "CONTENT_REJECTED": "内容未通过网站审查",
    "RATE_LIMITED": "请求过于频繁",
    "INTERNAL_ERROR": "网站内部错误",
    "SERVICE_UNAVAILABLE": "网站暂不可用",
}

TITLE_MAX_CHARS = 80
SUMMARY_MAX_CHARS = 200
IMAGE_MAX_BYTES = 5 * 1024 * 1024
FILE_MAX_BYTES = 20 * 1024 * 1024
FILE_TYPES = {
    "application/pdf": ".pdf",
    "application/msword": ".doc",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
    "application/vnd.ms-excel": ".xls",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ".xlsx",
}

_STATES = {
    "draft": RemoteState.SUBMITTED,
    "published": RemoteState.PUBLISHED,
    "withdrawn": RemoteState.RETRACTED,
    "rejected": RemoteState.REJECTED,
}


class GovWebsiteSettings(SignedSettings):
    column_id: str = Field(min_length=1)  # the office's sub-channel (栏目) on the website


class GovWebsiteChannel(SignedHttpChannel):
    name: ClassVar[str] = "gov_website"
    display_name: ClassVar[str] = "政府网站"
    kind: ClassVar[ChannelKind] = ChannelKind.OWN
    capabilities: ClassVar[Capabilities] = Capabilities(resumes_drafts=True, dedupes_by_key=True)
    settings_model: ClassVar[type[ChannelSettings]] = GovWebsiteSettings
    settings: GovWebsiteSettings
    error_codes: ClassVar[Mapping[str | int, type[ChannelError]]] = {
        "INVALID_REQUEST": ConfigurationInvalid,
        "APP_KEY_UNKNOWN": ConfigurationInvalid,
        "INVALID_SIGNATURE": ConfigurationInvalid,
        "SIGNATURE_EXPIRED": CredentialsExpired,
        "NONCE_REUSED": CredentialsExpired,
        "PERMISSION_DENIED": ConfigurationInvalid,
        "ARTICLE_NOT_FOUND": Permanent,
        "ARTICLE_STATE_CONFLICT": Permanent,
        "FILE_TOO_LARGE": ContentRejected,
        "UNSUPPORTED_FILE_TYPE": ContentRejected,
        "VALIDATION_FAILED": ContentRejected,
        "CONTENT_REJECTED": ContentRejected,
        "RATE_LIMITED": RateLimited,
        "INTERNAL_ERROR": Unavailable,
        "SERVICE_UNAVAILABLE": Unavailable,
    }
    simulator: ClassVar[str | None] = "channels.simulators.gov_website:GovWebsiteSimulator"
    page_hosts: ClassVar[tuple[str, ...]] = ("www.shqp.gov.cn",)

    api: ClassVar[SignedApi] = SignedApi(
        prefix="/api/v1",
        article="/articles/{id}",
        retract="/articles/{id}/withdraw",
        upload="/attachments",
        upload_fields=("id", "url"),
        not_found_code="ARTICLE_NOT_FOUND",
        state_field="state",
        reason_fields=("reject_reason", "withdraw_reason"),
    )
    limits: ClassVar[SignedLimits] = SignedLimits(
        title_max_chars=TITLE_MAX_CHARS,
        summary_max_chars=SUMMARY_MAX_CHARS,
        image_max_bytes=IMAGE_MAX_BYTES,
    )
    states: ClassVar[Mapping[str, RemoteState]] = _STATES
    status_classes: ClassVar[Mapping[int, type[ChannelError]]] = {
        429: RateLimited,
        401: ConfigurationInvalid,
        403: ConfigurationInvalid,
    }

    # --- validate (pure) -------------------------------------------------------------------

    def _cover_problems(self, cover: Image | None) -> list[Problem]:
        if cover is None:
            return []
        return image_problems(cover, field="cover", max_bytes=IMAGE_MAX_BYTES)

    def _attachment_problems(self, item: Item) -> list[Problem]:
        problems = []
        for index, attachment in enumerate(item.attachments):
            problems += _attachment_problems(attachment, f"attachments[{index}]")
        return problems

    # --- operations ------------------------------------------------------------------------

    def publish(self, item: Item, idempotency_key: str) -> Receipt:
        problems = self.validate(item)
        if problems:
            raise ContentRejected(
                "稿件不符合政府网站的要求", problems=tuple(problems), channel=self.name
            )
        image_urls = {image.sha256: self._upload_image(image)["url"] for image in item.images}
        cover_id = self._upload_image(item.cover)["id"] if item.cover is not None else None
        attachment_ids = [self._upload_file(a)["id"] for a in item.attachments]
        article = self._create(item, idempotency_key, image_urls, cover_id, attachment_ids)
        if article["state"] == "draft":
            article = self._publish_draft(article["id"])
        receipt = self._receipt(article)
        log.info("政府网站已发布稿件 %s：%s", item.reference, receipt.url)
        return receipt

    def find(self, idempotency_key: str, since: datetime | None = None) -> Receipt | None:
        response = self._request(
            "GET", "/articles", changes_state=False, params={"idempotency_key": idempotency_key}
        )
        items = self._answer(response, changes_state=False).get("items")
        if not isinstance(items, list):
            raise self._garbage(changes_state=False)
        return self._receipt(items[0]) if items else None

    # --- steps -----------------------------------------------------------------------------

    def _upload_file(self, attachment: Attachment) -> dict[str, Any]:
        return self._upload(attachment.filename, attachment.mime, attachment.data)

    def _create(
        self,
        item: Item,
        idempotency_key: str,
        image_urls: Mapping[str, str],
        cover_id: str | None,
        attachment_ids: list[str],
    ) -> dict[str, Any]:
        payload = {
            "column_id": self.settings.column_id,
            "title": item.title,
            "content": self.render_content(item, image_urls),
            "summary": item.digest,
            "author": item.author,
            "department": item.department,
            "publish_date": item.publish_date.isoformat() if item.publish_date else None,
            "cover_attachment_id": cover_id,
            "attachment_ids": attachment_ids,
            "source": _source(item),
        }
        response = self._request(
            "POST",
            "/articles",
            changes_state=True,
            json=payload,
            headers={"Idempotency-Key": idempotency_key},
        )
        return self._answer(response, changes_state=True, required=("id", "state"))

    def _publish_draft(self, article_id: str) -> dict[str, Any]:
        response = self._request("POST", f"/articles/{article_id}/publish", changes_state=True)
        return self._answer(response, changes_state=True, required=("id", "state", "url"))

    # --- answers ---------------------------------------------------------------------------

    def _answer(
        self, response: requests.Response, *, changes_state: bool, required: tuple[str, ...] = ()
    ) -> dict[str, Any]:
        body = json_body(response, channel=self.name, changes_state=changes_state)
        if not isinstance(body, dict):
            raise self._garbage(changes_state)
        if response.status_code >= 400:
            code = str(body.get("code", ""))
            raise self._error(
                response,
                code,
                meaning=DOCUMENTED_ERROR_CODES.get(code, f"HTTP {response.status_code}"),
                detail=body.get("message", ""),
                problems=problems_from(body.get("problems")),
                plain_code=code or response.status_code,  # an answer without a code: its status
            )
        if any(not isinstance(body.get(key), str) for key in required):
            raise self._garbage(changes_state)
        return body

    def _receipt(self, article: Mapping[str, Any]) -> Receipt:
        return Receipt(
            channel=self.name,
            idempotency_key=str(article.get("idempotency_key", "")),
            external_id=str(article["id"]),
            state=_STATES.get(str(article.get("state")), RemoteState.SUBMITTED),
            url=str(article.get("url") or ""),
            extra={"draft": True} if article.get("state") == "draft" else {},
        )


def _source(item: Item) -> dict[str, str] | None:
    if item.source is None:
        return None
    return {
        "name": item.source.platform,
        "url": item.source.url,
        "published_at": item.source.published_at.isoformat(),
    }


def _attachment_problems(attachment: Attachment, field: str) -> list[Problem]:
    problems = []
    if attachment.mime not in FILE_TYPES:
        problems.append(
            Problem("attachment_type", f"附件 {attachment.filename} 的类型不受支持", field)
        )
    if len(attachment.data) > FILE_MAX_BYTES:
        problems.append(
            Problem("attachment_too_large", f"附件 {attachment.filename} 超过 20 MB", field)
        )
    return problems
