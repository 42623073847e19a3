"""/stats and /bulletins served by a real `uvicorn orchestrator.api:api` process on loopback,
over the seeded October (see test_statistics), signed in with an API token or a browser
session (cookie + CSRF token)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from io import BytesIO
from pathlib import Path
from urllib.parse import unquote

import httpx
import openpyxl
import pytest
from sqlalchemy import select

from orchestrator.app import App
from orchestrator.models import ArchiveEntry
from orchestrator.web import auth
from tests.orchestrator.conftest import PASSWORDS
from tests.reports.test_statistics import seeded, seeded_database  # noqa: F401

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(
    seeded: App,  # noqa: F811
    seeded_database: str | None,  # noqa: F811
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[str]:
    port = free_port()
    env = os.environ | {
        "SANSHEN_DATA_DIR": str(seeded.settings.data_dir),
        "SANSHEN_KDF_PROFILE": "min",
        "SANSHEN_REDIS_URL": "redis://127.0.0.1:9/15",  # never used by these pages
    }
    if seeded_database:
        env["DATABASE_URL"] = seeded_database
    log = tmp_path_factory.mktemp("api") / "api.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "orchestrator.api:api", "--host", "127.0.0.1",
             "--port", str(port)],
            env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(url, process, log)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def wait_until_up(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError(f"the API did not start:\n{log.read_text()[-3000:]}")


def token_for(app: App, username: str) -> str:
    with app.db.session() as session:
        token, _row = auth.create_token(session, username, "统计测试")
    return token


@pytest.fixture(scope="module")
def office(seeded: App, server: str) -> Iterator[httpx.Client]:  # noqa: F811
    """综合科 (general_office) with a token."""
    headers = {"Authorization": f"Bearer {token_for(seeded, 'zhk')}"}
    with httpx.Client(base_url=server, headers=headers, timeout=30) as client:
        yield client


def test_stats_page_shows_the_figures(office: httpx.Client) -> None:
    page = office.get("/stats", params={"at": "2026-10"})
    assert page.status_code == 200, page.text
    html = page.text
    assert "统计 · 2026年10月" in html
    assert '<b id="adoption-rate">75.0%</b>' in html
    assert html.count("<svg") == 3 and "各审核环节用时（小时）" in html
    assert "数据管理发展科" in html and "己：逾期未发" in html
    depts = html.split('id="table-departments"')[1].split("</section>")[0]
    assert "复审退回" in depts and "终审驳回" in depts
    assert "初审退回" not in depts  # all-zero stage columns are left out of the page
    ranking = html.split('id="table-ranking"')[1].split("</section>")[0]
    assert ranking.index("数据管理发展科") < ranking.index("综合科")
    assert 'href="/stats.xlsx?period=month&amp;at=2026-10"' in html


def test_stats_page_filters_and_refusals(office: httpx.Client) -> None:
    quarter = office.get("/stats", params={"period": "quarter", "at": "2026-10-15",
                                           "department": "zhk"})  # fmt: skip
    assert quarter.status_code == 200
    depts = quarter.text.split('id="table-departments"')[1].split("</section>")[0]
    assert "2026年第四季度" in quarter.text and "综合科" in depts and "数据管理发展科" not in depts
    empty = office.get("/stats", params={"at": "2025-03"})
    assert empty.status_code == 200 and "本期无数据" in empty.text
    bad = office.get("/stats", params={"at": "2026-13"})
    assert bad.status_code == 422 and "时间“2026-13”无效" in bad.text
    unknown = office.get("/stats", params={"department": "nope"})
    assert unknown.status_code == 422 and "没有代码为“nope”的科室" in unknown.text


def test_signed_out_browser_goes_to_sign_in(server: str) -> None:
    reply = httpx.get(f"{server}/stats", headers={"accept": "text/html"})
    assert reply.status_code == 303 and reply.headers["location"].startswith("/login")
    assert httpx.get(f"{server}/stats.xlsx").status_code == 401


def test_stats_workbook_download(office: httpx.Client) -> None:
    reply = office.get("/stats.xlsx", params={"at": "2026-10"})
    assert reply.status_code == 200 and reply.headers["content-type"] == XLSX
    disposition = unquote(reply.headers["content-disposition"])
    assert "信息发布统计-2026-10.xlsx" in disposition
    book = openpyxl.load_workbook(BytesIO(reply.content))
    upward = {row[0]: row for row in book["对上报送与采用"].iter_rows(values_only=True)}
    assert upward["合计"] == ("合计", 4, 3, "75.0%")


def test_bulletins_issue_list_and_download(seeded: App, server: str) -> None:  # noqa: F811
    cookie, csrf = auth.attempt_sign_in(seeded.db, "zhk", PASSWORDS["zhk"], seeded.settings)
    with httpx.Client(base_url=server, cookies={auth.SESSION_COOKIE: cookie}) as browser:
        refused = browser.post("/bulletins", data={"month": "2026-10"})
        assert refused.status_code == 403  # no CSRF token
        made = browser.post("/bulletins", data={"month": "2026-10", "csrf_token": csrf})
        again = browser.post("/bulletins", data={"month": "2026-10", "csrf_token": csrf})
        assert made.status_code == again.status_code == 303
        listing = browser.get("/bulletins")
    assert listing.status_code == 200 and 'id="issue-form"' in listing.text
    assert "2026年10月通报此前已存档" in listing.text  # the second post's message
    with seeded.db.read() as session:
        rows = list(session.scalars(select(ArchiveEntry).where(ArchiveEntry.period == "2026-10")))
    assert sorted(r.kind for r in rows) == ["bulletin_pdf", "bulletin_xlsx"]  # issued once
    pdf = next(r for r in rows if r.kind == "bulletin_pdf")
    assert f'href="/bulletins/{pdf.id}/download"' in listing.text
    assert "信息发布通报-2026-10.pdf" in listing.text
    headers = {"Authorization": f"Bearer {token_for(seeded, 'zhk')}"}
    download = httpx.get(f"{server}/bulletins/{pdf.id}/download", headers=headers)
    assert download.status_code == 200 and download.content.startswith(b"%PDF")
    assert download.headers["content-type"] == "application/pdf"


def test_only_the_general_office_issues_and_only_bulletins_download(
    seeded: App,  # noqa: F811
    server: str,
) -> None:
    headers = {"Authorization": f"Bearer {token_for(seeded, 'author')}"}
    refused = httpx.post(f"{server}/bulletins", data={"month": "2026-08"}, headers=headers)
    assert refused.status_code == 403 and refused.json()["error"] == "role_not_held"
    listing = httpx.get(f"{server}/bulletins", headers=headers)
    assert listing.status_code == 200 and 'id="issue-form"' not in listing.text
    with seeded.db.read() as session:
        form = session.scalar(select(ArchiveEntry.id).where(ArchiveEntry.kind == "form_pdf"))
    assert form is not None  # archived at sign-off by the review service
    other = httpx.get(f"{server}/bulletins/{form}/download", headers=headers)
    assert other.status_code == 404


def test_svg_chart_escapes_names_and_says_when_empty() -> None:
    from orchestrator.reports.charts import Series, axis, bar_svg

    svg = bar_svg("A<B 图", ["科<室>", "乙"], [Series("报送", [3, 7]), Series("采用", [1, 0])])
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert "科&lt;室&gt;" in svg and "A&lt;B 图" in svg and "<室>" not in svg
    assert svg.count("<rect") == 4 + 2  # four bars, two legend keys
    assert ">8</text>" in svg  # the axis rounds 7 up to 8 in whole steps of 2
    assert axis(7) == (8.0, 2.0) and axis(0) == (1.0, 1.0) and axis(23) == (25.0, 5.0)
    assert "本期无数据" in bar_svg("空", [], [])
