"""The REST API under /api/v1: everything the CLI does, for scripts and the console, one module
per resource, each with its routes and, beside them, its models.

Every endpoint but POST /session needs a session (cookie + X-CSRF-Token on changes) or a bearer
token; the acting person is always the signed-in one, never a name in the body. Role checks
live in the services (orchestrator.permissions, services.review); these modules translate.

`router` holds every resource's routes, in the order the schema lists them (and the app tries
them): sign-in, submissions and their versions, reviews, publications and their checks, upward
reports, the organisation, the audit, the 审批表 and archive, the calendar.
"""

from __future__ import annotations

from fastapi import APIRouter

from orchestrator.web.v1 import (
    audit,
    calendar,
    channels,
    people,
    publications,
    reports,
    reviews,
    sessions,
    submissions,
    upward,
    verifications,
    versions,
)

RESOURCES = (
    sessions,
    submissions,
    versions,
    reviews,
    publications,
    verifications,
    upward,
    people,
    channels,
    audit,
    reports,
    calendar,
)

# One router of the resources' routes themselves (not wrappers of their routers), so that
# `router.routes` lists every route of the API.
router = APIRouter(routes=[route for module in RESOURCES for route in module.router.routes])
