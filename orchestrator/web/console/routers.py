"""Gathering the console's routers into the few the application includes."""

from __future__ import annotations

from fastapi import APIRouter


def gathered(*routers: APIRouter) -> APIRouter:
    """One router holding the routes of `routers`, in their order. The routes themselves, not
    the routers included: FastAPI (≥ 0.120) keeps an included router whole, and whoever walks
    the application's routes (tests/api/test_sign_in.py) looks one router deep."""
    router = APIRouter(include_in_schema=False)
    for part in routers:
        router.routes.extend(part.routes)
    return router
