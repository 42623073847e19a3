"""发布核验: prove that a live page carries exactly the signed version.

`check(url, signed, allowed_hosts=...)` fetches the page (only from allowed hosts, bounded in
time and size, redirects followed by hand), decodes it as a browser would, and compares it with
the signed title, text and images. It returns an `Outcome` — a `Verdict`, a stable code (the
list is in `outcome.py`), a Chinese reason, the page's SHA-256 and gzip snapshot, the text
similarity and diff, and the image report — and never raises for anything the page or the
network does.

Modules: fetch (the bounded HTTP client and the allow-list), decode (the encoding), text
(normalising and reading trees), chrome (page furniture), compare (the text comparison and the
diff), images (perceptual hashes), check (the whole), outcome and model (the data).
"""

from orchestrator.verify.check import check
from orchestrator.verify.fetch import host_allowed, new_session
from orchestrator.verify.model import Limits, Signed
from orchestrator.verify.outcome import (
    Code,
    ImageReport,
    Outcome,
    UnfetchableImage,
    Verdict,
)
from orchestrator.verify.text import normalise, signed_text

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
