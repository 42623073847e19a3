"""Assisted channels in the console: the publish package (发布包) a person publishes from by
hand, the signed record of the article's URL, and the take-down to-do.

The routes live in orchestrator.web.console.package; the application includes this module's
`router`.
"""

from __future__ import annotations

from orchestrator.web.console.package import router

__all__ = ["router"]
