"""The `sanshen` command as a person or a script runs it: a real process per call."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from orchestrator.app import App
from orchestrator.db import Database
from orchestrator.models import Publication, Version
from orchestrator.settings import Settings
from tests.clock import shanghai_tomorrow
from tests.orchestrator.conftest import ORG_YAML, PASSWORDS

SANSHEN = str(Path(sys.executable).with_name("sanshen"))


def sanshen(data: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = os.environ | {"SANSHEN_DATA_DIR": str(data), "SANSHEN_KDF_PROFILE": "min"}
    return subprocess.run(
        [SANSHEN, *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def as_json(result: subprocess.CompletedProcess[str]) -> Any:
    return json.loads(result.stdout)


@pytest.fixture
def data(tmp_path: Path) -> Path:
    (tmp_path / "org.yaml").write_text(ORG_YAML, encoding="utf-8")
    (tmp_path / "body.html").write_text('<p>正文</p><img src="p.png">', encoding="utf-8")
    from orchestrator.demo import tiny_png

    (tmp_path / "p.png").write_bytes(tiny_png())
    return tmp_path


def test_malformed_yaml_is_refused_and_nothing_written(data: Path) -> None:
    (data / "bad.yaml").write_text("departments: [\n  - code: x\n people", encoding="utf-8")
    result = sanshen(data / "d", "init", str(data / "bad.yaml"))
    assert result.returncode == 2
    assert "YAML" in result.stderr and "行" in result.stderr
    listed = sanshen(data / "d", "person", "list", "--json")
    assert listed.returncode == 0 and as_json(listed) == []


def test_unknown_key_in_organisation_is_named(data: Path) -> None:
    (data / "bad.yaml").write_text(
        "people:\n  - {username: a, name: 甲, rolez: []}\n", encoding="utf-8"
    )
    result = sanshen(data / "d", "init", str(data / "bad.yaml"), "--json")
    assert result.returncode == 2
    assert as_json(result)["error"] == "bad_organisation" and "rolez" in result.stdout


def test_walk_from_the_command_line(data: Path) -> None:
    d = data / "d"
    assert sanshen(d, "init", str(data / "org.yaml")).returncode == 0
    created = sanshen(
        d,
        "submission",
        "create",
        "--author",
        "author",
        "--department",
        "sjgl",
        "--title",
        "测试稿件",
        "--body",
        str(data / "body.html"),
        "--image",
        str(data / "p.png"),
        "--channel",
        f"政府网站:{shanghai_tomorrow()}",
        "--json",
    )
    assert created.returncode == 0, created.stderr
    sub = str(as_json(created)["id"])
    check = sanshen(d, "gate", "check", sub, "--json")
    assert check.returncode == 6 and as_json(check)["waiting"] == "first"
    steps = [("初审", "author"), ("复审", "head"), ("终审", "leader")]
    for stage, who in steps:
        r = sanshen(
            d,
            "review",
            sub,
            "--stage",
            stage,
            "--approve",
            "--as",
            who,
            "--password-stdin",
            "--json",
            stdin=PASSWORDS[who] + "\n",
        )
        assert r.returncode == 0, r.stdout + r.stderr
    # 综合科 decides the use: 政府网站 on the day asked, with its note (a new version, same
    # content: the reviews carry over)
    used = sanshen(
        d,
        "usage",
        sub,
        "--channel",
        "政府网站::综合科：本单位发布",
        "--as",
        "zhk",
        "--password-stdin",
        "--json",
        stdin=PASSWORDS["zhk"] + "\n",
    )
    assert used.returncode == 0, used.stdout + used.stderr
    assert as_json(used)["version"] == 2 and as_json(used)["waiting"] == "sign_off"
    wrong = sanshen(
        d,
        "signoff",
        sub,
        "--as",
        "publicity",
        "--password-stdin",
        "--json",
        stdin="not-my-password\n",
    )
    assert wrong.returncode == 4 and as_json(wrong)["error"] == "wrong_password"
    signed = sanshen(
        d,
        "signoff",
        sub,
        "--as",
        "publicity",
        "--password-stdin",
        stdin=PASSWORDS["publicity"] + "\n",
    )
    assert signed.returncode == 0 and "通过" in signed.stdout
    check = sanshen(d, "gate", "check", sub)
    assert check.returncode == 0 and "审核闸门通过" in check.stdout
    assert "发布记录 P1  政府网站" in check.stdout and "✓ 与签发的审批表一致" in check.stdout
    kept = sanshen(d, "audit", "checkpoint").stdout.strip()
    verified = sanshen(d, "audit", "verify", "--checkpoint", kept, "--json")
    assert verified.returncode == 0 and as_json(verified)["ok"]
    with database(d) as db, db.session() as session:  # moved a day early by hand
        (when,) = session.scalars(select(Publication.scheduled_at)).all()
        session.execute(update(Publication).values(scheduled_at=when - timedelta(days=1)))
    check = sanshen(d, "gate", "check", sub, "--json")
    assert check.returncode == 6
    (row,) = as_json(check)["publications"]
    assert not row["ok"] and "publication_date_not_signed" in row["problems"]
    early = sanshen(d, "gate", "check", sub)
    assert (
        "✗ 与签发的审批表不符" in early.stdout
        and "改到其他日期须经宣传分管领导签署改期" in early.stdout
    )


def test_delegations_from_the_command_line(data: Path) -> None:
    d = data / "d"
    assert sanshen(d, "init", str(data / "org.yaml")).returncode == 0
    day = str(shanghai_tomorrow())
    args = ["person", "delegate", "--to", "web", "--for", "head", "--role", "科室负责人/支部书记"]
    refused = sanshen(d, *args, "--from", day, "--until", day, "--as", "author", "--json")
    assert refused.returncode == 4 and as_json(refused)["error"] == "not_permitted"
    made = sanshen(d, *args, "--from", day, "--until", day, "--as", "head", "--note", "外出学习")
    assert made.returncode == 0, made.stderr
    assert "吴网站（web）代理 李科长 的职务（sjgl 科室负责人/支部书记）" in made.stdout
    listed = as_json(sanshen(d, "person", "delegations", "--json"))
    assert [(r["deputy"], r["acting_for"], r["department"]) for r in listed] == [
        ("web", "head", "sjgl")
    ]
    ended = sanshen(d, "person", "end-delegation", str(listed[0]["id"]), "--as", "zhk")
    assert ended.returncode == 0, ended.stderr
    assert as_json(sanshen(d, "person", "delegations", "--json")) == []
    charge = sanshen(d, "person", "in-charge", "leader", "--departments", "sjgl,zhk", "--json")
    assert sorted(as_json(charge)["in_charge_of"]) == ["sjgl", "zhk"]


def test_out_of_turn_review_is_refused_in_chinese(data: Path) -> None:
    d = data / "d"
    sanshen(d, "init", str(data / "org.yaml"))
    sanshen(
        d,
        "submission",
        "create",
        "--author",
        "author",
        "--department",
        "sjgl",
        "--title",
        "稿",
        "--body",
        str(data / "body.html"),
        "--channel",
        f"gov_website:{shanghai_tomorrow()}",
    )
    r = sanshen(
        d,
        "review",
        "1",
        "--stage",
        "终审",
        "--approve",
        "--as",
        "leader",
        "--password-stdin",
        stdin=PASSWORDS["leader"] + "\n",
    )
    assert r.returncode == 5 and "当前等待初审" in r.stderr


def test_demo_walks_every_stage_and_publishes_everywhere(tmp_path: Path) -> None:
    result = sanshen(tmp_path / "fresh", "demo")
    assert result.returncode == 0, result.stdout + result.stderr
    for word in ("初审", "复审", "终审", "主要领导审定", "签发", "审核闸门：通过"):
        assert word in result.stdout
    for platform in ("学习强国", "绿色青浦"):  # upward first…
        assert f"{platform}：已发布" in result.stdout
    for platform in ("政府网站", "随申办旗舰店", "微信公众号"):  # …then one repost each
        assert result.stdout.count(f"{platform}（转载）：已发布") == 1, result.stdout
        assert f"{platform}：已取消 上级平台已采用，改由转载稿" in result.stdout
    assert "率先采用：已生成转载稿" in result.stdout
    assert not (tmp_path / "fresh" / "redis" / "redis.sock").exists()  # stopped on the way out


GBK_TITLE = "青浦区政务服务办公室"


def create_with_body(data: Path, body: bytes) -> subprocess.CompletedProcess[str]:
    d = data / "d"
    sanshen(d, "init", str(data / "org.yaml"))
    (data / "x.html").write_bytes(body)
    return sanshen(
        d,
        "submission",
        "create",
        "--author",
        "author",
        "--department",
        "sjgl",
        "--title",
        "稿",
        "--body",
        str(data / "x.html"),
        "--channel",
        f"gov_website:{shanghai_tomorrow()}",
        "--json",
    )


@pytest.mark.parametrize(
    "encoded",
    [
        f"<p>{GBK_TITLE}</p>".encode("gbk"),
        f"<p>{GBK_TITLE}</p>".encode("gb18030"),
        f"<p>{GBK_TITLE}</p>".encode("utf-8-sig"),
        f"<p>{GBK_TITLE}</p>".encode(),
    ],
    ids=["gbk", "gb18030", "utf-8-bom", "utf-8"],
)
def test_body_files_in_utf8_or_gb18030_are_read_as_text(data: Path, encoded: bytes) -> None:
    created = create_with_body(data, encoded)
    assert created.returncode == 0, created.stdout + created.stderr
    assert body_of(data / "d") == f"<p>{GBK_TITLE}</p>"


@contextmanager
def database(d: Path) -> Iterator[Database]:
    """The database the `sanshen` processes use: DATABASE_URL (PostgreSQL) or d's SQLite."""
    db = App(Settings(data_dir=d, kdf_profile="min")).db
    try:
        yield db
    finally:
        db.dispose()


def body_of(d: Path) -> str:
    with database(d) as db, db.read() as session:
        return str(session.scalars(select(Version.body_html)).one())


def test_body_file_with_nul_is_refused_on_either_database(data: Path) -> None:
    """Valid UTF-8, but U+0000 is not text (PostgreSQL cannot store it; SQLite would)."""
    created = create_with_body(data, "<p>正文\x00内容</p>".encode())
    assert created.returncode == 2, created.stdout + created.stderr
    refusal = as_json(created)
    assert refusal["error"] == "invalid_draft"
    assert "正文含有空字符（U+0000）" in refusal["message"]


def test_body_file_that_is_not_text_is_refused_naming_the_file(data: Path) -> None:
    created = create_with_body(data, b"<p>\xff\xfe\x80\x81 binary \x00\xff</p>")
    assert created.returncode == 2, created.stdout + created.stderr
    refusal = as_json(created)
    assert refusal["error"] == "body_not_text"
    assert "x.html" in refusal["message"] and "UTF-8" in refusal["message"]
