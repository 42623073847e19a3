"""微信公众号 on loopback: the official request and response shapes under /cgi-bin/.

    GET  /cgi-bin/token                    POST /cgi-bin/stable_token
    POST /cgi-bin/material/add_material    POST /cgi-bin/media/uploadimg
    POST /cgi-bin/draft/add                POST /cgi-bin/draft/batchget
    POST /cgi-bin/freepublish/submit       POST /cgi-bin/freepublish/get
    POST /cgi-bin/freepublish/batchget     POST /cgi-bin/freepublish/getarticle
    POST /cgi-bin/freepublish/delete       GET  /mmbiz/<id>  (an uploaded image)
    GET  /s/<article_id>_<idx>             a published article's page (410 once deleted)

Every API call checks its access_token (41001 missing, 40001 unknown, 42001 expired) and its
daily quota (45009). A submitted job finishes `confirm_delay_s` later with `publish_status`
(0 by default) and, when a callback URL is set, POSTs a signed PUBLISHJOBFINISH event to it.
A successful publication removes the draft, as the platform does; a failed one keeps it.
The ledger counts publications by the `data-sanshen-key` marker the adapter embeds.

Admin, besides the shared /_sim endpoints:
    GET/PUT /_sim/config     token lifetime, quotas, job outcome, ... (`WeChatSimConfig`)
    PUT     /_sim/callback   {"url": "..."}: where PUBLISHJOBFINISH events go ("" = nowhere)
    POST    /_sim/expire_tokens               every token issued so far expires now
    POST    /_sim/finish_jobs                 every running job finishes now (callback too)
    GET     /_sim/state      calls per API, drafts, jobs, articles
"""

from __future__ import annotations

import hashlib
import html
import re
import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

import requests
from flask import Flask, Response, jsonify, request
from flask.typing import ResponseReturnValue
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from wechatpy.crypto import WeChatCrypto

from channels.simulators.base import FaultKind, Simulator, cut_connection
from channels.simulators.live import LivePage
from channels.simulators.pages import PageArticle

LOCAL_TZ = ZoneInfo("Asia/Shanghai")
MARKER = re.compile(r"""data-sanshen-key\s*=\s*["']([^"']*)["']""")
SCRIPT = re.compile(r"<script\b.*?(</script\s*>|$)", re.IGNORECASE | re.DOTALL)
IMG_TAG = re.compile(r"<img\b[^>]*>", re.IGNORECASE)
IMG_SRC = re.compile(r"""\bsrc\s*=\s*["']([^"']*)["']""", re.IGNORECASE)

DEFAULT_QUOTAS = {
    "token": 2000,
    "stable_token": 10000,
    "draft/add": 1000,
    "freepublish/submit": 100,
    "freepublish/get": 100,
    "freepublish/delete": 10,
}
CONTENT_APIS = frozenset({"material/add_material", "media/uploadimg", "draft/add"})
EVENTS = frozenset({"PUBLISHJOBFINISH", "FREEPUBLISHJOBFINISH"})


class WeChatSimConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    token_ttl_s: int = Field(default=7200, ge=0)
    quotas: dict[str, int] = Field(default_factory=lambda: dict(DEFAULT_QUOTAS))
    publish_status: int = Field(default=0)  # how jobs end: 0 success; 2, 3, 4, 6 failures
    fail_idx: list[int] = Field(default_factory=lambda: [1])  # reported for 2 and 4
    reject_tokens: bool = False  # every token answers 40001
    html_reply: list[str] = Field(default_factory=list)  # APIs answering an HTML error page
    callback_event: str = "PUBLISHJOBFINISH"  # or the older FREEPUBLISHJOBFINISH
    encoding_aes_key: str = ""  # set: callbacks are encrypted (安全模式)


def sign(token: str, *parts: str) -> str:
    """WeChat's callback signature: SHA-1 of the sorted, concatenated strings."""
    return hashlib.sha1("".join(sorted([token, *parts])).encode()).hexdigest()


