"""What the console's routers share: the signed-in person as a parameter, the clock, the
channels in display order, and how a refused action becomes a message on the next page."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Annotated

from fastapi import Depends, Form
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from channels.base import ChannelKind
from channels.registry import load_channels
from orchestrator.errors import Forbidden, SanshenError
from orchestrator.models import Person
from orchestrator.permissions import person_by_username
from orchestrator.web.auth import Principal
from orchestrator.web.deps import principal
from orchestrator.web.refusals import STATUS_BY_ERROR
from orchestrator.web.templating import SHANGHAI, flash

Who = Annotated[Principal, Depends(principal)]
# A posted form's text field and checkbox, as handler parameters.
FormText = Annotated[str, Form()]
FormFlag = Annotated[bool, Form()]


def utc_now() -> datetime:
    return datetime.now(UTC)


def office_today() -> date:
    """Today in the office (Asia/Shanghai)."""
    return utc_now().astimezone(SHANGHAI).date()


def person_of(session: Session, who: Principal) -> Person:
    return person_by_username(session, who.username)


def status_of(error: SanshenError) -> int:
    """The HTTP status of a refusal shown on a page (the API's table; a class inherits its
    parent's code)."""
    for cls in type(error).__mro__:
        code = STATUS_BY_ERROR.get(getattr(cls, "code", ""))
        if code is not None:
            return code
    return 400


def form_text(form: FormData, name: str) -> str:
    """A text field of a posted form ('' when missing or a file)."""
    value = form.get(name)
    return value if isinstance(value, str) else ""


def form_texts(form: FormData, name: str) -> list[str]:
    return [v if isinstance(v, str) else "" for v in form.getlist(name)]


def ordered_channels() -> list[str]:
    """Own platforms first, then the upward ones; by name within each."""
    classes = load_channels()
    return sorted(classes, key=lambda n: (classes[n].kind is not ChannelKind.OWN, n))


async def flash_outcome(action: Callable[[], str], target: str) -> Response:
    """Run `action` off the event loop and go back to `target` with its message, or with the
    refusal's (a missing permission is not a message: it stays a 403)."""
    try:
        message, kind = await run_in_threadpool(action), "ok"
    except SanshenError as error:
        if isinstance(error, Forbidden):
            raise
        message, kind = error.message, "error"
    return flash(RedirectResponse(target, status_code=303), message, kind)
