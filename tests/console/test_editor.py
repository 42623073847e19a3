"""The submission form's editor: images uploaded and stored by hash, a Word manuscript read into
the form, editor images turned into the draft's image files, text pasted from Word kept as
structure without its noise, and a revision keeping its images — over HTTP and in Chromium
under the console's Content-Security-Policy (the `page` fixture fails on any violation)."""

from __future__ import annotations

import hashlib
import io
import re
from pathlib import Path
from typing import Any

import docx
import PIL.Image
from docx.shared import Cm
from playwright.sync_api import APIResponse, Page, expect
from sqlalchemy import func, select

from orchestrator import demo
from orchestrator.models import Submission
from orchestrator.services import submissions
from orchestrator.web import pages
from orchestrator.web.pages_work import FormValues, Uploads, build_draft
from tests.clock import shanghai_tomorrow
from tests.console.conftest import Console, sign_in

PASSWORDS = {"wangfang": "demo-pass-1", "lijun": "demo-pass-2"}
RED = demo.tiny_png(rgb=(200, 30, 30))
GREEN = demo.tiny_png(rgb=(30, 160, 60))
BLUE = demo.tiny_png(rgb=(30, 60, 200))


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def csrf(page: Page) -> str:
    return page.locator('meta[name="csrf-token"]').get_attribute("content") or ""


def post_file(
    page: Page, url: str, name: str, data: bytes, mime: str, token: str | None = None
) -> APIResponse:
    headers = {"X-CSRF-Token": token if token is not None else csrf(page)}
    return page.request.post(
        url,
        multipart={"file": {"name": name, "mimeType": mime, "buffer": data}},
        headers=headers,
    )


def tiff() -> bytes:
    out = io.BytesIO()
    PIL.Image.new("RGB", (8, 8), (90, 90, 90)).save(out, format="TIFF")
    return out.getvalue()


def manuscript_docx(image: bytes) -> bytes:
    """A Word manuscript as people write them: a title, headings, a bold run, a table, an image,
    and a scanned image in TIFF (which no platform takes)."""
    document = docx.Document()
    document.add_heading("区政务服务中心周六延时服务的通知", level=1)
    document.add_heading("一、服务时间", level=2)
    paragraph = document.add_paragraph("每周六上午")
    paragraph.add_run("9:00至12:00").bold = True
    paragraph.add_run("提供延时服务。")
    table = document.add_table(rows=2, cols=2)
    for row, cells in zip(table.rows, (("窗口", "事项"), ("综合窗口", "企业开办")), strict=True):
        for cell, text in zip(row.cells, cells, strict=True):
            cell.text = text
    document.add_heading("二、现场照片", level=2)
    document.add_picture(io.BytesIO(image), width=Cm(4))
    document.add_picture(io.BytesIO(tiff()), width=Cm(2))
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


