"""The gate against the oracle (tests/gate/oracle.py) on valid chains and their perturbations.

The records come from tests/gate/chains.py: a chain the rules let through under a random policy
(every setting varied), then changed 0 to 3 times. The two must agree on every record; at
least a third of the records pass (43% do), so "the gate never passes an invalid record"
is tried on records that are close to passing, not only on hopeless ones.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, given, settings

from gate import Policy, evaluate
from tests.gate import oracle
from tests.gate.chains import Case, chains, perturbed

# bench/mutation.py runs these once per mutant, with fewer examples
EXAMPLES = int(os.environ.get("SANSHEN_PROPERTY_EXAMPLES", "600"))
SETTINGS = settings(
    max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def judge(case: Case) -> tuple[bool, bool]:
    """(the gate's verdict, the oracle's) on `case`."""
    verdict = evaluate(case.record, Policy.from_dict(case.spec), now=case.now)
    assert verdict.passed == (not verdict.violations)
    return verdict.passed, oracle.passes(case.record, case.spec, case.now)


@settings(SETTINGS, max_examples=max(EXAMPLES // 3, 50))
@given(chains())
def test_every_chain_passes(case: Case) -> None:
    assert judge(case) == (True, True), evaluate(
        case.record, Policy.from_dict(case.spec), now=case.now
    ).violations


@SETTINGS
@given(perturbed())
def test_the_gate_agrees_with_the_oracle(case: Case) -> None:
    gate_says, oracle_says = judge(case)
    assert gate_says == oracle_says, (case.moves, case.spec)


def test_at_least_a_third_of_the_records_pass() -> None:
    """The share of passing records among what `perturbed()` makes (bench/gate_properties.py
    prints it); below a third, the agreement test would mostly see records that fail early."""
    verdicts: list[bool] = []

    @settings(SETTINGS, max_examples=300)
    @given(perturbed())
    def collect(case: Case) -> None:
        verdicts.append(judge(case)[0])

    collect()
    assert len(verdicts) >= 250
    assert sum(verdicts) / len(verdicts) >= 1 / 3, f"{sum(verdicts)} of {len(verdicts)} pass"
