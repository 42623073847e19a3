"""The editor's <img> tags: an image it inserted is stored by hash and named in the body by
`/work/uploads/<sha256>` (or, on the revise form, by the submission's own image route);
`editor_images` turns each such <img> into an ImageFile of the draft and its src into the
file's name, so the submission service stores it like a file chosen under 正文图片."""

from __future__ import annotations

import hashlib
import re
from html import escape, unescape
from pathlib import PurePosixPath

from channels.rendering import sniff_image
from orchestrator.app import App
from orchestrator.services import submissions

EDITOR_SRC = re.compile(r"/(?:work/uploads|submissions/[0-9]{1,10}/images)/([0-9a-f]{64})")
IMG_TAG = re.compile(r"<img\b[^>]*>", re.IGNORECASE)
TAG_ATTRIBUTE = re.compile(r"""\s([^\s"'<>/=]+)(?:\s*=\s*("[^"]*"|'[^']*'|[^\s"'=<>`]+))?""")
UNSAFE_IN_NAME = re.compile(r"""[\x00-\x1f\x7f"'<>&\\/:*?|]""")
SUFFIXES = {"jpeg": (".jpg", ".jpeg"), "png": (".png",), "gif": (".gif",)}


def image_name(wanted: str, sha: str, data: bytes) -> str:
    """A file name safe to stand in an src: the one given, without a path or characters HTML
    would escape, with an extension of what the bytes are; 图片-<sha[:12]> when none is left."""
    suffixes = SUFFIXES.get(sniff_image(data) or "", ())
    name = PurePosixPath(UNSAFE_IN_NAME.sub("", PurePosixPath(wanted.replace("\\", "/")).name))
    stem = name.stem.strip()[:100]
    if not stem or stem.startswith("."):
        stem = f"图片-{sha[:12]}"
    suffix = name.suffix.lower()
    if suffixes and suffix not in suffixes:
        suffix = suffixes[0]
    return stem + suffix


def tag_attributes(tag: str) -> list[tuple[str, str, str]]:
    """(name, value, as written) of each attribute of one tag."""
    found = []
    for match in TAG_ATTRIBUTE.finditer(tag[4:-1]):
        raw = match.group(2) or ""
        value = raw[1:-1] if raw[:1] in "\"'" else raw
        found.append((match.group(1).lower(), unescape(value), match.group(0)))
    return found


def editor_images(
    body: str, present: list[submissions.ImageFile], app: App
) -> tuple[str, list[submissions.ImageFile], list[str]]:
    """The body with each editor image (`/work/uploads/<sha>`, `/submissions/<id>/images/<sha>`)
    named by a file name instead; the image files to add for them (one per content, none for
    one already in `present` under the same name); what is missing from the store."""
    taken = {f.filename: hashlib.sha256(f.data).hexdigest() for f in present}
    added: list[submissions.ImageFile] = []
    missing: list[str] = []

    def rename(match: re.Match[str]) -> str:
        attributes = tag_attributes(match.group(0))
        src = next((value for name, value, _ in attributes if name == "src"), "")
        found = EDITOR_SRC.fullmatch(src)
        if found is None:
            return match.group(0)
        sha = found.group(1)
        data = app.blobs.get(sha)
        if data is None:
            missing.append(f"正文中的图片（{sha[:12]}）在存储中找不到，请重新插入")
            return match.group(0)
        wanted = next((v for n, v, _ in attributes if n == "data-filename"), "")
        name = image_name(wanted, sha, data)
        if taken.get(name, sha) != sha:
            name = image_name(f"{PurePosixPath(name).stem}-{sha[:8]}", sha, data)
        if name not in taken:
            taken[name] = sha
            added.append(submissions.ImageFile(name, data))
        kept = [
            f' src="{escape(name)}"' if n == "src" else written
            for n, _, written in attributes
            if n != "data-filename"
        ]
        return "<img" + "".join(kept) + ">"

    return IMG_TAG.sub(rename, body), added, missing
