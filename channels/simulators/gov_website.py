"""政府网站 on loopback: the contract of docs/channels/gov_website.md, with fault knobs.

A published article's page is `/articles/<id>.html` (GB2312-declared, GBK bytes, as the real
site), its images `/files/<id>.<ext>`; a withdrawn article's page answers 404. The back-end
form of assisted mode is under `/cms/`.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
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

KEY_PATTERN = re.compile(r"[A-Za-z0-9._:-]{1,128}")
# The simulator states the documented limits itself, not through the adapter's constants:
# an adapter that got them wrong would then be caught by it.
FILE_TYPES = {
    "application/pdf": ".pdf",
    "application/msword": ".doc",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
    "application/vnd.ms-excel": ".xls",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ".xlsx",
}
IMAGE_MAX_BYTES = 5 * 1024 * 1024
FILE_MAX_BYTES = 20 * 1024 * 1024

SIGNATURE_CODES = {
    SignatureFailure.MISSING: ("INVALID_SIGNATURE", "缺少签名信息"),
    SignatureFailure.APP_KEY_UNKNOWN: ("APP_KEY_UNKNOWN", "应用标识未登记"),
    SignatureFailure.INVALID: ("INVALID_SIGNATURE", "签名错误"),
    SignatureFailure.EXPIRED: ("SIGNATURE_EXPIRED", "签名已过期"),
    SignatureFailure.NONCE_REUSED: ("NONCE_REUSED", "随机串重复"),
}


def error(status: int, code: str, message: str, **extra: Any) -> Response:
    response = jsonify({"code": code, "message": message, **extra})
    response.status_code = status
    return response


@dataclass
class Article:
    id: str
    idempotency_key: str
    column_id: str
    title: str
    content: str
    created_at: str
    state: str = "draft"
    url: str = ""
    published_at: str | None = None
    withdraw_reason: str = ""
    reject_reason: str = ""
    source: str = ""  # for the page's 来源 line: a repost's origin, else the site's default
    editor: str = ""

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "column_id": self.column_id,
            "idempotency_key": self.idempotency_key,
            "state": self.state,
            "title": self.title,
            "url": self.url,
            "created_at": self.created_at,
            "published_at": self.published_at,
            "withdraw_reason": self.withdraw_reason,
            "reject_reason": self.reject_reason,
        }


class GovWebsiteSimulator(SignedApiSimulator[Article]):
    name: ClassVar[str] = "gov_website"
    display_name: ClassVar[str] = "政府网站"
    cms_columns: ClassVar[tuple[tuple[str, str], ...]] = (
        ("qpzwfw", "政务服务动态"),
        ("qpyw", "青浦要闻"),
        ("tzgg", "通知公告"),
    )
    signature_codes = SIGNATURE_CODES
    api_blueprint = "gov_api"
    api_prefix = "/api/v1"
    page_rule = "/articles/<article_id>.html"
    file_id_prefix = "att_"
    id_field = "id"

    def __init__(
        self,
        faults: FaultConfig | None = None,
        *,
        app_key: str = "gov-sim-app",
        app_secret: str = "gov-sim-secret",
        column_id: str = "qpzwfw",
    ) -> None:
        super().__init__(faults, app_key=app_key, app_secret=app_secret)
        self.column_id = column_id

    def client_settings(self, base_url: str) -> dict[str, Any]:
        return self.signed_settings(base_url, column_id=self.column_id)

    # --- routes ----------------------------------------------------------------------------

    def api_routes(self, api: Blueprint) -> None:
        api.post("/attachments")(self._upload)
        api.post("/articles")(self._create)
        api.get("/articles")(self._find)
        api.get("/articles/<article_id>")(self._get)
        api.post("/articles/<article_id>/publish")(self._publish)
        api.post("/articles/<article_id>/withdraw")(self._withdraw)

    def signature_refusal(self, code: str, message: str) -> Response:
        return error(401, code, message)

    def fault_answer(self, fault: FaultKind) -> Response:
        if fault is FaultKind.RATE_LIMIT:
            wait = self.faults.config.retry_after_s
            return error(429, "RATE_LIMITED", "请求过于频繁（模拟）", retry_after=wait)
        if fault is FaultKind.TOKEN_EXPIRED:
            return error(401, "SIGNATURE_EXPIRED", "签名已过期（模拟）")
        if fault is FaultKind.CONTENT_REJECTED:
            problems = [sensitive_word()]
            return error(422, "CONTENT_REJECTED", "内容未通过网站审查（模拟）", problems=problems)
        return error(503, "SERVICE_UNAVAILABLE", "网站维护中（模拟）")

    def _upload(self) -> ResponseReturnValue:
        upload = request.files.get("file")
        if upload is None:
            return error(400, "INVALID_REQUEST", "缺少文件")
        data = upload.read()
        mime = upload.mimetype
        ext = IMAGE_TYPES.get(mime) or FILE_TYPES.get(mime)
        if ext is None:
            return error(415, "UNSUPPORTED_FILE_TYPE", f"不支持的文件类型 {mime}")
        if len(data) > (IMAGE_MAX_BYTES if mime in IMAGE_TYPES else FILE_MAX_BYTES):
            return error(413, "FILE_TOO_LARGE", "文件超过大小上限")
        stored, known = self._receive_file(upload.filename or "file", mime, data, ext)
        self.note("upload", filename=stored.filename, size=len(data), id=stored.id)
        return jsonify(stored.as_json()), 200 if known else 201

    def _create(self) -> ResponseReturnValue:
        key = request.headers.get("Idempotency-Key", "")
        if not KEY_PATTERN.fullmatch(key):
            return error(400, "INVALID_REQUEST", "缺少或不合规的 Idempotency-Key")
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            return error(400, "INVALID_REQUEST", "请求体须为 JSON 对象")
        with self._lock:
            if key in self._by_key:
                article = self._records[self._by_key[key]]
                self.note("create_replayed", key=key, id=article.id)
                return jsonify(article.as_json()), 200
            if body.get("column_id") != self.column_id:
                return error(403, "PERMISSION_DENIED", "无权发布到该栏目")
            problems = self._problems(body)
            if problems:
                return error(422, "VALIDATION_FAILED", "字段不符合要求", problems=problems)
            article = Article(
                id=f"art_{uuid.uuid4().hex[:16]}",
                idempotency_key=key,
                column_id=self.column_id,
                title=body["title"],
                content=body["content"],
                created_at=now_iso(),
                source=_source_name(body.get("source")),
                editor=str(body.get("author") or ""),
            )
            self._file_record(key, article)
        self.note("create", key=key, id=article.id, title=article.title)
        return jsonify(article.as_json()), 201

    def _problems(self, body: dict[str, Any]) -> list[dict[str, str]]:
        problems = []
        title, content, summary = body.get("title"), body.get("content"), body.get("summary")
        if not isinstance(title, str) or not 1 <= len(title.strip()) <= 80:
            problems.append(problem("title", "title_length", "标题须为 1 至 80 字"))
        problems += self.content_problems(content)
        if summary is not None and (not isinstance(summary, str) or len(summary) > 200):
            problems.append(problem("summary", "summary_length", "摘要不超过 200 字"))
        return problems

    def _publish(self, article_id: str) -> ResponseReturnValue:
        with self._lock:
            article = self._records.get(article_id)
            if article is None:
                return error(404, "ARTICLE_NOT_FOUND", "文章不存在")
            if article.state in ("withdrawn", "rejected"):
                return error(409, "ARTICLE_STATE_CONFLICT", "文章已撤下，不能发布")
            if article.state == "draft":
                self._go_live(article)
                count = self.ledger.count(article.idempotency_key)
                self.note("publish", key=article.idempotency_key, id=article.id, count=count)
            answer = article.as_json()
        dropped = self._dropped_reply(article_id)
        return dropped if dropped is not None else jsonify(answer)

    def _get(self, article_id: str) -> ResponseReturnValue:
        with self._lock:
            article = self._records.get(article_id)
            if article is None:
                return error(404, "ARTICLE_NOT_FOUND", "文章不存在")
            return jsonify(article.as_json())

    def _find(self) -> ResponseReturnValue:
        key = request.args.get("idempotency_key", "")
        if not key:
            return error(400, "INVALID_REQUEST", "缺少 idempotency_key")
        return jsonify({"items": [a] if (a := self.record_by_key(key)) else []})

    def _withdraw(self, article_id: str) -> ResponseReturnValue:
        reason = take_down_reason()
        if reason is None:
            return error(400, "INVALID_REQUEST", "撤稿须说明理由（不超过 200 字）")
        with self._lock:
            article = self._records.get(article_id)
            if article is None:
                return error(404, "ARTICLE_NOT_FOUND", "文章不存在")
            if article.state != "withdrawn":
                self._take_down(article, reason)
            answer = article.as_json()
        self.note("withdraw", id=article_id, reason=reason)
        return jsonify(answer)

    # --- public pages ----------------------------------------------------------------------

    def _go_live(self, article: Article) -> LivePage:
        """Publish a draft (under the lock): its URL, its page, the ledger."""
        now = datetime.now(UTC)
        article.state = "published"
        article.published_at = now.isoformat()
        article.url = self.public_url(f"/articles/{article.id}.html")
        page = PageArticle(
            article.title, article.content, now, source=article.source, editor=article.editor
        )
        self.ledger.published(article.idempotency_key)
        return self.pages.add(LivePage(article.url, self.name, article.id, page, article.column_id))

    def _take_down(self, article: Article, reason: str) -> None:
        article.state = "withdrawn"
        article.withdraw_reason = reason
        if article.url:
            self.pages.take_down(article.url, 404)

    # --- the back-end (assisted mode) -------------------------------------------------------

    def cms_publish(self, post: CmsPost) -> LivePage:
        article_id = f"art_{uuid.uuid4().hex[:16]}"
        article = Article(
            id=article_id,
            idempotency_key=f"cms:{article_id}",
            column_id=post.column,
            title=post.title,
            content=post.body_html,
            created_at=now_iso(),
            source=post.source,
            editor=post.editor,
        )
        with self._lock:
            self._file_record(article.idempotency_key, article)
            page = self._go_live(article)
        self.note("cms_publish", key=article.idempotency_key, id=article.id, title=post.title)
        return page

    def take_down_in_cms(self, record: Article) -> None:
        if record.state != "withdrawn":
            self._take_down(record, "在管理后台删除")


def _source_name(source: Any) -> str:
    """A repost's origin from the API's `source` object; "" for an original."""
    return str(source.get("name") or "") if isinstance(source, dict) else ""
