"""The safe, visible fixes for images a platform would refuse: another format (a PNG cover as
JPEG) or fewer bytes (re-encoded, then scaled down). Pure: bytes in, bytes out.

A fix is offered only where nothing a reader sees changes but sharpness: no crop, no new
aspect ratio. An animated GIF, or an image that would have to shrink below `MIN_SIDE` to fit,
is left for a person to replace (`fit` returns None).
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image

from channels.rendering import sniff_image

JPEG_QUALITIES = (90, 85, 80, 75, 70)
SCALE_STEP = 0.85
MIN_SIDE = 160  # px: below this an image is no longer what its author meant
KIND_FORMAT = {"jpeg": "JPEG", "png": "PNG"}
KIND_LABEL = {"jpeg": "JPG", "png": "PNG", "gif": "GIF"}


@dataclass(frozen=True)
class Fitted:
    data: bytes
    kind: str
    size: tuple[int, int]


def fit(data: bytes, kinds: tuple[str, ...], max_bytes: int) -> Fitted | None:
    """`data` as one of `kinds` (JPEG preferred) in at most `max_bytes`, or None when no safe
    fix exists. An image already acceptable comes back unchanged."""
    kind = sniff_image(data)
    if kind in kinds and len(data) <= max_bytes:
        return Fitted(data, kind, _size(data))
    target = "jpeg" if "jpeg" in kinds else "png" if "png" in kinds else None
    if target is None or kind is None:
        return None
    with Image.open(io.BytesIO(data)) as image:
        if getattr(image, "is_animated", False):
            return None
        picture = _flattened(image) if target == "jpeg" else image.copy()
    while min(picture.size) >= MIN_SIDE:
        for encoded in _encodings(picture, target):
            if len(encoded) <= max_bytes:
                return Fitted(encoded, target, picture.size)
        width, height = picture.size
        picture = picture.resize(
            (max(1, round(width * SCALE_STEP)), max(1, round(height * SCALE_STEP))),
            Image.Resampling.LANCZOS,
        )
    return None


def _flattened(image: Image.Image) -> Image.Image:
    """RGB on white: JPEG has no transparency, and a transparent PNG would turn black."""
    rgba = image.convert("RGBA")
    canvas = Image.new("RGB", rgba.size, (255, 255, 255))
    canvas.paste(rgba, mask=rgba.getchannel("A"))
    return canvas


def _encodings(picture: Image.Image, target: str) -> list[bytes]:
    if target == "jpeg":
        return [_encode(picture, "JPEG", quality=q, optimize=True) for q in JPEG_QUALITIES]
    return [_encode(picture, "PNG", optimize=True)]


def _encode(picture: Image.Image, fmt: str, **options: object) -> bytes:
    out = io.BytesIO()
    picture.save(out, format=fmt, **options)
    return out.getvalue()


def _size(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as image:
        return image.size


def describe(name: str, before: bytes, after: Fitted) -> str:
    """What the fix did, for the person who asked for it (and the audit record)."""
    was = KIND_LABEL.get(sniff_image(before) or "", "图片")
    steps = []
    if was != KIND_LABEL[after.kind]:
        steps.append(f"由 {was} 转为 {KIND_LABEL[after.kind]}")
    if after.size != _size(before):
        steps.append("缩小为 {}×{} 像素".format(*after.size))
    steps.append(f"{_kb(len(before))} → {_kb(len(after.data))}")
    return f"{name}：" + "，".join(steps)


def _kb(size: int) -> str:
    return f"{size / 1024:.0f} KB" if size < 1024 * 1024 else f"{size / 1024 / 1024:.1f} MB"
