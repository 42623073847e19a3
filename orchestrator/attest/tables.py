"""The bound tables: the rows that decide what is signed and sent (one `bind(...)` each)."""

from __future__ import annotations

from orchestrator.attest.binding import bind, quiet_closure
from orchestrator.models import DateAmendment, ManualAction, Publication, ReviewAction, Verification
from orchestrator.states import QUIET_MOVES

REVIEW_ACTIONS = bind(
    ReviewAction,
    (
        "id",
        "submission_id",
        "version_id",
        "fingerprint",
        "stage",
        "decision",
        "actor_id",
        "acted_at",
        "comment",
        "signature",
    ),
    "审核记录",
    subject="submission",
    subject_column="submission_id",
)
PUBLICATIONS = bind(
    Publication,
    (
        "id",
        "submission_id",
        "version_id",
        "channel",
        "scheduled_at",
        "idempotency_key",
        "source_platform",
        "source_url",
    ),
    "发布记录",
    immutable=False,
    created_by="publication.create",
    subject="publication",
    state_column="state",
    quiet=quiet_closure(QUIET_MOVES),
)
DATE_AMENDMENTS = bind(
    DateAmendment,
    (
        "id",
        "submission_id",
        "version_id",
        "publication_id",
        "fingerprint",
        "channel",
        "old_date",
        "new_date",
        "actor_id",
        "acted_at",
        "comment",
        "signature",
    ),
    "改期记录",
    subject="publication",
    subject_column="publication_id",
)
MANUAL_ACTIONS = bind(
    ManualAction,
    (
        "id",
        "publication_id",
        "kind",
        "url",
        "external_id",
        "fingerprint",
        "actor_id",
        "acted_at",
        "comment",
        "signature",
    ),
    "人工发布记录",
    subject="publication",
    subject_column="publication_id",
)
VERIFICATIONS = bind(
    Verification,
    (
        "id",
        "publication_id",
        "checked_at",
        "url",
        "verdict",
        "code",
        "page_sha256",
        "snapshot_sha256",
    ),
    "发布核验记录",
    subject="publication",
    subject_column="publication_id",
)
