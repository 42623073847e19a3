"""Start-up configuration: every bad variable named with its value and what is expected."""

from __future__ import annotations

import pytest

from orchestrator.config_check import ConfigInvalid, check_channels, load_settings

GOV = {
    "SANSHEN_CHANNEL_GOV_WEBSITE_BASE_URL": "https://www.shqp.gov.cn/publish-gw",
    "SANSHEN_CHANNEL_GOV_WEBSITE_APP_KEY": "qp-zwfw",
    "SANSHEN_CHANNEL_GOV_WEBSITE_APP_SECRET": "s3cret-value",
    "SANSHEN_CHANNEL_GOV_WEBSITE_COLUMN_ID": "12",
}


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("SANSHEN_SCHEDULER_INTERVAL", "abc", "应为数字"),
        ("SANSHEN_SCHEDULER_INTERVAL", "0", "应大于 0"),
        ("SANSHEN_MAX_QUEUED_PER_CHANNEL", "2.5", "应为整数"),
        ("SANSHEN_AUTO_REPOST", "maybe", "应为 true 或 false"),
        ("SANSHEN_DEFAULT_PUBLISH_TIME", "9点", "格式应为 HH:MM（如 09:00）"),
        ("SANSHEN_KDF_PROFILE", "fast", "应为以下之一"),
    ],
)
def test_a_bad_setting_is_one_clear_line(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigInvalid) as caught:
        load_settings()
    [line] = caught.value.problems
    assert line.startswith(f"环境变量 {variable}（") and f"的值“{value}”无效" in line
    assert line.endswith("：" + expected) or "：" + expected in line
    assert caught.value.exit_code == 2


def test_every_bad_setting_is_named_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SANSHEN_SCHEDULER_INTERVAL", "abc")
    monkeypatch.setenv("SANSHEN_RETRY_MAX_ATTEMPTS", "0")
    with pytest.raises(ConfigInvalid) as caught:
        load_settings()
    assert len(caught.value.problems) == 2
    assert "SANSHEN_RETRY_MAX_ATTEMPTS" in caught.value.message
    assert "SANSHEN_SCHEDULER_INTERVAL" in caught.value.message


def test_a_rule_across_settings_keeps_its_own_words(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SANSHEN_SETTLE_AFTER", "60")
    with pytest.raises(ConfigInvalid) as caught:
        load_settings()
    [line] = caught.value.problems
    assert line.startswith("SANSHEN_SETTLE_AFTER（60.0）必须大于 SANSHEN_TASK_TIME_LIMIT")


def test_a_settle_window_shorter_than_the_first_check_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SANSHEN_SETTLE_WINDOW", "100")  # the first check comes at 150 s
    with pytest.raises(ConfigInvalid) as caught:
        load_settings()
    [line] = caught.value.problems
    assert line.startswith("SANSHEN_SETTLE_WINDOW（100.0）必须大于 SANSHEN_SETTLE_AFTER")


def test_good_settings_load(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SANSHEN_SCHEDULER_INTERVAL", "2")
    assert load_settings().scheduler_interval == 2.0


def test_a_channel_without_any_variable_is_simply_not_configured() -> None:
    configured = check_channels(GOV)
    assert configured["gov_website"] is True
    assert configured["wechat"] is False


def test_a_half_configured_channel_names_each_variable_and_hides_secrets() -> None:
    env = GOV | {
        "SANSHEN_CHANNEL_GOV_WEBSITE_BASE_URL": "www.shqp.gov.cn",
        "SANSHEN_CHANNEL_GOV_WEBSITE_READ_TIMEOUT": "-1",
        "SANSHEN_CHANNEL_WECHAT_APP_SECRET": "wx-secret-value",
    }
    del env["SANSHEN_CHANNEL_GOV_WEBSITE_COLUMN_ID"]
    with pytest.raises(ConfigInvalid) as caught:
        check_channels(env)
    text = caught.value.message
    assert "SANSHEN_CHANNEL_GOV_WEBSITE_BASE_URL 的值“www.shqp.gov.cn”无效：应为 http(s)://" in text
    assert "SANSHEN_CHANNEL_GOV_WEBSITE_READ_TIMEOUT 的值“-1”无效：应大于 0" in text
    assert "SANSHEN_CHANNEL_GOV_WEBSITE_COLUMN_ID：必须设置" in text
    assert "SANSHEN_CHANNEL_WECHAT_APP_ID：必须设置" in text
    assert "wx-secret-value" not in text and "s3cret-value" not in text


def test_a_misspelt_or_unknown_channel_variable_is_named() -> None:
    env = GOV | {
        "SANSHEN_CHANNEL_GOV_WEBSITE_APP_SECRT": "x",
        "SANSHEN_CHANNEL_WEIBO_TOKEN": "y",
    }
    with pytest.raises(ConfigInvalid) as caught:
        check_channels(env)
    assert caught.value.problems == [
        "环境变量 SANSHEN_CHANNEL_GOV_WEBSITE_APP_SECRT 不是渠道 gov_website 的设置"
        "（可用：base_url、connect_timeout、read_timeout、app_key、app_secret、column_id、"
        "mode、page_hosts）",
        "环境变量 SANSHEN_CHANNEL_WEIBO_TOKEN 不属于任何已注册渠道"
        "（gov_website、lvse_qingpu、suishenban、wechat、xuexi）",
    ]


def test_an_assisted_channel_needs_no_api_settings_and_a_bad_mode_is_named() -> None:
    """The website published by hand: its mode alone configures it. WeChat has an API only."""
    assert check_channels({"SANSHEN_CHANNEL_GOV_WEBSITE_MODE": "assisted"})["gov_website"]
    with pytest.raises(ConfigInvalid) as caught:
        check_channels(
            {
                "SANSHEN_CHANNEL_GOV_WEBSITE_MODE": "manual",
                "SANSHEN_CHANNEL_WECHAT_MODE": "assisted",
            }
        )
    text = caught.value.message
    assert "SANSHEN_CHANNEL_GOV_WEBSITE_MODE 的值无效：manual（可选 api 或 assisted）" in text
    assert "微信公众号只能通过接口发布，不支持人工发布模式" in text
    # in api mode (the default) the website's API settings are still required
    with pytest.raises(ConfigInvalid, match="SANSHEN_CHANNEL_GOV_WEBSITE_BASE_URL"):
        check_channels({"SANSHEN_CHANNEL_GOV_WEBSITE_MODE": "api"})
