"""Mutation testing of gate/ with mutmut: how many of its mutants the gate's tests kill.

Copies gate/, tests/gate/ and what they import (the working tree's files, so uncommitted
changes count) into a temporary folder, runs `mutmut run` there on every function of gate/
against `pytest tests/gate` (mutmut runs only the tests that reach the mutated function), and
reads each mutant's outcome from `mutmut results --all true`. Left out: the purity test (it
counts mutmut's own import in the mutated files as a third-party import) and the share of
passing records (a property of the test's generator, not of the gate); the property tests run
with 200 examples each instead of 600.

Needs mutmut: pip install -e '.[mutation]'. Takes 15 to 30 minutes on 2 cores; not in CI.
Run: python bench/mutation.py [--keep DIR] [--children N]. The last line is JSON; survivors
are listed by name (`mutmut show NAME` in the kept folder shows the change).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from importlib.metadata import version
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COPIED = ("gate", "tests/__init__.py", "tests/conftest.py", "tests/gate", "pyproject.toml")
CONFIG = """
[tool.mutmut]
source_paths = ["gate/"]
pytest_add_cli_args_test_selection = ["tests/gate/"]
pytest_add_cli_args = [
    "--deselect=tests/gate/test_purity.py::test_gate_imports_only_the_stdlib_nacl_and_itself",
    "--deselect=tests/gate/test_properties.py::test_at_least_a_third_of_the_records_pass",
]
"""
# Examples per property test and mutant (600 in the suite): the table tests kill most mutants
# first, so the property tests run in full mostly for the survivors.
PROPERTY_EXAMPLES = 200
# mutmut's words for the outcomes, and ours
OUTCOMES = {
    "killed": "killed",
    "survived": "survived",
    "timeout": "timeout",
    "no tests": "no_tests",
    "suspicious": "suspicious",
    "skipped": "skipped",
    "segfault": "crashed",
    "check was interrupted by user": "interrupted",
    "caught by type check": "killed",
}


def copy_project(into: Path) -> None:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "--", *COPIED],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    for name in listed:
        source = ROOT / name
        if source.is_file():
            target = into / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    with (into / "pyproject.toml").open("a", encoding="utf-8") as config:
        config.write(CONFIG)


def mutmut(folder: Path, *args: str) -> str:
    command = [str(Path(sys.executable).with_name("mutmut")), *args]
    env = {**os.environ, "SANSHEN_PROPERTY_EXAMPLES": str(PROPERTY_EXAMPLES)}
    done = subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"mutmut {' '.join(args)} failed:\n{done.stdout[-3000:]}{done.stderr}")
    return done.stdout


def main() -> dict[str, object]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--keep", type=Path, help="run in this folder and keep it")
    parser.add_argument("--children", type=int, default=2)
    options = parser.parse_args()
    folder = options.keep or Path(tempfile.mkdtemp(prefix="sanshen-mutation-"))
    if options.keep:
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
    try:
        copy_project(folder)
        started = time.perf_counter()
        mutmut(folder, "run", "--max-children", str(options.children))
        took = time.perf_counter() - started
        outcomes: dict[str, str] = {}
        for line in mutmut(folder, "results", "--all", "true").splitlines():
            name, sep, status = line.strip().rpartition(": ")
            if sep and name:
                outcomes[name] = OUTCOMES.get(status.strip(), status.strip())
    finally:
        if not options.keep:
            shutil.rmtree(folder, ignore_errors=True)
    counts = Counter(outcomes.values())
    judged = counts["killed"] + counts["timeout"] + counts["survived"]
    return {
        "bench": "mutation",
        "tool": f"mutmut {version('mutmut')}",
        "mutated": "gate/",
        "tests": "tests/gate",
        "total": len(outcomes),
        **{k: counts[k] for k in ("killed", "survived", "timeout", "no_tests", "suspicious")},
        "score": round((counts["killed"] + counts["timeout"]) / judged, 4) if judged else None,
        "seconds": round(took),
        "survivors": sorted(n for n, s in outcomes.items() if s == "survived"),
    }


if __name__ == "__main__":
    print(json.dumps(main(), ensure_ascii=False))