WORD_PASTE = """<html xmlns:o="urn:schemas-microsoft-com:office:office"
xmlns:w="urn:schemas-microsoft-com:office:word" xmlns="http://www.w3.org/TR/REC-html40">
<head><meta name=ProgId content=Word.Document><meta name=Generator content="Microsoft Word 15">
<style><!-- p.MsoNormal {mso-style-parent:""; font-size:10.5pt; font-family:等线;}
@list l0:level1 {mso-level-tab-stop:none; mso-level-number-position:left;}
@list l1:level1 {mso-level-number-format:bullet; mso-level-text:\\F0B7;} --></style></head>
<body lang=ZH-CN style='tab-interval:21.0pt'><!--StartFragment-->
<h1 style='mso-margin-top-alt:auto'><span lang=EN-US style='font-family:宋体'>办理须知</span><o:p></o:p></h1>
<p class=MsoNormal style='text-indent:21.0pt'><span style='font-family:仿宋_GB2312;mso-ascii-font-family:"Times New Roman"'>请携带<b style='mso-bidi-font-weight:normal'><span style='color:red'>身份证原件</span></b>到<span style='font-weight:bold'>综合窗口</span>办理。<o:p></o:p></span></p>
<p class=MsoListParagraphCxSpFirst style='margin-left:18.0pt;text-indent:-18.0pt;mso-list:l0 level1 lfo1'><![if !supportLists]><span style='mso-fareast-font-family:Calibri'><span style='mso-list:Ignore'>1.<span style='font:7.0pt "Times New Roman"'>&nbsp;&nbsp;&nbsp;</span></span></span><![endif]><span>取号<o:p></o:p></span></p>
<p class=MsoListParagraphCxSpLast style='margin-left:18.0pt;text-indent:-18.0pt;mso-list:l0 level1 lfo1'><![if !supportLists]><span style='mso-fareast-font-family:Calibri'><span style='mso-list:Ignore'>2.<span style='font:7.0pt "Times New Roman"'>&nbsp;&nbsp;&nbsp;</span></span></span><![endif]><span>等候叫号<o:p></o:p></span></p>
<p class=MsoNormal><o:p>&nbsp;</o:p></p>
<p class=MsoListParagraph style='margin-left:18.0pt;text-indent:-18.0pt;mso-list:l1 level1 lfo2'><![if !supportLists]><span style='font-family:Symbol'><span style='mso-list:Ignore'>·<span style='font:7.0pt "Times New Roman"'>&nbsp;&nbsp;</span></span></span><![endif]><span>节假日不办理<o:p></o:p></span></p>
<table class=MsoTableGrid border=1 cellspacing=0 cellpadding=0 style='border-collapse:collapse;border:none;mso-yfti-tbllook:1184'>
<tr style='mso-yfti-irow:0'><td width=277 valign=top style='width:207.4pt;border:solid windowtext 1.0pt'><p class=MsoNormal><b><span>窗口</span></b><o:p></o:p></p></td><td width=277 valign=top style='width:207.4pt;border:solid windowtext 1.0pt'><p class=MsoNormal><b><span>时间</span></b><o:p></o:p></p></td></tr>
<tr style='mso-yfti-irow:1'><td width=277 valign=top style='border:solid windowtext 1.0pt'><p class=MsoNormal><span>综合窗口</span><o:p></o:p></p></td><td width=277 valign=top style='border:solid windowtext 1.0pt'><p class=MsoNormal><span lang=EN-US>9:00-12:00</span><o:p></o:p></p></td></tr>
</table>
<p class=MsoNormal><img width=120 height=80 src="file:///C:/Users/wang/AppData/Local/Temp/msohtmlclip1/01/clip_image002.png" v:shapes="图片_x0020_1"><o:p></o:p></p>
<!--EndFragment--></body></html>"""


def paste(page: Page, html: str) -> None:
    """What a browser does when Word's clipboard is pasted: a paste event with text/html."""
    page.locator(".ql-editor").evaluate(
        """(editor, html) => {
            const data = new DataTransfer();
            data.setData("text/html", html);
            data.setData("text/plain", "办理须知");
            editor.dispatchEvent(new ClipboardEvent("paste", {
                clipboardData: data, bubbles: true, cancelable: true}));
        }""",
        html,
    )


def fill_rest(page: Page, title: str | None = None) -> None:
    if title is not None:
        page.fill("input[name=title]", title)
    page.locator("select[name=channel]").nth(0).select_option("gov_website")


def stored(console: Console) -> tuple[str, list[tuple[str, str]]]:
    """The newest submission's current body and its (file name, hash) images."""
    with console.app.db.read() as session:
        sub_id = session.scalar(select(func.max(Submission.id)))
        assert sub_id is not None
        version = submissions.get(session, sub_id).current
        return version.body_html, [(i.filename, i.sha256) for i in version.images]


def form_fields(page: Page, body: str, **more: Any) -> dict[str, Any]:
    return {
        "csrf_token": csrf(page),
        "title": "编辑器插入的图片",
        "body": body,
        "department": "sjgl",
        "channel": "gov_website",
        "publish_date": shanghai_tomorrow().isoformat(),
        "remark": "",
        **more,
    }


# --- over HTTP ---------------------------------------------------------------------------


