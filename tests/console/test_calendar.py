"""排期日历 in Chromium over the real API process: the week by channel, planned blocks, holidays,
a move within the day, a drag to another day that waits for the 宣传分管领导's signature, the
crowded-day warning, the .ics feed, the API, and the week at 360 px."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import icalendar
import pytest
import requests
from playwright.sync_api import Page, expect
from sqlalchemy import select

from channels.base import ChannelKind
from orchestrator import demo
from orchestrator.errors import SanshenError
from orchestrator.models import DateAmendment, DateChangeRequest, Publication
from orchestrator.services import calendar, daterequests, notifications, submissions
from orchestrator.web import auth
from orchestrator.web.templating import channel_names
from tests.clock import shanghai_tomorrow
from tests.console.conftest import DEMO_PASSWORDS, Console, sign_in

PHONE = {"width": 360, "height": 740}


def utc_now() -> datetime:
    return datetime.now(UTC)


def rows(console: Console, sub_id: int) -> dict[str, Publication]:
    with console.app.db.read() as session:
        found = session.scalars(select(Publication).where(Publication.submission_id == sub_id))
        return {p.channel: p for p in found}


def in_review(console: Console, channels: tuple[str, ...], day: date) -> int:
    """Submitted, not yet reviewed: a planned item on the 审批表's date."""
    draft = demo.demo_draft(channels, publish_date=day, title="下周的区政务服务开放日")
    with console.app.db.session() as session:
        sub = submissions.create(
            session, console.app.blobs, author="wangfang", department="sjgl", draft=draft
        )
        return sub.id


def view(console: Console, start: date, days: int = 7) -> calendar.Calendar:
    with console.app.db.read() as session:
        return calendar.view(
            session,
            start,
            start + timedelta(days=days),
            channels=channel_names(),
            limits={"wechat": 1},
        )


def test_the_week_holds_rows_by_channel_planned_items_and_the_holidays(console: Console) -> None:
    day = shanghai_tomorrow()
    signed = console.signed_off(("gov_website", "wechat"), publish_date=day)
    planned = in_review(console, ("wechat", "xuexi"), day)
    cal = view(console, day, 1)
    assert [(b.channel, b.state, b.submission_id) for b in cal.cell("gov_website", day)] == [
        ("gov_website", "scheduled", signed)
    ]
    wechat = cal.cell("wechat", day)
    assert [(b.state, b.submission_id) for b in wechat] == [
        ("scheduled", signed),
        ("planned", planned),
    ]
    assert wechat[0].movable and not wechat[1].movable and wechat[1].at is None
    assert cal.crowded("wechat", day) and not cal.crowded("gov_website", day)
    assert [b.submission_id for b in cal.cell("xuexi", day)] == [planned]
    # once signed off, the planned blocks give way to the rows themselves
    demo.walk(console.app, planned, lambda _line: None, major=True)
    after = view(console, day, 1)
    assert all(not b.planned for b in after.blocks)
    assert {(b.channel, b.submission_id) for b in after.blocks} >= {
        ("wechat", planned),
        ("xuexi", planned),
    }

    # the month view: each day's first blocks, the rest counted
    with console.app.db.read() as session:
        month = calendar.view(
            session, day, day + timedelta(days=1), channels=channel_names(), limits={},
            per_day=2,
        )  # fmt: skip
    rows_today = sum(1 for b in after.blocks if b.day == day)
    assert len(month.on(day)) == 2 and month.hidden[day] == rows_today - 2
    assert month.more(day, 2) == rows_today - 2
    assert sum(month.load.values()) == sum(after.load.values())

    national_day = view(console, date(2026, 9, 28), 14)
    notes = {d.date.isoformat(): (d.note, d.working) for d in national_day.days if d.note}
    assert notes["2026-10-01"] == ("国庆节", False)
    assert notes["2026-10-10"] == ("调休上班", True)
    assert "2026-10-09" not in notes


