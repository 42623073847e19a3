"""One 发布核验: fetch a publication's public page, compare it with the version that was signed,
store the evidence (a `Verification` row, the page's gzip snapshot as a blob, an audit event)
and act on the verdict (verdicts), in one transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from orchestrator import attest, audit
from orchestrator.app import App
from orchestrator.errors import Conflict
from orchestrator.models import Publication, Verification
from orchestrator.permissions import require
from orchestrator.render import render
from orchestrator.services.hub import ChannelHub
from orchestrator.services.publishing import get_publication
from orchestrator.services.verification.verdicts import act
from orchestrator.states import State
from orchestrator.verify import Limits, Outcome, Signed, Verdict

TRIGGER_LABELS = {
    "published": "发布后核验",
    "watch": "巡检",
    "manual": "人工核验",
    "takedown": "撤下核验",
}


@dataclass(frozen=True)
class Checked:
    """What one check found, for the CLI, the API and the console."""

    publication_id: int
    verification_id: int
    verdict: Verdict
    code: str
    reason: str
    state: str
    diff_html: str
    diff: tuple[tuple[str, str], ...] = ()  # (equal|insert|delete, text), signed -> live

    def as_dict(self) -> dict[str, Any]:
        return {
            "publication_id": self.publication_id,
            "verification_id": self.verification_id,
            "verdict": self.verdict.value,
            "verdict_label": self.verdict.label,
            "code": self.code,
            "reason": self.reason,
            "state": self.state,
            "diff": [list(segment) for segment in self.diff],
        }


def limits_of(app: App) -> Limits:
    s = app.settings
    return Limits(read_timeout=s.verify_read_timeout, max_bytes=s.verify_max_bytes)


def signed_of(app: App, pub: Publication) -> Signed:
    """What was signed for this row, as the channel was given it (a repost's 来源 line too)."""
    item = render(pub.version, pub.channel, reference=f"P{pub.id}", store=app.blobs)
    return Signed(
        title=item.title,
        body_html=item.body_html,
        images={image.sha256: image.data for image in item.images},
    )


def verify(
    app: App,
    hub: ChannelHub,
    pub_id: int,
    *,
    trigger: str,
    actor: str = "",
    now: datetime | None = None,
) -> Checked:
    """Fetch the row's public page and compare it with the signed version; never raises for
    what the page or the network does (that is a verdict), only for a row with no page."""
    with app.db.read() as session:
        pub = get_publication(session, pub_id)
        if not pub.url:
            raise Conflict(
                f"发布 {pub_id} 还没有公开链接（当前为“{State(pub.state).label}”），无法核验",
                code="no_public_url",
            )
        url, channel = pub.url, pub.channel
        signed = signed_of(app, pub)
    from orchestrator.verify.check import check  # its libraries load when a page is checked

    outcome = check(url, signed, allowed_hosts=hub.page_hosts(channel), limits=limits_of(app))
    return record(app, pub_id, outcome, trigger=trigger, actor=actor, now=now)


def verify_as(app: App, hub: ChannelHub, pub_ids: list[int], *, actor: str) -> list[Checked]:
    """发布核验 asked for by a person (console, API, CLI): their role for each row's channel is
    checked first, for every row, before any page is fetched."""
    now = datetime.now(UTC)
    with app.db.read() as session:
        for pub_id in pub_ids:
            pub = get_publication(session, pub_id)
            require(session, actor, "verify", hub.classes[pub.channel].kind, now)
    return [verify(app, hub, pub_id, trigger="manual", actor=actor) for pub_id in pub_ids]


def record(
    app: App,
    pub_id: int,
    outcome: Outcome,
    *,
    trigger: str,
    actor: str = "",
    now: datetime | None = None,
) -> Checked:
    """Store one check's evidence and act on its verdict, in one transaction."""
    now = now or datetime.now(UTC)
    with app.db.session() as session:
        pub = get_publication(session, pub_id)
        snapshot = app.blobs.put(session, outcome.snapshot).sha256 if outcome.snapshot else None
        row = Verification(
            publication_id=pub_id,
            checked_at=now,
            trigger=trigger,
            actor=actor,
            url=outcome.url,
            final_url=outcome.final_url,
            verdict=outcome.verdict.value,
            code=outcome.code,
            reason=outcome.reason,
            http_status=outcome.http_status,
            page_sha256=outcome.page_sha256,
            snapshot_sha256=snapshot,
            similarity=round(outcome.similarity, 4),
            diff={"segments": [list(segment) for segment in outcome.diff]},
            images=_images(outcome),
            duration_ms=outcome.duration_ms,
        )
        session.add(row)
        session.flush()
        audit.record(
            session,
            "publication.verify",
            actor=actor,
            subject=f"publication:{pub_id}",
            payload={
                "row": attest.claim(row),
                "verdict": outcome.verdict.value,
                "code": outcome.code,
                "trigger": trigger,
            },
            at=now,
        )
        state = act(app, session, pub, row, outcome, now)
        return Checked(
            pub_id,
            row.id,
            outcome.verdict,
            outcome.code,
            outcome.reason,
            state,
            outcome.diff_html(),
            outcome.diff,
        )


def _images(outcome: Outcome) -> dict[str, Any]:
    report = outcome.images
    return {
        "expected": report.expected,
        "found": report.found,
        "compared": report.compared,
        "mismatched": list(report.mismatched),
        "foreign": list(report.foreign),
        "unfetchable": [list(item) for item in report.unfetchable],
    }


def history(session: Session, pub_id: int, limit: int = 50) -> list[Verification]:
    """The row's checks, newest first."""
    return list(
        session.scalars(
            select(Verification)
            .where(Verification.publication_id == pub_id)
            .order_by(Verification.checked_at.desc(), Verification.id.desc())
            .limit(limit)
        )
    )
