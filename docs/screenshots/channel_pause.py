"""Screenshots of the 系统状态 page's channel pauses, at 1280 and 360 px wide (full pages).

    /work/venv/bin/python docs/screenshots/channel_pause.py

Starts the console over a temporary demo database (no worker), pauses 政府网站 as 郑值
(值守运维) and 微信公众号 as the platform would on its daily quota, and photographs /health as
郑值 sees it: health-pause-*.png.
"""

from __future__ import annotations

from shots import demo_console, photograph

from channels.registry import load_channels
from orchestrator import redis_embedded
from orchestrator.services import pauses
from orchestrator.services.hub import RedisRateGate


def main() -> None:
    with demo_console() as (url, app):
        gate = RedisRateGate(redis_embedded.client(app.settings.redis_url or ""))
        pauses.pause(
            app, gate, load_channels(), "gov_website", minutes=240, reason="网站机房维护",
            actor="zhengop",
        )  # fmt: skip
        gate.pause("wechat", 6 * 3600, by="platform", reason="今日调用次数已达上限，次日零点恢复")
        photograph(url, "zhengop", "demo-pass-8", [("/health#channels", "health-pause")])


if __name__ == "__main__":
    main()
