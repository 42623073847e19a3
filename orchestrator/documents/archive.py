"""Writing into the archive (存档): files kept by SHA-256 under data_dir/archive/<sha[:2]>/<sha>.

Each stored file has a row in archive_entries and its hash in the audit log, so a file changed
on disk is named by `verify`, and a row changed in the database breaks the audit chain. The row
and the audit entry are written in the caller's unit of work: at sign-off the 审批表 and the
content join the signature's transaction (services.review), and 发布核验 its verdict's.
Reading, checking and exporting the archive are reports (reports.archive).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.orm import Session

from orchestrator import audit
from orchestrator.app import App
from orchestrator.errors import InvalidInput
from orchestrator.models import ArchiveEntry


def archive_dir(app: App) -> Path:
    return app.settings.data_dir / "archive"


def path_of(app: App, sha256: str) -> Path:
    return archive_dir(app) / sha256[:2] / sha256


def _write_once(target: Path, data: bytes, sha256: str) -> None:
    """Write atomically; an existing file is kept only when it still matches its hash."""
    if target.is_file() and hashlib.sha256(target.read_bytes()).hexdigest() == sha256:
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.replace(tmp, target)


def store(
    session: Session,
    app: App,
    *,
    kind: str,
    name: str,
    data: bytes,
    mime: str,
    submission_id: int | None = None,
    version_id: int | None = None,
    period: str | None = None,
    actor: str = "",
) -> ArchiveEntry:
    """Keep `data` in the archive: the file, its row and an audit entry with its hash.

    The row and the audit entry commit or roll back with the caller's unit of work; a file
    left by a rolled-back transaction has no row and is never listed (it is content-addressed,
    so storing the same bytes again reuses it).
    """
    if not name.strip():
        raise InvalidInput("存档文件名不能为空", code="archive_name_required")
    sha = hashlib.sha256(data).hexdigest()
    _write_once(path_of(app, sha), data, sha)
    entry = ArchiveEntry(
        kind=kind,
        name=name,
        sha256=sha,
        size=len(data),
        mime=mime,
        submission_id=submission_id,
        version_id=version_id,
        period=period,
        created_by=actor,
        created_at=datetime.now(UTC),
    )
    session.add(entry)
    session.flush()
    audit.record(
        session,
        "archive.store",
        actor=actor,
        subject=f"archive:{entry.id}",
        payload={
            "kind": kind,
            "name": name,
            "sha256": sha,
            "size": len(data),
            "submission": submission_id,
            "version": version_id,
            "period": period,
        },
        at=entry.created_at,
    )
    return entry


def app_for(session: Session) -> App:
    """The application a session belongs to, for callers that have only the session: a
    SQLite file lives in its data folder; any other database uses the configured one."""
    from orchestrator.settings import Settings, get_settings

    url = session.get_bind().engine.url
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        return App(Settings(data_dir=Path(str(url.database)).parent))
    return App(get_settings())
