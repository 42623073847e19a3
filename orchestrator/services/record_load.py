"""The review record of a row about to go out, from a fixed number of statements whatever the
item's history: the part the rows of one version share (`Shared`, built by `part` from the
immutable rows), and the record assembled from it with the people as they are now (`inputs`).
The cache that keeps the shared part between sends is services.record_cache.

`inputs` builds what `services.record.review_record` builds from the rows, and the values
`render.render` reads, so that the item that goes out is rendered from what the gate checked.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from functools import cache
from typing import Any

from sqlalchemy import Integer, Select, bindparam, or_, select
from sqlalchemy.orm import Session, aliased, selectinload

import gate.model as g
from channels.item import Item, ReviewLine
from orchestrator.blobs import BlobStore
from orchestrator.models import (
    DateAmendment,
    Department,
    Person,
    Publication,
    ReviewAction,
    RoleAssignment,
    Version,
)
from orchestrator.render import VersionText, approves, item, review_line, review_lines
from orchestrator.services.record import (
    action_of,
    amendment_of,
    publication_row,
    review_record,
    stored_hashes,
)
from orchestrator.services.submissions import content_of


@dataclass(frozen=True)
class Shared:
    """What every row of one version shares. Actions and 改期 name their signer by people.id
    (`actor_id` is filled in from the people read fresh for each send)."""

    uid: str
    department: str  # the code the gate compares
    department_name: str  # the name the item shows
    author: int
    content: g.Content
    text: VersionText
    actions: tuple[tuple[g.ReviewAction, int], ...]
    amendments: tuple[tuple[g.DateAmendment, int], ...]
    reviewed_as: g.Content | None
    usage_exempt: bool
    original: Shared | None

    def people(self) -> set[int]:
        """Everyone the record names: the author and every signer, the original's too."""
        found = {self.author, *(p for _, p in self.actions), *(p for _, p in self.amendments)}
        return found | (self.original.people() if self.original else set())


@dataclass(frozen=True)
class SendInputs:
    """The gate's record of a row about to go out, and the values it is rendered from."""

    record: g.ReviewRecord
    text: VersionText
    department: str
    review: tuple[ReviewLine, ...]

    def item(self, channel: str, *, reference: str, store: BlobStore) -> Item:
        return item(
            self.text,
            channel,
            department=self.department,
            review=self.review,
            reference=reference,
            store=store,
        )


def part(
    session: Session,
    submission_id: int,
    version_id: int,
    *,
    uid: str,
    author: int,
    department: tuple[str, str],
    original: Shared | None,
) -> Shared | None:
    """One submission's part: its version (with its images, 审批表 rows and the version its
    reviews carry over from) and its actions and 改期: a fixed number of statements."""
    versions = _versions(session, version_id)
    version = versions.get(version_id)
    if version is None or version.submission_id != submission_id:
        return None
    reviewed = None
    if version.reviewed_version_id is not None:
        reviewed = versions.get(version.reviewed_version_id)
        if reviewed is None:
            return None
    actions = session.scalars(
        select(ReviewAction)
        .where(ReviewAction.submission_id == submission_id)
        .order_by(ReviewAction.id)
    ).all()
    amendments = session.scalars(
        select(DateAmendment)
        .where(DateAmendment.submission_id == submission_id)
        .order_by(DateAmendment.id)
    ).all()
    return Shared(
        uid=uid,
        department=department[0],
        department_name=department[1],
        author=author,
        content=content_of(version),
        text=VersionText.of(version),
        actions=tuple((action_of(uid, a, ""), a.actor_id) for a in actions),
        amendments=tuple((amendment_of(uid, a, ""), a.actor_id) for a in amendments),
        reviewed_as=content_of(reviewed) if reviewed is not None else None,
        usage_exempt=version.usage_exempt,
        original=original,
    )


def _versions(session: Session, version_id: int) -> dict[int, Version]:
    """The version and the one its reviews carry over from (稿件用途), each with its images
    and 审批表 rows: three statements."""
    return {v.id: v for v in session.scalars(_versions_query(), {"version_id": version_id})}


@cache
def _versions_query() -> Select[Version]:
    """Built once (SQLAlchemy's compiled cache then serves each build)."""
    inner, version_id = aliased(Version), bindparam("version_id", type_=Integer)
    carried = select(inner.reviewed_version_id).where(inner.id == version_id).scalar_subquery()
    return (
        select(Version)
        .where(or_(Version.id == version_id, Version.id == carried))
        .options(selectinload(Version.images), selectinload(Version.channels))
    )


