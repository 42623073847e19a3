"""Reviewer aids: things a person should look at before approving. Never a verdict.

The gate decides whether the review process was followed; these hints only help the people
who review (sensitive or confidential wording, impossible dates, empty parts, stale dates).
"""

from __future__ import annotations

import calendar
import html
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from types import MappingProxyType

from gate.model import Content

AID_MESSAGES: Mapping[str, str] = MappingProxyType(
    {
        "sensitive_word": "{where}含有需复核的词语“{word}”",
        "confidentiality_marker": "{where}含有密级或内部标识“{word}”，请确认可以公开",
        "impossible_date": "{where}中的日期“{text}”不存在",
        "title_empty": "标题为空",
        "body_empty": "正文为空（去除标签后没有文字）",
        "publish_date_past": "发布形式“{channel}”的发布日期 {publish_date} 早于今天",
    }
)

CONFIDENTIALITY_MARKERS: tuple[str, ...] = ("绝密", "机密", "秘密", "内部")

DEFAULT_SENSITIVE_WORDS: tuple[str, ...] = (
    "内部资料",
    "不宜公开",
    "不得外传",
    "未经审核",
    "草稿",
    "待补充",
    "待定",
    "XXX",
    "××",
    *CONFIDENTIALITY_MARKERS,
)

_EXCERPT_RADIUS = 12
_HIDDEN = re.compile(r"<(script|style)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_BLOCK_TAG = re.compile(
    r"</?(?:p|div|br|li|ul|ol|h[1-6]|tr|td|th|table|section|blockquote)\b[^>]*>", re.I
)
_TAG = re.compile(r"<[^>]*>")
_CHINESE_DATE = re.compile(
    r"(?<!\d)(?:(?P<year>\d{4})\s*年\s*)?(?P<month>\d{1,2})\s*月(?:\s*(?P<day>\d{1,2})\s*[日号])?"
)
_NUMERIC_DATE = re.compile(
    r"(?<!\d)(?P<year>\d{4})([-/.])(?P<month>\d{1,2})\2(?P<day>\d{1,2})(?!\d)"
)
_LEAP_YEAR = 2024  # a month and day without a year exist when they exist in some year


@dataclass(frozen=True, slots=True)
class Aid:
    code: str
    message: str
    excerpt: str = ""


def review_aids(
    content: Content,
    *,
    sensitive_words: Iterable[str],
    today: date,
    markers: Iterable[str] = CONFIDENTIALITY_MARKERS,
) -> list[Aid]:
    """Every hint for `content`, title first, then body, then the channel rows."""
    body = body_text(content.body_html)
    texts = (("标题", content.title), ("正文", body))
    found = [*_emptiness(content.title, body)]
    for where, text in texts:
        found += _words(where, text, sensitive_words, markers)
        found += _impossible_dates(where, text)
    found += _past_publish_dates(content, today)
    return found


def body_text(body_html: str) -> str:
    """The readable text of an HTML body: tags (and script/style content) removed."""
    text = _BLOCK_TAG.sub("\n", _HIDDEN.sub("", body_html))
    return html.unescape(_TAG.sub("", text))


def _aid(code: str, excerpt: str = "", **fields: object) -> Aid:
    return Aid(code, AID_MESSAGES[code].format(**fields), excerpt)


def _excerpt(text: str, start: int, end: int) -> str:
    left, right = max(0, start - _EXCERPT_RADIUS), min(len(text), end + _EXCERPT_RADIUS)
    return " ".join(text[left:right].split())


def _emptiness(title: str, body: str) -> Iterator[Aid]:
    if not title.strip():
        yield _aid("title_empty")
    if not body.strip():
        yield _aid("body_empty")


def _words(
    where: str, text: str, sensitive_words: Iterable[str], markers: Iterable[str]
) -> Iterator[Aid]:
    """The first occurrence of each word, but not inside a longer word already found there."""
    marker_set = dict.fromkeys(m for m in markers if m)
    words = sorted({*marker_set, *(w for w in sensitive_words if w)}, key=lambda w: (-len(w), w))
    folded = text.casefold()
    taken: list[tuple[int, int, str]] = []
    for word in words:
        span = _first_free(folded, word.casefold(), taken)
        if span is not None:
            taken.append((*span, word))
    for start, end, word in sorted(taken):
        code = "confidentiality_marker" if word in marker_set else "sensitive_word"
        yield _aid(code, _excerpt(text, start, end), where=where, word=word)


def _first_free(text: str, word: str, taken: list[tuple[int, int, str]]) -> tuple[int, int] | None:
    at = text.find(word)
    while at >= 0:
        end = at + len(word)
        if not any(s <= at and end <= e for s, e, _ in taken):
            return at, end
        at = text.find(word, at + 1)
    return None


def _impossible_dates(where: str, text: str) -> Iterator[Aid]:
    for pattern in (_CHINESE_DATE, _NUMERIC_DATE):
        for match in pattern.finditer(text):
            if not _date_exists(match["year"], match["month"], match["day"]):
                excerpt = _excerpt(text, match.start(), match.end())
                yield _aid("impossible_date", excerpt, where=where, text=match[0])


def _date_exists(year: str | None, month: str, day: str | None) -> bool:
    y, m = (int(year) if year else _LEAP_YEAR), int(month)
    if y < 1 or not 1 <= m <= 12:
        return False
    return day is None or 1 <= int(day) <= calendar.monthrange(y, m)[1]


def _past_publish_dates(content: Content, today: date) -> Iterator[Aid]:
    for row in content.channels:
        if row.publish_date < today:
            yield _aid(
                "publish_date_past",
                channel=row.channel,
                publish_date=row.publish_date.isoformat(),
            )