def a_day_with_a_next_in_its_week() -> date:
    """Tomorrow, or Monday when tomorrow is a Sunday: the week view shows the day after too."""
    day = shanghai_tomorrow()
    return day + timedelta(days=1) if day.weekday() == 6 else day


def local_time(pub: Publication) -> str:
    return pub.scheduled_at.astimezone(calendar.SHANGHAI).strftime("%H:%M")


def test_a_clerk_moves_within_the_day_and_asks_for_another_day_which_the_leader_signs(
    console: Console, page: Page
) -> None:
    day = a_day_with_a_next_in_its_week()
    later = day + timedelta(days=1)
    sub = console.signed_off(("gov_website",), publish_date=day)
    pub = rows(console, sub)["gov_website"]
    sign_in(page, console.url, "wuyun", DEMO_PASSWORDS["wuyun"])
    page.goto(f"{console.url}/calendar?date={day.isoformat()}")
    block = page.locator(f"#cal-week .cal-block[data-pub='{pub.id}']")
    expect(block.locator(".cal-title")).to_have_text(demo.demo_draft().title)

    # within the signed day, by the 操作 menu (the keyboard's way): a new time at once
    block.locator("summary").click()
    same_day = block.locator("form.cal-form").first
    same_day.locator("input[name=at]").fill("15:30")
    same_day.locator("button[type=submit]").click()
    expect(page.locator(".flash-ok")).to_contain_text(f"已改到 {day.isoformat()} 15:30")
    assert local_time(rows(console, sub)["gov_website"]) == "15:30"

    # within the day by drag: dropped on its own day, it asks for the time
    dialogs: list[str] = []

    def answer(dialog: Any) -> None:
        dialogs.append(dialog.message)
        dialog.accept("16:45") if dialog.type == "prompt" else dialog.accept()

    page.on("dialog", answer)
    own = page.locator(f"#cal-week td.cal-cell[data-channel='gov_website'][data-day='{day}']")
    page.locator(f"#cal-week .cal-block[data-pub='{pub.id}'] .cal-time").drag_to(own)
    expect(page.locator("#cal-message")).to_contain_text(f"已改到 {day.isoformat()} 16:45")
    assert local_time(rows(console, sub)["gov_website"]) == "16:45"
    moved = rows(console, sub)["gov_website"].scheduled_at

    # another lane is refused (the channel is what was signed)
    wechat = page.locator(f"#cal-week td.cal-cell[data-channel='wechat'][data-day='{later}']")
    page.locator(f"#cal-week .cal-block[data-pub='{pub.id}'] .cal-time").drag_to(wechat)
    expect(page.locator("#cal-message")).to_contain_text("只能在本渠道内移动")

    # to another day by drag: a 改期 request, pending on the calendar until signed
    target = page.locator(f"#cal-week td.cal-cell[data-channel='gov_website'][data-day='{later}']")
    page.locator(f"#cal-week .cal-block[data-pub='{pub.id}'] .cal-time").drag_to(target)
    expect(page.locator("#cal-message")).to_contain_text("待宣传分管领导签署后生效")
    assert any("须宣传分管领导签署" in d for d in dialogs)
    expect(page.locator(f"#cal-week .cal-block[data-pub='{pub.id}'] .cal-request")).to_contain_text(
        f"改期待签 → {later.strftime('%m-%d')}"
    )
    expect(target.locator(f".cal-ghost[data-ghost='{pub.id}']")).to_be_visible()
    with console.app.db.read() as session:
        (req,) = session.scalars(select(DateChangeRequest)).all()
        assert (req.state, req.old_date, req.new_date) == ("pending", day, later)
    assert rows(console, sub)["gov_website"].scheduled_at == moved  # nothing moved yet

    # the 宣传分管领导 signs it with their password
    page.context.clear_cookies()
    sign_in(page, console.url, "sunxuan", DEMO_PASSWORDS["sunxuan"])
    page.goto(f"{console.url}/calendar?date={later.isoformat()}")
    request_row = page.locator(f"#date-requests tr[data-request='{req.id}']")
    request_row.locator("input[name=password]").fill("wrong-password")
    request_row.locator("form.cal-sign button").click()
    expect(page.locator(".flash-error")).to_be_visible()
    request_row = page.locator(f"#date-requests tr[data-request='{req.id}']")
    request_row.locator("input[name=password]").fill(DEMO_PASSWORDS["sunxuan"])
    request_row.locator("form.cal-sign button").click()
    expect(page.locator(".flash-ok")).to_contain_text(f"已签署改期，改至 {later.isoformat()} 16:45")
    expect(page.locator("#date-requests")).to_have_count(0)
    with console.app.db.read() as session:
        req = session.get(DateChangeRequest, req.id)
        assert req is not None and req.state == "signed" and req.amendment_id is not None
        amendment = session.get(DateAmendment, req.amendment_id)
        assert amendment is not None and amendment.new_date == later
    assert calendar.shanghai_today(rows(console, sub)["gov_website"].scheduled_at) == later


