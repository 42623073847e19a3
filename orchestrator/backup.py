"""Backup and restore of the embedded default: the SQLite database and the data folder's files.

A backup is a .tar.gz holding `manifest.json` and `data/…`: a consistent copy of the database
taken with SQLite's online backup API (safe while the scheduler and workers write), then the
files beside it — blobs, the archive folder, keys and any other secrets. The database is copied
first: blobs and archive files are written before the rows that name them and are never
deleted, so every file the copied database refers to is in the backup too.

A server database (PostgreSQL) is backed up with its own tools (pg_dump / pg_restore); this
module then only copies the data folder's files (`files_only`).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import sqlite3
import tarfile
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

from orchestrator.errors import Conflict, InvalidInput
from orchestrator.settings import Settings

FORMAT = "sanshen-backup/1"
MANIFEST = "manifest.json"
DB_NAME = "sanshen.db"
# Left out: the database's live files (copied through the backup API instead), the embedded
# Redis (a broker: queued rows are enqueued again from the database), logs, locks and sockets.
SKIP_NAMES = {DB_NAME, f"{DB_NAME}-wal", f"{DB_NAME}-shm", f"{DB_NAME}-journal", "sanshen-up.lock"}
SKIP_DIRS = {"redis", "logs"}
SKIP_SUFFIXES = (".sock", ".pid", ".lock")


@dataclass(frozen=True)
class BackupResult:
    path: Path
    files: int
    bytes: int
    database: str | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "files": self.files,
            "bytes": self.bytes,
            "database": self.database,
        }


def uses_sqlite(settings: Settings) -> bool:
    return settings.sqlalchemy_url.startswith("sqlite")


def pg_dump_advice(settings: Settings) -> str:
    return (
        "当前数据库不是内置的 SQLite（DATABASE_URL 指向数据库服务器）。"
        "数据库本身请用 PostgreSQL 自带的工具备份和恢复："
        "pg_dump --format=custom --file=sanshen.dump <数据库连接串>，"
        "恢复用 pg_restore --clean --dbname=<数据库连接串> sanshen.dump。"
        "数据目录中的图片、归档文件和密钥可用 sanshen backup create --files-only 另行备份。"
    )


# --- create ---------------------------------------------------------------------------------


def create(settings: Settings, out: Path, *, files_only: bool = False) -> BackupResult:
    data_dir = settings.data_dir
    if not uses_sqlite(settings) and not files_only:
        raise InvalidInput(pg_dump_advice(settings), code="use_pg_dump")
    if not data_dir.is_dir():
        raise InvalidInput(f"数据目录 {data_dir} 不存在，没有可备份的内容", code="no_data_dir")
    if out.resolve().is_relative_to(data_dir.resolve()):
        raise InvalidInput(
            f"备份文件 {out} 不能放在数据目录 {data_dir} 之内，请放到别处", code="backup_inside"
        )
    if out.exists():
        raise Conflict(f"备份文件 {out} 已存在，不会覆盖；请换一个文件名", code="backup_exists")
    database_file = data_dir / DB_NAME
    with_database = uses_sqlite(settings) and not files_only
    if with_database and not database_file.is_file():
        raise InvalidInput(f"数据目录 {data_dir} 中没有数据库文件 {DB_NAME}", code="no_database")

    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="sanshen-backup-", dir=out.parent) as scratch:
        members: dict[str, Path] = {}
        if with_database:
            snapshot = Path(scratch) / DB_NAME
            _sqlite_snapshot(database_file, snapshot)
            members[DB_NAME] = snapshot
        for path in sorted(_data_files(data_dir)):
            members[path.relative_to(data_dir).as_posix()] = path
        described = {name: _describe(path) for name, path in members.items()}
        database = DB_NAME if with_database else None
        manifest = {
            "format": FORMAT,
            "created_at": datetime.now(UTC).isoformat(),
            "database": database,
            "files": described,
        }
        partial = out.with_name(out.name + ".partial")
        with tarfile.open(partial, "w:gz") as tar:
            _add_bytes(tar, MANIFEST, json.dumps(manifest, ensure_ascii=False, indent=2).encode())
            for name, path in members.items():
                tar.add(path, arcname=f"data/{name}", recursive=False)
        os.replace(partial, out)
    return BackupResult(out, len(members), sum(d["size"] for d in described.values()), database)


def _sqlite_snapshot(source: Path, target: Path) -> None:
    """A consistent copy while others write: SQLite's online backup, read-only on the source."""
    src = sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True, timeout=30)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
        dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file in the archive
    finally:
        dst.close()
        src.close()


def _data_files(data_dir: Path) -> list[Path]:
    found = []
    for root, dirs, names in os.walk(data_dir):
        here = Path(root)
        if here == data_dir:
            dirs[:] = [d for d in dirs if d not in SKIP_DIRS]
        for name in names:
            path = here / name
            if here == data_dir and name in SKIP_NAMES:
                continue
            if name.endswith(SKIP_SUFFIXES) or not path.is_file() or path.is_symlink():
                continue
            found.append(path)
    return found


