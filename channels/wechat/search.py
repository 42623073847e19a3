"""`find` for 微信公众号: WeChat cannot be asked by key, so its lists are searched for the marker.

The published list (freepublish/batchget) and the drafts (draft/batchget) are newest first, a
page of 20 per call. "Nothing" needs the search to have reached back past the first send in
both lists, or to have seen all of them; when `find_pages` runs out first, the search is
inconclusive.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from channels.base import Receipt, RemoteState
from channels.errors import SearchInconclusive, Unavailable
from channels.wechat.content import marker
from channels.wechat.errors import NAME
from channels.wechat.store import SendLog

PAGE_SIZE = 20  # batchget's maximum
# How much WeChat's clock (update_time) may differ from ours when `find` decides that a list has
# reached back past the first send.
CLOCK_MARGIN = timedelta(minutes=5)


@dataclass
class Listing:
    """How far one newest-first search got: `complete` once nothing older can be the key's."""

    since: datetime | None
    complete: bool = False

    def passed(self, items: list[Mapping[str, Any]]) -> bool:
        """Every item of this page was last updated before the first send (less the margin)."""
        if self.since is None:
            return False
        limit = (self.since - CLOCK_MARGIN).timestamp()
        times = [item.get("update_time") for item in items]
        return bool(times) and all(
            isinstance(t, int | float) and not isinstance(t, bool) and t < limit for t in times
        )


class ArticleSearch:
    """Searches the published articles, then the drafts, for the article carrying a key.

    `api(path, data=..., changes_state=False)` makes one API call; a published article found is
    noted in the send log, so the next `find` of its key needs no search.
    """

    def __init__(self, api: Callable[..., dict[str, Any]], sent: SendLog, find_pages: int) -> None:
        self._api = api
        self._sent = sent
        self._find_pages = find_pages

    def search(self, key: str, *, drafts: bool, since: datetime | None = None) -> Receipt | None:
        """The published article, else (with `drafts`) the draft, carrying `key`'s marker."""
        pattern = marker(key)
        listing = Listing(since)
        for entry, news in self._news("freepublish/batchget", listing):
            if pattern.search(str(news.get("content", ""))):
                return self._published(key, entry, news)
        drafts_listing = Listing(since)
        for entry, news in self._news("draft/batchget", drafts_listing) if drafts else ():
            if pattern.search(str(news.get("content", ""))):
                media_id = str(entry.get("media_id", ""))
                return Receipt(
                    channel=NAME,
                    idempotency_key=key,
                    external_id=media_id,
                    state=RemoteState.SUBMITTED,
                    extra={"media_id": media_id, "draft_only": True, "draft": True},
                )
        if since is not None and not (listing.complete and (drafts_listing.complete or not drafts)):
            raise SearchInconclusive(
                f"在微信最近 {self._find_pages * PAGE_SIZE} 篇中未找到，且未查到首次发送"
                f"（{since:%Y-%m-%d %H:%M} UTC）之时，无法确认是否已发布",
                channel=NAME,
            )
        return None

    def _published(self, key: str, entry: Mapping[str, Any], news: Mapping[str, Any]) -> Receipt:
        article_id = str(entry.get("article_id", ""))
        receipt = Receipt(
            channel=NAME,
            idempotency_key=key,
            external_id=article_id,
            state=RemoteState.RETRACTED if news.get("is_deleted") else RemoteState.PUBLISHED,
            url=str(news.get("url", "")),
            extra={"article_id": article_id},
        )
        with suppress(Unavailable):
            self._sent.put(key, {"receipt": receipt.as_dict()})
        return receipt

    def _news(
        self, path: str, listing: Listing
    ) -> Iterator[tuple[Mapping[str, Any], Mapping[str, Any]]]:
        for entry in self._pages(path, listing):
            for news in (entry.get("content") or {}).get("news_item") or []:
                yield entry, news

    def _pages(self, path: str, listing: Listing) -> Iterator[Mapping[str, Any]]:
        """Newest first, page by page, until the list ends, `listing.since` is passed, or
        `find_pages` is spent (then `listing.complete` stays False)."""
        for page in range(self._find_pages):
            body = {"offset": page * PAGE_SIZE, "count": PAGE_SIZE, "no_content": 0}
            answer = self._api(path, data=body, changes_state=False)
            items = answer.get("item") or []
            yield from items
            if len(items) < PAGE_SIZE or (page + 1) * PAGE_SIZE >= int(
                answer.get("total_count", 0)
            ):
                listing.complete = True
                return
            if listing.passed(items):
                listing.complete = True
                return
