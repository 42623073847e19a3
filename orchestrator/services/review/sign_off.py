"""What a sign-off adds to its signature, in the same unit of work: the publication rows of the
审批表, and the signed-off version's 审批表 (PDF, .docx) and exact content in the archive.

A sign-off is refused before anything is signed when a row's 发布日期 is already past.
"""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy.orm import Session

from gate import Policy
from gate.canonical import content_document
from orchestrator.app import App
from orchestrator.documents import archive
from orchestrator.documents.form import DOCX_MIME
from orchestrator.documents.form_docx import render_docx
from orchestrator.documents.form_pdf import render_pdf
from orchestrator.errors import Conflict
from orchestrator.models import ArchiveEntry, Submission, Version
from orchestrator.services import approval_form, dispatch
from orchestrator.services.submissions import content_of


def refuse_past_dates(version: Version, now: datetime, policy: Policy) -> None:
    today = now.astimezone(policy.zone).date()
    past = [row for row in version.channels if row.publish_date < today]
    if past:
        rows = "、".join(f"{r.channel}（{r.publish_date.isoformat()}）" for r in past)
        raise Conflict(
            f"审批表中的发布日期已过：{rows}。请修改稿件的发布日期后再送审签发",
            code="publish_date_past",
        )


def complete_sign_off(
    session: Session, app: App, version: Version, *, actor: str, now: datetime, default_time: str
) -> None:
    """The signed-off version's publication rows, then its 审批表 and content archived."""
    dispatch.create_publications(
        session,
        version,
        default_time=default_time,
        now=now,
        actor=actor,
        hold_days=app.settings.upward_hold_days,
    )
    archive_sign_off(session, app, version.submission_id, actor=actor, now=now)


def canonical_content(submission: Submission) -> bytes:
    """The exact content signed off: the bytes whose SHA-256 is the version fingerprint."""
    document = content_document(content_of(submission.current))
    return json.dumps(document, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def archive_sign_off(
    session: Session, app: App, submission_id: int, *, actor: str, now: datetime
) -> list[ArchiveEntry]:
    """Archive the signed-off version's 审批表 (PDF, .docx) and its canonical content."""
    built = approval_form.build(session, app, [submission_id], now=now)
    submission = session.get(Submission, submission_id)
    assert submission is not None
    version = submission.current
    stem = f"审批表-稿件{submission_id}-v{version.number}"
    files = (  # kind, name, bytes, MIME type
        ("form_pdf", f"{stem}.pdf", render_pdf(built), "application/pdf"),
        ("form_docx", f"{stem}.docx", render_docx(built), DOCX_MIME),
        (
            "content",
            f"内容-稿件{submission_id}-v{version.number}.json",
            canonical_content(submission),
            "application/json",
        ),
    )
    return [
        archive.store(
            session,
            app,
            kind=kind,
            name=name,
            data=data,
            mime=mime,
            submission_id=submission_id,
            version_id=version.id,
            actor=actor,
        )
        for kind, name, data, mime in files
    ]
