"""人工确认: a person saw the article on the platform and records its URL; an unconfirmed row,
or an upward report the platform adopted (综合科 records the URL), becomes published."""

from __future__ import annotations

import re

from channels.base import ChannelKind
from orchestrator.errors import InvalidInput
from orchestrator.services.moves import recorded_move
from orchestrator.services.publishing.shared import (
    Context,
    on_published,
    permitted_publication,
    state_conflict,
)
from orchestrator.states import State


def confirm_by_hand(ctx: Context, pub_id: int, *, url: str, actor: str) -> None:
    """A person saw it on the platform: an unconfirmed row, or an upward report that the
    platform adopted (综合科 records the URL), becomes published."""
    now = ctx.clock()
    if not re.match(r"^https?://\S+$", url):
        raise InvalidInput(f"发布链接无效：{url}", code="bad_url")
    with ctx.app.db.session() as session:
        pub = permitted_publication(ctx, session, pub_id, actor=actor, action="confirm", now=now)
        sources = (
            (State.UNCONFIRMED, State.SUBMITTED)
            if ctx.kind(pub) is ChannelKind.UPWARD
            else (State.UNCONFIRMED,)
        )
        if not recorded_move(
            session,
            pub_id,
            sources,
            State.PUBLISHED,
            now=now,
            action="publication.confirm_by_hand",
            actor=actor,
            payload={"url": url},
            url=url,
            published_at=now,
            next_check_at=None,
            note=f"{actor} 人工确认已发布",
        ):
            raise state_conflict(pub_id, pub.state, "不能确认", "not_confirmable")
        on_published(ctx, session, pub_id, now)
