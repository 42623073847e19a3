"""谁审核谁负责，谁发布谁负责: a published article, found by channel and URL or platform id,
names its people and re-checks every signature. Published for real: the Publisher sends to the
platform simulators over loopback HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text

from channels.simulators.server import SimulatorServer
from orchestrator.app import App
from orchestrator.devstack import simulator_env
from orchestrator.errors import InvalidInput, NotFound
from orchestrator.models import Publication, ReviewAction
from orchestrator.reports import accountability
from orchestrator.services import amendments, dispatch
from orchestrator.services.hub import ChannelHub, MemoryRateGate
from orchestrator.services.publishing import Publisher
from tests.clock import shanghai_today
from tests.orchestrator.conftest import PASSWORDS
from tests.reports.conftest import Server, demo_signed_off, draft, sanshen, signed_off


@pytest.fixture(scope="module")
def sims() -> Iterator[SimulatorServer]:
    with SimulatorServer() as server:
        yield server


@pytest.fixture
def publisher(app: App, sims: SimulatorServer) -> Publisher:
    sims.reset()
    env = simulator_env({name: sims.client_settings(name) for name in sims.names})
    return Publisher(app, ChannelHub(env), MemoryRateGate())


def send_due(app: App, publisher: Publisher) -> None:
    with app.db.session() as session:
        due = dispatch.claim_due(session, now=datetime.now(UTC) + timedelta(seconds=1))
    for pub_id, _channel in due:
        publisher.send(pub_id)


def published(app: App, publisher: Publisher, channel: str = "gov_website") -> Publication:
    sub_id = signed_off(app, draft(channels=((channel, shanghai_today(), ""),)))
    send_due(app, publisher)
    with app.db.read() as session:
        pub = session.scalars(select(Publication).where(Publication.submission_id == sub_id)).one()
    assert pub.state == "published" and pub.url and pub.external_id, pub.state
    return pub


def report(app: App, **where: str) -> dict:
    with app.db.read() as session:
        return accountability.report(session, app, **where)  # type: ignore[arg-type]


def test_names_author_each_stage_and_sign_off_with_valid_signatures(
    app: App, publisher: Publisher
) -> None:
    pub = published(app, publisher)
    found = report(app, channel="gov_website", url=pub.url or "")
    assert found["publication"]["id"] == pub.id
    assert found["publication"]["channel_label"] == "政府网站"
    assert found["author"] == {"username": "author", "name": "王供稿"}
    approved = {stage: r["username"] for stage, r in found["approved"].items()}
    assert approved == {
        "first": "author",
        "second": "head",
        "final": "leader",
        "usage": "zhk",
        "sign_off": "publicity",
    }
    assert all(r["signature_valid"] and r["counts"] for r in found["reviews"])
    assert found["signatures_valid"] and found["gate"]["passed"]
    with app.db.read() as session:
        version = session.get(Publication, pub.id).version  # type: ignore[union-attr]
        assert found["version"]["fingerprint"] == version.fingerprint
    # nobody acted by hand: the system, on the schedule fixed at sign-off
    assert found["publisher"]["kind"] == "system"
    assert "系统按签发时确定的排期" in found["publisher"]["text"]
    assert "孙宣传" in found["publisher"]["text"]
    assert [e["action"] for e in found["events"]][:2] == ["publication.create", "publication.sent"]
    # the same article by its platform id, and by the channel's display name
    by_id = report(app, channel="政府网站", external_id=pub.external_id or "")
    assert by_id["publication"]["id"] == pub.id
    assert any(line.startswith("终审：赵分管（leader）") for line in by_id["summary"])


def test_the_person_who_rescheduled_is_the_publisher(app: App, publisher: Publisher) -> None:
    tomorrow = shanghai_today() + timedelta(days=1)
    sub_id = signed_off(app, draft(channels=(("gov_website", tomorrow, ""),)))
    with app.db.read() as session:
        pub_id = session.scalars(
            select(Publication.id).where(Publication.submission_id == sub_id)
        ).one()
    with app.db.session() as session:  # the leader signs the move to today, the clerk sends now
        amendments.amend_date(
            session,
            pub_id,
            new_date=shanghai_today(),
            actor="publicity",
            password=PASSWORDS["publicity"],
            policy=app.policy,
            comment="提前发布",
        )
    publisher.reschedule(pub_id, when=datetime.now(UTC), actor="web")
    send_due(app, publisher)
    with app.db.read() as session:
        pub = session.get(Publication, pub_id)
        assert pub is not None and pub.state == "published"
        url = pub.url or ""
    found = report(app, channel="gov_website", url=url)
    assert found["publisher"]["kind"] == "person"
    assert found["publisher"]["username"] == "web"
    assert found["publisher"]["name"] == "吴网站"
    assert "当天内调整发布时间" in found["publisher"]["text"]
    (moved,) = found["amendments"]
    assert (moved["username"], moved["new_date"], moved["counts"]) == (
        "publicity",
        shanghai_today().isoformat(),
        True,
    )
    assert any(line.startswith("改期：孙宣传") for line in found["summary"])


def test_a_tampered_signature_is_flagged(app: App, publisher: Publisher) -> None:
    pub = published(app, publisher)
    with app.db.engine.begin() as conn:  # someone edits the stored signature of the 终审
        row = conn.execute(
            text("SELECT id, signature FROM review_actions WHERE stage = 'final'")
        ).one()
        forged = bytes([row.signature[0] ^ 1]) + row.signature[1:]
        conn.execute(
            text("UPDATE review_actions SET signature = :s WHERE id = :i"),
            {"s": forged, "i": row.id},
        )
    found = report(app, channel="gov_website", url=pub.url or "")
    final = [r for r in found["reviews"] if r["stage"] == "final"]
    assert [(r["username"], r["signature_valid"], r["counts"]) for r in final] == [
        ("leader", False, False)
    ]
    assert all(r["signature_valid"] for r in found["reviews"] if r["stage"] != "final")
    assert not found["signatures_valid"]
    assert found["approved"]["final"] is None
    assert "signature_invalid" in [v["code"] for v in found["gate"]["violations"]]
    assert any("签名验证失败" in line and "赵分管" in line for line in found["summary"])
    with app.db.read() as session:
        assert session.get(ReviewAction, row.id).signature == forged  # type: ignore[union-attr]


def test_unknown_article_or_bad_question_is_refused(app: App, publisher: Publisher) -> None:
    pub = published(app, publisher)
    with pytest.raises(NotFound):
        report(app, channel="gov_website", url="https://example.invalid/none")
    with pytest.raises(NotFound):
        report(app, channel="wechat", url=pub.url or "")
    with pytest.raises(InvalidInput):
        report(app, channel="gov_website")
    with pytest.raises(InvalidInput):
        report(app, channel="没有这个渠道", url=pub.url or "")


# --- the command and the API -----------------------------------------------------------------


def test_cli_reports_and_exits_seven_on_a_tampered_signature(
    app: App, publisher: Publisher
) -> None:
    pub = published(app, publisher)
    with app.db.engine.begin() as conn:
        row = conn.execute(
            text("SELECT id, signature FROM review_actions WHERE stage = 'sign_off'")
        ).one()
        conn.execute(
            text("UPDATE review_actions SET signature = :s WHERE id = :i"),
            {"s": bytes(64), "i": row.id},
        )
    result = sanshen(
        app.settings.data_dir, "accountability", "--channel", "政府网站", "--url", pub.url or ""
    )
    assert result.returncode == 7, result.stderr
    assert "终审：赵分管（leader）" in result.stdout and "签名有效" in result.stdout
    assert "孙宣传的签发通过签名验证失败" in result.stdout


def test_api_reports_by_platform_id(api: Server, sims: SimulatorServer) -> None:
    env = simulator_env({name: sims.client_settings(name) for name in sims.names})
    sub_id = demo_signed_off(api, channels=("gov_website",))
    send_due(api.app, Publisher(api.app, ChannelHub(env), MemoryRateGate()))
    with api.app.db.read() as session:
        pub = session.scalars(select(Publication).where(Publication.submission_id == sub_id)).one()
    client = api.as_("zhouzh")
    reply = client.get("/accountability", params={"channel": "gov_website", "id": pub.external_id})
    assert reply.status_code == 200, reply.text
    found = reply.json()
    assert found["publication"]["id"] == pub.id and found["signatures_valid"]
    assert {s: r["username"] for s, r in found["approved"].items()} == {
        "first": "wangfang",
        "second": "lijun",
        "final": "zhaomin",
        "principal": "chenzhu",
        "usage": "zhouzh",
        "sign_off": "sunxuan",
    }
    missing = client.get("/accountability", params={"channel": "gov_website", "id": "nope"})
    assert missing.status_code == 404
    assert client.get("/accountability", params={"channel": "gov_website"}).status_code == 422
    assert api.client().get("/accountability", params={"channel": "x"}).status_code == 401