def test_an_uploaded_image_is_stored_by_hash_and_served_back(console: Console, page: Page) -> None:
    sign_in(page, console.url, "wangfang", PASSWORDS["wangfang"])
    page.goto(f"{console.url}/submissions/new")

    answer = post_file(page, f"{console.url}/work/uploads/image", "现场.png", RED, "image/png")
    assert answer.status == 200, answer.text()
    assert answer.json() == {
        "url": f"/work/uploads/{sha(RED)}",
        "sha256": sha(RED),
        "filename": "现场.png",
    }
    assert console.app.blobs.get(sha(RED)) == RED

    served = page.request.get(f"{console.url}/work/uploads/{sha(RED)}")
    assert served.status == 200 and served.body() == RED
    assert served.headers["content-type"] == "image/png"
    assert "script-src 'self'" in served.headers["content-security-policy"]
    assert served.headers["x-content-type-options"] == "nosniff"

    bad = post_file(page, f"{console.url}/work/uploads/image", "photo.png", b"no", "image/png")
    assert bad.status == 422
    assert bad.json()["error"] == "image_invalid"
    assert "“photo.png”不是可发布的图片" in bad.json()["message"]
    renamed = post_file(page, f"{console.url}/work/uploads/image", "a.jpg", GREEN, "image/jpeg")
    assert renamed.status == 422 and "扩展名表明是 JPG 图片" in renamed.json()["message"]

    forged = post_file(page, f"{console.url}/work/uploads/image", "x.png", BLUE, "image/png", "")
    assert forged.status == 403 and console.app.blobs.get(sha(BLUE)) is None

    with console.app.db.session() as session:
        text = console.app.blobs.put(session, b"%PDF-1.4 not an image").sha256
    assert page.request.get(f"{console.url}/work/uploads/{text}").status == 404
    assert page.request.get(f"{console.url}/work/uploads/{'0' * 64}").status == 404
    assert page.request.get(f"{console.url}/work/uploads/../../etc").status == 404
    page.context.clear_cookies()
    assert page.request.get(f"{console.url}/work/uploads/{sha(RED)}").status == 401


def test_who_may_not_write_may_not_upload(console: Console, page: Page) -> None:
    sign_in(page, console.url, "lijun", PASSWORDS["lijun"])  # 科室负责人: reviews, never writes
    page.goto(f"{console.url}/todo")
    refused = post_file(page, f"{console.url}/work/uploads/image", "a.png", RED, "image/png")
    assert refused.status == 403
    assert "李军无权提交或修改稿件" in refused.json()["message"]
    word = post_file(
        page,
        f"{console.url}/work/uploads/docx",
        "稿件.docx",
        manuscript_docx(RED),
        "application/zip",
    )
    assert word.status == 403
    assert console.app.blobs.get(sha(RED)) is None


def test_a_word_manuscript_is_read_for_the_form(console: Console, page: Page) -> None:
    sign_in(page, console.url, "wangfang", PASSWORDS["wangfang"])
    page.goto(f"{console.url}/submissions/new")
    answer = post_file(
        page,
        f"{console.url}/work/uploads/docx",
        "通知.docx",
        manuscript_docx(GREEN),
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    )
    assert answer.status == 200, answer.text()
    read = answer.json()
    assert read["title"] == "区政务服务中心周六延时服务的通知"
    body = read["body_html"]
    assert "<h2>一、服务时间</h2>" in body
    assert "<strong>9:00至12:00</strong>" in body
    assert "<td>综合窗口</td>" in body
    image = sha(GREEN)
    assert re.search(rf'<img src="/work/uploads/{image}" data-filename="[^"]+\.png"', body)
    assert console.app.blobs.get(image) == GREEN
    assert any("TIFF" in w and "已略去" in w for w in read["warnings"]), read["warnings"]

    refused = post_file(page, f"{console.url}/work/uploads/docx", "通知.docx", b"PK no", "x/y")
    assert refused.status == 422
    assert refused.json()["error"] == "docx_invalid"
    assert "不是有效的 Word 文档" in refused.json()["message"]


