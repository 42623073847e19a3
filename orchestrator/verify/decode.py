"""Bytes to text, the way a browser would choose the encoding.

Order: a byte-order mark, the HTTP charset, then <meta charset> or <meta http-equiv> in the
first 8 KB; without any of them, charset-normalizer detects it. Labels are read as the WHATWG
Encoding Standard reads them: GB2312 and GBK mean GB18030 (pages that declare gb2312 hold GBK
characters), ISO-8859-1 and ASCII mean windows-1252, Big5 means Big5-HKSCS.

A declared encoding that fails on the bytes gives way to the next candidate; when every one
fails, the first is used with replacement characters if they are rare (under 0.5%), as a
browser would show the page. Undeclared bytes that are valid UTF-8 are UTF-8; others are
detected, UTF-16 and UTF-32 excepted (a browser never guesses them without a BOM). Otherwise,
or when the text is mostly control characters, the page is undecodable.
"""

from __future__ import annotations

import codecs
import re

import charset_normalizer

_ALIASES = {
    **dict.fromkeys(
        ("gb2312", "gbk", "x-gbk", "cp936", "euc-cn", "gb_2312-80", "csgb2312", "chinese"),
        "gb18030",
    ),
    **dict.fromkeys(("iso-8859-1", "latin1", "latin-1", "ascii", "us-ascii"), "cp1252"),
    "big5": "big5hkscs",
    "x-sjis": "shift_jis",
}
_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_HTTP_CHARSET = re.compile(r"""charset\s*=\s*["']?\s*([\w.:-]+)""", re.IGNORECASE)
_META_CHARSET = re.compile(
    rb"""<meta\b[^>]*?\bcharset\s*=\s*["']?\s*([a-zA-Z0-9_.:-]+)""", re.IGNORECASE
)
_PRESCAN_BYTES = 8192
_MAX_REPLACED = 0.005
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")


class Undecodable(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def codec_for(label: str) -> str | None:
    """The Python codec for an encoding label, or None for an unknown or unusable label."""
    label = label.strip().lower()
    name = _ALIASES.get(label, label)
    try:
        info = codecs.lookup(name)
    except LookupError:
        return None
    if info.name.startswith("utf-16") or info.name.startswith("utf-32"):
        return "utf-8"  # a <meta> cannot declare UTF-16: the page was readable as ASCII
    return info.name


def declared(body: bytes, content_type: str) -> list[str]:
    """The candidate codecs in the order they count, without repeats."""
    found: list[str] = []
    for bom, name in _BOMS:
        if body.startswith(bom):
            found.append(name)
    labels = _HTTP_CHARSET.findall(content_type or "")[:1]
    labels += [m.decode("ascii") for m in _META_CHARSET.findall(body[:_PRESCAN_BYTES])[:1]]
    for label in labels:
        codec = codec_for(label)
        if codec and codec not in found:
            found.append(codec)
    return found


def decode(body: bytes, content_type: str = "") -> str:
    """The page's text; raises Undecodable with a Chinese reason."""
    candidates = declared(body, content_type)
    for name in candidates:
        try:
            return _sane(body.decode(name).removeprefix("\ufeff"), name)
        except UnicodeDecodeError:
            continue
    if candidates:
        text = body.decode(candidates[0], "replace")
        if text.count("\ufffd") <= _MAX_REPLACED * max(len(text), 1):
            return _sane(text, candidates[0])
        raise Undecodable(f"页面声明的编码为 {candidates[0]}，但内容无法按此编码解读")
    if not body.strip():
        return ""
    try:
        return _sane(body.decode("utf-8"), "utf-8")
    except UnicodeDecodeError:
        pass
    for match in charset_normalizer.from_bytes(body):
        if not match.encoding.startswith(("utf_16", "utf_32")):  # never sniffed without a BOM
            return _sane(str(match), match.encoding)
    raise Undecodable("页面未声明编码，且无法识别其文字编码（内容可能不是文本）")


def _sane(text: str, name: str) -> str:
    if len(_CONTROL.findall(text[:20000])) > 0.01 * min(len(text), 20000):
        raise Undecodable(f"按 {name} 解读后页面含大量控制字符，内容不是可读的文本")
    return text
