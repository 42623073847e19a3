"""What the command line shows people: tables whose columns line up by display width (a Chinese
character takes two columns), channels and states by name, not by code."""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime

import pytest

from orchestrator.cli import base, publications
from orchestrator.cli.content import show_submission
from orchestrator.cli.stats import render_table
from orchestrator.cli.table import pad, table, width
from orchestrator.reports.statistics import Table


def columns(text: str) -> int:
    """The measure the tests hold the module to, written out independently of it (the text
    here has no combining marks)."""
    return sum(2 if unicodedata.east_asian_width(c) in ("W", "F") else 1 for c in text)


def starts(line: str, cells: list[str]) -> list[int]:
    """The display column at which each of `cells` starts in `line` (searched left to right)."""
    found, at = [], 0
    for cell in cells:
        at = line.index(cell, at)
        found.append(columns(line[:at]))
        at += len(cell)
    return found


@pytest.mark.parametrize(
    ("text", "columns"),
    [
        ("wechat", 6),
        ("政府网站", 8),
        ("微信公众号（wechat）", 10 + 4 + 6),  # fullwidth brackets take two columns
        ("ＡＢ", 4),  # fullwidth Latin
        ("e\u0301", 1),  # a combining accent takes none
        ("", 0),
    ],
)
def test_width_counts_terminal_columns(text: str, columns: int) -> None:
    assert width(text) == columns


def test_pad_fills_to_display_width() -> None:
    assert pad("政府", 6) == "政府  "
    assert pad("12", 5, right=True) == "   12"
    assert pad("政府网站", 4) == "政府网站"  # never cut


def test_mixed_chinese_and_ascii_columns_start_at_the_same_display_column() -> None:
    header = ("渠道代码", "名称", "状态", "链接")
    rows = [
        ("wechat", "微信公众号", "已发布", "https://mp.example/1"),
        ("政府网站", "gov", "失败", "超时"),
        ("学习强国xuexi", "x", "结果未确认", ""),
    ]
    lines = table(rows, header).splitlines()
    found = [
        starts(line, [cell for cell in cells if cell])
        for line, cells in zip(lines, [header, *rows], strict=True)
    ]
    assert (
        found[0] == found[1] == found[2] == [0, 15, 27, 39]
    )  # 学习强国xuexi: 13 columns, then two spaces
    assert found[3] == found[0][:3]
    assert not any(line.endswith(" ") for line in lines)  # an empty last cell adds no spaces


def test_right_aligned_columns_end_together_and_a_rule_spans_each_column() -> None:
    lines = table([(1, "综合科"), (120, "数据管理发展科")], ("编号", "科室"), right={0}, rule=True)
    header, rule, first, second = lines.splitlines()
    assert rule == "----  " + "-" * 14
    assert (first[:4], second[:4]) == ("   1", " 120")
    assert starts(header, ["科室"]) == starts(first, ["综合科"]) == starts(second, ["数据"]) == [6]


def test_indent_and_none_cells() -> None:
    assert table([("a", None, "b")], indent="  ") == "  a    b"
    assert table([]) == ""


def test_statistics_tables_right_align_their_figures() -> None:
    shown = render_table(
        Table(
            "t",
            "t",
            ["科室", "报送", "采用率"],
            [["综合科", 3, "100.0%"], ["数据管理发展科", 12, "—"]],
        )
    )
    *_, first, second = shown.splitlines()
    assert first.endswith("  3  100.0%") and second.endswith(" 12       —")
    assert starts(first, ["综合科"]) == starts(second, ["数据管理发展科"]) == [0]


# --- names instead of codes ----------------------------------------------------------------


def test_channels_states_and_roles_by_name_and_back() -> None:
    assert base.channel_label("wechat") == "微信公众号"
    assert base.channel_label("gov_website") == "政府网站"
    assert base.channel_label("no_such") == "no_such"
    assert (
        base.channel_code("随申办旗舰店") == "suishenban" and base.channel_code("xuexi") == "xuexi"
    )
    assert base.STATE_LABEL_BY_CODE["unconfirmed"] == "结果未确认"
    assert base.state_code("失败") == "failed" and base.state_code("failed") == "failed"
    assert base.role_labels(["section_head", "general_office"]) == "科室负责人/支部书记、综合科"


def publication(**values: object) -> dict[str, object]:
    return {
        "id": 7, "submission": 3, "channel": "wechat", "state": "failed", "state_label": "失败",
        "late": True, "scheduled_at": datetime(2026, 12, 1, 1, 0, tzinfo=UTC), "url": None,
        "last_error": "平台不可用",
    } | values  # fmt: skip


def test_publications_show_channel_names_in_aligned_columns(
    capsys: pytest.CaptureFixture[str],
) -> None:
    publications.show_publications(
        [
            publication(),
            publication(id=12, channel="gov_website", state_label="已发布", late=False,
                        url="https://www.example.gov.cn/a/1.html"),
        ]
    )  # fmt: skip
    header, first, second = capsys.readouterr().out.splitlines()
    assert "wechat" not in first and "gov_website" not in second
    assert starts(
        first, ["微信公众号", "失败（逾期）", "2026-12-01 09:00:00", "平台不可用"]
    ) == starts(second, ["政府网站", "已发布", "2026-12-01 09:00:00", "https://"])
    assert starts(header, ["渠道", "状态"]) == starts(first, ["微信公众号", "失败"])


def test_a_submission_names_its_channels(capsys: pytest.CaptureFixture[str]) -> None:
    show_submission(
        {
            "id": 3, "title": "标题", "version": 1, "fingerprint": "ab" * 32, "reviews": [],
            "channels": [
                {"channel": "lvse_qingpu", "publish_date": "2026-12-01", "remark": "头条"},
                {"channel": "xuexi", "publish_date": "2026-12-02", "remark": ""},
            ],
        }
    )  # fmt: skip
    shown = capsys.readouterr().out
    assert "绿色青浦" in shown and "学习强国" in shown
    assert "lvse_qingpu" not in shown and "xuexi" not in shown


def test_a_retraction_reports_each_channel_by_name() -> None:
    assert publications._outcome("retracted") == "已撤稿"
    assert publications._outcome("takedown") == "待人工撤下"
    assert publications._outcome("not_supported: 学习强国不支持撤稿") == "学习强国不支持撤稿"
