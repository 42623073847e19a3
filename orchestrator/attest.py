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

Binding a table is one `bind(...)` line below plus `"row": claim(row)` in its audit record. An
event that writes two bound rows at once (a publication's move and the signed manual action that
made it) carries the second claim under "action".
"""

from __future__ import annotations

import enum
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Table, inspect, select
from sqlalchemy.orm import Session

from orchestrator.models import (
    AuditEvent,
    Base,
    DateAmendment,
    ManualAction,
    Publication,
    ReviewAction,
    Verification,
)
from orchestrator.states import QUIET_MOVES, State

SHANGHAI = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class Binding:
    table: str
    columns: tuple[str, ...]
    noun: str  # how messages name a row: 审核记录 #12
    immutable: bool = True
    created_by: str = ""  # the audit action that alone creates a row (mutable tables)
    # The subject of the events about a row: "<subject>:<value of subject_column>".
    subject: str = ""
    subject_column: str = "id"
    state_column: str = ""
    # state -> the states reachable from it through quiet moves (see states.QUIET_MOVES)
    quiet: Mapping[str, frozenset[str]] = field(default_factory=dict, compare=False)

    def model_table(self) -> Table:
        return Base.metadata.tables[self.table]


BINDINGS: dict[str, Binding] = {}


def bind(model: type[Base], columns: Iterable[str], noun: str, **options: Any) -> Binding:
    """Register a table; checked now, not when a row is first attested. The bound columns
    include "id"; `subject` names the events about a row (a creation event's subject must be
    the row's own id)."""
    binding = Binding(model.__tablename__, tuple(columns), noun, **options)
    table = binding.model_table()
    unknown = {*binding.columns, binding.state_column or "id", binding.subject_column}
    unknown -= set(table.c.keys())
    if (
        binding.table in BINDINGS
        or unknown
        or "id" not in binding.columns
        or not binding.subject
        or (binding.created_by and binding.subject_column != "id")
    ):
        raise ValueError(
            f"cannot bind {binding.table}: bound twice, unknown {unknown or '-'}, no id"
        )
    BINDINGS[binding.table] = binding
    return binding


def quiet_closure(moves: Iterable[tuple[State, State]]) -> dict[str, frozenset[str]]:
    """For each state, the states a row can reach from it through quiet moves (itself too)."""
    step: dict[str, set[str]] = {}
    for source, target in moves:
        step.setdefault(source.value, set()).add(target.value)
    closure = {}
    for start in State:
        seen, todo = set(), [start.value]
        while todo:
            state = todo.pop()
            if state not in seen:
                seen.add(state)
                todo.extend(step.get(state, ()))
        closure[start.value] = frozenset(seen)
    return closure


REVIEW_ACTIONS = bind(
    ReviewAction,
    (
        "id",
        "submission_id",
        "version_id",
        "fingerprint",
        "stage",
        "decision",
        "actor_id",
        "acted_at",
        "comment",
        "signature",
    ),
    "审核记录",
    subject="submission",
    subject_column="submission_id",
)
PUBLICATIONS = bind(
    Publication,
    (
        "id",
        "submission_id",
        "version_id",
        "channel",
        "scheduled_at",
        "idempotency_key",
        "source_platform",
        "source_url",
    ),
    "发布记录",
    immutable=False,
    created_by="publication.create",
    subject="publication",
    state_column="state",
    quiet=quiet_closure(QUIET_MOVES),
)
DATE_AMENDMENTS = bind(
    DateAmendment,
    (
        "id",
        "submission_id",
        "version_id",
        "publication_id",
        "fingerprint",
        "channel",
        "old_date",
        "new_date",
        "actor_id",
        "acted_at",
        "comment",
        "signature",
    ),
    "改期记录",
    subject="publication",
    subject_column="publication_id",
)
MANUAL_ACTIONS = bind(
    ManualAction,
    (
        "id",
        "publication_id",
        "kind",
        "url",
        "external_id",
        "fingerprint",
        "actor_id",
        "acted_at",
        "comment",
        "signature",
    ),
    "人工发布记录",
    subject="publication",
    subject_column="publication_id",
)
VERIFICATIONS = bind(
    Verification,
    (
        "id",
        "publication_id",
        "checked_at",
        "url",
        "verdict",
        "code",
        "page_sha256",
        "snapshot_sha256",
    ),
    "发布核验记录",
    subject="publication",
    subject_column="publication_id",
)


# --- digests and claims ---------------------------------------------------------------------


def canonical(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="microseconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    return value


def digest_values(columns: Iterable[str], values: Mapping[Any, Any]) -> str:
    body = json.dumps(
        {name: canonical(values[name]) for name in columns},
        ensure_ascii=False,
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(body.encode()).hexdigest()


def digest(row: Base) -> str:
    binding = BINDINGS[row.__tablename__]
    return digest_values(binding.columns, {name: getattr(row, name) for name in binding.columns})


def claim(row: Base, *, state: str | None = None) -> dict[str, Any]:
    """The payload's "row" for an ORM row just created or changed (flushed, so it has its id)."""
    binding = BINDINGS[row.__tablename__]
    values = {name: getattr(row, name) for name in binding.columns}
    found: dict[str, Any] = {
        "table": binding.table,
        "id": values["id"],
        "digest": digest_values(binding.columns, values),
    }
    if binding.state_column:
        found["state"] = state or getattr(row, binding.state_column)
    return found


def fresh_claim(session: Session, binding: Binding, row_id: int) -> dict[str, Any]:
    """The claim for a row changed by a Core statement: its bound values read back (one query
    by primary key, inside the caller's transaction, so after its own change)."""
    table = binding.model_table()
    names = [*binding.columns, *([binding.state_column] if binding.state_column else [])]
    values = session.execute(select(*(table.c[n] for n in names)).where(table.c.id == row_id))
    row = values.one()._mapping
    found = {"table": binding.table, "id": row_id, "digest": digest_values(binding.columns, row)}
    if binding.state_column:
        found["state"] = row[binding.state_column]
    return found


def state_claim(binding: Binding, row_id: int, state: str) -> dict[str, Any]:
    """A move's claim: the state it reached; the bound columns did not change."""
    return {"table": binding.table, "id": row_id, "state": state}


# --- judging rows ---------------------------------------------------------------------------


class Fault(enum.StrEnum):
    CHANGED = "changed"
    UNATTESTED = "unattested"  # no claim: written outside the application
    NOT_CREATED = "not_created"  # no creation event
    TWICE = "twice"
    STATE = "state"
    DELETED = "deleted"


@dataclass(frozen=True)
class Attestation:
    event_id: int
    digest: str | None
    state: str | None


@dataclass(frozen=True)
class RowProblem:
    binding: Binding
    row_id: int
    fault: Fault
    event_id: int | None = None
    state: str = ""
    attested_state: str = ""

    @property
    def detail(self) -> str:
        event = f"审计链第 {self.event_id} 条记录"
        match self.fault:
            case Fault.CHANGED:
                return f"的内容与{event}不符（被改动）"
            case Fault.UNATTESTED:
                return "在审计链中没有记录（在链外写入）"
            case Fault.NOT_CREATED:
                return f"在审计链中没有创建记录（{self.binding.created_by}），不是由应用生成的"
            case Fault.TWICE:
                return f"被审计链记录了不止一次（第 {self.event_id} 条是重复的）"
            case Fault.STATE:
                return (
                    f"的状态为“{_label(self.state)}”，而{event}的状态是"
                    f"“{_label(self.attested_state)}”，其间的变化没有记录（在链外改动）"
                )
            case Fault.DELETED:
                return f"已不存在（被删除），{event}曾记下它"

    @property
    def message(self) -> str:
        return f"{self.binding.noun} #{self.row_id} {self.detail}"

    def as_dict(self) -> dict[str, Any]:
        found: dict[str, Any] = {"table": self.binding.table, "id": self.row_id}
        if self.event_id is not None:
            found["event"] = self.event_id
        return found


def _label(state: str) -> str:
    try:
        return State(state).label
    except ValueError:
        return state


def judge(
    binding: Binding,
    row_id: int,
    values: Mapping[Any, Any],
    claims: list[Attestation],
    *,
    created: bool,
) -> RowProblem | None:
    """What is wrong with one row, given the claims on it in chain order (None: nothing)."""
    digests = [c for c in claims if c.digest is not None]
    if binding.created_by and not created:
        return RowProblem(binding, row_id, Fault.NOT_CREATED)
    if not digests:
        return RowProblem(binding, row_id, Fault.UNATTESTED)
    if binding.immutable and len(digests) > 1:
        return RowProblem(binding, row_id, Fault.TWICE, digests[1].event_id)
    latest = digests[-1]
    if latest.digest != digest_values(binding.columns, values):
        return RowProblem(binding, row_id, Fault.CHANGED, latest.event_id)
    states = [c for c in claims if c.state is not None]
    if binding.state_column and states:
        now, last = values[binding.state_column], states[-1]
        if last.state is not None and now not in binding.quiet.get(last.state, {last.state}):
            return RowProblem(binding, row_id, Fault.STATE, last.event_id, now, last.state)
    return None


# The payload keys that carry claims.
CLAIM_KEYS = ("row", "action")


@dataclass
class Ledger:
    """The claims found while walking the chain, by (table, id); and the rows created."""

    claims: dict[tuple[str, int], list[Attestation]] = field(default_factory=dict)
    created: set[tuple[str, int]] = field(default_factory=set)

    def note(self, event_id: int, action: str, subject: str, payload: Mapping[str, Any]) -> None:
        for binding in BINDINGS.values():
            prefix = f"{binding.subject}:"
            if binding.created_by and action == binding.created_by and subject.startswith(prefix):
                self.created.add((binding.table, _int(subject.removeprefix(prefix))))
        for key in CLAIM_KEYS:
            row = payload.get(key)
            if isinstance(row, dict) and row.get("table") in BINDINGS:
                self.claims.setdefault((row["table"], _int(row.get("id"))), []).append(
                    Attestation(event_id, row.get("digest"), row.get("state"))
                )


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return -1


def check_rows(session: Session, ledger: Ledger) -> list[RowProblem]:
    """Every bound row judged against the ledger, table by table, in id order."""
    problems: list[RowProblem] = []
    present = set(inspect(session.connection()).get_table_names())
    for binding in BINDINGS.values():
        table = binding.model_table()
        if table.name not in present:  # a database not yet upgraded to the table's revision
            continue
        seen: set[int] = set()
        names = [*binding.columns, *([binding.state_column] if binding.state_column else [])]
        for row in session.execute(select(*(table.c[n] for n in names)).order_by(table.c.id)):
            values = row._mapping
            seen.add(values["id"])
            key = (binding.table, values["id"])
            problem = judge(
                binding,
                values["id"],
                values,
                ledger.claims.get(key, []),
                created=key in ledger.created,
            )
            if problem:
                problems.append(problem)
        for table_name, row_id in sorted(ledger.claims):
            if table_name == binding.table and row_id not in seen:
                first = ledger.claims[(table_name, row_id)][0].event_id
                problems.append(RowProblem(binding, row_id, Fault.DELETED, first))
    return problems


def row_problem(session: Session, binding: Binding, row: Base) -> RowProblem | None:
    """One ORM row judged against the events about it: one query, on the indexed subject."""
    names = [*binding.columns, *([binding.state_column] if binding.state_column else [])]
    return _judge_by_subject(session, binding, {name: getattr(row, name) for name in names})


def recheck(session: Session, problem: RowProblem) -> RowProblem | None:
    """The problem as it stands now, read afresh (None: gone). Under READ COMMITTED
    (PostgreSQL) a row moved, or created, while verify walked the chain is read with a later
    event than the walk saw; this second look by row keeps that from being reported."""
    binding = problem.binding
    if problem.fault is Fault.DELETED:
        return problem
    table = binding.model_table()
    names = [*binding.columns, *([binding.state_column] if binding.state_column else [])]
    row = session.execute(
        select(*(table.c[n] for n in names)).where(table.c.id == problem.row_id)
    ).first()
    return problem if row is None else _judge_by_subject(session, binding, row._mapping)


def _judge_by_subject(
    session: Session, binding: Binding, values: Mapping[Any, Any]
) -> RowProblem | None:
    subject = f"{binding.subject}:{values[binding.subject_column]}"
    ledger = Ledger()
    for event_id, action, payload in session.execute(
        select(AuditEvent.id, AuditEvent.action, AuditEvent.payload)
        .where(AuditEvent.subject == subject)
        .order_by(AuditEvent.id)
    ):
        ledger.note(event_id, action, subject, payload)
    key = (binding.table, values["id"])
    return judge(
        binding, values["id"], values, ledger.claims.get(key, []), created=key in ledger.created
    )
