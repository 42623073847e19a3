"""One item's page: the signed review timeline, version changes, and buttons only for people
whose role covers the channel and only in states that allow the action; forms need CSRF."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from playwright.sync_api import Page, expect
from sqlalchemy import select

from orchestrator.models import Publication
from orchestrator.services import submissions
from orchestrator.services.dispatch import move
from orchestrator.states import State
from orchestrator.web.auth import CSRF_HEADER
from tests.clock import shanghai_tomorrow
from tests.console.conftest import DEMO_PASSWORDS, Console, sign_in


def publications(console: Console, sub: int) -> dict[str, Publication]:
    with console.app.db.read() as session:
        rows = session.scalars(select(Publication).where(Publication.submission_id == sub))
        return {p.channel: p for p in rows}


def fail(console: Console, pub_id: int) -> None:
    """Move a row the way a worker does when the platform refuses it."""
    now = datetime.now(UTC)
    with console.app.db.session() as session:
        assert move(session, pub_id, (State.SCHEDULED,), State.QUEUED, now=now)
        assert move(
            session, pub_id, (State.QUEUED,), State.FAILED, now=now, last_error="内容被拒绝"
        )


def buttons(page: Page, pub_id: int) -> list[str]:
    return page.locator(f"#pub-{pub_id} .actions button").all_inner_texts()


def test_buttons_follow_the_role_for_the_channel_and_the_state(
    console: Console, page: Page
) -> None:
    sub = console.signed_off(("gov_website", "wechat"))
    reported = console.signed_off(("xuexi", "suishenban"))  # upward first: 随申办 waits
    pubs, report = publications(console, sub), publications(console, reported)
    own, waiting = pubs["gov_website"].id, pubs["wechat"].id
    upward, held = report["xuexi"].id, report["suishenban"].id
    fail(console, own)
    fail(console, upward)

    sign_in(page, console.url, "wuyun", DEMO_PASSWORDS["wuyun"])  # 政府网站运行科: own platforms
    page.goto(f"{console.url}/items/{sub}")
    assert buttons(page, own) == ["重发"]
    assert buttons(page, waiting) == ["当天改时", "立即发布", "取消发布"]
    page.goto(f"{console.url}/items/{reported}")
    assert buttons(page, upward) == []  # upward reports are 综合科's
    assert buttons(page, held) == []  # and so is what waits for their adoption
    expect(page.locator(f"#pub-{held} .state")).to_have_text("待上级采用")

    page.context.clear_cookies()
    sign_in(page, console.url, "zhouzh", DEMO_PASSWORDS["zhouzh"])  # 综合科: upward reports
    page.goto(f"{console.url}/items/{sub}")
    assert buttons(page, own) == []
    assert buttons(page, waiting) == []
    page.goto(f"{console.url}/items/{reported}")
    assert buttons(page, upward) == ["重发"]
    assert buttons(page, held) == ["放行（本单位发布）", "撤下"]
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator(f"#pub-{held} button[name=release]").click()
    expect(page.locator(".flash-ok")).to_contain_text("随申办旗舰店：已放行")
    expect(page.locator(f"#pub-{held} .state")).to_have_text("待发布")

    page.context.clear_cookies()
    sign_in(page, console.url, "wangfang", DEMO_PASSWORDS["wangfang"])  # the contributor
    page.goto(f"{console.url}/items/{sub}")
    expect(page.locator(f"#pub-{own} .state")).to_have_text("失败")
    expect(page.locator(".publication .actions")).to_have_count(0)
    expect(page.locator(f"#pub-{own}")).to_contain_text("内容被拒绝")


def test_review_timeline_shows_each_signature_checked_and_what_a_version_changed(
    console: Console, page: Page
) -> None:
    sub = console.signed_off(("gov_website",))
    with console.app.db.session() as session:
        current = submissions.get(session, sub).current
        rows = [submissions.ChannelRequest("gov_website", current.channels[0].publish_date)]
        draft = submissions.draft_of(console.app.blobs, current, rows, None)
        draft.title = "青浦区政务服务“一网通办”再添两项新功能"
        draft.body_html = draft.body_html.replace("新功能", "两项新功能")
        submissions.revise(session, console.app.blobs, sub, editor="wangfang", draft=draft)
    sign_in(page, console.url, "zhengop", DEMO_PASSWORDS["zhengop"])
    page.goto(f"{console.url}/items/{sub}")
    timeline = page.locator(".timeline li")
    expect(timeline).to_have_count(6)  # with 稿件用途
    expect(page.locator(".timeline .sig-ok")).to_have_count(6)
    expect(timeline.first).to_contain_text("王芳（初审）")
    expect(timeline.last).to_contain_text("孙宣（签发）")
    changed = page.locator("#version-2")
    expect(changed).to_contain_text("与上一版相比修改了：标题、正文")
    expect(changed.locator("table.diff .diff_add, table.diff .diff_chg").first).to_be_visible()
    expect(page.locator("text=审批表 PDF")).to_have_attribute(
        "href", f"/api/v1/submissions/{sub}/form.pdf"
    )


def test_a_form_post_without_the_csrf_token_is_refused(console: Console, page: Page) -> None:
    sub = console.signed_off(("gov_website",))
    pub = publications(console, sub)["gov_website"].id
    sign_in(page, console.url, "wuyun", DEMO_PASSWORDS["wuyun"])
    action = f"{console.url}/items/{sub}/publications/{pub}/cancel"
    # the browser's own cookie rides along, as it would on a forged cross-site form
    refused = page.request.post(action, form={"reason": "伪造"}, max_redirects=0)
    assert refused.status == 403
    assert refused.json()["error"] == "csrf_failed"
    wrong = page.request.post(action, headers={CSRF_HEADER: "forged"}, max_redirects=0)
    assert wrong.status == 403
    assert publications(console, sub)["gov_website"].state == "scheduled"

    page.goto(f"{console.url}/items/{sub}")
    page.fill(f"#pub-{pub} input[name=reason]", "改为下周发布")
    page.once("dialog", lambda dialog: dialog.accept())  # 确定取消这条发布？
    page.click(f"#pub-{pub} button[name=cancel]")
    expect(page.locator(".flash-ok")).to_have_text("政府网站：已取消发布")
    expect(page.locator(f"#pub-{pub} .state")).to_have_text("已取消")
    assert publications(console, sub)["gov_website"].note == "改为下周发布"


def test_a_refusal_is_shown_in_chinese(console: Console, page: Page) -> None:
    sub = console.signed_off(("gov_website",))
    pub = publications(console, sub)["gov_website"].id
    sign_in(page, console.url, "wuyun", DEMO_PASSWORDS["wuyun"])
    page.goto(f"{console.url}/items/{sub}")
    fail(console, pub)  # the page still offers 改期, the row has moved on
    page.click(f"#pub-{pub} button[name=reschedule]")
    expect(page.locator(".flash-error")).to_have_text(
        f"政府网站：发布 {pub} 当前为“失败”，不能改期"
    )


def test_an_unknown_item_is_a_page_saying_so(console: Console, page: Page) -> None:
    sign_in(page, console.url, "zhengop", DEMO_PASSWORDS["zhengop"])
    response = page.goto(f"{console.url}/items/999")
    assert response is not None and response.status == 404
    expect(page.locator("main")).to_contain_text("稿件 999 不存在")


def test_general_office_confirms_an_adopted_upward_report_by_hand(
    console: Console, page: Page
) -> None:
    sub = console.signed_off(("xuexi",))
    pub = publications(console, sub)["xuexi"].id
    now = datetime.now(UTC)
    with console.app.db.session() as session:  # sent, waiting for 学习强国's adoption
        for source, target in (
            (State.SCHEDULED, State.QUEUED),
            (State.QUEUED, State.SENDING),
            (State.SENDING, State.SUBMITTED),
        ):
            assert move(session, pub, (source,), target, now=now)
    sign_in(page, console.url, "zhouzh", DEMO_PASSWORDS["zhouzh"])
    page.goto(f"{console.url}/items/{sub}")
    assert buttons(page, pub) == ["人工确认"]
    adopted = "https://www.xuexi.cn/lgpage/detail/index.html?id=42"
    page.fill(f"#pub-{pub} input[name=url]", adopted)
    page.click(f"#pub-{pub} button[name=confirm]")
    expect(page.locator(".flash-ok")).to_have_text("学习强国：已人工确认发布")
    expect(page.locator(f"#pub-{pub} .state")).to_have_text("已发布")
    expect(page.locator(f"#pub-{pub} a[href='{adopted}']")).to_be_visible()


def test_moving_to_another_day_is_the_publicity_leaders_signed_amendment(
    console: Console, page: Page
) -> None:
    tomorrow = shanghai_tomorrow()
    sub = console.signed_off(("gov_website",), publish_date=tomorrow)
    pub = publications(console, sub)["gov_website"].id
    sign_in(page, console.url, "wuyun", DEMO_PASSWORDS["wuyun"])
    page.goto(f"{console.url}/items/{sub}")
    expect(page.locator(f"#pub-{pub}")).to_contain_text(f"审批表发布日期：{tomorrow.isoformat()}")
    page.click(f"#pub-{pub} button[name=now]")  # a day early: not 政府网站运行科's to decide
    expect(page.locator(".flash-error")).to_contain_text("须由宣传分管领导签署改期")
    expect(page.locator(f"#pub-{pub} button[name=amend]")).to_have_count(0)

    page.context.clear_cookies()
    sign_in(page, console.url, "sunxuan", DEMO_PASSWORDS["sunxuan"])
    page.goto(f"{console.url}/items/{sub}")
    later = tomorrow + timedelta(days=2)
    page.fill(f"#pub-{pub} input[name=new_date]", later.isoformat())
    page.fill(f"#pub-{pub} input[name=at]", "10:30")
    page.fill(f"#pub-{pub} form.amend input[name=reason]", "活动延期")
    page.fill(f"#pub-{pub} input[name=password]", DEMO_PASSWORDS["sunxuan"])
    page.click(f"#pub-{pub} button[name=amend]")
    expect(page.locator(".flash-ok")).to_contain_text(f"已签署改期，改至 {later.isoformat()} 10:30")
    expect(page.locator(f"#pub-{pub}")).to_contain_text(
        f"审批表发布日期：{later.isoformat()}（孙宣 "
    )