def _describe(path: Path) -> dict[str, Any]:
    return {"sha256": _sha256_file(path), "size": path.stat().st_size}


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = int(datetime.now(UTC).timestamp())
    info.mode = 0o600
    tar.addfile(info, io.BytesIO(data))


# --- restore --------------------------------------------------------------------------------


def restore(archive: Path, data_dir: Path, *, force: bool = False) -> BackupResult:
    """Unpack into `data_dir` after checking every file against the manifest's hashes."""
    if not archive.is_file():
        raise InvalidInput(f"备份文件 {archive} 不存在", code="no_backup")
    if data_dir.exists() and not data_dir.is_dir():
        raise InvalidInput(f"{data_dir} 不是目录", code="not_a_folder")
    if data_dir.is_dir() and any(data_dir.iterdir()) and not force:
        raise Conflict(
            f"目标目录 {data_dir} 不是空的，为免覆盖现有数据已停止；"
            "确认要覆盖请加 --force，或换一个空目录",
            code="folder_not_empty",
        )
    data_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".sanshen-restore-", dir=data_dir) as scratch:
        staged = Path(scratch)
        manifest = _unpack_checked(archive, staged)
        if manifest["database"] is not None:
            _check_database(staged / manifest["database"])
        if force:
            for name in SKIP_NAMES - {"sanshen-up.lock"}:
                (data_dir / name).unlink(missing_ok=True)  # stale -wal/-shm would corrupt it
        for name in manifest["files"]:
            target = data_dir / name
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staged / name, target)
    files = manifest["files"]
    return BackupResult(
        data_dir, len(files), sum(f["size"] for f in files.values()), manifest["database"]
    )


def _unpack_checked(archive: Path, staged: Path) -> dict[str, Any]:
    try:
        with tarfile.open(archive, "r:gz") as tar:
            manifest = _read_manifest(tar)
            expected: dict[str, dict[str, Any]] = manifest["files"]
            seen: set[str] = set()
            for member in tar:
                if member.name == MANIFEST:
                    continue
                name = _member_name(member)
                if name not in expected:
                    raise _corrupt(f"包含清单中没有的文件 {member.name}")
                if name in seen:
                    raise _corrupt(f"文件 {name} 出现了两次")
                seen.add(name)
                source = tar.extractfile(member)
                assert source is not None  # _member_name accepts regular files only
                target = staged / name
                target.parent.mkdir(parents=True, exist_ok=True)
                with source, target.open("wb") as out:
                    shutil.copyfileobj(source, out)
                if _sha256_file(target) != expected[name]["sha256"]:
                    raise _corrupt(f"文件 {name} 的哈希与清单不符（内容被改动或损坏）")
            missing = sorted(set(expected) - seen)
            if missing:
                raise _corrupt(f"缺少清单中的文件：{'、'.join(missing[:5])}")
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise _corrupt(f"无法读取：{exc}") from None
    return manifest


def _read_manifest(tar: tarfile.TarFile) -> dict[str, Any]:
    try:
        member = tar.getmember(MANIFEST)
    except KeyError:
        raise _corrupt("缺少清单 manifest.json，不是三审发布的备份文件") from None
    handle = tar.extractfile(member)
    if handle is None:
        raise _corrupt("清单 manifest.json 不是普通文件")
    try:
        manifest = json.loads(handle.read())
    except ValueError:
        raise _corrupt("清单 manifest.json 无法解析") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise _corrupt(f"备份格式不是 {FORMAT}，无法恢复")
    if not isinstance(manifest.get("files"), dict):
        raise _corrupt("清单中没有文件列表")
    for name in manifest["files"]:
        _safe_relative(name)
    return manifest


def _member_name(member: tarfile.TarInfo) -> str:
    if not member.isfile():
        raise _corrupt(f"{member.name} 不是普通文件（链接、设备等一律拒绝）")
    path = PurePosixPath(member.name)
    if path.parts[:1] != ("data",) or len(path.parts) < 2:
        raise _corrupt(f"文件 {member.name} 不在 data/ 之下")
    return _safe_relative(PurePosixPath(*path.parts[1:]).as_posix())


def _safe_relative(name: str) -> str:
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts or not path.parts:
        raise _corrupt(f"文件名 {name} 不安全（绝对路径或含 ..）")
    return path.as_posix()


def _check_database(path: Path) -> None:
    connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        (result,) = connection.execute("PRAGMA integrity_check").fetchone()
    except sqlite3.DatabaseError as exc:
        raise _corrupt(f"数据库文件无法打开：{exc}") from None
    finally:
        connection.close()
    if result != "ok":
        raise _corrupt(f"数据库完整性检查未通过：{result}")


def _corrupt(detail: str) -> InvalidInput:
    return InvalidInput(f"备份文件无法使用：{detail}", code="backup_corrupt")
