"""Images and attachments on disk, addressed by SHA-256 (data_dir/blobs/ab/abcd…)."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from sqlalchemy.orm import Session

from channels.rendering import MIME_BY_KIND, sniff_image
from orchestrator.models import Blob


def sniff_mime(data: bytes) -> str:
    """The image type by its magic bytes (the same check the adapters use);
    application/octet-stream when it is not an image the platforms take."""
    kind = sniff_image(data)
    return MIME_BY_KIND[kind] if kind else "application/octet-stream"


class BlobStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256

    def put(self, session: Session, data: bytes) -> Blob:
        """Store bytes once; the same content is never written twice."""
        sha = hashlib.sha256(data).hexdigest()
        target = self.path(sha)
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=target.parent)
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(tmp, target)
        blob = session.get(Blob, sha)
        if blob is None:
            blob = Blob(sha256=sha, size=len(data), mime=sniff_mime(data))
            session.add(blob)
        return blob

    def actual_sha256(self, sha256: str) -> str | None:
        """The SHA-256 of the bytes stored under `sha256` now; None when the file is missing."""
        digest = hashlib.sha256()
        try:
            with self.path(sha256).open("rb") as handle:
                for chunk in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(chunk)
        except FileNotFoundError:
            return None
        return digest.hexdigest()

    def get(self, sha256: str) -> bytes | None:
        """The bytes, or None when the file is missing or no longer matches its hash."""
        try:
            data = self.path(sha256).read_bytes()
        except FileNotFoundError:
            return None
        return data if hashlib.sha256(data).hexdigest() == sha256 else None
