"""Is an uploaded file the image it claims to be? One check for every way images come in
(API, console form, CLI), made by the submission service before anything is stored.

Magic bytes alone pass a JPEG header glued to a script; Pillow must also parse and decode the
whole file, and its format must be the one the name declares (or, without an image extension,
the one the bytes start with).
"""

from __future__ import annotations

import io
import warnings
from pathlib import PurePath

from PIL import Image

from channels.rendering import sniff_image

DECLARED_KIND = {".jpg": "jpeg", ".jpeg": "jpeg", ".png": "png", ".gif": "gif"}
PILLOW_KIND = {"JPEG": "jpeg", "MPO": "jpeg", "PNG": "png", "GIF": "gif"}
KIND_LABEL = {"jpeg": "JPG", "png": "PNG", "gif": "GIF"}


def _decoded_kind(data: bytes) -> str | None:
    """The format Pillow finds after checking the structure and decoding every pixel."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                found = image.format
                image.verify()
            with Image.open(io.BytesIO(data)) as image:
                image.load()
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError, Warning):
        return None
    return PILLOW_KIND.get(found or "")


def image_problem(filename: str, data: bytes) -> str | None:
    """What is wrong with the file as an image to publish, in Chinese; None when it is fine."""
    sniffed = sniff_image(data)
    if "\x00" in filename:
        return "图片文件名含有空字符（U+0000）"
    if sniffed is None:
        return f"文件“{filename}”不是可发布的图片（JPG/PNG/GIF）"
    if _decoded_kind(data) != sniffed:
        return f"文件“{filename}”不是完整有效的 {KIND_LABEL[sniffed]} 图片（无法解码）"
    declared = DECLARED_KIND.get(PurePath(filename).suffix.lower())
    if declared is not None and declared != sniffed:
        return (
            f"文件“{filename}”的扩展名表明是 {KIND_LABEL[declared]} 图片，"
            f"内容却是 {KIND_LABEL[sniffed]}；请使用正确的扩展名"
        )
    return None
