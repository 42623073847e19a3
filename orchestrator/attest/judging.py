"""Judging bound rows against the claims on them: the whole table while the chain is walked,
or one row by the events about it."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

from orchestrator.attest.binding import BINDINGS, Binding
from orchestrator.attest.claims import digest_values
from orchestrator.models import AuditEvent, Base
from orchestrator.states import State


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
        names = binding.read_columns()
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
    names = binding.read_columns()
    return _judge_by_subject(session, binding, {name: getattr(row, name) for name in names})


def recheck(session: Session, problem: RowProblem) -> RowProblem | None:
    """The problem as it stands now, read afresh (None: gone). Under READ COMMITTED
    (PostgreSQL) a row moved, or created, while verify walked the chain is read with a later
    event than the walk saw; this second look by row keeps that from being reported."""
    binding = problem.binding
    if problem.fault is Fault.DELETED:
        return problem
    table = binding.model_table()
    names = binding.read_columns()
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
