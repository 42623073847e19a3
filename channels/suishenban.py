"""随申办旗舰店: the information column of the Qingpu flagship store in the 随申办 app.

Speaks the contract in docs/channels/suishenban.md: signed JSON in a `{"code", "msg", "data"}`
envelope, images uploaded first, then one push idempotent by `bizNo`. The store may review an
item before it goes online, so a receipt can say `submitted` until `status` says more.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any, ClassVar

import requests
from pydantic import Field

from channels import rendering
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
from channels.item import Image, Item
from channels.signed_http import SignedApi, SignedHttpChannel, SignedLimits, SignedSettings

log = logging.getLogger(__name__)

# Every code the contract documents, with its meaning; `error_codes` must cover each one.
DOCUMENTED_ERROR_CODES: Mapping[str, str] = {
    "10001": "参数错误",
    "10002": "字段校验未通过",
    "20001": "appKey 不存在",
    "20002": "签名错误",
    "20003": "签名已过期",
    "20004": "nonce 重复",
    "20005": "无权限",
    "30001": "内容安全审核未通过",
    "30002": "文件类型不支持",
    "30003": "文件过大",
    "40004": "信息不存在",
    "40009": "信息状态不允许此操作",
    "42900": "请求过于频繁",
    "50000": "系统繁忙",
    "50300": "服务维护中",
}
NOT_FOUND_CODE = "40004"

TITLE_MAX_CHARS = 40
SUMMARY_MAX_CHARS = 120
COVER_MAX_BYTES = 2 * 1024 * 1024
COVER_KINDS = frozenset({"jpeg", "png"})
IMAGE_MAX_BYTES = 5 * 1024 * 1024

_STATES = {
    "PENDING_REVIEW": RemoteState.SUBMITTED,
    "ONLINE": RemoteState.PUBLISHED,
    "REJECTED": RemoteState.REJECTED,
    "OFFLINE": RemoteState.RETRACTED,
}


class SuishenbanSettings(SignedSettings):
    column_code: str = Field(min_length=1)  # the store's information column


class SuishenbanChannel(SignedHttpChannel):
    name: ClassVar[str] = "suishenban"
    display_name: ClassVar[str] = "随申办旗舰店"
    kind: ClassVar[ChannelKind] = ChannelKind.OWN
    capabilities: ClassVar[Capabilities] = Capabilities(
        async_confirmation=True, dedupes_by_key=True
    )
    settings_model: ClassVar[type[ChannelSettings]] = SuishenbanSettings
    settings: SuishenbanSettings
    error_codes: ClassVar[Mapping[str | int, type[ChannelError]]] = {
        "10001": ConfigurationInvalid,
        "10002": ContentRejected,
        "20001": ConfigurationInvalid,
        "20002": ConfigurationInvalid,
        "20003": CredentialsExpired,
        "20004": CredentialsExpired,
        "20005": ConfigurationInvalid,
        "30001": ContentRejected,
        "30002": ContentRejected,
        "30003": ContentRejected,
        "40004": Permanent,
        "40009": Permanent,
        "42900": RateLimited,
        "50000": Unavailable,
        "50300": Unavailable,
    }
    simulator: ClassVar[str | None] = "channels.simulators.suishenban:SuishenbanSimulator"
    page_hosts: ClassVar[tuple[str, ...]] = ("zwdt.sh.gov.cn",)

    api: ClassVar[SignedApi] = SignedApi(
        prefix="/open/api",
        article="/info/{id}",
        retract="/info/{id}/offline",
        upload="/file/upload",
        upload_fields=("fileId", "url"),
        not_found_code=NOT_FOUND_CODE,
        state_field="status",
        reason_fields=("rejectReason", "offlineReason"),
    )
    limits: ClassVar[SignedLimits] = SignedLimits(
        title_max_chars=TITLE_MAX_CHARS,
        summary_max_chars=SUMMARY_MAX_CHARS,
        image_max_bytes=IMAGE_MAX_BYTES,
    )
    states: ClassVar[Mapping[str, RemoteState]] = _STATES

    # --- validate (pure) -------------------------------------------------------------------

    def _cover_problems(self, cover: Image | None) -> list[Problem]:
        if cover is None:
            return [Problem("cover_missing", "随申办旗舰店的信息须有封面图", "cover")]
        return rendering.image_problems(
            cover, field="cover", max_bytes=COVER_MAX_BYTES, kinds=COVER_KINDS
        )

    @staticmethod
    def summary(item: Item) -> str:
        """The digest, or the start of the text when the item has none."""
        if item.digest.strip():
            return item.digest
        text = " ".join(rendering.text_of(rendering.clean_html(item.body_html)).split())
        return text if len(text) <= SUMMARY_MAX_CHARS else text[: SUMMARY_MAX_CHARS - 1] + "…"

    # --- operations ------------------------------------------------------------------------

    def publish(self, item: Item, idempotency_key: str) -> Receipt:
        problems = self.validate(item)
        if problems or item.cover is None:
            raise ContentRejected(
                "稿件不符合随申办旗舰店的要求", problems=tuple(problems), channel=self.name
            )
        cover_id = self._upload_image(item.cover)["fileId"]
        image_urls = {image.sha256: self._upload_image(image)["url"] for image in item.images}
        info = self._push(item, idempotency_key, cover_id, image_urls)
        receipt = self._receipt(info)
        log.info("随申办旗舰店已接收稿件 %s：%s", item.reference, receipt.state.value)
        return receipt

    def find(self, idempotency_key: str, since: datetime | None = None) -> Receipt | None:
        response = self._request(
            "GET", "/info", changes_state=False, params={"bizNo": idempotency_key}
        )
        found = self._answer(response, changes_state=False).get("list")
        if not isinstance(found, list) or not all(isinstance(i, dict) for i in found):
            raise self._garbage(changes_state=False)
        return self._receipt(found[0]) if found else None

    # --- steps -----------------------------------------------------------------------------

    def _push(
        self, item: Item, key: str, cover_id: str, image_urls: Mapping[str, str]
    ) -> dict[str, Any]:
        payload = {
            "bizNo": key,
            "columnCode": self.settings.column_code,
            "title": item.title,
            "summary": self.summary(item),
            "content": self.render_content(item, image_urls),
            "coverFileId": cover_id,
            "author": item.author,
            "publishDate": item.publish_date.isoformat() if item.publish_date else "",
            "sourceName": item.source.platform if item.source else "",
            "sourceUrl": item.source.url if item.source else "",
        }
        response = self._request("POST", "/info/push", changes_state=True, json=payload)
        return self._answer(response, changes_state=True, required=("infoId", "status"))

    # --- answers ---------------------------------------------------------------------------

    def _answer(
        self, response: requests.Response, *, changes_state: bool, required: tuple[str, ...] = ()
    ) -> dict[str, Any]:
        """`data` of a successful answer; the mapped error otherwise."""
        body = json_body(response, channel=self.name, changes_state=changes_state)
        if not isinstance(body, dict) or "code" not in body:
            raise self._garbage(changes_state)
        code = str(body["code"])
        if code != "0":
            data = body.get("data")
            raise self._error(
                response,
                code,
                meaning=DOCUMENTED_ERROR_CODES.get(code, "未知错误"),
                detail=body.get("msg", ""),
                problems=problems_from(data.get("problems")) if isinstance(data, dict) else (),
            )
        data = body.get("data")
        if response.status_code != 200 or not isinstance(data, dict):
            raise self._garbage(changes_state)
        if any(not isinstance(data.get(key), str) for key in required):
            raise self._garbage(changes_state)
        return data

    def _receipt(self, info: Mapping[str, Any]) -> Receipt:
        return Receipt(
            channel=self.name,
            idempotency_key=str(info.get("bizNo", "")),
            external_id=str(info["infoId"]),
            state=_STATES.get(str(info.get("status")), RemoteState.SUBMITTED),
            url=str(info.get("url") or ""),
        )
