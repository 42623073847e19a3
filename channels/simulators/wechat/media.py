"""微信公众号's images (permanent material, body images) and drafts."""

from __future__ import annotations

import hashlib
import re
import time
from typing import Any

from flask import jsonify, request
from flask.typing import ResponseReturnValue

from channels.simulators.wechat.calls import WeChatCalls
from channels.simulators.wechat.protocol import IMG_SRC, IMG_TAG, SCRIPT, error, new_id, paged


class WeChatMedia(WeChatCalls):
    """material/add_material, media/uploadimg, the images they serve, draft/add and batchget."""

    def _media(self) -> bytes | None:
        upload = request.files.get("media")
        return upload.read() if upload is not None else None

    def _add_material(self) -> ResponseReturnValue:
        if request.args.get("type") not in ("image", "thumb", "voice", "video"):
            return error(40004, "invalid media type")
        data = self._media()
        if data is None:
            return error(41005, "media data missing")
        self.note("material/add_material", type=request.args.get("type"), size=len(data))
        if request.args.get("type") == "thumb":
            if not data.startswith(b"\xff\xd8\xff"):
                return error(40005, "invalid file type")
            if len(data) > 64 * 1024:
                return error(45001, "media size out of limit")
        media_id = new_id()
        url = self._store_image(data)
        with self._lock:
            self._materials[media_id] = data
        return jsonify({"media_id": media_id, "url": url})

    def _uploadimg(self) -> ResponseReturnValue:
        data = self._media()
        if data is None:
            return error(41005, "media data missing")
        self.note("media/uploadimg", size=len(data))
        if not data.startswith((b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n")):
            return error(40005, "invalid file type")
        if len(data) >= 1024 * 1024:
            return error(45001, "media size out of limit")
        return jsonify({"url": self._store_image(data)})

    def _store_image(self, data: bytes) -> str:
        image_id = hashlib.sha256(data).hexdigest()[:32]
        mime = "image/png" if data.startswith(b"\x89PNG") else "image/jpeg"
        with self._lock:
            self._images[image_id] = (mime, data)
        return self.public_url(f"/mmbiz/{image_id}")

    def _image(self, image_id: str) -> ResponseReturnValue:
        with self._lock:
            found = self._images.get(image_id)
        if found is None:
            return "not found", 404
        return self.serve_image(*found)

    # --- drafts ---------------------------------------------------------------------------

    def _draft_add(self) -> ResponseReturnValue:
        articles = (request.get_json(force=True, silent=True) or {}).get("articles")
        if not isinstance(articles, list) or not 1 <= len(articles) <= 8:
            return error(47001, "data format error")
        cleaned = []
        for article in articles:
            problem = self._articleerror(article)
            if problem is not None:
                return problem
            cleaned.append(self._as_stored(article))
        media_id = new_id()
        with self._lock:
            self.drafts[media_id] = {"news_item": cleaned, "update_time": int(time.time())}
        self.note("draft/add", media_id=media_id, titles=[a["title"] for a in cleaned])
        return jsonify({"media_id": media_id})

    def _articleerror(self, article: Any) -> ResponseReturnValue | None:
        if not isinstance(article, dict):
            return error(47001, "data format error")
        content = str(article.get("content", ""))
        with self._lock:
            thumb_known = article.get("thumb_media_id") in self._materials
        checks = [
            (not thumb_known, 40007, "invalid media_id"),
            (not 1 <= len(str(article.get("title", ""))) <= 32, 45003, "title size out of limit"),
            (len(str(article.get("author", ""))) > 16, 45110, "author size out of limit"),
            (len(str(article.get("digest", ""))) > 128, 45004, "description size out of limit"),
            (not content.strip(), 44004, "empty content"),
            (len(content) >= 20000, 45002, "content size out of limit"),
            (len(content.encode()) >= 1024 * 1024, 45002, "content size out of limit"),
            (len(str(article.get("content_source_url", "")).encode()) > 1024, 45005, "url size"),
        ]
        for failed, code, message in checks:
            if failed:
                return error(code, message)
        return None

    def _as_stored(self, article: dict[str, Any]) -> dict[str, Any]:
        """What the platform keeps: scripts removed, images not uploaded here removed."""
        content = SCRIPT.sub("", str(article["content"]))

        def keep_uploaded(tag: re.Match[str]) -> str:
            src = IMG_SRC.search(tag.group(0))
            with self._lock:
                known = src is not None and src.group(1).rsplit("/", 1)[-1] in self._images
            return tag.group(0) if known else ""

        content = IMG_TAG.sub(keep_uploaded, content)
        keys = ("title", "author", "digest", "content_source_url", "thumb_media_id")
        stored = {k: str(article.get(k, "")) for k in keys}
        return stored | {
            "content": content,
            "need_open_comment": int(article.get("need_open_comment", 0)),
            "only_fans_can_comment": int(article.get("only_fans_can_comment", 0)),
        }

    def _draft_batchget(self) -> ResponseReturnValue:
        with self._lock:
            entries = [
                {
                    "media_id": media_id,
                    "content": {"news_item": [dict(n) for n in draft["news_item"]]},
                    "update_time": draft["update_time"],
                }
                for media_id, draft in reversed(self.drafts.items())
            ]
        return paged(entries)
