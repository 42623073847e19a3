"""Console pages for the work itself: new submissions, 我的待办, review and sign-off, the
upward queue.

Every rule lives in the services; these handlers read the form, call the service the CLI calls,
and show the service's Chinese refusal on the same page with what the person typed kept. The
routes live in orchestrator.web.console, one module per job; this router gathers them in the
order they are matched.
"""

from __future__ import annotations

from orchestrator.web.console import editor, reviewing, submit, todo, upward
from orchestrator.web.console.routers import gathered
from orchestrator.web.console.submit_form import FormValues, Uploads, build_draft

__all__ = ["FormValues", "Uploads", "build_draft", "router"]

router = gathered(todo.router, submit.router, editor.router, reviewing.router, upward.router)
