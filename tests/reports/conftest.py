"""A fresh database per test, the test organisation, and submissions walked through the
real review service (every signature made with the reviewer's own key)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest

from gate.model import ChannelRequest, Decision, ReviewStage
from orchestrator.app import App
from orchestrator.demo import demo_draft, submit_and_sign_off, tiny_png
from orchestrator.migrate import upgrade
from orchestrator.services import org, review, submissions
from orchestrator.settings import Settings
from tests.api.conftest import Server, start_server, stop_server
from tests.clock import shanghai_tomorrow
from tests.orchestrator.conftest import ORG_YAML, PASSWORDS

SANSHEN = str(Path(sys.executable).with_name("sanshen"))

COVER = files("orchestrator").joinpath("data/demo-cover.jpg").read_bytes()
WALK = (
    (ReviewStage.FIRST, "author"),
    (ReviewStage.SECOND, "head"),
    (ReviewStage.FINAL, "leader"),
    (ReviewStage.PRINCIPAL, "chief"),
    (ReviewStage.USAGE, "zhk"),
    (ReviewStage.SIGN_OFF, "publicity"),
)


@pytest.fixture
def app(tmp_path: Path) -> Iterator[App]:
    application = App(Settings(data_dir=tmp_path / "data", kdf_profile="min"))
    upgrade(application.db)
    with application.db.session() as session:
        org.initialise(session, org.parse_organisation(ORG_YAML), kdf_profile="min")
        for person in org.all_people(session):
            for assignment in person.assignments:
                assignment.valid_from = datetime(2020, 1, 1, tzinfo=UTC)
    yield application
    application.db.dispose()


def draft(
    title: str = "区政务服务中心推出周末延时服务",
    channels: tuple[tuple[str, date, str], ...] | None = None,
    **changes: Any,
) -> submissions.Draft:
    """By default for tomorrow on 政府网站 and 微信公众号 (头条)."""
    if channels is None:
        channels = (
            ("gov_website", shanghai_tomorrow(), ""),
            ("wechat", shanghai_tomorrow(), "头条"),
        )
    fields: dict[str, Any] = {
        "title": title,
        "body_html": '<p>自下月起周六上午提供延时服务。</p><p><img src="a.png"></p>'
        "<p>咨询电话：12345。</p>",
        "images": [submissions.ImageFile("a.png", tiny_png())],
        "cover": submissions.ImageFile("cover.jpg", COVER),
        "digest": "周六上午延时服务",
        "byline": "数据管理发展科",
        "channels": [ChannelRequest(c, d, r) for c, d, r in channels],
    }
    return submissions.Draft(**(fields | changes))


def submit(app: App, content: submissions.Draft | None = None, author: str = "author") -> int:
    with app.db.session() as session:
        sub = submissions.create(
            session, app.blobs, author=author, department="sjgl", draft=content or draft()
        )
        return sub.id


def walk(app: App, sub_id: int, until: ReviewStage | None = None, principal: bool = False) -> None:
    """Approve stage by stage with the test people; stop before `until`."""
    for stage, who in WALK:
        if stage is until:
            return
        if stage is ReviewStage.PRINCIPAL and not principal:
            continue
        with app.db.session() as session:
            review.review(
                session,
                sub_id,
                stage=stage,
                decision=Decision.APPROVE,
                actor=who,
                password=PASSWORDS[who],
                policy=app.policy,
                comment="同意",
                default_publish_time="00:00",
                app=app,
            )


def signed_off(app: App, content: submissions.Draft | None = None) -> int:
    sub_id = submit(app, content)
    principal = bool(content and (content.major_event or content.special_content))
    walk(app, sub_id, principal=principal)
    return sub_id


@pytest.fixture(scope="session")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`uvicorn orchestrator.api:api` on loopback over the demo organisation (tests/api)."""
    running = start_server(tmp_path_factory.mktemp("reports-api") / "data")
    yield running
    stop_server(running)


def demo_signed_off(server: Server, **changes: Any) -> int:
    """A demo submission walked through every stage by the demo people, in this process."""
    return submit_and_sign_off(server.app, demo_draft(**changes), publish_time="00:00")


def sanshen(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The `sanshen` command as a person runs it: a real process."""
    env = os.environ | {"SANSHEN_DATA_DIR": str(data_dir), "SANSHEN_KDF_PROFILE": "min"}
    return subprocess.run(
        [SANSHEN, *args], capture_output=True, text=True, env=env, timeout=120, check=False
    )
