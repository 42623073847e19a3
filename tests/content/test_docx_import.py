"""Word manuscripts in: real .docx files made with python-docx, converted and read back element
by element; the command line and the API take them as a submission's content."""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import stat
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docx
import lxml.html
import pytest
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.shared import Inches
from lxml.html import HtmlElement
from PIL import Image
from sqlalchemy import select

from channels.rendering import clean_html
from orchestrator import docx_import
from orchestrator.docx_import import Manuscript, read_manuscript
from orchestrator.docx_import import package as docx_package
from orchestrator.errors import InvalidInput
from orchestrator.models import Version
from tests.api.conftest import Server, b64, start_server, stop_server, today_local
from tests.clock import shanghai_tomorrow
from tests.orchestrator.conftest import ORG_YAML
from tests.orchestrator.test_cli import as_json, database, sanshen

TITLE = "青浦区“一网通办”再添新功能"
LEAD = "近日，青浦区政务服务办公室推出“一网通办”新功能，方便群众办事。"
BOLD = "“一网通办”新功能"


def png(rgb: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), rgb).save(out, "PNG")
    return out.getvalue()


def jpeg(rgb: tuple[int, int, int] = (30, 30, 200)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), rgb).save(out, "JPEG")
    return out.getvalue()


def saved(document: Any) -> bytes:
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def blank(core_title: str = "") -> Any:
    document = docx.Document()
    document.core_properties.title = core_title
    return document


def article(photo: bytes, snapshot: bytes) -> bytes:
    """A manuscript as the office writes one: a title, a lead with bold text, two sections with
    lists, a table and two images with their captions."""
    document = blank("模板标题")
    document.add_heading(TITLE, level=0)
    lead = document.add_paragraph("近日，青浦区政务服务办公室推出")
    lead.add_run(BOLD).bold = True
    lead.add_run("，方便群众办事。")
    document.add_heading("一、主要内容", level=1)
    document.add_paragraph("线上预约", style="List Bullet")
    document.add_paragraph("材料预审", style="List Bullet")
    for step in ("登录随申办", "选择事项", "提交材料"):
        document.add_paragraph(step, style="List Number")
    document.add_picture(io.BytesIO(photo), width=Inches(2))
    document.add_paragraph("图 1 政务服务大厅", style="Caption")
    document.add_paragraph("")  # Word's empty lines between blocks
    document.add_heading("二、办理数据", level=1)
    document.add_heading("（一）各窗口办件量", level=2)
    table = document.add_table(rows=3, cols=2)
    for row, cells in zip(
        table.rows, (("窗口", "办件量"), ("综合窗口", "1,024"), ("企业窗口", "512")), strict=True
    ):
        for cell, text in zip(row.cells, cells, strict=True):
            cell.text = text
    inline = document.add_paragraph("现场照片：")
    inline.add_run().add_picture(io.BytesIO(snapshot), width=Inches(1))
    document.add_paragraph("图 2 自助服务区")
    document.add_paragraph("（青浦区政务服务办公室供稿）")
    return saved(document)


def parsed(body_html: str) -> HtmlElement:
    return lxml.html.fragment_fromstring(body_html, create_parent="div")


def text(element: HtmlElement) -> str:
    return " ".join(element.text_content().split())


def pieces(element: HtmlElement) -> str:
    """The texts of a list's items or a table's cells, one space apart."""
    return " ".join(t.strip() for t in element.itertext() if t.strip())


def shape(element: HtmlElement) -> list[Any]:
    """Tags, attributes and text, depth first: what cleaning must not change."""
    return [
        (e.tag, sorted((k, v) for k, v in e.attrib.items() if k != "rel"), (e.text or "").strip())
        for e in element.iter()
    ]


@pytest.fixture(scope="module")
def images() -> tuple[bytes, bytes]:
    return png(), jpeg()


@pytest.fixture(scope="module")
def converted(images: tuple[bytes, bytes]) -> Manuscript:
    return read_manuscript(article(*images), "稿件.docx")


# --- the conversion -------------------------------------------------------------------------


