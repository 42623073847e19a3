"""A Word manuscript read into a draft's title, body, images and warnings: the steps in order."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import lxml.html

from orchestrator.docx_import.convert import Images, convert, warning
from orchestrator.docx_import.legacy import OLE_MAGIC, from_legacy
from orchestrator.docx_import.package import check_package, check_size, core_title, stem
from orchestrator.docx_import.serialise import serialise
from orchestrator.docx_import.shape import has_content, shape, take_title
from orchestrator.errors import InvalidInput
from orchestrator.services.submissions import ImageFile


@dataclass(frozen=True)
class Manuscript:
    title: str
    body_html: str
    images: list[ImageFile]
    warnings: list[str]


def read_manuscript(data: bytes, filename: str) -> Manuscript:
    """The manuscript in `data` (a .docx, or a .doc when LibreOffice is installed); `filename`
    names it in messages and is the title of last resort."""
    check_size(data, filename)
    if data.startswith(OLE_MAGIC):
        data = from_legacy(data, filename)
    check_package(data, filename)
    images = Images()
    converted = convert(data, filename, images)
    root = lxml.html.fragment_fromstring(converted.value or "<p></p>", create_parent="div")
    title = take_title(root) or core_title(data) or stem(filename)
    warnings = Counter(images.warnings)
    warnings.update(shape(root, set(images.files)))
    warnings.update(filter(None, (warning(m.message) for m in converted.messages)))
    body = serialise(root)
    if not has_content(root):
        raise InvalidInput(
            f"Word 文档 {filename} 除标题外没有正文内容（文字或图片）", code="docx_empty"
        )
    return Manuscript(
        title=title,
        body_html=body,
        images=list(images.files.values()),
        warnings=[w if n == 1 else f"{w}（共 {n} 处）" for w, n in warnings.items()],
    )
