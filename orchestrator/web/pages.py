"""The operators' console: server-rendered Chinese pages (Jinja2 + htmx)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
