"""The archive (存档) as a report: list and read archived files, check every file against its
hash (`verify`), export a period as a zip with an index.

Files are written into the archive below the services (orchestrator.documents.archive): at
sign-off the 审批表 (PDF and .docx) and the exact content are archived in the same unit of work as
the signature (`archive_sign_off`, in services.review). Those names are kept here too.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from orchestrator.app import App

# Files are written below the reports (documents.archive, and at sign-off services.review):
# those names are kept here for the callers that find them in the archive report.
from orchestrator.documents.archive import app_for as app_for
from orchestrator.documents.archive import archive_dir as archive_dir
from orchestrator.documents.archive import path_of
from orchestrator.documents.archive import store as store
from orchestrator.errors import Conflict, InvalidInput, NotFound
from orchestrator.models import ArchiveEntry
from orchestrator.services.review.sign_off import archive_sign_off as archive_sign_off
from orchestrator.services.review.sign_off import canonical_content as canonical_content

SHANGHAI = ZoneInfo("Asia/Shanghai")
INDEX_FIELDS = ("id", "name", "kind", "sha256", "size", "mime", "submission", "created_at", "path")
KIND_LABELS = {
    "form_pdf": "审批表（PDF）",
    "form_docx": "审批表（Word）",
    "content": "发布内容（规范化 JSON）",
    "bulletin_pdf": "通报（PDF）",
}


# --- reading ---------------------------------------------------------------------------------


def local_time(value: datetime) -> str:
    return value.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")


def entry_dict(entry: ArchiveEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "name": entry.name,
        "kind": entry.kind,
        "kind_label": KIND_LABELS.get(entry.kind, entry.kind),
        "sha256": entry.sha256,
        "size": entry.size,
        "mime": entry.mime,
        "submission": entry.submission_id,
        "version": entry.version_id,
        "period": entry.period,
        "created_by": entry.created_by,
        "created_at": local_time(entry.created_at),
    }


def list_entries(
    session: Session,
    *,
    page: int = 1,
    per_page: int = 50,
    kind: str | None = None,
    submission_id: int | None = None,
) -> tuple[int, list[ArchiveEntry]]:
    """(total, one page of entries), newest first."""
    if page < 1 or not 1 <= per_page <= 500:
        raise InvalidInput("页码须 ≥ 1，每页条数须在 1–500 之间", code="bad_page")
    query = select(ArchiveEntry)
    if kind:
        query = query.where(ArchiveEntry.kind == kind)
    if submission_id is not None:
        query = query.where(ArchiveEntry.submission_id == submission_id)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(
        query.order_by(ArchiveEntry.created_at.desc(), ArchiveEntry.id.desc())
        .offset((page - 1) * per_page)
        .limit(per_page)
    )
    return total, list(rows)


def _problem(app: App, entry: ArchiveEntry) -> str:
    """'' when the file on disk is the one archived; otherwise what is wrong, in Chinese."""
    try:
        data = path_of(app, entry.sha256).read_bytes()
    except FileNotFoundError:
        return "文件缺失"
    if hashlib.sha256(data).hexdigest() != entry.sha256:
        return "文件内容与存档哈希不符（已被改动）"
    return ""


def read_entry(session: Session, app: App, entry_id: int) -> tuple[ArchiveEntry, bytes]:
    """An entry and its bytes, checked against the archived hash."""
    entry = session.get(ArchiveEntry, entry_id)
    if entry is None:
        raise NotFound(f"存档 {entry_id} 不存在", code="archive_entry_not_found")
    problem = _problem(app, entry)
    if problem:
        raise Conflict(f"存档 {entry_id}（{entry.name}）{problem}", code="archive_file_damaged")
    return entry, path_of(app, entry.sha256).read_bytes()


@dataclass
class VerifyReport:
    checked: int = 0
    problems: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "checked": self.checked, "problems": self.problems}


def verify(session: Session, app: App) -> VerifyReport:
    """Check every archived file against its hash; each missing or changed file is named."""
    report = VerifyReport()
    for entry in session.scalars(select(ArchiveEntry).order_by(ArchiveEntry.id)):
        report.checked += 1
        problem = _problem(app, entry)
        if problem:
            report.problems.append(
                {
                    "id": entry.id,
                    "name": entry.name,
                    "sha256": entry.sha256,
                    "path": str(path_of(app, entry.sha256)),
                    "problem": "missing" if problem == "文件缺失" else "changed",
                    "message": f"存档 {entry.id}（{entry.name}）{problem}",
                }
            )
    return report


# --- export ----------------------------------------------------------------------------------


def _utc_bounds(start: date, end: date) -> tuple[datetime, datetime]:
    if end < start:
        raise InvalidInput(
            f"导出区间有误：结束日期 {end} 早于开始日期 {start}", code="bad_date_range"
        )
    low = datetime.combine(start, time(0), SHANGHAI).astimezone(UTC)
    high = datetime.combine(end + timedelta(days=1), time(0), SHANGHAI).astimezone(UTC)
    return low, high


def export(session: Session, app: App, start: date, end: date) -> bytes:
    """A zip of everything archived from `start` to `end` (local dates, both included), with
    index.csv and index.json; refuses when any of those files is missing or changed."""
    low, high = _utc_bounds(start, end)
    entries = list(
        session.scalars(
            select(ArchiveEntry)
            .where(ArchiveEntry.created_at >= low, ArchiveEntry.created_at < high)
            .order_by(ArchiveEntry.created_at, ArchiveEntry.id)
        )
    )
    damaged = [f"{e.id}（{e.name}）{p}" for e in entries if (p := _problem(app, e))]
    if damaged:
        raise Conflict(
            "存档文件缺失或被改动，未导出：" + "；".join(damaged),
            code="archive_file_damaged",
            details=damaged,
        )
    index = []
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for entry in entries:
            inner = f"files/{entry.id:06d}-{entry.name}"
            zf.writestr(inner, path_of(app, entry.sha256).read_bytes())
            index.append(
                {
                    "id": entry.id,
                    "name": entry.name,
                    "kind": entry.kind,
                    "sha256": entry.sha256,
                    "size": entry.size,
                    "mime": entry.mime,
                    "submission": entry.submission_id,
                    "created_at": local_time(entry.created_at),
                    "path": inner,
                }
            )
        zf.writestr("index.json", json.dumps(index, ensure_ascii=False, indent=2))
        zf.writestr("index.csv", _csv(index))
    return buffer.getvalue()


def _csv(rows: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    out.write("\ufeff")  # so spreadsheet programs read the Chinese names as UTF-8
    writer = csv.DictWriter(out, fieldnames=INDEX_FIELDS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if row[k] is None else row[k] for k in INDEX_FIELDS})
    return out.getvalue()
