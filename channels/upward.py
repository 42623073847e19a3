"""Upward reports (对上报送): what 学习强国 and 绿色青浦 share.

Neither platform publishes an open API; each adapter speaks the contract written in
`docs/channels/<name>.md` and its simulator implements it. Shared here:

- the submission package (投稿包): a deterministic zip of the cleaned manuscript, its images and
  attachments, the signed approval record and a manifest of SHA-256s (`build_package`), and the
  reader that verifies one (`read_package`, used by the simulators);
- the pure checks every upward report must pass (`UpwardLimits`, `upward_problems`);
- HTTP delivery (`UpwardChannel`): submit, status, find by key, withdraw — each platform supplies
  its paths, field names and response envelope;
- delivery by mail (`send_by_mail`) for a platform that takes manuscripts at an editorial address.
"""

from __future__ import annotations

import email.policy
import email.utils
import hashlib
import io
import json
import posixpath
import re
import smtplib
import ssl
import zipfile
import zlib
from abc import abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from functools import partial
from typing import Any, ClassVar, TypeVar
from urllib.parse import quote

import requests
from pydantic import Field, SecretStr
from requests.auth import AuthBase

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
    OutcomeUnknown,
    Permanent,
    Problem,
    RateLimited,
    Unavailable,
)
from channels.http import call, json_body, retry_after
from channels.item import Item
from channels.rendering import (
    body_image_problems,
    body_problems,
    image_problems,
    image_srcs,
    rewrite_images,
    title_problems,
)

PACKAGE_FORMAT = "sanshen-upward/1"
MANIFEST = "manifest.json"
MANUSCRIPT = "manuscript.html"
APPROVAL = "approval.json"
SIGN_OFF = "签发"
IMAGE_EXTENSIONS: Mapping[str, str] = {"image/jpeg": "jpg", "image/png": "png", "image/gif": "gif"}
_T = TypeVar("_T")
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


