"""The registry of one simulator's public pages: add, take down, alter, and answer them."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from flask import Response

from channels.simulators.live.answers import NOT_AN_IMAGE, gone_page, huge_page, other_picture
from channels.simulators.live.knobs import apply_knobs, check_knob_names
from channels.simulators.live.page import LivePage, page_key
from channels.simulators.pages import render

RELATED_COUNT = 5


class PageUnknown(LookupError):
    def __init__(self, url: str) -> None:
        super().__init__(f"没有这个页面：{url}")
        self.message = str(self)


class LivePages:
    """Thread-safe registry of one simulator's public pages and their faults."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pages: dict[str, LivePage] = {}
        self._image_faults: dict[str, tuple[str, str]] = {}  # image key -> (knob, page key)
        self._swapped: dict[str, tuple[str, bytes]] = {}

    # --- what the platform does -------------------------------------------------------------

    def add(self, page: LivePage) -> LivePage:
        with self._lock:
            self._pages[page_key(page.url)] = page
        return page

    def take_down(self, url: str, status: int = 404) -> None:
        with self._lock:
            page = self._pages.get(page_key(url))
            if page is not None:
                page.gone = status

    def has(self, url: str) -> bool:
        with self._lock:
            return page_key(url) in self._pages

    def by_article(self, article_id: str) -> LivePage | None:
        with self._lock:
            return next((p for p in self._pages.values() if p.article_id == article_id), None)

    def all(self) -> list[LivePage]:
        """Every page, newest first."""
        with self._lock:
            return list(reversed(self._pages.values()))

    def snapshot(self) -> list[dict[str, Any]]:
        with self._lock:
            return [page.as_json() for page in self._pages.values()]

    def clear(self) -> None:
        with self._lock:
            self._pages.clear()
            self._image_faults.clear()
            self._swapped.clear()

    # --- the knobs --------------------------------------------------------------------------

    def alter(self, url: str, knobs: Mapping[str, Any]) -> dict[str, Any]:
        """Apply `knobs` to the page at `url`, all or none; raises `KnobInvalid`, `PageUnknown`."""
        check_knob_names(knobs)
        key = page_key(url)
        with self._lock:
            page = self._pages.get(key)
            if page is None:
                raise PageUnknown(url)
            body_html, faults, images = apply_knobs(page, knobs)
            page.body_html, page.faults = body_html, faults
            self._image_faults = {
                image: fault for image, fault in self._image_faults.items() if fault[1] != key
            }
            for knob in ("swap_image", "not_image"):
                for n in getattr(page.faults, knob):
                    self._image_faults[page_key(images[n - 1])] = (knob, key)
            return page.as_json()

    # --- answering ----------------------------------------------------------------------------

    def respond(self, url: str) -> Response:
        """The page at `url` as a browser gets it, faults and all."""
        key = page_key(url)
        with self._lock:
            page = self._pages.get(key)
            if page is None:
                return gone_page(404)
            faults = replace(page.faults)
            if not (page.gone or faults.remove or faults.redirect_loop):
                page.views += 1
            article = replace(
                page.article,
                body_html=page.body_html,
                views=page.views,
                related=self._related(page),
            )
            gone, platform, page_url = page.gone, page.platform, page.url
        if faults.hang_s:
            time.sleep(faults.hang_s)
        if gone or faults.remove:
            return gone_page(gone or faults.remove or 404)
        if faults.redirect_loop:
            return Response(status=302, headers={"Location": page_url})
        declare = not faults.undeclared
        if faults.huge_mb:
            return huge_page(platform, article, faults.huge_mb, declare_charset=declare)
        data, content_type = render(platform, article, declare_charset=declare)
        return Response(data, status=200, content_type=content_type)

    def image_response(self, url: str, mime: str, data: bytes) -> Response:
        """One image as stored, unless a page's fault says otherwise."""
        key = page_key(url)
        with self._lock:
            fault = self._image_faults.get(key)
            if fault is not None and fault[0] == "swap_image":
                if key not in self._swapped:
                    self._swapped[key] = other_picture(data)
                mime, data = self._swapped[key]
        if fault is not None and fault[0] == "not_image":
            data = NOT_AN_IMAGE.encode()
        return Response(data, status=200, content_type=mime)

    def _related(self, page: LivePage) -> tuple[str, ...]:
        others = [
            p.article.title
            for p in reversed(self._pages.values())
            if p is not page and not p.gone and p.platform == page.platform
        ]
        return tuple(others[:RELATED_COUNT])