def test_refusals_name_the_problem_and_change_nothing(console: Console, page: Page) -> None:
    day = shanghai_tomorrow()
    sub = console.signed_off(("gov_website", "wechat"), publish_date=day)
    other = console.signed_off(("wechat",), publish_date=day + timedelta(days=1))
    pubs = rows(console, sub)
    sign_in(page, console.url, "wuyun", DEMO_PASSWORDS["wuyun"])
    page.goto(f"{console.url}/calendar?date={day.isoformat()}")

    def move(pub_id: int, **form: str) -> Any:
        return page.request.post(
            f"{console.url}/calendar/publications/{pub_id}/move",
            form=form,
            headers={"Accept": "application/json", "X-CSRF-Token": csrf(page)},
        )

    past = move(pubs["gov_website"].id, day=(day - timedelta(days=3)).isoformat())
    assert past.status == 422 and past.json()["error"] == "time_in_past"
    crowded = move(pubs["wechat"].id, day=(day + timedelta(days=1)).isoformat())
    assert crowded.status == 422 and crowded.json()["error"] == "over_daily_limit"
    assert "每天最多 1 条" in crowded.json()["message"]
    bad = move(pubs["wechat"].id, day="2026-02-30")
    assert bad.status == 422 and bad.json()["error"] == "bad_date"
    with console.app.db.read() as session:
        assert session.scalars(select(DateChangeRequest)).all() == []
    assert rows(console, sub)["wechat"].scheduled_at == pubs["wechat"].scheduled_at
    assert rows(console, other)["wechat"].state == "scheduled"

    # someone who does not schedule sees no menus, and is refused if they post anyway
    page.context.clear_cookies()
    sign_in(page, console.url, "wangfang", DEMO_PASSWORDS["wangfang"])
    page.goto(f"{console.url}/calendar?date={day.isoformat()}")
    expect(
        page.locator(f"#cal-week .cal-block[data-pub='{pubs['gov_website'].id}']")
    ).to_be_visible()
    expect(page.locator("#cal-week .cal-menu")).to_have_count(0)
    refused = move(pubs["gov_website"].id, day=(day + timedelta(days=2)).isoformat())
    assert refused.status == 403 and refused.json()["error"] == "not_permitted"
    assert "王芳无权安排发布" in refused.json()["message"]


def csrf(page: Page) -> str:
    return str(page.locator("meta[name=csrf-token]").get_attribute("content"))