class PackageInvalid(ValueError):
    """A package that cannot be trusted; `code` is stable, the message Chinese."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class SubmissionPackage:
    """A built or verified package: the zip bytes and what they hold."""

    data: bytes = field(repr=False)
    sha256: str
    manifest: Mapping[str, Any]
    approval: Mapping[str, Any]
    files: Mapping[str, bytes] = field(repr=False)

    @property
    def title(self) -> str:
        return str(self.manifest["title"])

    @property
    def idempotency_key(self) -> str:
        return str(self.manifest["idempotency_key"])

    @property
    def manuscript_html(self) -> str:
        return self.files[MANUSCRIPT].decode("utf-8")

    @property
    def stages(self) -> tuple[str, ...]:
        return tuple(str(line["stage"]) for line in self.approval["review"])

    def has_sign_off(self) -> bool:
        return SIGN_OFF in self.stages


def image_path(sha256: str, mime: str) -> str:
    return f"images/{sha256}.{IMAGE_EXTENSIONS.get(mime, 'bin')}"


def attachment_path(filename: str) -> str:
    name = posixpath.basename(filename.replace("\\", "/")).strip()
    name = "".join(ch for ch in name if ch.isprintable())
    if name in {"", ".", ".."}:
        name = "attachment"
    return f"attachments/{name}"


def _json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, indent=2).encode("utf-8")


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _approval(item: Item) -> dict[str, Any]:
    return {
        "version_fingerprint": item.fingerprint,
        "review": [
            {
                "stage": line.stage,
                "person": line.person,
                "acted_at": line.acted_at.isoformat(),
                "signature_fingerprint": line.signature_fingerprint,
            }
            for line in item.review
        ],
    }


def _content_files(item: Item) -> dict[str, bytes]:
    images = {img.sha256: img for img in (*item.images, *([item.cover] if item.cover else []))}
    paths = {sha: image_path(sha, img.mime) for sha, img in images.items()}
    body = rewrite_images(item.body_html, paths)
    files = {MANUSCRIPT: body.encode("utf-8"), APPROVAL: _json(_approval(item))}
    files |= {paths[sha]: img.data for sha, img in images.items()}
    for attachment in item.attachments:
        path = attachment_path(attachment.filename)
        if path in files:
            raise ValueError(f"duplicate attachment name {attachment.filename!r}")
        files[path] = attachment.data
    return files


def build_package(item: Item, idempotency_key: str) -> SubmissionPackage:
    """The 投稿包 for `item`; the same item and key always give the same bytes."""
    files = _content_files(item)
    manifest = {
        "format": PACKAGE_FORMAT,
        "reference": item.reference,
        "idempotency_key": idempotency_key,
        "title": item.title,
        "department": item.department,
        "author": item.author,
        "digest": item.digest,
        "publish_date": item.publish_date.isoformat() if item.publish_date else None,
        "version_fingerprint": item.fingerprint,
        "cover": image_path(item.cover.sha256, item.cover.mime) if item.cover else None,
        "files": {name: _sha256(data) for name, data in sorted(files.items())},
    }
    files[MANIFEST] = _json(manifest)
    data = _zip(files)
    return SubmissionPackage(data, _sha256(data), manifest, _approval(item), files)


def _zip(files: Mapping[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=_ZIP_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3
            info.external_attr = 0o644 << 16
            archive.writestr(info, files[name])
    return buffer.getvalue()


def _unzip(data: bytes, max_bytes: int) -> dict[str, bytes]:
    if len(data) > max_bytes:
        raise PackageInvalid("package_too_large", f"投稿包超过 {max_bytes} 字节上限")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
            names = [info.filename for info in infos]
            if len(set(names)) != len(names):
                raise PackageInvalid("duplicate_entry", "投稿包内有重名文件")
            for name in names:
                if name.startswith("/") or "\\" in name or ".." in name.split("/"):
                    raise PackageInvalid("unsafe_entry", f"投稿包内文件名不安全：{name}")
            if sum(info.file_size for info in infos) > max_bytes * 4:
                raise PackageInvalid("package_too_large", "投稿包解压后过大")
            return {info.filename: archive.read(info) for info in infos}
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        raise PackageInvalid("not_a_zip", "投稿包不是有效的 zip 文件或已损坏") from exc


def _load_json(files: Mapping[str, bytes], name: str) -> dict[str, Any]:
    if name not in files:
        raise PackageInvalid("missing_entry", f"投稿包缺少 {name}")
    try:
        value = json.loads(files[name].decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise PackageInvalid("bad_json", f"{name} 不是有效的 JSON") from exc
    if not isinstance(value, dict):
        raise PackageInvalid("bad_json", f"{name} 应为 JSON 对象")
    return value


def _check_hashes(manifest: Mapping[str, Any], files: Mapping[str, bytes]) -> None:
    listed = manifest.get("files")
    if not isinstance(listed, dict):
        raise PackageInvalid("bad_manifest", "清单缺少文件列表")
    present = set(files) - {MANIFEST}
    if unlisted := sorted(present - set(listed)):
        raise PackageInvalid("unlisted_entry", f"文件 {unlisted[0]} 不在清单中")
    if missing := sorted(set(listed) - present):
        raise PackageInvalid("missing_entry", f"投稿包缺少清单所列文件 {missing[0]}")
    for name in sorted(present):
        if _sha256(files[name]) != listed[name]:
            raise PackageInvalid("hash_mismatch", f"文件 {name} 的 SHA-256 与清单不符")


def _check_manuscript(files: Mapping[str, bytes]) -> None:
    if MANUSCRIPT not in files:
        raise PackageInvalid("missing_entry", f"投稿包缺少 {MANUSCRIPT}")
    try:
        html = files[MANUSCRIPT].decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PackageInvalid("bad_manuscript", "正文不是 UTF-8 编码") from exc
    for src in image_srcs(html):
        if src not in files:
            raise PackageInvalid("missing_image", f"正文引用的图片 {src} 不在投稿包中")


def _check_approval(manifest: Mapping[str, Any], approval: Mapping[str, Any]) -> None:
    review = approval.get("review")
    if not isinstance(review, list) or not all(
        isinstance(line, dict) and {"stage", "person", "acted_at"} <= set(line) for line in review
    ):
        raise PackageInvalid("bad_approval", "审批记录格式不正确")
    if approval.get("version_fingerprint") != manifest.get("version_fingerprint"):
        raise PackageInvalid("approval_mismatch", "审批记录的版本指纹与清单不一致")


def read_package(data: bytes, *, max_bytes: int = 50 * 1024 * 1024) -> SubmissionPackage:
    """Open and verify a package; raises `PackageInvalid` naming the first problem found."""
    files = _unzip(data, max_bytes)
    manifest = _load_json(files, MANIFEST)
    if manifest.get("format") != PACKAGE_FORMAT:
        raise PackageInvalid("bad_manifest", f"不支持的投稿包格式：{manifest.get('format')}")
    for key in ("title", "idempotency_key"):
        if not isinstance(manifest.get(key), str) or not manifest[key]:
            raise PackageInvalid("bad_manifest", f"清单缺少 {key}")
    _check_hashes(manifest, files)
    _check_manuscript(files)
    approval = _load_json(files, APPROVAL)
    _check_approval(manifest, approval)
    return SubmissionPackage(data, _sha256(data), manifest, approval, files)


@dataclass(frozen=True, slots=True)
class UpwardLimits:
    """One platform's acceptance rules, checked before sign-off (see its docs page)."""

    title_min: int
    title_max: int
    image_kinds: frozenset[str]  # "jpeg", "png", "gif" (see channels.rendering.sniff_image)
    max_image_bytes: int
    max_package_bytes: int
    max_attachments: int = 10


