"""Console pages for statistics and bulletins (统计和通报).

The routes live in orchestrator.web.console.reports; the application includes this module's
`router`.
"""

from __future__ import annotations

from orchestrator.web.console.reports import router

__all__ = ["router"]
