"""The article's images against the signed ones, position by position, by perceptual hash.

CMSs recompress and resize what they are given, so bytes and pixels differ while the picture
is the same: a 64-bit pHash (imagehash) of each side is compared, and a Hamming distance above
`Limits.image_similarity` means a different picture. JPEGs are decoded at reduced size
(Pillow's draft mode), which the hash does not notice and which makes decoding cheap.

An image that cannot be fetched (timeout, refused, too large) is listed in
`ImageReport.unfetchable` and is not a mismatch by itself. An address that answers bytes that
are not an image is one (`image_not_image`), and so is one that answers 404/410
(`image_missing`): the page shows a broken image. So is an image on a host not allowed for the
channel (`image_host_changed`): it is never fetched, so a picture swapped for one served from
elsewhere could not be compared — the page is not one the office can vouch for.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import threading
import time
import warnings
from collections import OrderedDict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import unquote_to_bytes, urljoin

import imagehash
import requests
from PIL import Image

from orchestrator.verify.fetch import fetch
from orchestrator.verify.model import Limits
from orchestrator.verify.outcome import Code, ImageReport, UnfetchableImage
from orchestrator.verify.request import Request, Unfetchable
from orchestrator.verify.watch import deadline

_ACCEPT = "image/avif,image/webp,image/png,image/jpeg,image/gif,image/*;q=0.8"
_DRAFT_SIZE = (128, 128)
NOT_COMPARED = "not_compared"  # over Limits.max_images, or the signed original missing


class NotAnImage(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ImageTooLarge(NotAnImage):
    pass


def perceptual_hash(data: bytes, max_pixels: int = Limits.image_max_pixels) -> imagehash.ImageHash:
    """The pHash of an image's first frame; raises NotAnImage or ImageTooLarge."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                if image.width * image.height > max_pixels:
                    raise ImageTooLarge(f"{image.width}×{image.height} 像素，超过解码上限")
                image.draft("L", _DRAFT_SIZE)
                return imagehash.phash(image)
    except NotAnImage:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageTooLarge("像素过多，超过解码上限") from None
    except Exception as exc:  # Pillow raises many kinds on hostile bytes; all mean "not an image"
        raise NotAnImage(f"无法作为图片解码（{type(exc).__name__}）") from None


_SIGNED_HASHES: OrderedDict[tuple[str, int], imagehash.ImageHash | None] = OrderedDict()
_SIGNED_HASHES_MAX = 1024
_SIGNED_LOCK = threading.Lock()


def _signed_hash(data: bytes, max_pixels: int) -> imagehash.ImageHash | None:
    """The signed image's hash, remembered by content (the same item is checked again and
    again); None if it cannot be decoded."""
    key = (hashlib.sha256(data).hexdigest(), max_pixels)
    with _SIGNED_LOCK:
        if key in _SIGNED_HASHES:
            _SIGNED_HASHES.move_to_end(key)
            return _SIGNED_HASHES[key]
    try:
        found: imagehash.ImageHash | None = perceptual_hash(data, max_pixels)
    except NotAnImage:
        found = None
    with _SIGNED_LOCK:
        _SIGNED_HASHES[key] = found
        while len(_SIGNED_HASHES) > _SIGNED_HASHES_MAX:
            _SIGNED_HASHES.popitem(last=False)
    return found


@dataclass
class _Report:
    expected: int
    found: int
    compared: int = 0
    mismatched: list[int] = field(default_factory=list)
    not_image: list[int] = field(default_factory=list)
    missing: list[int] = field(default_factory=list)
    foreign: list[int] = field(default_factory=list)  # on a host not allowed: never fetched
    unfetchable: list[UnfetchableImage] = field(default_factory=list)
    distances: list[int | None] = field(default_factory=list)
    notes: dict[int, str] = field(default_factory=dict)  # index -> Chinese detail

    def frozen(self) -> ImageReport:
        return ImageReport(
            expected=self.expected,
            found=self.found,
            compared=self.compared,
            mismatched=tuple(self.mismatched),
            not_image=tuple(self.not_image),
            missing=tuple(self.missing),
            foreign=tuple(self.foreign),
            unfetchable=tuple(self.unfetchable),
            distances=tuple(self.distances),
        )


@dataclass(frozen=True, slots=True)
class ImageFindings:
    report: ImageReport
    problems: tuple[tuple[Code, str], ...]  # (code, Chinese reason), in report order


def compare_images(
    signed_shas: Sequence[str],
    signed_images: Mapping[str, bytes],
    live_srcs: Sequence[str],
    *,
    base_url: str,
    session: requests.Session,
    allowed_hosts: Collection[str],
    limits: Limits,
) -> ImageFindings:
    report = _Report(expected=len(signed_shas), found=len(live_srcs))
    if len(signed_shas) != len(live_srcs):
        reason = f"页面正文有 {len(live_srcs)} 张图片，签发版本有 {len(signed_shas)} 张"
        return ImageFindings(report.frozen(), ((Code.IMAGE_COUNT_CHANGED, reason),))
    started = time.monotonic()
    fetched: dict[str, _Body | Unfetchable] = {}
    for index, (sha, src) in enumerate(zip(signed_shas, live_srcs, strict=True)):
        url = urljoin(base_url, src) if not src.startswith("data:") else src
        report.distances.append(None)
        if index >= limits.max_images:
            _skip(
                report,
                index,
                url,
                NOT_COMPARED,
                f"超过每页比对上限（{limits.max_images} 张），未比对",
            )
            continue
        expected = signed_images.get(sha)
        if expected is None:
            _skip(report, index, url, NOT_COMPARED, "签发版本缺少这张图片的原件，无法比对")
            continue
        left = limits.images_total_seconds - (time.monotonic() - started)
        if url not in fetched:
            fetched[url] = _get(url, index, session, allowed_hosts, limits, left)
        got = fetched[url]
        if isinstance(got, Unfetchable):
            _unfetched(report, index, url, got)
            continue
        _compare(report, index, url, _signed_hash(expected, limits.image_max_pixels), got, limits)
    return ImageFindings(report.frozen(), _problems(report))


