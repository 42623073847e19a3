"""Screenshots of what the gate binding changed, at 1280 and 360 px wide (full pages).

    /work/venv/bin/python docs/screenshots/gate_binding.py

Starts the console over a temporary demo database (no worker: nothing is due), signs off one
item for tomorrow, has the 宣传分管领导 sign a 改期 of its website row, leaves a second item
waiting for 复审, and photographs:
- item-amend-*.png: the item as 孙宣 sees it (signed date, who signed the 改期, 签署改期 form);
- review-scope-*.png: the waiting item as 王强 (综合科's 科室负责人) sees it: who may act.
"""

from __future__ import annotations

from datetime import timedelta

from shots import demo_console, photograph

from gate.model import Decision, ReviewStage
from orchestrator import demo
from orchestrator.app import App
from orchestrator.models import Publication
from orchestrator.services import amendments, review, submissions
from tests.clock import shanghai_tomorrow


def seed(app: App) -> tuple[int, int]:
    tomorrow = shanghai_tomorrow()
    signed = demo.submit_and_sign_off(
        app, demo.demo_draft(("gov_website", "wechat"), publish_date=tomorrow)
    )
    with app.db.session() as session:
        pub = session.query(Publication).filter_by(submission_id=signed, channel="gov_website")
        amendments.amend_date(
            session,
            pub.one().id,
            new_date=tomorrow + timedelta(days=2),
            actor="sunxuan",
            password="demo-pass-5",
            policy=app.policy,
            comment="活动延期两天",
        )
    with app.db.session() as session:
        waiting = submissions.create(
            session,
            app.blobs,
            author="wangfang",
            department="sjgl",
            draft=demo.demo_draft(title="“一网通办”窗口延时服务", major_event=False),
        ).id
    with app.db.session() as session:
        review.review(
            session,
            waiting,
            stage=ReviewStage.FIRST,
            decision=Decision.APPROVE,
            actor="wangfang",
            password="demo-pass-1",
            policy=app.policy,
            app=app,
        )
    return signed, waiting


def main() -> None:
    with demo_console() as (url, app):
        signed, waiting = seed(app)
        photograph(url, "sunxuan", "demo-pass-5", [(f"/items/{signed}", "item-amend")])
        photograph(
            url, "wangqiang", "demo-pass-9", [(f"/submissions/{waiting}/review", "review-scope")]
        )


if __name__ == "__main__":
    main()
