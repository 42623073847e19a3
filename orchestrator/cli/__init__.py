"""`sanshen`: the command line. Chinese for people; `--json` on every command for scripts."""

from orchestrator.cli import backup as backup  # registers `sanshen backup`
from orchestrator.cli import channels as channels  # registers `sanshen channel`
from orchestrator.cli import content, people, publications, reviewing, system
from orchestrator.cli import reports as reports  # registers `sanshen form/archive/accountability`
from orchestrator.cli import stats as stats  # registers `sanshen stats` and `sanshen bulletin`
from orchestrator.cli import tokens as tokens  # registers `sanshen token`
from orchestrator.cli import up as up  # registers `sanshen up`
from orchestrator.cli import upward as upward  # registers `sanshen upward`
from orchestrator.cli import verifying as verifying  # registers `sanshen verify`
from orchestrator.cli.base import app

__all__ = ["app", "content", "people", "publications", "reviewing", "system"]
