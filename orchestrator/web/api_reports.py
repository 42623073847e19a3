"""REST endpoints for the 审批表, the archive and the accountability report."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
