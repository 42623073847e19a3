"""The rules over dates: the 改期 made after 签发, and the publications handed in."""

from __future__ import annotations

from collections.abc import Iterator

from gate.rules.basics import aware
from gate.rules.context import Context
from gate.verdict import Violation, violation


def rule_amendments_valid(context: Context) -> Iterator[Violation]:
    yield from context.amendment_violations


def rule_publications_signed(context: Context) -> Iterator[Violation]:
    """Each row handed in goes out on a signed channel, on its signed (or amended) day."""
    zone = context.policy.zone
    for row in context.record.publications:
        if row.origin_problem:
            yield violation("publication_origin", publication=row.id, reason=row.origin_problem)
        signed = context.signed_dates.get(row.channel)
        if signed is None:
            yield violation(
                "publication_channel_not_signed", publication=row.id, channel=row.channel
            )
            continue
        if not aware(row.scheduled_at):
            yield violation("publication_time_invalid", publication=row.id, channel=row.channel)
            continue
        day = row.scheduled_at.astimezone(zone).date()
        if day != signed[0]:
            yield violation(
                "publication_date_not_signed",
                publication=row.id,
                channel=row.channel,
                day=day.isoformat(),
                signed=signed[0].isoformat(),
            )