def test_the_title_is_the_first_heading_taken_out_of_the_body(converted: Manuscript) -> None:
    assert converted.title == TITLE
    assert TITLE not in converted.body_html
    assert "模板标题" not in converted.body_html


def test_blocks_keep_their_order_and_headings_start_at_h2(converted: Manuscript) -> None:
    blocks = [
        (child.tag, pieces(child) if child.tag in ("ul", "ol", "table") else text(child))
        for child in parsed(converted.body_html)
    ]
    assert blocks == [
        ("p", LEAD),
        ("h2", "一、主要内容"),
        ("ul", "线上预约 材料预审"),
        ("ol", "登录随申办 选择事项 提交材料"),
        ("p", ""),  # the first image
        ("p", "图 1 政务服务大厅"),
        ("h2", "二、办理数据"),
        ("h3", "（一）各窗口办件量"),
        ("table", "窗口 办件量 综合窗口 1,024 企业窗口 512"),
        ("p", "现场照片："),  # with the second image
        ("p", "图 2 自助服务区"),
        ("p", "（青浦区政务服务办公室供稿）"),
    ]


def test_bold_lists_and_table_cells_are_kept(converted: Manuscript) -> None:
    body = parsed(converted.body_html)
    assert [text(s) for s in body.iter("strong")] == [BOLD]
    assert [text(li) for li in body.find("ul").iter("li")] == ["线上预约", "材料预审"]
    assert [text(li) for li in body.find("ol").iter("li")] == ["登录随申办", "选择事项", "提交材料"]
    rows = body.find("table").findall("tbody/tr")
    assert [[text(cell) for cell in row] for row in rows] == [
        ["窗口", "办件量"],
        ["综合窗口", "1,024"],
        ["企业窗口", "512"],
    ]
    assert all(cell.tag == "td" and not len(cell) for row in rows for cell in row)


def test_images_stand_where_they_stood_named_by_their_content(
    converted: Manuscript, images: tuple[bytes, bytes]
) -> None:
    photo, snapshot = images
    expected = [
        f"图片-{hashlib.sha256(photo).hexdigest()[:12]}.png",
        f"图片-{hashlib.sha256(snapshot).hexdigest()[:12]}.jpg",
    ]
    assert [(i.filename, i.data) for i in converted.images] == list(
        zip(expected, images, strict=True)
    )
    blocks = list(parsed(converted.body_html))
    first, second = blocks[4].find("img"), blocks[9].find("img")
    assert first.get("src") == expected[0] and second.get("src") == expected[1]
    # no alt text of their own: each takes its caption's
    assert first.get("alt") == "图 1 政务服务大厅" and second.get("alt") == "图 2 自助服务区"
    assert [img.get("src") for img in parsed(converted.body_html).iter("img")] == expected


def test_no_word_styling_is_left(converted: Manuscript) -> None:
    body = parsed(converted.body_html)
    allowed = {"img": {"src", "alt"}}
    assert all(set(e.attrib) <= allowed.get(e.tag, set()) for e in body.iter())
    assert not {e.tag for e in body.iter()} & {"span", "h1", "div"} - {body.tag}
    assert all(text(p) or p.find("img") is not None for p in body.iter("p"))
    assert converted.warnings == []


def test_the_body_survives_the_sanitiser_unchanged(converted: Manuscript) -> None:
    cleaned = clean_html(converted.body_html)
    assert shape(parsed(cleaned)) == shape(parsed(converted.body_html))
    assert cleaned == converted.body_html


def test_without_a_heading_the_title_is_the_core_properties_then_the_file_name() -> None:
    document = blank("青浦区政务服务办公室工作简报")
    document.add_paragraph("正文第一段。")
    assert read_manuscript(saved(document), "简报.docx").title == "青浦区政务服务办公室工作简报"
    document.core_properties.title = ""
    untitled = read_manuscript(saved(document), "2026年第12期 工作简报.docx")
    assert untitled.title == "2026年第12期 工作简报"
    assert untitled.body_html == "<p>正文第一段。</p>"


