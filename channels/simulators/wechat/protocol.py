"""微信公众号's API as the simulator speaks it: its knobs, error answers, ids and records."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass, field
from typing import Any

from flask import jsonify, request
from flask.typing import ResponseReturnValue
from pydantic import BaseModel, ConfigDict, Field

MARKER = re.compile(r"""data-sanshen-key\s*=\s*["']([^"']*)["']""")
SCRIPT = re.compile(r"<script\b.*?(</script\s*>|$)", re.IGNORECASE | re.DOTALL)
IMG_TAG = re.compile(r"<img\b[^>]*>", re.IGNORECASE)
IMG_SRC = re.compile(r"""\bsrc\s*=\s*["']([^"']*)["']""", re.IGNORECASE)

DEFAULT_QUOTAS = {
    "token": 2000,
    "stable_token": 10000,
    "draft/add": 1000,
    "freepublish/submit": 100,
    "freepublish/get": 100,
    "freepublish/delete": 10,
}
CONTENT_APIS = frozenset({"material/add_material", "media/uploadimg", "draft/add"})
EVENTS = frozenset({"PUBLISHJOBFINISH", "FREEPUBLISHJOBFINISH"})


class WeChatSimConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    token_ttl_s: int = Field(default=7200, ge=0)
    quotas: dict[str, int] = Field(default_factory=lambda: dict(DEFAULT_QUOTAS))
    publish_status: int = Field(default=0)  # how jobs end: 0 success; 2, 3, 4, 6 failures
    fail_idx: list[int] = Field(default_factory=lambda: [1])  # reported for 2 and 4
    reject_tokens: bool = False  # every token answers 40001
    html_reply: list[str] = Field(default_factory=list)  # APIs answering an HTML error page
    callback_event: str = "PUBLISHJOBFINISH"  # or the older FREEPUBLISHJOBFINISH
    encoding_aes_key: str = ""  # set: callbacks are encrypted (安全模式)


def sign(token: str, *parts: str) -> str:
    """WeChat's callback signature: SHA-1 of the sorted, concatenated strings."""
    return hashlib.sha1("".join(sorted([token, *parts])).encode()).hexdigest()


def error(code: int, message: str) -> ResponseReturnValue:
    return jsonify({"errcode": code, "errmsg": f"{message} rid: {secrets.token_hex(4)}"})


def new_id(prefix: str = "") -> str:
    return prefix + secrets.token_urlsafe(30).replace("-", "A").replace("_", "B")


@dataclass
class Job:
    publish_id: str
    media_id: str
    msg_data_id: str
    due_at: float
    status: int = 1
    article_id: str = ""
    fail_idx: list[int] = field(default_factory=list)
    callback_sent: bool = False


@dataclass
class PublishedArticle:
    article_id: str
    news_item: list[dict[str, Any]]
    update_time: int
    deleted: bool = False


def paged(entries: list[dict[str, Any]]) -> ResponseReturnValue:
    """One page of `entries` as a batchget answers it (offset, count, no_content)."""
    body = request.get_json(force=True, silent=True) or {}
    offset, count = body.get("offset"), body.get("count")
    if not isinstance(offset, int) or not isinstance(count, int) or not 1 <= count <= 20:
        return error(40097, "invalid args")
    if body.get("no_content") == 1:
        for entry in entries:
            for news in entry["content"]["news_item"]:
                news.pop("content", None)
    chosen = entries[offset : offset + count]
    return jsonify({"total_count": len(entries), "item_count": len(chosen), "item": chosen})
