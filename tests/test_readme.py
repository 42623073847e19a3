"""The README's configuration table names every setting the code reads, and nothing else."""

from __future__ import annotations

import re
from pathlib import Path

from orchestrator.settings import Settings

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def _variable(name: str) -> str:
    field = Settings.model_fields[name]
    alias = field.validation_alias
    return str(alias) if isinstance(alias, str) else f"SANSHEN_{name.upper()}"


def test_every_setting_is_documented() -> None:
    documented = set(re.findall(r"^\| `([A-Z_]+)` \|", README, flags=re.MULTILINE))
    expected = {_variable(name) for name in Settings.model_fields}
    assert documented == expected
