"""The monthly bulletin over the seeded October (see test_statistics for the data set): its PDF
read back with poppler (pdftotext, pdffonts), its workbook with openpyxl, archived once per
month by the service and by the Celery task, and the beat entry that runs it."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from sqlalchemy import func, select, update

from orchestrator import db
from orchestrator.app import App
from orchestrator.models import ArchiveEntry
from orchestrator.reports import archive, bulletin
from orchestrator.reports import statistics as st
from orchestrator.settings import get_settings
from tests.reports.test_statistics import (  # noqa: F401  (fixtures)
    NOW,
    OCTOBER,
    sanshen,
    seeded,
    seeded_database,
)

SH = ZoneInfo("Asia/Shanghai")


def report(app: App, period: st.Period = OCTOBER) -> st.Report:
    with app.db.read() as session:
        return st.build(session, period, now=NOW)


def pdf_text(data: bytes, tmp_path: Path) -> str:
    path = tmp_path / "bulletin.pdf"
    path.write_bytes(data)
    done = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    )
    return done.stdout


def pdf_fonts(data: bytes, tmp_path: Path) -> list[list[str]]:
    path = tmp_path / "fonts.pdf"
    path.write_bytes(data)
    out = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True)
    return [line.split() for line in out.stdout.splitlines()[2:]]


def bulletin_count(app: App) -> int:
    with app.db.read() as session:
        query = select(func.count()).where(ArchiveEntry.kind.in_(list(bulletin.KINDS)))
        return session.scalar(query) or 0


@pytest.fixture(scope="module")
def october_pdf(seeded: App) -> bytes:  # noqa: F811
    return bulletin.render_pdf(report(seeded))


def test_pdf_names_the_month_the_ranking_and_the_rates(october_pdf: bytes, tmp_path: Path) -> None:
    text = pdf_text(october_pdf, tmp_path)
    assert "政务信息发布情况通报（2026年10月）" in text
    assert "2026-10-01 至 2026-10-31" in text
    assert "对上报送 4 篇，被采用 3 篇，采用率 75.0%" in text
    assert "提交稿件 7 篇，签发 5 篇" in text
    ranking = text.split("二、对上报送采用排名")[1].split("三、各科室情况")[0]
    rows = re.findall(r"^\s*(\d)\s+(\S+)\s+(\d+)\s+(\d+)\s+(\S+%)", ranking, re.M)
    assert rows == [
        ("1", "数据管理发展科", "3", "2", "66.7%"),
        ("2", "综合科", "1", "1", "100.0%"),
    ]
    assert "各科室对上报送与采用（篇）" in ranking  # the chart's title, drawn in the PDF
    for heading in ("四、各渠道发布", "五、对上报送与采用", "六、各审核环节", "七、逾期发布"):
        assert heading in text
    assert "己：逾期未发" in text and "逾期未发" in text


def test_pdf_embeds_its_only_font(october_pdf: bytes, tmp_path: Path) -> None:
    fonts = pdf_fonts(october_pdf, tmp_path)
    assert fonts, "no fonts listed"
    assert all("WenQuanYi" in row[0] for row in fonts), fonts
    # columns: name type encoding emb sub uni object ID
    assert all(row[-5] == "yes" for row in fonts), fonts


def test_empty_month_still_gives_a_bulletin(seeded: App, tmp_path: Path) -> None:  # noqa: F811
    empty = report(seeded, st.resolve_period(None, "2025-03"))
    text = pdf_text(bulletin.render_pdf(empty), tmp_path)
    assert "2025年3月无信息发布数据" in text and "本月无对上报送" in text


def test_workbook_carries_the_title_and_ranking(seeded: App) -> None:  # noqa: F811
    book = openpyxl.load_workbook(BytesIO(bulletin.render_xlsx(report(seeded))))
    assert book["概况"]["A1"].value == "政务信息发布情况通报（2026年10月）"
    ranking = [row[1] for row in book["采用排名"].iter_rows(min_row=2, values_only=True)]
    assert ranking == ["数据管理发展科", "综合科"]


def test_issue_archives_once_per_month(seeded: App) -> None:  # noqa: F811
    november = st.resolve_period(None, "2026-11")
    before = bulletin_count(seeded)
    first = bulletin.issue(seeded, november, actor="zhk")
    second = bulletin.issue(seeded, november, actor="zhk")
    assert (first.created, second.created) == (True, False)
    assert [e.id for e in first.entries] == [e.id for e in second.entries]
    assert bulletin_count(seeded) == before + 2
    with seeded.db.read() as session:
        kinds = {}
        for entry in first.entries:
            row, data = archive.read_entry(session, seeded, entry.id)
            kinds[row.kind] = (row.name, row.period, data[:4])
    assert kinds == {
        "bulletin_pdf": ("信息发布通报-2026-11.pdf", "2026-11", b"%PDF"),
        "bulletin_xlsx": ("信息发布通报-2026-11.xlsx", "2026-11", b"PK\x03\x04"),
    }


@pytest.fixture
def task_env(
    seeded: App,  # noqa: F811
    seeded_database: str | None,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[None]:
    """What a worker would see: the seeded data folder (and database). The broker URL is set
    only so importing the Celery app starts no embedded Redis; the task runs in this process."""
    monkeypatch.setenv("SANSHEN_DATA_DIR", str(seeded.settings.data_dir))
    monkeypatch.setenv("SANSHEN_REDIS_URL", "redis://127.0.0.1:9/15")
    if seeded_database:
        monkeypatch.setenv("DATABASE_URL", seeded_database)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_the_task_run_twice_archives_once(seeded: App, task_env: None) -> None:  # noqa: F811
    from tasks.reports import monthly_bulletin

    before = bulletin_count(seeded)
    first = monthly_bulletin.apply(args=["2026-09"]).get()
    second = monthly_bulletin.apply(args=["2026-09"]).get()
    assert first["period"] == second["period"] == "2026-09"
    assert (first["created"], second["created"]) == (True, False)
    assert first["entries"] == second["entries"] and len(first["entries"]) == 2
    assert bulletin_count(seeded) == before + 2


def test_beat_runs_it_at_eight_on_the_first_in_shanghai(task_env: None) -> None:
    from tasks.app import app as celery

    entry = celery.conf.beat_schedule["monthly-bulletin"]
    assert entry["task"] == "sanshen.monthly_bulletin"
    assert celery.conf.timezone == "Asia/Shanghai"
    schedule = entry["schedule"]
    schedule.app = celery
    last = datetime(2026, 10, 1, 8, 0, tzinfo=SH)
    for now, due in (
        (datetime(2026, 11, 1, 7, 59, tzinfo=SH), False),
        (datetime(2026, 11, 1, 8, 0, 5, tzinfo=SH), True),
        (datetime(2026, 10, 31, 8, 0, 5, tzinfo=SH), False),
    ):
        schedule.nowfun = lambda now=now: now.astimezone(UTC)
        assert schedule.is_due(last).is_due is due, now


def test_last_month_is_counted_in_shanghai() -> None:
    assert st.previous_month(datetime(2026, 11, 1, 0, 0, 5, tzinfo=UTC)).key == "2026-10"
    # 1 November 07:30 in Shanghai is still 31 October in UTC: the month is Shanghai's.
    assert st.previous_month(datetime(2026, 10, 31, 23, 30, tzinfo=UTC)).key == "2026-10"


def test_cli_issues_once_and_saves_copies(
    seeded: App,  # noqa: F811
    seeded_database: str | None,  # noqa: F811
    tmp_path: Path,
) -> None:
    first = sanshen(seeded, seeded_database, "bulletin", "--month", "2026-08", "--out",
                    str(tmp_path / "out"), "--json")  # fmt: skip
    assert first.returncode == 0, first.stderr
    data = json.loads(first.stdout)
    assert data["created"] is True and len(data["files"]) == 2
    saved = tmp_path / "out" / "信息发布通报-2026-08.pdf"
    assert saved.read_bytes().startswith(b"%PDF")
    again = sanshen(seeded, seeded_database, "bulletin", "--month", "2026-08")
    assert again.returncode == 0
    assert again.stdout.startswith("2026-08 月度通报此前已存档，未重复生成")


def test_two_issuers_at_once_archive_once(seeded: App) -> None:  # noqa: F811
    from concurrent.futures import ThreadPoolExecutor

    july = st.resolve_period(None, "2026-07")
    before = bulletin_count(seeded)
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(lambda _: bulletin.issue(seeded, july), range(2)))
    assert sorted(r.created for r in results) == [False, True]
    assert bulletin_count(seeded) == before + 2


def test_rendering_holds_no_write_transaction(
    seeded: App,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """While the files render (seconds of CPU), a send elsewhere can still commit: on SQLite a
    render inside the write transaction held every worker's and the scheduler's writes."""
    june = st.resolve_period(None, "2026-06")
    render_pdf = bulletin.render_pdf
    committed: list[bool] = []

    def render_while_someone_writes(report: st.Report) -> bytes:
        other = App(seeded.settings)
        try:
            with other.db.engine.begin() as conn:
                conn.execute(update(ArchiveEntry).where(ArchiveEntry.id < 0).values(name="x"))
            committed.append(True)
        finally:
            other.db.dispose()
        return render_pdf(report)

    monkeypatch.setattr(db, "BUSY_TIMEOUT", 0.5)  # SQLite's wait for the write lock
    monkeypatch.setattr(bulletin, "render_pdf", render_while_someone_writes)
    issued = bulletin.issue(seeded, june)
    assert issued.created and committed == [True]