def test_without_a_title_heading_the_first_heading_is_the_title() -> None:
    document = blank()
    document.add_paragraph("导语。")
    document.add_heading("一级标题", level=1)
    document.add_heading("二级标题", level=2)
    document.add_heading("三级标题", level=3)
    document.add_paragraph("正文。")
    manuscript = read_manuscript(saved(document), "x.docx")
    assert manuscript.title == "一级标题"
    assert [(c.tag, text(c)) for c in parsed(manuscript.body_html)] == [
        ("p", "导语。"),
        ("h2", "二级标题"),
        ("h3", "三级标题"),
        ("p", "正文。"),
    ]


def test_a_centred_first_paragraph_is_the_title() -> None:
    """How most manuscripts set their title: by hand, not with the Title style."""
    document = blank("模板标题")
    title = document.add_paragraph("关于做好年末政务信息报送工作的通知")
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    document.add_paragraph("各科室：")
    manuscript = read_manuscript(saved(document), "x.docx")
    assert manuscript.title == "关于做好年末政务信息报送工作的通知"
    assert manuscript.body_html == "<p>各科室：</p>"


def test_the_same_image_twice_is_one_file_referenced_twice() -> None:
    photo = png((10, 120, 10))
    document = blank()
    document.add_heading("标题", level=1)
    document.add_picture(io.BytesIO(photo))
    document.add_paragraph("中间一段。")
    document.add_picture(io.BytesIO(photo))
    manuscript = read_manuscript(saved(document), "x.docx")
    name = f"图片-{hashlib.sha256(photo).hexdigest()[:12]}.png"
    assert [(i.filename, i.data) for i in manuscript.images] == [(name, photo)]
    assert [img.get("src") for img in parsed(manuscript.body_html).iter("img")] == [name, name]


def with_media_replaced(data: bytes, old: bytes, name: str, new: bytes, mime: str) -> bytes:
    """The package with the media file holding `old` swapped for `new`, renamed `name`."""
    source = zipfile.ZipFile(io.BytesIO(data))
    media = next(i.filename for i in source.infolist() if source.read(i) == old)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for entry in source.infolist():
            content = source.read(entry)
            if entry.filename == media:
                target.writestr(f"word/media/{name}", new)
                continue
            if entry.filename == "word/_rels/document.xml.rels":
                content = content.replace(
                    media.removeprefix("word/").encode(), f"media/{name}".encode()
                )
            if entry.filename == "[Content_Types].xml":
                extension = name.rpartition(".")[2]
                default = f'<Default Extension="{extension}" ContentType="{mime}"/>'
                content = content.replace(b"</Types>", default.encode() + b"</Types>")
            target.writestr(entry, content)
    return out.getvalue()


def test_an_image_the_platforms_refuse_is_left_out_with_a_warning() -> None:
    kept, chart = png((1, 2, 3)), png((4, 5, 6))
    document = blank()
    document.add_heading("标题", level=1)
    document.add_picture(io.BytesIO(chart))
    document.add_paragraph("图 1 办件量走势")
    document.add_picture(io.BytesIO(kept))
    emf = b"\x01\x00\x00\x00\x6c\x00\x00\x00" + b"\x00" * 32 + b" EMF" + b"\x00" * 64
    data = with_media_replaced(saved(document), chart, "chart.emf", emf, "image/x-emf")
    manuscript = read_manuscript(data, "x.docx")
    assert [i.data for i in manuscript.images] == [kept]
    assert [img.get("src") for img in parsed(manuscript.body_html).iter("img")] == [
        manuscript.images[0].filename
    ]
    assert "图 1 办件量走势" in manuscript.body_html  # the caption stays, for a person to see
    (warning,) = manuscript.warnings
    assert warning.startswith("第 1 张图片是 EMF 格式") and "已略去" in warning


