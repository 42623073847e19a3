"""The office's day, end to end: a manuscript written in Word goes in through the form, the
next reviewer is told on 企业微信 (the loopback simulator) with a link, and approves from a
phone (Chromium at 360 × 740): the link opens the review page after sign-in."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from pydantic import SecretStr
from sqlalchemy import func, select

from channels.simulators.wecom_app import WeComAppServer, WeComAppSimulator
from gate.model import ReviewStage
from orchestrator.app import App
from orchestrator.models import ReviewAction, Submission
from orchestrator.services import notifications, submissions
from tests.console.conftest import Console, sign_in
from tests.console.test_editor import GREEN, fill_rest, manuscript_docx
from tests.console.test_work_pages import PASSWORDS, approve

PHONE = {"width": 360, "height": 740}


@pytest.fixture
def wecom() -> Iterator[WeComAppServer]:
    with WeComAppServer(WeComAppSimulator()) as server:
        yield server


@pytest.fixture
def phone(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(
        viewport=PHONE, is_mobile=True, has_touch=True, locale="zh-CN", timezone_id="Asia/Shanghai"
    )
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()


def notifier(console: Console, wecom: WeComAppServer) -> App:
    """The scheduler's notification round, pointed at the simulator and this console."""
    s = wecom.client_settings()
    settings = console.app.settings.model_copy(
        update={
            "public_url": console.url,
            "wecom_corp_id": s["corp_id"],
            "wecom_secret": SecretStr(s["secret"]),
            "wecom_agent_id": s["agent_id"],
            "wecom_base_url": s["base_url"],
        }
    )
    return App(settings)


def cards(wecom: WeComAppServer, userid: str) -> list[dict[str, str]]:
    return [m["textcard"] for m in wecom.simulator.messages(userid)]  # type: ignore[misc]


def test_word_in_told_on_wecom_approved_on_a_phone(
    console: Console, page: Page, phone: Page, wecom: WeComAppServer, tmp_path: Path
) -> None:
    sign_in(page, console.url, "wangfang", PASSWORDS["wangfang"])
    page.goto(f"{console.url}/submissions/new")
    word = tmp_path / "延时服务通知.docx"
    word.write_bytes(manuscript_docx(GREEN))
    page.set_input_files("#docx-file", str(word))
    expect(page.locator("input[name=title]")).to_have_value("区政务服务中心周六延时服务的通知")
    fill_rest(page)
    page.click("form.subform button[type=submit]")
    expect(page.locator(".flash-ok")).to_contain_text("已提交，等待初审")
    with console.app.db.read() as session:
        sub_id = session.scalar(select(func.max(Submission.id)))
        assert sub_id is not None
        version = submissions.get(session, sub_id).current
        assert [i.filename for i in version.images] and "<table>" in version.body_html
    approve(console, sub_id, ReviewStage.FIRST, "wangfang")

    round_app = notifier(console, wecom)
    try:
        notifications.run_once(round_app)
        notifications.run_once(round_app)
    finally:
        round_app.db.dispose()
    (card,) = cards(wecom, "LiJun")
    assert card["title"] == f"待您复审：稿件 {sub_id}《区政务服务中心周六延时服务的通知》"
    assert card["url"] == f"{console.url}/submissions/{sub_id}/review"
    assert not cards(wecom, "WangFang") and not cards(wecom, "ZhaoMin")

    # 李军 taps the card on his phone: sign-in first, then the review page itself.
    phone.goto(card["url"])
    expect(phone.locator("input[name=username]")).to_be_visible()
    phone.fill("input[name=username]", "lijun")
    phone.fill("input[name=password]", PASSWORDS["lijun"])
    phone.click("button[type=submit]")
    expect(phone).to_have_url(card["url"])
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    phone.check("input[name=decision][value=approve]")
    phone.fill("textarea[name=comment]", "同意")
    phone.fill("input[name=password]", PASSWORDS["lijun"])
    button = phone.locator("form button[type=submit]", has_text="确认复审")
    button.scroll_into_view_if_needed()
    box = button.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    button.tap()
    expect(phone.locator(".flash-ok")).to_be_visible()
    with console.app.db.read() as session:
        last = session.scalars(
            select(ReviewAction)
            .where(ReviewAction.submission_id == sub_id)
            .order_by(ReviewAction.id.desc())
        ).first()
        assert last is not None
        assert (last.stage, last.decision, last.actor.username) == ("second", "approve", "lijun")

    # The board shows what waits in review, and at which stage.
    phone.goto(f"{console.url}/board")
    waiting = phone.locator(f"#review-waits li[data-submission='{sub_id}']")
    expect(waiting).to_contain_text("待终审")
    expect(waiting).to_contain_text("已等")

    round_app = notifier(console, wecom)
    try:
        notifications.run_once(round_app)
    finally:
        round_app.db.dispose()
    assert [c["title"] for c in cards(wecom, "ZhaoMin")] == [
        f"待您终审：稿件 {sub_id}《区政务服务中心周六延时服务的通知》"
    ]
    assert len(cards(wecom, "LiJun")) == 1


def test_a_person_chooses_how_they_are_told(console: Console, page: Page) -> None:
    sign_in(page, console.url, "lijun", PASSWORDS["lijun"])
    page.goto(f"{console.url}/me/notify")
    expect(page.locator("#wecom_userid")).to_have_value("LiJun")
    page.fill("#email", "lijun@localhost")  # the browser takes it; the server asks for a domain
    page.click("#notify-save")
    expect(page.locator("#notify-error")).to_contain_text("邮箱“lijun@localhost”格式不对")
    page.fill("#email", "lijun@example.gov.cn")
    page.uncheck("input[name=via][value=wecom]")
    page.check("input[name=digest]")
    page.click("#notify-save")
    expect(page.locator(".flash-ok")).to_contain_text("通知设置已保存")
    with console.app.db.read() as session:
        from orchestrator.services.org import person_by_username

        person = person_by_username(session, "lijun")
        assert (person.email, person.notify_via, person.notify_digest) == (
            "lijun@example.gov.cn",
            "email",
            True,
        )