def test_editor_images_in_the_body_become_the_versions_image_files(
    console: Console, page: Page
) -> None:
    sign_in(page, console.url, "wangfang", PASSWORDS["wangfang"])
    page.goto(f"{console.url}/submissions/new")
    for name, data in (("现场.png", RED), ("现场 2.png", GREEN)):
        assert post_file(page, f"{console.url}/work/uploads/image", name, data, "image/png").ok
    red, green = sha(RED), sha(GREEN)
    body = (
        f'<p>周六照常办理。<img src="/work/uploads/{red}" data-filename="现场.png"></p>\n'
        f'<p><img src="/work/uploads/{green}" data-filename="现场.png" alt="大厅"></p>\n'
        f'<p><img src="/work/uploads/{red}" data-filename="现场.png"></p>'
    )
    answer = page.request.post(
        f"{console.url}/submissions/new", multipart=form_fields(page, body, autofix="1")
    )
    assert answer.ok, answer.text()

    html, images = stored(console)
    # one file per content; a second image under a name already taken is renamed
    assert images == [("现场.png", red), (f"现场-{green[:8]}.png", green)]
    assert html.count(f'src="sanshen-image:{red}"') == 2
    assert f'<img src="sanshen-image:{green}" alt="大厅">' in html
    assert "/work/uploads/" not in html and "data-filename" not in html

    missing = "f" * 64
    refused = page.request.post(
        f"{console.url}/submissions/new",
        multipart=form_fields(page, f'<p><img src="/work/uploads/{missing}"></p>'),
    )
    assert refused.status == 422
    assert "在存储中找不到" in refused.text()


def test_the_autofix_box_reaches_the_draft(console: Console) -> None:
    def draft(ticked: bool) -> submissions.Draft:
        values = FormValues(title="t", body="<p>b</p>", autofix=ticked)
        return build_draft(values, Uploads([], None), None, console.app)

    assert draft(True).autofix is True
    assert draft(False).autofix is False


def test_an_editor_body_diffs_paragraph_by_paragraph() -> None:
    class Version:
        title = "通知"
        body_html = (
            "<h2>一、服务时间</h2>\n<p>每周六<strong>上午</strong>。</p>\n"
            "<ol><li>取号</li><li>等候</li></ol>\n"
            "<table><tbody><tr><td>窗口</td><td>时间</td></tr></tbody></table>\n"
            '<p><img src="sanshen-image:ab"></p>'
        )

    assert pages.text_lines(Version()) == [  # type: ignore[arg-type]
        "标题：通知",
        "一、服务时间",
        "每周六上午。",
        "取号",
        "等候",
        "窗口 | 时间",
        "[图片 sanshen-image:ab]",
    ]


# --- in Chromium -------------------------------------------------------------------------


def test_writing_in_the_editor_with_an_image_and_a_word_manuscript(
    console: Console, page: Page, tmp_path: Path
) -> None:
    sign_in(page, console.url, "wangfang", PASSWORDS["wangfang"])
    page.goto(f"{console.url}/submissions/new")
    editor = page.locator(".ql-editor")
    expect(editor).to_be_visible()
    expect(page.locator(".ql-toolbar button.ql-bold")).to_have_attribute("title", "加粗（Ctrl+B）")

    status = page.locator("#editor-status")
    not_word = tmp_path / "扫描件.docx"
    not_word.write_bytes(b"%PDF-1.4")
    page.set_input_files("#docx-file", str(not_word))
    expect(status).to_contain_text("文件 扫描件.docx 不是有效的 Word 文档")
    expect(status).to_have_attribute("role", "alert")

    word = tmp_path / "延时服务通知.docx"
    word.write_bytes(manuscript_docx(GREEN))
    page.set_input_files("#docx-file", str(word))
    expect(status).to_contain_text("已导入 延时服务通知.docx，请注意：")
    expect(status.locator("li")).to_contain_text(["TIFF 格式，无法发布"])
    expect(page.locator("input[name=title]")).to_have_value("区政务服务中心周六延时服务的通知")
    expect(editor.locator("h2")).to_have_count(2)
    expect(editor.locator("table td")).to_have_count(4)
    expect(editor.locator(f'img[src="/work/uploads/{sha(GREEN)}"]')).to_have_count(1)

    editor.click()
    page.keyboard.press("Control+End")
    page.keyboard.press("Enter")
    page.keyboard.type("办理地点：")
    page.keyboard.press("Control+b")
    page.keyboard.type("区行政服务中心一楼")
    page.keyboard.press("Control+b")
    page.keyboard.press("Enter")
    picture = tmp_path / "大厅.png"
    picture.write_bytes(RED)
    with page.expect_file_chooser() as chooser:
        page.click(".ql-toolbar button.ql-image")
    chooser.value.set_files(str(picture))
    expect(editor.locator(f'img[src="/work/uploads/{sha(RED)}"]')).to_have_count(1)
    expect(editor.locator("strong", has_text="区行政服务中心一楼")).to_have_count(1)

    fill_rest(page)
    page.click("form.subform button[type=submit]")
    expect(page.locator(".flash-ok")).to_contain_text("已提交，等待初审")

    html, images = stored(console)
    names = dict((h, n) for n, h in images)
    assert set(names) == {sha(GREEN), sha(RED)}
    assert names[sha(RED)] == "大厅.png"
    assert "<h2>一、服务时间</h2>" in html and "<h2>二、现场照片</h2>" in html
    assert "<table>" in html and "<td>综合窗口</td>" in html
    assert "<strong>9:00至12:00</strong>" in html
    assert "<strong>区行政服务中心一楼</strong>" in html
    assert f'src="sanshen-image:{sha(GREEN)}"' in html
    assert f'src="sanshen-image:{sha(RED)}"' in html
    assert "&nbsp;" not in html