def _title_problems(item: Item, limits: UpwardLimits, platform: str) -> list[Problem]:
    title = item.title.strip()
    if title and len(title) < limits.title_min:
        message = f"{platform}要求标题不少于 {limits.title_min} 个字（现 {len(title)} 个）"
        return [Problem("title_too_short", message, "title")]
    return title_problems(title, max_chars=limits.title_max)


def _image_problems(item: Item, limits: UpwardLimits) -> list[Problem]:
    kinds = limits.image_kinds
    problems = body_image_problems(item, max_bytes=limits.max_image_bytes, kinds=kinds)
    if item.cover:
        problems += image_problems(
            item.cover, field="cover", max_bytes=limits.max_image_bytes, kinds=kinds
        )
    return problems


def _review_problems(item: Item) -> list[Problem]:
    if not item.review:
        return [Problem("review_missing", "对上报送必须附带审批记录", "review")]
    problems = []
    if SIGN_OFF not in {line.stage for line in item.review}:
        problems.append(Problem("sign_off_missing", "审批记录中没有“签发”，不得对上报送", "review"))
    if not item.fingerprint:
        problems.append(
            Problem("fingerprint_missing", "缺少稿件版本指纹，审批记录无从对应", "review")
        )
    return problems


def _package_problems(item: Item, limits: UpwardLimits) -> list[Problem]:
    problems = []
    names = [attachment_path(a.filename) for a in item.attachments]
    if len(names) > limits.max_attachments:
        message = f"附件不超过 {limits.max_attachments} 个（现 {len(names)} 个）"
        problems.append(Problem("too_many_attachments", message, "attachments"))
    if len(set(names)) != len(names):
        problems.append(Problem("attachment_name_duplicate", "附件文件名重复", "attachments"))
    blobs = [img.data for img in item.images] + [a.data for a in item.attachments]
    size = len(item.body_html.encode("utf-8")) + sum(len(b) for b in blobs)
    if item.cover:
        size += len(item.cover.data)
    if size > limits.max_package_bytes:
        limit_mb = limits.max_package_bytes // 1024 // 1024
        message = f"投稿包约 {size / 1024 / 1024:.1f} MB，超过 {limit_mb} MB 上限"
        problems.append(Problem("package_too_large", message, "attachments"))
    return problems


def upward_problems(item: Item, limits: UpwardLimits, platform: str) -> list[Problem]:
    """Every reason `platform` would refuse `item`; pure."""
    return [
        *_title_problems(item, limits, platform),
        *body_problems(item.body_html),
        *_image_problems(item, limits),
        *_review_problems(item),
        *_package_problems(item, limits),
    ]


# --- HTTP delivery ------------------------------------------------------------------------------


class UpwardSettings(ChannelSettings):
    app_key: str = Field(min_length=1)
    app_secret: SecretStr


@dataclass(frozen=True, slots=True)
class UpwardApi:
    """Where one platform keeps its endpoints and what it calls things (paths under api_root)."""

    submit: str  # POST, multipart
    one: str  # GET, with "{id}"
    find: str  # GET, with the key in `find_param`
    find_param: str
    withdraw: str  # POST, with "{id}"
    package_field: str
    key_header: str = "Idempotency-Key"


@dataclass(frozen=True, slots=True)
class RemoteSubmission:
    """A submission as the platform describes it, in our words."""

    external_id: str
    idempotency_key: str
    state: RemoteState
    url: str = ""
    reason: str = ""
    published_at: str = ""
    duplicate: bool = False