# --- every send -------------------------------------------------------------------------------


def inputs(
    session: Session, shared: Shared, pub: Publication, *, store: BlobStore, origin: str
) -> SendInputs:
    """The record of `pub` (with `origin`, what is wrong with where it came from) from the
    shared part, the people read now (one statement) and the images' bytes read now."""
    people = _people(session, shared.people())
    record = _record(shared, people, store, (publication_row(pub, origin),))
    return SendInputs(record, shared.text, shared.department_name, _review(shared, people))


def _people(session: Session, ids: Iterable[int]) -> dict[int, g.Person]:
    """The gate's view of these people as they are now (as `record.gate_person` builds it), in
    one Core statement: a row per role assignment (or one for a person without any), their
    departments and whom each stands in for, in the order the relationship lists them."""
    wanted = sorted(ids)
    found: dict[int, tuple[Any, list[g.RoleAssignment]]] = {}
    for row in session.execute(_people_query(), {"ids": wanted}):
        person = found.setdefault(row.id, (row, []))
        if row.role is not None:
            person[1].append(
                g.RoleAssignment(
                    g.Role(row.role),
                    row.valid_from,
                    row.valid_until,
                    departments=None if row.covers is None else frozenset({row.covers}),
                    acting_for=row.acting_for or "",
                )
            )
    return {
        pid: g.Person(
            id=row.username,
            name=row.name,
            public_key=row.public_key,
            assignments=tuple(held),
            department=row.home,
        )
        for pid, (row, held) in found.items()
    }


@cache
def _people_query() -> Select[*tuple[Any, ...]]:
    """Built once: SQLAlchemy's compiled cache then serves every send."""
    home, covers, stands_in = aliased(Department), aliased(Department), aliased(Person)
    role = RoleAssignment
    return (
        select(
            Person.id,
            Person.username,
            Person.name,
            Person.public_key,
            home.code.label("home"),
            role.role,
            role.valid_from,
            role.valid_until,
            covers.code.label("covers"),
            stands_in.username.label("acting_for"),
        )
        .outerjoin(home, home.id == Person.department_id)
        .outerjoin(role, role.person_id == Person.id)
        .outerjoin(covers, covers.id == role.department_id)
        .outerjoin(stands_in, stands_in.id == role.acting_for_id)
        .where(Person.id.in_(bindparam("ids", expanding=True)))
        .order_by(Person.id, role.valid_from, role.id)
    )


def _record(
    shared: Shared,
    people: dict[int, g.Person],
    store: BlobStore,
    publications: tuple[g.PublicationRow, ...],
) -> g.ReviewRecord:
    """What `review_record` builds from the rows, from the shared part and the people."""
    username = {key: person.id for key, person in people.items()}
    involved = [shared.author, *(p for _, p in shared.actions), *(p for _, p in shared.amendments)]
    return g.ReviewRecord(
        submission_id=shared.uid,
        department=shared.department,
        author_id=username[shared.author],
        content=shared.content,
        actions=tuple(replace(a, actor_id=username[p]) for a, p in shared.actions),
        people={username[p]: people[p] for p in involved},
        stored_images=stored_hashes(shared.content, store),
        publications=publications,
        amendments=tuple(replace(a, actor_id=username[p]) for a, p in shared.amendments),
        original=None if shared.original is None else _record(shared.original, people, store, ()),
        reviewed_as=shared.reviewed_as,
        usage_exempt=shared.usage_exempt,
    )


def _review(shared: Shared, people: dict[int, g.Person]) -> tuple[ReviewLine, ...]:
    """`render.review_lines`: the approvals of exactly this version, with the signers' names."""
    return tuple(
        review_line(a.stage, people[p].name, a.acted_at, a.signature)
        for a, p in shared.actions
        if approves(a.fingerprint, a.decision, shared.text.fingerprint)
    )


def from_rows(pub: Publication, store: BlobStore, origin: str) -> SendInputs:
    """As before the cache: the record from the rows, and the values `render` reads."""
    record = review_record(
        pub.submission, pub.version, store=store, publications=(pub,), origin=lambda _: origin
    )
    version = pub.version
    return SendInputs(
        record,
        VersionText.of(version),
        version.submission.department.name,
        review_lines(version.submission.actions, version),
    )
