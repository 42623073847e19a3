"""微信公众号 (WeChat Official Account) through wechatpy: draft + free publish.

    publish   cover -> material/add_material?type=thumb, inline images -> media/uploadimg,
              draft/add, freepublish/submit -> publish_id (SUBMITTED; the result comes later)
    result    the PUBLISHJOBFINISH event (`parse_callback`), or sparingly freepublish/get
              (100 calls a day per account: `status` spends one from `status_quota`)
    retract   freepublish/delete (the whole article, index 0)
    find      the idempotency key rides in the body as `<section data-sanshen-key="KEY">`;
              freepublish/batchget then draft/batchget are searched for it, a few pages deep

wechatpy 1.8.18 is only the transport here: its client is pointed at `base_url` (token
requests too), has `auto_retry` off (its own retry on 40001 never stops) and sends through
`channels.http.call`, so every request has a timeout and requests' errors are mapped in the
project's one place. WeChat's error codes are mapped in `ERRORS` and translated in `translate`.
See docs/channels/wechat.md for the decisions and their limits.
"""

from __future__ import annotations

import html
import re
import struct
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar
from xml.parsers.expat import ExpatError

import redis
import requests
from pydantic import Field, HttpUrl, SecretStr, field_validator
from wechatpy import WeChatClient
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import WeChatClientException, WeChatException
from wechatpy.session.memorystorage import MemoryStorage
from wechatpy.session.redisstorage import RedisStorage
from wechatpy.utils import check_signature

from channels.base import (
    Capabilities,
    Channel,
    ChannelKind,
    ChannelSettings,
    Receipt,
    RemoteState,
    Status,
)
from channels.errors import (
    ChannelError,
    ConfigurationInvalid,
    ContentRejected,
    CredentialsExpired,
    NotSupported,
    OutcomeUnknown,
    Permanent,
    Problem,
    RateLimited,
    Retryable,
    SearchInconclusive,
    Unavailable,
)
from channels.http import call
from channels.item import Image, Item
from channels.rendering import (
    LOCAL_TZ,
    body_image_problems,
    body_problems,
    image_problems,
    referenced_images,
    rewrite_images,
    sniff_image,
    source_problems,
    title_problems,
    with_source_line,
)

NAME = "wechat"
MARKER_ATTRIBUTE = "data-sanshen-key"

TITLE_MAX = 32  # the API doc; wechatpy's constants still say 64
AUTHOR_MAX = 16
DIGEST_MAX = 128
CONTENT_MAX_CHARS = 20_000  # content must stay under both
CONTENT_MAX_BYTES = 1024 * 1024
SOURCE_URL_MAX_BYTES = 1024
THUMB_MAX_BYTES = 64 * 1024
INLINE_IMAGE_MAX_BYTES = 1024 * 1024 - 1  # "under 1 MB"
PAGE_SIZE = 20  # batchget's maximum
# How much WeChat's clock (update_time) may differ from ours when `find` decides that a list has
# reached back past the first send.
CLOCK_MARGIN = timedelta(minutes=5)
CALLBACK_MAX_BYTES = 256 * 1024
CALLBACK_EVENTS = frozenset({"PUBLISHJOBFINISH", "FREEPUBLISHJOBFINISH"})  # new, old name

# Problems that do not stop a publish: the platform fixes them silently.
WARNING_CODES = frozenset({"scripts_stripped"})

# What the body's images look like once uploaded, to size the content before any upload.
_PLACEHOLDER_IMAGE_URL = "http://mmbiz.qpic.cn/mmbiz_jpg/" + "x" * 96 + "/0?wx_fmt=jpeg"
_PLACEHOLDER_KEY = "k" * 64


# --- error codes ----------------------------------------------------------------------------

# Every code channels.md lists; a test checks each one is in `WeChatChannel.error_codes`.
DOCUMENTED_ERROR_CODES = frozenset(
    {-1, 40001, 40014, 42001, 41001, 40164, 40007, 40013, 40125, 45009, 45166, 47001, 48001}
    | {53500, 53501, 53502, 53503, 53504, 53505}
)

# Codes that mean "get a new token": refreshed once, then the table's class is raised.
# 41001 (token missing) is here too: one refresh is cheap; if it persists, something between
# us and WeChat strips the query string, which no retry fixes -> ConfigurationInvalid.
REFRESH_CODES = frozenset({40001, 40014, 42001, 41001})

