"""Stored files as downloads: the type they are, never sniffed, never shown as a page.

A Chinese file name rides in filename* (RFC 6266 with RFC 5987 encoding); plain `filename`
carries an ASCII stand-in for clients that do not read filename*.
"""

from __future__ import annotations

from urllib.parse import quote

from fastapi.responses import Response


def content_disposition(name: str) -> str:
    fallback = "".join(c if 0x20 <= ord(c) < 0x7F and c not in '"\\' else "_" for c in name)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


def attachment(data: bytes, name: str, mime: str, *, private: bool = False) -> Response:
    headers = {
        "Content-Disposition": content_disposition(name),
        "X-Content-Type-Options": "nosniff",
    }
    if private:
        headers["Cache-Control"] = "private"
    return Response(data, media_type=mime, headers=headers)
