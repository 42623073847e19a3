"""The pages where people do their work, in a real browser: a new submission with its images,
a reviewer signing their stage with their password, what a person without the stage's role
sees (nothing) and may do (nothing), a returned manuscript revised, and 综合科's upward queue."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from importlib.resources import files
from pathlib import Path

from playwright.sync_api import Page, expect
from sqlalchemy import func, select

from gate.model import Decision, ReviewStage
from orchestrator import demo
from orchestrator.models import Publication, ReviewAction, Submission
from orchestrator.services import review, submissions
from orchestrator.services.dispatch import move
from orchestrator.states import State
from tests.clock import shanghai_tomorrow
from tests.console.conftest import Console, sign_in, start_api

PASSWORDS = {
    "wangfang": "demo-pass-1",
    "lijun": "demo-pass-2",
    "zhaomin": "demo-pass-3",
    "sunxuan": "demo-pass-5",
    "zhouzh": "demo-pass-6",
    "wuyun": "demo-pass-7",
}
COVER = files("orchestrator").joinpath("data/demo-cover.jpg").read_bytes()


def approve(console: Console, sub_id: int, stage: ReviewStage, who: str) -> None:
    with console.app.db.session() as session:
        review.review(
            session,
            sub_id,
            stage=stage,
            decision=Decision.APPROVE,
            actor=who,
            password=PASSWORDS[who],
            policy=console.app.policy,
        )


def waiting_for_second_review(console: Console) -> int:
    """A demo submission whose 初审 its author has signed: 复审 (李军, 科室负责人) is next."""
    with console.app.db.session() as session:
        sub = submissions.create(
            session,
            console.app.blobs,
            author="wangfang",
            department="sjgl",
            draft=demo.demo_draft(("gov_website",), major_event=False),
        )
        sub_id = sub.id
    approve(console, sub_id, ReviewStage.FIRST, "wangfang")
    return sub_id


def actions(console: Console, sub_id: int) -> list[tuple[str, str, str]]:
    with console.app.db.read() as session:
        rows = session.scalars(
            select(ReviewAction)
            .where(ReviewAction.submission_id == sub_id)
            .order_by(ReviewAction.id)
        )
        return [(a.stage, a.decision, a.actor.username) for a in rows]


def count_submissions(console: Console) -> int:
    with console.app.db.read() as session:
        return int(session.scalar(select(func.count()).select_from(Submission)) or 0)


def csrf(page: Page) -> str:
    return page.locator('meta[name="csrf-token"]').get_attribute("content") or ""


def fill_new_submission(page: Page, tmp_path: Path, image: bytes, title: str) -> None:
    (tmp_path / "photo.png").write_bytes(image)
    (tmp_path / "cover.jpg").write_bytes(COVER)
    page.fill("input[name=title]", title)
    page.fill(
        "textarea[name=body]",
        '<p>区政务服务中心周六上午延时服务。</p><p><img src="photo.png" alt="大厅"></p>',
    )
    page.fill("input[name=digest]", "周六上午延时服务")
    page.fill("input[name=byline]", "数据管理发展科")
    page.set_input_files("input[name=images]", str(tmp_path / "photo.png"))
    page.set_input_files("input[name=cover]", str(tmp_path / "cover.jpg"))
    rows = page.locator("select[name=channel]")
    rows.nth(0).select_option("gov_website")
    rows.nth(1).select_option("wechat")
    page.locator("input[name=publish_date]").nth(1).fill(
        page.locator("input[name=publish_date]").nth(0).input_value()
    )
    page.locator("input[name=remark]").nth(1).fill("头条")


def test_a_new_submission_with_an_image_goes_to_first_review(
    console: Console, page: Page, tmp_path: Path
) -> None:
    sign_in(page, console.url, "wangfang", PASSWORDS["wangfang"])
    page.goto(f"{console.url}/submissions/new")
    fill_new_submission(page, tmp_path, demo.tiny_png(), "周末延时服务上线")
    page.click("form.subform button[type=submit]")

    expect(page).to_have_url(f"{console.url}/todo")
    expect(page.locator(".flash-ok")).to_contain_text("已提交，等待初审")
    row = page.locator("#waiting tr", has_text="周末延时服务上线")
    expect(row).to_contain_text("初审")
    sub_id = int(row.get_attribute("data-submission") or 0)

    with console.app.db.read() as session:
        version = submissions.get(session, sub_id).current
        image, cover = version.images[0].sha256, version.cover_sha256
        assert [i.filename for i in version.images] == ["photo.png"]
        assert f'src="sanshen-image:{image}"' in version.body_html
        assert [(c.channel, c.remark) for c in version.channels] == [
            ("gov_website", ""),
            ("wechat", "头条"),
        ]
        assert cover is not None
    shown = page.request.get(f"{console.url}/submissions/{sub_id}/images/{image}")
    assert shown.status == 200 and shown.body() == demo.tiny_png()
    assert shown.headers["content-type"] == "image/png"


def test_bad_input_is_refused_whole_and_what_was_typed_stays(
    console: Console, page: Page, tmp_path: Path
) -> None:
    sign_in(page, console.url, "wangfang", PASSWORDS["wangfang"])
    page.goto(f"{console.url}/submissions/new")
    fill_new_submission(page, tmp_path, b"not an image at all", "图片有误的稿件")
    with page.expect_response(f"{console.url}/submissions/new") as answer:
        page.click("form.subform button[type=submit]")

    assert answer.value.status == 422
    expect(page.locator("#form-error")).to_contain_text("“photo.png”不是可发布的图片")
    expect(page.locator("input[name=title]")).to_have_value("图片有误的稿件")
    expect(page.locator("textarea[name=body]")).to_contain_text('<img src="photo.png"')
    expect(page.locator("select[name=channel]").nth(1)).to_have_value("wechat")
    expect(page.locator("input[name=remark]").nth(1)).to_have_value("头条")
    assert count_submissions(console) == 0


def test_a_reviewer_signs_their_stage_with_their_password(console: Console, page: Page) -> None:
    sub_id = waiting_for_second_review(console)
    sign_in(page, console.url, "lijun", PASSWORDS["lijun"])
    page.goto(f"{console.url}/todo")
    row = page.locator(f'#waiting tr[data-submission="{sub_id}"]')
    expect(row).to_contain_text("复审")
    row.get_by_role("link", name="审核").click()
    expect(page.locator("#decide h2")).to_have_text("复审")
    expect(page.locator("#aids")).to_be_visible()

    page.fill("textarea[name=comment]", "事实准确，同意")
    page.fill("input[name=password]", "not-my-password")
    page.click("#decide button[type=submit]")
    expect(page.locator("#review-error")).to_contain_text("密码错误")
    expect(page.locator("textarea[name=comment]")).to_have_value("事实准确，同意")
    assert actions(console, sub_id) == [("first", "approve", "wangfang")]

    page.fill("input[name=password]", PASSWORDS["lijun"])
    page.click("#decide button[type=submit]")
    expect(page).to_have_url(f"{console.url}/todo")
    expect(page.locator(".flash-ok")).to_contain_text("已记录复审通过，下一步：终审")
    expect(page.locator(f'#waiting tr[data-submission="{sub_id}"]')).to_have_count(0)
    assert actions(console, sub_id)[-1] == ("second", "approve", "lijun")


def test_the_review_page_works_under_the_content_security_policy(
    console: Console, page: Page
) -> None:
    """Styles, the preview frame and its images load with scripts and styles from /static
    only; the page fixture fails the test on any CSP violation the browser reports."""
    sub_id = waiting_for_second_review(console)
    sign_in(page, console.url, "lijun", PASSWORDS["lijun"])
    reply = page.goto(f"{console.url}/submissions/{sub_id}/review")
    assert reply is not None and "script-src 'self'" in reply.headers["content-security-policy"]
    assert page.locator(".reviewform").evaluate("f => getComputedStyle(f).display") == "flex"
    image = page.frame_locator("iframe.preview").locator("img").first
    expect(image).to_be_visible()
    assert image.evaluate("img => img.complete && img.naturalWidth > 0")


def test_without_the_stage_role_it_is_not_in_todo_and_a_forged_post_is_refused(
    console: Console, page: Page
) -> None:
    sub_id = waiting_for_second_review(console)
    sign_in(page, console.url, "zhouzh", PASSWORDS["zhouzh"])  # 综合科, not a section head
    page.goto(f"{console.url}/todo")
    expect(page.locator("#waiting-empty")).to_be_visible()
    expect(page.locator(f'tr[data-submission="{sub_id}"]')).to_have_count(0)
    page.goto(f"{console.url}/submissions/{sub_id}/review")
    expect(page.locator("#not-yours")).to_contain_text("当前等待复审")
    expect(page.locator("#decide form")).to_have_count(0)

    form: dict[str, str | float | bool] = {
        "stage": "second",
        "decision": "approve",
        "password": PASSWORDS["zhouzh"],
    }
    forged = page.request.post(
        f"{console.url}/submissions/{sub_id}/review", form=form | {"csrf_token": csrf(page)}
    )
    assert forged.status == 403
    assert "不具有复审所需的角色" in forged.text()
    no_token = page.request.post(f"{console.url}/submissions/{sub_id}/review", form=form)
    assert no_token.status == 403
    assert actions(console, sub_id) == [("first", "approve", "wangfang")]


def test_a_returned_submission_is_revised_into_a_new_version(console: Console, page: Page) -> None:
    sub_id = waiting_for_second_review(console)
    sign_in(page, console.url, "lijun", PASSWORDS["lijun"])
    page.goto(f"{console.url}/submissions/{sub_id}/review")
    page.check("input[name=decision][value=return]")
    page.fill("input[name=password]", PASSWORDS["lijun"])
    page.click("#decide button[type=submit]")
    expect(page.locator("#review-error")).to_contain_text("退回时请填写审核意见")
    page.fill("textarea[name=comment]", "标题请写明服务时间")
    page.fill("input[name=password]", PASSWORDS["lijun"])
    page.click("#decide button[type=submit]")
    expect(page.locator(".flash-ok")).to_contain_text("已记录复审退回")

    page.context.clear_cookies()
    sign_in(page, console.url, "wangfang", PASSWORDS["wangfang"])
    page.goto(f"{console.url}/todo")
    returned = page.locator(f'#returned tr[data-submission="{sub_id}"]')
    expect(returned).to_contain_text("标题请写明服务时间")
    returned.get_by_role("link", name="修改后重新提交").click()
    expect(page.locator("h1")).to_contain_text("生成第 2 版")
    expect(page.locator("textarea[name=body]")).to_contain_text('<img src="photo.png"')
    page.fill("input[name=title]", "周六上午9时至12时延时服务")
    page.click("form.subform button[type=submit]")

    expect(page.locator(".flash-ok")).to_contain_text("已生成第 2 版")
    expect(page.locator(f'#waiting tr[data-submission="{sub_id}"]')).to_contain_text("初审")
    with console.app.db.read() as session:
        sub = submissions.get(session, sub_id)
        assert [v.title for v in sub.versions][-1] == "周六上午9时至12时延时服务"
        old, new = sub.versions
        assert [i.sha256 for i in new.images] == [i.sha256 for i in old.images]
        assert new.cover_sha256 == old.cover_sha256


def reported(console: Console, sub_id: int, channel: str) -> int:
    """Move the upward row the way a worker does once the platform has filed it."""
    now = datetime.now(UTC)
    with console.app.db.session() as session:
        pub = session.scalar(
            select(Publication).where(
                Publication.submission_id == sub_id, Publication.channel == channel
            )
        )
        assert pub is not None
        for source, target in (
            (State.SCHEDULED, State.QUEUED),
            (State.QUEUED, State.SENDING),
            (State.SENDING, State.SUBMITTED),
        ):
            assert move(session, pub.id, (source,), target, now=now, sent_at=now)
        return pub.id


def test_upward_queue_records_adoption_and_drafts_a_repost_with_its_source(
    console: Console, page: Page
) -> None:
    sub_id = console.signed_off(("xuexi", "gov_website"))
    pub_id = reported(console, sub_id, "xuexi")

    sign_in(page, console.url, "wuyun", PASSWORDS["wuyun"])  # 政府网站运行科: sees, no actions
    page.goto(f"{console.url}/upward")
    expect(page.locator(f'tr[data-publication="{pub_id}"]')).to_contain_text("已报送")
    expect(page.locator("#upward-queue form")).to_have_count(0)
    refused = page.request.post(
        f"{console.url}/upward/{pub_id}/confirm",
        form={"csrf_token": csrf(page), "url": "https://www.xuexi.cn/x.html"},
    )
    assert refused.status == 403

    page.context.clear_cookies()
    sign_in(page, console.url, "zhouzh", PASSWORDS["zhouzh"])
    page.goto(f"{console.url}/upward")
    page.on("dialog", lambda dialog: dialog.accept())
    row = page.locator(f'tr[data-publication="{pub_id}"]')
    adopted = "https://www.xuexi.cn/article/qingpu-001.html"
    row.locator("input[name=url]").fill(adopted)
    row.get_by_role("button", name="登记采用").click()
    expect(page.locator(".flash-ok")).to_contain_text("已登记为上级平台采用")
    expect(row.locator(".upward-status")).to_contain_text("已采用")
    expect(row.get_by_role("link", name=adopted)).to_be_visible()

    # SANSHEN_AUTO_REPOST (on by default) drafts the repost when the adoption is recorded.
    expect(row).to_contain_text("已转载")
    expect(row.get_by_role("button", name="生成转载稿")).to_have_count(0)
    source = page.locator("#reposts .source")
    expect(source).to_contain_text("来源：学习强国")
    expect(source).to_contain_text(adopted)
    with console.app.db.read() as session:
        repost = session.scalar(select(Submission).where(Submission.repost_of_id == pub_id))
        assert repost is not None
        assert repost.current.repost_platform == "学习强国"
        assert repost.current.repost_url == adopted


def test_with_automatic_reposts_off_general_office_drafts_the_repost(
    console: Console, page: Page
) -> None:
    console.procs.stop("api")
    console.procs.env["SANSHEN_AUTO_REPOST"] = "false"
    url = start_api(console.procs)
    sub_id = console.signed_off(("lvse_qingpu",))
    pub_id = reported(console, sub_id, "lvse_qingpu")
    adopted = "https://www.lvseqingpu.sh.cn/news/qp-002.html"

    sign_in(page, url, "zhouzh", PASSWORDS["zhouzh"])
    page.goto(f"{url}/upward")
    page.on("dialog", lambda dialog: dialog.accept())
    row = page.locator(f'tr[data-publication="{pub_id}"]')
    row.locator("input[name=url]").fill(adopted)
    row.get_by_role("button", name="登记采用").click()
    expect(row.locator(".upward-status")).to_contain_text("已采用")
    expect(page.locator("#reposts")).to_have_count(0)
    row.get_by_role("button", name="生成转载稿").click()

    expect(page.locator(".flash-ok")).to_contain_text("已生成转载稿")
    expect(row).to_contain_text("已转载")
    expect(row.get_by_role("button", name="生成转载稿")).to_have_count(0)
    expect(page.locator("#reposts .source")).to_contain_text(f"来源：绿色青浦，{adopted}")


def test_general_office_makes_the_repost_cite_the_other_adoption(
    console: Console, page: Page
) -> None:
    sub_id = console.signed_off(("xuexi", "lvse_qingpu", "gov_website"))
    first = reported(console, sub_id, "xuexi")
    second = reported(console, sub_id, "lvse_qingpu")
    sign_in(page, console.url, "zhouzh", PASSWORDS["zhouzh"])
    page.goto(f"{console.url}/upward")
    page.on("dialog", lambda dialog: dialog.accept())
    for pub_id, url in (
        (first, "https://www.xuexi.cn/article/qingpu-010.html"),
        (second, "https://www.lvseqingpu.sh.cn/news/qp-010.html"),
    ):
        row = page.locator(f'tr[data-publication="{pub_id}"]')
        row.locator("input[name=url]").fill(url)
        row.get_by_role("button", name="登记采用").click()
        expect(row.locator(".upward-status")).to_contain_text("已采用")
    green = page.locator(f'tr[data-publication="{second}"]')
    expect(green).to_contain_text("本次只登记")
    expect(page.locator(f'tr[data-publication="{first}"] .cite-form')).to_have_count(0)

    green.get_by_role("button", name="改为引用此来源").click()
    expect(page.locator(".flash-ok")).to_contain_text("已改为引用绿色青浦的采用，须重新签发")
    expect(green).to_contain_text("已转载")
    expect(page.locator(f'tr[data-publication="{first}"]')).to_contain_text("本次只登记")
    expect(page.locator("#reposts .source")).to_contain_text("来源：绿色青浦")
    with console.app.db.read() as session:
        repost = session.scalar(select(Submission).where(Submission.repost_origin_id == sub_id))
        assert repost is not None and repost.repost_of_id == second
        assert [v.repost_platform for v in repost.versions] == ["学习强国", "绿色青浦"]


def test_the_general_office_decides_the_use_on_the_review_page(
    console: Console, page: Page
) -> None:
    """稿件用途 in the browser: 周综 finds the item in 我的待办 after 终审, unticks 学习强国 and
    moves 政府网站 a day; the decided rows are version 2 and only 签发 is left."""
    with console.app.db.session() as session:
        sub_id = submissions.create(
            session,
            console.app.blobs,
            author="wangfang",
            department="sjgl",
            draft=demo.demo_draft(
                ("gov_website", "xuexi"), publish_date=shanghai_tomorrow(), major_event=False
            ),
        ).id
    for stage, who in (
        (ReviewStage.FIRST, "wangfang"),
        (ReviewStage.SECOND, "lijun"),
        (ReviewStage.FINAL, "zhaomin"),
    ):
        approve(console, sub_id, stage, who)

    sign_in(page, console.url, "zhouzh", PASSWORDS["zhouzh"])
    page.goto(f"{console.url}/upward")  # 对上报送 lists what waits for its 稿件用途 too
    queued = page.locator(f'#usage-queue tr[data-submission="{sub_id}"]')
    expect(queued).to_contain_text("学习强国")
    expect(queued.get_by_role("link", name="决定用途")).to_have_attribute(
        "href", f"/submissions/{sub_id}/review"
    )
    page.goto(f"{console.url}/todo")
    row = page.locator(f'#waiting tr[data-submission="{sub_id}"]')
    expect(row).to_contain_text("稿件用途")
    row.get_by_role("link", name="审核").click()
    expect(page.locator("#decide h2")).to_have_text("稿件用途")
    expect(page.locator('#usage tr[data-channel="xuexi"] input[name=use]')).to_be_checked()
    expect(page.locator('#usage tr[data-channel="wechat"] input[name=use]')).not_to_be_checked()
    expect(page.locator("#decide input[value=reject]")).to_have_count(0)  # 驳回 is not 综合科's

    page.locator('#usage tr[data-channel="xuexi"] input[name=use]').uncheck()
    later = shanghai_tomorrow() + timedelta(days=1)
    page.fill('#usage input[name="date-gov_website"]', later.isoformat())
    page.fill('#usage input[name="remark-gov_website"]', "综合科：本单位发布")
    page.fill("input[name=password]", "not-my-password")
    page.click("#decide button[type=submit]")
    expect(page.locator("#review-error")).to_contain_text("密码错误")
    # refused whole: nothing written, and what was typed is shown again as typed
    assert actions(console, sub_id)[-1][0] == "final"
    expect(page.locator('#usage tr[data-channel="xuexi"] input[name=use]')).not_to_be_checked()
    expect(page.locator('#usage input[name="date-gov_website"]')).to_have_value(later.isoformat())
    expect(page.locator('#usage input[name="remark-gov_website"]')).to_have_value(
        "综合科：本单位发布"
    )
    page.fill("input[name=password]", PASSWORDS["zhouzh"])
    page.click("#decide button[type=submit]")
    expect(page.locator(".flash-ok")).to_contain_text("已记录稿件用途通过，下一步：签发")
    with console.app.db.read() as session:
        sub = submissions.get(session, sub_id)
        assert [v.number for v in sub.versions] == [1, 2]
        rows = [(c.channel, c.publish_date, c.remark) for c in sub.current.channels]
        assert rows == [("gov_website", later, "综合科：本单位发布")]
        assert sub.current.reviewed_version_id == sub.versions[0].id
    assert actions(console, sub_id)[-1] == ("usage", "approve", "zhouzh")
