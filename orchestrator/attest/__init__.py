"""Row attestation: the audit chain vouches for the rows that decide what is signed and sent.

A bound table names the columns whose values matter. An audit event that creates or changes
such a row carries a claim in its payload:

    {"row": {"table": "publications", "id": 7, "digest": "<sha256>", "state": "scheduled"}}

`digest` is SHA-256 over canonical JSON of the bound columns' values (UTC ISO datetimes with
microseconds, ISO dates, bytes as hex); a table with a state column also records the state the
row moved to, with or without a digest (a move changes no bound column). `audit.verify` then
judges every bound row against its claims:

- immutable rows (review actions): exactly one claim, and its digest equals the row's;
- mutable rows (publications): a creation event (`created_by`, subject `<subject>:<id>`), the
  latest digest equals the row's, and the row's state is the latest claimed state or reached
  from it by quiet moves only (moves that write no audit event, by design);
- a claimed row that is gone was deleted.

Binding a table is one `bind(...)` line in attest.tables plus `"row": claim(row)` in its audit
record. An event that writes two bound rows at once (a publication's move and the signed manual
action that made it) carries the second claim under "action".
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from orchestrator.attest.binding import BINDINGS, Binding, bind, quiet_closure
from orchestrator.attest.claims import (
    canonical,
    claim,
    digest,
    digest_values,
    fresh_claim,
    state_claim,
)
from orchestrator.attest.judging import (
    CLAIM_KEYS,
    Attestation,
    Fault,
    Ledger,
    RowProblem,
    check_rows,
    judge,
    recheck,
    row_problem,
)
from orchestrator.attest.tables import (
    DATE_AMENDMENTS,
    MANUAL_ACTIONS,
    PUBLICATIONS,
    REVIEW_ACTIONS,
    VERIFICATIONS,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")

__all__ = [
    "BINDINGS",
    "CLAIM_KEYS",
    "DATE_AMENDMENTS",
    "MANUAL_ACTIONS",
    "PUBLICATIONS",
    "REVIEW_ACTIONS",
    "SHANGHAI",
    "VERIFICATIONS",
    "Attestation",
    "Binding",
    "Fault",
    "Ledger",
    "RowProblem",
    "bind",
    "canonical",
    "check_rows",
    "claim",
    "digest",
    "digest_values",
    "fresh_claim",
    "judge",
    "quiet_closure",
    "recheck",
    "row_problem",
    "state_claim",
]
