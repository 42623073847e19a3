"""Screenshots of the submission form with its editor, at 1280 and 360 px wide (full pages).

    /work/venv/bin/python docs/screenshots/editor.py

Starts the console over a temporary demo database (no worker) and, as 王芳 (供稿人), opens
新建稿件, reads a Word manuscript (a heading, a bold run, a table, an image) through 从 Word
导入 and puts the cursor in its table, so that the table tools show in the toolbar:
- editor-form-1280.png, editor-form-360.png.
"""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

import docx
from docx.shared import Cm
from playwright.sync_api import sync_playwright
from shots import HERE, WIDTHS, demo_console

from orchestrator import demo
from tests.console.conftest import CHROMIUM, CHROMIUM_ARGS


def manuscript() -> bytes:
    document = docx.Document()
    document.add_heading("区政务服务中心周六延时服务的通知", level=1)
    document.add_heading("一、服务时间", level=2)
    paragraph = document.add_paragraph("自下月起，每周六上午")
    paragraph.add_run("9:00至12:00").bold = True
    paragraph.add_run("提供延时服务，可办理社保、医保、户籍等138项高频事项。")
    table = document.add_table(rows=3, cols=2)
    rows = (("窗口", "可办事项"), ("综合窗口", "企业开办、社保"), ("户籍窗口", "户口迁移"))
    for row, cells in zip(table.rows, rows, strict=True):
        for cell, text in zip(row.cells, cells, strict=True):
            cell.text = text
    document.add_heading("二、现场照片", level=2)
    document.add_picture(io.BytesIO(demo.tiny_png(64, 40, (60, 120, 190))), width=Cm(6))
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def main() -> None:
    word = Path(tempfile.mkdtemp(prefix="sanshen-editor-")) / "延时服务通知.docx"
    word.write_bytes(manuscript())
    with demo_console() as (url, _app), sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        for width, viewport in WIDTHS.items():
            page = browser.new_page(viewport=viewport, locale="zh-CN", timezone_id="Asia/Shanghai")
            page.goto(f"{url}/login")
            page.fill("input[name=username]", "wangfang")
            page.fill("input[name=password]", "demo-pass-1")
            page.click("button[type=submit]")
            page.wait_for_load_state()
            page.goto(f"{url}/submissions/new")
            page.set_input_files("#docx-file", str(word))
            page.locator("#editor-status").get_by_text("已导入").wait_for()
            page.locator(".ql-editor td").nth(2).click()
            page.locator(".table-tools").wait_for()
            page.screenshot(path=HERE / f"editor-form-{width}.png", full_page=True)
            page.close()
        browser.close()


if __name__ == "__main__":
    main()
