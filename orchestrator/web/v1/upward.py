"""/api/v1/upward: 综合科's side of the upward reports (学习强国、绿色青浦…) — the queue with
whether each was adopted, and the repost (转载稿) of an adopted report or its citation in one."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import Field
from sqlalchemy.orm import Session

from channels.base import ChannelKind
from orchestrator.models import Publication
from orchestrator.permissions import require
from orchestrator.services import reposts, submissions
from orchestrator.services.publishing import get_publication
from orchestrator.web.deps import RowId, Who, get_app
from orchestrator.web.refusals import ApiRoute, answer_other_methods, refusals
from orchestrator.web.schemas import ChannelNameOrLabel, StrictBody
from orchestrator.web.v1.board import PublicationStates, board_filters, board_page
from orchestrator.web.v1.publication_schemas import PublicationPage
from orchestrator.web.v1.shared import Page, PerPage, channel_table, utc_now
from orchestrator.web.v1.submission_schemas import SubmissionOut
from orchestrator.web.v1.submission_views import submission_out

router = APIRouter(prefix="/api/v1", tags=["对上报送"], route_class=ApiRoute)


class RepostRequest(StrictBody):
    channels: list[ChannelNameOrLabel] = Field(default_factory=list, max_length=10)


def upward_channels() -> list[str]:
    return [n for n, (_, kind) in channel_table().items() if kind is ChannelKind.UPWARD]


@router.get("/upward/queue", response_model=PublicationPage)
def upward_queue(
    who: Who,
    page: Page = 1,
    per_page: PerPage = 50,
    state: PublicationStates = None,
) -> PublicationPage:
    """学习强国、绿色青浦… reports and whether they were adopted."""
    with get_app().db.read() as session:
        filters = board_filters(session, states=state or [], channels=upward_channels())
        return board_page(session, filters, page, per_page)


def _upward_to_repost(session: Session, pub_id: int, username: str) -> Publication:
    """The upward report, for one who may repost from upward channels."""
    upward = get_publication(session, pub_id)
    require(session, username, "repost", ChannelKind.UPWARD, utc_now())
    return upward


@router.post(
    "/upward/{pub_id}/repost",
    response_model=SubmissionOut,
    status_code=201,
    responses=refusals(403, 404, 409),
)
def repost(pub_id: RowId, body: RepostRequest, who: Who) -> SubmissionOut:
    """A repost submission (转载稿) of an adopted upward report: the original's content with the
    source, it waits for 签发 alone (edited beyond the source, for every stage)."""
    app = get_app()
    with app.db.session() as session:
        upward = _upward_to_repost(session, pub_id, who.username)
        catalogue = submissions.channel_catalogue()
        names = [submissions.resolve_channel(c, catalogue) for c in body.channels]
        sub = reposts.draft_repost(session, app, upward, actor=who.username, channels=names or None)
        return submission_out(sub)


@router.post(
    "/upward/{pub_id}/cite",
    response_model=SubmissionOut,
    responses=refusals(403, 404, 409),
)
def cite(pub_id: RowId, who: Who) -> SubmissionOut:
    """The original's repost cites this adoption instead (a new version, signed off again);
    only before the repost has begun to go out."""
    app = get_app()
    with app.db.session() as session:
        upward = _upward_to_repost(session, pub_id, who.username)
        return submission_out(reposts.cite(session, app, upward, actor=who.username))


answer_other_methods(router)
