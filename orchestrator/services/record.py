"""The review record: the gate's view of a submission (its version, every signed action and
改期, the people who signed, the stored images' real hashes, the publication rows to check).

Both the review service and the reports read a submission through this record, so it sits below
both: it imports the gate, the models and the submissions' content, nothing that reviews.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sqlalchemy.orm import object_session

import gate.model as g
from gate.rules import ReviewContext
from orchestrator.blobs import BlobStore
from orchestrator.models import (
    DateAmendment,
    Person,
    Publication,
    ReviewAction,
    RoleAssignment,
    Submission,
    Version,
)
from orchestrator.services.submissions import content_of


def gate_person(person: Person) -> g.Person:
    """The gate's view of a person: key, dated roles and the departments each role covers."""
    return g.Person(
        id=person.username,
        name=person.name,
        public_key=person.public_key,
        assignments=tuple(_assignment(a) for a in person.assignments),
        department=person.department.code if person.department else None,
    )


def _assignment(row: RoleAssignment) -> g.RoleAssignment:
    return g.RoleAssignment(
        g.Role(row.role),
        row.valid_from,
        row.valid_until,
        departments=None if row.department is None else frozenset({row.department.code}),
        acting_for=row.acting_for.username if row.acting_for else "",
    )


def amendment_of(uid: str, row: DateAmendment, actor: str) -> g.DateAmendment:
    """The gate's view of a 改期 of the submission `uid`, signed by `actor` (a username)."""
    return g.DateAmendment(
        submission_id=uid,
        fingerprint=row.fingerprint,
        channel=row.channel,
        old_date=row.old_date,
        new_date=row.new_date,
        actor_id=actor,
        acted_at=row.acted_at,
        signature=row.signature,
        comment=row.comment,
        id=str(row.id),
    )


def stored_images(version: Version, store: BlobStore) -> dict[str, str | None]:
    """What the store holds under each image hash of the version: the SHA-256 of the bytes
    actually there, or None when the file is missing."""
    return _actual([i.sha256 for i in version.images], version.cover_sha256, store)


def stored_hashes(content: g.Content, store: BlobStore) -> dict[str, str | None]:
    """`stored_images` of a version's content: its images (in body order) and cover."""
    return _actual(content.image_hashes, content.cover_hash, store)


def _actual(images: Iterable[str], cover: str | None, store: BlobStore) -> dict[str, str | None]:
    named = [*images, *[c for c in [cover] if c]]
    return {sha: store.actual_sha256(sha) for sha in dict.fromkeys(named)}


def publication_row(pub: Publication, origin_problem: str = "") -> g.PublicationRow:
    return g.PublicationRow(f"P{pub.id}", pub.channel, pub.scheduled_at, origin_problem)


def action_of(uid: str, row: ReviewAction, actor: str) -> g.ReviewAction:
    """The gate's view of a review action on the submission `uid`, by `actor` (a username)."""
    return g.ReviewAction(
        submission_id=uid,
        fingerprint=row.fingerprint,
        stage=g.ReviewStage(row.stage),
        decision=g.Decision(row.decision),
        actor_id=actor,
        acted_at=row.acted_at,
        signature=row.signature,
        comment=row.comment,
        id=str(row.id),
    )


def review_record(
    submission: Submission,
    version: Version | None = None,
    extra: tuple[g.ReviewAction, ...] = (),
    extra_people: tuple[Person, ...] = (),
    *,
    store: BlobStore | None = None,
    publications: Iterable[Publication] = (),
    origin: Callable[[Publication], str] | None = None,
    extra_amendments: tuple[g.DateAmendment, ...] = (),
) -> g.ReviewRecord:
    """The gate's view of a submission's version, every action and 改期 recorded on the
    submission, the stored images' real hashes (when `store` is given: without it the gate
    refuses content with images) and the publication rows to check against the signed rows
    (`origin` says what is wrong with where a row came from, "" when nothing)."""
    version = version or submission.current
    amendments = submission.amendments
    original = _original_record(submission, store)
    actors = [*(a.actor for a in submission.actions), *(a.actor for a in amendments)]
    people = {p.username: gate_person(p) for p in [submission.author, *actors, *extra_people]}
    return g.ReviewRecord(
        submission_id=submission.uid,
        department=submission.department.code,
        author_id=submission.author.username,
        content=content_of(version),
        actions=tuple(action_of(submission.uid, a, a.actor.username) for a in submission.actions)
        + extra,
        people=people,
        stored_images=None if store is None else stored_images(version, store),
        publications=tuple(publication_row(p, origin(p) if origin else "") for p in publications),
        amendments=tuple(amendment_of(submission.uid, a, a.actor.username) for a in amendments)
        + extra_amendments,
        original=original,
        reviewed_as=content_of(version.reviewed_version) if version.reviewed_version else None,
        usage_exempt=version.usage_exempt,
    )


def original_version(submission: Submission) -> Version | None:
    """For a repost drafted from an adoption of our own item: the original's version that
    went upward (and was adopted). None for any other submission."""
    if submission.repost_of_id is None or submission.repost_origin_id is None:
        return None
    session = object_session(submission)
    upward = session.get(Publication, submission.repost_of_id) if session else None
    if upward is None or upward.submission_id != submission.repost_origin_id:
        return None
    return upward.version


@dataclass(frozen=True)
class Carried:
    """What a repost of our own item takes from its original, for the pages: the original's
    submission and version, and why its reviews cannot stand ("" when they carry the repost)."""

    submission_id: int
    version_number: int
    problem: str


def carried(submission: Submission, context: ReviewContext) -> Carried | None:
    version = original_version(submission)
    if version is None:
        return None
    return Carried(version.submission_id, version.number, context.original_problem)


def _original_record(submission: Submission, store: BlobStore | None) -> g.ReviewRecord | None:
    """The original's record, for the gate to judge whether its reviews carry the repost."""
    version = original_version(submission)
    return None if version is None else review_record(version.submission, version, store=store)
