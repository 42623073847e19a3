"""Every `sanshen <command> --option` the README names exists in the command line app."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer

from orchestrator.cli import app

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
MENTION = re.compile(r"\bsanshen((?:[ \t]+(?!sanshen\b)[a-z][a-z-]*)*)")
OPTION = re.compile(r"(?<![\w-])--[a-z][a-z-]*")


def code() -> Iterator[list[str]]:
    """The README's code: each line of a fenced block, and each paragraph's inline spans."""
    blocks = re.split(r"^```.*$", README, flags=re.MULTILINE)
    for number, block in enumerate(blocks):
        if number % 2:  # inside a fence
            yield from ([line.split("#", 1)[0]] for line in block.splitlines())
        else:
            for paragraph in re.split(r"\n\s*\n", block):
                yield re.findall(r"`([^`]+)`", paragraph.replace("\n", " "))


def mentions() -> Iterator[tuple[str, str]]:
    """(command words, option): options written after a `sanshen …` in the same span, and
    spans of options alone ("Options: `--host`, `--port`") for the paragraph's last command."""
    for spans in code():
        current: str | None = None
        for span in spans:
            found = list(MENTION.finditer(span))
            if not found:
                if current is not None and span.startswith("--"):
                    yield from ((current, o) for o in OPTION.findall(span))
                elif re.match(r"[a-z]", span):  # another command (`worker`, `docker …`)
                    current = None
                continue
            ends = [m.start() for m in found[1:]] + [len(span)]
            for here, end in zip(found, ends, strict=True):
                current = here.group(1).strip()
                yield from ((current, o) for o in OPTION.findall(span[here.end() : end]))


def resolve(words: str) -> Any:
    """The Typer command the words name: as deep as they go, the rest are its arguments."""
    command: Any = typer.main.get_command(app)
    for word in words.split():
        if word not in getattr(command, "commands", {}):
            break
        command = command.commands[word]
    return command


def options_of(command: Any) -> set[str]:
    return {o for p in command.params for o in [*p.opts, *p.secondary_opts]} | {"--help"}


MENTIONS = sorted(set(mentions()))


def test_the_readme_names_options() -> None:
    assert ("up", "--data-dir") in MENTIONS and ("up", "--demo") in MENTIONS


@pytest.mark.parametrize(("words", "option"), MENTIONS)
def test_every_option_the_readme_names_exists(words: str, option: str) -> None:
    command = resolve(words)
    assert option in options_of(command), f"README: sanshen {words} {option}"
