"""企业微信 (WeCom) application messages: a textcard to some members, through wechatpy.

    WeComApp(corp_id, secret, agent_id, base_url=..., session=...).send_card(...) -> SendResult

wechatpy 1.8.18 is the transport only, as in `channels.wechat`: its enterprise client
(`wechatpy.enterprise.WeChatClient`; `wechatpy.work` is 2.0's name for it) is pointed at
`base_url`, the token request included (wechatpy hard-codes qyapi.weixin.qq.com there), has
`auto_retry` off (its own retry on 40001 never stops) and sends through `channels.http.call`
(`channels.wechatpy_client.Transport`), so every request has a timeout and requests' errors are
mapped in the project's one place.

The token lives in a wechatpy session storage (memory, or Redis to share it between workers:
`redis_storage`) and is fetched again 5 minutes before it expires. gettoken hands out the same
token while it is valid, so two workers fetching at once is harmless. On 40001/40014/42001 the
token is fetched once more and the message sent once more, no further.

Limits are kept before sending: a title over 128 bytes or a description over 512 bytes is cut
at a character boundary with "…" (the platform would cut them byte-wise, splitting a character).
The message goes with `enable_duplicate_check`: a retry after a lost reply, same content to the
same members within `duplicate_check_interval`, is not shown twice; nor is a genuinely repeated
identical card inside that window, so make the text differ when it must reach them again.
API: https://developer.work.weixin.qq.com/document/path/90236 (codes: /90313).
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn

import redis
from wechatpy.enterprise import WeChatClient
from wechatpy.exceptions import WeChatClientException
from wechatpy.session.memorystorage import MemoryStorage
from wechatpy.session.redisstorage import RedisStorage

from channels.errors import ChannelError, OutcomeUnknown
from channels.wechatpy_client import TokenCache, Transport, with_fresh_token
from orchestrator.notify.errors import NotifyError

NAME = "wecom_app"
API_ROOT = "https://qyapi.weixin.qq.com"
TITLE_MAX_BYTES = 128
DESCRIPTION_MAX_BYTES = 512
BUTTON_MAX_CHARS = 4
MAX_RECIPIENTS = 1000
ELLIPSIS = "…"
TOKEN_MARGIN_S = 300

# Codes that mean "get a new token": fetched once more, then the table's entry is raised.
REFRESH_CODES = frozenset({40001, 40014, 42001})

# errcode -> (code, permanent, message). A test checks every code the docs list is here.
ERRORS: Mapping[int, tuple[str, bool, str]] = {
    -1: ("busy", False, "企业微信系统繁忙，请稍后重试"),
    45009: ("rate_limited", False, "企业微信接口调用超过频率限制，请稍后重试"),
    45033: ("rate_limited", False, "企业微信接口并发调用超过限制，请稍后重试"),
    40014: ("token_invalid", False, "access_token 不合法（重新获取后仍被拒绝）"),
    42001: ("token_expired", False, "access_token 已过期（重新获取后仍被拒绝）"),
    40001: ("secret_invalid", True, "应用 Secret 不正确，或应用已停用：请检查企业微信配置"),
    40013: ("corp_id_invalid", True, "企业 ID（CorpID）不正确：请检查企业微信配置"),
    41001: ("token_missing", True, "请求缺少 access_token：请检查接口地址与代理设置"),
    41002: ("corp_id_missing", True, "未配置企业 ID（CorpID）"),
    41004: ("secret_missing", True, "未配置应用 Secret"),
    41011: ("agent_id_missing", True, "未配置应用 AgentId"),
    40056: ("agent_id_invalid", True, "应用 AgentId 不正确：请检查企业微信配置"),
    301002: ("agent_forbidden", True, "Secret 与 AgentId 不属于同一个应用"),
    48002: ("api_forbidden", True, "该应用无权调用发送消息接口"),
    60020: ("ip_not_trusted", True, "本服务器的 IP 不在应用的「企业可信 IP」中"),
    40003: ("recipients_invalid", True, "接收人 UserID 无效"),
    40031: ("recipients_invalid", True, "接收人列表无效"),
    40032: ("too_many_recipients", True, "接收人超过 1000 个"),
    81013: ("recipients_invalid", True, "接收人全部无效，或都不在应用的可见范围内"),
    82001: ("recipients_empty", True, "没有指定接收人"),
    40008: ("message_invalid", True, "消息类型不合法"),
    40058: ("message_invalid", True, "请求参数不合法"),
    40063: ("message_invalid", True, "缺少必填参数"),
    41010: ("url_missing", True, "消息缺少链接"),
    41016: ("title_missing", True, "消息缺少标题"),
    44004: ("content_empty", True, "消息内容为空"),
    45002: ("content_too_long", True, "消息内容超过长度上限"),
}
UNKNOWN_ERROR = ("wecom_error", True, "企业微信返回了未登记的错误")


@dataclass(frozen=True, slots=True)
class SendResult:
    """`invalid_users`: the given userids the platform did not deliver to (not members, or
    outside the application's visible range), spelled as the caller gave them."""

    msgid: str
    invalid_users: list[str]


def truncate_utf8(text: str, max_bytes: int) -> str:
    """`text` in at most `max_bytes` UTF-8 bytes, cut between characters and ending in "…"."""
    data = text.encode()
    if len(data) <= max_bytes:
        return text
    room = max_bytes - len(ELLIPSIS.encode())
    # A prefix of valid UTF-8 can only be broken at its end: "ignore" drops that piece.
    return data[:room].decode("utf-8", "ignore").rstrip() + ELLIPSIS


def redis_storage(url: str, *, timeout: float = 5.0, prefix: str = "sanshen:wecom") -> Any:
    """A wechatpy session storage in Redis, so that workers share one token."""
    client = redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)
    return RedisStorage(client, prefix)


