"""Text as it is compared: normalised, and walked out of a tree with its blocks and images.

`normalise` makes two renderings of one text equal: NFKC (full-width letters, digits and
punctuation become half-width), curly quotes, dashes and middle dots unified, invisible
characters dropped, and every space removed, since Chinese text has no meaningful spaces.
Nothing else is folded: a changed character, digit or punctuation mark stays a change.

`walk` reads a tree once, in document order, into a `Stream`: the normalised text of every
text node joined, where each block (paragraph, heading, list item, cell...) starts and ends in
it, and where each image sits in it. Offsets are in the normalised text.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any

from lxml import etree, html

from orchestrator.verify.model import Signed

SIGNED_IMAGE_PREFIX = "sanshen-image:"

_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u200e\u200f\u2060\ufeff\u00ad"))
_PUNCTUATION = str.maketrans(
    {
        **dict.fromkeys("“”„‟〝〞〟", '"'),
        **dict.fromkeys("‘’‚‛", "'"),
        **dict.fromkeys("‐‑‒–—―−", "-"),
        **dict.fromkeys("・•‧∙⋅", "·"),
    }
)


def normalise(text: str) -> str:
    """The text as compared: NFKC, one form of each punctuation mark, no whitespace."""
    text = unicodedata.normalize("NFKC", text.translate(_INVISIBLE)).translate(_PUNCTUATION)
    return "".join(text.split())


@dataclass(frozen=True, slots=True)
class Image:
    offset: int  # where in the stream's text the image sits
    src: str


@dataclass(frozen=True, slots=True)
class Span:
    """An element's extent in a stream: text [start, end) and images [first, stop)."""

    start: int
    end: int
    first: int
    stop: int


@dataclass
class Stream:
    text: str = ""
    blocks: list[tuple[int, int]] = field(default_factory=list)  # non-empty, in order
    images: list[Image] = field(default_factory=list)
    spans: dict[Any, Span] = field(default_factory=dict)  # element -> Span, when asked

    def block_texts(self) -> list[str]:
        return [self.text[start:end] for start, end in self.blocks]


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


HTML_BLOCKS = _words(
    "address article aside blockquote body br caption center dd details dialog div dl dt "
    "fieldset figcaption figure footer form h1 h2 h3 h4 h5 h6 header hr html legend li main "
    "nav ol p pre section summary table tbody td tfoot th thead tr ul"
)
HTML_SKIPPED = _words(
    "head script style noscript template iframe object embed svg math select button "
    "textarea input canvas audio video map"
)
_LAZY_SRC = ("data-src", "data-original", "data-lazy-src", "data-actualsrc", "src")


def html_image_src(element: Any) -> str:
    """The address an <img> shows: a lazy-loading attribute first, as the page's script would."""
    for name in _LAZY_SRC:
        value = (element.get(name) or "").strip()
        if value and not (name == "src" and value.startswith("data:image/svg")):
            return value
    return ""


def walk(
    root: Any,
    *,
    blocks: Collection[str] = HTML_BLOCKS,
    skipped: Collection[str] = HTML_SKIPPED,
    image_tag: str = "img",
    image_src: Callable[[Any], str] = html_image_src,
    with_spans: bool = False,
) -> Stream:
    """Read `root` in document order; iterative, so a deeply nested page cannot exhaust the
    stack. Comments must be gone already (parse with remove_comments=True)."""
    stream = Stream()
    parts: list[str] = []
    length = 0
    block_start = 0
    opened: list[tuple[int, int]] = []

    def close_block() -> None:
        nonlocal block_start
        if length > block_start:
            stream.blocks.append((block_start, length))
        block_start = length

    def add(text: str | None) -> None:
        nonlocal length
        if text and not text.isspace():
            piece = normalise(text)
            parts.append(piece)
            length += len(piece)

    walker = etree.iterwalk(root, events=("start", "end"))
    for event, element in walker:
        tag = element.tag
        if not isinstance(tag, str):
            continue
        if event == "start":
            if tag in skipped:
                walker.skip_subtree()
                continue
            if tag in blocks:
                close_block()
            if with_spans:
                opened.append((length, len(stream.images)))
            if tag == image_tag:
                stream.images.append(Image(length, image_src(element)))
            add(element.text)
            continue
        if tag not in skipped:
            if tag in blocks:
                close_block()
            if with_spans:
                start, first = opened.pop()
                stream.spans[element] = Span(start, length, first, len(stream.images))
        if element is not root:
            add(element.tail)
    close_block()
    stream.text = "".join(parts)
    return stream


def html_parser() -> html.HTMLParser:
    return html.HTMLParser(
        encoding="utf-8",
        remove_comments=True,
        remove_pis=True,
        collect_ids=False,
        default_doctype=False,
    )


_LOCAL = threading.local()  # an lxml parser must not be shared between threads


def parse_html(text: str) -> Any | None:
    """The document tree of `text`, or None when nothing can be parsed out of it."""
    if not text.strip():
        return None
    try:
        parser = getattr(_LOCAL, "parser", None) or html_parser()
        _LOCAL.parser = parser
        return html.document_fromstring(text.encode("utf-8", "replace"), parser=parser)
    except (etree.ParserError, etree.XMLSyntaxError, ValueError):
        return None


def signed_stream(signed: Signed) -> tuple[Stream, list[str]]:
    """The signed body read like a page, and the SHA-256 of each image in body order."""
    tree = parse_html(f"<html><body>{signed.body_html}</body></html>")
    stream = walk(tree) if tree is not None else Stream()
    shas = [
        image.src[len(SIGNED_IMAGE_PREFIX) :].strip().lower()
        if image.src.startswith(SIGNED_IMAGE_PREFIX)
        else image.src
        for image in stream.images
    ]
    return stream, shas


def signed_text(signed: Signed) -> str:
    """The normalised text of the signed body, as it is looked for on the live page."""
    return signed_stream(signed)[0].text


_SPACES = re.compile(r"\s+")


def display(text: str, limit: int = 40) -> str:
    """A short one-line quotation of `text` for a reason."""
    text = _SPACES.sub(" ", text).strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"
