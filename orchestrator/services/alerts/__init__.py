"""Alerts: publications that failed, went unconfirmed or are overdue, told to people once.

scan(session, now=..., overdue_after=...)   new Alert rows, one per condition (dedup_key)
deliver_due(db, config)                     post pending alerts to the webhooks, with backoff
run_once(app)                               both; the scheduler calls it every round
acknowledge(session, alert_id, actor=...)   someone has seen it (the console)

An alert is keyed by kind, publication and the publication's revision, which every state change
bumps: a publication that fails, is sent again and fails again alerts twice; one that stays
failed alerts once however often the scan runs. The unique key makes concurrent scans safe.
Delivery is at least once: a retry posts again to every configured target. The 企业微信
robot gets one digest per round; the JSON webhook one object per alert.
"""

from orchestrator.services.alerts.delivery import LEASE, AlertConfig, deliver_due, run_once
from orchestrator.services.alerts.people import ACKNOWLEDGERS, acknowledge, recent
from orchestrator.services.alerts.scan import (
    INTEGRITY_CODES,
    LOOKBACK,
    OVERDUE_STATES,
    SCAN_LIMIT,
    insert_once,
    raise_integrity,
    scan,
)
from orchestrator.services.alerts.targets import (
    DeliveryFailed,
    JsonWebhook,
    Notice,
    Target,
    WeComRobot,
)
from orchestrator.services.alerts.wording import (
    DETAIL_CHARS,
    KIND_LABELS,
    SHANGHAI,
    channel_label,
    describe,
)

__all__ = [
    "ACKNOWLEDGERS",
    "DETAIL_CHARS",
    "INTEGRITY_CODES",
    "KIND_LABELS",
    "LEASE",
    "LOOKBACK",
    "OVERDUE_STATES",
    "SCAN_LIMIT",
    "SHANGHAI",
    "AlertConfig",
    "DeliveryFailed",
    "JsonWebhook",
    "Notice",
    "Target",
    "WeComRobot",
    "acknowledge",
    "channel_label",
    "deliver_due",
    "describe",
    "insert_once",
    "raise_integrity",
    "recent",
    "run_once",
    "scan",
]