class PlatformError(Exception):
    """A platform's error answer, raised by `_unwrap` and mapped through `error_codes`."""

    def __init__(self, code: str | int, message: str, problems: tuple[Problem, ...] = ()):
        super().__init__(message)
        self.code = code
        self.message = message
        self.problems = problems


def problems_from(raw: Any) -> tuple[Problem, ...]:
    if not isinstance(raw, list):
        return ()
    return tuple(
        Problem(str(p.get("code", "")), str(p.get("message", "")), str(p.get("field", "")))
        for p in raw
        if isinstance(p, dict)
    )


class UpwardChannel(Channel):
    """An upward platform over HTTP; subclasses supply `api`, `limits` and the envelope."""

    kind: ClassVar[ChannelKind] = ChannelKind.UPWARD
    capabilities: ClassVar[Capabilities] = Capabilities(
        async_confirmation=True, dedupes_by_key=True
    )
    settings_model: ClassVar[type[ChannelSettings]] = UpwardSettings
    settings: UpwardSettings
    api: ClassVar[UpwardApi]
    limits: ClassVar[UpwardLimits]
    not_found_code: ClassVar[str | int]

    def __init__(self, settings: ChannelSettings) -> None:
        super().__init__(settings)
        self._session = requests.Session()
        self._session.auth = self._auth()

    @abstractmethod
    def _auth(self) -> AuthBase:
        """The platform's request signing."""

    @abstractmethod
    def _unwrap(self, status_code: int, body: Any) -> Any:
        """The payload of a success answer; raise `PlatformError` for an error answer."""

    @abstractmethod
    def _submission(self, data: Any) -> RemoteSubmission:
        """One submission from the platform's payload."""

    @abstractmethod
    def _submissions(self, data: Any) -> list[RemoteSubmission]:
        """The list the platform answers a find-by-key with."""

    @abstractmethod
    def _submit_fields(self, item: Item, package: SubmissionPackage) -> dict[str, str]:
        """The form fields sent beside the package."""

    def validate(self, item: Item) -> list[Problem]:
        return upward_problems(item, self.limits, self.display_name)

    def publish(self, item: Item, idempotency_key: str) -> Receipt:
        if problems := self.validate(item):
            message = f"稿件未通过{self.display_name}报送前检查"
            raise ContentRejected(message, problems=tuple(problems), channel=self.name)
        return self._deliver(item, build_package(item, idempotency_key))

    def _deliver(self, item: Item, package: SubmissionPackage) -> Receipt:
        name = f"{package.sha256[:16]}.zip"
        data = self._request(
            "POST",
            self.api.submit,
            changes_state=True,
            headers={self.api.key_header: package.idempotency_key},
            data=self._submit_fields(item, package),
            files={self.api.package_field: (name, package.data, "application/zip")},
        )
        submission = self._parse(self._submission, data, changes_state=True)
        extra = {"via": "http", "package_sha256": package.sha256, "duplicate": submission.duplicate}
        return self._receipt(submission, extra)

    def status(self, receipt: Receipt) -> Status:
        external_id = receipt.external_id or self._external_id(receipt.idempotency_key)
        if not external_id:
            return Status(RemoteState.NOT_FOUND)
        try:
            data = self._request("GET", self._path(self.api.one, external_id), changes_state=False)
        except ChannelError as exc:
            if exc.platform_code == self.not_found_code:
                return Status(RemoteState.NOT_FOUND)
            raise
        submission = self._parse(self._submission, data, changes_state=False)
        return Status(submission.state, submission.url, submission.reason)

    def find(self, idempotency_key: str, since: datetime | None = None) -> Receipt | None:
        params = {self.api.find_param: idempotency_key}
        data = self._request("GET", self.api.find, changes_state=False, params=params)
        found = self._parse(self._submissions, data, changes_state=False)
        matching = [s for s in found if s.idempotency_key == idempotency_key]
        return self._receipt(matching[0], {}) if matching else None

    def retract(self, receipt: Receipt, reason: str) -> Status:
        """Withdraw (撤稿) a submission not yet adopted; after adoption: `NotSupported`."""
        external_id = receipt.external_id or self._external_id(receipt.idempotency_key)
        if not external_id:
            return Status(RemoteState.NOT_FOUND)
        path = self._path(self.api.withdraw, external_id)
        try:
            data = self._request("POST", path, changes_state=True, json={"reason": reason})
        except ChannelError as exc:
            if exc.platform_code == self.not_found_code:
                return Status(RemoteState.NOT_FOUND)
            raise
        submission = self._parse(self._submission, data, changes_state=True)
        return Status(submission.state, submission.url, submission.reason)

    def _external_id(self, idempotency_key: str) -> str:
        found = self.find(idempotency_key)
        return found.external_id if found else ""

    def _receipt(self, submission: RemoteSubmission, extra: dict[str, Any]) -> Receipt:
        if submission.published_at:
            extra = extra | {"published_at": submission.published_at}
        return Receipt(
            channel=self.name,
            idempotency_key=submission.idempotency_key,
            external_id=submission.external_id,
            state=submission.state,
            url=submission.url,
            extra=extra,
        )

    @staticmethod
    def _path(template: str, external_id: str) -> str:
        return template.format(id=quote(external_id, safe=""))

    def _request(self, method: str, path: str, *, changes_state: bool, **kwargs: Any) -> Any:
        response = call(
            self._session,
            method,
            self.settings.api_root + path,
            channel=self.name,
            changes_state=changes_state,
            timeout=self.settings.timeout,
            **kwargs,
        )
        if response.status_code == 429 and "json" not in response.headers.get("Content-Type", ""):
            raise RateLimited(retry_after=retry_after(response), channel=self.name)
        body = json_body(response, channel=self.name, changes_state=changes_state)
        try:
            return self._parse(partial(self._unwrap, response.status_code), body, changes_state)
        except PlatformError as error:
            raise self._mapped(error, response) from None

    def _parse(self, parse: Callable[[Any], _T], data: Any, changes_state: bool) -> _T:
        try:
            return parse(data)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            message = f"{self.display_name}的答复格式不符合约定（{type(exc).__name__}）"
            if changes_state:
                raise OutcomeUnknown(message, channel=self.name) from exc
            raise Unavailable(message, channel=self.name) from exc

    def _mapped(self, error: PlatformError, response: requests.Response) -> ChannelError:
        kind = self.error_codes.get(error.code)
        if kind is None:
            kind = Unavailable if response.status_code >= 500 else Permanent
        common: dict[str, Any] = {"platform_code": error.code, "channel": self.name}
        if issubclass(kind, RateLimited):
            return kind(error.message, retry_after=retry_after(response), **common)
        if issubclass(kind, ContentRejected):
            return kind(error.message, problems=error.problems, **common)
        return kind(error.message, **common)


