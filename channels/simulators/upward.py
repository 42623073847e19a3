"""What the 学习强国 and 绿色青浦 simulators share: the editorial desk behind both contracts.

The desk verifies signatures and packages, files one submission per idempotency key, adopts it
after `confirm_delay_s` (or when told through the admin endpoints) and answers in whatever
envelope the platform subclass renders. Platform-neutral `Refusal`s are translated by each
subclass into its own codes.

An adopted manuscript is published: its page (`page_rule`) shows the package's manuscript
with its images, which are served under `image_path`. The back-end form of assisted mode is
under `/cms/`; what it publishes is adopted at once, and 删除 there withdraws it (404).

Admin endpoints beside the base ones:
    POST /_sim/adopt/<id>    adopt (采用) now; optional JSON {"url": ...}
    POST /_sim/reject/<id>   not adopted (未采用); JSON {"reason": ...}
    GET  /_sim/submissions   everything filed, in the platform's own format

`start_smtp()` also opens the platform's editorial mailbox on loopback (aiosmtpd): a mail with
the package attached and the key in `X-Sanshen-Key` is filed like an API submission.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import enum
import hashlib
import posixpath
from abc import abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any, ClassVar

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP as SMTPServer
from aiosmtpd.smtp import Envelope, Session
from flask import Blueprint, Flask, Response, jsonify, request
from flask.typing import ResponseReturnValue
from pydantic import SecretStr

from channels.signing import SignatureFailure, SignatureRejected, SignatureVerifier
from channels.simulators.base import FaultConfig, FaultKind, Simulator, cut_connection
from channels.simulators.cms import CmsPost
from channels.simulators.live import LivePage
from channels.simulators.pages import PageArticle
from channels.upward import (
    IMAGE_EXTENSIONS,
    KEY_HEADER,
    PackageInvalid,
    SubmissionPackage,
    UpwardApi,
    UpwardLimits,
    read_package,
)


class Refusal(enum.StrEnum):
    """Why the desk refuses a request, before each platform words it in its own codes."""

    SIGNATURE_INVALID = "signature_invalid"
    SIGNATURE_EXPIRED = "signature_expired"
    APP_UNKNOWN = "app_unknown"
    BAD_REQUEST = "bad_request"
    FORBIDDEN = "forbidden"
    NOT_FOUND = "not_found"
    ALREADY_ADOPTED = "already_adopted"
    ALREADY_CLOSED = "already_closed"
    PACKAGE_INVALID = "package_invalid"
    PACKAGE_TOO_LARGE = "package_too_large"
    TITLE_LENGTH = "title_length"
    SIGN_OFF_MISSING = "sign_off_missing"
    CONTENT_REJECTED = "content_rejected"
    RATE_LIMITED = "rate_limited"
    UNAVAILABLE = "unavailable"


_SIGNATURE_REFUSALS = {
    SignatureFailure.APP_KEY_UNKNOWN: Refusal.APP_UNKNOWN,
    SignatureFailure.EXPIRED: Refusal.SIGNATURE_EXPIRED,
}


class Refused(Exception):
    def __init__(
        self, refusal: Refusal, message: str, problems: list[dict[str, str]] | None = None
    ):
        super().__init__(message)
        self.refusal = refusal
        self.message = message
        self.problems = problems or []


@dataclass(frozen=True, slots=True)
class Submission:
    """One manuscript on the desk."""

    id: str
    key: str
    title: str
    package_sha256: str
    via: str  # "api", "email" or "cms"
    received_at: datetime
    files: tuple[str, ...] = ()
    subject: str = ""  # of the mail, for email submissions
    state: str = "received"  # received | adopted | not_adopted | withdrawn
    published_url: str = ""
    published_at: datetime | None = None
    reason: str = ""


@dataclass(frozen=True, slots=True)
class _Manuscript:
    """What an adopted submission shows: the body, its images by package path, its editor."""

    body_html: str
    images: dict[str, bytes] = field(repr=False)
    editor: str = ""
    source: str = ""
    column: str = ""


@dataclass
class _Desk:
    submissions: dict[str, Submission] = field(default_factory=dict)
    by_key: dict[str, str] = field(default_factory=dict)
    manuscripts: dict[str, _Manuscript] = field(default_factory=dict)
    images: dict[str, tuple[str, bytes]] = field(default_factory=dict)  # file name -> image
    sequence: int = 0


_MIME_BY_EXTENSION = {ext: mime for mime, ext in IMAGE_EXTENSIONS.items()}


class UpwardSimulator(Simulator):
    """An upward platform: subclasses give the contract (`api`, `limits`) and the envelope."""

    api: ClassVar[UpwardApi]
    limits: ClassVar[UpwardLimits]
    app_key: ClassVar[str]
    app_secret: ClassVar[str]
    editorial_address: ClassVar[str]
    mail_from: ClassVar[str] = "zhk@qingpu-zwfw.test"  # the office's sender in client settings
    page_rule: ClassVar[str]  # the Flask rule of an article's public page
    image_path: ClassVar[str]  # where published images are served, e.g. "/image"

    def __init__(self, faults: FaultConfig | None = None) -> None:
        super().__init__(faults)
        self._desk = _Desk()
        self._verifier = SignatureVerifier({self.app_key: SecretStr(self.app_secret)})
        self._smtp: Controller | None = None

    # --- the platform's own format -----------------------------------------------------------

    @abstractmethod
    def render(self, submission: Submission) -> dict[str, Any]:
        """One submission in the platform's field names."""

    @abstractmethod
    def render_list(self, submissions: list[Submission]) -> dict[str, Any]:
        """The answer to a find-by-key."""

    @abstractmethod
    def success(self, payload: Any, status: int = 200) -> Response:
        """A success answer in the platform's envelope."""

    @abstractmethod
    def failure(self, refused: Refused) -> Response:
        """An error answer in the platform's envelope and codes."""

    @abstractmethod
    def new_id(self, sequence: int, now: datetime) -> str:
        """The platform's id for the `sequence`-th submission."""

    @abstractmethod
    def article_url(self, submission: Submission) -> str:
        """Where an adopted submission is published (its page, served by `page_rule`)."""

    def check_fields(self, form: dict[str, str]) -> None:
        """Platform-specific checks of the submit form; raise `Refused`."""

    # --- the desk ----------------------------------------------------------------------------

    def verify_package(self, data: bytes, key: str) -> SubmissionPackage:
        if len(data) > self.limits.max_package_bytes:
            raise Refused(Refusal.PACKAGE_TOO_LARGE, "投稿包超过大小上限")
        try:
            package = read_package(data, max_bytes=self.limits.max_package_bytes)
        except PackageInvalid as exc:
            raise Refused(Refusal.PACKAGE_INVALID, exc.message) from exc
        if package.idempotency_key != key:
            raise Refused(Refusal.PACKAGE_INVALID, "投稿包清单中的幂等键与请求不一致")
        if not package.has_sign_off():
            raise Refused(Refusal.SIGN_OFF_MISSING, "审批记录中没有签发，不予受理")
        title = package.title.strip()
        if not self.limits.title_min <= len(title) <= self.limits.title_max:
            message = f"标题应为 {self.limits.title_min}–{self.limits.title_max} 个字"
            problem = {"code": "title_length", "message": message, "field": "title"}
            raise Refused(Refusal.TITLE_LENGTH, message, [problem])
        return package

    def file(
        self, key: str, package: SubmissionPackage, *, via: str, subject: str = ""
    ) -> tuple[Submission, bool]:
        """File `package` under `key`; the same key again gives back what was filed."""
        now = datetime.now(UTC)
        with self._lock:
            existing = self._desk.by_key.get(key)
            if existing is not None:
                return self._current(existing), False
            self._desk.sequence += 1
            submission = Submission(
                id=self.new_id(self._desk.sequence, now),
                key=key,
                title=package.title,
                package_sha256=package.sha256,
                via=via,
                received_at=now,
                files=tuple(sorted(package.files)),
                subject=subject,
            )
            self._desk.submissions[submission.id] = submission
            self._desk.by_key[key] = submission.id
            self._desk.manuscripts[submission.id] = _Manuscript(
                package.manuscript_html,
                {path: data for path, data in package.files.items() if path.startswith("images/")},
                str(package.manifest.get("author") or ""),
            )
            self.ledger.published(key)
        self.note("submit", via=via, id=submission.id, key=key, title=submission.title)
        return submission, True

    def submission(self, submission_id: str) -> Submission:
        with self._lock:
            if submission_id not in self._desk.submissions:
                raise Refused(Refusal.NOT_FOUND, f"稿件 {submission_id} 不存在")
            return self._current(submission_id)

    def by_key(self, key: str) -> list[Submission]:
        with self._lock:
            found = self._desk.by_key.get(key)
            return [self._current(found)] if found else []

    def all_submissions(self) -> list[Submission]:
        with self._lock:
            return [self._current(sid) for sid in list(self._desk.submissions)]

    def _current(self, submission_id: str) -> Submission:
        """The submission, adopted first if its confirm delay has passed."""
        submission = self._desk.submissions[submission_id]
        due = submission.received_at + timedelta(seconds=self.faults.config.confirm_delay_s)
        if submission.state == "received" and datetime.now(UTC) >= due:
            submission = self._store(self._adopted(submission, due))
        return submission

    def _adopted(self, submission: Submission, at: datetime, url: str = "") -> Submission:
        adopted = replace(submission, state="adopted", published_at=at)
        self._go_live(adopted)
        return replace(adopted, published_url=url or self.article_url(adopted))

    def _go_live(self, submission: Submission) -> LivePage | None:
        """Publish the page of an adopted submission (under the lock), its images first."""
        manuscript = self._desk.manuscripts.get(submission.id)
        if manuscript is None or submission.published_at is None:
            return None
        body = manuscript.body_html
        for path, data in manuscript.images.items():
            name = posixpath.basename(path)
            mime = _MIME_BY_EXTENSION.get(name.rsplit(".", 1)[-1], "application/octet-stream")
            self._desk.images[name] = (mime, data)
            url = self.public_url(f"{self.image_path}/{name}")
            body = body.replace(f'src="{path}"', f'src="{url}"')
        page = PageArticle(
            submission.title,
            body,
            submission.published_at,
            source=manuscript.source,
            editor=manuscript.editor,
        )
        url = self.article_url(submission)
        return self.pages.add(LivePage(url, self.name, submission.id, page, manuscript.column))

    def _store(self, submission: Submission) -> Submission:
        self._desk.submissions[submission.id] = submission
        return submission

    def decide(
        self, submission_id: str, *, adopt: bool, url: str = "", reason: str = ""
    ) -> Submission:
        """The editors' decision, ahead of any confirm delay (admin endpoints, tests, demos)."""
        with self._lock:
            submission = self.submission(submission_id)
            wanted = "adopted" if adopt else "not_adopted"
            if submission.state == wanted:
                return submission
            if submission.state != "received":
                raise Refused(Refusal.ALREADY_CLOSED, f"稿件已是 {submission.state} 状态")
            if adopt:
                decided = self._adopted(submission, datetime.now(UTC), url)
            else:
                decided = replace(submission, state="not_adopted", reason=reason or "未采用")
            self._store(decided)
        self.note("adopt" if adopt else "reject", id=submission_id, reason=reason)
        return decided

    def withdraw(self, submission_id: str, reason: str) -> Submission:
        with self._lock:
            submission = self.submission(submission_id)
            if submission.state == "adopted":
                raise Refused(Refusal.ALREADY_ADOPTED, "稿件已采用，不可撤回")
            if submission.state == "not_adopted":
                raise Refused(Refusal.ALREADY_CLOSED, "稿件未采用，无需撤回")
            withdrawn = self._store(replace(submission, state="withdrawn", reason=reason))
        self.note("withdraw", id=submission_id, reason=reason)
        return withdrawn

    def reset(self) -> None:
        with self._lock:
            self._desk = _Desk()
        super().reset()

    # --- public pages and the back-end -------------------------------------------------------

    def settle_pages(self) -> None:
        self.all_submissions()  # adopts what is due, which publishes its page

    def _image(self, name: str) -> ResponseReturnValue:
        with self._lock:
            found = self._desk.images.get(name)
        if found is None:
            return Response("未找到", status=404)
        return self.serve_image(*found)

    def cms_store_image(self, filename: str, mime: str, data: bytes) -> str:
        name = f"{hashlib.sha256(data).hexdigest()}.{IMAGE_EXTENSIONS.get(mime, 'bin')}"
        with self._lock:
            self._desk.images[name] = (mime, data)
        return self.public_url(f"{self.image_path}/{name}")

    def cms_publish(self, post: CmsPost) -> LivePage:
        now = datetime.now(UTC)
        with self._lock:
            self._desk.sequence += 1
            submission_id = self.new_id(self._desk.sequence, now)
            submission = Submission(
                id=submission_id,
                key=f"cms:{submission_id}",
                title=post.title,
                package_sha256=hashlib.sha256(post.body_html.encode()).hexdigest(),
                via="cms",
                received_at=now,
                state="adopted",
                published_at=now,
            )
            submission = replace(submission, published_url=self.article_url(submission))
            self._store(submission)
            self._desk.by_key[submission.key] = submission.id
            self._desk.manuscripts[submission.id] = _Manuscript(
                post.body_html, {}, post.editor, post.source, post.column
            )
            self.ledger.published(submission.key)
            page = self._go_live(submission)
        self.note("cms_publish", id=submission.id, key=submission.key, title=post.title)
        if page is None:
            raise RuntimeError(f"稿件 {submission.id} 的页面未能发布")
        return page

    def cms_take_down(self, article_id: str) -> bool:
        with self._lock:
            submission = self._desk.submissions.get(article_id)
            if submission is None:
                return False
            reason = "已在管理后台删除"
            self._store(replace(submission, state="withdrawn", reason=reason))
            if submission.state == "adopted":
                self.pages.take_down(self.article_url(submission), 404)
        self.note("cms_take_down", id=article_id)
        return True

    # --- HTTP --------------------------------------------------------------------------------

    def _verify_signature(self) -> None:
        target = request.environ.get("RAW_URI") or request.script_root + request.full_path
        target = target.rstrip("?")
        try:
            self._verifier.verify(
                request.method, target, dict(request.headers), request.get_data(cache=True)
            )
        except SignatureRejected as exc:
            refusal = _SIGNATURE_REFUSALS.get(exc.failure, Refusal.SIGNATURE_INVALID)
            raise Refused(refusal, f"签名校验失败：{exc.failure.value}") from exc

    def _fault(self, *, submitting: bool) -> Refused | None:
        """The fault this request gets, if any, as the platform's refusal."""
        kind = self.inject()
        if kind is FaultKind.SERVER_ERROR or kind is FaultKind.RESET:
            return Refused(Refusal.UNAVAILABLE, "系统繁忙，请稍后再试")
        if kind is FaultKind.RATE_LIMIT:
            return Refused(Refusal.RATE_LIMITED, "调用过于频繁，请稍后再试")
        if kind is FaultKind.TOKEN_EXPIRED:
            return Refused(Refusal.SIGNATURE_EXPIRED, "签名已过期")
        if kind is FaultKind.CONTENT_REJECTED and submitting:
            problem = {"code": "sensitive_content", "message": "稿件含有需人工复核的表述"}
            return Refused(Refusal.CONTENT_REJECTED, "稿件内容未通过平台预审", [problem])
        return None

    def _answer(self, handler: Callable[[], Response], *, submitting: bool = False) -> Response:
        fault = self._fault(submitting=submitting)
        if fault is not None:
            return self._failure(fault)
        try:
            self._verify_signature()
            return handler()
        except Refused as refused:
            if refused.refusal not in (Refusal.NOT_FOUND,):
                self.note("refused", refusal=refused.refusal.value, message=refused.message)
            return self._failure(refused)

    def _failure(self, refused: Refused) -> Response:
        response = self.failure(refused)
        if refused.refusal is Refusal.RATE_LIMITED:
            response.headers["Retry-After"] = str(self.faults.config.retry_after_s)
        return response

    def _submit(self) -> Response:
        key = request.headers.get(self.api.key_header, "").strip()
        upload = request.files.get(self.api.package_field)
        if not key or upload is None:
            message = f"缺少 {self.api.key_header} 请求头或 {self.api.package_field} 文件"
            raise Refused(Refusal.BAD_REQUEST, message)
        self.check_fields(request.form.to_dict())
        package = self.verify_package(upload.read(), key)
        submission, created = self.file(key, package, via="api")
        payload = self.render(submission) | {"duplicate": not created}
        if self.faults.drop_reply():
            cut_connection()
        return self.success(payload, 201 if created else 200)

    def routes(self, app: Flask) -> None:
        api = self.api

        @app.post(api.submit, endpoint="submit")
        def submit() -> ResponseReturnValue:
            return self._answer(self._submit, submitting=True)

        @app.get(api.one.replace("{id}", "<submission_id>"), endpoint="one")
        def one(submission_id: str) -> ResponseReturnValue:
            return self._answer(lambda: self.success(self.render(self.submission(submission_id))))

        @app.get(api.find, endpoint="find")
        def find() -> ResponseReturnValue:
            key = request.args.get(api.find_param, "")
            return self._answer(lambda: self.success(self.render_list(self.by_key(key))))

        @app.post(api.withdraw.replace("{id}", "<submission_id>"), endpoint="withdraw")
        def withdraw(submission_id: str) -> ResponseReturnValue:
            def handler() -> Response:
                reason = str((request.get_json(silent=True) or {}).get("reason", ""))
                return self.success(self.render(self.withdraw(submission_id, reason)))

            return self._answer(handler)

        app.get(self.page_rule, endpoint="page")(self.serve_page)
        app.get(f"{self.image_path}/<name>", endpoint="image")(self._image)
        app.register_blueprint(self._editor_admin())

    def _editor_admin(self) -> Blueprint:
        admin = Blueprint("upward_admin", __name__, url_prefix="/_sim")

        def decided(submission_id: str, *, adopt: bool) -> ResponseReturnValue:
            body = request.get_json(silent=True) or {}
            try:
                submission = self.decide(
                    submission_id,
                    adopt=adopt,
                    url=str(body.get("url", "")),
                    reason=str(body.get("reason", "")),
                )
            except Refused as refused:
                status = 404 if refused.refusal is Refusal.NOT_FOUND else 409
                return jsonify({"error": refused.refusal.value, "message": refused.message}), status
            return jsonify(self.render(submission))

        @admin.post("/adopt/<submission_id>")
        def adopt(submission_id: str) -> ResponseReturnValue:
            return decided(submission_id, adopt=True)

        @admin.post("/reject/<submission_id>")
        def reject(submission_id: str) -> ResponseReturnValue:
            return decided(submission_id, adopt=False)

        @admin.get("/submissions")
        def submissions() -> ResponseReturnValue:
            return jsonify([self.render(s) for s in self.all_submissions()])

        return admin

    # --- the editorial mailbox ---------------------------------------------------------------

    @property
    def smtp_port(self) -> int | None:
        return self._smtp.port if self._smtp is not None else None

    def start_smtp(self) -> int:
        """Open the mailbox on 127.0.0.1 at a free port; returns the port."""
        if self._smtp is None:
            limit = self.limits.max_package_bytes * 2
            self._smtp = _LoopbackController(
                _Mailbox(self), hostname="127.0.0.1", port=0, data_size_limit=limit
            )
            self._smtp.start()
        return self._smtp.port

    def stop_smtp(self) -> None:
        if self._smtp is not None:
            self._smtp.stop()
            self._smtp = None

    def mail_settings(self) -> dict[str, Any]:
        """Adapter settings for delivery by mail to this simulator's mailbox (if it is open)."""
        if self._smtp is None:
            return {}
        return {
            "smtp_host": "127.0.0.1",
            "smtp_port": self._smtp.port,
            "smtp_security": "none",
            "smtp_timeout": 5.0,
            "mail_from": self.mail_from,
            "mail_to": self.editorial_address,
        }

    def receive_mail(self, raw: bytes) -> str:
        """File one mail; the SMTP reply line (ASCII, as SMTP wants)."""
        message = email.message_from_bytes(raw, _class=EmailMessage, policy=email.policy.default)
        key = str(message.get(KEY_HEADER, "")).strip()
        if not key:
            return f"550 5.6.0 Missing {KEY_HEADER} header"
        zips = [
            part.get_content()
            for part in message.iter_attachments()
            if part.get_content_type() == "application/zip"
        ]
        if len(zips) != 1:
            return "554 5.6.0 Exactly one zip package expected"
        try:
            package = self.verify_package(zips[0], key)
        except Refused as refused:
            self.note(
                "refused", via="email", refusal=refused.refusal.value, message=refused.message
            )
            return f"554 5.6.0 Package refused: {refused.refusal.value}"
        subject = str(message.get("Subject", ""))
        submission, _ = self.file(key, package, via="email", subject=subject)
        return f"250 2.0.0 Filed as {submission.id}"


