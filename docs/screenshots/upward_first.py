"""Screenshots of upward first, then one repost, at 1280 and 360 px wide (full pages).

    /work/venv/bin/python docs/screenshots/upward_first.py

Starts the console over a temporary demo database (no worker). One item goes to 学习强国 and the
office's platforms: 学习强国 adopts it, the one repost is drafted and signed off. A second item
still waits for its adoption. Photographs, as 周综合 (综合科):
- upward-first-upward-*.png: 对上报送 with the rows waiting for adoption (放行/撤下) and the repost;
- upward-first-item-*.png: the waiting item's page (待上级采用, 放行/撤下);
- upward-first-board-*.png: the board, the repost's cells marked 转载;
- upward-first-repost-*.png: the repost's page (沿用原稿的审核, 签发 alone);
and, as 孙宣 (宣传分管领导) before signing, upward-first-signoff-*.png: the repost waiting for 签发;
as 周综 again, usage-decide-*.png: 稿件用途 of an item after 终审 (where it goes, on which day).
"""

from __future__ import annotations

from datetime import UTC, datetime

from shots import demo_console, photograph

from gate.model import ReviewStage
from orchestrator import demo
from orchestrator.app import App
from orchestrator.models import Publication, Submission
from orchestrator.services import submissions
from orchestrator.services.dispatch import move, record_move
from orchestrator.services.hub import ChannelHub, MemoryRateGate
from orchestrator.services.publishing import Publisher
from orchestrator.states import State

BOTH = ("gov_website", "suishenban", "wechat", "xuexi", "lvse_qingpu")


def seed(app: App) -> tuple[int, int]:
    """(the repost, waiting for its 签发; an item still waiting for adoption)."""
    adopted = demo.submit_and_sign_off(app, demo.demo_draft(BOTH), publish_time="00:00")
    now = datetime.now(UTC)
    adoptions = (
        ("xuexi", "https://www.xuexi.cn/lgpage/detail/index.html?id=qp20261206"),
        ("lvse_qingpu", "https://www.shqp.gov.cn/lsqp/20261206/001.html"),
    )
    for channel, url in adoptions:  # 学习强国 first: the repost cites it; 绿色青浦 is recorded
        with app.db.session() as session:
            pub = session.query(Publication).filter_by(submission_id=adopted, channel=channel).one()
            for source, goal in ((State.SCHEDULED, State.QUEUED), (State.QUEUED, State.SENDING)):
                move(session, pub.id, (source,), goal, now=now)
            move(
                session,
                pub.id,
                (State.SENDING,),
                State.PUBLISHED,
                now=now,
                url=url,
                published_at=now,
            )
            record_move(session, pub.id, "publication.sent", State.PUBLISHED, at=now)
            Publisher(app, ChannelHub(), MemoryRateGate()).on_published(session, pub.id, now)
    with app.db.session() as session:
        repost = session.query(Submission).filter_by(repost_origin_id=adopted).one().id
    waiting = demo.demo_draft(BOTH, title="“一网通办”窗口延时服务上线")
    return repost, demo.submit_and_sign_off(app, waiting, publish_time="23:59")


def after_final(app: App) -> int:
    """An item its department and 主要领导 have reviewed: 稿件用途 (综合科) is next."""
    draft = demo.demo_draft(("gov_website", "wechat", "xuexi"), title="政务服务“好差评”月度通报")
    with app.db.session() as session:
        sub = submissions.create(
            session, app.blobs, author="wangfang", department="sjgl", draft=draft
        ).id
    demo.walk(app, sub, lambda _line: None, major=True, until=ReviewStage.USAGE)
    return sub


def main() -> None:
    with demo_console() as (url, app):
        repost, waiting = seed(app)
        photograph(
            url,
            "sunxuan",
            "demo-pass-5",
            [(f"/submissions/{repost}/review", "upward-first-signoff")],
        )
        demo.walk(app, repost, lambda _line: None, "23:59", major=True)
        photograph(
            url,
            "zhouzh",
            "demo-pass-6",
            [
                ("/upward", "upward-first-upward"),
                (f"/items/{waiting}", "upward-first-item"),
                ("/board", "upward-first-board"),
                (f"/items/{repost}", "upward-first-repost"),
                (f"/submissions/{after_final(app)}/review", "usage-decide"),
            ],
        )


if __name__ == "__main__":
    main()
