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
from pydantic import Field, SecretStr

from channels import rendering
from channels.base import (
    Capabilities,
    Channel,
    ChannelKind,
    ChannelSettings,
    Receipt,
    RemoteState,
    Status,
)
from channels.errors import (
    ChannelError,
    ConfigurationInvalid,
    ContentRejected,
    CredentialsExpired,
    OutcomeUnknown,
    Permanent,
    Problem,
    RateLimited,
    Unavailable,
)
from channels.http import call, json_body, retry_after
from channels.item import Image, Item
from channels.signing import HmacAuth

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


class SuishenbanSettings(ChannelSettings):
    app_key: str = Field(min_length=1)
    app_secret: SecretStr
    column_code: str = Field(min_length=1)  # the store's information column


class SuishenbanChannel(Channel):
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

    def __init__(self, settings: SuishenbanSettings) -> None:
        super().__init__(settings)
        self._session = requests.Session()
        self._session.auth = HmacAuth(settings.app_key, settings.app_secret)

    # --- validate (pure) -------------------------------------------------------------------

    def validate(self, item: Item) -> list[Problem]:
        problems = rendering.title_problems(item.title, max_chars=TITLE_MAX_CHARS)
        problems += rendering.body_problems(item.body_html)
        problems += rendering.body_image_problems(item, max_bytes=IMAGE_MAX_BYTES)
        if item.cover is None:
            problems.append(Problem("cover_missing", "随申办旗舰店的信息须有封面图", "cover"))
        else:
            problems += rendering.image_problems(
                item.cover, field="cover", max_bytes=COVER_MAX_BYTES, kinds=COVER_KINDS
            )
        if len(item.digest) > SUMMARY_MAX_CHARS:
            problems.append(
                Problem("digest_too_long", f"摘要超过 {SUMMARY_MAX_CHARS} 字", "digest")
            )
        return problems + rendering.source_problems(item.source)

    @staticmethod
    def summary(item: Item) -> str:
        """The digest, or the start of the text when the item has none."""
        if item.digest.strip():
            return item.digest
        text = " ".join(rendering.text_of(rendering.clean_html(item.body_html)).split())
        return text if len(text) <= SUMMARY_MAX_CHARS else text[: SUMMARY_MAX_CHARS - 1] + "…"

    @staticmethod
    def render_content(item: Item, image_urls: Mapping[str, str]) -> str:
        body = item.body_html
        if item.source is not None:
            body = rendering.with_source_line(body, item.source)
        return rendering.rewrite_images(body, image_urls)

    # --- operations ------------------------------------------------------------------------

    def publish(self, item: Item, idempotency_key: str) -> Receipt:
        problems = self.validate(item)
        if problems or item.cover is None:
            raise ContentRejected(
                "稿件不符合随申办旗舰店的要求", problems=tuple(problems), channel=self.name
            )
        cover_id = self._upload(item.cover)["fileId"]
        image_urls = {image.sha256: self._upload(image)["url"] for image in item.images}
        info = self._push(item, idempotency_key, cover_id, image_urls)
        receipt = self._receipt(info)
        log.info("随申办旗舰店已接收稿件 %s：%s", item.reference, receipt.state.value)
        return receipt

    def status(self, receipt: Receipt) -> Status:
        response = self._request("GET", f"/info/{receipt.external_id}", changes_state=False)
        return self._info_status(response, changes_state=False)

    def retract(self, receipt: Receipt, reason: str) -> Status:
        response = self._request(
            "POST",
            f"/info/{receipt.external_id}/offline",
            changes_state=True,
            json={"reason": reason},
        )
        return self._info_status(response, changes_state=True)

    def find(self, idempotency_key: str, since: datetime | None = None) -> Receipt | None:
        response = self._request(
            "GET", "/info", changes_state=False, params={"bizNo": idempotency_key}
        )
        found = self._answer(response, changes_state=False).get("list")
        if not isinstance(found, list) or not all(isinstance(i, dict) for i in found):
            raise self._garbage(changes_state=False)
        return self._receipt(found[0]) if found else None

    # --- steps -----------------------------------------------------------------------------

    def _upload(self, image: Image) -> dict[str, Any]:
        # An upload shows nowhere and the same bytes give the same file: repeating it is
        # harmless, so a lost answer is Unavailable (nothing published), not OutcomeUnknown.
        response = self._request(
            "POST",
            "/file/upload",
            changes_state=False,
            files={"file": (image.filename, image.data, image.mime)},
        )
        return self._answer(response, changes_state=False, required=("fileId", "url"))

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

    # --- HTTP and answers ------------------------------------------------------------------

    def _request(
        self, method: str, path: str, *, changes_state: bool, **kwargs: Any
    ) -> requests.Response:
        return call(
            self._session,
            method,
            f"{self.settings.api_root}/open/api{path}",
            channel=self.name,
            changes_state=changes_state,
            timeout=self.settings.timeout,
            **kwargs,
        )

    def _answer(
        self, response: requests.Response, *, changes_state: bool, required: tuple[str, ...] = ()
    ) -> dict[str, Any]:
        """`data` of a successful answer; the mapped error otherwise."""
        body = json_body(response, channel=self.name, changes_state=changes_state)
        if not isinstance(body, dict) or "code" not in body:
            raise self._garbage(changes_state)
        code = str(body["code"])
        if code != "0":
            raise self._error(response, code, body)
        data = body.get("data")
        if response.status_code != 200 or not isinstance(data, dict):
            raise self._garbage(changes_state)
        if any(not isinstance(data.get(key), str) for key in required):
            raise self._garbage(changes_state)
        return data

    def _garbage(self, changes_state: bool) -> ChannelError:
        cls = OutcomeUnknown if changes_state else Unavailable
        return cls("随申办旗舰店返回了不符合约定的内容", channel=self.name)

    def _error(
        self, response: requests.Response, code: str, body: Mapping[str, Any]
    ) -> ChannelError:
        meaning = DOCUMENTED_ERROR_CODES.get(code, "未知错误")
        message = f"随申办旗舰店：{meaning}（{body.get('msg', '')}）"
        cls = self.error_codes.get(code) or (
            RateLimited if response.status_code == 429 else Permanent
        )
        if issubclass(cls, RateLimited):
            wait = retry_after(response)
            return RateLimited(message, retry_after=wait, platform_code=code, channel=self.name)
        if issubclass(cls, ContentRejected):
            data = body.get("data")
            problems = _problems(data) if isinstance(data, dict) else ()
            return ContentRejected(
                message, problems=problems, platform_code=code, channel=self.name
            )
        return cls(message, platform_code=code, channel=self.name)

    def _receipt(self, info: Mapping[str, Any]) -> Receipt:
        return Receipt(
            channel=self.name,
            idempotency_key=str(info.get("bizNo", "")),
            external_id=str(info["infoId"]),
            state=_STATES.get(str(info.get("status")), RemoteState.SUBMITTED),
            url=str(info.get("url") or ""),
        )

    def _info_status(self, response: requests.Response, *, changes_state: bool) -> Status:
        try:
            info = self._answer(response, changes_state=changes_state)
        except Permanent as exc:
            if exc.platform_code == NOT_FOUND_CODE:
                return Status(RemoteState.NOT_FOUND)
            raise
        state = _STATES.get(str(info.get("status")))
        if state is None:
            raise self._garbage(changes_state)
        reason = info.get("rejectReason") or info.get("offlineReason") or ""
        return Status(state, url=str(info.get("url") or ""), reason=str(reason))


def _problems(data: Mapping[str, Any]) -> tuple[Problem, ...]:
    found = data.get("problems")
    if not isinstance(found, list):
        return ()
    return tuple(
        Problem(str(p.get("code", "")), str(p.get("message", "")), str(p.get("field", "")))
        for p in found
        if isinstance(p, dict)
    )