ERRORS: Mapping[int, tuple[type[ChannelError], str]] = {
    -1: (Unavailable, "微信系统繁忙，请稍后再试"),
    40001: (CredentialsExpired, "access_token 无效（可能已被另一次获取刷新）"),
    40014: (CredentialsExpired, "access_token 不合法"),
    42001: (CredentialsExpired, "access_token 已过期"),
    41001: (ConfigurationInvalid, "请求缺少 access_token，请检查接口地址与代理设置"),
    40002: (ConfigurationInvalid, "获取令牌的 grant_type 不合法"),
    40013: (ConfigurationInvalid, "AppID 无效，请检查公众号配置"),
    40125: (ConfigurationInvalid, "AppSecret 无效，请检查公众号配置"),
    40164: (ConfigurationInvalid, "调用接口的服务器 IP 不在公众号的 IP 白名单中"),
    48001: (ConfigurationInvalid, "公众号未获得该接口权限（发布能力需完成微信认证）"),
    53500: (ConfigurationInvalid, "公众号的发布功能已被封禁"),
    40007: (ContentRejected, "素材 media_id 无效：封面或草稿已不存在"),
    40005: (ContentRejected, "文件类型不受支持"),
    40006: (ContentRejected, "文件大小不受支持"),
    40009: (ContentRejected, "图片大小不受支持"),
    44004: (ContentRejected, "正文为空"),
    45001: (ContentRejected, "素材大小超过上限"),
    45002: (ContentRejected, "正文超过长度上限"),
    45003: (ContentRejected, "标题超过长度上限"),
    45004: (ContentRejected, "摘要超过长度上限"),
    45005: (ContentRejected, "原文链接超过长度上限"),
    45110: (ContentRejected, "作者超过长度上限"),
    45166: (ContentRejected, "内容不合法，被微信拒绝"),
    47001: (ContentRejected, "提交的数据格式有误"),
    53503: (ContentRejected, "该草稿未通过发布检查"),
    45009: (RateLimited, "今日调用次数已达上限，次日零点（北京时间）恢复"),
    45011: (RateLimited, "调用过于频繁，请一分钟后再试"),
    53501: (RateLimited, "发布请求过于频繁，请稍后再试"),
    53502: (Permanent, "publish_id 无效"),
    53600: (Permanent, "article_id 无效"),
    40097: (Permanent, "请求参数有误"),
    53504: (NotSupported, "该操作须在公众平台网页端完成"),
    53505: (NotSupported, "该草稿须先在公众平台网页端手动保存"),
}

_MINUTE_RETRY_S = 60.0


def seconds_until_local_midnight(now: datetime | None = None) -> float:
    """Until the next 00:00 Asia/Shanghai, when WeChat's daily quotas start again."""
    local = (now or datetime.now(LOCAL_TZ)).astimezone(LOCAL_TZ)
    midnight = datetime.combine(local.date() + timedelta(days=1), datetime.min.time(), LOCAL_TZ)
    return max(1.0, (midnight - local).total_seconds())


def translate(exc: WeChatClientException, *, changes_state: bool) -> ChannelError:
    """wechatpy's exception as one of ours; the only place that reads a WeChat error."""
    if exc.errcode is None:  # wechatpy wraps an HTTP error status this way
        status = getattr(exc.response, "status_code", 0) or 0
        if status >= 500 or status == 0:
            return Unavailable(f"微信接口返回 HTTP {status}", channel=NAME)
        return ConfigurationInvalid(f"微信接口返回 HTTP {status}，请检查接口地址", channel=NAME)
    code = int(exc.errcode)
    cls, message = ERRORS.get(code, (Permanent, "微信返回了未登记的错误"))
    text = f"{message}（平台说明：{exc.errmsg}）"
    if cls is RateLimited:
        daily = code == 45009
        wait = seconds_until_local_midnight() if daily else _MINUTE_RETRY_S
        return RateLimited(text, retry_after=wait, daily=daily, platform_code=code, channel=NAME)
    return cls(text, platform_code=code, channel=NAME)


def _garbage(changes_state: bool) -> ChannelError:
    message = "微信接口返回了无法识别的内容"
    if changes_state:
        return OutcomeUnknown(message, channel=NAME)
    return Unavailable(message, channel=NAME)


# --- settings -------------------------------------------------------------------------------


class WeChatSettings(ChannelSettings):
    base_url: HttpUrl = HttpUrl("https://api.weixin.qq.com/")  # the API root
    app_id: str = Field(min_length=1, max_length=64)
    app_secret: SecretStr
    callback_token: SecretStr  # 服务器配置的 Token: signs the callback events
    encoding_aes_key: SecretStr | None = None  # set = 安全模式: callbacks are encrypted
    use_stable_token: bool = True  # POST cgi-bin/stable_token; False = GET cgi-bin/token
    token_refresh_margin_s: int = Field(default=300, ge=0, le=3600)
    redis_url: SecretStr | None = None  # shares token, send log, status quota between workers
    status_checks_per_day: int = Field(default=80, ge=0, le=100)  # of freepublish/get's 100
    # How far `find` may page back, per list, in pages of 20 (each page is one API call);
    # given the time the key was first sent, it stops as soon as it is past that time.
    find_pages: int = Field(default=10, ge=1, le=50)
    callback_max_age_s: int = Field(default=600, ge=0)  # 0: do not check the timestamp

    @field_validator("encoding_aes_key")
    @classmethod
    def _aes_key_length(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) != 43:
            raise ValueError("EncodingAESKey 须为 43 个字符")
        return value