def test_the_ics_feed_follows_the_calendar_until_revoked(console: Console, page: Page) -> None:
    day = shanghai_tomorrow()
    sub = console.signed_off(("gov_website",), publish_date=day)
    planned = in_review(console, ("wechat",), day + timedelta(days=1))
    sign_in(page, console.url, "wuyun", DEMO_PASSWORDS["wuyun"])
    page.goto(f"{console.url}/calendar")
    page.click("#feed-create")
    address = page.locator("#feed-url").input_value()
    assert address.startswith(f"{console.url}/calendar/feed/") and address.endswith(".ics")
    page.goto(f"{console.url}/calendar")
    expect(page.locator("#feed-url")).to_have_count(0)  # shown once only

    answer = requests.get(address, timeout=10)
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/calendar")
    events = {str(e["uid"]): e for e in icalendar.Calendar.from_ical(answer.content).walk("VEVENT")}
    pub = rows(console, sub)["gov_website"]
    event = events[f"pub-{pub.id}@sanshen"]
    assert str(event["summary"]) == f"{demo.demo_draft().title} · 政府网站"
    assert event.decoded("dtstart") == pub.scheduled_at
    assert f"/items/{sub}" in str(event["url"])
    tentative = events[f"plan-{planned}-wechat-{day + timedelta(days=1)}@sanshen"]
    assert str(tentative["status"]) == "TENTATIVE" and tentative.decoded(
        "dtstart"
    ) == day + timedelta(days=1)

    one_day = requests.get(address, params={"from": str(day), "to": str(day)}, timeout=10)
    uids = [str(e["uid"]) for e in icalendar.Calendar.from_ical(one_day.content).walk("VEVENT")]
    assert uids == [f"pub-{pub.id}@sanshen"]
    bad = requests.get(address, params={"from": "2026-13-01"}, timeout=10)
    assert bad.status_code == 422 and bad.json()["error"] == "bad_date"

    page.once("dialog", lambda d: d.accept())
    page.locator("#feed-list form button").first.click()
    expect(page.locator(".flash-ok")).to_contain_text("已停用")
    gone = requests.get(address, timeout=10)
    assert gone.status_code == 404 and gone.json()["error"] == "unknown_feed"


def test_the_api_returns_the_same_blocks(console: Console) -> None:
    day = shanghai_tomorrow()
    sub = console.signed_off(("gov_website", "wechat"), publish_date=day)
    session = requests.Session()
    with console.app.db.session() as db:
        token, _ = auth.create_token(db, "wuyun", "tests")
    headers = {"Authorization": f"Bearer {token}"}
    answer = session.get(
        f"{console.url}/api/v1/calendar",
        params={"from": day.isoformat(), "to": day.isoformat()},
        headers=headers,
        timeout=10,
    ).json()
    assert [(b["channel"], b["submission_id"], b["kind"]) for b in answer["blocks"]] == [
        ("gov_website", sub, "publication"),
        ("wechat", sub, "publication"),
    ]
    assert answer["days"] == [{"day": day.isoformat(), "working": answer["days"][0]["working"],
                               "note": answer["days"][0]["note"]}]  # fmt: skip
    wrong = session.get(
        f"{console.url}/api/v1/calendar",
        params={"from": day.isoformat(), "to": (day + timedelta(days=90)).isoformat()},
        headers=headers,
        timeout=10,
    )
    assert wrong.status_code == 422 and wrong.json()["error"] == "range_too_long"


