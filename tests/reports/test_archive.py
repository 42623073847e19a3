"""The archive: files by hash with rows and audit entries; verify; export; kept at sign-off."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from gate.model import Decision, ReviewStage
from orchestrator import audit
from orchestrator.app import App
from orchestrator.errors import Conflict, InvalidInput, NotFound
from orchestrator.models import ArchiveEntry, AuditEvent, ReviewAction, Submission
from orchestrator.reports import archive
from orchestrator.services import review
from tests.orchestrator.conftest import PASSWORDS
from tests.reports.conftest import Server, demo_signed_off, sanshen, signed_off, submit, walk

SHANGHAI = ZoneInfo("Asia/Shanghai")


def put(app: App, name: str, data: bytes, kind: str = "bulletin_pdf") -> int:
    with app.db.session() as session:
        entry = archive.store(
            session, app, kind=kind, name=name, data=data, mime="application/pdf", actor="zhk"
        )
        return entry.id


def test_store_keeps_the_file_by_hash_with_its_row_and_audit_entry(app: App) -> None:
    data = b"%PDF-1.4 bulletin of October"
    sha = hashlib.sha256(data).hexdigest()
    entry_id = put(app, "通报-2026-10.pdf", data)
    assert (app.settings.data_dir / "archive" / sha[:2] / sha).read_bytes() == data
    with app.db.read() as session:
        entry, read = archive.read_entry(session, app, entry_id)
        assert (entry.sha256, entry.size, entry.name, read) == (
            sha,
            len(data),
            "通报-2026-10.pdf",
            data,
        )
        event = session.scalars(
            select(AuditEvent).where(AuditEvent.subject == f"archive:{entry_id}")
        ).one()
        assert (event.action, event.actor, event.payload["sha256"]) == ("archive.store", "zhk", sha)
        assert audit.verify(session).ok


def test_the_same_bytes_twice_are_two_entries_and_one_file(app: App) -> None:
    first, second = put(app, "a.pdf", b"same"), put(app, "b.pdf", b"same")
    assert first != second
    files = [p for p in (app.settings.data_dir / "archive").rglob("*") if p.is_file()]
    assert len(files) == 1
    with app.db.read() as session:
        total, rows = archive.list_entries(session, page=1, per_page=1)
        assert total == 2 and [r.id for r in rows] == [second]
        with pytest.raises(InvalidInput):
            archive.list_entries(session, page=0)


def test_verify_names_a_changed_file_and_a_missing_one(app: App) -> None:
    good = put(app, "good.pdf", b"good")
    changed = put(app, "changed.pdf", b"original")
    missing = put(app, "missing.pdf", b"gone soon")
    with app.db.read() as session:
        assert archive.verify(session, app).ok
        path = {e.id: archive.path_of(app, e.sha256) for e in session.scalars(select(ArchiveEntry))}
    path[changed].write_bytes(b"originaL")
    path[missing].unlink()
    with app.db.read() as session:
        report = archive.verify(session, app)
        with pytest.raises(Conflict, match=r"changed\.pdf"):
            archive.read_entry(session, app, changed)
        with pytest.raises(NotFound):
            archive.read_entry(session, app, 999)
        assert archive.read_entry(session, app, good)[1] == b"good"
    assert not report.ok and report.checked == 3
    found = {p["id"]: (p["name"], p["problem"]) for p in report.problems}
    assert found == {changed: ("changed.pdf", "changed"), missing: ("missing.pdf", "missing")}
    assert any("changed.pdf" in p["message"] and "改动" in p["message"] for p in report.problems)
    assert any("missing.pdf" in p["message"] and "缺失" in p["message"] for p in report.problems)


def test_export_zip_holds_the_range_with_a_matching_index(app: App) -> None:
    inside = [put(app, f"表{i}.pdf", f"form {i}".encode(), kind="form_pdf") for i in range(2)]
    outside = put(app, "旧通报.pdf", b"last year")
    today = datetime.now(UTC).astimezone(SHANGHAI).date()
    with app.db.session() as session:
        old = session.get(ArchiveEntry, outside)
        assert old is not None
        old.created_at = datetime.now(UTC) - timedelta(days=400)
    with app.db.read() as session:
        data = archive.export(session, app, today - timedelta(days=1), today)
        with pytest.raises(InvalidInput):
            archive.export(session, app, today, today - timedelta(days=1))
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        index = json.loads(zf.read("index.json"))
        rows = list(csv.DictReader(io.StringIO(zf.read("index.csv").decode("utf-8-sig"))))
        assert [r["id"] for r in index] == inside
        assert [r["name"] for r in index] == ["表0.pdf", "表1.pdf"]
        for entry, row in zip(index, rows, strict=True):
            content = zf.read(entry["path"])
            assert hashlib.sha256(content).hexdigest() == entry["sha256"] == row["sha256"]
            assert len(content) == entry["size"] == int(row["size"])
            assert row["name"] == entry["name"] and row["kind"] == entry["kind"] == "form_pdf"
            assert row["created_at"] == entry["created_at"]
            assert entry["created_at"].startswith(today.isoformat())
        assert not any("旧通报" in n for n in zf.namelist())


def test_export_refuses_when_a_file_in_range_was_changed(app: App) -> None:
    entry_id = put(app, "表.pdf", b"form")
    with app.db.read() as session:
        entry = session.get(ArchiveEntry, entry_id)
        assert entry is not None
        archive.path_of(app, entry.sha256).write_bytes(b"forged")
        today = datetime.now(UTC).astimezone(SHANGHAI).date()
        with pytest.raises(Conflict, match=r"表\.pdf"):
            archive.export(session, app, today, today)


def test_sign_off_archives_form_docx_and_exact_content_with_the_signature(app: App) -> None:
    sub_id = signed_off(app)
    with app.db.read() as session:
        sub = session.get(Submission, sub_id)
        assert sub is not None
        entries = session.scalars(
            select(ArchiveEntry).where(ArchiveEntry.submission_id == sub_id)
        ).all()
        assert sorted(e.kind for e in entries) == ["content", "form_docx", "form_pdf"]
        by_kind = {e.kind: e for e in entries}
        content = archive.read_entry(session, app, by_kind["content"].id)[1]
        # The content file is exactly what the version fingerprint (and every signature) covers.
        assert hashlib.sha256(content).hexdigest() == sub.current.fingerprint
        assert json.loads(content)["title"] == sub.current.title
        assert archive.read_entry(session, app, by_kind["form_pdf"].id)[1].startswith(b"%PDF")
        assert archive.read_entry(session, app, by_kind["form_docx"].id)[1].startswith(b"PK")
        assert {e.version_id for e in entries} == {sub.current.id}
        assert {e.created_by for e in entries} == {"publicity"}
        logged = session.scalars(
            select(AuditEvent.payload).where(AuditEvent.action == "archive.store")
        ).all()
        assert {p["sha256"] for p in logged} == {e.sha256 for e in entries}


def test_no_sign_off_is_recorded_when_its_form_cannot_be_archived(app: App) -> None:
    sub_id = submit(app)
    walk(app, sub_id, until=ReviewStage.SIGN_OFF)
    (app.settings.data_dir / "archive").write_bytes(b"not a folder")
    with pytest.raises(OSError), app.db.session() as session:
        review.review(
            session,
            sub_id,
            stage=ReviewStage.SIGN_OFF,
            decision=Decision.APPROVE,
            actor="publicity",
            password=PASSWORDS["publicity"],
            policy=app.policy,
            app=app,
        )
    with app.db.read() as session:
        stages = session.scalars(
            select(ReviewAction.stage).where(ReviewAction.submission_id == sub_id)
        ).all()
        assert "sign_off" not in stages
        assert session.scalars(select(ArchiveEntry)).all() == []


def test_an_approval_before_sign_off_archives_nothing(app: App) -> None:
    sub_id = submit(app)
    walk(app, sub_id, until=ReviewStage.SIGN_OFF)
    with app.db.read() as session:
        assert session.scalars(select(ArchiveEntry)).all() == []


# --- the command and the API -----------------------------------------------------------------


def test_cli_exports_a_day_and_verify_names_a_changed_file(app: App, tmp_path: Path) -> None:
    sub_id = signed_off(app)
    today = datetime.now(UTC).astimezone(SHANGHAI).date().isoformat()
    out = tmp_path / "存档.zip"
    exported = sanshen(
        app.settings.data_dir,
        "archive",
        "export",
        "--from",
        today,
        "--to",
        today,
        "--out",
        str(out),
    )
    assert exported.returncode == 0, exported.stderr
    with zipfile.ZipFile(out) as zf:
        index = json.loads(zf.read("index.json"))
    assert {(e["kind"], e["submission"]) for e in index} == {
        ("form_pdf", sub_id),
        ("form_docx", sub_id),
        ("content", sub_id),
    }
    pdf = next(e for e in index if e["kind"] == "form_pdf")
    with app.db.read() as session:
        entry = session.get(ArchiveEntry, pdf["id"])
        assert entry is not None
        archive.path_of(app, entry.sha256).write_bytes(b"%PDF-forged")
    checked = sanshen(app.settings.data_dir, "archive", "verify")
    assert checked.returncode == 7
    assert pdf["name"] in checked.stdout and "改动" in checked.stdout


def test_api_lists_downloads_verifies_and_exports(api: Server) -> None:
    sub_id = demo_signed_off(api)
    client = api.as_("zhouzh")
    listed = client.get("/archive", params={"submission": sub_id, "per_page": 10})
    assert listed.status_code == 200, listed.text
    items = listed.json()["items"]
    assert sorted(i["kind"] for i in items) == ["content", "form_docx", "form_pdf"]
    content = next(i for i in items if i["kind"] == "content")
    download = client.get(f"/archive/{content['id']}")
    assert download.status_code == 200
    assert hashlib.sha256(download.content).hexdigest() == content["sha256"]
    assert json.loads(download.content)["format"] == "sanshen.version.v1"
    verified = client.post("/archive/verify")
    assert verified.status_code == 200 and verified.json()["ok"] is True
    today = datetime.now(UTC).astimezone(SHANGHAI).date().isoformat()
    exported = client.get("/archive/export", params={"from": today, "to": today})
    assert exported.status_code == 200 and exported.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(exported.content)) as zf:
        ids = {e["id"] for e in json.loads(zf.read("index.json"))}
    assert {i["id"] for i in items} <= ids
    bad = client.get("/archive/export", params={"from": "2026-13-01", "to": today})
    assert bad.status_code == 422 and "YYYY-MM-DD" in bad.json()["message"]
    assert client.get("/archive/999999").status_code == 404
    assert api.client().get("/archive").status_code == 401
    browser, _csrf = api.signed_in("zhouzh")
    assert browser.post("/archive/verify").status_code == 403  # a session needs its CSRF token
