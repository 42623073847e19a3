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


def test_the_install_commands_work_as_root_and_as_a_user() -> None:
    """A root shell (a container) has no sudo: apt-get goes through $SUDO, empty for root."""
    import os
    import subprocess

    commands = re.findall(r"^```bash\n(.*?)^```", README, flags=re.MULTILINE | re.DOTALL)
    apt_lines = [line for c in commands for line in c.splitlines() if "apt-get" in line]
    assert apt_lines and all("$SUDO apt-get" in line for line in apt_lines), apt_lines
    assert not any(re.search(r"(^|[\s&|;(])sudo apt-get", line) for line in apt_lines)
    prefix = re.search(r"^SUDO=(\$\(.*?\)) ", "\n".join(commands), flags=re.MULTILINE)
    assert prefix, "README: the SUDO prefix is defined before apt-get"
    shell = subprocess.run(
        ["sh", "-c", f"printf %s {prefix.group(1)}"], capture_output=True, text=True, check=True
    )
    assert shell.stdout == ("" if os.geteuid() == 0 else "sudo")