def _raise(entry: tuple[str, bool, str], detail: str = "", **kw: Any) -> NoReturn:
    code, permanent, message = entry
    raise NotifyError(message + detail, code, permanent, **kw)


def _refusal(exc: WeChatClientException) -> NotifyError:
    """wechatpy's exception as ours; the one place that reads a WeCom error."""
    if exc.errcode is None:  # wechatpy wraps an HTTP error status this way
        status = int(getattr(exc.response, "status_code", 0) or 0)
        if status >= 500 or status == 0:
            return NotifyError(f"企业微信接口返回 HTTP {status}", "unavailable", False)
        message = f"企业微信接口返回 HTTP {status}：请检查接口地址"
        return NotifyError(message, "http_error", True, platform_code=status)
    errcode = int(exc.errcode)
    code, permanent, message = ERRORS.get(errcode, UNKNOWN_ERROR)
    return NotifyError(message, code, permanent, platform_code=errcode)


def _unreachable(exc: ChannelError) -> NotifyError:
    if isinstance(exc, OutcomeUnknown):
        message = "消息已发出但未收到企业微信的答复：重试时重复消息检查会避免重复推送"
        return NotifyError(message, "outcome_unknown", False)
    reason = type(exc.__cause__ or exc).__name__
    return NotifyError(f"无法连接企业微信（{reason}）", "unavailable", False)


class _Client(WeChatClient):  # type: ignore[misc]
    """wechatpy's enterprise client at `api_root`, the token request too, no unbounded retry."""

    def __init__(self, corp_id: str, secret: str, api_root: str, timeout: tuple[float, float]):
        super().__init__(corp_id, secret, timeout=timeout, auto_retry=False)
        self.API_BASE_URL = f"{api_root}/cgi-bin/"
        self._http = Transport(timeout, channel=NAME)

    def __repr__(self) -> str:
        return f"<WeCom client {self.corp_id} {self.API_BASE_URL}>"

    def fetch_access_token(self) -> Any:
        # `access_token: None` keeps wechatpy from adding a token (requests drops None params).
        params = {"corpid": self.corp_id, "corpsecret": self.secret, "access_token": None}
        return self.get("gettoken", params=params, changes_state=False)


def _fetched(fetch: Callable[[], Any]) -> Callable[[], Any]:
    """`fetch` of a token, its failures as ours."""

    def fetched() -> Any:
        # `from None`: the request's URL, in the causes' text, carries the secret.
        try:
            return fetch()
        except WeChatClientException as exc:
            raise _refusal(exc) from None
        except ChannelError as exc:
            raise _unreachable(exc) from None

    return fetched


def _unreadable_token() -> NotifyError:
    return NotifyError("企业微信返回的令牌无法识别", "bad_response", False)