def test_what_cannot_be_kept_is_said_in_chinese() -> None:
    document = blank()
    document.add_heading("标题", level=1)
    paragraph = document.add_paragraph("面积 100 m")
    paragraph.add_run("2").font.superscript = True
    paragraph.add_run("，含 CO")
    paragraph.add_run("2").font.subscript = True
    paragraph.add_run("，注")
    paragraph.add_run("甲").font.superscript = True
    paragraph.add_run("；")
    paragraph.add_run("已删去的字").font.strike = True
    manuscript = read_manuscript(saved(document), "x.docx")
    assert manuscript.body_html == "<p>面积 100 m²，含 CO₂，注甲；已删去的字</p>"
    assert manuscript.warnings == [
        "上标或下标格式无法保留，已改为普通文字，请核对",
        "删除线格式无法保留，相应文字已保留为普通文字，请核对是否应删去",
    ]


# --- refusals -------------------------------------------------------------------------------


def refusal(data: bytes, filename: str = "稿件.docx") -> InvalidInput:
    with pytest.raises(InvalidInput) as refused:
        read_manuscript(data, filename)
    return refused.value


def zipped(**entries: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    return out.getvalue()


@pytest.mark.parametrize(
    "data",
    [
        "这是一份纯文本稿件".encode(),
        png(),
        zipped(**{"readme.txt": b"not a document"}),
        b"PK\x03\x04" + b"\x00" * 40,
        b"",
    ],
    ids=["text", "png", "zip-without-document", "broken-zip", "empty-file"],
)
def test_what_is_not_a_word_document_is_refused(data: bytes) -> None:
    refused = refusal(data, "通知.docx")
    assert refused.code == "docx_invalid"
    assert refused.message.startswith("文件 通知.docx 不是有效的 Word 文档（.docx）")


def test_a_document_with_nothing_but_a_title_is_empty() -> None:
    document = blank()
    assert refusal(saved(document)).code == "docx_empty"
    document.add_heading("只有标题", level=1)
    document.add_paragraph("　")
    assert refusal(saved(document)).code == "docx_empty"


OLE_DOC = docx_import.OLE_MAGIC + b"\x00" * 504 + "WordDocument".encode("utf-16-le")


def test_a_legacy_doc_without_libreoffice_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda _name: None)
    refused = refusal(OLE_DOC, "旧稿件.doc")
    assert refused.code == "doc_not_supported"
    assert "旧稿件.doc" in refused.message and "另存为 .docx" in refused.message


FAKE_OFFICE = """#!{python}
import json, pathlib, shutil, sys
pathlib.Path({log!r}).write_text(json.dumps(sys.argv[1:]))
out = pathlib.Path(sys.argv[sys.argv.index("--outdir") + 1])
out.mkdir(parents=True, exist_ok=True)
source = pathlib.Path(sys.argv[-1])
shutil.copy({converted!r}, out / (source.stem + ".docx"))
"""


