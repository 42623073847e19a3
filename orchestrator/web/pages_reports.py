"""Console pages for statistics and bulletins (统计和通报)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
