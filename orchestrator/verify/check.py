"""`check`: fetch a live page and prove it carries the signed title, text and images."""

from __future__ import annotations

import gzip
import hashlib
import re
import time
from collections.abc import Collection
from typing import Any
from urllib.parse import urljoin

import requests
import trafilatura

from orchestrator.verify.chrome import Furniture
from orchestrator.verify.compare import TextResult, compare_text, describe
from orchestrator.verify.decode import Undecodable, decode
from orchestrator.verify.fetch import fetch
from orchestrator.verify.images import compare_images
from orchestrator.verify.model import Limits, Signed
from orchestrator.verify.outcome import (
    CODE_VERDICT,
    MISMATCH_ORDER,
    Code,
    ImageReport,
    Outcome,
)
from orchestrator.verify.request import Fetched, Request, Unfetchable
from orchestrator.verify.sessions import thread_session, watched
from orchestrator.verify.text import (
    Stream,
    display,
    normalise,
    parse_html,
    signed_stream,
    walk,
)
from orchestrator.verify.watch import deadline

PAGE_ACCEPT = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.5"
HTML_TYPES = frozenset({"text/html", "application/xhtml+xml", "application/xml", "text/xml"})
_EXTRACTED_BLOCKS = frozenset(
    ("p", "head", "item", "list", "cell", "row", "table", "quote", "code", "div", "lb", "fw")
)
_TITLE_PARTS = re.compile(r"[_|｜\-–—·:：]+")
DEFAULT_LIMITS = Limits()
_NAME_METAS = ("og:site_name", "sitename", "site_name", "columnname", "application-name", "author")


def check(
    url: str,
    signed: Signed,
    *,
    allowed_hosts: Collection[str],
    limits: Limits = DEFAULT_LIMITS,
    session: requests.Session | None = None,
    furniture: Collection[str] = (),
) -> Outcome:
    """Fetch `url` and compare it with `signed`. Never raises for anything the page or the
    network does; every problem is an Outcome.

    `session`: reuse connections across checks (one per thread; it gets the watched adapter
    mounted, see sessions.py); by default each thread has its own. `furniture`: strings the
    platform shows around its articles that are not recognisable as such by their form (the
    site's or the account's name); the page's <title> parts and site-name metas count anyway.
    """
    started = time.monotonic()
    if isinstance(allowed_hosts, str):  # one host given bare, not its characters
        allowed_hosts = (allowed_hosts,)
    session = watched(session) if session is not None else thread_session()
    request = Request.within(limits, what="页面", accept=PAGE_ACCEPT, max_bytes=limits.max_bytes)
    try:
        with deadline(limits.total_seconds) as watch:
            page = fetch(session, url, allowed_hosts, request, watch)
    except Unfetchable as problem:
        return _outcome(
            started,
            url,
            problem.code,
            problem.reason,
            final_url=problem.final_url,
            status=problem.status,
            body=problem.body,
        )
    return _judge(started, url, page, signed, allowed_hosts, limits, session, furniture)


def _judge(
    started: float,
    url: str,
    page: Fetched,
    signed: Signed,
    allowed_hosts: Collection[str],
    limits: Limits,
    session: requests.Session,
    furniture: Collection[str],
) -> Outcome:
    def answer(
        code: Code,
        reason: str,
        result: TextResult | None = None,
        images: ImageReport | None = None,
    ) -> Outcome:
        return _outcome(
            started,
            url,
            code,
            reason,
            final_url=page.final_url,
            status=page.status,
            body=page.body,
            result=result,
            images=images,
        )

    if page.status in (404, 410):
        return answer(Code.GONE, f"页面已删除或不存在（HTTP {page.status}）")
    if not 200 <= page.status < 300:
        return answer(Code.HTTP_ERROR, f"页面返回错误（HTTP {page.status}）")
    mime = page.content_type.split(";")[0].strip().lower()
    if mime not in HTML_TYPES and not (not mime and _looks_like_html(page.body)):
        return answer(Code.NOT_HTML, f"该地址返回的不是网页（内容类型 {mime or '未说明'}）")
    try:
        text = decode(page.body, page.content_type)
    except Undecodable as problem:
        return answer(Code.UNDECODABLE, problem.reason)

    tree = parse_html(text)
    live = walk(tree, with_spans=True) if tree is not None else Stream()
    article = _extract(tree)
    body, shas = signed_stream(signed)
    title = normalise(signed.title)
    known = {title, *map(normalise, furniture), *_page_names(tree)}
    findings: list[tuple[Code, str]] = []
    if title and title not in live.text and title not in normalise(_page_title(tree)):
        findings.append((Code.TITLE_CHANGED, f"页面上找不到签发的标题“{display(signed.title)}”"))
    result = compare_text(body.text, live, article, Furniture(known))
    if result.changed:
        findings.append((Code.TEXT_CHANGED, describe(result)))
    images = compare_images(
        shas,
        signed.images,
        _article_images(live, article, result, body.text),
        base_url=_base_url(tree, page.final_url),
        session=session,
        allowed_hosts=allowed_hosts,
        limits=limits,
    )
    findings += images.problems
    if not findings:
        return answer(
            Code.OK, "页面与签发版本一致" + _unfetched_note(images.report), result, images.report
        )
    findings.sort(key=lambda finding: MISMATCH_ORDER.index(finding[0]))
    reason = "；".join(reason for _, reason in findings)
    return answer(findings[0][0], reason, result, images.report)