def test_the_week_is_a_day_list_on_a_phone(console: Console, page: Page) -> None:
    day = shanghai_tomorrow()
    console.signed_off(("gov_website", "wechat"), publish_date=day)
    page.set_viewport_size(PHONE)
    sign_in(page, console.url, "wuyun", DEMO_PASSWORDS["wuyun"])
    page.goto(f"{console.url}/calendar?date={day.isoformat()}")
    expect(page.locator("#cal-week")).to_be_hidden()
    today_items = page.locator(f"#cal-days li[data-day='{day.isoformat()}'] .cal-block")
    expect(today_items).to_have_count(2)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def test_the_leader_is_told_once_that_a_request_waits_and_it_can_be_withdrawn(
    console: Console,
) -> None:
    day = a_day_with_a_next_in_its_week()
    sub = console.signed_off(("gov_website",), publish_date=day)
    pub = rows(console, sub)["gov_website"]
    app = console.app
    with app.db.session() as session:
        req = daterequests.request_change(
            session,
            pub.id,
            new_date=day + timedelta(days=1),
            at_time=None,
            actor="wuyun",
            kind=ChannelKind.OWN,
            policy=app.policy,
            comment="与开放日同日发布",
        )
        req_id = req.id
    with app.db.session() as session:
        told = [
            n for n in notifications.scan(session, app, now=utc_now()) if n.kind == "date_request"
        ]
        assert [(n.person.username, n.title) for n in told] == [
            ("sunxuan", f"待您签署改期：稿件 {sub}《{demo.demo_draft().title}》")
        ]
        assert told[0].link == f"/calendar?date={day + timedelta(days=1)}#requests"
        assert "吴运申请：与开放日同日发布" in told[0].body
    with app.db.session() as session:
        again = notifications.scan(session, app, now=utc_now())
        assert not [n for n in again if n.kind == "date_request"]
        with pytest.raises(SanshenError) as second:
            daterequests.request_change(
                session,
                pub.id,
                new_date=day + timedelta(days=2),
                at_time=None,
                actor="wuyun",
                kind=ChannelKind.OWN,
                policy=app.policy,
            )
        assert second.value.code == "request_pending"
    with app.db.session() as session:
        with pytest.raises(SanshenError) as stranger:
            daterequests.withdraw(session, req_id, actor="wangfang", kind=ChannelKind.OWN)
        assert stranger.value.code == "not_permitted"
    with app.db.session() as session:
        daterequests.withdraw(session, req_id, actor="wuyun", kind=ChannelKind.OWN)
    with app.db.read() as session:
        assert daterequests.waiting_requests(session) == []


def test_the_open_calendar_follows_the_database_and_keeps_an_open_menu(
    console: Console, page: Page
) -> None:
    day = shanghai_tomorrow()
    first = console.signed_off(("gov_website",), publish_date=day)
    pub = rows(console, first)["gov_website"]
    sign_in(page, console.url, "wuyun", DEMO_PASSWORDS["wuyun"])
    page.goto(f"{console.url}/calendar?date={day.isoformat()}")
    menu = page.locator(f"#menu-w-{pub.id}")
    menu.locator("summary").click()
    second = console.signed_off(("wechat",), publish_date=day)
    arrived = page.locator(f"#cal-week .cal-block[data-pub='{rows(console, second)['wechat'].id}']")
    expect(arrived).to_be_visible(timeout=15_000)  # polled every 5 s, no reload
    expect(menu).to_have_attribute("open", "")


def test_a_signed_amendment_made_elsewhere_answers_the_pending_request(console: Console) -> None:
    from orchestrator.services import amendments

    day = a_day_with_a_next_in_its_week()
    sub = console.signed_off(("gov_website", "suishenban"), publish_date=day)
    pubs = rows(console, sub)
    app = console.app

    def ask(pub_id: int, new_date: date) -> int:
        with app.db.session() as session:
            return daterequests.request_change(
                session,
                pub_id,
                new_date=new_date,
                at_time=None,
                actor="wuyun",
                kind=ChannelKind.OWN,
                policy=app.policy,
            ).id

    def amend(pub_id: int, new_date: date) -> int:
        with app.db.session() as session:
            return amendments.amend_date(
                session,
                pub_id,
                new_date=new_date,
                actor="sunxuan",
                password=DEMO_PASSWORDS["sunxuan"],
                policy=app.policy,
            ).amendment.id

    same = ask(pubs["gov_website"].id, day + timedelta(days=1))
    other = ask(pubs["suishenban"].id, day + timedelta(days=1))
    by_hand = amend(pubs["gov_website"].id, day + timedelta(days=1))  # what was asked
    elsewhere = amend(pubs["suishenban"].id, day + timedelta(days=2))  # another day
    with app.db.read() as session:
        answered = {r.id: r for r in session.scalars(select(DateChangeRequest))}
    assert (answered[same].state, answered[same].amendment_id) == ("signed", by_hand)
    assert (answered[other].state, answered[other].amendment_id) == ("withdrawn", elsewhere)
    assert answered[other].decision_note == "已由签署的改期取代"
