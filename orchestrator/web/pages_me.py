"""A person's own page: their notification settings and the messages sent to them.

The routes live in orchestrator.web.console.me; the application includes this module's
`router`.
"""

from __future__ import annotations

from orchestrator.web.console.me import router

__all__ = ["router"]
