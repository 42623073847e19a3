"""微信公众号 (WeChat Official Account) through wechatpy: draft + free publish.

wechatpy 1.8.18 is only the transport here: its client is pointed at `base_url` (token
requests too), has `auto_retry` off (its own retry on 40001 never stops) and sends through
`channels.http.call`, so every request has a timeout and requests' errors are mapped in the
project's one place. WeChat's error codes are mapped in `ERRORS` and translated in `translate`.
See docs/channels/wechat.md for the decisions and their limits. One module per job:

    channel    the adapter, `WeChatChannel`: publish, status, retract, find
    settings   `WeChatSettings`
    errors     the error table and `translate`
    client     wechatpy's client at `base_url`
    store      the send log, the status quota and the token lock (Redis when shared)
    content    the article's limits and its HTML, with the key's marker
    search     `find`'s search of the published and draft lists
    jobs       where a freepublish job stands (`PublishJob`)
    callback   the verified PUBLISHJOBFINISH event
"""

from channels.wechat.callback import CALLBACK_EVENTS, CALLBACK_MAX_BYTES, CallbackRejected
from channels.wechat.channel import WeChatChannel
from channels.wechat.content import MARKER_ATTRIBUTE, WARNING_CODES
from channels.wechat.errors import (
    DOCUMENTED_ERROR_CODES,
    ERRORS,
    NAME,
    REFRESH_CODES,
    seconds_until_local_midnight,
    translate,
)
from channels.wechat.jobs import PUBLISH_STATUSES, CallbackResult, PublishJob
from channels.wechat.search import CLOCK_MARGIN, PAGE_SIZE
from channels.wechat.settings import WeChatSettings
from channels.wechat.store import DailyQuota

__all__ = [
    "CALLBACK_EVENTS",
    "CALLBACK_MAX_BYTES",
    "CLOCK_MARGIN",
    "DOCUMENTED_ERROR_CODES",
    "ERRORS",
    "MARKER_ATTRIBUTE",
    "NAME",
    "PAGE_SIZE",
    "PUBLISH_STATUSES",
    "REFRESH_CODES",
    "WARNING_CODES",
    "CallbackRejected",
    "CallbackResult",
    "DailyQuota",
    "PublishJob",
    "WeChatChannel",
    "WeChatSettings",
    "seconds_until_local_midnight",
    "translate",
]
