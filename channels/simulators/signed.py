"""What the office's own platforms (政府网站, 随申办旗舰店) share on loopback: signed HTTP.

Both check every API call against the fault knobs first, then against the HMAC signature of
`channels.signing`; both receive attachments as a multipart `file` (the same bytes twice are
stored once) and serve them at `/files/<id>.<ext>`; both file each article under the client's
idempotency key, so a resend finds what the first request made. `SignedApiSimulator` does all
that; a platform's module keeps only its differences: the routes of its API, its answer
envelope and codes, its records and their checks.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from abc import abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar, Generic, Protocol, TypeVar

from flask import Blueprint, Flask, Response, request
from flask.typing import ResponseReturnValue
from pydantic import SecretStr

from channels.signing import SignatureFailure, SignatureRejected, SignatureVerifier
from channels.simulators.base import Simulator
from channels.simulators.faults import FaultConfig, FaultKind, cut_connection

IMG_SRC = re.compile(r"<img\b[^>]*?\bsrc=\"([^\"]*)\"", re.IGNORECASE)
IMAGE_TYPES = {"image/jpeg": ".jpg", "image/png": ".png", "image/gif": ".gif"}


def now_iso() -> str:
    return datetime.now(UTC).isoformat()


def problem(field_name: str, code: str, message: str) -> dict[str, str]:
    """One field problem, as both platforms list them in a refusal."""
    return {"field": field_name, "code": code, "message": message}


def sensitive_word() -> dict[str, str]:
    """The problem a simulated content check (the `content_rejected` fault) reports."""
    return problem("content", "sensitive_word", "含有敏感词（模拟）")


def take_down_reason() -> str | None:
    """The request's reason for withdrawing an article (1 to 200 characters), else None."""
    body = request.get_json(silent=True)
    reason = body.get("reason") if isinstance(body, dict) else None
    if not isinstance(reason, str) or not 1 <= len(reason.strip()) <= 200:
        return None
    return reason


@dataclass
class StoredFile:
    id: str
    sha256: str
    filename: str
    mime: str
    data: bytes = field(repr=False)
    url: str

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "url": self.url,
            "mime": self.mime,
            "size": len(self.data),
            "sha256": self.sha256,
        }


class Record(Protocol):
    """An article as the platform holds it."""

    @property
    def id(self) -> str: ...

    def as_json(self) -> dict[str, Any]: ...


R = TypeVar("R", bound=Record)


