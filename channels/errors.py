"""What a channel adapter may raise. The orchestrator, not the adapter, decides what to do.

ChannelError                 base: stable `code`, Chinese `message`, platform's own code
├── Retryable                try again later; nothing was published
│   ├── Unavailable          5xx, refused connection, timeout of a read-only call
│   ├── RateLimited          the platform asks to wait `retry_after` seconds (`daily`: quota)
│   └── CredentialsExpired   token expired or revoked: refresh once, then retry
├── Permanent                retrying cannot help
│   ├── ContentRejected      the platform refused the content; `problems` says why
│   ├── ConfigurationInvalid wrong credentials, IP not whitelisted, API not authorised
│   └── NotSupported         the platform cannot do this (e.g. retract)
└── OutcomeUnknown           the request may have been acted on: reconcile, never resend
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with an item for a channel, shown to reviewers before sign-off."""

    code: str  # stable English identifier, e.g. "title_too_long"
    message: str  # Chinese, for people
    field: str = ""  # "title", "body_html", "images[2]", ...
    # For an image the platform refuses: what it accepts, so a fix can be computed.
    max_bytes: int = 0
    kinds: tuple[str, ...] = ()


class ChannelError(Exception):
    code = "channel_error"
    default_message = "渠道调用失败"

    def __init__(
        self,
        message: str | None = None,
        *,
        platform_code: str | int | None = None,
        channel: str = "",
    ) -> None:
        self.message = message or self.default_message
        self.platform_code = platform_code
        self.channel = channel
        super().__init__(self.message)

    def __str__(self) -> str:
        where = f"[{self.channel}] " if self.channel else ""
        platform = f"（平台代码 {self.platform_code}）" if self.platform_code is not None else ""
        return f"{where}{self.message}{platform}"


class Retryable(ChannelError):
    code = "retryable"
    default_message = "渠道暂时不可用，可稍后重试"


class Unavailable(Retryable):
    code = "unavailable"
    default_message = "渠道服务不可用"


class RateLimited(Retryable):
    """`daily`: the platform's quota for the day is spent and resets after `retry_after` (e.g.
    WeChat's 45009 at 00:00 Beijing time): not a failure of the item that hit it."""

    code = "rate_limited"
    default_message = "渠道限流，请稍后再试"

    def __init__(
        self,
        message: str | None = None,
        *,
        retry_after: float = 60.0,
        daily: bool = False,
        **kw: object,
    ):
        super().__init__(message, **kw)  # type: ignore[arg-type]
        self.retry_after = retry_after
        self.daily = daily


class CredentialsExpired(Retryable):
    code = "credentials_expired"
    default_message = "渠道凭据已过期，需要刷新"


class Permanent(ChannelError):
    code = "permanent"
    default_message = "渠道拒绝了请求，重试无效"


class ContentRejected(Permanent):
    code = "content_rejected"
    default_message = "渠道拒绝了稿件内容"

    def __init__(
        self, message: str | None = None, *, problems: tuple[Problem, ...] = (), **kw: object
    ):
        super().__init__(message, **kw)  # type: ignore[arg-type]
        self.problems = problems

    def __str__(self) -> str:
        """The refusal with each of its reasons, so a failed row says what to fix."""
        text = super().__str__()
        reasons = [p.message for p in self.problems if p.message and p.message not in text]
        return f"{text}：{'；'.join(reasons)}" if reasons else text


class ConfigurationInvalid(Permanent):
    code = "configuration_invalid"
    default_message = "渠道配置或凭据有误"


class NotSupported(Permanent):
    code = "not_supported"
    default_message = "该渠道不支持此操作"


class SearchInconclusive(NotSupported):
    """The platform can only list recent articles, and its lists ran out before reaching back to
    when the key was first sent: neither "there" nor "not there" can be said."""

    code = "search_inconclusive"
    default_message = "平台只能列出最近的稿件，未能查到首次发送之时，无法确认是否已发布"


class OutcomeUnknown(ChannelError):
    code = "outcome_unknown"
    default_message = "请求已发出但未收到答复，结果未知，需先核对再决定"
