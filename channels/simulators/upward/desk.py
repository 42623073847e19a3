"""The editorial desk of an upward platform: it files one submission per idempotency key,
adopts it after `confirm_delay_s` (or when the editors decide), publishes the adopted page,
and serves the back-end of assisted mode. The platform's own format is left to subclasses."""

from __future__ import annotations

import hashlib
import posixpath
from abc import abstractmethod
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from flask import Response
from flask.typing import ResponseReturnValue

from channels.simulators.base import Simulator
from channels.simulators.cms import CmsPost
from channels.simulators.faults import FaultConfig
from channels.simulators.live.page import LivePage
from channels.simulators.pages import PageArticle
from channels.simulators.upward.records import Desk, Manuscript, Refusal, Refused, Submission
from channels.upward import (
    IMAGE_EXTENSIONS,
    PackageInvalid,
    SubmissionPackage,
    UpwardApi,
    UpwardLimits,
    read_package,
)

_MIME_BY_EXTENSION = {ext: mime for mime, ext in IMAGE_EXTENSIONS.items()}


class UpwardDesk(Simulator):
    """An upward platform's desk: subclasses give the contract (`api`, `limits`) and format."""

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
        self._desk = Desk()

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
            self._desk.manuscripts[submission.id] = Manuscript(
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
            self._desk = Desk()
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
            self._desk.manuscripts[submission.id] = Manuscript(
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
