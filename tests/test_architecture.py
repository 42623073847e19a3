"""The house's rules (docs/architecture.md): the import direction, no circles, small modules.

The contracts live in pyproject.toml ([tool.importlinter]) and are checked by import-linter.
Its `acyclic_siblings` contract sees circles among the siblings of one package; a circle that
runs through packages of two roots (orchestrator ↔ tasks) or through a package and its own
`__init__` is found here, on grimp's module graph (every import, the late ones in functions
too), with Tarjan's strongly connected components."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("gate", "channels", "orchestrator", "tasks")
MAX_LINES = 400


def circles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Every strongly connected component of more than one module (iterative Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(graph.modules):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root))))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append(
                        (child, iter(sorted(graph.find_modules_directly_imported_by(child))))
                    )
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return sorted(found)


def test_circles_finds_a_circle_it_is_shown() -> None:
    """The finder itself: a three-module circle and a package importing its own child."""
    graph = grimp.ImportGraph()
    for module in ("a", "a.x", "a.y", "a.z", "b", "b.c"):
        graph.add_module(module)
    graph.add_import(importer="a.x", imported="a.y")
    graph.add_import(importer="a.y", imported="a.z")
    graph.add_import(importer="a.z", imported="a.x")
    graph.add_import(importer="b", imported="b.c")
    graph.add_import(importer="b.c", imported="b")
    graph.add_import(importer="a.x", imported="b.c")  # one way only: no circle
    assert circles(graph) == [["a.x", "a.y", "a.z"], ["b", "b.c"]]


def test_no_module_imports_itself_back_through_others() -> None:
    graph = grimp.build_graph(*PACKAGES, include_external_packages=False)
    assert circles(graph) == []


def test_adapters_never_import_the_simulators_that_stand_in_for_their_platforms() -> None:
    """Every module of channels outside channels.simulators, new ones included: an adapter that
    took its platform's facts from the simulator would no longer be checked against them."""
    graph = grimp.build_graph("channels", include_external_packages=False)
    simulators = {"channels.simulators"} | graph.find_descendants("channels.simulators")
    breaches = sorted(
        (module, imported)
        for module in graph.modules - simulators
        for imported in graph.find_modules_directly_imported_by(module)
        if imported in simulators
    )
    assert breaches == []


def test_the_import_contracts_hold() -> None:
    """import-linter over pyproject.toml's contracts: its report is the failure message."""
    run = subprocess.run(
        [
            sys.executable,
            "-c",
            "from importlinter.cli import lint_imports_command as c; c()",
            "--no-cache",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    assert "0 broken" in run.stdout, run.stdout[-3000:]


def test_no_module_outside_migrations_is_over_the_limit() -> None:
    """Product code and benches: at most MAX_LINES lines a module (tests keep their own size)."""
    tracked = subprocess.run(
        ["git", "ls-files", "--", *PACKAGES, "bench"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    over = {
        name: lines
        for name in tracked
        if name.endswith(".py") and "/migrations/" not in name
        for lines in [len((ROOT / name).read_text(encoding="utf-8").splitlines())]
        if lines > MAX_LINES
    }
    assert over == {}
