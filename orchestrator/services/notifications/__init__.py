"""Telling people when it is their turn: one message per person and event, with a link.

scan(session, app, now)        new Notification rows for what happened since the last scan
deliver_due(app, now, routes)  send what is due (and the daily digests), with backoff
run_once(app)                  both; the scheduler calls it every `notify_interval` seconds

Events, each keyed so that it is one row per person however often the scan runs, and however
many schedulers run it at once (the unique `dedup_key`):
- a stage waits (stage:<submission>:<fingerprint>:<stage>:<person>): the people who may act
  on it, per the gate's scope (services/deadlines.may_act);
- the item came back (returned:<action>): its author;
- one of mine failed on a channel (failed:<publication>:<revision>): the item's author;
- a stage past its limit (reminder:…) to the same people, and past twice its limit
  (escalation:…) to the next level (services/deadlines.escalation_targets);
- a 改期 request waits for a signature (date_request:<request>:<person>): the people who may
  sign it off (the 宣传分管领导), with a link to the calendar.

Delivery is at least once per row: a row is claimed with a lease, sent through each route the
person chose (企业微信 application message, e-mail), then marked. A crash between sending and
marking sends again after the lease; the 企业微信 duplicate check (30 minutes, same content)
hides that repeat. A person who chose the daily digest gets their rows as one message at
`notify_digest_at` (Shanghai time).
"""

from orchestrator.services.notifications.delivery import (
    LEASE,
    RETRY_BASE,
    RETRY_MAX,
    deliver_due,
    digest_moment,
    run_once,
)
from orchestrator.services.notifications.messages import (
    BATCH,
    FAILED_LOOKBACK,
    KIND_LABELS,
    SHANGHAI,
    Message,
)
from orchestrator.services.notifications.routes import Route, routes_from
from orchestrator.services.notifications.rows import for_person, scan

__all__ = [
    "BATCH",
    "FAILED_LOOKBACK",
    "KIND_LABELS",
    "LEASE",
    "RETRY_BASE",
    "RETRY_MAX",
    "SHANGHAI",
    "Message",
    "Route",
    "deliver_due",
    "digest_moment",
    "for_person",
    "routes_from",
    "run_once",
    "scan",
]
