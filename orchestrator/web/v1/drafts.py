"""A draft as the API takes it, made into the services' Draft: images decoded from Base64,
each channel row's name resolved (a name or what people call it)."""

from __future__ import annotations

import base64
import binascii

from gate.model import ChannelRequest, RepostSource
from orchestrator.errors import InvalidInput
from orchestrator.services import submissions
from orchestrator.web.v1.submission_schemas import ChannelIn, DraftIn, ImageIn


def _image(item: ImageIn) -> submissions.ImageFile:
    try:
        data = base64.b64decode(item.data_base64, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInput(
            f"图片“{item.filename}”的内容不是有效的 Base64", code="bad_base64"
        ) from None
    return submissions.ImageFile(item.filename, data)


def channel_requests(rows: list[ChannelIn]) -> list[ChannelRequest]:
    """The 审批表 rows, each channel by its name (an unknown one is refused)."""
    catalogue = submissions.channel_catalogue()
    return [
        ChannelRequest(submissions.resolve_channel(c.channel, catalogue), c.publish_date, c.remark)
        for c in rows
    ]


def draft_of(body: DraftIn) -> submissions.Draft:
    repost = body.repost
    return submissions.Draft(
        title=body.title,
        body_html=body.body_html,
        channels=channel_requests(body.channels),
        images=[_image(i) for i in body.images],
        cover=_image(body.cover) if body.cover else None,
        digest=body.digest,
        byline=body.byline,
        major_event=body.major_event,
        special_content=body.special_content,
        repost=RepostSource(repost.platform, repost.url, repost.published_at) if repost else None,
        autofix=body.autofix,
    )
