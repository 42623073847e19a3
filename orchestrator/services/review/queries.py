"""What the review pages ask: the gate's verdict on the current version with the reviewer aids
(sensitive words, dates, images that are missing or unreadable), and the publication rows the
gate checks against the signed rows."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

import gate.model as g
from gate import Policy, Verdict, evaluate, next_stage
from gate.aids import review_aids
from orchestrator.blobs import BlobStore, sniff_mime
from orchestrator.models import Publication, Version
from orchestrator.services import dispatch
from orchestrator.services.record import review_record
from orchestrator.services.submissions import get


def check(
    session: Session,
    submission_id: int,
    *,
    policy: Policy,
    store: BlobStore,
    sensitive_words: tuple[str, ...],
    now: datetime | None = None,
) -> tuple[Verdict, g.ReviewStage | None, list[dict[str, str]]]:
    """The gate's verdict on the current version, what waits, and the reviewer aids."""
    now = now or datetime.now(UTC)
    submission = get(session, submission_id)
    record = review_record(
        submission,
        store=store,
        publications=live_rows(session, submission.current),
        origin=lambda pub: origin_problem(session, pub),
    )
    verdict = evaluate(record, policy, now=now)
    aids = [
        {"code": a.code, "message": a.message, "excerpt": a.excerpt}
        for a in review_aids(
            record.content,
            sensitive_words=sensitive_words,
            today=now.astimezone(ZoneInfo("Asia/Shanghai")).date(),
        )
    ]
    aids.extend(image_aids(submission.current, store))
    return verdict, next_stage(record, policy, now=now), aids


def live_rows(session: Session, version: Version) -> list[Publication]:
    """The version's publication rows that went or may still go out (not cancelled)."""
    return list(
        session.scalars(
            select(Publication)
            .where(Publication.version_id == version.id, Publication.state != "cancelled")
            .order_by(Publication.id)
        )
    )


def origin_problem(session: Session, pub: Publication) -> str:
    """What is wrong with where a publication row came from: "" when the sign-off created it
    and every later change to it is in the audit chain."""
    return dispatch.publication_origin_problem(session, pub) or ""


def image_aids(version: Version, store: BlobStore) -> list[dict[str, str]]:
    found: list[dict[str, str]] = []
    named = [(i.filename, i.sha256) for i in version.images]
    if version.cover_sha256:
        named.append(("封面", version.cover_sha256))
    for name, sha in named:
        data = store.get(sha)
        if data is None:
            found.append(
                {
                    "code": "image_missing",
                    "message": f"图片“{name}”缺失或已损坏",
                    "excerpt": sha[:12],
                }
            )
        elif sniff_mime(data) == "application/octet-stream":
            found.append(
                {
                    "code": "image_unreadable",
                    "message": f"图片“{name}”无法识别（不是 JPG/PNG/GIF）",
                    "excerpt": sha[:12],
                }
            )
    return found
