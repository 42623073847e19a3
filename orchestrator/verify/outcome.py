"""What a verification found: the verdict, a stable code, a Chinese reason and the evidence.

Codes, by verdict (`CODE_VERDICT` holds the same table):

consistent   ok                   the live page carries the signed title, text and images
unreachable  bad_url              the address cannot be parsed
             bad_scheme           not http:// or https://
             host_not_allowed     the address, a redirect or an image is on a host not allowed
             timeout              no answer within the limits (connect, read, wall clock)
             connection_failed    refused, reset, DNS failure, broken compressed data
             tls_failed           the certificate or the TLS handshake failed
             too_large            the page is larger than `Limits.max_bytes`
             redirect_loop        a redirect leads back to an address already visited
             too_many_redirects   more than `Limits.max_redirects` redirects
             http_error           an HTTP error other than 404/410, or a redirect without target
             not_html             the answer is not a web page (Content-Type)
             undecodable          the bytes cannot be decoded as text in any sensible encoding
removed      gone                 HTTP 404 or 410
mismatch     title_changed        the signed title is not on the page
             text_changed         the signed text is not on the page as signed, or the article
                                  around it holds more than page furniture
             image_count_changed  the article holds a different number of images
             image_not_image      an image address answers something that is not an image
             image_missing        an image address answers 404/410
             image_host_changed   an image is served from a host not allowed for the channel
                                  (a picture swapped for one elsewhere is not compared, so
                                  it is a mismatch, never 一致)
             image_changed        an image differs from the signed one (perceptual hash)

A page with several problems gets the code listed first above for what it found; its reason
names the others too.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from html import escape
from typing import NamedTuple


class Verdict(enum.StrEnum):
    CONSISTENT = "consistent"
    MISMATCH = "mismatch"
    UNREACHABLE = "unreachable"
    REMOVED = "removed"

    @property
    def label(self) -> str:
        return _LABELS[self]


_LABELS = {
    Verdict.CONSISTENT: "一致",
    Verdict.MISMATCH: "不一致",
    Verdict.UNREACHABLE: "无法访问",
    Verdict.REMOVED: "已删除",
}


class Code(enum.StrEnum):
    OK = "ok"
    BAD_URL = "bad_url"
    BAD_SCHEME = "bad_scheme"
    HOST_NOT_ALLOWED = "host_not_allowed"
    TIMEOUT = "timeout"
    CONNECTION_FAILED = "connection_failed"
    TLS_FAILED = "tls_failed"
    TOO_LARGE = "too_large"
    REDIRECT_LOOP = "redirect_loop"
    TOO_MANY_REDIRECTS = "too_many_redirects"
    HTTP_ERROR = "http_error"
    NOT_HTML = "not_html"
    UNDECODABLE = "undecodable"
    GONE = "gone"
    TITLE_CHANGED = "title_changed"
    TEXT_CHANGED = "text_changed"
    IMAGE_COUNT_CHANGED = "image_count_changed"
    IMAGE_NOT_IMAGE = "image_not_image"
    IMAGE_MISSING = "image_missing"
    IMAGE_HOST_CHANGED = "image_host_changed"
    IMAGE_CHANGED = "image_changed"


CODE_VERDICT: dict[Code, Verdict] = {
    Code.OK: Verdict.CONSISTENT,
    **dict.fromkeys(
        (
            Code.BAD_URL,
            Code.BAD_SCHEME,
            Code.HOST_NOT_ALLOWED,
            Code.TIMEOUT,
            Code.CONNECTION_FAILED,
            Code.TLS_FAILED,
            Code.TOO_LARGE,
            Code.REDIRECT_LOOP,
            Code.TOO_MANY_REDIRECTS,
            Code.HTTP_ERROR,
            Code.NOT_HTML,
            Code.UNDECODABLE,
        ),
        Verdict.UNREACHABLE,
    ),
    Code.GONE: Verdict.REMOVED,
    **dict.fromkeys(
        (
            Code.TITLE_CHANGED,
            Code.TEXT_CHANGED,
            Code.IMAGE_COUNT_CHANGED,
            Code.IMAGE_NOT_IMAGE,
            Code.IMAGE_MISSING,
            Code.IMAGE_HOST_CHANGED,
            Code.IMAGE_CHANGED,
        ),
        Verdict.MISMATCH,
    ),
}

# The order in which a page's mismatches are reported: the first found gives the code.
MISMATCH_ORDER = tuple(
    code for code, verdict in CODE_VERDICT.items() if verdict is Verdict.MISMATCH
)


class UnfetchableImage(NamedTuple):
    """A live image that could not be compared; by itself it does not make a mismatch."""

    position: int  # 0-based, in the signed body's order
    url: str
    code: str  # a Code of the fetch (timeout, host_not_allowed, too_large...) or not_compared
    reason: str


@dataclass(frozen=True, slots=True)
class ImageReport:
    """The article's images against the signed ones, position by position (0-based indexes)."""

    expected: int = 0
    found: int = 0
    compared: int = 0
    mismatched: tuple[int, ...] = ()
    not_image: tuple[int, ...] = ()
    missing: tuple[int, ...] = ()
    foreign: tuple[int, ...] = ()  # on a host not allowed for the channel: never fetched
    unfetchable: tuple[UnfetchableImage, ...] = ()
    distances: tuple[int | None, ...] = ()  # perceptual-hash distance per position, if compared


Segment = tuple[str, str]  # ("equal" | "insert" | "delete", text), signed -> live


@dataclass(frozen=True)
class Outcome:
    verdict: Verdict
    code: str
    reason: str
    url: str
    final_url: str = ""
    http_status: int | None = None
    page_sha256: str = ""
    snapshot: bytes = field(default=b"", repr=False)
    similarity: float = 0.0
    diff: tuple[Segment, ...] = ()
    images: ImageReport = ImageReport()
    duration_ms: int = 0

    def diff_html(self) -> str:
        """The diff as escaped HTML: deletions in <del>, insertions in <ins>, context as text."""
        parts = []
        for kind, text in self.diff:
            if kind == "insert":
                parts.append(f"<ins>{escape(text)}</ins>")
            elif kind == "delete":
                parts.append(f"<del>{escape(text)}</del>")
            else:
                parts.append(f'<span class="same">{escape(text)}</span>')
        return "".join(parts)
