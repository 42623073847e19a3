"""The console's own CSS and JS, served from a fixed list of files."""

from __future__ import annotations

import mimetypes

from fastapi import APIRouter
from fastapi.responses import Response

from orchestrator.errors import NotFound
from orchestrator.web.templating import STATIC_DIR

router = APIRouter(include_in_schema=False)
STATIC_FILES = frozenset(p.name for p in STATIC_DIR.iterdir() if p.is_file())


@router.api_route("/static/{name}", methods=["GET", "HEAD"])
def static(name: str) -> Response:
    """The console's own CSS and JS (a fixed list of files: no path ever reaches the disk)."""
    if name not in STATIC_FILES:
        raise NotFound(f"没有静态文件 {name}", code="static_not_found")
    kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
    return Response(
        (STATIC_DIR / name).read_bytes(),
        media_type=kind + ("; charset=utf-8" if kind.startswith("text/") else ""),
        headers={"Cache-Control": "public, max-age=300"},
    )
