"""Signing in and out in a real browser: the Chinese refusals, lock-out, where one lands."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from orchestrator.web import auth
from orchestrator.web.pages import local_path
from tests.console.conftest import DEMO_PASSWORDS, Console, sign_in


def test_sign_in_lands_on_the_board_and_sign_out_ends_the_session(
    console: Console, page: Page
) -> None:
    page.goto(f"{console.url}/board")
    assert page.url.startswith(f"{console.url}/login")  # not signed in yet
    sign_in(page, console.url, "wuyun", DEMO_PASSWORDS["wuyun"])
    assert page.url == f"{console.url}/board"  # 政府网站运行科 reviews nothing: the board
    expect(page.locator(".who .me")).to_have_text("吴运")
    cookie = next(c for c in page.context.cookies() if c["name"] == auth.SESSION_COOKIE)
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    page.click("text=退出")
    page.wait_for_url(f"{console.url}/login")
    page.goto(f"{console.url}/board")
    assert page.url.startswith(f"{console.url}/login")


def test_reviewers_start_at_their_to_do_list(console: Console, page: Page) -> None:
    page.route("**/todo", lambda route: route.fulfill(body="todo"))  # another page's business
    sign_in(page, console.url, "wangfang", DEMO_PASSWORDS["wangfang"])  # 供稿人 does 初审
    assert page.url == f"{console.url}/todo"


def test_wrong_password_and_lock_out_are_told_in_chinese(console: Console, page: Page) -> None:
    sign_in(page, console.url, "wuyun", "not-the-password")
    expect(page.locator("#login-error")).to_have_text("用户名或密码不正确")
    expect(page.locator("input[name=username]")).to_have_value("wuyun")
    sign_in(page, console.url, "nobody", "whatever")
    expect(page.locator("#login-error")).to_have_text("用户名或密码不正确")  # nobody is revealed
    for _ in range(console.app.settings.login_max_failures - 1):
        sign_in(page, console.url, "wuyun", "not-the-password")
    sign_in(page, console.url, "wuyun", DEMO_PASSWORDS["wuyun"])  # right, but too late
    expect(page.locator("#login-error")).to_contain_text("账户已锁定")
    assert "/login" in page.url


def test_after_sign_in_only_a_local_next_is_followed(console: Console, page: Page) -> None:
    sub = console.signed_off(("gov_website",))
    page.goto(f"{console.url}/items/{sub}")
    assert page.url == f"{console.url}/login?next=/items/{sub}"
    page.fill("input[name=username]", "zhengop")
    page.fill("input[name=password]", DEMO_PASSWORDS["zhengop"])
    page.click("button[type=submit]")
    page.wait_for_url(f"{console.url}/items/{sub}")
    expect(page.locator("h1")).to_contain_text(f"稿件 {sub}")
    page.context.clear_cookies()
    sign_in(page, console.url, "zhengop", DEMO_PASSWORDS["zhengop"], next_path="//example.org/x")
    assert page.url == f"{console.url}/board"


@pytest.mark.parametrize(
    ("target", "followed"),
    [
        ("/items/7", "/items/7"),
        ("/board?state=failed", "/board?state=failed"),
        ("//example.org/x", None),
        ("/\\example.org", None),
        ("/\t/example.org", None),
        ("https://example.org/", None),
        ("items/7", None),
        ("", None),
    ],
)
def test_only_local_paths_are_followed(target: str, followed: str | None) -> None:
    assert local_path(target) == followed


def test_a_link_with_a_query_comes_back_with_it(console: Console, page: Page) -> None:
    """A filtered board sent by a colleague opens filtered after sign-in."""
    page.goto(f"{console.url}/board?state=failed&channel=wechat")
    assert page.url == f"{console.url}/login?next=/board%3Fstate%3Dfailed%26channel%3Dwechat"
    page.fill("input[name=username]", "zhengop")
    page.fill("input[name=password]", DEMO_PASSWORDS["zhengop"])
    page.click("button[type=submit]")
    page.wait_for_url(f"{console.url}/board?state=failed&channel=wechat")
    expect(page.locator("select[name=state]")).to_have_value("failed")
