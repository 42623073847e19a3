"""WeChat's callback events: the PUBLISHJOBFINISH event carries a publish result.

Nothing is trusted before it verifies: the signature (plain mode) or the message signature and
encryption (安全模式, with an EncodingAESKey), the timestamp's age, the size, and no entity
declarations in the XML.
"""

from __future__ import annotations

import struct
import time
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from xml.parsers.expat import ExpatError

from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import WeChatException
from wechatpy.utils import check_signature

from channels.errors import Permanent, Unavailable
from channels.wechat.errors import NAME
from channels.wechat.jobs import PublishJob, job_for
from channels.wechat.settings import WeChatSettings

CALLBACK_MAX_BYTES = 256 * 1024
CALLBACK_EVENTS = frozenset({"PUBLISHJOBFINISH", "FREEPUBLISHJOBFINISH"})  # new, old name


class CallbackRejected(Permanent):
    """A callback that does not verify: never trusted, never acted on."""

    code = "callback_rejected"
    default_message = "微信回调未通过校验，已拒收"


def _reject(reason: str) -> CallbackRejected:
    return CallbackRejected(f"微信回调未通过校验：{reason}", channel=NAME)


def _text(element: ET.Element | None, path: str) -> str:
    found = None if element is None else element.find(path)
    return (found.text or "").strip() if found is not None else ""


def _check_size(xml: bytes) -> None:
    if len(xml) > CALLBACK_MAX_BYTES:
        raise _reject("内容过大")


def _verify_signature(token: str, signature: str, timestamp: str, nonce: str) -> None:
    try:
        check_signature(token, signature, timestamp, nonce)
    except WeChatException as exc:
        raise _reject("签名校验失败") from exc


def _parse_event(xml: bytes) -> PublishJob | None:
    _check_size(xml)
    if b"<!DOCTYPE" in xml or b"<!ENTITY" in xml:
        raise _reject("含有实体声明")
    try:
        root = ET.fromstring(xml)
        if _text(root, "MsgType") != "event" or _text(root, "Event") not in CALLBACK_EVENTS:
            return None
        info = root.find("PublishEventInfo")
        if info is None or not _text(info, "publish_id"):
            raise ValueError("no PublishEventInfo/publish_id")
        urls = tuple(
            u.text.strip() for u in info.findall("article_detail/item/article_url") if u.text
        )
        fail_idx = [int(f.text) for f in info.findall("fail_idx") if f.text]
        return job_for(
            _text(info, "publish_id"),
            int(_text(info, "publish_status")),
            fail_idx=fail_idx,
            article_id=_text(info, "article_id"),
            urls=urls,
            event=_text(root, "Event"),
        )
    except (ET.ParseError, ValueError, Unavailable) as exc:
        raise _reject("事件内容无法解析") from exc


def verified_publish_result(
    settings: WeChatSettings, query: Mapping[str, str], body: bytes
) -> PublishJob | None:
    """The publish result a WeChat event carries, verified; None for any other event.

    `query` is the callback URL's query string, `body` the raw POST body. A bad signature,
    a stale timestamp or an unreadable body raises CallbackRejected: answer 403 and act on
    nothing. For any verified event, answer WeChat "success".
    """
    _check_timestamp(settings, query.get("timestamp", ""))
    _check_size(body)
    token = settings.callback_token.get_secret_value()
    timestamp, nonce = query["timestamp"], query.get("nonce", "")
    if settings.encoding_aes_key is None:
        _verify_signature(token, query.get("signature", ""), timestamp, nonce)
        return _parse_event(body)
    crypto = WeChatCrypto(token, settings.encoding_aes_key.get_secret_value(), settings.app_id)
    try:
        plain = crypto.decrypt_message(body, query.get("msg_signature", ""), timestamp, nonce)
    except WeChatException as exc:
        raise _reject("签名或加密校验失败") from exc
    except (KeyError, ValueError, TypeError, IndexError, struct.error, ExpatError) as exc:
        raise _reject("加密内容无法解析") from exc
    return _parse_event(plain.encode() if isinstance(plain, str) else bytes(plain))


def verified_echostr(settings: WeChatSettings, query: Mapping[str, str]) -> str:
    """The `echostr` to answer WeChat's GET when the server URL is configured."""
    _check_timestamp(settings, query.get("timestamp", ""))
    _verify_signature(
        settings.callback_token.get_secret_value(),
        query.get("signature", ""),
        query["timestamp"],
        query.get("nonce", ""),
    )
    return query.get("echostr", "")


def _check_timestamp(settings: WeChatSettings, timestamp: str) -> None:
    if not timestamp.isdigit():
        raise _reject("缺少时间戳")
    age = abs(time.time() - int(timestamp))
    if settings.callback_max_age_s and age > settings.callback_max_age_s:
        raise _reject("时间戳过旧，可能是重放")