class _LoopbackController(Controller):
    """aiosmtpd's Controller, but `port=0` picks a free port (it probes the port it binds)."""

    def _trigger_server(self) -> None:
        server: Any = self.server
        self.port = server.sockets[0].getsockname()[1]
        super()._trigger_server()  # type: ignore[no-untyped-call]


_SMTP_FAULT_REPLIES = {
    FaultKind.SERVER_ERROR: "421 4.3.2 Service not available, try again later",
    FaultKind.RATE_LIMIT: "450 4.7.1 Too many submissions, try again later",
    FaultKind.CONTENT_REJECTED: "554 5.7.1 Content rejected by the editorial desk",
}


class _Mailbox:
    """aiosmtpd handler: only the editorial address, and the simulator's fault knobs."""

    def __init__(self, simulator: UpwardSimulator) -> None:
        self._sim = simulator

    async def handle_RCPT(
        self,
        server: SMTPServer,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if address.lower() != self._sim.editorial_address.lower():
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTPServer, session: Session, envelope: Envelope) -> str:
        config = self._sim.faults.config
        if config.latency_ms:
            await asyncio.sleep(config.latency_ms / 1000)
        kind = self._sim.faults.draw()
        if kind is FaultKind.TIMEOUT:
            await asyncio.sleep(config.hang_s)
        elif kind is FaultKind.RESET:
            return self._cut(server)
        elif kind in _SMTP_FAULT_REPLIES:
            return _SMTP_FAULT_REPLIES[kind]
        content = envelope.original_content or envelope.content or b""
        raw = content if isinstance(content, bytes) else content.encode()
        reply = await asyncio.to_thread(self._sim.receive_mail, raw)
        if reply.startswith("250") and self._sim.faults.drop_reply():
            return self._cut(server)
        return reply

    @staticmethod
    def _cut(server: SMTPServer) -> str:
        transport: Any = server.transport
        if transport is not None:
            transport.abort()
        return "421 4.3.0 Connection lost"
