"""Statistics over a seeded month with known counts.

The data set (`seed`) is built with the real services: submissions are created and reviewed
(approvals, a return, a rejection, sign-offs) through orchestrator.services with their `now` set
inside October 2026 (Asia/Shanghai). Sign-off creates the publications; their later fate —
sent, published/adopted, failed (not adopted), retracted, sent late, left unsent — is written
straight into the publications table, because driving real platforms is not what is tested here.

October 2026, by department (codes from the test organisation):

    sub  dept  reviews                                  publications (channel: fate)
    A    sjgl  4 approvals; first 1h                    gov_website: published 10-12
                                                        xuexi: sent 10-12, adopted 10-13
    B    sjgl  4 approvals; first 2h                    xuexi: sent 10-13, adopted 10-14
                                                        lvse_qingpu: sent 10-13, not adopted
    C    zhk   4 approvals; first 3h                    wechat: published 10-14, retracted 10-15
                                                        xuexi: sent 10-14, adopted 10-16
    D    zhk   first 4h, second RETURN, first 1h,       gov_website: due 10-16, sent late 10-17
               then second, final, sign-off
    E    sjgl  first 5h, second, final REJECT           (none)
    F    zhk   4 approvals; first 6h                    suishenban: due 10-20, never sent
    G    solo  created 10-01 00:30 Shanghai (09-30 UTC), no review
    I    sjgl  created and reviewed in September;       gov_website: published 11-02
               outside October entirely

Second review always takes 2h, final 3h, sign-off 4h after the previous action.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from io import BytesIO
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from sqlalchemy import update

from gate.model import ChannelRequest, Decision, ReviewStage
from orchestrator.app import App
from orchestrator.errors import InvalidInput, NotFound
from orchestrator.migrate import upgrade
from orchestrator.models import Publication
from orchestrator.reports import statistics as st
from orchestrator.services import org, review, submissions
from orchestrator.settings import Settings
from tests.conftest import create_database, drop_database, on_postgresql
from tests.orchestrator.conftest import ORG_YAML, PASSWORDS
from tests.reports.conftest import COVER

SH = ZoneInfo("Asia/Shanghai")
S = ReviewStage
OCTOBER = st.period_containing("month", date(2026, 10, 1))
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
REVIEWERS = {
    S.FIRST: "author",
    S.SECOND: "head",
    S.FINAL: "leader",
    S.USAGE: "zhk",
    S.SIGN_OFF: "publicity",
}
HOURS = {S.SECOND: 2, S.FINAL: 3, S.USAGE: 0.5, S.SIGN_OFF: 4}


def sh(month: int, day: int, hour: int = 9, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=SH).astimezone(UTC)


def make_app(data_dir: Path, database_url: str | None = None) -> App:
    settings = Settings(data_dir=data_dir, kdf_profile="min", DATABASE_URL=database_url)
    app = App(settings)
    upgrade(app.db)
    with app.db.session() as session:
        org.initialise(session, org.parse_organisation(ORG_YAML), kdf_profile="min")
        # The figures cover three departments walked by the same people: their 初审 and 复审
        # roles cover the other two too (department scope is tested in tests/orchestrator).
        for code in ("zhk", "solo"):
            department = org.department_by_code(session, code)
            for username, role in (("author", "contributor"), ("head", "section_head")):
                person = org.person_by_username(session, username)
                org.grant_role(session, person, org.parse_role(role), department=department)
        for person in org.all_people(session):
            for assignment in person.assignments:
                assignment.valid_from = datetime(2020, 1, 1, tzinfo=UTC)
    return app


def create(app: App, dept: str, at: datetime, channels: list[str], title: str) -> int:
    day = at.astimezone(SH).date() + timedelta(days=1)
    draft = submissions.Draft(
        title=title,
        body_html="<p>正文内容。</p>",
        channels=[ChannelRequest(c, day) for c in channels],
        cover=submissions.ImageFile("cover.jpg", COVER),  # 微信公众号 refuses an item without
    )
    with app.db.session() as session:
        return submissions.create(
            session, app.blobs, author="author", department=dept, draft=draft, now=at
        ).id


def act(app: App, sub: int, stage: ReviewStage, at: datetime, decision: Decision) -> None:
    actor = REVIEWERS[stage]
    with app.db.session() as session:
        review.review(
            session, sub, stage=stage, decision=decision, actor=actor,
            password=PASSWORDS[actor], policy=app.policy, comment="意见", now=at, app=app,
        )  # fmt: skip


def walk(app: App, sub: int, start: datetime, steps: list[tuple[ReviewStage, float, str]]) -> None:
    """Each step: (stage, hours after the previous action, decision)."""
    at = start
    for stage, hours, decision in steps:
        at += timedelta(hours=hours)
        act(app, sub, stage, at, Decision(decision))


def full(first_hours: float) -> list[tuple[ReviewStage, float, str]]:
    return [(S.FIRST, first_hours, "approve")] + [(s, HOURS[s], "approve") for s in HOURS]


def set_fate(app: App, sub: int, channel: str, **values: Any) -> None:
    with app.db.session() as session:
        session.execute(
            update(Publication)
            .where(Publication.submission_id == sub, Publication.channel == channel)
            .values(**values)
        )


def seed(app: App) -> dict[str, int]:
    subs: dict[str, int] = {}
    t = sh(10, 10)
    subs["A"] = create(app, "sjgl", t, ["gov_website", "xuexi"], "甲：一网通办新功能")
    walk(app, subs["A"], t, full(1))
    t = sh(10, 11)
    subs["B"] = create(app, "sjgl", t, ["xuexi", "lvse_qingpu"], "乙：窗口服务提升")
    walk(app, subs["B"], t, full(2))
    t = sh(10, 12)
    subs["C"] = create(app, "zhk", t, ["wechat", "xuexi"], "丙：政务服务动态")
    walk(app, subs["C"], t, full(3))
    t = sh(10, 13)
    subs["D"] = create(app, "zhk", t, ["gov_website"], "丁：退回后再审")
    walk(app, subs["D"], t, [(S.FIRST, 4, "approve"), (S.SECOND, 2, "return"), *full(1)])
    t = sh(10, 14)
    subs["E"] = create(app, "sjgl", t, ["gov_website"], "戊：被驳回的稿件")
    walk(app, subs["E"], t, [(S.FIRST, 5, "approve"), (S.SECOND, 2, "approve")])
    walk(app, subs["E"], t + timedelta(hours=7), [(S.FINAL, 3, "reject")])
    t = sh(10, 15)
    subs["F"] = create(app, "zhk", t, ["suishenban"], "己：逾期未发")
    walk(app, subs["F"], t, full(6))
    subs["G"] = create(app, "solo", sh(10, 1, 0, 30), ["gov_website"], "庚：十月一日凌晨")
    t = sh(9, 10)
    subs["I"] = create(app, "sjgl", t, ["gov_website"], "辛：九月稿件")
    walk(app, subs["I"], t, full(1))

    published, sent = "published", sh
    set_fate(app, subs["A"], "gov_website", state=published, sent_at=sent(10, 12),
             published_at=sh(10, 12, 9, 5))  # fmt: skip
    set_fate(app, subs["A"], "xuexi", state=published, sent_at=sent(10, 12),
             published_at=sh(10, 13))  # fmt: skip
    set_fate(app, subs["B"], "xuexi", state=published, sent_at=sent(10, 13),
             published_at=sh(10, 14))  # fmt: skip
    set_fate(app, subs["B"], "lvse_qingpu", state="failed", sent_at=sent(10, 13),
             state_changed_at=sh(10, 15))  # fmt: skip
    set_fate(app, subs["C"], "wechat", state="retracted", sent_at=sent(10, 14),
             published_at=sh(10, 14, 9, 1), state_changed_at=sh(10, 15))  # fmt: skip
    set_fate(app, subs["C"], "xuexi", state=published, sent_at=sent(10, 14),
             published_at=sh(10, 16))  # fmt: skip
    set_fate(app, subs["D"], "gov_website", state=published, scheduled_at=sh(10, 16),
             late=True, sent_at=sh(10, 17), published_at=sh(10, 17, 9, 2))  # fmt: skip
    set_fate(app, subs["F"], "suishenban", scheduled_at=sh(10, 20))
    set_fate(app, subs["I"], "gov_website", state=published, sent_at=sh(11, 2),
             published_at=sh(11, 2, 9, 1))  # fmt: skip
    return subs


@pytest.fixture(scope="module")
def seeded_database(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """Seeded once per module: on PostgreSQL a database of its own (see tests/conftest.py)."""
    if not on_postgresql():
        yield None
        return
    admin = request.getfixturevalue("pg_admin")
    url = create_database(admin, request.getfixturevalue("pg_head_template"))
    yield url.render_as_string(hide_password=False)
    drop_database(admin, url)


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory, seeded_database: str | None) -> Iterator[App]:
    app = make_app(tmp_path_factory.mktemp("stats") / "data", seeded_database)
    seed(app)
    yield app
    app.db.dispose()


def report(app: App, **kw: Any) -> st.Report:
    with app.db.read() as session:
        return st.build(session, kw.pop("period", OCTOBER), now=NOW, **kw)


def by_code(r: st.Report) -> dict[str, st.DepartmentFigures]:
    return {d.code: d for d in r.departments}


def test_department_figures(seeded: App) -> None:
    d = by_code(report(seeded))
    assert set(d) == {"sjgl", "zhk", "solo"}
    sj, zh, solo = d["sjgl"], d["zhk"], d["solo"]
    assert (sj.submitted, zh.submitted, solo.submitted) == (3, 3, 1)
    assert sj.rejected == {
        "first": 0,
        "second": 0,
        "final": 1,
        "principal": 0,
        "usage": 0,
        "sign_off": 0,
    }
    assert sj.returned_total == 0
    assert zh.returned == {
        "first": 0,
        "second": 1,
        "final": 0,
        "principal": 0,
        "usage": 0,
        "sign_off": 0,
    }
    assert zh.rejected_total == 0
    assert (sj.signed_off, zh.signed_off, solo.signed_off) == (2, 3, 0)
    assert (sj.published, sj.failed, sj.retracted) == (3, 1, 0)
    assert (zh.published, zh.failed, zh.retracted) == (3, 0, 1)
    assert (sj.upward_submitted, sj.upward_adopted) == (3, 2)
    assert (zh.upward_submitted, zh.upward_adopted) == (1, 1)
    assert sj.adoption_rate == pytest.approx(2 / 3)
    assert zh.adoption_rate == 1.0 and solo.adoption_rate is None
    assert (zh.sent_late, zh.overdue_unsent, sj.sent_late, sj.overdue_unsent) == (1, 1, 0, 0)


def test_totals_and_ranking(seeded: App) -> None:
    r = report(seeded)
    total = r.totals()
    assert (total.submitted, total.signed_off, total.published) == (7, 5, 6)
    assert (total.upward_submitted, total.upward_adopted) == (4, 3)
    assert total.adoption_rate == 0.75
    # sjgl adopted more (2 of 3) than zhk (1 of 1): the count ranks, not the rate.
    assert [d.code for d in r.ranking()] == ["sjgl", "zhk"]


def test_channel_and_upward_figures(seeded: App) -> None:
    r = report(seeded)
    c = {ch.channel: ch for ch in r.channels}
    assert set(c) == {"gov_website", "wechat", "suishenban", "xuexi", "lvse_qingpu"}
    assert (c["gov_website"].published, c["gov_website"].sent_late) == (2, 1)
    assert (c["wechat"].published, c["wechat"].retracted) == (1, 1)
    assert (c["suishenban"].published, c["suishenban"].overdue_unsent) == (0, 1)
    assert (c["xuexi"].submitted, c["xuexi"].adopted, c["xuexi"].adoption_rate) == (3, 3, 1.0)
    lvse = c["lvse_qingpu"]
    assert (lvse.submitted, lvse.adopted, lvse.failed, lvse.adoption_rate) == (1, 0, 1, 0.0)
    assert [u.channel for u in r.upward] == ["lvse_qingpu", "xuexi"]
    assert c["gov_website"].adoption_rate is None


def test_stage_decisions_and_times(seeded: App) -> None:
    stages = {s.stage: s for s in report(seeded).stages}
    assert set(stages) == {"first", "second", "final", "usage", "sign_off"}
    assert (stages["usage"].approved, stages["usage"].median_hours) == (5, 0.5)
    first, second, final, sign_off = (stages[k] for k in ("first", "second", "final", "sign_off"))
    assert (first.approved, first.returned, first.rejected) == (7, 0, 0)
    assert (second.approved, second.returned) == (6, 1)
    assert (final.approved, final.rejected) == (5, 1)
    assert sign_off.approved == 5
    # First review: 1,1,2,3,4,5,6 hours (D's second first review counts from the return).
    assert (first.timed, first.median_hours, first.p90_hours) == (7, 3.0, 6.0)
    assert (second.timed, second.median_hours, second.p90_hours) == (7, 2.0, 2.0)
    assert (final.timed, final.median_hours, final.p90_hours) == (6, 3.0, 3.0)
    assert (sign_off.timed, sign_off.median_hours) == (5, 4.0)


def test_overdue_list(seeded: App) -> None:
    items = report(seeded).overdue
    assert [(o.title, o.channel, o.reason) for o in items] == [
        ("丁：退回后再审", "政府网站", "迟发"),
        ("己：逾期未发", "随申办旗舰店", "逾期未发"),
    ]


def test_one_department(seeded: App) -> None:
    r = report(seeded, department="zhk")
    assert [d.code for d in r.departments] == ["zhk"]
    assert r.totals().published == 3
    assert {s.stage: s.returned for s in r.stages}["second"] == 1
    assert {c.channel for c in r.channels} == {"gov_website", "wechat", "xuexi", "suishenban"}
    with pytest.raises(NotFound):
        report(seeded, department="nope")


def test_shanghai_boundaries_and_other_periods(seeded: App) -> None:
    september = report(seeded, period=st.period_containing("month", date(2026, 9, 5)))
    assert {d.code: d.submitted for d in september.departments} == {"sjgl": 1}
    assert september.totals().signed_off == 1 and september.totals().published == 0
    november = report(seeded, period=st.resolve_period(None, "2026-11"))
    assert november.totals().published == 1 and november.totals().submitted == 0
    q4 = report(seeded, period=st.resolve_period(None, "2026-Q4"))
    assert q4.totals().published == 7 and q4.totals().submitted == 7
    year = report(seeded, period=st.resolve_period("year", "2026-10-15"))
    assert year.totals().submitted == 8
    week = report(seeded, period=st.resolve_period("week", "2026-10-12"))  # Mon 12 – Sun 18
    assert {d.code: d.submitted for d in week.departments} == {"sjgl": 1, "zhk": 3}


def test_empty_period_gives_an_empty_report(seeded: App) -> None:
    r = report(seeded, period=st.resolve_period(None, "2025-03"))
    assert r.is_empty
    assert (r.departments, r.channels, r.stages, r.overdue, r.ranking()) == ([], [], [], [], [])
    assert r.totals().adoption_rate is None
    assert all(len(t.rows) == 0 for t in st.tables(r))
    book = openpyxl.load_workbook(BytesIO(st.to_xlsx(r)))
    assert "本期无数据" in [row[0] for row in book["概况"].iter_rows(values_only=True)]


def test_periods() -> None:
    p = st.resolve_period(None, "2026-10")
    assert (p.kind, p.key, p.label) == ("month", "2026-10", "2026年10月")
    assert p.start == datetime(2026, 9, 30, 16, tzinfo=UTC)
    assert p.end == datetime(2026, 10, 31, 16, tzinfo=UTC)
    assert st.resolve_period(None, "2026-Q4").label == "2026年第四季度"
    w = st.resolve_period(None, "2026-W43")
    assert (w.first_day, w.last_day, w.label) == (
        date(2026, 10, 19),
        date(2026, 10, 25),
        "2026年第43周",
    )
    assert st.resolve_period("quarter", "2026-02-03").key == "2026-Q1"
    assert st.resolve_period("year", None, now=NOW).key == "2026"
    assert st.previous_month(sh(11, 1, 8)).key == "2026-10"
    assert st.previous_month(datetime(2026, 1, 1, 0, 30, tzinfo=UTC)).key == "2025-12"
    for bad in ("2026-13", "last month", "2026-W60"):
        with pytest.raises(InvalidInput):
            st.resolve_period(None, bad)
    with pytest.raises(InvalidInput):
        st.resolve_period("decade", "2026")


def test_workbook_reads_back(seeded: App) -> None:
    r = report(seeded)
    book = openpyxl.load_workbook(BytesIO(st.to_xlsx(r)))
    assert book.sheetnames == ["概况", "各科室统计", "各审核环节", "各渠道发布", "对上报送与采用",
                               "采用排名", "逾期发布"]  # fmt: skip
    depts = list(book["各科室统计"].iter_rows(values_only=True))
    header = depts[0]
    assert header[:2] == ("科室", "提交稿件") and "复审退回" in header and "采用率" in header
    rows = {row[0]: dict(zip(header, row, strict=True)) for row in depts[1:]}
    assert rows["数据管理发展科"]["提交稿件"] == 3 and rows["数据管理发展科"]["终审驳回"] == 1
    assert rows["综合科"]["复审退回"] == 1 and rows["综合科"]["采用率"] == "100.0%"
    assert rows["合计"]["对上报送"] == 4 and rows["合计"]["采用率"] == "75.0%"
    ranking = list(book["采用排名"].iter_rows(values_only=True))
    assert [row[1] for row in ranking[1:]] == ["数据管理发展科", "综合科"]
    assert len(book["采用排名"]._charts) == 1
    upward = {row[0]: row for row in book["对上报送与采用"].iter_rows(values_only=True)}
    assert upward["学习强国"][1:] == (3, 3, "100.0%")
    assert upward["合计"][1:] == (4, 3, "75.0%")


def test_report_as_dict_is_json_ready(seeded: App) -> None:
    import json

    data = report(seeded).as_dict()
    text = json.dumps(data, ensure_ascii=False, default=str)
    assert data["ranking"] == ["sjgl", "zhk"] and data["totals"]["adoption_rate"] == 0.75
    assert "数据管理发展科" in text and data["empty"] is False


def test_queries_group_instead_of_reading_every_row(seeded: App) -> None:
    """The number of statements is fixed, whatever the number of rows."""
    from sqlalchemy import event

    statements: list[str] = []
    engine = seeded.db._read_engine

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        report(seeded)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    # One more than the timings: the decisions past their limit, a working-day rule in Python.
    assert len(statements) <= 7


def test_a_decision_after_its_working_day_counts_as_overdue(tmp_path: Path) -> None:
    """1 working day per stage: from Friday 18:00, Monday 17:59 is in time, Tuesday is not."""
    from datetime import date

    app = make_app(tmp_path / "data")
    try:
        in_time = create(app, "sjgl", sh(11, 6, 17), ["gov_website"], "按时")
        late = create(app, "sjgl", sh(11, 6, 17), ["gov_website"], "超时")
        for sub in (in_time, late):
            act(app, sub, S.FIRST, sh(11, 6, 18), Decision.APPROVE)
        act(app, in_time, S.SECOND, sh(11, 9, 17, 59), Decision.APPROVE)
        act(app, late, S.SECOND, sh(11, 10, 9), Decision.RETURN)
        november = st.period_containing("month", date(2026, 11, 1))
        stages = {s.stage: s for s in report(app, period=november).stages}
        assert (stages["first"].overdue, stages["second"].overdue) == (0, 1)
        assert st.stage_table(report(app, period=november)).rows[1][-1] == 1
    finally:
        app.db.dispose()


def sanshen(app: App, database: str | None, *args: str) -> subprocess.CompletedProcess[str]:
    """The installed `sanshen` command, a real process, on the seeded data."""
    env = os.environ | {
        "SANSHEN_DATA_DIR": str(app.settings.data_dir),
        "SANSHEN_KDF_PROFILE": "min",
    }
    if database:
        env["DATABASE_URL"] = database
    command = [str(Path(sys.executable).with_name("sanshen")), *args]
    return subprocess.run(
        command, capture_output=True, text=True, env=env, timeout=120, check=False
    )


def test_cli_prints_chinese_tables_and_exports(
    seeded: App, seeded_database: str | None, tmp_path: Path
) -> None:
    out = tmp_path / "统计.xlsx"
    shown = sanshen(seeded, seeded_database, "stats", "--at", "2026-10", "--xlsx", str(out))
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert lines[0] == "信息发布统计：2026年10月（2026-10-01 至 2026-10-31）"
    ranking = lines[lines.index("【采用排名】") + 3 : lines.index("【采用排名】") + 5]
    assert [line.split()[:2] for line in ranking] == [["1", "数据管理发展科"], ["2", "综合科"]]
    assert openpyxl.load_workbook(out)["采用排名"]["B2"].value == "数据管理发展科"
    as_json = sanshen(seeded, seeded_database, "stats", "--period", "quarter", "--at", "2026-10",
                      "--department", "zhk", "--json")  # fmt: skip
    data = json.loads(as_json.stdout)
    assert data["period"]["key"] == "2026-Q4" and data["department_filter"] == "zhk"
    assert [d["code"] for d in data["departments"]] == ["zhk"]
    assert data["totals"]["published"] == 3 and data["totals"]["adoption_rate"] == 1.0
