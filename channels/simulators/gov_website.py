"""政府网站 on loopback: the contract of docs/channels/gov_website.md, with fault knobs.

A published article's page is `/articles/<id>.html` (GB2312-declared, GBK bytes, as the real
site), its images `/files/<id>.<ext>`; a withdrawn article's page answers 404. The back-end
form of assisted mode is under `/cms/`.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar

from flask import Blueprint, Flask, Response, jsonify, request
from flask.typing import ResponseReturnValue
from pydantic import SecretStr

from channels.signing import SignatureFailure, SignatureRejected, SignatureVerifier
from channels.simulators.base import FaultConfig, FaultKind, Simulator, cut_connection
from channels.simulators.cms import CmsPost
from channels.simulators.live import LivePage
from channels.simulators.pages import PageArticle

KEY_PATTERN = re.compile(r"[A-Za-z0-9._:-]{1,128}")
IMG_SRC = re.compile(r"<img\b[^>]*?\bsrc=\"([^\"]*)\"", re.IGNORECASE)
IMAGE_TYPES = {"image/jpeg": ".jpg", "image/png": ".png", "image/gif": ".gif"}
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


def _now() -> str:
    return datetime.now(UTC).isoformat()


def error(status: int, code: str, message: str, **extra: Any) -> Response:
    response = jsonify({"code": code, "message": message, **extra})
    response.status_code = status
    return response


@dataclass
class StoredFile:
    id: str
    sha256: str
    filename: str
    mime: str
    data: bytes = field(repr=False)
    url: str

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "url": self.url,
            "mime": self.mime,
            "size": len(self.data),
            "sha256": self.sha256,
        }


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


class GovWebsiteSimulator(Simulator):
    name: ClassVar[str] = "gov_website"
    display_name: ClassVar[str] = "政府网站"
    cms_columns: ClassVar[tuple[tuple[str, str], ...]] = (
        ("qpzwfw", "政务服务动态"),
        ("qpyw", "青浦要闻"),
        ("tzgg", "通知公告"),
    )

    def __init__(
        self,
        faults: FaultConfig | None = None,
        *,
        app_key: str = "gov-sim-app",
        app_secret: str = "gov-sim-secret",
        column_id: str = "qpzwfw",
    ) -> None:
        super().__init__(faults)
        self.app_key = app_key
        self._app_secret = SecretStr(app_secret)
        self.column_id = column_id
        self._verifier = SignatureVerifier({app_key: self._app_secret})
        self._files: dict[str, StoredFile] = {}
        self._articles: dict[str, Article] = {}
        self._by_key: dict[str, str] = {}

    def client_settings(self, base_url: str) -> dict[str, Any]:
        return {
            "base_url": base_url,
            "app_key": self.app_key,
            "app_secret": self._app_secret.get_secret_value(),
            "column_id": self.column_id,
            "read_timeout": 5.0,
        }

    def reset(self) -> None:
        with self._lock:
            super().reset()
            self._files.clear()
            self._articles.clear()
            self._by_key.clear()

    def article_by_key(self, key: str) -> dict[str, Any] | None:
        """What the website holds for an idempotency key (for tests and the operator)."""
        with self._lock:
            article_id = self._by_key.get(key)
            return self._articles[article_id].as_json() if article_id else None

    # --- routes ----------------------------------------------------------------------------

    def routes(self, app: Flask) -> None:
        api = Blueprint("gov_api", __name__, url_prefix="/api/v1")
        api.before_request(self._guard)
        api.post("/attachments")(self._upload)
        api.post("/articles")(self._create)
        api.get("/articles")(self._find)
        api.get("/articles/<article_id>")(self._get)
        api.post("/articles/<article_id>/publish")(self._publish)
        api.post("/articles/<article_id>/withdraw")(self._withdraw)
        app.register_blueprint(api)
        app.get("/files/<name>")(self._file)
        app.get("/articles/<article_id>.html", endpoint="page")(self.serve_page)

    def _guard(self) -> ResponseReturnValue | None:
        """Faults first, then the signature; `None` lets the endpoint run."""
        fault = self.inject()
        if fault is FaultKind.RESET:
            return Response(status=204)  # the client's connection is already gone
        if fault is not None:
            return self._fault_answer(fault)
        try:
            self._verifier.verify_wsgi(request.environ, request.get_data(cache=True))
        except SignatureRejected as exc:
            code, message = SIGNATURE_CODES[exc.failure]
            self.note("signature_refused", code=code)
            return error(401, code, message)
        return None

    def _fault_answer(self, fault: FaultKind) -> Response:
        if fault is FaultKind.RATE_LIMIT:
            wait = self.faults.config.retry_after_s
            response = error(429, "RATE_LIMITED", "请求过于频繁（模拟）", retry_after=wait)
            response.headers["Retry-After"] = str(wait)
            return response
        if fault is FaultKind.TOKEN_EXPIRED:
            return error(401, "SIGNATURE_EXPIRED", "签名已过期（模拟）")
        if fault is FaultKind.CONTENT_REJECTED:
            problem = {
                "field": "content",
                "code": "sensitive_word",
                "message": "含有敏感词（模拟）",
            }
            return error(422, "CONTENT_REJECTED", "内容未通过网站审查（模拟）", problems=[problem])
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
        sha = hashlib.sha256(data).hexdigest()
        with self._lock:
            known = next((f for f in self._files.values() if f.sha256 == sha), None)
            stored = known or self._store_file(sha, upload.filename or "file", mime, data, ext)
        self.note("upload", filename=stored.filename, size=len(data), id=stored.id)
        return jsonify(stored.as_json()), 200 if known else 201

    def _store_file(self, sha: str, filename: str, mime: str, data: bytes, ext: str) -> StoredFile:
        file_id = f"att_{uuid.uuid4().hex[:16]}"
        url = self.public_url(f"/files/{file_id}{ext}")
        stored = StoredFile(file_id, sha, filename, mime, data, url)
        self._files[file_id] = stored
        return stored

    def _create(self) -> ResponseReturnValue:
        key = request.headers.get("Idempotency-Key", "")
        if not KEY_PATTERN.fullmatch(key):
            return error(400, "INVALID_REQUEST", "缺少或不合规的 Idempotency-Key")
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            return error(400, "INVALID_REQUEST", "请求体须为 JSON 对象")
        with self._lock:
            if key in self._by_key:
                article = self._articles[self._by_key[key]]
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
                created_at=_now(),
                source=_source_name(body.get("source")),
                editor=str(body.get("author") or ""),
            )
            self._articles[article.id] = article
            self._by_key[key] = article.id
        self.note("create", key=key, id=article.id, title=article.title)
        return jsonify(article.as_json()), 201

    def _problems(self, body: dict[str, Any]) -> list[dict[str, str]]:
        problems = []
        title, content, summary = body.get("title"), body.get("content"), body.get("summary")
        if not isinstance(title, str) or not 1 <= len(title.strip()) <= 80:
            problems.append(_problem("title", "title_length", "标题须为 1 至 80 字"))
        if not isinstance(content, str) or not content.strip():
            problems.append(_problem("content", "content_empty", "正文不能为空"))
        else:
            urls = {f.url for f in self._files.values()}
            for src in IMG_SRC.findall(content):
                if src not in urls:
                    problems.append(_problem("content", "image_unknown", f"图片未上传：{src}"))
        if summary is not None and (not isinstance(summary, str) or len(summary) > 200):
            problems.append(_problem("summary", "summary_length", "摘要不超过 200 字"))
        return problems

    def _publish(self, article_id: str) -> ResponseReturnValue:
        with self._lock:
            article = self._articles.get(article_id)
            if article is None:
                return error(404, "ARTICLE_NOT_FOUND", "文章不存在")
            if article.state in ("withdrawn", "rejected"):
                return error(409, "ARTICLE_STATE_CONFLICT", "文章已撤下，不能发布")
            if article.state == "draft":
                self._go_live(article)
                count = self.ledger.count(article.idempotency_key)
                self.note("publish", key=article.idempotency_key, id=article.id, count=count)
            answer = article.as_json()
        if self.faults.drop_reply():
            self.note("reply_dropped", id=article_id)
            cut_connection()
            return Response(status=204)
        return jsonify(answer)

    def _get(self, article_id: str) -> ResponseReturnValue:
        with self._lock:
            article = self._articles.get(article_id)
            if article is None:
                return error(404, "ARTICLE_NOT_FOUND", "文章不存在")
            return jsonify(article.as_json())

    def _find(self) -> ResponseReturnValue:
        key = request.args.get("idempotency_key", "")
        if not key:
            return error(400, "INVALID_REQUEST", "缺少 idempotency_key")
        return jsonify({"items": [a] if (a := self.article_by_key(key)) else []})

    def _withdraw(self, article_id: str) -> ResponseReturnValue:
        body = request.get_json(silent=True)
        reason = body.get("reason") if isinstance(body, dict) else None
        if not isinstance(reason, str) or not 1 <= len(reason.strip()) <= 200:
            return error(400, "INVALID_REQUEST", "撤稿须说明理由（不超过 200 字）")
        with self._lock:
            article = self._articles.get(article_id)
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

    def _file(self, name: str) -> ResponseReturnValue:
        with self._lock:
            stored = self._files.get(name.split(".", 1)[0])
        if stored is None:
            return Response("未找到", status=404)
        return self.serve_image(stored.mime, stored.data)

    # --- the back-end (assisted mode) -------------------------------------------------------

    def cms_store_image(self, filename: str, mime: str, data: bytes) -> str:
        sha = hashlib.sha256(data).hexdigest()
        with self._lock:
            known = next((f for f in self._files.values() if f.sha256 == sha), None)
            stored = known or self._store_file(sha, filename, mime, data, IMAGE_TYPES[mime])
        return stored.url

    def cms_publish(self, post: CmsPost) -> LivePage:
        article_id = f"art_{uuid.uuid4().hex[:16]}"
        article = Article(
            id=article_id,
            idempotency_key=f"cms:{article_id}",
            column_id=post.column,
            title=post.title,
            content=post.body_html,
            created_at=_now(),
            source=post.source,
            editor=post.editor,
        )
        with self._lock:
            self._articles[article.id] = article
            self._by_key[article.idempotency_key] = article.id
            page = self._go_live(article)
        self.note("cms_publish", key=article.idempotency_key, id=article.id, title=post.title)
        return page

    def cms_take_down(self, article_id: str) -> bool:
        with self._lock:
            article = self._articles.get(article_id)
            if article is None:
                return False
            if article.state != "withdrawn":
                self._take_down(article, "在管理后台删除")
        self.note("cms_take_down", id=article_id)
        return True


def _problem(field_name: str, code: str, message: str) -> dict[str, str]:
    return {"field": field_name, "code": code, "message": message}


def _source_name(source: Any) -> str:
    """A repost's origin from the API's `source` object; "" for an original."""
    return str(source.get("name") or "") if isinstance(source, dict) else ""
