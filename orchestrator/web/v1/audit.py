"""/api/v1/audit/verify: the audit hash chain recomputed, and the first row it no longer
vouches for."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from orchestrator import audit
from orchestrator.web.deps import Who, get_app
from orchestrator.web.refusals import ApiRoute, answer_other_methods

router = APIRouter(prefix="/api/v1", tags=["审计"], route_class=ApiRoute)


class BadRowOut(BaseModel):
    """A review action or publication the audit chain does not vouch for."""

    table: str
    id: int
    event: int | None = None  # the audit event whose record the row no longer matches


class AuditOut(BaseModel):
    ok: bool
    rows: int
    head: str
    first_bad_id: int | None
    problem: str
    first_bad_row: BadRowOut | None = None
    row_problems: list[str] = []


@router.get("/audit/verify", response_model=AuditOut)
def audit_verify(
    who: Who,
    checkpoint: Annotated[
        str | None, Query(pattern=audit.CHECKPOINT, description="检查点 序号:哈希")
    ] = None,
) -> AuditOut:
    """Recompute the audit hash chain; name the first changed, inserted or deleted row, of the
    chain or of the review actions and publications it vouches for."""
    with get_app().db.read() as session:
        return AuditOut(**audit.verify(session, checkpoint).as_dict())


answer_other_methods(router)