# --- token and quota, shared through Redis when configured -----------------------------------


@contextmanager
def _shared_store() -> Iterator[None]:
    """Redis failing is our side unavailable: nothing was sent to WeChat."""
    try:
        yield
    except redis.RedisError as exc:
        raise Unavailable("共享存储（Redis）不可用", channel=NAME) from exc


class _TokenCache:
    """The access token in a wechatpy session storage, fetched again `margin` s before expiry."""

    def __init__(
        self,
        storage: Any,
        key: str,
        *,
        margin: int,
        fetch: Callable[[], Any],
        lock: Callable[[], AbstractContextManager[object]],
    ) -> None:
        self._storage = storage
        self._key = key
        self._margin = margin
        self._fetch = fetch
        self._lock = lock

    def _fresh(self) -> str | None:
        record = self._storage.get(self._key)
        if isinstance(record, dict) and record.get("expires_at", 0) - time.time() > self._margin:
            return str(record["token"])
        return None

    def current(self) -> str:
        token = self._fresh()
        if token is not None:
            return token
        with self._lock():
            return self._fresh() or self._store(self._fetch())

    def refresh(self, rejected: str) -> str:
        """A token other than `rejected`: another worker's newer one, or a new fetch."""
        with self._lock():
            token = self._fresh()
            if token is not None and token != rejected:
                return token
            return self._store(self._fetch())

    def _store(self, answer: Any) -> str:
        token = answer.get("access_token") if isinstance(answer, Mapping) else None
        if not isinstance(token, str) or not token:
            raise _garbage(changes_state=False)
        expires_in = int(answer.get("expires_in", 7200))
        record = {"token": token, "expires_at": time.time() + expires_in}
        self._storage.set(self._key, record, expires_in)
        return token


class _SendLog:
    """How far each idempotency key got, kept beside the token (Redis when shared)."""

    TTL_S = 30 * 86400

    def __init__(self, storage: Any, prefix: str) -> None:
        self._storage = storage
        self._prefix = prefix

    def get(self, key: str) -> dict[str, Any]:
        with _shared_store():
            record = self._storage.get(f"{self._prefix}:{key}")
        return dict(record) if isinstance(record, dict) else {}

    def put(self, key: str, record: dict[str, Any]) -> None:
        with _shared_store():
            self._storage.set(f"{self._prefix}:{key}", record, self.TTL_S)


class DailyQuota:
    """At most `limit` calls of one API a day (Asia/Shanghai), counted in Redis or in memory."""

    def __init__(self, key: str, limit: int, redis_client: redis.Redis | None) -> None:
        self.key = key
        self.limit = limit
        self._redis = redis_client
        self._lock = threading.Lock()
        self._counts: dict[str, int] = {}

    def _day_key(self) -> str:
        return f"{self.key}:{datetime.now(LOCAL_TZ):%Y%m%d}"

    def used(self) -> int:
        key = self._day_key()
        if self._redis is None:
            with self._lock:
                return self._counts.get(key, 0)
        with _shared_store():
            return int(self._redis.get(key) or 0)

    def remaining(self) -> int:
        return max(0, self.limit - self.used())

    def take(self) -> None:
        """Count one call, or raise RateLimited (until local midnight) when none is left."""
        key = self._day_key()
        if self._redis is None:
            with self._lock:
                count = self._counts[key] = self._counts.get(key, 0) + 1
        else:
            with _shared_store():
                count = int(self._redis.incr(key))
                if count == 1:
                    self._redis.expire(key, 2 * 86400)
        if count > self.limit:
            raise RateLimited(
                f"今日发布状态查询额度（{self.limit} 次）已用完，请等待回调或次日再查",
                retry_after=seconds_until_local_midnight(),
                daily=True,
                channel=NAME,
            )

    def exhaust(self) -> None:
        """WeChat said 45009: nothing is left today whatever we counted."""
        key = self._day_key()
        if self._redis is None:
            with self._lock:
                self._counts[key] = max(self._counts.get(key, 0), self.limit)
        else:
            with _shared_store():
                self._redis.set(key, self.limit, ex=2 * 86400)


# --- the wechatpy client --------------------------------------------------------------------


