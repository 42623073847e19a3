"""发布核验: prove that a live page carries exactly the signed version.

`check(url, signed, allowed_hosts=...)` fetches the page (only from allowed hosts, bounded in
time and size, redirects followed by hand), decodes it as a browser would, and compares it with
the signed title, text and images. It returns an `Outcome` — a `Verdict`, a stable code (the
list is in `outcome.py`), a Chinese reason, the page's SHA-256 and gzip snapshot, the text
similarity and diff, and the image report — and never raises for anything the page or the
network does.

Modules: fetch (the bounded HTTP client: hosts, the allow-list; watch, the deadline; sessions,
the watched adapters; request, what is asked and how it fails), decode (the encoding), text
(normalising and reading trees), chrome (page furniture), compare (the text comparison and the
diff), images (perceptual hashes), check (the whole), outcome and model (the data).

The names below are loaded when first used: the comparison's libraries (trafilatura, NumPy,
imagehash, rapidfuzz) take a third of a second to import, which every `sanshen` command would
otherwise pay for a verdict's name.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from orchestrator.verify.check import check
    from orchestrator.verify.hosts import host_allowed
    from orchestrator.verify.model import Limits, Signed
    from orchestrator.verify.outcome import (
        Code,
        ImageReport,
        Outcome,
        UnfetchableImage,
        Verdict,
    )
    from orchestrator.verify.sessions import new_session
    from orchestrator.verify.text import normalise, signed_text

_HOME = {
    "check": "check",
    "host_allowed": "hosts",
    "new_session": "sessions",
    "Limits": "model",
    "Signed": "model",
    "Code": "outcome",
    "ImageReport": "outcome",
    "Outcome": "outcome",
    "UnfetchableImage": "outcome",
    "Verdict": "outcome",
    "normalise": "text",
    "signed_text": "text",
}
__all__ = [
    "Code",
    "ImageReport",
    "Limits",
    "Outcome",
    "Signed",
    "UnfetchableImage",
    "Verdict",
    "check",
    "host_allowed",
    "new_session",
    "normalise",
    "signed_text",
]


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module 'orchestrator.verify' has no attribute {name!r}")
    value = getattr(import_module(f"orchestrator.verify.{home}"), name)
    globals()[name] = value
    return value
