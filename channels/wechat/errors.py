"""WeChat's error codes in one table (`ERRORS`), and `translate`, the one place that reads one."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from wechatpy.exceptions import WeChatClientException

from channels.errors import (
    ChannelError,
    ConfigurationInvalid,
    ContentRejected,
    CredentialsExpired,
    NotSupported,
    OutcomeUnknown,
    Permanent,
    RateLimited,
    Unavailable,
)
from channels.rendering import LOCAL_TZ

NAME = "wechat"

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


def garbage(changes_state: bool) -> ChannelError:
    """An answer that is not what the API documents; after a call that changes something the
    platform may still have acted on it."""
    message = "微信接口返回了无法识别的内容"
    if changes_state:
        return OutcomeUnknown(message, channel=NAME)
    return Unavailable(message, channel=NAME)
