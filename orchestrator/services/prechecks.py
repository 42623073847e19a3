"""What each requested platform would object to, shown to reviewers before sign-off.
Adapters' `validate` is pure, so this costs no network call. Objections to the review record
itself (no sign-off yet) are left out: before sign-off they are true of every item."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from orchestrator.app import App
from orchestrator.errors import ContentMissingError
from orchestrator.render import render
from orchestrator.services.hub import ChannelHub, ChannelNotConfigured, Mode
from orchestrator.services.submissions import get

PENDING_REVIEW_CODES = frozenset({"review_missing", "sign_off_missing"})


def channel_problems(
    session: Session, app: App, submission_id: int, hub: ChannelHub | None = None
) -> list[dict[str, Any]]:
    version = get(session, submission_id).current
    hub = hub or ChannelHub()
    found: list[dict[str, Any]] = []
    for row in version.channels:
        try:
            if hub.mode(row.channel) is Mode.API:  # an assisted channel needs no API settings
                hub.get(row.channel)
            item = render(version, row.channel, reference="precheck", store=app.blobs)
        except (ChannelNotConfigured, ContentMissingError) as error:
            found.append(
                {"channel": row.channel, "code": error.code, "message": error.message, "field": ""}
            )
            continue
        display_name = hub.classes[row.channel].display_name
        found.extend(
            {
                "channel": row.channel,
                "code": p.code,
                "message": f"{display_name}：{p.message}",
                "field": p.field,
            }
            for p in hub.problems(row.channel, item)
            if p.code not in PENDING_REVIEW_CODES
        )
    return found
