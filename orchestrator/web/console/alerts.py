"""The alerts list (告警) and 已知悉: a person taking an alert on."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from gate.model import Role
from orchestrator.errors import SanshenError
from orchestrator.models import Alert, Person, Publication
from orchestrator.permissions import holds
from orchestrator.services import alerts
from orchestrator.web import auth
from orchestrator.web.console.common import Who
from orchestrator.web.deps import RowId, get_app
from orchestrator.web.templating import flash, page

router = APIRouter(include_in_schema=False)

ALERT_KINDS = {k: v for k, v in alerts.KIND_LABELS.items() if k != "integrity"}
DELIVERY_LABELS = {"pending": "待发送", "sent": "已发送", "failed": "发送失败"}
ALERTS_PAGE = 100


@router.get("/alerts", response_class=HTMLResponse)
def alerts_page(
    request: Request, who: Who, page_number: int = Query(1, alias="page")
) -> HTMLResponse:
    page_number = max(1, page_number)
    with get_app().db.read() as session:
        rows = session.execute(
            select(Alert, Publication.submission_id, Publication.channel)
            .outerjoin(Publication, Publication.id == Alert.publication_id)
            .order_by(Alert.created_at.desc(), Alert.id.desc())
            .offset((page_number - 1) * ALERTS_PAGE)
            .limit(ALERTS_PAGE + 1)
        ).all()
    return page(
        request,
        "alerts.html",
        who,
        alerts=rows[:ALERTS_PAGE],
        more=len(rows) > ALERTS_PAGE,
        page_number=page_number,
        kinds=ALERT_KINDS,
        deliveries=DELIVERY_LABELS,
        can_acknowledge=holds_now(who, alerts.ACKNOWLEDGERS),
    )


@router.post("/alerts/{alert_id}/acknowledge")
def acknowledge_alert(alert_id: RowId, who: Who) -> Response:
    """已知悉: a person takes the alert on; the first acknowledgement is kept and audited."""
    response = RedirectResponse(f"/alerts#alert-{alert_id}", status_code=303)
    try:
        with get_app().db.session() as session:
            alerts.acknowledge(session, alert_id, actor=who.username)
    except SanshenError as error:
        return flash(response, error.message, "error")
    return flash(response, f"告警 {alert_id} 已确认")


def holds_now(who: auth.Principal, roles: frozenset[Role]) -> bool:
    with get_app().db.read() as session:
        person = session.get(Person, who.person_id)
        return person is not None and holds(person, roles, datetime.now(UTC))