def _outcome(
    started: float,
    url: str,
    code: Code,
    reason: str,
    *,
    final_url: str = "",
    status: int | None = None,
    body: bytes = b"",
    result: TextResult | None = None,
    images: ImageReport | None = None,
) -> Outcome:
    return Outcome(
        verdict=CODE_VERDICT[code],
        code=str(code),
        reason=reason if reason.endswith("。") else reason + "。",
        url=url,
        final_url=final_url,
        http_status=status,
        page_sha256=hashlib.sha256(body).hexdigest() if body else "",
        snapshot=gzip.compress(body, compresslevel=6, mtime=0) if body else b"",
        similarity=round(result.similarity, 6) if result is not None else 0.0,
        diff=result.diff if result is not None else (),
        images=images if images is not None else ImageReport(),
        duration_ms=round((time.monotonic() - started) * 1000),
    )


def _looks_like_html(body: bytes) -> bool:
    head = body[:1024].lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html", b"<head", b"<body", b"<meta", b"<!--"))


def _extract(tree: Any) -> Stream:
    """The article as trafilatura extracts it, with its images. Tuned for precision: tuned for
    recall it takes a short article's whole page chrome for the article (a one-sentence item
    on the 政府网站 template), and each block of it would be judged as an addition. What it
    drops is not lost: the signed text is found in the whole page's text (compare.py)."""
    if tree is None:
        return Stream()
    try:
        document = trafilatura.bare_extraction(
            tree,
            fast=True,
            favor_precision=True,
            include_comments=False,
            include_tables=True,
            include_images=True,
            include_links=False,
            include_formatting=False,
            deduplicate=False,
            with_metadata=False,
        )
    except Exception:  # an extractor failing on a hostile page leaves the article empty
        return Stream()
    body = getattr(document, "body", None)
    if body is None:
        return Stream()
    return walk(
        body,
        blocks=_EXTRACTED_BLOCKS,
        skipped=(),
        image_tag="graphic",
        image_src=lambda element: element.get("src", ""),
    )


def _article_images(live: Stream, article: Stream, result: TextResult, signed: str) -> list[str]:
    """The images of the article on the live page. Where the signed text was found: those in
    the largest element whose text is the smallest covering it, from its first character to
    its last (an image at either end counts, one beyond furniture text does not). Otherwise
    the images the extractor kept."""
    if result.found_at < 0 or not signed:
        return [image.src for image in article.images]
    start, end = result.found_at, result.found_at + len(signed)
    best = None
    for span in live.spans.values():
        if span.start <= start and span.end >= end:
            key = (span.end - span.start, -(span.stop - span.first))
            if best is None or key < best[0]:
                best = (key, span)
    if best is None:
        return []
    span = best[1]
    return [
        image.src
        for image in live.images[span.first : span.stop]
        if start <= image.offset <= end and image.src
    ]


def _page_title(tree: Any) -> str:
    if tree is None:
        return ""
    return str(tree.findtext(".//title") or "")


def _page_names(tree: Any) -> set[str]:
    """The page's <title> parts and site-name metas, normalised: furniture wherever they are."""
    names = set(_TITLE_PARTS.split(_page_title(tree)))
    if tree is not None:
        for meta in tree.iterfind(".//meta"):
            key = (meta.get("name") or meta.get("property") or "").strip().lower()
            if key in _NAME_METAS:
                names.add(meta.get("content") or "")
    return {n for n in map(normalise, names) if len(n) >= 2}


def _base_url(tree: Any, final_url: str) -> str:
    base = tree.find(".//base[@href]") if tree is not None else None
    return urljoin(final_url, base.get("href", "").strip()) if base is not None else final_url


def _unfetched_note(report: ImageReport) -> str:
    if not report.unfetchable:
        return ""
    first = report.unfetchable[0]
    more = f"等 {len(report.unfetchable)} 张" if len(report.unfetchable) > 1 else ""
    return f"（第 {first.position + 1} 张{more}图片未能比对：{first.reason}）"
