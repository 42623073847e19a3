"""The audit log: append-only, every row carrying the hash of the one before it.

row.hash = SHA-256(prev_hash || canonical JSON of the row's own fields, id included), so a
changed row breaks its own hash, an inserted or deleted row breaks the link or the sequence, and
a chain rewritten whole is caught by comparing with a checkpoint kept outside the database.

The chain also covers the rows bound in `orchestrator.attest` (review actions, publications):
the events that create or change them carry the row's digest, and `verify` names a bound row
that was changed, inserted, deleted or moved outside the application.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from orchestrator import attest
from orchestrator.errors import InvalidInput
from orchestrator.models import AuditEvent, AuditHead

GENESIS = "0" * 64


def chain_hash(
    prev_hash: str,
    seq: int,
    at: datetime,
    actor: str,
    action: str,
    subject: str,
    payload: dict[str, Any],
) -> str:
    body = json.dumps(
        {
            "id": seq,
            "at": at.astimezone(UTC).isoformat(timespec="microseconds"),
            "actor": actor,
            "action": action,
            "subject": subject,
            "payload": payload,
        },
        ensure_ascii=False,
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256(prev_hash.encode() + body.encode()).hexdigest()


def record(
    session: Session,
    action: str,
    *,
    actor: str = "",
    subject: str = "",
    payload: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> AuditEvent:
    """Append one event inside the caller's transaction (it commits or rolls back with it)."""
    payload = json.loads(json.dumps(payload or {}, ensure_ascii=False, default=str))
    at = at or datetime.now(UTC)
    head = session.execute(select(AuditHead).where(AuditHead.id == 1).with_for_update()).scalar()
    if head is None:
        head = AuditHead(id=1, seq=0, hash=GENESIS)
        session.add(head)
        session.flush()
    seq = head.seq + 1
    digest = chain_hash(head.hash, seq, at, actor, action, subject, payload)
    event = AuditEvent(
        id=seq,
        at=at,
        actor=actor,
        action=action,
        subject=subject,
        payload=payload,
        prev_hash=head.hash,
        hash=digest,
    )
    session.add(event)
    head.seq, head.hash = seq, digest
    return event


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    rows: int
    head_seq: int
    head_hash: str
    first_bad_id: int | None = None  # the first bad row of the chain itself
    problem: str = ""
    # A bound row (attest) that the chain does not vouch for: {"table", "id", "event"?}.
    first_bad_row: dict[str, Any] | None = None
    row_problems: tuple[str, ...] = ()  # every such row, first_bad_row's message first

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "rows": self.rows,
            "head": f"{self.head_seq}:{self.head_hash}",
            "first_bad_id": self.first_bad_id,
            "problem": self.problem,
            "first_bad_row": self.first_bad_row,
            "row_problems": list(self.row_problems),
        }


def verify(session: Session, checkpoint: str | None = None) -> ChainReport:
    """Recompute the chain; name the first row that was changed, inserted or deleted: of the
    chain first, then of the rows it vouches for (review actions, publications)."""
    expected_seq, prev, rows = 1, GENESIS, 0
    ledger = attest.Ledger()
    for event in session.execute(select(AuditEvent).order_by(AuditEvent.id)).scalars():
        rows += 1
        ledger.note(event.id, event.action, event.subject, event.payload)
        problem = ""
        if event.id != expected_seq:
            problem = f"第 {expected_seq} 条记录缺失（被删除），随后出现第 {event.id} 条"
        elif event.prev_hash != prev:
            problem = f"第 {event.id} 条记录与前一条的链接不符（插入或改动）"
        elif (
            chain_hash(
                prev, event.id, event.at, event.actor, event.action, event.subject, event.payload
            )
            != event.hash
        ):
            problem = f"第 {event.id} 条记录的内容被改动"
        if problem:
            return ChainReport(
                False,
                rows,
                expected_seq - 1,
                prev,
                first_bad_id=min(event.id, expected_seq),
                problem=problem,
            )
        expected_seq, prev = event.id + 1, event.hash
    head = session.get(AuditHead, 1)
    head_seq = expected_seq - 1
    if head is not None and (head.seq != head_seq or head.hash != prev):
        return ChainReport(
            False,
            rows,
            head_seq,
            prev,
            first_bad_id=head_seq + 1,
            problem=f"链尾记录缺失：登记的链头是第 {head.seq} 条，实际只到第 {head_seq} 条",
        )
    if checkpoint:
        bad = _against_checkpoint(session, checkpoint)
        if bad:
            return ChainReport(False, rows, head_seq, prev, problem=bad)
    found = (attest.recheck(session, p) for p in attest.check_rows(session, ledger))
    problems = [p for p in found if p is not None]
    if problems:
        return ChainReport(
            False,
            rows,
            head_seq,
            prev,
            problem=problems[0].message,
            first_bad_row=problems[0].as_dict(),
            row_problems=tuple(p.message for p in problems),
        )
    return ChainReport(True, rows, head_seq, prev)


# A sequence number the database's integer holds, and the row's SHA-256 in hex.
CHECKPOINT = r"^[0-9]{1,18}:[0-9a-f]{64}$"


def parse_checkpoint(checkpoint: str) -> tuple[int, str]:
    if not re.fullmatch(CHECKPOINT, checkpoint.strip()):
        raise InvalidInput("检查点格式应为 “序号:哈希”，如 42:ab12…", code="bad_checkpoint")
    seq_text, _, digest = checkpoint.strip().partition(":")
    return int(seq_text), digest


def _against_checkpoint(session: Session, checkpoint: str) -> str:
    seq, digest = parse_checkpoint(checkpoint)
    event = session.get(AuditEvent, seq)
    if event is None:
        return f"检查点所指的第 {seq} 条记录已不存在：审计链被截断或整体重写"
    if event.hash != digest:
        return f"第 {seq} 条记录的哈希与检查点不符：审计链被整体重写"
    return ""


def checkpoint(session: Session) -> str:
    head = session.get(AuditHead, 1)
    return f"{head.seq}:{head.hash}" if head else f"0:{GENESIS}"
