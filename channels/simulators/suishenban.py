"""随申办旗舰店 on loopback: the contract of docs/channels/suishenban.md, with fault knobs.

Review is simulated lazily: a pushed item stays PENDING_REVIEW until `confirm_delay_s` (as set
when it was pushed) has passed, then reads as ONLINE, or REJECTED when its title contains
`REJECT_MARKER`.

An ONLINE item's page is `/info/<id>.html`, its images `/files/<id>.<ext>`; an item in review,
rejected or taken offline answers 404. The back-end form of assisted mode is under `/cms/`.
"""

from __future__ import annotations

import re
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from flask import Blueprint, Response, jsonify, request
from flask.typing import ResponseReturnValue

from channels.signing import SignatureFailure
from channels.simulators.cms import CmsPost
from channels.simulators.faults import FaultConfig, FaultKind
from channels.simulators.live.page import LivePage
from channels.simulators.pages import PageArticle
from channels.simulators.signed import (
    IMAGE_TYPES,
    SignedApiSimulator,
    now_iso,
    problem,
    sensitive_word,
    take_down_reason,
)

BIZ_NO = re.compile(r"[A-Za-z0-9._:-]{1,64}")
COVER_TYPES = {"image/jpeg", "image/png"}
IMAGE_MAX_BYTES = 5 * 1024 * 1024
COVER_MAX_BYTES = 2 * 1024 * 1024
REJECT_MARKER = "驳回测试"

SIGNATURE_CODES = {
    SignatureFailure.MISSING: ("20002", "缺少签名信息"),
    SignatureFailure.APP_KEY_UNKNOWN: ("20001", "appKey 不存在"),
    SignatureFailure.INVALID: ("20002", "签名错误"),
    SignatureFailure.EXPIRED: ("20003", "签名已过期"),
    SignatureFailure.NONCE_REUSED: ("20004", "nonce 重复"),
}


def ok(data: dict[str, Any]) -> Response:
    return jsonify({"code": "0", "msg": "成功", "data": data})


def fail(code: str, msg: str, *, status: int = 200, **data: Any) -> Response:
    response = jsonify({"code": code, "msg": msg, "data": data or None})
    response.status_code = status
    return response


@dataclass
class Info:
    id: str
    biz_no: str
    column_code: str
    title: str
    content: str
    url: str
    push_time: str
    review_done_at: float  # monotonic time the review ends
    rejected_by_review: bool
    offline_reason: str = ""
    source: str = ""  # for the page's 来源 line: a repost's origin
    editor: str = ""

    def status(self) -> str:
        if self.offline_reason:
            return "OFFLINE"
        if time.monotonic() < self.review_done_at:
            return "PENDING_REVIEW"
        return "REJECTED" if self.rejected_by_review else "ONLINE"

    def as_json(self) -> dict[str, Any]:
        status = self.status()
        shown = status in ("ONLINE", "OFFLINE")
        return {
            "infoId": self.id,
            "bizNo": self.biz_no,
            "columnCode": self.column_code,
            "title": self.title,
            "status": status,
            "url": self.url if shown else "",
            "rejectReason": "标题含驳回测试标记（模拟审核）" if status == "REJECTED" else "",
            "offlineReason": self.offline_reason,
            "pushTime": self.push_time,
            "onlineTime": self.push_time if shown else None,
        }


