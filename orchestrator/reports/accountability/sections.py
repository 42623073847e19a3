"""The parts of the accountability report, each from the rows of one publication: the review
actions with their signatures checked again, the signed 改期, the signed records of publishing
or taking down by hand, the 发布核验, and the publication row itself."""

from __future__ import annotations

from typing import Any

from nacl.exceptions import CryptoError
from nacl.signing import VerifyKey
from sqlalchemy import select
from sqlalchemy.orm import Session

import gate.model as g
from gate import signature_valid
from gate.canonical import manual_payload
from gate.rules import ReviewContext
from orchestrator.documents.form import local, short_fingerprint
from orchestrator.models import ManualAction, Publication, Verification
from orchestrator.services.submissions import channel_catalogue
from orchestrator.states import State
from orchestrator.verify import Verdict


def amendments(
    pub: Publication, record: g.ReviewRecord, context: ReviewContext
) -> list[dict[str, Any]]:
    """Each signed 改期 of this row's channel on this version, and whether the gate counts it."""
    refused = {v.action_id for v in context.amendment_violations}
    return [
        {
            "old_date": a.old_date.isoformat(),
            "new_date": a.new_date.isoformat(),
            "username": a.actor_id,
            "name": record.people[a.actor_id].name if a.actor_id in record.people else a.actor_id,
            "at": local(a.acted_at),
            "comment": a.comment,
            "signature_fingerprint": short_fingerprint(a.signature),
            "counts": a.id not in refused,
        }
        for a in record.amendments
        if a.channel == pub.channel and a.fingerprint == context.fingerprint
    ]


def by_hand(session: Session, pub: Publication) -> list[dict[str, Any]]:
    """Each signed record of publishing or taking down by hand, its signature checked again."""
    rows = session.scalars(
        select(ManualAction).where(ManualAction.publication_id == pub.id).order_by(ManualAction.id)
    )
    out = []
    for a in rows:
        payload = manual_payload(
            submission_id=pub.submission.uid,
            fingerprint=a.fingerprint,
            channel=pub.channel,
            kind=a.kind,
            url=a.url,
            external_id=a.external_id,
            acted_at=a.acted_at,
            comment=a.comment,
        )
        try:
            VerifyKey(a.actor.public_key).verify(payload, a.signature)
            valid = True
        except CryptoError:
            valid = False
        out.append(
            {
                "kind": a.kind,
                "username": a.actor.username,
                "name": a.actor.name,
                "at": local(a.acted_at),
                "url": a.url,
                "external_id": a.external_id,
                "signature_fingerprint": short_fingerprint(a.signature),
                "signature_valid": valid and a.fingerprint == pub.version.fingerprint,
            }
        )
    return out


def verifications(session: Session, pub: Publication) -> list[dict[str, Any]]:
    """发布核验 of the row, oldest first: when, verdict, the change if any, the evidence."""
    rows = session.scalars(
        select(Verification)
        .where(Verification.publication_id == pub.id)
        .order_by(Verification.checked_at, Verification.id)
    )
    return [
        {
            "at": local(v.checked_at),
            "trigger": v.trigger,
            "verdict": v.verdict,
            "verdict_label": Verdict(v.verdict).label,
            "code": v.code,
            "reason": v.reason,
            "diff": [seg for seg in v.diff.get("segments", []) if seg[0] != "equal"],
            "page_sha256": v.page_sha256,
            "snapshot_sha256": v.snapshot_sha256,
        }
        for v in rows
    ]


def publication(pub: Publication) -> dict[str, Any]:
    labels = channel_catalogue()
    return {
        "id": pub.id,
        "channel": pub.channel,
        "channel_label": labels.get(pub.channel, pub.channel),
        "state": pub.state,
        "state_label": State(pub.state).label,
        "url": pub.url,
        "external_id": pub.external_id,
        "scheduled_at": local(pub.scheduled_at),
        "sent_at": local(pub.sent_at) if pub.sent_at else None,
        "published_at": local(pub.published_at) if pub.published_at else None,
        "late": pub.late,
    }


def review_of(
    action: g.ReviewAction, record: g.ReviewRecord, context: ReviewContext
) -> dict[str, Any]:
    person = record.people.get(action.actor_id)
    valid = person is not None and signature_valid(action, person.public_key)
    return {
        "stage": action.stage.value,
        "stage_label": action.stage.label,
        "decision": action.decision.value,
        "decision_label": action.decision.label,
        "username": action.actor_id,
        "name": person.name if person else action.actor_id,
        "at": local(action.acted_at),
        "comment": action.comment,
        "signature_fingerprint": short_fingerprint(action.signature),
        "signature_valid": valid,
        "counts": context.approval_of.get(action.stage) is action,
    }
