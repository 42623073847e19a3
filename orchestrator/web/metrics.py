"""Prometheus metrics at /metrics, and the health snapshot at /healthz/details.

Every number is read from the database (and Redis) when scraped, by a custom collector: each
API replica reports the same truth, and nothing is lost when a process restarts. The
histograms are counted by SQL, one query each, so a scrape stays cheap at 100k attempts.

Both answer only with a session or a token. Prometheus sends a token from a file:

    scrape_configs:
      - job_name: sanshen
        metrics_path: /metrics
        authorization:
          type: Bearer
          credentials_file: /etc/prometheus/sanshen.token   # from `sanshen token create`
        static_configs: [{targets: ["sanshen-api:8800"]}]
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Sequence
from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_PLAIN_0_0_4, CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from sqlalchemy import ColumnElement, Float, case, cast, func, select
from sqlalchemy.orm import Session

from orchestrator.app import App
from orchestrator.models import Alert, Attempt, Publication
from orchestrator.services import health
from orchestrator.web.deps import Who, get_app
from orchestrator.web.refusals import ApiRoute, answer_other_methods

log = logging.getLogger("sanshen.metrics")
router = APIRouter(route_class=ApiRoute)

SEND_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)  # seconds
LATENESS_BUCKETS = (1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0, 4 * 3600.0, 86400.0)


def _histogram(
    session: Session,
    value: ColumnElement[Any],
    bounds: Sequence[float],
    where: ColumnElement[bool],
    *,
    per_attempt: bool = False,
) -> dict[str, tuple[list[int], int, float]]:
    """channel -> (cumulative counts per bound, count, sum), counted in one GROUP BY."""
    columns = [func.sum(case((value <= bound, 1), else_=0)) for bound in bounds]
    query = select(Publication.channel, func.count(), func.sum(value), *columns)
    if per_attempt:
        query = query.select_from(Attempt).join(
            Publication, Publication.id == Attempt.publication_id
        )
    rows = session.execute(query.where(where).group_by(Publication.channel)).all()
    return {
        channel: ([int(c or 0) for c in counts], int(total), float(summed or 0))
        for channel, total, summed, *counts in rows
    }


def _histogram_family(
    name: str, doc: str, bounds: Sequence[float], data: dict[str, tuple[list[int], int, float]]
) -> HistogramMetricFamily:
    family = HistogramMetricFamily(name, doc, labels=["channel"])
    for channel, (counts, total, summed) in sorted(data.items()):
        buckets = [(f"{b:g}", c) for b, c in zip(bounds, counts, strict=True)]
        family.add_metric([channel], [*buckets, ("+Inf", total)], summed)
    return family


def _seconds_between(session: Session, later: Any, earlier: Any) -> ColumnElement[float]:
    if session.get_bind().dialect.name == "sqlite":
        return (func.julianday(later) - func.julianday(earlier)) * 86400.0
    return cast(func.extract("epoch", later - earlier), Float)


class DatabaseCollector(Collector):
    """Publications, attempts, latencies, alerts and queues, read at scrape time."""

    def __init__(self, app: App) -> None:
        self.app = app

    def describe(self) -> list[Metric]:
        return []  # registering must not query; names are known only when collected

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("sanshen_database_up", "1 when the database answers")
        try:
            with self.app.db.read() as session:
                families = [
                    *self._publications(session),
                    *self._attempts(session),
                    *self._latencies(session),
                    *self._alerts(session),
                ]
        except Exception:  # a scrape must still say that the database is down
            log.exception("metrics: the database could not be read")
            families = []
        up.add_metric([], 1 if families else 0)
        yield up
        yield from families
        yield from self._queues()

    def _publications(self, session: Session) -> Iterator[Metric]:
        family = GaugeMetricFamily(
            "sanshen_publications", "Publications by channel and state", labels=["channel", "state"]
        )
        for (channel, state), n in sorted(health.publication_counts(session).items()):
            family.add_metric([channel, state], n)
        yield family

    def _attempts(self, session: Session) -> Iterator[Metric]:
        family = CounterMetricFamily(
            "sanshen_platform_calls",
            "Calls to a platform (attempts) by channel, operation and outcome",
            labels=["channel", "operation", "outcome"],
        )
        rows = session.execute(
            select(Publication.channel, Attempt.operation, Attempt.outcome, func.count())
            .join(Publication, Publication.id == Attempt.publication_id)
            .group_by(Publication.channel, Attempt.operation, Attempt.outcome)
            .order_by(Publication.channel, Attempt.operation, Attempt.outcome)
        ).all()
        for channel, operation, outcome, n in rows:
            family.add_metric([channel, operation, outcome], n)
        yield family

    def _latencies(self, session: Session) -> Iterator[Metric]:
        sends = _histogram(
            session,
            Attempt.duration_ms / 1000.0,
            SEND_BUCKETS,
            Attempt.operation == "publish",
            per_attempt=True,
        )
        yield _histogram_family(
            "sanshen_send_duration_seconds",
            "Duration of publish calls to a platform",
            SEND_BUCKETS,
            sends,
        )
        late = _seconds_between(session, Publication.sent_at, Publication.scheduled_at)
        yield _histogram_family(
            "sanshen_schedule_lateness_seconds",
            "Time from a publication's scheduled moment to its first send",
            LATENESS_BUCKETS,
            _histogram(session, late, LATENESS_BUCKETS, Publication.sent_at.is_not(None)),
        )

    def _alerts(self, session: Session) -> Iterator[Metric]:
        family = GaugeMetricFamily(
            "sanshen_alerts",
            "Alerts by kind, delivery state and whether someone acknowledged them",
            labels=["kind", "delivery_state", "acknowledged"],
        )
        acknowledged = Alert.acknowledged_at.is_not(None)
        rows = session.execute(
            select(Alert.kind, Alert.delivery_state, acknowledged, func.count())
            .group_by(Alert.kind, Alert.delivery_state, acknowledged)
            .order_by(Alert.kind, Alert.delivery_state)
        ).all()
        for kind, state, acked, n in rows:
            family.add_metric([kind, state, "true" if acked else "false"], n)
        yield family

    def _queues(self) -> Iterator[Metric]:
        url = health.broker_url(self.app.settings)
        part = health.queues_part(url)
        up = GaugeMetricFamily("sanshen_broker_up", "1 when the broker (Redis) answers")
        up.add_metric([], 1 if part["ok"] else 0)
        yield up
        family = GaugeMetricFamily(
            "sanshen_queue_length", "Tasks waiting in each broker queue", labels=["queue"]
        )
        for queue, n in sorted(part.get("lengths", {}).items()):
            family.add_metric([queue], n)
        yield family
        if part["ok"]:
            yield self._rounds(url)

    def _rounds(self, url: str) -> Metric:
        family = GaugeMetricFamily(
            "sanshen_scheduler_last_round_timestamp_seconds",
            "When each scheduler loop last finished a round (Unix time)",
            labels=["loop"],
        )
        with contextlib.suppress(Exception):  # Redis went away since the queue lengths
            for loop, at in health.last_rounds(url).items():
                if at is not None:
                    family.add_metric([loop], at.timestamp())
        return family


def exposition(app: App) -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(DatabaseCollector(app))
    return generate_latest(registry)


@router.get("/metrics", include_in_schema=False)
def metrics(_: Who) -> Response:
    # 0.0.4: the text format every Prometheus 2.x and 3.x reads; our names need no escaping.
    return Response(exposition(get_app()), media_type=CONTENT_TYPE_PLAIN_0_0_4)


@router.get("/healthz/details", tags=["运行状况"])
def health_details(_: Who) -> dict[str, Any]:
    """Each part of the system: broker, workers, scheduler, queues, database, publications."""
    return health.snapshot(get_app())


answer_other_methods(router)