class SuishenbanSimulator(SignedApiSimulator[Info]):
    name: ClassVar[str] = "suishenban"
    display_name: ClassVar[str] = "随申办旗舰店"
    cms_columns: ClassVar[tuple[tuple[str, str], ...]] = (
        ("qp-zwxx", "政务资讯"),
        ("qp-bmfw", "便民服务"),
        ("qp-tzgg", "通知公告"),
    )
    signature_codes = SIGNATURE_CODES
    api_blueprint = "zsb_open_api"
    api_prefix = "/open/api"
    page_rule = "/info/<info_id>.html"
    file_id_prefix = "F"
    id_field = "infoId"

    def __init__(
        self,
        faults: FaultConfig | None = None,
        *,
        app_key: str = "zsb-sim-app",
        app_secret: str = "zsb-sim-secret",
        column_code: str = "qp-zwxx",
    ) -> None:
        super().__init__(faults, app_key=app_key, app_secret=app_secret)
        self.column_code = column_code

    def client_settings(self, base_url: str) -> dict[str, Any]:
        return self.signed_settings(base_url, column_code=self.column_code)

    # --- routes ----------------------------------------------------------------------------

    def api_routes(self, api: Blueprint) -> None:
        api.post("/file/upload")(self._upload)
        api.post("/info/push")(self._push)
        api.get("/info")(self._find)
        api.get("/info/<info_id>")(self._get)
        api.post("/info/<info_id>/offline")(self._offline)

    def signature_refusal(self, code: str, message: str) -> Response:
        return fail(code, message)

    def fault_answer(self, fault: FaultKind) -> Response:
        if fault is FaultKind.RATE_LIMIT:
            return fail("42900", "请求过于频繁（模拟）", status=429)
        if fault is FaultKind.TOKEN_EXPIRED:
            return fail("20003", "签名已过期（模拟）")
        if fault is FaultKind.CONTENT_REJECTED:
            return fail("30001", "内容安全审核未通过（模拟）", problems=[sensitive_word()])
        return fail("50300", "服务维护中（模拟）", status=503)

    def _upload(self) -> ResponseReturnValue:
        upload = request.files.get("file")
        if upload is None:
            return fail("10001", "缺少文件")
        data = upload.read()
        ext = IMAGE_TYPES.get(upload.mimetype)
        if ext is None:
            return fail("30002", f"文件类型不支持：{upload.mimetype}")
        if len(data) > IMAGE_MAX_BYTES:
            return fail("30003", "文件过大")
        stored, _ = self._receive_file(upload.filename or "file", upload.mimetype, data, ext)
        self.note("upload", filename=upload.filename, size=len(data), fileId=stored.id)
        return ok({"fileId": stored.id, "url": stored.url})

    def _push(self) -> ResponseReturnValue:
        body = request.get_json(silent=True)
        if not isinstance(body, dict) or not BIZ_NO.fullmatch(str(body.get("bizNo", ""))):
            return fail("10001", "参数错误：须为 JSON 对象且 bizNo 合规")
        biz_no = str(body["bizNo"])
        with self._lock:
            if biz_no in self._by_key:
                info = self._records[self._by_key[biz_no]]
                self.note("push_replayed", bizNo=biz_no, infoId=info.id)
                return ok(info.as_json() | {"duplicate": True})
            if body.get("columnCode") != self.column_code:
                return fail("20005", "无权限：栏目未授权")
            problems = self._problems(body)
            if problems:
                return fail("10002", "字段校验未通过", problems=problems)
            info = self._accept(biz_no, body)
            count = self.ledger.published(biz_no)
            answer = info.as_json() | {"duplicate": False}
        self.note("push", bizNo=biz_no, infoId=info.id, title=info.title, count=count)
        dropped = self._dropped_reply(info.id)
        return dropped if dropped is not None else ok(answer)

    def _accept(self, biz_no: str, body: dict[str, Any]) -> Info:
        info_id = f"I{uuid.uuid4().hex[:16]}"
        info = Info(
            id=info_id,
            biz_no=biz_no,
            column_code=self.column_code,
            title=body["title"],
            content=body["content"],
            url=self.public_url(f"/info/{info_id}.html"),
            push_time=now_iso(),
            review_done_at=time.monotonic() + self.faults.config.confirm_delay_s,
            rejected_by_review=REJECT_MARKER in body["title"],
            source=str(body.get("sourceName") or ""),
            editor=str(body.get("author") or ""),
        )
        self._file_record(biz_no, info)
        self._settle(info)
        return info

    def _problems(self, body: dict[str, Any]) -> list[dict[str, str]]:
        problems = []
        title, summary, content = body.get("title"), body.get("summary"), body.get("content")
        if not isinstance(title, str) or not 1 <= len(title.strip()) <= 40:
            problems.append(problem("title", "title_length", "标题须为 1 至 40 字"))
        if not isinstance(summary, str) or not 1 <= len(summary.strip()) <= 120:
            problems.append(problem("summary", "summary_length", "摘要须为 1 至 120 字"))
        cover = self._files.get(str(body.get("coverFileId", "")))
        if cover is None or cover.mime not in COVER_TYPES or len(cover.data) > COVER_MAX_BYTES:
            problems.append(
                problem("coverFileId", "cover_invalid", "封面须为已上传的 JPG/PNG（≤2MB）")
            )
        problems += self.content_problems(content)
        return problems

    def _get(self, info_id: str) -> ResponseReturnValue:
        with self._lock:
            info = self._records.get(info_id)
            return ok(info.as_json()) if info else fail("40004", "信息不存在")

    def _find(self) -> ResponseReturnValue:
        biz_no = request.args.get("bizNo", "")
        if not biz_no:
            return fail("10001", "缺少 bizNo")
        found = self.record_by_key(biz_no)
        return ok({"total": 1 if found else 0, "list": [found] if found else []})

    def _offline(self, info_id: str) -> ResponseReturnValue:
        reason = take_down_reason()
        if reason is None:
            return fail("10001", "下线须说明理由（不超过 200 字）")
        with self._lock:
            info = self._records.get(info_id)
            if info is None:
                return fail("40004", "信息不存在")
            if info.status() == "REJECTED":
                return fail("40009", "审核未通过的信息无需下线")
            self._take_down(info, reason)
            answer = info.as_json()
        self.note("offline", infoId=info_id, reason=reason)
        return ok(answer)

    # --- public pages ----------------------------------------------------------------------

    def settle_pages(self) -> None:
        """Items whose review has ended since they were last looked at go online."""
        with self._lock:
            for info in self._records.values():
                self._settle(info)

    def _settle(self, info: Info) -> None:
        if info.status() == "ONLINE" and not self.pages.has(info.url):
            self._go_live(info)

    def _go_live(self, info: Info) -> LivePage:
        published = datetime.fromisoformat(info.push_time)
        page = PageArticle(info.title, info.content, published, info.source, info.editor)
        return self.pages.add(LivePage(info.url, self.name, info.id, page, info.column_code))

    def _take_down(self, info: Info, reason: str) -> None:
        info.offline_reason = info.offline_reason or reason
        self.pages.take_down(info.url, 404)

    # --- the back-end (assisted mode) -------------------------------------------------------

    def cms_publish(self, post: CmsPost) -> LivePage:
        info_id = f"I{uuid.uuid4().hex[:16]}"
        info = Info(
            id=info_id,
            biz_no=f"cms:{info_id}",
            column_code=post.column,
            title=post.title,
            content=post.body_html,
            url=self.public_url(f"/info/{info_id}.html"),
            push_time=now_iso(),
            review_done_at=time.monotonic(),  # the store's own editors publish at once
            rejected_by_review=False,
            source=post.source,
            editor=post.editor,
        )
        with self._lock:
            self._file_record(info.biz_no, info)
            self.ledger.published(info.biz_no)
            page = self._go_live(info)
        self.note("cms_publish", bizNo=info.biz_no, infoId=info_id, title=post.title)
        return page

    def take_down_in_cms(self, record: Info) -> None:
        self._take_down(record, "在管理后台下线")
