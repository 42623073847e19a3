"""`Publisher`: the one object the web, the CLI and the tests call to send, reconcile, retract,
confirm and retry. A thin facade: each method is one call into the job module that does it
(send, settle, status, reconcile, retry, retract, schedule, confirm), on itself as the shared
`Context` (so `publisher.clock` and `publisher.settings` set later are what the jobs read).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

import orchestrator.services.publishing.confirm as confirming
import orchestrator.services.publishing.reconcile as reconciling
import orchestrator.services.publishing.retract as retracting
import orchestrator.services.publishing.retry as retrying
import orchestrator.services.publishing.schedule as scheduling
import orchestrator.services.publishing.send as sending
import orchestrator.services.publishing.settle as settling
import orchestrator.services.publishing.status as statuses
from channels.base import Status
from orchestrator.services.publishing.shared import Context, on_published


class Publisher(Context):
    """The business of sending, confirming and retracting; tasks call the job modules."""

    # --- the workers and the reconciler ---------------------------------------------------

    def send(self, pub_id: int) -> str:
        return sending.send(self, pub_id)

    def reconcile(self, limit: int | None = None) -> dict[str, int]:
        # through this object's own checks, so a replaced `settle`/`confirm` is the one used
        return reconciling.reconcile(self, limit, settle_row=self.settle, confirm_row=self.confirm)

    def settle(self, pub_id: int, *, at_once: bool = False) -> str:
        return settling.settle(self, pub_id, at_once=at_once)

    def confirm(self, pub_id: int) -> str:
        return statuses.confirm(self, pub_id)

    def apply_status(self, channel: str, external_id: str, status: Status) -> str:
        return statuses.apply_status(self, channel, external_id, status)

    def on_published(self, session: Session, pub_id: int, now: datetime) -> None:
        on_published(self, session, pub_id, now)

    # --- people's actions (each checks the person's role for the channel's kind) ---------

    def retract(self, pub_id: int, *, reason: str, actor: str) -> str:
        return retracting.retract(self, pub_id, reason=reason, actor=actor)

    def retract_all(self, submission_id: int, *, reason: str, actor: str) -> dict[str, str]:
        return retracting.retract_all(self, submission_id, reason=reason, actor=actor)

    def cancel(self, pub_id: int, *, reason: str, actor: str) -> None:
        scheduling.cancel(self, pub_id, reason=reason, actor=actor)

    def reschedule(self, pub_id: int, *, when: datetime, actor: str) -> None:
        scheduling.reschedule(self, pub_id, when=when, actor=actor)

    def release(self, pub_id: int, *, actor: str) -> datetime:
        return scheduling.release(self, pub_id, actor=actor)

    def drop(self, pub_id: int, *, reason: str, actor: str) -> None:
        scheduling.drop(self, pub_id, reason=reason, actor=actor)

    def retry(self, pub_id: int, *, actor: str, checked: bool = False) -> None:
        retrying.retry(self, pub_id, actor=actor, checked=checked)

    def confirm_by_hand(self, pub_id: int, *, url: str, actor: str) -> None:
        confirming.confirm_by_hand(self, pub_id, url=url, actor=actor)