class _Transport:
    """wechatpy's `_http`: every request goes through `channels.http.call`, with a timeout.

    Callers pass `changes_state` through wechatpy's kwargs, so a lost reply is OutcomeUnknown
    only where the platform may have acted on it.
    """

    def __init__(self, timeout: tuple[float, float]) -> None:
        self._session = requests.Session()
        self._timeout = timeout

    def request(
        self, method: str, url: str, *, changes_state: bool = True, **kwargs: Any
    ) -> requests.Response:
        timeout = kwargs.pop("timeout", None) or self._timeout
        try:
            return call(
                self._session,
                method.upper(),
                url,
                channel=NAME,
                changes_state=changes_state,
                timeout=timeout,
                **kwargs,
            )
        except ChannelError as exc:
            if "secret" in (kwargs.get("params") or {}):
                raise exc from None  # the cause's text holds the URL, and the secret in it
            raise


class _WeChatClient(WeChatClient):  # type: ignore[misc]
    """wechatpy's client at `base_url`, tokens included, without its unbounded retry."""

    def __init__(self, settings: WeChatSettings) -> None:
        super().__init__(
            settings.app_id,
            settings.app_secret.get_secret_value(),
            timeout=settings.timeout,
            auto_retry=False,
        )
        self.API_BASE_URL = f"{settings.api_root}/cgi-bin/"
        self._http = _Transport(settings.timeout)
        self._stable = settings.use_stable_token

    def __repr__(self) -> str:
        return f"<_WeChatClient {self.appid} {self.API_BASE_URL}>"

    def fetch_access_token(self) -> Any:
        # wechatpy hard-codes https://api.weixin.qq.com/cgi-bin/token here; `access_token: None`
        # keeps it from adding a token to the token request (requests drops None params).
        if self._stable:
            body = {"grant_type": "client_credential", "appid": self.appid, "secret": self.secret}
            return self.post(
                "stable_token",
                params={"access_token": None},
                data=body | {"force_refresh": False},
                changes_state=False,
            )
        params = {"grant_type": "client_credential", "appid": self.appid, "secret": self.secret}
        return self.get("token", params=params | {"access_token": None}, changes_state=False)


# --- results --------------------------------------------------------------------------------

# freepublish/get's publish_status (and the callback's) -> our state and a Chinese reason.
PUBLISH_STATUSES: Mapping[int, tuple[RemoteState, str]] = {
    0: (RemoteState.PUBLISHED, ""),
    1: (RemoteState.SUBMITTED, "发表中"),
    2: (RemoteState.REJECTED, "原创声明失败"),
    3: (RemoteState.REJECTED, "发表失败（常规失败）"),
    4: (RemoteState.REJECTED, "平台审核不通过"),
    5: (RemoteState.RETRACTED, "发表成功后已被删除"),
    6: (RemoteState.REJECTED, "发表成功后被系统封禁"),
}


@dataclass(frozen=True, slots=True)
class PublishJob:
    """Where one freepublish job stands, from freepublish/get or the PUBLISHJOBFINISH event."""

    publish_id: str
    state: RemoteState
    reason: str = ""
    article_id: str = ""
    urls: tuple[str, ...] = ()
    event: str = ""  # the callback's event name; empty when polled

    @property
    def status(self) -> Status:
        return Status(self.state, url=self.urls[0] if self.urls else "", reason=self.reason)


CallbackResult = PublishJob  # what `parse_callback` returns


def _job(
    publish_id: str,
    code: int,
    *,
    fail_idx: list[int],
    article_id: str = "",
    urls: tuple[str, ...] = (),
    event: str = "",
) -> PublishJob:
    if code not in PUBLISH_STATUSES:
        raise Unavailable(f"微信返回了未知的发布状态 {code}", channel=NAME)
    state, reason = PUBLISH_STATUSES[code]
    if fail_idx and code in (2, 4):
        reason += "（第 " + "、".join(map(str, fail_idx)) + " 篇）"
    return PublishJob(publish_id, state, reason, article_id, urls, event)


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
        return _job(
            _text(info, "publish_id"),
            int(_text(info, "publish_status")),
            fail_idx=fail_idx,
            article_id=_text(info, "article_id"),
            urls=urls,
            event=_text(root, "Event"),
        )
    except (ET.ParseError, ValueError, Unavailable) as exc:
        raise _reject("事件内容无法解析") from exc


# --- the adapter ----------------------------------------------------------------------------


