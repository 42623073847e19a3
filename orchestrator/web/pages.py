"""The operators' console: sign-in, the status board, one item's story, system health, alerts.

Server-rendered Chinese pages (Jinja2); console.js swaps in fragments such as /board/rows every
few seconds. Every page needs a session (deps.principal); forms carry the session's CSRF token.
The routes live in orchestrator.web.console, one module per resource; this router gathers
them in the order they are matched.
"""

from __future__ import annotations

from orchestrator.web.console import alerts, board, health, item, signin, static
from orchestrator.web.console.item_history import text_lines
from orchestrator.web.console.routers import gathered
from orchestrator.web.console.signin import local_path

__all__ = ["local_path", "router", "text_lines"]

router = gathered(
    static.router, signin.router, board.router, item.router, health.router, alerts.router
)