# --- delivery by mail ---------------------------------------------------------------------------

KEY_HEADER = "X-Sanshen-Key"
PACKAGE_SHA_HEADER = "X-Sanshen-Package-SHA256"
PACKAGE_FILENAME = "submission.zip"
_MSGID_ATOM = re.compile(r"[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*")


@dataclass(frozen=True, slots=True)
class MailRoute:
    """How to reach a platform's editorial mailbox."""

    host: str
    port: int
    security: str  # "none", "starttls" or "ssl"
    username: str
    password: SecretStr
    timeout: float
    mail_from: str
    mail_to: str

    @property
    def domain(self) -> str:
        return self.mail_from.rpartition("@")[2] or "localhost"


def message_id(idempotency_key: str, domain: str) -> str:
    """A Message-ID naming the key, so that the platform (and a person) can match the mail."""
    local = idempotency_key
    if not _MSGID_ATOM.fullmatch(local):
        local = "k" + hashlib.sha256(idempotency_key.encode()).hexdigest()[:32]
    return f"<sanshen.{local}@{domain}>"


def _mail_text(item: Item, package: SubmissionPackage) -> str:
    review = "；".join(
        f"{line.stage} {line.person} {line.acted_at.isoformat()}" for line in item.review
    )
    lines = [
        f"标题：{item.title}",
        f"供稿单位：{item.department or '—'}",
        f"作者：{item.author or '—'}",
        f"拟发布日期：{item.publish_date.isoformat() if item.publish_date else '—'}",
        f"审批记录：{review}",
        f"幂等键：{package.idempotency_key}",
        f"投稿包 SHA-256：{package.sha256}",
        "",
        "稿件、图片、附件及审批记录见附件投稿包（zip）。",
    ]
    return "\n".join(lines) + "\n"


