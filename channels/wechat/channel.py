"""The 微信公众号 adapter (`WeChatChannel`): draft + free publish, status, callback, retract, find.

publish   cover -> material/add_material?type=thumb, inline images -> media/uploadimg,
          draft/add, freepublish/submit -> publish_id (SUBMITTED; the result comes later)
result    the PUBLISHJOBFINISH event (`parse_callback`), or sparingly freepublish/get
          (100 calls a day per account: `status` spends one from `status_quota`)
retract   freepublish/delete (the whole article, index 0)
find      the idempotency key rides in the body as `<section data-sanshen-key="KEY">`;
          freepublish/batchget then draft/batchget are searched for it, a few pages deep
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from contextlib import suppress
from datetime import UTC, datetime
from typing import Any, ClassVar

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
    ContentRejected,
    NotSupported,
    OutcomeUnknown,
    Permanent,
    Problem,
    RateLimited,
    Retryable,
    SearchInconclusive,
    Unavailable,
)
from channels.item import Image, Item
from channels.rendering import sniff_image
from channels.wechat.callback import verified_echostr, verified_publish_result
from channels.wechat.client import WeChatApi
from channels.wechat.content import WARNING_CODES, article_html, article_problems, body_images
from channels.wechat.errors import DOCUMENTED_ERROR_CODES, ERRORS, NAME
from channels.wechat.jobs import PUBLISH_STATUSES, PublishJob, polled_job
from channels.wechat.search import ArticleSearch
from channels.wechat.settings import WeChatSettings
from channels.wechat.store import DailyQuota, SendLog


class WeChatChannel(Channel):
    name: ClassVar[str] = NAME
    display_name: ClassVar[str] = "微信公众号"
    kind: ClassVar[ChannelKind] = ChannelKind.OWN
    capabilities: ClassVar[Capabilities] = Capabilities(
        async_confirmation=True, retract=True, find_by_key=True
    )
    settings_model: ClassVar[type[ChannelSettings]] = WeChatSettings
    error_codes: ClassVar[Mapping[str | int, type[ChannelError]]] = {
        code: cls for code, (cls, _) in ERRORS.items()
    }
    simulator: ClassVar[str | None] = "channels.simulators.wechat:WeChatSimulator"
    page_hosts: ClassVar[tuple[str, ...]] = ("mp.weixin.qq.com", "mmbiz.qpic.cn")  # images
    assisted: ClassVar[bool] = False  # the one platform with a real publishing API

    settings: WeChatSettings

    def __init__(self, settings: ChannelSettings) -> None:
        super().__init__(settings)
        assert isinstance(settings, WeChatSettings)
        self._wx = WeChatApi(settings)
        self.client = self._wx.client
        scope = self._wx.scope
        self._sent = SendLog(self._wx.storage, f"{scope}:sent")
        self.status_quota = DailyQuota(
            f"sanshen:wechat:{scope}:quota:freepublish_get",
            settings.status_checks_per_day,
            self._wx.redis,
        )
        self._articles = ArticleSearch(self._wx.call, self._sent, settings.find_pages)

    # --- validate -------------------------------------------------------------------------

    def validate(self, item: Item) -> list[Problem]:
        return article_problems(item)

    # --- publish --------------------------------------------------------------------------

    def publish(self, item: Item, idempotency_key: str) -> Receipt:
        """Upload, draft, submit; a key already sent gets its first receipt back instead.

        The send log says how far an earlier publish of this key got: submitted (its
        receipt), refused at submit (its draft is submitted now), or unknown (the platform is
        searched, and OutcomeUnknown raised again if it holds nothing yet).
        """
        self._refuse_invalid(item)
        record = self._sent.get(idempotency_key)
        if "receipt" in record:
            return Receipt.from_dict(record["receipt"])
        if record.get("submit") == "sending":
            at = record.get("at")
            since = datetime.fromtimestamp(at, UTC) if isinstance(at, int | float) else None
            try:
                found = self._articles.search(idempotency_key, drafts=True, since=since)
            except SearchInconclusive as error:
                raise OutcomeUnknown(str(error), channel=NAME) from error
            if found is None:
                raise OutcomeUnknown("上次发表的结果仍无法确认，请稍后核对", channel=NAME)
            return found
        if record.get("submit") != "refused":
            record = self._draft(item, idempotency_key)
        return self._submit(idempotency_key, record)

    def _refuse_invalid(self, item: Item) -> None:
        blocking = tuple(p for p in self.validate(item) if p.code not in WARNING_CODES)
        if blocking:
            raise ContentRejected(
                "稿件不符合微信公众号的要求",
                problems=blocking,
                channel=NAME,
            )

    def _draft(self, item: Item, key: str) -> dict[str, Any]:
        assert item.cover is not None  # validate reported it otherwise
        thumb = self._upload("material/add_material", item.cover, params={"type": "thumb"})
        thumb_media_id = self._wx.field(thumb, "media_id", changes_state=False)
        urls = {
            image.sha256: self._wx.field(
                self._upload("media/uploadimg", image), "url", changes_state=False
            )
            for image in body_images(item)
        }
        article = {
            "title": item.title,
            "author": item.author,
            "digest": item.digest,
            "content": article_html(item, key, urls),
            "content_source_url": item.source.url if item.source else "",
            "thumb_media_id": thumb_media_id,
            "need_open_comment": 0,
            "only_fans_can_comment": 0,
        }
        # A lost draft/add reply publishes nothing, but may leave a draft: OutcomeUnknown, and
        # a later publish of the key simply drafts again.
        draft = self._wx.call("draft/add", data={"articles": [article]}, changes_state=True)
        media_id = self._wx.field(draft, "media_id", changes_state=True)
        return {"media_id": media_id, "thumb_media_id": thumb_media_id}

    def _submit(self, key: str, draft: Mapping[str, Any]) -> Receipt:
        self._sent.put(key, dict(draft) | {"submit": "sending", "at": time.time()})
        try:
            job = self._wx.call(
                "freepublish/submit", data={"media_id": draft["media_id"]}, changes_state=True
            )
        except (Retryable, Permanent):
            with suppress(Unavailable):  # the refusal is the news, not the log
                self._sent.put(key, dict(draft) | {"submit": "refused"})
            raise
        publish_id = self._wx.field(job, "publish_id", changes_state=True)
        receipt = Receipt(
            channel=NAME,
            idempotency_key=key,
            external_id=publish_id,
            state=RemoteState.SUBMITTED,
            extra={
                "publish_id": publish_id,
                "msg_data_id": str(job.get("msg_data_id", "")),
                "media_id": str(draft["media_id"]),
                "thumb_media_id": str(draft["thumb_media_id"]),
            },
        )
        with suppress(Unavailable):  # submitted all the same: a lost log entry costs a search
            self._sent.put(key, {"receipt": receipt.as_dict()})
        return receipt

    def _upload(self, path: str, image: Image, **kw: Any) -> dict[str, Any]:
        # An upload publishes nothing: repeating it after a lost reply only leaves a spare copy.
        extension = "png" if sniff_image(image.data) == "png" else "jpg"
        media = (f"{image.sha256[:16]}.{extension}", image.data, image.mime)
        return self._wx.call(path, files={"media": media}, changes_state=False, **kw)

    # --- status ---------------------------------------------------------------------------

    def publish_job(self, publish_id: str) -> PublishJob:
        """freepublish/get, spending one of today's `status_quota` (RateLimited when none)."""
        self.status_quota.take()
        try:
            answer = self._wx.call(
                "freepublish/get", data={"publish_id": publish_id}, changes_state=False
            )
        except RateLimited as exc:
            if exc.platform_code == 45009:
                self.status_quota.exhaust()
            raise
        except Permanent as exc:
            if exc.platform_code == 53502:
                return PublishJob(publish_id, RemoteState.NOT_FOUND, "微信无此发布任务")
            raise
        return polled_job(publish_id, answer)

    def status(self, receipt: Receipt) -> Status:
        """freepublish/get when the receipt has a publish_id (quota-guarded), else by article."""
        extra = receipt.extra
        if extra.get("publish_id"):
            return self.publish_job(str(extra["publish_id"])).status
        if extra.get("article_id"):
            return self._article_status(str(extra["article_id"]))
        found = self.find(receipt.idempotency_key)
        if found is None:
            return Status(RemoteState.NOT_FOUND, reason="微信中未找到该稿件")
        return Status(found.state, url=found.url)

    def _article_status(self, article_id: str) -> Status:
        try:
            answer = self._wx.call(
                "freepublish/getarticle", data={"article_id": article_id}, changes_state=False
            )
        except Permanent as exc:
            if exc.platform_code == 53600:
                return Status(RemoteState.NOT_FOUND, reason="微信无此文章")
            raise
        news = answer.get("news_item") or [{}]
        if any(n.get("is_deleted") for n in news):
            return Status(RemoteState.RETRACTED, reason=PUBLISH_STATUSES[5][1])
        return Status(RemoteState.PUBLISHED, url=str(news[0].get("url", "")))

    # --- callback -------------------------------------------------------------------------

    def parse_callback(self, query: Mapping[str, str], body: bytes) -> PublishJob | None:
        """The publish result a WeChat event carries, verified; None for any other event.

        One that does not verify raises CallbackRejected: answer 403 and act on nothing (see
        `channels.wechat.callback`)."""
        return verified_publish_result(self.settings, query, body)

    def verify_url(self, query: Mapping[str, str]) -> str:
        """The `echostr` to answer WeChat's GET when the server URL is configured."""
        return verified_echostr(self.settings, query)

    # --- retract --------------------------------------------------------------------------

    def retract(self, receipt: Receipt, reason: str) -> Status:
        """freepublish/delete of the whole article (10 a day per account)."""
        article_id, current = self._live_article(receipt)
        if current is not None:
            return current  # nothing live to withdraw
        self._wx.call(
            "freepublish/delete",
            data={"article_id": article_id, "index": 0},
            changes_state=True,
        )
        return Status(RemoteState.RETRACTED)

    def _live_article(self, receipt: Receipt) -> tuple[str, Status | None]:
        """The article_id to delete, or the status that says there is nothing to delete."""
        extra = receipt.extra
        if extra.get("article_id"):
            return str(extra["article_id"]), None
        if extra.get("draft_only"):
            found = self.find(receipt.idempotency_key)
            if found is not None and found.extra.get("article_id"):
                return self._live_article(found)
            state = found.state if found else RemoteState.NOT_FOUND
            job = PublishJob("", state)
        else:
            job = self.publish_job(str(extra.get("publish_id") or receipt.external_id))
        if job.state is RemoteState.SUBMITTED:
            raise NotSupported("微信无法撤回进行中的发表，须待发表完成后再删除", channel=NAME)
        if job.state is not RemoteState.PUBLISHED:
            return "", job.status
        return job.article_id, None

    # --- find -----------------------------------------------------------------------------

    def find(self, idempotency_key: str, since: datetime | None = None) -> Receipt | None:
        """The receipt this key got, else the published article carrying its marker, else its
        draft (unless the send log knows the draft was never submitted).

        A draft alone means "not published (yet)": the submit may be running, may have failed
        or may never have arrived. It is returned as SUBMITTED with `draft_only`, so nothing
        is resent blindly; `status` of that receipt searches again.

        The lists are newest first and WeChat cannot be asked by key, so "nothing" needs the
        search to have reached back past `since` (the first send) in both lists, or to have
        seen all of them; when `find_pages` ran out first, `SearchInconclusive`. Without
        `since`, the search is the newest `find_pages` pages (a recent send's settling).
        """
        record = self._sent.get(idempotency_key)
        if "receipt" in record:
            return Receipt.from_dict(record["receipt"])
        drafts = record.get("submit") != "refused"
        return self._articles.search(idempotency_key, drafts=drafts, since=since)


# The contract suite reads the documented codes from the adapter's own module.
__all__ = ["DOCUMENTED_ERROR_CODES", "WeChatChannel"]
