"""The orchestrator tests' app and organisation."""

from tests.orchestrator.conftest import app, org_app  # noqa: F401  (fixtures)
