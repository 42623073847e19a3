"""The pure parts, as tables: normalising, the allow-list, encodings, furniture, the diff."""

from __future__ import annotations

import pytest

from orchestrator.verify import Code, Outcome, Verdict, host_allowed, normalise
from orchestrator.verify import outcome as outcome_module
from orchestrator.verify.chrome import Furniture
from orchestrator.verify.compare import diff_texts
from orchestrator.verify.decode import Undecodable, decode
from orchestrator.verify.outcome import CODE_VERDICT


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("截至4月底，累计12.6万件。", "截至４月底,累计１２.６万件。"),
        ("“一网通办”", '"一网通办"'),
        ("区 政务\n服务\u3000办\xa0公室", "区政务服务办公室"),
        ("（完）", "(完)"),
        ("A\u200bB", "AB"),
        ("一—二", "一-二"),
    ],
)
def test_renderings_of_one_text_normalise_equal(a, b) -> None:
    assert normalise(a) == normalise(b)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("12.6万件", "12.8万件"),
        ("总结前期工作", "总结前段工作"),
        ("6月30日", "7月30日"),
        ("推进会。", "推进会,"),
        ("APP", "app"),
    ],
)
def test_real_changes_survive_normalising(a, b) -> None:
    assert normalise(a) != normalise(b)


@pytest.mark.parametrize(
    ("url", "allowed", "expected"),
    [
        ("https://www.shqp.gov.cn/a.html", ["www.shqp.gov.cn"], True),
        ("https://WWW.SHQP.gov.cn./a.html", ["www.shqp.gov.cn"], True),
        ("http://www.shqp.gov.cn/a.html", ["WWW.shqp.gov.cn"], True),
        ("http://www.shqp.gov.cn:80/a.html", ["www.shqp.gov.cn"], True),
        ("http://www.shqp.gov.cn:8080/a.html", ["www.shqp.gov.cn"], False),
        ("http://www.shqp.gov.cn:8080/a.html", ["www.shqp.gov.cn:8080"], True),
        ("https://www.shqp.gov.cn/a.html", ["www.shqp.gov.cn:8080"], False),
        ("https://shqp.gov.cn/a.html", ["www.shqp.gov.cn"], False),
        ("https://evil.cn/www.shqp.gov.cn", ["www.shqp.gov.cn"], False),
        ("https://www.shqp.gov.cn@evil.cn/", ["www.shqp.gov.cn"], False),
        ("https://www.shqp.gov.cn.evil.cn/", ["www.shqp.gov.cn"], False),
        ("ftp://www.shqp.gov.cn/a", ["www.shqp.gov.cn"], False),
        ("http://[::1]:8080/a", ["[::1]:8080"], True),
        ("http://[::1]:8081/a", ["[::1]:8080"], False),
        ("http://127.0.0.1:5000/a", ["127.0.0.1:5000"], True),
        ("http:///a", ["127.0.0.1"], False),
        ("not a url", ["127.0.0.1"], False),
    ],
)
def test_host_allowed(url, allowed, expected) -> None:
    assert host_allowed(url, allowed) is expected


@pytest.mark.parametrize(
    ("body", "content_type", "text"),
    [
        ("政务服务".encode("gbk"), "text/html; charset=gb2312", "政务服务"),
        ("王喆".encode("gbk"), "text/html; charset=GB2312", "王喆"),
        (b'<meta charset="gb2312">' + "王喆".encode("gbk"), "text/html", "王喆"),
        (
            b'<meta http-equiv="Content-Type" content="text/html; charset=GBK">'
            + "李堃".encode("gbk"),
            "",
            "李堃",
        ),
        ("政务".encode() + b"<meta charset=gbk>", "text/html; charset=utf-8", "政务"),
        (b"\xef\xbb\xbf" + "政务".encode(), "text/html; charset=gbk", "政务"),
        (
            ("<p>" + "区政务服务办公室召开工作推进会。" * 20 + "</p>").encode("gb18030"),
            "",
            "推进会",
        ),
        ("<p>政务</p>".encode("utf-16"), "text/html", "政务"),
        ("<p>政务服务</p>".encode(), "text/html", "政务服务"),
    ],
)
def test_decoding_follows_the_declarations(body, content_type, text) -> None:
    assert text in decode(body, content_type)


