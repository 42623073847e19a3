"""Screenshots of an assisted channel and 发布核验, at 1280 and 360 px wide (full pages).

    /work/venv/bin/python docs/screenshots/assisted.py

Starts the platform simulators and the console over a temporary demo database (no worker), the
website in assisted mode. One item waits to be published by hand (待人工发布); a second was
published through the simulator's CMS, recorded, verified 一致, and then its live page was
edited, so the next check found it 不一致. Photographs, as 吴运 (政府网站运行科):
- assisted-todo-*.png: 我的待办 with the row to publish by hand;
- assisted-package-*.png: the publish package (text to paste, images, limits, 审批表, record form);
- assisted-item-*.png: the edited item's page: 核验不一致 with the diff and the history;
- assisted-board-*.png: the board, the cell flagged.
"""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime

import requests
from shots import demo_console, photograph

from channels.simulators.server import SimulatorServer
from orchestrator import demo
from orchestrator.app import App
from orchestrator.devstack import simulator_env
from orchestrator.models import Publication
from orchestrator.services import manual, verification
from orchestrator.services.dispatch import claim_due
from orchestrator.services.hub import ChannelHub, MemoryRateGate
from orchestrator.services.publishing import Publisher

BODY = (
    "<p>为方便上班族办事，区政务服务中心自下月起在每周六上午提供延时服务，"
    "办理时间为9:00至12:00，可办理社保、医保、户籍等138项高频事项。</p>"
    "<p>市民可通过随申办预约，到场后凭预约码取号，无需排队。</p>"
)


def to_manual(app: App, hub: ChannelHub, sub: int) -> int:
    """The scheduler's claim and the worker's gate check, in this process."""
    with app.db.session() as session:
        claim_due(session, now=datetime.now(UTC), per_channel=20)
    publisher = Publisher(app, hub, MemoryRateGate())
    with app.db.read() as session:
        pub = session.query(Publication).filter_by(submission_id=sub).one().id
    assert publisher.send(pub) == "manual"
    return pub


def seed(app: App, hub: ChannelHub, sims: SimulatorServer) -> tuple[int, int, int]:
    """(the waiting row, the edited item, its row)."""
    waiting = demo.submit_and_sign_off(
        app,
        demo.demo_draft(("gov_website",), title="“一网通办”窗口延时服务上线"),
        publish_time="00:00",
    )
    waiting_pub = to_manual(app, hub, waiting)
    edited = demo.submit_and_sign_off(
        app,
        demo.demo_draft(
            ("gov_website",), title="区政务服务中心推出周末延时服务", body_html=BODY, images=[]
        ),
        publish_time="00:00",
    )
    pub = to_manual(app, hub, edited)
    answer = requests.post(
        f"{sims.base_url('gov_website')}/cms/",
        data={"column": "qpzwfw", "title": "区政务服务中心推出周末延时服务", "body": BODY},
        timeout=5,
    )
    url = re.search(r'id="published-url"[^>]*>([^<]+)<', answer.text).group(1).strip()  # type: ignore[union-attr]
    done = manual.record_published(
        app, hub, pub, url=url, actor="wuyun", password="demo-pass-7", external_id="art-2026-1206"
    )
    assert done.checked is not None and done.checked.verdict.value == "consistent"
    sims.simulator("gov_website").alter_page(url, replace=["138项", "18项"])
    checked = verification.verify(app, hub, pub, trigger="watch")
    assert checked.verdict.value == "mismatch", checked
    return waiting_pub, edited, pub


def main() -> None:
    with SimulatorServer() as sims:
        env = simulator_env({"gov_website": sims.client_settings("gov_website")})
        env["SANSHEN_CHANNEL_GOV_WEBSITE_MODE"] = "assisted"
        with demo_console(env) as (url, app):
            hub = ChannelHub({**os.environ, **env})
            waiting_pub, edited, _ = seed(app, hub, sims)
            photograph(
                url,
                "wuyun",
                "demo-pass-7",
                [
                    ("/todo", "assisted-todo"),
                    (f"/work/package/{waiting_pub}", "assisted-package"),
                    (f"/items/{edited}", "assisted-item"),
                    ("/board", "assisted-board"),
                ],
            )


if __name__ == "__main__":
    main()
