"""gate/ stays pure: the standard library (no I/O modules), PyNaCl, and itself."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import gate

GATE = Path(gate.__file__).parent
ALLOWED_THIRD_PARTY = {"nacl"}
IO_MODULES = {"os", "io", "socket", "subprocess", "shutil", "sqlite3", "http", "urllib.request"}


def imported_modules(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
    return found


def test_gate_imports_only_the_stdlib_nacl_and_itself() -> None:
    modules = {m for path in GATE.rglob("*.py") for m in imported_modules(path)}
    assert modules, "no imports found: the scan is broken"
    roots = {m.split(".")[0] for m in modules}
    outside = roots - set(sys.stdlib_module_names) - ALLOWED_THIRD_PARTY - {"gate"}
    assert outside == set()
    assert not {m for m in modules if m in IO_MODULES or m.split(".")[0] in IO_MODULES}