def test_undeclared_bytes_are_never_sniffed_as_utf16() -> None:
    text = decode(b"<html><body><p>a\x00b" + b"c" * 400 + b"</p></body></html>", "text/html")
    assert "<p>a" in text


def test_an_undeclared_binary_body_is_undecodable() -> None:
    with pytest.raises(Undecodable) as caught:
        decode(bytes(range(256)) * 20, "text/html")
    assert "编码" in caught.value.reason or "控制字符" in caught.value.reason


TITLE = normalise("区政务服务办召开第二季度工作推进会")
FURNITURE = [
    "来源：青浦区政务服务办公室　编辑：张三　发布时间：2024-05-06 10:30　浏览次数：1024",
    "来源：青浦区政务服务中心 发布时间：2024年05月06日 10:30 上海",
    "【字体：大 中 小】【打印本页】【关闭窗口】",
    "字号 大 中 小",
    "分享到：微信 微博 QQ空间 复制链接",
    "责任编辑：李四",
    "阅读 1024 分享 点赞 在看",
    "浏览 88 分享：微信好友 朋友圈 支付宝 复制链接",
    "上一篇：区领导调研政务服务中心窗口建设",
    "当前位置：首页 > 政务服务 > 正文",
    "区政务服务办召开第二季度工作推进会",
    "2024-05-06",
]
NOT_FURNITURE = [
    "据悉，本次会议共有80余名窗口工作人员参加。",
    "下一步，区政务服务办公室将加强统筹协调。",
    "特此通知",
    "来源：据悉，本次会议共有80余人参加。",
    "发布时间：2024年5月6日上午9时召开。",
    "浏览次数：1024次，同比增长18%。",
    "此项工作已全部完成。",
]


@pytest.mark.parametrize("line", FURNITURE)
def test_page_furniture_is_recognised(line) -> None:
    assert Furniture({TITLE}).is_furniture(normalise(line))


@pytest.mark.parametrize("line", NOT_FURNITURE)
def test_sentences_are_never_furniture(line) -> None:
    assert not Furniture({TITLE}).is_furniture(normalise(line))


def test_a_related_list_counts_after_its_heading_only() -> None:
    furniture = Furniture({TITLE})
    assert furniture.outside(["相关文章", "区领导调研政务服务中心窗口建设"]) == []
    assert furniture.outside(["区领导调研政务服务中心窗口建设"]) == [
        "区领导调研政务服务中心窗口建设"
    ]
    sentence = normalise("据悉，本次会议共有80余人参加。")
    assert furniture.outside(["相关文章", sentence]) == [sentence]


def test_the_diff_shows_changes_with_clipped_context() -> None:
    signed = normalise(
        "会议指出，截至4月底，全区累计办件量达到12.6万件，同比增长18.3%，全程网办率87.5%。"
    )
    live = signed.replace("12.6", "12.8")
    similarity, diff = diff_texts(signed, live)
    assert 0.9 < similarity < 1.0
    assert [kind for kind, _ in diff] == ["equal", "delete", "insert", "equal"]
    assert diff[1:3] == (("delete", "6"), ("insert", "8"))
    assert diff[0][1].startswith("…") and diff[-1][1].endswith("…")
    assert len(diff[0][1]) <= 17


def test_diff_html_marks_and_escapes() -> None:
    outcome = Outcome(
        verdict=Verdict.MISMATCH,
        code="text_changed",
        reason="正文与签发版本不一致。",
        url="http://x/",
        diff=(("equal", "a<b"), ("delete", "旧"), ("insert", "<script>")),
    )
    assert outcome.diff_html() == (
        '<span class="same">a&lt;b</span><del>旧</del><ins>&lt;script&gt;</ins>'
    )


def test_every_code_has_a_verdict_and_is_documented() -> None:
    assert set(CODE_VERDICT) == set(Code)
    doc = outcome_module.__doc__ or ""
    for code in Code:
        assert f" {code.value} " in doc, code
    assert {v.label for v in Verdict} == {"一致", "不一致", "无法访问", "已删除"}
