"""Review and sign-off: each decision is signed with the reviewer's key, unlocked by password.

actions     one signed decision, refused whole (nothing written) unless the gate allows it
usage       稿件用途's change of the 审批表 rows: a new version for the decision to sign
sign_off    what a sign-off adds: the publication rows, the 审批表 and content archived
queries     the gate's verdict with the reviewer aids; the rows checked against the signed ones

The review record itself (the gate's view of a submission) is services.record; its names are
kept here too, as are `get` (the submission) and `g` (gate.model) that callers reach through it.
"""

from __future__ import annotations

import gate.model as g
from orchestrator.services.record import (
    Carried,
    carried,
    gate_person,
    original_version,
    publication_row,
    review_record,
    stored_images,
)
from orchestrator.services.review.actions import (
    Outcome,
    refuse_out_of_scope,
    review,
    who_may,
)
from orchestrator.services.review.queries import check, image_aids, live_rows, origin_problem
from orchestrator.services.signing import CANDIDATE, sealed_key
from orchestrator.services.submissions import get

__all__ = [
    "CANDIDATE",
    "Carried",
    "Outcome",
    "carried",
    "check",
    "g",
    "gate_person",
    "get",
    "image_aids",
    "live_rows",
    "origin_problem",
    "original_version",
    "publication_row",
    "refuse_out_of_scope",
    "review",
    "review_record",
    "sealed_key",
    "stored_images",
    "who_may",
]