class WeChatChannel(Channel):
    name: ClassVar[str] = NAME
    display_name: ClassVar[str] = "微信公众号"
    kind: ClassVar[ChannelKind] = ChannelKind.OWN
    capabilities: ClassVar[Capabilities] = Capabilities(
        async_confirmation=True, retract=True, find_by_key=True
    )
    settings_model: ClassVar[type[ChannelSettings]] = WeChatSettings
    error_codes: ClassVar[Mapping[str | int, type[ChannelError]]] = {
        code: cls for code, (cls, _) in ERRORS.items()
    }
    simulator: ClassVar[str | None] = "channels.simulators.wechat:WeChatSimulator"
    page_hosts: ClassVar[tuple[str, ...]] = ("mp.weixin.qq.com", "mmbiz.qpic.cn")  # images
    assisted: ClassVar[bool] = False  # the one platform with a real publishing API

    settings: WeChatSettings

    def __init__(self, settings: ChannelSettings) -> None:
        super().__init__(settings)
        assert isinstance(settings, WeChatSettings)
        self.client = _WeChatClient(settings)
        url = settings.redis_url.get_secret_value() if settings.redis_url else None
        self._redis = (
            redis.Redis.from_url(
                url,
                socket_connect_timeout=settings.connect_timeout,
                socket_timeout=settings.read_timeout,
            )
            if url
            else None
        )
        storage = RedisStorage(self._redis, "sanshen:wechat") if self._redis else MemoryStorage()
        scope = f"{settings.api_root}|{settings.app_id}"
        self._tokens = _TokenCache(
            storage,
            f"{scope}:access_token",
            margin=settings.token_refresh_margin_s,
            fetch=self.client.fetch_access_token,
            lock=self._token_lock(f"sanshen:wechat:{scope}:token_lock"),
        )
        self._sent = _SendLog(storage, f"{scope}:sent")
        self.status_quota = DailyQuota(
            f"sanshen:wechat:{scope}:quota:freepublish_get",
            settings.status_checks_per_day,
            self._redis,
        )

    def _token_lock(self, name: str) -> Callable[[], AbstractContextManager[object]]:
        if self._redis is None:
            local = threading.Lock()
            return lambda: local
        client = self._redis
        # Best effort: if the lock cannot be had in time, fetching twice is harmless with
        # stable_token, and costs one of 2,000 daily fetches with the classic token.
        return lambda: _RedisLock(client, name)

    # --- calls ----------------------------------------------------------------------------

    def _send(self, path: str, token: str, changes_state: bool, **kw: Any) -> Any:
        params = dict(kw.pop("params", {})) | {"access_token": token}
        answer = self.client.post(path, params=params, changes_state=changes_state, **kw)
        if not isinstance(answer, dict):
            raise _garbage(changes_state)
        return answer

    def _api(self, path: str, *, changes_state: bool, **kw: Any) -> dict[str, Any]:
        """One API call; a token error refreshes the token once and retries once, no more."""
        try:
            with _shared_store():
                token = self._tokens.current()
            try:
                return dict(self._send(path, token, changes_state, **kw))
            except WeChatClientException as exc:
                if exc.errcode not in REFRESH_CODES:
                    raise
                with _shared_store():
                    token = self._tokens.refresh(rejected=token)
                return dict(self._send(path, token, changes_state, **kw))
        except WeChatClientException as exc:
            raise translate(exc, changes_state=changes_state) from exc

    @staticmethod
    def _field(answer: Mapping[str, Any], name: str, *, changes_state: bool) -> str:
        value = answer.get(name)
        if value in (None, ""):
            raise _garbage(changes_state)
        return str(value)

    # --- validate -------------------------------------------------------------------------

    def validate(self, item: Item) -> list[Problem]:
        problems = title_problems(item.title, max_chars=TITLE_MAX)
        problems += _length_problem("author", item.author, AUTHOR_MAX, "作者")
        problems += _length_problem("digest", item.digest, DIGEST_MAX, "摘要")
        problems += body_problems(item.body_html)
        problems += body_image_problems(
            item, max_bytes=INLINE_IMAGE_MAX_BYTES, kinds=("jpeg", "png")
        )
        problems += _cover_problems(item.cover)
        problems += source_problems(item.source)
        if item.source and len(item.source.url.encode()) > SOURCE_URL_MAX_BYTES:
            problems.append(Problem("source_url_too_long", "原文链接超过 1 KB 上限", "source"))
        problems += _content_problems(self._estimated_content(item))
        if re.search(r"<script\b", item.body_html, re.IGNORECASE):
            problems.append(
                Problem("scripts_stripped", "提示：正文中的脚本会被微信删除", "body_html")
            )
        return problems

    def _estimated_content(self, item: Item) -> str:
        placeholders = dict.fromkeys(referenced_images(item.body_html), _PLACEHOLDER_IMAGE_URL)
        return self._content(item, _PLACEHOLDER_KEY, placeholders)

    @staticmethod
    def _content(item: Item, key: str, urls: Mapping[str, str]) -> str:
        body = rewrite_images(item.body_html, urls)
        if item.source is not None:
            body = with_source_line(body, item.source)
        return f'<section {MARKER_ATTRIBUTE}="{html.escape(key)}">{body}</section>'

    # --- publish --------------------------------------------------------------------------

    def publish(self, item: Item, idempotency_key: str) -> Receipt:
        """Upload, draft, submit; a key already sent gets its first receipt back instead.

        The send log says how far an earlier publish of this key got: submitted (its
        receipt), refused at submit (its draft is submitted now), or unknown (the platform is
        searched, and OutcomeUnknown raised again if it holds nothing yet).
        """
        self._refuse_invalid(item)
        record = self._sent.get(idempotency_key)
        if "receipt" in record:
            return Receipt.from_dict(record["receipt"])
        if record.get("submit") == "sending":
            at = record.get("at")
            since = datetime.fromtimestamp(at, UTC) if isinstance(at, int | float) else None
            try:
                found = self._search(idempotency_key, drafts=True, since=since)
            except SearchInconclusive as error:
                raise OutcomeUnknown(str(error), channel=NAME) from error
            if found is None:
                raise OutcomeUnknown("上次发表的结果仍无法确认，请稍后核对", channel=NAME)
            return found
        if record.get("submit") != "refused":
            record = self._draft(item, idempotency_key)
        return self._submit(idempotency_key, record)

    def _refuse_invalid(self, item: Item) -> None:
        blocking = tuple(p for p in self.validate(item) if p.code not in WARNING_CODES)
        if blocking:
            raise ContentRejected(
                "稿件不符合微信公众号的要求",
                problems=blocking,
                channel=NAME,
            )

    def _draft(self, item: Item, key: str) -> dict[str, Any]:
        assert item.cover is not None  # validate reported it otherwise
        thumb = self._upload("material/add_material", item.cover, params={"type": "thumb"})
        thumb_media_id = self._field(thumb, "media_id", changes_state=False)
        urls = {
            image.sha256: self._field(
                self._upload("media/uploadimg", image), "url", changes_state=False
            )
            for image in _body_images(item)
        }
        article = {
            "title": item.title,
            "author": item.author,
            "digest": item.digest,
            "content": self._content(item, key, urls),
            "content_source_url": item.source.url if item.source else "",
            "thumb_media_id": thumb_media_id,
            "need_open_comment": 0,
            "only_fans_can_comment": 0,
        }
        # A lost draft/add reply publishes nothing, but may leave a draft: OutcomeUnknown, and
        # a later publish of the key simply drafts again.
        draft = self._api("draft/add", data={"articles": [article]}, changes_state=True)
        media_id = self._field(draft, "media_id", changes_state=True)
        return {"media_id": media_id, "thumb_media_id": thumb_media_id}

    def _submit(self, key: str, draft: Mapping[str, Any]) -> Receipt:
        self._sent.put(key, dict(draft) | {"submit": "sending", "at": time.time()})
        try:
            job = self._api(
                "freepublish/submit", data={"media_id": draft["media_id"]}, changes_state=True
            )
        except (Retryable, Permanent):
            with suppress(Unavailable):  # the refusal is the news, not the log
                self._sent.put(key, dict(draft) | {"submit": "refused"})
            raise
        publish_id = self._field(job, "publish_id", changes_state=True)
        receipt = Receipt(
            channel=NAME,
            idempotency_key=key,
            external_id=publish_id,
            state=RemoteState.SUBMITTED,
            extra={
                "publish_id": publish_id,
                "msg_data_id": str(job.get("msg_data_id", "")),
                "media_id": str(draft["media_id"]),
                "thumb_media_id": str(draft["thumb_media_id"]),
            },
        )
        with suppress(Unavailable):  # submitted all the same: a lost log entry costs a search
            self._sent.put(key, {"receipt": receipt.as_dict()})
        return receipt

    def _upload(self, path: str, image: Image, **kw: Any) -> dict[str, Any]:
        # An upload publishes nothing: repeating it after a lost reply only leaves a spare copy.
        extension = "png" if sniff_image(image.data) == "png" else "jpg"
        media = (f"{image.sha256[:16]}.{extension}", image.data, image.mime)
        return self._api(path, files={"media": media}, changes_state=False, **kw)

    # --- status ---------------------------------------------------------------------------

    def publish_job(self, publish_id: str) -> PublishJob:
        """freepublish/get, spending one of today's `status_quota` (RateLimited when none)."""
        self.status_quota.take()
        try:
            answer = self._api(
                "freepublish/get", data={"publish_id": publish_id}, changes_state=False
            )
        except RateLimited as exc:
            if exc.platform_code == 45009:
                self.status_quota.exhaust()
            raise
        except Permanent as exc:
            if exc.platform_code == 53502:
                return PublishJob(publish_id, RemoteState.NOT_FOUND, "微信无此发布任务")
            raise
        try:
            code = int(answer["publish_status"])
            items = (answer.get("article_detail") or {}).get("item") or []
            urls = tuple(str(i["article_url"]) for i in items if i.get("article_url"))
            fail_idx = [int(i) for i in answer.get("fail_idx") or []]
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise _garbage(changes_state=False) from exc
        article_id = str(answer.get("article_id") or "")
        return _job(publish_id, code, fail_idx=fail_idx, article_id=article_id, urls=urls)

    def status(self, receipt: Receipt) -> Status:
        """freepublish/get when the receipt has a publish_id (quota-guarded), else by article."""
        extra = receipt.extra
        if extra.get("publish_id"):
            return self.publish_job(str(extra["publish_id"])).status
        if extra.get("article_id"):
            return self._article_status(str(extra["article_id"]))
        found = self.find(receipt.idempotency_key)
        if found is None:
            return Status(RemoteState.NOT_FOUND, reason="微信中未找到该稿件")
        return Status(found.state, url=found.url)

    def _article_status(self, article_id: str) -> Status:
        try:
            answer = self._api(
                "freepublish/getarticle", data={"article_id": article_id}, changes_state=False
            )
        except Permanent as exc:
            if exc.platform_code == 53600:
                return Status(RemoteState.NOT_FOUND, reason="微信无此文章")
            raise
        news = answer.get("news_item") or [{}]
        if any(n.get("is_deleted") for n in news):
            return Status(RemoteState.RETRACTED, reason=PUBLISH_STATUSES[5][1])
        return Status(RemoteState.PUBLISHED, url=str(news[0].get("url", "")))

    # --- callback -------------------------------------------------------------------------

    def parse_callback(self, query: Mapping[str, str], body: bytes) -> PublishJob | None:
        """The publish result a WeChat event carries, verified; None for any other event.

        `query` is the callback URL's query string, `body` the raw POST body. A bad signature,
        a stale timestamp or an unreadable body raises CallbackRejected: answer 403 and act on
        nothing. For any verified event, answer WeChat "success".
        """
        self._check_timestamp(query.get("timestamp", ""))
        _check_size(body)
        token = self.settings.callback_token.get_secret_value()
        timestamp, nonce = query["timestamp"], query.get("nonce", "")
        if self.settings.encoding_aes_key is None:
            _verify_signature(token, query.get("signature", ""), timestamp, nonce)
            return _parse_event(body)
        crypto = WeChatCrypto(
            token, self.settings.encoding_aes_key.get_secret_value(), self.settings.app_id
        )
        try:
            plain = crypto.decrypt_message(body, query.get("msg_signature", ""), timestamp, nonce)
        except WeChatException as exc:
            raise _reject("签名或加密校验失败") from exc
        except (KeyError, ValueError, TypeError, IndexError, struct.error, ExpatError) as exc:
            raise _reject("加密内容无法解析") from exc
        return _parse_event(plain.encode() if isinstance(plain, str) else bytes(plain))

    def verify_url(self, query: Mapping[str, str]) -> str:
        """The `echostr` to answer WeChat's GET when the server URL is configured."""
        self._check_timestamp(query.get("timestamp", ""))
        _verify_signature(
            self.settings.callback_token.get_secret_value(),
            query.get("signature", ""),
            query["timestamp"],
            query.get("nonce", ""),
        )
        return query.get("echostr", "")

    def _check_timestamp(self, timestamp: str) -> None:
        if not timestamp.isdigit():
            raise _reject("缺少时间戳")
        age = abs(time.time() - int(timestamp))
        if self.settings.callback_max_age_s and age > self.settings.callback_max_age_s:
            raise _reject("时间戳过旧，可能是重放")

    # --- retract --------------------------------------------------------------------------

    def retract(self, receipt: Receipt, reason: str) -> Status:
        """freepublish/delete of the whole article (10 a day per account)."""
        article_id, current = self._live_article(receipt)
        if current is not None:
            return current  # nothing live to withdraw
        self._api(
            "freepublish/delete",
            data={"article_id": article_id, "index": 0},
            changes_state=True,
        )
        return Status(RemoteState.RETRACTED)

    def _live_article(self, receipt: Receipt) -> tuple[str, Status | None]:
        """The article_id to delete, or the status that says there is nothing to delete."""
        extra = receipt.extra
        if extra.get("article_id"):
            return str(extra["article_id"]), None
        if extra.get("draft_only"):
            found = self.find(receipt.idempotency_key)
            if found is not None and found.extra.get("article_id"):
                return self._live_article(found)
            state = found.state if found else RemoteState.NOT_FOUND
            job = PublishJob("", state)
        else:
            job = self.publish_job(str(extra.get("publish_id") or receipt.external_id))
        if job.state is RemoteState.SUBMITTED:
            raise NotSupported("微信无法撤回进行中的发表，须待发表完成后再删除", channel=NAME)
        if job.state is not RemoteState.PUBLISHED:
            return "", job.status
        return job.article_id, None

    # --- find -----------------------------------------------------------------------------

    def find(self, idempotency_key: str, since: datetime | None = None) -> Receipt | None:
        """The receipt this key got, else the published article carrying its marker, else its
        draft (unless the send log knows the draft was never submitted).

        A draft alone means "not published (yet)": the submit may be running, may have failed
        or may never have arrived. It is returned as SUBMITTED with `draft_only`, so nothing
        is resent blindly; `status` of that receipt searches again.

        The lists are newest first and WeChat cannot be asked by key, so "nothing" needs the
        search to have reached back past `since` (the first send) in both lists, or to have
        seen all of them; when `find_pages` ran out first, `SearchInconclusive`. Without
        `since`, the search is the newest `find_pages` pages (a recent send's settling).
        """
        record = self._sent.get(idempotency_key)
        if "receipt" in record:
            return Receipt.from_dict(record["receipt"])
        drafts = record.get("submit") != "refused"
        return self._search(idempotency_key, drafts=drafts, since=since)

    def _search(self, key: str, *, drafts: bool, since: datetime | None = None) -> Receipt | None:
        marker = _marker_pattern(key)
        listing = _Listing(since)
        for entry, news in self._news("freepublish/batchget", listing):
            if marker.search(str(news.get("content", ""))):
                article_id = str(entry.get("article_id", ""))
                receipt = Receipt(
                    channel=NAME,
                    idempotency_key=key,
                    external_id=article_id,
                    state=RemoteState.RETRACTED
                    if news.get("is_deleted")
                    else RemoteState.PUBLISHED,
                    url=str(news.get("url", "")),
                    extra={"article_id": article_id},
                )
                with suppress(Unavailable):
                    self._sent.put(key, {"receipt": receipt.as_dict()})
                return receipt
        drafts_listing = _Listing(since)
        for entry, news in self._news("draft/batchget", drafts_listing) if drafts else ():
            if marker.search(str(news.get("content", ""))):
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
                f"在微信最近 {self.settings.find_pages * PAGE_SIZE} 篇中未找到，且未查到首次发送"
                f"（{since:%Y-%m-%d %H:%M} UTC）之时，无法确认是否已发布",
                channel=NAME,
            )
        return None

    def _news(
        self, path: str, listing: _Listing
    ) -> Iterator[tuple[Mapping[str, Any], Mapping[str, Any]]]:
        for entry in self._pages(path, listing):
            for news in (entry.get("content") or {}).get("news_item") or []:
                yield entry, news

    def _pages(self, path: str, listing: _Listing) -> Iterator[Mapping[str, Any]]:
        """Newest first, page by page, until the list ends, `listing.since` is passed, or
        `find_pages` is spent (then `listing.complete` stays False)."""
        for page in range(self.settings.find_pages):
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


