"""The one error the notification transports raise.

NotifyError            a notification did not (surely) reach everyone it was for
    code               stable English, e.g. "recipients_invalid", "unavailable"
    message_cn         for people, in Chinese
    permanent          True: the same call cannot succeed (configuration, recipients, content);
                       False: try again later (busy, rate limited, unreachable, reply lost)
    platform_code      the platform's own code (WeCom errcode, SMTP reply code), if any
    undelivered        the recipients it concerns (a retry goes to these only)
"""

from __future__ import annotations


class NotifyError(Exception):
    def __init__(
        self,
        message_cn: str,
        code: str,
        permanent: bool,
        *,
        platform_code: int | None = None,
        undelivered: tuple[str, ...] = (),
    ) -> None:
        super().__init__(message_cn)
        self.message_cn = message_cn
        self.code = code
        self.permanent = permanent
        self.platform_code = platform_code
        self.undelivered = undelivered

    def __str__(self) -> str:
        platform = f"，平台代码 {self.platform_code}" if self.platform_code is not None else ""
        return f"{self.message_cn}（{self.code}{platform}）"

    def __repr__(self) -> str:
        kind = "permanent" if self.permanent else "transient"
        return f"NotifyError({self.code!r}, {kind}, platform_code={self.platform_code!r})"
