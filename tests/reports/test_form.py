"""The 信息发布审批表: built only from a record the gate passes, read back from the PDF (text,
fonts, a rendered page) and from the .docx."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import docx
import pytest
from sqlalchemy import select

from gate.model import Decision, ReviewStage
from orchestrator.app import App
from orchestrator.errors import GateRefused, InvalidInput, NotFound
from orchestrator.models import ReviewAction
from orchestrator.reports import form
from orchestrator.reports.fonts import FontMissing, register_cjk
from orchestrator.services import org, review, submissions
from orchestrator.settings import Settings
from tests.clock import shanghai_tomorrow
from tests.orchestrator.conftest import PASSWORDS
from tests.reports.conftest import (
    Server,
    demo_signed_off,
    draft,
    sanshen,
    signed_off,
    submit,
    walk,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
NAMES = {
    "author": "王供稿",
    "head": "李科长",
    "leader": "赵分管",
    "zhk": "周综合",
    "publicity": "孙宣传",
}


def signatures(app: App, sub_id: int) -> dict[str, tuple[str, str]]:
    """username -> (local time, short fingerprint), computed here from the stored rows."""
    with app.db.read() as session:
        rows = session.scalars(select(ReviewAction).where(ReviewAction.submission_id == sub_id))
        out = {}
        for row in rows:
            head = hashlib.sha256(row.signature).hexdigest()[:16]
            out[row.actor.username] = (
                row.acted_at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S"),
                f"{head[:4]} {head[4:8]} {head[8:12]} {head[12:]}",
            )
        return out


def pdf_of(app: App, ids: list[int], tmp_path: Path) -> Path:
    with app.db.read() as session:
        data = form.render_pdf(form.build(session, app, ids))
    path = tmp_path / "form.pdf"
    path.write_bytes(data)
    return path


def text_of(pdf: Path) -> str:
    return subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True, text=True
    ).stdout


def test_pdf_shows_department_rows_signers_times_and_fingerprints(app: App, tmp_path: Path) -> None:
    sub_id = signed_off(app)
    text = text_of(pdf_of(app, [sub_id], tmp_path))
    assert "测试办公室信息发布审批表" in text
    assert "申请科室、窗口：数据管理发展科" in text
    assert "申请日期：" + datetime.now(SHANGHAI).strftime("%Y年%m月%d日") in text
    assert "区政务服务中心推出周末延时服务" in text
    assert "政府网站" in text and "微信公众号" in text and "头条" in text
    assert shanghai_tomorrow().isoformat() in text
    for label in (
        "科室、窗口经办人",
        "科室、窗口负责人审核",
        "业务分管领导审核",
        "综合科确定稿件用途",
        "宣传分管领导审核",
    ):
        assert label in text
    assert "主要领导审定" not in text  # not a major event: the line does not apply
    signed = signatures(app, sub_id)
    assert set(signed) == set(NAMES)
    for username, (when, fingerprint) in signed.items():
        assert NAMES[username] in text
        assert when in text
        assert fingerprint in text
    # the content it covers, after the form
    assert "附：第 1 项信息内容" in text
    assert "咨询电话：12345" in text and "［图片：a.png］" in text
    with app.db.read() as session:
        version = submissions.get(session, sub_id).current
        assert version.fingerprint in text
        assert version.images[0].sha256 in text


def test_pdf_embeds_the_cjk_font_and_renders_a_page(app: App, tmp_path: Path) -> None:
    pdf = pdf_of(app, [signed_off(app)], tmp_path)
    fonts = subprocess.run(["pdffonts", str(pdf)], check=True, capture_output=True, text=True)
    rows = [line.split() for line in fonts.stdout.splitlines()[2:]]
    assert rows and all("WenQuanYiZenHei" in row[0] for row in rows)
    assert all(row[-5] == "yes" for row in rows)  # emb
    subprocess.run(
        ["pdftoppm", "-png", "-r", "40", "-f", "1", "-l", "1", str(pdf), str(tmp_path / "page")],
        check=True,
    )
    png = next(tmp_path.glob("page-*.png"))
    from PIL import Image

    with Image.open(png) as image:
        gray = image.convert("L")
        dark = sum(gray.histogram()[:128])
        assert gray.size[0] < gray.size[1]  # A4 portrait
        assert dark > 2000  # the grid and the text are drawn, not a blank page


def test_principal_line_appears_when_the_item_needed_it(app: App, tmp_path: Path) -> None:
    sub_id = signed_off(app, draft(major_event=True))
    text = text_of(pdf_of(app, [sub_id], tmp_path))
    when, fingerprint = signatures(app, sub_id)["chief"]
    assert "主要领导审定" in text and "陈主要" in text
    assert when in text and fingerprint in text
    assert "重大事件" in text


def test_several_items_of_one_department_are_rows_one_to_n(app: App, tmp_path: Path) -> None:
    first = signed_off(app)
    second = signed_off(
        app,
        draft(
            title="“一网通办”新增十项服务", channels=(("suishenban", shanghai_tomorrow(), "首页"),)
        ),
    )
    text = text_of(pdf_of(app, [first, second], tmp_path))
    assert "附：第 1 项信息内容" in text and "附：第 2 项信息内容" in text
    assert "随申办旗舰店" in text and "首页" in text
    assert text.index("区政务服务中心推出周末延时服务") < text.index("“一网通办”新增十项服务")
    for sub_id in (first, second):
        for when, fingerprint in signatures(app, sub_id).values():
            assert fingerprint in text and when in text
    with app.db.read() as session:
        built = form.build(session, app, [second, first, second])
    assert [(i.number, i.submission_id) for i in built.items] == [(1, second), (2, first)]


def test_docx_reads_back_with_rows_and_signatures(app: App) -> None:
    sub_id = signed_off(app)
    with app.db.read() as session:
        data = form.render_docx(form.build(session, app, [sub_id]))
    document = docx.Document(io.BytesIO(data))
    paragraphs = "\n".join(p.text for p in document.paragraphs)
    assert "测试办公室信息发布审批表" in paragraphs
    assert "申请科室、窗口：数据管理发展科" in paragraphs
    rows_table, sign_table = document.tables[0], document.tables[1]
    rows = [[c.text for c in row.cells] for row in rows_table.rows]
    assert rows[0] == ["序号", "信息名称", "发布形式", "发布日期", "备注"]
    assert rows[1:] == [
        ["1", "区政务服务中心推出周末延时服务", "政府网站", shanghai_tomorrow().isoformat(), ""],
        [
            "1",
            "区政务服务中心推出周末延时服务",
            "微信公众号",
            shanghai_tomorrow().isoformat(),
            "头条",
        ],
    ]
    signed = [[c.text for c in row.cells] for row in sign_table.rows][1:]
    by_name = {row[2]: row for row in signed}
    for username, (when, fingerprint) in signatures(app, sub_id).items():
        assert by_name[NAMES[username]][3:5] == [when, fingerprint]
    assert by_name["孙宣传"][0] == "宣传分管领导审核（签字）"
    assert "咨询电话：12345。" in paragraphs


def test_a_submission_not_signed_off_is_refused_naming_what_is_missing(app: App) -> None:
    done = signed_off(app)
    waiting = submit(app, draft(title="尚在审核的信息"))
    walk(app, waiting, until=ReviewStage.FINAL)
    with app.db.read() as session, pytest.raises(GateRefused) as refused:
        form.build(session, app, [done, waiting])
    error = refused.value
    assert error.code == "not_signed_off" and error.exit_code == 6
    assert f"稿件 {waiting}《尚在审核的信息》" in error.message
    assert "缺少终审" in error.message and "缺少签发" in error.message
    assert "缺少稿件用途" in error.message and "缺少复审" not in error.message
    assert f"稿件 {done}" not in error.message
    assert [d["submission"] for d in error.details] == [waiting]
    assert error.details[0]["codes"] == ["stage_missing"] * 3


def test_refuses_unknown_mixed_or_no_submissions(app: App) -> None:
    mine = signed_off(app)
    with app.db.session() as session:
        other = submissions.create(
            session, app.blobs, author="editor", department="zhk", draft=draft()
        ).id
    with app.db.read() as session:
        with pytest.raises(InvalidInput, match="同一科室"):
            form.build(session, app, [mine, other])
        with pytest.raises(NotFound):
            form.build(session, app, [mine, 999])
        with pytest.raises(InvalidInput):
            form.build(session, app, [])


def test_short_fingerprint_is_sixteen_hex_in_groups() -> None:
    assert form.short_fingerprint(b"\x01" * 64) == " ".join(
        hashlib.sha256(b"\x01" * 64).hexdigest()[i : i + 4] for i in (0, 4, 8, 12)
    )


# --- the command and the API -----------------------------------------------------------------


def test_cli_writes_the_form_and_refuses_what_is_not_signed_off(app: App, tmp_path: Path) -> None:
    done, waiting = signed_off(app), submit(app, draft(title="尚在审核的信息"))
    data_dir = app.settings.data_dir
    pdf = sanshen(data_dir, "form", str(done), "--out", str(tmp_path / "表.pdf"), "--json")
    assert pdf.returncode == 0, pdf.stderr
    assert json.loads(pdf.stdout)["items"][0]["submission"] == done
    assert "孙宣传" in text_of(tmp_path / "表.pdf")
    refused = sanshen(data_dir, "form", str(done), str(waiting), "--out", str(tmp_path / "x.pdf"))
    assert refused.returncode == 6
    assert "尚在审核的信息" in refused.stderr and "缺少初审" in refused.stderr
    assert not (tmp_path / "x.pdf").exists()


def test_api_serves_the_form_and_refuses_what_is_not_signed_off(
    api: Server, tmp_path: Path
) -> None:
    sub_id = demo_signed_off(api)
    client = api.as_("zhouzh")
    reply = client.get(f"/submissions/{sub_id}/form.pdf")
    assert reply.status_code == 200, reply.text
    assert reply.headers["content-type"] == "application/pdf"
    assert "filename*=UTF-8''" in reply.headers["content-disposition"]
    (tmp_path / "api.pdf").write_bytes(reply.content)
    text = text_of(tmp_path / "api.pdf")
    assert all(name in text for name in ("王芳", "李军", "赵敏", "陈柱", "孙宣"))
    word = client.get(f"/submissions/{sub_id}/form.docx")
    assert word.status_code == 200 and word.headers["content-type"] == form.DOCX_MIME
    assert docx.Document(io.BytesIO(word.content)).tables[0].rows[0].cells[0].text == "序号"
    with api.app.db.session() as session:
        waiting = submissions.create(
            session, api.app.blobs, author="wangfang", department="sjgl", draft=draft()
        ).id
    refused = client.get(f"/submissions/{waiting}/form.pdf")
    assert refused.status_code == 409
    assert refused.json()["error"] == "not_signed_off" and "缺少初审" in refused.json()["message"]
    assert client.get("/submissions/999999/form.docx").status_code == 404
    assert api.client().get(f"/submissions/{sub_id}/form.pdf").status_code == 401


def test_a_stage_the_policy_skips_is_said_and_the_editor_signs_beside_the_handler(
    app: App, tmp_path: Path
) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text("skip_second_review_departments: [solo]\n", encoding="utf-8")
    solo = App(Settings(data_dir=app.settings.data_dir, kdf_profile="min", policy_file=policy))
    with solo.db.session() as session:  # the window has no staff of its own: two editors cover it
        for who in ("author", "editor"):
            org.grant_role(
                session,
                org.person_by_username(session, who),
                org.parse_role("contributor"),
                department=org.department_by_code(session, "solo"),
                now=datetime(2020, 1, 1, tzinfo=UTC),
            )
    with solo.db.session() as session:
        sub_id = submissions.create(
            session, solo.blobs, author="author", department="solo", draft=draft()
        ).id
    for stage, who in (
        (ReviewStage.FIRST, "editor"),
        (ReviewStage.FINAL, "leader"),
        (ReviewStage.USAGE, "zhk"),
        (ReviewStage.SIGN_OFF, "publicity"),
    ):
        with solo.db.session() as session:
            review.review(
                session,
                sub_id,
                stage=stage,
                decision=Decision.APPROVE,
                actor=who,
                password=PASSWORDS[who],
                policy=solo.policy,
                app=solo,
            )
    with solo.db.read() as session:
        data = form.render_docx(form.build(session, solo, [sub_id]))
    rows = [[c.text for c in row.cells] for row in docx.Document(io.BytesIO(data)).tables[1].rows]
    by_line = {row[0]: row[2:4] for row in rows[1:]}
    assert by_line["科室、窗口经办人（签字）"][0] == "王供稿（经办）\n刘编辑（初审）"
    assert by_line["科室、窗口负责人审核（签字）"] == ["—", "按审核策略免于复审"]
    assert by_line["业务分管领导审核（签字）"][0] == "赵分管"
    solo.db.dispose()


def test_a_missing_font_is_named_with_the_package_to_install(tmp_path: Path) -> None:
    with pytest.raises(FontMissing, match="fonts-wqy-zenhei") as missing:
        register_cjk(tmp_path / "wqy-zenhei.ttc")
    assert missing.value.code == "cjk_font_missing" and "中文字体缺失" in missing.value.message
