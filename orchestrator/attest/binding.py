"""What binding a table to the audit chain means: which columns a claim digests, how the
events about a row are found, and which state moves may happen quietly."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Table

from orchestrator.models import Base
from orchestrator.states import State


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

    def read_columns(self) -> list[str]:
        """What is read to judge a row: the bound columns and the state column, if any."""
        return [*self.columns, *([self.state_column] if self.state_column else [])]


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
