from __future__ import annotations

from datetime import date

import pytest

from gate.aids import (
    AID_MESSAGES,
    CONFIDENTIALITY_MARKERS,
    DEFAULT_SENSITIVE_WORDS,
    Aid,
    body_text,
    review_aids,
)
from gate.model import ChannelRequest, Content

TODAY = date(2024, 5, 6)
CLEAN = Content(
    title="区政务服务办公室召开推进会",
    body_html="<p>2024年5月6日，推进会召开。</p><p>会议明确12月31日前完成，2024-02-29起试行。</p>",
    channels=(ChannelRequest("政府网站", TODAY),),
)


def aids(title: str = CLEAN.title, body: str = CLEAN.body_html, **kw: object) -> list[Aid]:
    content = Content(title=title, body_html=body, channels=CLEAN.channels)
    words = kw.pop("sensitive_words", DEFAULT_SENSITIVE_WORDS)
    return review_aids(content, sensitive_words=words, today=TODAY, **kw)  # type: ignore[arg-type]


def codes(found: list[Aid]) -> list[str]:
    return [a.code for a in found]


def test_clean_content_has_no_aids() -> None:
    assert aids() == []


@pytest.mark.parametrize(
    ("title", "body", "expected"),
    [
        ("   ", CLEAN.body_html, ["title_empty"]),
        (CLEAN.title, "<p> <img src='a.png'> &nbsp;</p>", ["body_empty"]),
        (CLEAN.title, "<p>此文件为机密。</p>", ["confidentiality_marker"]),
        ("【内部】会议纪要", "<p>正文</p>", ["confidentiality_marker"]),
        (CLEAN.title, "<p>绝密与秘密</p>", ["confidentiality_marker", "confidentiality_marker"]),
        (CLEAN.title, "<p>本稿为<b>草稿</b></p>", ["sensitive_word"]),
        (CLEAN.title, "<p>负责人：xxx</p>", ["sensitive_word"]),
        (CLEAN.title, "<p>内部资料，请勿转发</p>", ["sensitive_word"]),  # not also 内部
        (CLEAN.title, "<p>2024年2月30日召开</p>", ["impossible_date"]),
        (CLEAN.title, "<p>2023-02-29召开</p>", ["impossible_date"]),
        (CLEAN.title, "<p>2023/4/31召开</p>", ["impossible_date"]),
        (CLEAN.title, "<p>计划13月完成</p>", ["impossible_date"]),
        (CLEAN.title, "<p>4月31日召开</p>", ["impossible_date"]),
        (CLEAN.title, "<p>0月召开</p>", ["impossible_date"]),
        (CLEAN.title, "<p>0000年1月1日</p>", ["impossible_date"]),
        (CLEAN.title, "<p>0001年1月1日</p>", []),
        (CLEAN.title, "<p>1月1日起施行</p>", []),
        (CLEAN.title, "<p>1月召开</p>", []),
        ("2023年2月29日通知", "<p>正文</p>", ["impossible_date"]),
        (CLEAN.title, "<p>历时13个月，2月29日完成，3月1号启动，版本1.2.3</p>", []),
        (CLEAN.title, "<script>var s = '秘密';</script><p>正文</p>", []),
    ],
)
def test_aid_found(title: str, body: str, expected: list[str]) -> None:
    assert codes(aids(title, body)) == expected


def test_sensitive_words_are_configurable() -> None:
    assert codes(aids(body="<p>这是草稿</p>", sensitive_words=["某词"])) == []
    assert codes(aids(body="<p>含某词</p>", sensitive_words=["某词"])) == ["sensitive_word"]
    assert codes(aids(body="<p>机密</p>", sensitive_words=[], markers=())) == []


def test_markers_are_checked_with_any_word_list() -> None:
    assert codes(aids(body="<p>机密</p>", sensitive_words=[])) == ["confidentiality_marker"]


