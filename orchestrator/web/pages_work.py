"""Console pages for the work itself: new submissions, 我的待办, review and sign-off, the upward queue."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
