"""/api/v1/channels: the publishing channels this installation knows (name, label, kind)."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from orchestrator.web.deps import Who
from orchestrator.web.refusals import ApiRoute, answer_other_methods
from orchestrator.web.v1.shared import channel_table

router = APIRouter(prefix="/api/v1", tags=["组织"], route_class=ApiRoute)


class ChannelOut(BaseModel):
    name: str
    label: str
    kind: str


@router.get("/channels", response_model=list[ChannelOut])
def channels(who: Who) -> list[ChannelOut]:
    return [
        ChannelOut(name=n, label=label, kind=kind.value)
        for n, (label, kind) in channel_table().items()
    ]


answer_other_methods(router)