def _get(
    url: str,
    index: int,
    session: requests.Session,
    allowed_hosts: Collection[str],
    limits: Limits,
    left: float,
) -> _Body | Unfetchable:
    what = f"第 {index + 1} 张图片"
    if url.startswith("data:"):
        return _data_url(url, what, limits.image_max_bytes)
    if left <= 0:
        return Unfetchable(Code.TIMEOUT, f"本页图片的核验时间已用完，{what}未获取")
    request = Request.within(limits, what=what, accept=_ACCEPT, max_bytes=limits.image_max_bytes)
    try:
        with deadline(min(limits.image_seconds, left)) as watch:
            answer = fetch(session, url, allowed_hosts, request, watch)
    except Unfetchable as problem:
        return problem
    if answer.status in (404, 410):
        return Unfetchable(
            Code.GONE, f"{what}已无法访问（HTTP {answer.status}）", status=answer.status
        )
    if not 200 <= answer.status < 300:
        return Unfetchable(
            Code.HTTP_ERROR, f"{what}获取失败（HTTP {answer.status}）", status=answer.status
        )
    if not answer.body:
        return Unfetchable(Code.HTTP_ERROR, f"{what}的地址返回了空内容（{answer.content_type}）")
    return _Body(answer.body, answer.content_type)


@dataclass(frozen=True, slots=True)
class _Body:
    data: bytes
    content_type: str  # named in the reason when the bytes are not an image


def _data_url(url: str, what: str, cap: int) -> _Body | Unfetchable:
    header, _, payload = url[5:].partition(",")
    try:
        data = (
            base64.b64decode(payload, validate=False)
            if header.endswith(";base64")
            else unquote_to_bytes(payload)
        )
    except (binascii.Error, ValueError):
        return _Body(b"", header)
    if len(data) > cap:
        return Unfetchable(Code.TOO_LARGE, f"{what}（内嵌数据）超过大小上限")
    return _Body(data, header.removesuffix(";base64") or "data:")


def _compare(
    report: _Report,
    index: int,
    url: str,
    expected: imagehash.ImageHash | None,
    got: _Body,
    limits: Limits,
) -> None:
    try:
        live = perceptual_hash(got.data, limits.image_max_pixels)
    except ImageTooLarge as problem:
        _skip(report, index, url, str(Code.TOO_LARGE), problem.reason)
        return
    except NotAnImage as problem:
        content_type = got.content_type or "未说明类型"
        report.not_image.append(index)
        report.notes[index] = f"{problem.reason}，返回内容类型为 {content_type}"
        return
    if expected is None:
        _skip(report, index, url, NOT_COMPARED, "签发版本的这张图片无法解码，无法比对")
        return
    distance = int(expected - live)
    report.compared += 1
    report.distances[index] = distance
    if distance > limits.image_similarity:
        report.mismatched.append(index)
        report.notes[index] = f"感知哈希差异 {distance}，阈值 {limits.image_similarity}"


def _unfetched(report: _Report, index: int, url: str, problem: Unfetchable) -> None:
    if problem.code is Code.GONE:
        report.missing.append(index)
        report.notes[index] = problem.reason
        return
    if problem.code is Code.HOST_NOT_ALLOWED:
        report.foreign.append(index)
        report.notes[index] = problem.reason
        return
    _skip(report, index, url, str(problem.code), problem.reason)


def _skip(report: _Report, index: int, url: str, code: str, reason: str) -> None:
    report.unfetchable.append(UnfetchableImage(index, url, code, reason))


def _problems(report: _Report) -> tuple[tuple[Code, str], ...]:
    problems: list[tuple[Code, str]] = []
    for index in report.not_image:
        problems.append(
            (
                Code.IMAGE_NOT_IMAGE,
                f"第 {index + 1} 张图片的地址返回的不是图片：{report.notes[index]}",
            )
        )
    for index in report.missing:
        problems.append((Code.IMAGE_MISSING, report.notes[index]))
    for index in report.foreign:
        problems.append(
            (
                Code.IMAGE_HOST_CHANGED,
                f"第 {index + 1} 张图片不在该渠道的发布地址上，无法比对：{report.notes[index]}"
                "（若平台改用了新的图片域名，请加入 PAGE_HOSTS）",
            )
        )
    for index in report.mismatched:
        problems.append(
            (Code.IMAGE_CHANGED, f"第 {index + 1} 张图片与签发版本不同（{report.notes[index]}）")
        )
    return tuple(problems)
