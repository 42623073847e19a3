"""The worker's cache of the review record's shared part, for the send path.

Right before each send the gate judges the row again (publishing.prepare.checked_item). The
channels of an item share one version, and everything but the row itself is the same for all
of them, so that part (record_load.Shared, built in a fixed number of statements) is built once
per (submission, version) and kept in a `RecordCache` on the worker's `Context`: the version's
content, the content the stages before 稿件用途 approved, the text the item is rendered from
(what goes out is what the gate checked), the submission's signed review actions and 改期, and
for a repost of our own item the original's part.

The stamp. Versions, their images and 审批表 rows, review actions and 改期 are never updated nor
deleted (models.immutable refuses it in the ORM), and actions and 改期 are only ever added
(review.actions, amendments: `session.add`, never an update). So each send first reads a stamp
(`_stamp`, one statement): the submission's own columns the record reads (uid, author,
department with its code and name, the repost links and the upward row they go through) and the
original's, the count and the highest id of the review actions and of the 改期 of both, and the
version's own columns (fingerprint, title, body and the rest: an edit made by SQL, past the
ORM's guard, is judged by the very next send and raises its integrity alert). A new action or 改期
raises its count (nothing is deleted, so a count never comes back to an old value; an id taken
by a transaction that commits later still raises it), a changed column is in the stamp itself:
the next send rebuilds. The stamp is read before the rows it covers, so a cached part is never
older than its stamp; at worst an action landing in between costs one more rebuild.

People are not in the stamp: they and their role assignments are edited in place (an assignment
is ended by setting valid_until: org.revoke_role, org.set_in_charge, delegation.end_delegation;
a department, a key or a delegation can be changed by hand) and have no updated_at column, so no
cheap stamp could see every edit (a max(id) misses an update, a count misses it too). They are
read fresh for every send instead, all of them in one statement (people, their departments,
their assignments with the departments those cover and whom they act for): exact by
construction, and no dearer than a stamp that could be trusted.

Per row and never cached: the publication row and its origin problem (the audit chain), and the
stored images' real hashes (the blob store is read again: a tampered blob is refused).

What no stamp sees, an image or 审批表 row of a version edited past the ORM's guard (by SQL), is
not read again while its entry lives (at most `MAX_AGE` seconds): meanwhile the rows of that
version go out as they were signed and checked, never as edited (the item is rendered from the
cached values); every other reader (the review pages, the next build) judges the edited rows,
and `sanshen audit verify` reports an edited action or 改期.

Rows outside what the stamp covers (a row whose version belongs to another submission, a repost
whose original is itself a repost) are built by `review_record` and rendered from the rows, as
before.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import Integer, Row, Select, bindparam, func, select
from sqlalchemy.orm import Session, aliased, object_session

from orchestrator.blobs import BlobStore
from orchestrator.models import (
    DateAmendment,
    Department,
    Publication,
    ReviewAction,
    Submission,
    Version,
)
from orchestrator.services.record_load import SendInputs, Shared, from_rows, inputs, part

# Every column of a version the record or the item reads (the stamp compares them all).
VERSION_COLUMNS = (
    "fingerprint", "title", "body_html", "digest", "byline", "cover_sha256", "major_event",
    "special_content", "repost_platform", "repost_url", "repost_published_at",
    "reviewed_version_id", "usage_exempt", "submission_id",
)  # fmt: skip
CACHED_VERSIONS = 256  # the versions a worker sends in a busy hour; each keeps its text (kB)
MAX_AGE = 600.0  # seconds: the rows of one version go out within moments of each other


class RecordCache:
    """Per worker process: the `Shared` part of the last `size` versions sent, each with the
    stamp it was built under (module docstring), for at most `max_age` seconds: what no stamp
    can see (an immutable row edited past the ORM's guard, a database restored under running
    workers) is read again within that bound. Safe to share between threads."""

    def __init__(self, size: int = CACHED_VERSIONS, max_age: float = MAX_AGE) -> None:
        self.size, self.max_age = size, max_age
        self._entries: OrderedDict[tuple[int, int], _Entry] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def inputs(self, pub: Publication, *, store: BlobStore, origin: str) -> SendInputs:
        """The record of `pub` (with `origin`, what is wrong with where it came from) and what
        renders it, read in `pub`'s session."""
        session = object_session(pub)
        assert session is not None
        key = (pub.submission_id, pub.version_id)
        row = _stamp(session, *key)
        shared = self._get(key, tuple(row))
        if shared is None:
            shared = _shared(session, *key, row)
            if shared is None:
                return from_rows(pub, store, origin)
            self._put(key, _Entry(tuple(row), shared, time.monotonic()))
        return inputs(session, shared, pub, store=store, origin=origin)

    def _get(self, key: tuple[int, int], stamp: tuple[Any, ...]) -> Shared | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if entry.stamp != stamp or time.monotonic() - entry.built >= self.max_age:
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return entry.shared

    def _put(self, key: tuple[int, int], entry: _Entry) -> None:
        with self._lock:
            self._entries[key] = entry
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)


