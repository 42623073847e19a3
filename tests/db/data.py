"""Content for database tests: an organisation and signed-off submissions, made by the services."""

from __future__ import annotations

from datetime import UTC, date, datetime
from importlib.resources import files

from gate.model import ChannelRequest, Decision, ReviewStage
from orchestrator.app import App
from orchestrator.demo import tiny_png
from orchestrator.services import org, review, submissions
from tests.clock import shanghai_today
from tests.orchestrator.conftest import ORG_YAML, PASSWORDS

ALL_CHANNELS = ("gov_website", "suishenban", "wechat", "xuexi", "lvse_qingpu")
COVER = files("orchestrator").joinpath("data/demo-cover.jpg").read_bytes()
SIGN_OFF = (
    (ReviewStage.FIRST, "author"),
    (ReviewStage.SECOND, "head"),
    (ReviewStage.FINAL, "leader"),
    (ReviewStage.USAGE, "zhk"),
    (ReviewStage.SIGN_OFF, "publicity"),
)


# For release 0.1's database: one open 分管领导 row, which 0.1's schema keeps without a
# department (the content is made at head, where that row must cover the items' sjgl).
ORG_YAML_0_1 = ORG_YAML.replace("in_charge_of: [zhk, sjgl, solo]", "in_charge_of: [sjgl]")


def organisation(app: App, yaml: str = ORG_YAML) -> None:
    """The test organisation, with roles valid from a fixed moment in the past."""
    with app.db.session() as session:
        org.initialise(session, org.parse_organisation(yaml), kdf_profile="min")
        for person in org.all_people(session):
            for assignment in person.assignments:
                assignment.valid_from = datetime(2020, 1, 1, tzinfo=UTC)


def signed_off(
    app: App,
    title: str = "区政务服务中心推出周末延时服务",
    channels: tuple[str, ...] = ALL_CHANNELS,
    publish_date: date | None = None,
) -> int:
    """A submission through all three reviews and sign-off: its publications are scheduled."""
    when = publish_date or shanghai_today()
    draft = submissions.Draft(
        title=title,
        body_html='<p>自下月起周六上午提供延时服务。</p><p><img src="a.png"></p>',
        images=[submissions.ImageFile("a.png", tiny_png(rgb=(len(title) % 250, 30, 30)))],
        cover=submissions.ImageFile("cover.jpg", COVER),
        digest="周六上午延时服务",
        byline="数据管理发展科",
        channels=[ChannelRequest(c, when) for c in channels],
    )
    with app.db.session() as session:
        sub_id = submissions.create(
            session, app.blobs, author="author", department="sjgl", draft=draft
        ).id
    for stage, who in SIGN_OFF:
        if stage is ReviewStage.USAGE and not app.policy.usage_decision:
            continue  # release 0.1 had no 稿件用途
        with app.db.session() as session:
            review.review(
                session,
                sub_id,
                stage=stage,
                decision=Decision.APPROVE,
                actor=who,
                password=PASSWORDS[who],
                policy=app.policy,
                app=app,  # its image store: the sign-off checks the stored bytes
                default_publish_time="00:00",
            )
    return sub_id
