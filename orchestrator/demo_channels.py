"""Where `sanshen up --demo`'s simulated platforms answer, told to the commands run by hand on
the same data folder (a file beside the folder's lock). The channel hub reads it."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path


def lock_holder(text: str) -> tuple[str, str]:
    """(pid, command) from a lock file's text; a file from before commands were noted names
    only the pid, of an `up`."""
    words = text.split()
    return (words[0] if words else "?", words[1] if len(words) > 1 else "up")


DEMO_CHANNELS = "demo-channels.json"


def publish_demo_channels(folder: Path, env: Mapping[str, str]) -> None:
    """Tell the commands run by hand on this data folder where `sanshen up --demo`'s simulated
    platforms answer: they live only in the `up` process, which hands them to its children."""
    path = folder / DEMO_CHANNELS
    partial = path.with_suffix(".tmp")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # test secrets in it
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump({"pid": os.getpid(), "env": dict(env)}, out)
    os.replace(partial, path)


def withdraw_demo_channels(folder: Path) -> None:
    (folder / DEMO_CHANNELS).unlink(missing_ok=True)


def demo_channels(folder: Path) -> dict[str, str]:
    """The simulated platforms' settings of the `sanshen up --demo` running on `folder`; empty
    when none runs. A file left by a killed `up` is ignored: its writer must still hold the
    folder's lock (`FolderLock` names the holder's pid) and be alive."""
    from orchestrator.redis_embedded import pid_alive

    try:
        published = json.loads((folder / DEMO_CHANNELS).read_text(encoding="utf-8"))
        holder = int(lock_holder((folder / "sanshen-up.lock").read_text())[0])
        pid, env = int(published["pid"]), dict(published["env"])
    except (OSError, ValueError, TypeError, KeyError):
        return {}
    if pid != holder or not pid_alive(pid):
        return {}
    return {str(key): str(value) for key, value in env.items()}