def test_text_pasted_from_word_keeps_its_structure_and_drops_the_noise(
    console: Console, page: Page
) -> None:
    sign_in(page, console.url, "wangfang", PASSWORDS["wangfang"])
    page.goto(f"{console.url}/submissions/new")
    page.locator(".ql-editor").click()
    paste(page, WORD_PASTE)
    expect(page.locator(".ql-editor h2")).to_have_text("办理须知")
    expect(page.locator("#editor-status")).to_contain_text("1 张图片无法随文字粘贴")

    fill_rest(page, "办理须知")
    page.click("form.subform button[type=submit]")
    expect(page.locator(".flash-ok")).to_contain_text("已提交，等待初审")

    html, images = stored(console)
    assert images == []
    assert "<h2>办理须知</h2>" in html
    assert "请携带<strong>身份证原件</strong>到<strong>综合窗口</strong>办理。" in html
    assert "<ol><li>取号</li><li>等候叫号</li></ol>" in html
    assert "<ul><li>节假日不办理</li></ul>" in html
    assert re.search(r"<table><tbody><tr><td><strong>窗口</strong></td>", html)
    assert "<td>9:00-12:00</td>" in html
    for noise in ("mso", "Mso", "o:p", "style", "class=", "file:", "1.", "·", "&nbsp;"):
        assert noise not in html, noise


def test_a_revision_shows_and_keeps_the_images_by_hash(console: Console, page: Page) -> None:
    with console.app.db.session() as session:
        sub_id = submissions.create(
            session,
            console.app.blobs,
            author="wangfang",
            department="sjgl",
            draft=demo.demo_draft(("gov_website",), publish_date=shanghai_tomorrow()),
        ).id
    sign_in(page, console.url, "wangfang", PASSWORDS["wangfang"])
    page.goto(f"{console.url}/submissions/{sub_id}/revise")
    photo = sha(demo.tiny_png())
    shown = page.locator(f'.ql-editor img[src="/submissions/{sub_id}/images/{photo}"]')
    expect(shown).to_have_count(1)
    page.wait_for_function(
        "img => img.complete && img.naturalWidth > 0", arg=shown.element_handle()
    )
    page.locator(".ql-editor p").first.click()
    page.keyboard.press("End")
    page.keyboard.type("本周六起实施。")
    page.click("form.subform button[type=submit]")
    expect(page.locator(".flash-ok")).to_contain_text("已生成第 2 版")

    with console.app.db.read() as session:
        old, new = submissions.get(session, sub_id).versions
        assert [(i.filename, i.sha256) for i in new.images] == [("photo.png", photo)]
        assert [i.sha256 for i in new.images] == [i.sha256 for i in old.images]
        assert "本周六起实施。" in new.body_html
        assert new.body_html.count(f'src="sanshen-image:{photo}"') == 1


def test_without_the_editor_script_the_textarea_is_the_body(console: Console, page: Page) -> None:
    page.route("**/static/vendor/quill/quill.js", lambda route: route.abort())
    sign_in(page, console.url, "wangfang", PASSWORDS["wangfang"])
    page.goto(f"{console.url}/submissions/new")
    expect(page.locator("#editor")).to_be_hidden()
    page.fill("textarea[name=body]", "<p>没有编辑器也能提交。</p>")
    fill_rest(page, "纯文本框提交")
    page.click("form.subform button[type=submit]")
    expect(page.locator(".flash-ok")).to_contain_text("已提交，等待初审")
    html, _ = stored(console)
    assert html == "<p>没有编辑器也能提交。</p>"
