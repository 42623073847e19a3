"""The uploaded file as a Word package: its size, a sound zip within the unpacked limits, its
core-properties title and the file name's stem."""

from __future__ import annotations

import io
import zipfile
import zlib
from pathlib import PurePath

import lxml.etree

from orchestrator.errors import InvalidInput

MAX_BYTES = 50 * 1024 * 1024
MAX_UNCOMPRESSED = 200 * 1024 * 1024
MAX_ENTRIES = 10_000


def check_size(data: bytes, filename: str) -> None:
    """At most MAX_BYTES as uploaded."""
    if len(data) > MAX_BYTES:
        raise InvalidInput(
            f"文件 {filename} 大小 {mb(len(data))}，超过 Word 稿件上限 {mb(MAX_BYTES)}；"
            "请压缩其中的图片后重试",
            code="docx_too_large",
        )


def mb(size: int) -> str:
    return f"{size / 1024 / 1024:.0f} MB" if size >= 1024 * 1024 else f"{size / 1024:.0f} KB"


def not_word(filename: str) -> InvalidInput:
    return InvalidInput(
        f"文件 {filename} 不是有效的 Word 文档（.docx）；请在 Word 或 WPS 中打开它，"
        "另存为 .docx 后重试",
        code="docx_invalid",
    )


def check_package(data: bytes, filename: str) -> None:
    """A zip whose entries, unpacked, stay within MAX_UNCOMPRESSED (zipfile stops reading an
    entry at its declared size, so the declared sizes bound what mammoth can unpack)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError):
        raise not_word(filename) from None
    unpacked = sum(entry.file_size for entry in entries)
    if len(entries) > MAX_ENTRIES or unpacked > MAX_UNCOMPRESSED:
        raise InvalidInput(
            f"文件 {filename} 解压后超过 {mb(MAX_UNCOMPRESSED)}（或内含文件过多），"
            "不像是正常的 Word 文档，已拒绝处理",
            code="docx_too_large",
        )


def core_title(data: bytes) -> str:
    """dc:title of docProps/core.xml, or ""."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            core = archive.read("docProps/core.xml")
        parser = lxml.etree.XMLParser(resolve_entities=False, no_network=True)
        found = lxml.etree.fromstring(core, parser).findtext(
            "{http://purl.org/dc/elements/1.1/}title"
        )
    except (KeyError, zipfile.BadZipFile, zlib.error, lxml.etree.XMLSyntaxError, ValueError):
        return ""
    return " ".join((found or "").split())


def stem(filename: str) -> str:
    return PurePath(filename.replace("\\", "/")).stem.strip() or "未命名稿件"
