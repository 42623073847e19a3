"""The submission package (投稿包) of an upward report: built by adapters, read by simulators.

A deterministic zip of the cleaned manuscript, its images and attachments, the signed approval
record and a manifest of SHA-256s: `build_package` makes one (the same item and key always give
the same bytes), `read_package` opens one and verifies everything it claims.
"""

from __future__ import annotations

import hashlib
import io
import json
import posixpath
import zipfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from channels.item import Item
from channels.rendering import image_srcs, rewrite_images

PACKAGE_FORMAT = "sanshen-upward/1"
MANIFEST = "manifest.json"
MANUSCRIPT = "manuscript.html"
APPROVAL = "approval.json"
SIGN_OFF = "签发"
IMAGE_EXTENSIONS: Mapping[str, str] = {"image/jpeg": "jpg", "image/png": "png", "image/gif": "gif"}
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
