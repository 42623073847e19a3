"""The REST API under /api/v1: everything the CLI does, for scripts and the console."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1")