def test_past_publish_dates() -> None:
    content = Content(
        title=CLEAN.title,
        body_html=CLEAN.body_html,
        channels=(
            ChannelRequest("政府网站", date(2024, 5, 5)),
            ChannelRequest("微信公众号", TODAY),
        ),
    )
    found = review_aids(content, sensitive_words=(), today=TODAY)
    assert found == [Aid("publish_date_past", "发布形式“政府网站”的发布日期 2024-05-05 早于今天")]


def test_excerpt_shows_the_context() -> None:
    [aid] = aids(body="<p>根据上级通知，本材料属于机密，</p><p>不得转发。</p>")
    assert aid == Aid(
        "confidentiality_marker",
        "正文含有密级或内部标识“机密”，请确认可以公开",
        "根据上级通知，本材料属于机密， 不得转发。",  # 12 characters either side, one line
    )


def test_word_at_the_very_start_of_the_title() -> None:
    assert aids(title="草稿：区政务服务办公室召开推进会") == [
        Aid("sensitive_word", "标题含有需复核的词语“草稿”", "草稿：区政务服务办公室召开推")
    ]


def test_impossible_date_names_the_date_and_where_it_is() -> None:
    title = "2023年2月29日通知"
    body = "<p>经研究，会议定于2024年2月30日在区政务服务中心三楼召开。</p><p>2023/4/31</p>"
    assert aids(title, body) == [
        Aid("impossible_date", "标题中的日期“2023年2月29日”不存在", "2023年2月29日通知"),
        Aid(
            "impossible_date",
            "正文中的日期“2024年2月30日”不存在",
            "经研究，会议定于2024年2月30日在区政务服务中心三楼召开",
        ),
        Aid("impossible_date", "正文中的日期“2023/4/31”不存在", "务服务中心三楼召开。 2023/4/31"),
    ]


def test_word_inside_a_longer_find_is_not_repeated_but_a_later_one_is() -> None:
    body = "<p>本件为内部资料。附件仅限内部使用，其余内容另行通知后内部传阅。</p>"
    assert aids(body=body) == [
        Aid(
            "sensitive_word",
            "正文含有需复核的词语“内部资料”",
            "本件为内部资料。附件仅限内部使用，其余",
        ),
        Aid(
            "confidentiality_marker",
            "正文含有密级或内部标识“内部”，请确认可以公开",
            "本件为内部资料。附件仅限内部使用，其余内容另行通知后",  # the first free 内部
        ),
    ]


def test_word_ending_a_longer_find_is_inside_it() -> None:
    words = ["不得外传", "外传"]
    assert aids(body="<p>本件不得外传。</p>", sensitive_words=words) == [
        Aid("sensitive_word", "正文含有需复核的词语“不得外传”", "本件不得外传。")
    ]
    assert aids(body="<p>请勿外传。</p>", sensitive_words=words) == [
        Aid("sensitive_word", "正文含有需复核的词语“外传”", "请勿外传。")
    ]


def test_word_sticking_out_of_a_longer_find_is_reported() -> None:
    # 电话XXX covers the first XXX of 电话XXXX; the XXX one place on is not inside it.
    words = [*DEFAULT_SENSITIVE_WORDS, "电话XXX"]
    assert aids(body="<p>咨询电话XXXX</p>", sensitive_words=words) == [
        Aid("sensitive_word", "正文含有需复核的词语“电话XXX”", "咨询电话XXXX"),
        Aid("sensitive_word", "正文含有需复核的词语“XXX”", "咨询电话XXXX"),
    ]


def test_body_text_drops_tags_and_keeps_inline_text_together() -> None:
    assert body_text("<p>一网<b>通办</b></p><p>第二段&amp;</p>").split() == ["一网通办", "第二段&"]


def test_every_aid_code_has_a_case() -> None:
    assert set(AID_MESSAGES) == {
        "sensitive_word",
        "confidentiality_marker",
        "impossible_date",
        "title_empty",
        "body_empty",
        "publish_date_past",
    }
    assert set(CONFIDENTIALITY_MARKERS) <= set(DEFAULT_SENSITIVE_WORDS)
