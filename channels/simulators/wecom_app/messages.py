"""What 企业微信's API answers and accepts: its errcodes, and the message part of message/send
checked and cut as the platform does."""

from __future__ import annotations

import re
import secrets
from typing import Any

from flask import Response, jsonify, request

TITLE_MAX_BYTES = 128
DESCRIPTION_MAX_BYTES = 512
BUTTON_MAX_CHARS = 4
TEXT_MAX_BYTES = 2048
MAX_RECIPIENTS = 1000
DUPLICATE_CHECK_DEFAULT_S = 1800
DUPLICATE_CHECK_MAX_S = 4 * 3600
USERID = re.compile(r"[A-Za-z0-9_.\-]{1,64}")

# Every errcode this simulator answers with, and what the platform means by it.
ERRCODES: dict[int, str] = {
    -1: "system busy",
    40001: "invalid credential (corpsecret)",
    40008: "invalid message type",
    40013: "invalid corpid",
    40014: "invalid access_token",
    40032: "invalid userid list size",
    40056: "invalid agentid",
    40058: "invalid parameter",
    41001: "access_token missing",
    41002: "corpid missing",
    41004: "corpsecret missing",
    41010: "url missing",
    41011: "agentid missing",
    41016: "title missing",
    42001: "access_token expired",
    44004: "empty content",
    45002: "content size out of limit",
    45009: "api freq out of limit",
    81013: "user & party & tag all invalid",
    82001: "user & party & tag all empty",
}
TARGETS = frozenset({"send", "gettoken"})


def error(code: int, **extra: Any) -> Response:
    hint = secrets.token_hex(12)
    more = f"https://open.work.weixin.qq.com/devtool/query?e={code}"
    message = (
        f"{ERRCODES[code]}, hint: [{hint}], from ip: {request.remote_addr}, more info at {more}"
    )
    return jsonify({"errcode": code, "errmsg": message, **extra})


def cut_bytes(text: str, limit: int) -> tuple[str, bool]:
    data = text.encode()
    if len(data) <= limit:
        return text, False
    return data[:limit].decode("utf-8", "replace"), True


def split_ids(value: Any) -> list[str]:
    return [part.strip() for part in str(value or "").split("|") if part.strip()]


def message_content(body: dict[str, Any]) -> dict[str, Any] | int:
    """The message part as delivered (`truncated` marks a cut), or the errcode refusing it."""
    msgtype = body.get("msgtype")
    part = body.get(msgtype) if isinstance(msgtype, str) else None
    if msgtype not in ("text", "textcard", "markdown"):
        return 40008
    if not isinstance(part, dict):
        return 40058
    if msgtype in ("text", "markdown"):
        text = str(part.get("content") or "")
        if not text:
            return 44004
        if len(text.encode()) > TEXT_MAX_BYTES:
            return 45002
        return {msgtype: {"content": text}, "truncated": False}
    title = str(part.get("title") or "")
    if not title:
        return 41016
    if not part.get("url"):
        return 41010
    if not part.get("description"):
        return 44004
    title, cut_title = cut_bytes(title, TITLE_MAX_BYTES)
    description, cut_description = cut_bytes(str(part["description"]), DESCRIPTION_MAX_BYTES)
    card = {
        "title": title,
        "description": description,
        "url": str(part["url"]),
        "btntxt": str(part.get("btntxt") or "详情")[:BUTTON_MAX_CHARS],
    }
    return {"textcard": card, "truncated": cut_title or cut_description}