class SignedApiSimulator(Simulator, Generic[R]):
    """A platform with a signed API, uploaded files and articles filed by idempotency key."""

    signature_codes: ClassVar[Mapping[SignatureFailure, tuple[str, str]]]  # (code, message)
    api_blueprint: ClassVar[str]  # the Flask blueprint of the API, e.g. "gov_api"
    api_prefix: ClassVar[str]  # e.g. "/api/v1"
    page_rule: ClassVar[str]  # the Flask rule of an article's public page
    file_id_prefix: ClassVar[str]  # how the platform's file ids start
    id_field: ClassVar[str]  # what the operator log calls an article's id

    def __init__(self, faults: FaultConfig | None, *, app_key: str, app_secret: str) -> None:
        super().__init__(faults)
        self.app_key = app_key
        self._app_secret = SecretStr(app_secret)
        self._verifier = SignatureVerifier({app_key: self._app_secret})
        self._files: dict[str, StoredFile] = {}
        self._records: dict[str, R] = {}
        self._by_key: dict[str, str] = {}  # idempotency key -> record id

    def signed_settings(self, base_url: str, **column: str) -> dict[str, Any]:
        """Client settings: where, the app's credentials, the platform's column."""
        return {
            "base_url": base_url,
            "app_key": self.app_key,
            "app_secret": self._app_secret.get_secret_value(),
            **column,
            "read_timeout": 5.0,
        }

    def reset(self) -> None:
        with self._lock:
            super().reset()
            self._files.clear()
            self._records.clear()
            self._by_key.clear()

    def record_by_key(self, key: str) -> dict[str, Any] | None:
        """What the platform holds for an idempotency key, as its API shows it."""
        with self._lock:
            record_id = self._by_key.get(key)
            return self._records[record_id].as_json() if record_id else None

    def _file_record(self, key: str, record: R) -> None:
        """Keep `record` under `key` (under the lock)."""
        self._records[record.id] = record
        self._by_key[key] = record.id

    # --- the platform's own answers ----------------------------------------------------------

    @abstractmethod
    def api_routes(self, api: Blueprint) -> None:
        """Register the API's endpoints (the signature is checked before each)."""

    @abstractmethod
    def fault_answer(self, fault: FaultKind) -> Response:
        """The platform's answer to a drawn fault (`Retry-After` is added for a rate limit)."""

    @abstractmethod
    def signature_refusal(self, code: str, message: str) -> Response:
        """The platform's answer to a request whose signature does not hold."""

    # --- routes and the checks before each API call ------------------------------------------

    def routes(self, app: Flask) -> None:
        api = Blueprint(self.api_blueprint, __name__, url_prefix=self.api_prefix)
        api.before_request(self._guard)
        self.api_routes(api)
        app.register_blueprint(api)
        app.get("/files/<name>")(self._file)
        app.get(self.page_rule, endpoint="page")(self.serve_page)

    def _guard(self) -> ResponseReturnValue | None:
        """Faults first, then the signature; `None` lets the endpoint run."""
        fault = self.inject()
        if fault is FaultKind.RESET:
            return Response(status=204)  # the client's connection is already gone
        if fault is not None:
            answer = self.fault_answer(fault)
            if fault is FaultKind.RATE_LIMIT:
                answer.headers["Retry-After"] = str(self.faults.config.retry_after_s)
            return answer
        try:
            self._verifier.verify_wsgi(request.environ, request.get_data(cache=True))
        except SignatureRejected as exc:
            code, message = self.signature_codes[exc.failure]
            self.note("signature_refused", code=code)
            return self.signature_refusal(code, message)
        return None

    def _dropped_reply(self, record_id: str) -> Response | None:
        """After acting on a request: cut the connection instead of answering, if the
        `drop_reply_rate` knob says so."""
        if not self.faults.drop_reply():
            return None
        self.note("reply_dropped", **{self.id_field: record_id})
        cut_connection()
        return Response(status=204)

    # --- files -------------------------------------------------------------------------------

    def _receive_file(
        self, filename: str, mime: str, data: bytes, ext: str
    ) -> tuple[StoredFile, bool]:
        """The stored file for these bytes, and whether it was there before."""
        sha = hashlib.sha256(data).hexdigest()
        with self._lock:
            known = next((f for f in self._files.values() if f.sha256 == sha), None)
            if known is not None:
                return known, True
            file_id = f"{self.file_id_prefix}{uuid.uuid4().hex[:16]}"
            url = self.public_url(f"/files/{file_id}{ext}")
            stored = self._files[file_id] = StoredFile(file_id, sha, filename, mime, data, url)
            return stored, False

    def _file(self, name: str) -> ResponseReturnValue:
        with self._lock:
            stored = self._files.get(name.split(".", 1)[0])
        if stored is None:
            return Response("未找到", status=404)
        return self.serve_image(stored.mime, stored.data)

    def content_problems(self, content: Any) -> list[dict[str, str]]:
        """An empty body, or images in it that were not uploaded here."""
        if not isinstance(content, str) or not content.strip():
            return [problem("content", "content_empty", "正文不能为空")]
        urls = {f.url for f in self._files.values()}
        return [
            problem("content", "image_unknown", f"图片未上传：{src}")
            for src in IMG_SRC.findall(content)
            if src not in urls
        ]

    # --- the back-end (assisted mode) --------------------------------------------------------

    def cms_store_image(self, filename: str, mime: str, data: bytes) -> str:
        return self._receive_file(filename, mime, data, IMAGE_TYPES[mime])[0].url

    def cms_take_down(self, article_id: str) -> bool:
        with self._lock:
            record = self._records.get(article_id)
            if record is None:
                return False
            self.take_down_in_cms(record)
        self.note("cms_take_down", **{self.id_field: article_id})
        return True

    @abstractmethod
    def take_down_in_cms(self, record: R) -> None:
        """What 删除 in the back-end does to an article (under the lock)."""