class WeComApp:
    """One 企业微信 自建应用 sending textcards to members by userid.

    `session`: a wechatpy session storage for the token (default: in this process's memory;
    `redis_storage(url)` shares it). `timeout`: (connect, read) seconds for every request.
    `duplicate_check_interval`: seconds (up to 4 hours) in which the same card to the same
    members is shown once; None turns the check off.
    """

    def __init__(
        self,
        corp_id: str,
        secret: str,
        agent_id: int,
        *,
        base_url: str = API_ROOT,
        session: Any = None,
        timeout: tuple[float, float] = (3.05, 10.0),
        duplicate_check_interval: int | None = 1800,
        button_text: str = "详情",
    ) -> None:
        if duplicate_check_interval is not None and not 0 < duplicate_check_interval <= 14400:
            raise ValueError("duplicate_check_interval 须在 1 到 14400 秒（4 小时）之间")
        api_root = base_url.rstrip("/")
        self.agent_id = int(agent_id)
        self.duplicate_check_interval = duplicate_check_interval
        self.button_text = button_text[:BUTTON_MAX_CHARS]
        self._client = _Client(corp_id, secret, api_root, timeout)
        secret_id = hashlib.sha256(secret.encode()).hexdigest()[:12]
        key = f"{api_root}|{corp_id}|{secret_id}:access_token"
        storage = session if session is not None else MemoryStorage()
        lock = threading.Lock()
        self._tokens = TokenCache(
            storage,
            key,
            margin=TOKEN_MARGIN_S,
            fetch=_fetched(self._client.fetch_access_token),
            lock=lambda: lock,
            unreadable=_unreadable_token,
        )

    def __repr__(self) -> str:
        return (
            f"<WeComApp {self._client.corp_id} agent {self.agent_id} {self._client.API_BASE_URL}>"
        )

    def send_card(
        self, userids: Sequence[str], title: str, description: str, url: str
    ) -> SendResult:
        """Send one textcard ("稿件 12《…》等待您终审" with a link) to `userids`.

        Raises NotifyError: permanent when no recipient is valid, the content cannot be sent or
        the application is misconfigured; transient when busy, rate limited or unreachable.
        """
        recipients = _recipients(userids)
        body: dict[str, Any] = {
            "touser": "|".join(recipients),
            "msgtype": "textcard",
            "agentid": self.agent_id,
            "textcard": self._card(title, description, url),
        }
        if self.duplicate_check_interval is not None:
            body["enable_duplicate_check"] = 1
            body["duplicate_check_interval"] = self.duplicate_check_interval
        answer = self._api("message/send", body)
        spelled = {userid.lower(): userid for userid in recipients}
        invalid = [
            spelled.get(u.lower(), u) for u in str(answer.get("invaliduser") or "").split("|")
        ]
        return SendResult(
            msgid=str(answer.get("msgid", "")), invalid_users=[u for u in invalid if u]
        )

    def _card(self, title: str, description: str, url: str) -> dict[str, str]:
        if not title.strip():
            _raise(("title_missing", True, "消息缺少标题"))
        if not description.strip():
            _raise(("content_empty", True, "消息缺少正文描述"))
        if not url.startswith(("https://", "http://")):
            _raise(("url_invalid", True, "消息链接须以 http:// 或 https:// 开头"))
        return {
            "title": truncate_utf8(title.strip(), TITLE_MAX_BYTES),
            "description": truncate_utf8(description.strip(), DESCRIPTION_MAX_BYTES),
            "url": url,
            "btntxt": self.button_text,
        }

    def _post(self, path: str, token: str, body: dict[str, Any]) -> dict[str, Any]:
        answer = self._client.post(path, params={"access_token": token}, data=body)
        if not isinstance(answer, dict):
            raise NotifyError("企业微信返回了无法识别的内容", "bad_response", False)
        return answer

    def _api(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """One call; a token error fetches the token once more and calls once more, no more."""
        try:
            return with_fresh_token(
                self._tokens, lambda token: self._post(path, token, body), REFRESH_CODES
            )
        except WeChatClientException as exc:
            raise _refusal(exc) from exc
        except ChannelError as exc:
            raise _unreachable(exc) from exc
        except redis.RedisError as exc:
            message = "令牌共享存储（Redis）不可用"
            raise NotifyError(message, "token_store_unavailable", False) from exc


def _recipients(userids: Sequence[str]) -> list[str]:
    """The userids once each (the platform ignores case), in the order given."""
    if isinstance(userids, str):
        raise TypeError("userids 须为 UserID 的列表，而不是字符串")
    unique: dict[str, str] = {}
    for userid in (u.strip() for u in userids):
        if userid:
            unique.setdefault(userid.lower(), userid)
    if not unique:
        _raise(ERRORS[82001])
    if len(unique) > MAX_RECIPIENTS:
        _raise(ERRORS[40032])
    return list(unique.values())
