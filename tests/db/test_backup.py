"""`sanshen backup create` / `restore`: the embedded default survives a round trip intact."""

from __future__ import annotations

import io
import json
import os
import sqlite3
import subprocess
import sys
import tarfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from orchestrator import audit, backup
from orchestrator.app import App
from orchestrator.migrate import upgrade
from orchestrator.models import Publication, Submission
from orchestrator.settings import Settings
from tests.db.data import organisation, signed_off

SANSHEN = str(Path(sys.executable).with_name("sanshen"))


def sanshen(*args: str, data_dir: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env |= {"SANSHEN_KDF_PROFILE": "min"}
    if data_dir is not None:
        env["SANSHEN_DATA_DIR"] = str(data_dir)
    return subprocess.run(
        [SANSHEN, *args], capture_output=True, text=True, env=env, timeout=120, check=False
    )


def as_json(result: subprocess.CompletedProcess[str]) -> Any:
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(result.stdout)


@pytest.fixture
def embedded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[App]:
    """The embedded default (SQLite in the data folder) with content, whatever the suite's DB."""
    monkeypatch.delenv("DATABASE_URL", raising=False)
    app = App(Settings(data_dir=tmp_path / "data", kdf_profile="min"))
    upgrade(app.db)
    organisation(app)
    signed_off(app, "第一篇：周末延时服务")
    signed_off(app, "第二篇：一网通办新功能", channels=("gov_website", "wechat"))
    # Files beside the database that must come back: an archived form and a secret.
    (app.settings.data_dir / "archive" / "zz").mkdir(parents=True, exist_ok=True)
    (app.settings.data_dir / "archive" / "zz" / "zz-form.pdf").write_bytes(b"%PDF-1.7 form")
    (app.settings.data_dir / "keys").mkdir()
    (app.settings.data_dir / "keys" / "wechat.key").write_bytes(os.urandom(32))
    (app.settings.data_dir / "logs").mkdir()
    (app.settings.data_dir / "logs" / "worker.log").write_text("not backed up")
    yield app
    app.db.dispose()


def content(session: Session) -> list[Any]:
    """Every submission with its versions, signatures and publications, as plain values."""
    rows: list[Any] = []
    for sub in session.scalars(select(Submission).order_by(Submission.id)):
        rows.append((sub.uid, sub.author.username, sub.created_at))
        for version in sub.versions:
            images = [(i.filename, i.sha256) for i in version.images]
            rows.append((version.number, version.title, version.fingerprint, images))
        rows.extend((a.stage, a.actor.username, a.signature.hex()) for a in sub.actions)
    for pub in session.scalars(select(Publication).order_by(Publication.id)):
        rows.append((pub.channel, pub.state, pub.idempotency_key, pub.scheduled_at))
    return rows


def files_under(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_round_trip_restores_the_same_content_and_a_valid_audit_chain(
    embedded: App, tmp_path: Path
) -> None:
    data_dir = embedded.settings.data_dir
    out = tmp_path / "backups" / "sanshen.tar.gz"
    created = as_json(sanshen("backup", "create", "--out", str(out), "--json", data_dir=data_dir))
    assert created["database"] == "sanshen.db" and out.is_file()

    restored_dir = tmp_path / "restored"
    restored = as_json(
        sanshen("backup", "restore", str(out), "--data-dir", str(restored_dir), "--json")
    )
    assert restored["files"] == created["files"]

    verified = as_json(sanshen("audit", "verify", "--json", data_dir=restored_dir))
    with embedded.db.read() as session:
        original = audit.verify(session).as_dict()
        expected = content(session)
    assert verified["ok"] and verified["rows"] == original["rows"] > 0
    assert verified["head"] == original["head"]
    copy = App(Settings(data_dir=restored_dir, kdf_profile="min"))
    with copy.db.read() as session:
        assert content(session) == expected
    copy.db.dispose()

    before, after = files_under(data_dir), files_under(restored_dir)
    kept = {name for name in before if name.startswith(("blobs/", "archive/", "keys/"))}
    assert kept and {name: before[name] for name in kept} == {name: after[name] for name in kept}
    assert any(name.startswith("blobs/") for name in kept)
    assert "logs/worker.log" not in after


def test_restore_refuses_a_folder_that_is_not_empty_unless_forced(
    embedded: App, tmp_path: Path
) -> None:
    out = tmp_path / "b.tar.gz"
    as_json(
        sanshen(
            "backup", "create", "--out", str(out), "--json", data_dir=embedded.settings.data_dir
        )
    )
    target = tmp_path / "busy"
    target.mkdir()
    (target / "something.txt").write_text("keep me")
    refused = sanshen("backup", "restore", str(out), "--data-dir", str(target))
    assert refused.returncode == 5
    assert "不是空的" in refused.stderr and "--force" in refused.stderr
    assert not (target / "sanshen.db").exists()

    backup.restore(out, target, force=True)
    restored = App(Settings(data_dir=target, kdf_profile="min"))
    with restored.db.read() as session:
        assert audit.verify(session).ok
    restored.db.dispose()
    assert (target / "something.txt").read_text() == "keep me"


def rewrite(archive: Path, target: Path, change: dict[str, bytes]) -> None:
    """A copy of the archive with some members' bytes replaced (the manifest left as it was)."""
    with tarfile.open(archive, "r:gz") as src, tarfile.open(target, "w:gz") as dst:
        for member in src:
            data = src.extractfile(member).read()  # type: ignore[union-attr]
            data = change.get(member.name, data)
            member.size = len(data)
            dst.addfile(member, io.BytesIO(data))


def test_a_changed_file_is_refused_by_its_hash_and_nothing_is_restored(
    embedded: App, tmp_path: Path
) -> None:
    out = tmp_path / "b.tar.gz"
    as_json(
        sanshen(
            "backup", "create", "--out", str(out), "--json", data_dir=embedded.settings.data_dir
        )
    )
    forged = tmp_path / "forged.tar.gz"
    rewrite(out, forged, {"data/archive/zz/zz-form.pdf": b"%PDF-1.7 another form"})
    result = sanshen(
        "backup", "restore", str(forged), "--data-dir", str(tmp_path / "new"), "--json"
    )
    assert result.returncode == 2
    error = json.loads(result.stdout)
    assert error["error"] == "backup_corrupt" and "archive/zz/zz-form.pdf" in error["message"]
    assert "哈希" in error["message"]
    assert not any((tmp_path / "new").rglob("sanshen.db"))


def test_a_path_outside_the_folder_is_refused(embedded: App, tmp_path: Path) -> None:
    out = tmp_path / "evil.tar.gz"
    manifest = {"format": "sanshen-backup/1", "database": None, "files": {"../escape": {}}}
    with tarfile.open(out, "w:gz") as tar:
        body = json.dumps(manifest).encode()
        info = tarfile.TarInfo("manifest.json")
        info.size = len(body)
        tar.addfile(info, io.BytesIO(body))
    result = sanshen("backup", "restore", str(out), "--data-dir", str(tmp_path / "new"))
    assert result.returncode == 2 and "不安全" in result.stderr
    assert not (tmp_path / "escape").exists()


def test_on_postgresql_the_command_points_to_pg_dump(tmp_path: Path) -> None:
    env = os.environ | {
        "SANSHEN_DATA_DIR": str(tmp_path / "data"),
        "DATABASE_URL": "postgresql://sanshen@db.invalid/sanshen",
    }
    result = subprocess.run(
        [SANSHEN, "backup", "create", "--out", str(tmp_path / "x.tar.gz"), "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    error = json.loads(result.stdout)
    assert error["error"] == "use_pg_dump" and "pg_dump" in error["message"]
    assert not (tmp_path / "x.tar.gz").exists()


def test_a_backup_taken_while_writers_commit_is_consistent(embedded: App, tmp_path: Path) -> None:
    """The online backup API copies a committed state even while another connection writes:
    each backup holds whole transactions (both rows of each, a prefix of the writer's), at least
    every one committed before the backup began and none committed after it ended."""
    db_file = embedded.settings.data_dir / "sanshen.db"
    setup = sqlite3.connect(db_file, timeout=30, isolation_level=None)
    setup.execute("CREATE TABLE churn (n INTEGER)")  # before any backup: each one must hold it
    setup.close()
    stop = threading.Event()
    committed = threading.Condition()
    begun, done = [0], [0]  # transactions that reached COMMIT; whose COMMIT returned
    errors: list[BaseException] = []

    def write() -> None:
        try:
            conn = sqlite3.connect(db_file, timeout=30, isolation_level=None)
            try:
                while not stop.is_set():
                    n = done[0] + 1
                    conn.execute("BEGIN IMMEDIATE")
                    conn.execute("INSERT INTO churn VALUES (?)", (n,))
                    conn.execute("INSERT INTO churn VALUES (?)", (-n,))
                    with committed:
                        begun[0] = n
                    conn.execute("COMMIT")
                    with committed:
                        done[0] = n
                        committed.notify_all()
            finally:
                conn.close()
        except BaseException as error:  # reported below: the writer's failure fails the test
            errors.append(error)
            with committed:
                committed.notify_all()

    def commits_past(n: int) -> int:
        """Wait until the writer has committed more than `n` transactions; how many it has."""
        with committed:
            assert committed.wait_for(lambda: done[0] > n or errors, timeout=30), "no commits"
            assert not errors, errors
            return done[0]

    writer = threading.Thread(target=write)
    writer.start()
    bounds = []  # per backup: committed before it began, at most committed when it ended
    try:
        after = 0
        for i in range(3):
            before = commits_past(after)  # new commits since the last backup, and more coming
            backup.create(embedded.settings, tmp_path / f"b{i}.tar.gz")
            with committed:
                after = begun[0]
            bounds.append((before, after))
    finally:
        stop.set()
        writer.join(30)
    assert not errors, errors
    taken = []
    for i, (before, after) in enumerate(bounds):
        target = tmp_path / f"r{i}"
        backup.restore(tmp_path / f"b{i}.tar.gz", target)
        conn = sqlite3.connect(target / "sanshen.db")
        try:
            values = sorted(n for (n,) in conn.execute("SELECT n FROM churn"))
        finally:
            conn.close()
        k = len(values) // 2
        # both rows of each transaction, or neither: the writer's first k transactions, whole
        assert values == sorted([*range(1, k + 1), *(-n for n in range(1, k + 1))])
        assert 0 < before <= k <= after, (before, k, after)
        taken.append(k)
    assert taken == sorted(taken)
