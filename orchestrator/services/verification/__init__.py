"""发布核验 and 巡检: the live page of a publication compared with the version that was signed.

verify(app, hub, pub_id, trigger=...)   check one page now; store the evidence; act on it
due(session, now=..., limit=...)        the rows whose check has come, claimed with a lease
watch_round(app, hub)                   check every due row, a few hosts at a time

Each check is a `Verification` row (verdict, reason, the page's SHA-256, its gzip snapshot as a
blob, the diff) with an audit event; the row's last verdict is kept on the publication for the
board. What follows from a verdict:
- 一致 the first time: the snapshot joins the 审批表 in the archive (the evidence of what went
  live, surviving the page);
- 不一致, or 已删除 on a live row: an alert (once per distinct page or verdict);
- 已删除 on a row waiting to be taken down (待人工撤下): the row becomes 已撤稿; on a retracted
  row: the watch stops;
- a retracted row whose page is still there: an alert, and it is checked again.
The watch looks at a live row every `verify_first_day_every` in its first day, then every
`verify_every`; a page that cannot be reached is asked again after `verify_retry_after`.

check       one check: fetch the page, compare, store the evidence (verify, verify_as, record)
verdicts    what follows from a verdict: the row's state and next check, archive, alerts
watch       the rows whose check has come, claimed with a lease, checked a few hosts at a time
"""

from __future__ import annotations

from orchestrator.services.verification.check import (
    TRIGGER_LABELS,
    Checked,
    history,
    limits_of,
    record,
    signed_of,
    verify,
    verify_as,
)
from orchestrator.services.verification.verdicts import (
    ALERT_WORDS,
    SOFT_GONE_SIMILARITY,
    UNREACHABLE_ALERT_AFTER,
    no_longer_there,
)
from orchestrator.services.verification.watch import (
    LEASE,
    WATCHED,
    HostLimiter,
    claim,
    due_condition,
    watch_round,
)

__all__ = [
    "ALERT_WORDS",
    "LEASE",
    "SOFT_GONE_SIMILARITY",
    "TRIGGER_LABELS",
    "UNREACHABLE_ALERT_AFTER",
    "WATCHED",
    "Checked",
    "HostLimiter",
    "claim",
    "due_condition",
    "history",
    "limits_of",
    "no_longer_there",
    "record",
    "signed_of",
    "verify",
    "verify_as",
    "watch_round",
]