def submission_mail(
    item: Item, package: SubmissionPackage, route: MailRoute, *, subject: str
) -> EmailMessage:
    """The mail carrying `package`; the subject may be Chinese (encoded per RFC 2047)."""
    message = EmailMessage(policy=email.policy.SMTP)
    message["Subject"] = subject
    message["From"] = route.mail_from
    message["To"] = route.mail_to
    message["Date"] = email.utils.format_datetime(datetime.now(UTC))
    message["Message-ID"] = message_id(package.idempotency_key, route.domain)
    message[KEY_HEADER] = package.idempotency_key
    message[PACKAGE_SHA_HEADER] = package.sha256
    message.set_content(_mail_text(item, package))
    message.add_attachment(
        package.data, maintype="application", subtype="zip", filename=PACKAGE_FILENAME
    )
    return message


def _reply_error(
    code: int,
    reply: bytes | str,
    *,
    channel: str,
    reply_codes: Mapping[str | int, type[ChannelError]],
) -> ChannelError:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply
    kind = reply_codes.get(code) or (Unavailable if 400 <= code < 500 else Permanent)
    return kind(f"投稿邮箱服务器答复 {code} {text}", platform_code=code, channel=channel)


def _connect(route: MailRoute) -> smtplib.SMTP:
    if route.security == "ssl":
        smtp: smtplib.SMTP = smtplib.SMTP_SSL(
            route.host, route.port, local_hostname=route.domain, timeout=route.timeout
        )
    else:
        smtp = smtplib.SMTP(
            route.host, route.port, local_hostname=route.domain, timeout=route.timeout
        )
    try:
        if route.security == "starttls":
            smtp.starttls(context=ssl.create_default_context())
        if route.username:
            smtp.login(route.username, route.password.get_secret_value())
    except BaseException:
        smtp.close()
        raise
    return smtp


def _quit(smtp: smtplib.SMTP) -> None:
    try:
        smtp.quit()
    except OSError:
        smtp.close()


def send_by_mail(
    message: EmailMessage,
    route: MailRoute,
    *,
    channel: str,
    reply_codes: Mapping[str | int, type[ChannelError]],
) -> str:
    """Send one mail; the server's acceptance line, or raise from `channels.errors`.

    Up to the message data nothing can have been accepted, so failures there are `Unavailable`
    (or the mapped reply). Once the data went out, a lost answer is `OutcomeUnknown`.
    """
    raw = message.as_bytes(policy=email.policy.SMTP)
    mapped = partial(_reply_error, channel=channel, reply_codes=reply_codes)
    try:
        smtp = _connect(route)
    except smtplib.SMTPResponseException as exc:
        raise mapped(exc.smtp_code, exc.smtp_error) from exc
    except smtplib.SMTPNotSupportedError as exc:
        raise ConfigurationInvalid(f"投稿邮箱服务器不支持：{exc}", channel=channel) from exc
    except OSError as exc:
        raise Unavailable(f"无法连接投稿邮箱服务器：{type(exc).__name__}", channel=channel) from exc
    try:
        return _transaction(smtp, route, raw, channel=channel, mapped=mapped)
    finally:
        _quit(smtp)


def _transaction(
    smtp: smtplib.SMTP,
    route: MailRoute,
    raw: bytes,
    *,
    channel: str,
    mapped: Callable[[int, bytes | str], ChannelError],
) -> str:
    try:
        smtp.ehlo_or_helo_if_needed()
        code, reply = smtp.mail(route.mail_from)
        if code == 250:
            code, reply = smtp.rcpt(route.mail_to)
    except smtplib.SMTPResponseException as exc:
        raise mapped(exc.smtp_code, exc.smtp_error) from exc
    except OSError as exc:
        raise Unavailable(f"投稿邮件未能发出：{type(exc).__name__}", channel=channel) from exc
    if code not in (250, 251):
        raise mapped(code, reply)
    try:
        code, reply = smtp.data(raw)
    except smtplib.SMTPDataError as exc:
        raise mapped(exc.smtp_code, exc.smtp_error) from exc
    except OSError as exc:
        message = f"投稿邮件已发出，未收到服务器确认（{type(exc).__name__}）"
        raise OutcomeUnknown(message, channel=channel) from exc
    if code != 250:
        raise mapped(code, reply)
    return bytes(reply).decode("utf-8", "replace")