def test_a_legacy_doc_goes_through_libreoffice(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A stand-in for soffice: what it is asked, and the .docx it leaves in --outdir."""
    document = blank()
    document.add_heading("旧版稿件的标题", level=1)
    document.add_paragraph("旧版稿件的正文。")
    (tmp_path / "converted.docx").write_bytes(saved(document))
    office = tmp_path / "soffice"
    office.write_text(
        FAKE_OFFICE.format(
            python=sys.executable,
            log=str(tmp_path / "argv.json"),
            converted=str(tmp_path / "converted.docx"),
        )
    )
    office.chmod(office.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setattr(shutil, "which", lambda name: str(office) if name == "soffice" else None)
    manuscript = read_manuscript(OLE_DOC, "旧稿件.doc")
    assert (manuscript.title, manuscript.body_html) == ("旧版稿件的标题", "<p>旧版稿件的正文。</p>")
    argv = json.loads((tmp_path / "argv.json").read_text())
    assert argv[0].startswith("-env:UserInstallation=file:///")
    assert argv[1:5] == ["--headless", "--norestore", "--convert-to", "docx"]
    assert not Path(argv[-1]).exists()  # its temporary folder is gone


def test_a_password_protected_document_is_named_as_such() -> None:
    encrypted = docx_import.OLE_MAGIC + b"\x00" * 504 + "EncryptedPackage".encode("utf-16-le")
    assert refusal(encrypted).code == "docx_encrypted"


def test_size_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    document = blank()
    document.add_paragraph("正文。")
    monkeypatch.setattr(docx_package, "MAX_BYTES", 1024)
    too_large = refusal(saved(document))
    assert too_large.code == "docx_too_large" and "上限" in too_large.message
    monkeypatch.undo()
    # 2 MB of zeros packs into a few KB: the unpacked size is what counts
    bomb = zipped(**{"word/document.xml": b"\x00" * 2 * 1024 * 1024})
    monkeypatch.setattr(docx_package, "MAX_UNCOMPRESSED", 1024 * 1024)
    assert len(bomb) < 1024 * 1024
    assert refusal(bomb).code == "docx_too_large"


# --- the command line -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def cli_module_data(
    tmp_path_factory: pytest.TempPathFactory, images: tuple[bytes, bytes]
) -> tuple[Path, str | None]:
    """One initialised data folder for the module, and on PostgreSQL the module's own database
    (each test's DATABASE_URL is a fresh one of its own, which `init` never saw)."""
    tmp_path = tmp_path_factory.mktemp("cli")
    (tmp_path / "org.yaml").write_text(ORG_YAML, encoding="utf-8")
    (tmp_path / "稿件.docx").write_bytes(article(*images))
    (tmp_path / "body.html").write_text("<p>正文</p>", encoding="utf-8")
    (tmp_path / "extra.png").write_bytes(png((9, 9, 9)))
    assert sanshen(tmp_path / "d", "init", str(tmp_path / "org.yaml")).returncode == 0
    return tmp_path, os.environ.get("DATABASE_URL")


@pytest.fixture
def cli_data(cli_module_data: tuple[Path, str | None], monkeypatch: pytest.MonkeyPatch) -> Path:
    path, database_url = cli_module_data
    if database_url:
        monkeypatch.setenv("DATABASE_URL", database_url)
    return path


def create_args(data: Path, *more: str) -> list[str]:
    return [
        "submission",
        "create",
        "--author",
        "author",
        "--department",
        "sjgl",
        "--channel",
        f"gov_website:{shanghai_tomorrow()}",
        "--json",
        *more,
    ]


def stored_bodies(d: Path) -> list[str]:
    with database(d) as db, db.read() as session:
        return [str(b) for b in session.scalars(select(Version.body_html).order_by(Version.id))]


def test_the_command_line_makes_a_submission_from_a_docx(
    cli_data: Path, images: tuple[bytes, bytes]
) -> None:
    created = sanshen(
        cli_data / "d",
        *create_args(
            cli_data, "--docx", str(cli_data / "稿件.docx"), "--image", str(cli_data / "extra.png")
        ),
    )
    assert created.returncode == 0, created.stdout + created.stderr
    result = as_json(created)
    assert result["title"] == TITLE and result["warnings"] == []
    shas = [hashlib.sha256(i).hexdigest() for i in images]
    assert [i["sha256"] for i in result["images"]] == [
        *shas,
        hashlib.sha256(png((9, 9, 9))).hexdigest(),
    ]
    body = parsed(stored_bodies(cli_data / "d")[-1])
    assert [img.get("src") for img in body.iter("img")] == [f"sanshen-image:{s}" for s in shas]
    assert [h.tag for h in body if h.tag.startswith("h")] == ["h2", "h2", "h3"]

    revised = sanshen(
        cli_data / "d",
        "submission",
        "revise",
        str(result["id"]),
        "--editor",
        "author",
        "--docx",
        str(cli_data / "稿件.docx"),
        "--title",
        "另拟的标题",
        "--channel",
        f"gov_website:{shanghai_tomorrow()}",
    )
    assert revised.returncode == 0, revised.stdout + revised.stderr
    assert "另拟的标题（第 2 版" in revised.stdout
    first, second = stored_bodies(cli_data / "d")[-2:]
    assert second == first


def test_the_command_line_prints_what_was_left_out(cli_data: Path) -> None:
    document = blank()
    document.add_heading("带删除线的稿件", level=1)
    document.add_paragraph("正文").add_run("删去").font.strike = True
    (cli_data / "struck.docx").write_bytes(saved(document))
    args = create_args(cli_data, "--docx", str(cli_data / "struck.docx"))
    created = sanshen(cli_data / "d", *[a for a in args if a != "--json"])
    assert created.returncode == 0, created.stdout + created.stderr
    assert "带删除线的稿件" in created.stdout
    assert "注意：删除线格式无法保留" in created.stdout


@pytest.mark.parametrize(
    ("more", "code"),
    [
        (["--docx", "稿件.docx", "--body", "body.html"], "docx_with_body"),
        (["--title", "标题"], "body_required"),
        (["--body", "body.html"], "title_required"),
        (["--docx", "body.html"], "docx_invalid"),
        (["--docx", "没有这个文件.docx"], "file_not_found"),
    ],
)
def test_the_command_line_refuses_in_chinese(cli_data: Path, more: list[str], code: str) -> None:
    given = [str(cli_data / m) if m.endswith((".docx", ".html")) else m for m in more]
    refused = sanshen(cli_data / "d", *create_args(cli_data, *given))
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert as_json(refused)["error"] == code


# --- the API --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = start_server(tmp_path_factory.mktemp("manuscripts") / "data")
    yield server
    stop_server(server)


DOCX_MIME = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def test_the_api_converts_then_the_submission_takes_it(
    api: Server, images: tuple[bytes, bytes]
) -> None:
    writer = api.as_("wangfang")
    reply = writer.post("/manuscripts", files={"file": ("稿件.docx", article(*images), DOCX_MIME)})
    assert reply.status_code == 200, reply.text
    manuscript = reply.json()
    assert set(manuscript) == {"title", "body_html", "images", "warnings"}
    assert manuscript["title"] == TITLE and manuscript["warnings"] == []
    assert [i["data_base64"] for i in manuscript["images"]] == [b64(i) for i in images]

    created = writer.post(
        "/submissions",
        json={
            "title": manuscript["title"],
            "body_html": manuscript["body_html"],
            "images": manuscript["images"],
            "channels": [{"channel": "gov_website", "publish_date": today_local()}],
        },
    )
    assert created.status_code == 201, created.text
    current = created.json()["current"]
    shas = [hashlib.sha256(i).hexdigest() for i in images]
    assert [i["sha256"] for i in current["images"]] == shas
    assert [img.get("src") for img in parsed(current["body_html"]).iter("img")] == [
        f"sanshen-image:{s}" for s in shas
    ]


def test_the_api_refuses_what_is_not_a_manuscript(api: Server) -> None:
    reply = api.as_("wangfang").post(
        "/manuscripts", files={"file": ("通知.docx", b"not a document", DOCX_MIME)}
    )
    assert reply.status_code == 422, reply.text
    assert reply.json()["error"] == "docx_invalid" and "通知.docx" in reply.json()["message"]
    missing = api.as_("wangfang").post("/manuscripts", data={"other": "x"})
    assert missing.status_code == 422 and missing.json()["error"] == "invalid_input"


def test_only_those_who_write_may_convert(api: Server, images: tuple[bytes, bytes]) -> None:
    upload = {"file": ("稿件.docx", article(*images), DOCX_MIME)}
    assert api.as_("zhouzh").post("/manuscripts", files=upload).status_code == 200  # 综合科
    refused = api.as_("lijun").post("/manuscripts", files=upload)  # 科室负责人
    assert refused.status_code == 403 and refused.json()["error"] == "not_permitted"
    assert api.client().post("/manuscripts", files=upload).status_code == 401


def test_a_browser_session_converts_with_its_csrf_token(
    api: Server, images: tuple[bytes, bytes]
) -> None:
    client, csrf = api.signed_in("wangfang")
    upload = {"file": ("稿件.docx", article(*images), DOCX_MIME)}
    assert client.post("/manuscripts", files=upload).status_code == 403
    reply = client.post("/manuscripts", files=upload, headers={"X-CSRF-Token": csrf})
    assert reply.status_code == 200, reply.text
