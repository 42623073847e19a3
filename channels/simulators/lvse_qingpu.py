"""绿色青浦 on loopback: the interface of `docs/channels/lvse_qingpu.md` and, after
`start_smtp()`, the editorial mailbox. An adopted manuscript is published at
`/news/<id>.html`, its images under `/uploads/`."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, ClassVar

from flask import Response, jsonify

from channels.lvse_qingpu import LvseQingpuChannel
from channels.simulators.upward import Refusal, Refused, Submission, UpwardSimulator
from channels.upward import UpwardApi, UpwardLimits

# Refusal -> (the platform's code, HTTP status)
CODES: Mapping[Refusal, tuple[str, int]] = {
    Refusal.BAD_REQUEST: ("BAD_REQUEST", 400),
    Refusal.SIGNATURE_INVALID: ("BAD_SIGNATURE", 401),
    Refusal.SIGNATURE_EXPIRED: ("SIGNATURE_EXPIRED", 401),
    Refusal.APP_UNKNOWN: ("UNKNOWN_APP", 401),
    Refusal.FORBIDDEN: ("FORBIDDEN", 403),
    Refusal.NOT_FOUND: ("NOT_FOUND", 404),
    Refusal.ALREADY_ADOPTED: ("ALREADY_ADOPTED", 409),
    Refusal.ALREADY_CLOSED: ("ALREADY_CLOSED", 409),
    Refusal.PACKAGE_TOO_LARGE: ("PAYLOAD_TOO_LARGE", 413),
    Refusal.PACKAGE_INVALID: ("PACKAGE_INVALID", 422),
    Refusal.SIGN_OFF_MISSING: ("SIGN_OFF_MISSING", 422),
    Refusal.TITLE_LENGTH: ("CONTENT_REJECTED", 422),
    Refusal.CONTENT_REJECTED: ("CONTENT_REJECTED", 422),
    Refusal.RATE_LIMITED: ("RATE_LIMITED", 429),
    Refusal.UNAVAILABLE: ("SERVICE_UNAVAILABLE", 503),
}


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


class LvseQingpuSimulator(UpwardSimulator):
    name: ClassVar[str] = "lvse_qingpu"
    display_name: ClassVar[str] = "绿色青浦"
    api: ClassVar[UpwardApi] = LvseQingpuChannel.api
    limits: ClassVar[UpwardLimits] = LvseQingpuChannel.limits
    app_key: ClassVar[str] = "lvqp-qingpu-sim"
    app_secret: ClassVar[str] = "lvqp-sim-secret-93b2aa"
    editorial_address: ClassVar[str] = "tougao@lvseqingpu.sim"
    page_rule: ClassVar[str] = "/news/<submission_id>.html"
    image_path: ClassVar[str] = "/uploads"
    cms_columns: ClassVar[tuple[tuple[str, str], ...]] = (
        ("qpyw", "青浦要闻"),
        ("qydt", "区域动态"),
        ("msfw", "民生服务"),
    )

    def platform_settings(self) -> dict[str, Any]:
        return {"delivery": "http", **self.mail_settings()}

    def new_id(self, sequence: int, now: datetime) -> str:
        return f"LQ-{now:%Y}-{sequence:06d}"

    def article_url(self, submission: Submission) -> str:
        return self.public_url(f"/news/{submission.id}.html")

    def render(self, submission: Submission) -> dict[str, Any]:
        return {
            "id": submission.id,
            "idempotency_key": submission.key,
            "title": submission.title,
            "state": submission.state,
            "via": submission.via,
            "received_at": _time(submission.received_at),
            "published_url": submission.published_url or None,
            "published_at": _time(submission.published_at),
            "reason": submission.reason or None,
            "sha256": submission.package_sha256,
        }

    def render_list(self, submissions: list[Submission]) -> dict[str, Any]:
        return {"items": [self.render(s) for s in submissions]}

    def success(self, payload: Any, status: int = 200) -> Response:
        response = jsonify({"success": True, "data": payload})
        response.status_code = status
        return response

    def failure(self, refused: Refused) -> Response:
        code, status = CODES[refused.refusal]
        error = {"code": code, "message": refused.message, "problems": refused.problems}
        response = jsonify({"success": False, "error": error})
        response.status_code = status
        return response
