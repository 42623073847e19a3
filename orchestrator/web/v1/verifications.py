"""/api/v1/publications/{id}/verify, /verifications, /published-by-hand and /taken-down: 发布核验
(the live page compared with the signed version), its history, and the rows published or taken
down by hand on the platform, verified at once."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from orchestrator.models import Verification
from orchestrator.services import manual, verification
from orchestrator.services.publishing import get_publication
from orchestrator.states import State
from orchestrator.verify import Verdict
from orchestrator.web.deps import RowId, Who, get_app, publisher
from orchestrator.web.refusals import ApiRoute, answer_other_methods, refusals
from orchestrator.web.schemas import WEB_URL, StrictBody, Text
from orchestrator.web.v1.shared import local

router = APIRouter(prefix="/api/v1", tags=["发布核验"], route_class=ApiRoute)
# A check of one row: unknown (404), not in a state to check (409), no role or password (403).
CHECK_REFUSALS = refusals(403, 404, 409)


class PublishedByHandIn(StrictBody):
    url: str = Field(min_length=1, max_length=1000, pattern=WEB_URL, description="平台上的文章链接")
    external_id: str = Field(
        default="",
        max_length=200,
        pattern=r"^[^\x00-\x1f\x7f]*$",
        description="平台的文章编号（如有），不含控制字符",
    )
    comment: Text = Field(default="", max_length=500, description="备注，签入签名")
    password: Text = Field(min_length=1, max_length=1024, description="密码，解锁签名私钥")


class VerificationOut(BaseModel):
    id: int
    publication: int
    checked_at: datetime
    checked_at_local: str
    trigger: str
    actor: str
    url: str
    verdict: str = Field(
        description="consistent 一致、mismatch 不一致、unreachable 无法访问、removed 已删除"
    )
    verdict_label: str
    code: str
    reason: str
    http_status: int | None
    page_sha256: str
    snapshot_sha256: str | None
    similarity: float
    diff: list[list[str]] = Field(
        description="[操作, 文字]：equal、insert（线上多出）、delete（线上缺少）"
    )
    images: dict[str, Any]


class VerifiedOut(BaseModel):
    publication: int
    state: str
    state_label: str
    verification: VerificationOut


def verification_out(v: Verification) -> VerificationOut:
    return VerificationOut(
        id=v.id,
        publication=v.publication_id,
        checked_at=v.checked_at,
        checked_at_local=local(v.checked_at),
        trigger=v.trigger,
        actor=v.actor,
        url=v.url,
        verdict=v.verdict,
        verdict_label=Verdict(v.verdict).label,
        code=v.code,
        reason=v.reason,
        http_status=v.http_status,
        page_sha256=v.page_sha256,
        snapshot_sha256=v.snapshot_sha256,
        similarity=v.similarity,
        diff=[list(seg) for seg in v.diff.get("segments", [])],
        images=v.images,
    )


def _verified(pub_id: int, checked: verification.Checked) -> VerifiedOut:
    with get_app().db.read() as session:
        pub = get_publication(session, pub_id)
        row = session.get(Verification, checked.verification_id)
        assert row is not None
        return VerifiedOut(
            publication=pub_id,
            state=pub.state,
            state_label=State(pub.state).label,
            verification=verification_out(row),
        )


@router.post("/publications/{pub_id}/verify", response_model=VerifiedOut, responses=CHECK_REFUSALS)
def verify_publication(pub_id: RowId, who: Who) -> VerifiedOut:
    """发布核验 now: fetch the live page and compare it with the signed version. The verdict is
    the answer (一致, 不一致 with its diff, 无法访问, 已删除), never an error."""
    (checked,) = verification.verify_as(get_app(), publisher().hub, [pub_id], actor=who.username)
    return _verified(pub_id, checked)


@router.get(
    "/publications/{pub_id}/verifications",
    response_model=list[VerificationOut],
    responses=refusals(404),
)
def publication_verifications(pub_id: RowId, _who: Who) -> list[VerificationOut]:
    """The row's checks, newest first (at most 50)."""
    with get_app().db.read() as session:
        get_publication(session, pub_id)
        return [verification_out(v) for v in verification.history(session, pub_id)]


@router.post(
    "/publications/{pub_id}/published-by-hand",
    response_model=VerifiedOut,
    responses=CHECK_REFUSALS,
)
def published_by_hand(pub_id: RowId, body: PublishedByHandIn, who: Who) -> VerifiedOut:
    """An assisted row (待人工发布) was published on the platform by hand: its URL and id are
    recorded, signed with the person's key, and the page is verified at once."""
    done = manual.record_published(
        get_app(),
        publisher().hub,
        pub_id,
        url=body.url,
        external_id=body.external_id,
        actor=who.username,
        password=body.password,
        comment=body.comment,
    )
    assert done.checked is not None
    return _verified(pub_id, done.checked)


@router.post(
    "/publications/{pub_id}/taken-down", response_model=VerifiedOut, responses=CHECK_REFUSALS
)
def taken_down(pub_id: RowId, who: Who) -> VerifiedOut:
    """An assisted row waiting to be taken down (待人工撤下): verify the page is gone; only a
    page found gone (404/410) makes the row 已撤稿 (see `state` in the answer)."""
    checked = manual.confirm_taken_down(get_app(), publisher().hub, pub_id, actor=who.username)
    return _verified(pub_id, checked)


answer_other_methods(router)