def _error(code: int, message: str) -> ResponseReturnValue:
    return jsonify({"errcode": code, "errmsg": f"{message} rid: {secrets.token_hex(4)}"})


def _new_id(prefix: str = "") -> str:
    return prefix + secrets.token_urlsafe(30).replace("-", "A").replace("_", "B")


@dataclass
class _Job:
    publish_id: str
    media_id: str
    msg_data_id: str
    due_at: float
    status: int = 1
    article_id: str = ""
    fail_idx: list[int] = field(default_factory=list)
    callback_sent: bool = False


@dataclass
class _Article:
    article_id: str
    news_item: list[dict[str, Any]]
    update_time: int
    deleted: bool = False


class WeChatSimulator(Simulator):
    name: ClassVar[str] = "wechat"
    display_name: ClassVar[str] = "微信公众号"

    app_id = "wx5a1b2c3d4e5f6a7b"
    app_secret = "sim-wechat-secret-0123456789abcdef"
    callback_token = "sim-wechat-callback-token"
    account = "gh_5a1b2c3d4e5f"  # 青浦政务服务

    def __init__(self, faults: Any = None) -> None:
        super().__init__(faults)
        self.config = WeChatSimConfig()
        self.callback_url = ""
        self._clear()

    def _clear(self) -> None:
        self.calls: Counter[str] = Counter()
        self._daily: Counter[tuple[str, str]] = Counter()
        self._tokens: dict[str, float] = {}  # token -> expires_at
        self._stable = ""
        self._materials: dict[str, bytes] = {}  # thumb media_id -> JPEG
        self._images: dict[str, tuple[str, bytes]] = {}  # image id -> (mime, data)
        self.drafts: dict[str, dict[str, Any]] = {}  # media_id -> {"news_item", "update_time"}
        self.jobs: dict[str, _Job] = {}
        self.articles: dict[str, _Article] = {}
        self._timers: list[threading.Timer] = []
        self._seq = 2247483000

    def reset(self) -> None:
        with self._lock:
            for timer in self._timers:
                timer.cancel()
            self._clear()
            self.config = WeChatSimConfig()
            self.callback_url = ""
        super().reset()

    def client_settings(self, base_url: str) -> dict[str, Any]:
        settings: dict[str, Any] = {
            "base_url": base_url,
            "app_id": self.app_id,
            "app_secret": self.app_secret,
            "callback_token": self.callback_token,
        }
        if self.config.encoding_aes_key:
            settings["encoding_aes_key"] = self.config.encoding_aes_key
        return settings

    # --- routes ---------------------------------------------------------------------------

    def routes(self, app: Flask) -> None:
        app.add_url_rule("/cgi-bin/token", "token", self._guard("token", self._token))
        app.add_url_rule(
            "/cgi-bin/stable_token",
            "stable_token",
            self._guard("stable_token", self._stable_token),
            methods=["POST"],
        )
        apis: dict[str, Callable[[], ResponseReturnValue]] = {
            "material/add_material": self._add_material,
            "media/uploadimg": self._uploadimg,
            "draft/add": self._draft_add,
            "draft/batchget": self._draft_batchget,
            "freepublish/submit": self._submit,
            "freepublish/get": self._get,
            "freepublish/batchget": self._publish_batchget,
            "freepublish/getarticle": self._getarticle,
            "freepublish/delete": self._delete,
        }
        for path, handler in apis.items():
            view = self._guard(path, self._with_token(path, handler))
            app.add_url_rule(f"/cgi-bin/{path}", path, view, methods=["POST"])
        app.add_url_rule("/mmbiz/<image_id>", "mmbiz", self._image)
        app.add_url_rule("/s/<article>", "page", self.serve_page)
        self._admin_routes(app)

    def _admin_routes(self, app: Flask) -> None:
        @app.get("/_sim/config")
        def get_config() -> ResponseReturnValue:
            return jsonify(self.config.model_dump())

        @app.put("/_sim/config")
        def put_config() -> ResponseReturnValue:
            try:
                with self._lock:
                    changes = request.get_json(force=True) or {}
                    self.config = WeChatSimConfig.model_validate(self.config.model_dump() | changes)
            except (ValidationError, TypeError) as exc:
                return jsonify({"error": "bad_config", "message": str(exc)}), 400
            return jsonify(self.config.model_dump())

        @app.put("/_sim/callback")
        def put_callback() -> ResponseReturnValue:
            self.callback_url = str((request.get_json(force=True) or {}).get("url", ""))
            return jsonify({"url": self.callback_url})

        @app.post("/_sim/expire_tokens")
        def expire_tokens() -> ResponseReturnValue:
            self.expire_tokens()
            return jsonify({"ok": True})

        @app.post("/_sim/finish_jobs")
        def finish_jobs() -> ResponseReturnValue:
            return jsonify({"finished": self.finish_jobs()})

        @app.get("/_sim/state")
        def get_state() -> ResponseReturnValue:
            return jsonify(self.state())

    def expire_tokens(self) -> None:
        with self._lock:
            now = time.time()
            self._tokens = {token: min(at, now) for token, at in self._tokens.items()}

    def finish_jobs(self) -> int:
        """Make every running job due now and finish it; how many there were."""
        with self._lock:
            running = [job for job in self.jobs.values() if job.status == 1]
            for job in running:
                job.due_at = time.time()
        for job in running:
            self._finish(job)
        return len(running)

    def state(self) -> dict[str, Any]:
        with self._lock:
            return {
                "calls": dict(self.calls),
                "drafts": self.drafts,
                "jobs": {k: asdict(v) for k, v in self.jobs.items()},
                "articles": {k: asdict(v) for k, v in self.articles.items()},
                "callback_url": self.callback_url,
            }

    def snapshot(self) -> dict[str, Any]:
        return super().snapshot() | {"calls": dict(self.calls)}

    # --- the checks every call goes through ----------------------------------------------

    def _guard(
        self, api: str, handler: Callable[[], ResponseReturnValue]
    ) -> Callable[[], ResponseReturnValue]:
        def view() -> ResponseReturnValue:
            kind = self.inject()
            with self._lock:
                self.calls[api] += 1
            if kind is FaultKind.RESET:
                return "", 500  # nobody is listening any more
            answer = self._fault(api, kind)
            if answer is not None:
                return answer
            if api in self.config.html_reply:
                html_page = "<html><body><h1>502 Bad Gateway</h1></body></html>"
                return Response(html_page, 200, mimetype="text/html")
            return handler()

        view.__name__ = f"wechat_{api.replace('/', '_')}"
        return view

    def _fault(self, api: str, kind: FaultKind | None) -> ResponseReturnValue | None:
        if kind is FaultKind.SERVER_ERROR:
            return _error(-1, "system error")
        if kind is FaultKind.RATE_LIMIT:
            if api.startswith("freepublish/"):
                return _error(53501, "frequencey limit of publish")
            return _error(45011, "api minute-quota reach limit mustslower retry next minute")
        if kind is FaultKind.TOKEN_EXPIRED and api not in ("token", "stable_token"):
            with self._lock:
                self._tokens.pop(request.args.get("access_token", ""), None)
            return _error(42001, "access_token expired")
        if kind is FaultKind.CONTENT_REJECTED and api in CONTENT_APIS:
            return _error(45166, "invalid content")
        return None

    def _with_token(
        self, api: str, handler: Callable[[], ResponseReturnValue]
    ) -> Callable[[], ResponseReturnValue]:
        def checked() -> ResponseReturnValue:
            token = request.args.get("access_token", "")
            with self._lock:
                expires_at = self._tokens.get(token)
            if not token:
                return _error(41001, "access_token missing")
            if expires_at is None or self.config.reject_tokens:
                return _error(40001, "invalid credential, access_token is invalid or not latest")
            if expires_at <= time.time():
                return _error(42001, "access_token expired")
            return self._counted(api) or handler()

        return checked

    def _counted(self, api: str) -> ResponseReturnValue | None:
        limit = self.config.quotas.get(api)
        with self._lock:
            key = (api, datetime.now(LOCAL_TZ).date().isoformat())
            self._daily[key] += 1
            over = limit is not None and self._daily[key] > limit
        return _error(45009, "reach max api daily quota limit") if over else None

    # --- tokens ---------------------------------------------------------------------------

    def _credentials(self, grant: str, appid: str, secret: str) -> ResponseReturnValue | None:
        if grant != "client_credential":
            return _error(40002, "invalid grant_type")
        if appid != self.app_id:
            return _error(40013, "invalid appid")
        if secret != self.app_secret:
            return _error(40125, "invalid appsecret")
        return None

    def _issue(self, *, stable: bool, force: bool = False) -> ResponseReturnValue:
        with self._lock:
            now = time.time()
            current = self._tokens.get(self._stable, 0.0)
            if stable and not force and current > now:
                return jsonify({"access_token": self._stable, "expires_in": int(current - now)})
            token = _new_id("sim_")
            if stable:
                self._tokens.pop(self._stable, None)
                self._stable = token
            else:  # a new classic token leaves the previous ones five minutes
                self._tokens = {t: min(at, now + 300) for t, at in self._tokens.items()}
            self._tokens[token] = now + self.config.token_ttl_s
        return jsonify({"access_token": token, "expires_in": self.config.token_ttl_s})

    def _token(self) -> ResponseReturnValue:
        args = request.args
        self.note("token", appid=args.get("appid", ""))
        denied = self._credentials(
            args.get("grant_type", ""), args.get("appid", ""), args.get("secret", "")
        )
        return denied or self._counted("token") or self._issue(stable=False)

    def _stable_token(self) -> ResponseReturnValue:
        body = request.get_json(force=True, silent=True) or {}
        self.note("stable_token", appid=body.get("appid", ""), force=body.get("force_refresh"))
        denied = self._credentials(
            str(body.get("grant_type", "")), str(body.get("appid", "")), str(body.get("secret", ""))
        )
        force = bool(body.get("force_refresh", False))
        return denied or self._counted("stable_token") or self._issue(stable=True, force=force)

    # --- images ---------------------------------------------------------------------------

    def _media(self) -> bytes | None:
        upload = request.files.get("media")
        return upload.read() if upload is not None else None

    def _add_material(self) -> ResponseReturnValue:
        if request.args.get("type") not in ("image", "thumb", "voice", "video"):
            return _error(40004, "invalid media type")
        data = self._media()
        if data is None:
            return _error(41005, "media data missing")
        self.note("material/add_material", type=request.args.get("type"), size=len(data))
        if request.args.get("type") == "thumb":
            if not data.startswith(b"\xff\xd8\xff"):
                return _error(40005, "invalid file type")
            if len(data) > 64 * 1024:
                return _error(45001, "media size out of limit")
        media_id = _new_id()
        url = self._store_image(data)
        with self._lock:
            self._materials[media_id] = data
        return jsonify({"media_id": media_id, "url": url})

    def _uploadimg(self) -> ResponseReturnValue:
        data = self._media()
        if data is None:
            return _error(41005, "media data missing")
        self.note("media/uploadimg", size=len(data))
        if not data.startswith((b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n")):
            return _error(40005, "invalid file type")
        if len(data) >= 1024 * 1024:
            return _error(45001, "media size out of limit")
        return jsonify({"url": self._store_image(data)})

    def _store_image(self, data: bytes) -> str:
        image_id = hashlib.sha256(data).hexdigest()[:32]
        mime = "image/png" if data.startswith(b"\x89PNG") else "image/jpeg"
        with self._lock:
            self._images[image_id] = (mime, data)
        return self.public_url(f"/mmbiz/{image_id}")

    def _image(self, image_id: str) -> ResponseReturnValue:
        with self._lock:
            found = self._images.get(image_id)
        if found is None:
            return "not found", 404
        return self.serve_image(*found)

    # --- drafts ---------------------------------------------------------------------------

    def _draft_add(self) -> ResponseReturnValue:
        articles = (request.get_json(force=True, silent=True) or {}).get("articles")
        if not isinstance(articles, list) or not 1 <= len(articles) <= 8:
            return _error(47001, "data format error")
        cleaned = []
        for article in articles:
            problem = self._article_error(article)
            if problem is not None:
                return problem
            cleaned.append(self._as_stored(article))
        media_id = _new_id()
        with self._lock:
            self.drafts[media_id] = {"news_item": cleaned, "update_time": int(time.time())}
        self.note("draft/add", media_id=media_id, titles=[a["title"] for a in cleaned])
        return jsonify({"media_id": media_id})

    def _article_error(self, article: Any) -> ResponseReturnValue | None:
        if not isinstance(article, dict):
            return _error(47001, "data format error")
        content = str(article.get("content", ""))
        with self._lock:
            thumb_known = article.get("thumb_media_id") in self._materials
        checks = [
            (not thumb_known, 40007, "invalid media_id"),
            (not 1 <= len(str(article.get("title", ""))) <= 32, 45003, "title size out of limit"),
            (len(str(article.get("author", ""))) > 16, 45110, "author size out of limit"),
            (len(str(article.get("digest", ""))) > 128, 45004, "description size out of limit"),
            (not content.strip(), 44004, "empty content"),
            (len(content) >= 20000, 45002, "content size out of limit"),
            (len(content.encode()) >= 1024 * 1024, 45002, "content size out of limit"),
            (len(str(article.get("content_source_url", "")).encode()) > 1024, 45005, "url size"),
        ]
        for failed, code, message in checks:
            if failed:
                return _error(code, message)
        return None

    def _as_stored(self, article: dict[str, Any]) -> dict[str, Any]:
        """What the platform keeps: scripts removed, images not uploaded here removed."""
        content = SCRIPT.sub("", str(article["content"]))

        def keep_uploaded(tag: re.Match[str]) -> str:
            src = IMG_SRC.search(tag.group(0))
            with self._lock:
                known = src is not None and src.group(1).rsplit("/", 1)[-1] in self._images
            return tag.group(0) if known else ""

        content = IMG_TAG.sub(keep_uploaded, content)
        keys = ("title", "author", "digest", "content_source_url", "thumb_media_id")
        stored = {k: str(article.get(k, "")) for k in keys}
        return stored | {
            "content": content,
            "need_open_comment": int(article.get("need_open_comment", 0)),
            "only_fans_can_comment": int(article.get("only_fans_can_comment", 0)),
        }

    def _page(self, entries: list[dict[str, Any]]) -> ResponseReturnValue:
        body = request.get_json(force=True, silent=True) or {}
        offset, count = body.get("offset"), body.get("count")
        if not isinstance(offset, int) or not isinstance(count, int) or not 1 <= count <= 20:
            return _error(40097, "invalid args")
        if body.get("no_content") == 1:
            for entry in entries:
                for news in entry["content"]["news_item"]:
                    news.pop("content", None)
        chosen = entries[offset : offset + count]
        return jsonify({"total_count": len(entries), "item_count": len(chosen), "item": chosen})

    def _draft_batchget(self) -> ResponseReturnValue:
        with self._lock:
            entries = [
                {
                    "media_id": media_id,
                    "content": {"news_item": [dict(n) for n in draft["news_item"]]},
                    "update_time": draft["update_time"],
                }
                for media_id, draft in reversed(self.drafts.items())
            ]
        return self._page(entries)

    # --- publishing -----------------------------------------------------------------------

    def _submit(self) -> ResponseReturnValue:
        media_id = str((request.get_json(force=True, silent=True) or {}).get("media_id", ""))
        with self._lock:
            if media_id not in self.drafts:
                return _error(40007, "invalid media_id")
            self._seq += 1
            job = _Job(
                publish_id=str(self._seq),
                media_id=media_id,
                msg_data_id=str(self._seq + 1000000),
                due_at=time.time() + self.faults.config.confirm_delay_s,
            )
            self.jobs[job.publish_id] = job
            self._advance(job)  # with no delay, published before the answer goes out
            self._timers = [t for t in self._timers if t.is_alive()]
            timer = threading.Timer(self.faults.config.confirm_delay_s, self._finish, [job])
            timer.daemon = True
            self._timers.append(timer)
        timer.start()
        self.note("freepublish/submit", media_id=media_id, publish_id=job.publish_id)
        if self.faults.drop_reply():
            cut_connection()
            return "", 500
        return jsonify(
            {
                "errcode": 0,
                "errmsg": "ok",
                "publish_id": job.publish_id,
                "msg_data_id": job.msg_data_id,
            }
        )

    def _advance(self, job: _Job) -> None:
        """Finish a job that is due (under the lock); the callback goes from the timer."""
        if job.status != 1 or job.due_at > time.time():
            return
        draft = self.drafts.get(job.media_id)
        outcome = self.config.publish_status
        if draft is None or outcome != 0:
            job.status = outcome if draft is not None else 3
            job.fail_idx = list(self.config.fail_idx) if job.status in (2, 4) else []
            return
        job.status = 0
        job.article_id = _new_id()
        news = [
            n | {"url": self.public_url(f"/s/{job.article_id}_{i}"), "is_deleted": False}
            for i, n in enumerate(draft["news_item"], start=1)
        ]
        self.articles[job.article_id] = _Article(job.article_id, news, int(time.time()))
        del self.drafts[job.media_id]
        published = datetime.now(LOCAL_TZ)
        for item in news:
            found = MARKER.search(item["content"])
            self.ledger.published(html.unescape(found.group(1)) if found else item["title"])
            page = PageArticle(item["title"], item["content"], published, editor=item["author"])
            item_id = item["url"].rsplit("/", 1)[-1]
            self.pages.add(LivePage(item["url"], self.name, item_id, page))

    def _finish(self, job: _Job) -> None:
        with self._lock:
            self._advance(job)
            if job.callback_sent or not self.callback_url:
                return
            job.callback_sent = True
            url, event = self.callback_url, self._event_xml(job)
        self._post_callback(url, event)

    def _event_xml(self, job: _Job) -> str:
        info = [f"<publish_id>{job.publish_id}</publish_id>"]
        info.append(f"<publish_status>{job.status}</publish_status>")
        if job.status == 0:
            urls = "".join(
                f"<item><idx>{i}</idx><article_url><![CDATA[{n['url']}]]></article_url></item>"
                for i, n in enumerate(self.articles[job.article_id].news_item, start=1)
            )
            count = len(self.articles[job.article_id].news_item)
            info.append(f"<article_id><![CDATA[{job.article_id}]]></article_id>")
            info.append(f"<article_detail><count>{count}</count>{urls}</article_detail>")
        info += [f"<fail_idx>{i}</fail_idx>" for i in job.fail_idx]
        return (
            f"<xml><ToUserName><![CDATA[{self.account}]]></ToUserName>"
            f"<FromUserName><![CDATA[oSimOperator0000000000000000]]></FromUserName>"
            f"<CreateTime>{int(time.time())}</CreateTime>"
            f"<MsgType><![CDATA[event]]></MsgType>"
            f"<Event><![CDATA[{self.config.callback_event}]]></Event>"
            f"<PublishEventInfo>{''.join(info)}</PublishEventInfo></xml>"
        )

    def signed_event(self, xml: str) -> tuple[dict[str, str], bytes]:
        """The query and body WeChat would send for this event, in the configured mode."""
        timestamp, nonce = str(int(time.time())), secrets.token_hex(5)
        query = {"timestamp": timestamp, "nonce": nonce}
        query["signature"] = sign(self.callback_token, timestamp, nonce)
        if not self.config.encoding_aes_key:
            return query, xml.encode()
        crypto = WeChatCrypto(self.callback_token, self.config.encoding_aes_key, self.app_id)
        encrypted = crypto.encrypt_message(xml, nonce, timestamp)
        found = re.search(r"<Encrypt><!\[CDATA\[(.*?)\]\]></Encrypt>", encrypted)
        query["encrypt_type"] = "aes"
        query["msg_signature"] = sign(
            self.callback_token, timestamp, nonce, found.group(1) if found else ""
        )
        return query, str(encrypted).encode()

    def _post_callback(self, url: str, xml: str) -> None:
        query, body = self.signed_event(xml)
        try:
            answer = requests.post(url, params=query, data=body, timeout=(2, 5))
            self.note("callback", url=url, http_status=answer.status_code)
        except requests.RequestException as exc:
            self.note("callback", url=url, error=type(exc).__name__)

    def _known_job(self) -> _Job | ResponseReturnValue:
        publish_id = str((request.get_json(force=True, silent=True) or {}).get("publish_id", ""))
        with self._lock:
            job = self.jobs.get(publish_id)
            if job is None:
                return _error(53502, "invalid publish_id")
            self._advance(job)
            return job

    def _get(self) -> ResponseReturnValue:
        job = self._known_job()
        if not isinstance(job, _Job):
            return job
        answer: dict[str, Any] = {
            "publish_id": job.publish_id,
            "publish_status": job.status,
            "fail_idx": job.fail_idx,
        }
        with self._lock:
            article = self.articles.get(job.article_id)
        if article is not None:
            answer["article_id"] = job.article_id
            answer["article_detail"] = {
                "count": len(article.news_item),
                "item": [
                    {"idx": i, "article_url": n["url"]}
                    for i, n in enumerate(article.news_item, start=1)
                ],
            }
        return jsonify(answer)

    def _publish_batchget(self) -> ResponseReturnValue:
        with self._lock:
            for job in self.jobs.values():
                self._advance(job)
            entries = [
                {
                    "article_id": article.article_id,
                    "content": {"news_item": [dict(n) for n in article.news_item]},
                    "update_time": article.update_time,
                }
                for article in reversed(self.articles.values())  # newest first
            ]
        return self._page(entries)

    def _getarticle(self) -> ResponseReturnValue:
        article_id = str((request.get_json(force=True, silent=True) or {}).get("article_id", ""))
        with self._lock:
            article = self.articles.get(article_id)
            news = [dict(n) for n in article.news_item] if article else None
        if news is None:
            return _error(53600, "invalid article_id")
        return jsonify({"news_item": news})

    def _delete(self) -> ResponseReturnValue:
        body = request.get_json(force=True, silent=True) or {}
        article_id = str(body.get("article_id", ""))
        with self._lock:
            article = self.articles.get(article_id)
            if article is None:
                return _error(53600, "invalid article_id")
            article.deleted = True
            for news in article.news_item:
                news["is_deleted"] = True
                self.pages.take_down(news["url"], 410)  # "该内容已被发布者删除"
            for job in self.jobs.values():
                if job.article_id == article_id:
                    job.status = 5
        self.note("freepublish/delete", article_id=article_id, index=body.get("index", 0))
        return jsonify({"errcode": 0, "errmsg": "ok"})
