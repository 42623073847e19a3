"""The hook that gives each module- or session-scoped fixture a database of its own on the
PostgreSQL suite (tests/conftest.py). It lives here, at the root, because pytest asks a
session-scoped fixture's hooks from the session node, which sees only root-level conftests."""

from tests.conftest import database_per_wide_fixture as pytest_fixture_setup

__all__ = ["pytest_fixture_setup"]
