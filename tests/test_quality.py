"""Static checks as tests, so CI runs them: ruff everywhere, mypy --strict on gate/ and channels/."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_ruff_is_clean() -> None:
    result = _run("ruff", "check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_strict_on_gate_and_channels() -> None:
    result = _run("mypy", "gate", "channels")
    assert result.returncode == 0, result.stdout + result.stderr


def test_gate_imports_no_io_library() -> None:
    code = (
        "import sys, gate, gate.aids, gate.evaluate;"
        "bad = [m for m in ('sqlalchemy', 'celery', 'requests', 'wechatpy', 'redis', 'orchestrator',"
        " 'channels', 'tasks') if m in sys.modules];"
        "print(','.join(bad)); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, f"gate imported: {result.stdout}{result.stderr}"