@dataclass
class _Listing:
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


class _RedisLock:
    """A short Redis lock around a token fetch; on timeout, proceed without it."""

    def __init__(self, client: redis.Redis, name: str) -> None:
        self._lock = client.lock(name, timeout=30, blocking_timeout=10)
        self._held = False

    def __enter__(self) -> object:
        try:
            self._held = bool(self._lock.acquire())
        except redis.exceptions.LockError:
            self._held = False
        return self

    def __exit__(self, *exc: object) -> None:
        if self._held:
            # expired meanwhile: another worker may hold it now
            with suppress(redis.exceptions.LockError):
                self._lock.release()


def _marker_pattern(key: str) -> re.Pattern[str]:
    value = re.escape(html.escape(key))
    return re.compile(rf"""{MARKER_ATTRIBUTE}\s*=\s*["']?{value}["'\s>]""")


def _body_images(item: Item) -> list[Image]:
    by_sha = {image.sha256: image for image in item.images}
    return [by_sha[sha] for sha in referenced_images(item.body_html)]


def _length_problem(field: str, value: str, limit: int, label: str) -> list[Problem]:
    if len(value) <= limit:
        return []
    return [Problem(f"{field}_too_long", f"{label} {len(value)} 字，超过上限 {limit} 字", field)]


def _cover_problems(cover: Image | None) -> list[Problem]:
    if cover is None:
        return [Problem("cover_missing", "微信公众号文章须有封面图（JPG，不超过 64 KB）", "cover")]
    return image_problems(cover, field="cover", max_bytes=THUMB_MAX_BYTES, kinds=("jpeg",))


def _content_problems(content: str) -> list[Problem]:
    problems = []
    if len(content) >= CONTENT_MAX_CHARS:
        problems.append(
            Problem(
                "content_too_long",
                f"正文排版后约 {len(content)} 字符，须少于 {CONTENT_MAX_CHARS} 字符",
                "body_html",
            )
        )
    if len(content.encode()) >= CONTENT_MAX_BYTES:
        problems.append(Problem("content_too_large", "正文排版后须小于 1 MB", "body_html"))
    return problems


__all__ = [
    "DOCUMENTED_ERROR_CODES",
    "ERRORS",
    "PUBLISH_STATUSES",
    "CallbackRejected",
    "CallbackResult",
    "DailyQuota",
    "PublishJob",
    "WeChatChannel",
    "WeChatSettings",
]
