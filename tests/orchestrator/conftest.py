from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from orchestrator.app import App
from orchestrator.migrate import upgrade
from orchestrator.services import org
from orchestrator.settings import Settings

ORG_YAML = """
organisation: 测试办公室
departments:
  - {code: zhk, name: 综合科}
  - {code: sjgl, name: 数据管理发展科}
  - {code: solo, name: 无负责人窗口}
people:
  - {username: author, name: 王供稿, department: sjgl, roles: [contributor], password: pw-author-1}
  - {username: editor, name: 刘编辑, department: zhk, roles: [contributor], password: pw-editor-1}
  - {username: head, name: 李科长, department: sjgl, roles: [section_head], password: pw-head-01}
  - {username: leader, name: 赵分管, roles: [leader_in_charge], in_charge_of: [zhk, sjgl, solo], password: pw-leader-1}
  - {username: chief, name: 陈主要, roles: [principal_leader], password: pw-chief-01}
  - {username: publicity, name: 孙宣传, roles: [publicity_leader], password: pw-public-1}
  - {username: web, name: 吴网站, department: zhk, roles: [web_operations], password: pw-web-001}
  - {username: zhk, name: 周综合, department: zhk, roles: [general_office], password: pw-zhk-0001}
  - {username: ops, name: 郑值守, roles: [operator], password: pw-ops-0001}
"""

PASSWORDS = {
    "author": "pw-author-1",
    "editor": "pw-editor-1",
    "head": "pw-head-01",
    "leader": "pw-leader-1",
    "chief": "pw-chief-01",
    "publicity": "pw-public-1",
    "web": "pw-web-001",
    "zhk": "pw-zhk-0001",
    "ops": "pw-ops-0001",
}


@pytest.fixture
def app(tmp_path: Path) -> Iterator[App]:
    application = App(Settings(data_dir=tmp_path / "data", kdf_profile="min"))
    upgrade(application.db)
    yield application
    application.db.dispose()


@pytest.fixture
def org_app(app: App) -> App:
    # Roles take effect from a fixed moment in the past, so tests can act "now".
    with app.db.session() as session:
        org.initialise(session, org.parse_organisation(ORG_YAML), kdf_profile="min")
        for person in org.all_people(session):
            for assignment in person.assignments:
                assignment.valid_from = datetime(2020, 1, 1, tzinfo=UTC)
    return app
