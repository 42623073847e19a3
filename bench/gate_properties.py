"""The share of records the gate's property tests see passing.

Draws records from tests/gate/chains.py's `perturbed()` (valid chains under a random policy,
changed 0 to 3 times) with a fixed seed, judges each with the gate and the oracle, and reports
how many pass, by the number of changes made, and whether the two ever disagreed.

Run: python bench/gate_properties.py [records] (default 2000). The last line is JSON.
"""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from pathlib import Path

# Run as a script, this file's folder comes first on sys.path and its name would hide the
# `gate` package; the project's root must be there for `tests.gate`.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

from hypothesis import HealthCheck, given, seed, settings  # noqa: E402

from gate import Policy, evaluate  # noqa: E402
from tests.gate import oracle  # noqa: E402
from tests.gate.chains import Case, perturbed  # noqa: E402


def main(records: int) -> dict[str, object]:
    seen: Counter[tuple[int, bool]] = Counter()
    disagreements: list[tuple[str, ...]] = []

    @seed(20261207)
    @settings(
        max_examples=records,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(perturbed())
    def judge(case: Case) -> None:
        passed = evaluate(case.record, Policy.from_dict(case.spec), now=case.now).passed
        if passed != oracle.passes(case.record, case.spec, case.now):
            disagreements.append(case.moves)
        seen[(len(case.moves), passed)] += 1

    started = time.perf_counter()
    judge()
    took = time.perf_counter() - started
    total = sum(seen.values())
    passed = sum(n for (_, ok), n in seen.items() if ok)
    by_changes = {
        str(k): {
            "records": seen[(k, True)] + seen[(k, False)],
            "passed": seen[(k, True)],
        }
        for k in sorted({k for k, _ in seen})
    }
    return {
        "bench": "gate_properties",
        "records": total,
        "passed": passed,
        "share_passing": round(passed / total, 3),
        "by_changes": by_changes,
        "disagreements": len(disagreements),
        "seconds": round(took, 1),
    }


if __name__ == "__main__":
    print(json.dumps(main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000), ensure_ascii=False))