@dataclass(frozen=True)
class _Entry:
    stamp: tuple[Any, ...]
    shared: Shared
    built: float  # time.monotonic()


# --- the stamp --------------------------------------------------------------------------------


def _activity(model: type[ReviewAction] | type[DateAmendment], submissions: list[Any]) -> list[Any]:
    """How many rows of `model` the submissions have, and the highest id."""
    mine = model.submission_id.in_(submissions)
    return [
        select(func.count(model.id)).where(mine).scalar_subquery(),
        select(func.max(model.id)).where(mine).scalar_subquery(),
    ]


def _stamp(session: Session, submission_id: int, version_id: int) -> Row[Any]:
    """One statement: the submission's and its original's columns the record reads, and the
    count and highest id of their review actions and 改期 (module docstring); and the version's
    own columns, so that an edited version, or an id that came back (a restored database), is
    read again."""
    return session.execute(
        _stamp_query(), {"submission_id": submission_id, "version_id": version_id}
    ).one()


@cache
def _stamp_query() -> Select[Any]:
    """Built once, with its ids as parameters: SQLAlchemy's compiled cache serves every send."""
    submission_id = bindparam("submission_id", type_=Integer)
    version_id = bindparam("version_id", type_=Integer)
    sub, department, version = aliased(Submission), aliased(Department), aliased(Version)
    upward, orig, orig_department = aliased(Publication), aliased(Submission), aliased(Department)
    both = [sub.id, orig.id]
    return (
        select(
            # the version's own columns: an edit made past the ORM's guard (by SQL) is judged
            # by the very next send, as it was before the cache
            *(getattr(version, name) for name in VERSION_COLUMNS),
            sub.uid,
            sub.author_id,
            department.code.label("department_code"),
            department.name.label("department_name"),
            sub.repost_of_id,
            sub.repost_origin_id,
            upward.submission_id.label("upward_submission"),
            upward.version_id.label("upward_version"),
            orig.uid.label("orig_uid"),
            orig.author_id.label("orig_author"),
            orig_department.code.label("orig_department"),
            orig.repost_of_id.label("orig_repost_of"),
            orig.repost_origin_id.label("orig_repost_origin"),
            *_activity(ReviewAction, both),
            *_activity(DateAmendment, both),
        )
        .select_from(sub)
        .join(department, department.id == sub.department_id)
        .join(version, version.id == version_id)
        .outerjoin(upward, upward.id == sub.repost_of_id)
        .outerjoin(orig, orig.id == upward.submission_id)
        .outerjoin(orig_department, orig_department.id == orig.department_id)
        .where(sub.id == submission_id)
    )


# --- building the shared part -----------------------------------------------------------------


def _shared(session: Session, submission_id: int, version_id: int, row: Row[Any]) -> Shared | None:
    """The shared part, from the stamp's columns and the immutable rows; None when the rows are
    outside what it covers (then the record is built from the rows, as before)."""
    original = None
    linked = row.repost_of_id is not None and row.repost_origin_id is not None
    if linked and row.upward_submission == row.repost_origin_id:  # services.record.original_version
        if row.orig_repost_of is not None and row.orig_repost_origin is not None:
            return None  # the original is itself a repost: not covered by the stamp
        original = part(
            session,
            row.upward_submission,
            row.upward_version,
            uid=row.orig_uid,
            author=row.orig_author,
            department=(row.orig_department, ""),
            original=None,
        )
        if original is None:
            return None
    return part(
        session,
        submission_id,
        version_id,
        uid=row.uid,
        author=row.author_id,
        department=(row.department_code, row.department_name),
        original=original,
    )
