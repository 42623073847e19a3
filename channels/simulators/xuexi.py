"""学习强国 on loopback: the contribution interface of `docs/channels/xuexi.md`.

An adopted manuscript is published at `/lgpage/detail/index.html?id=<id>`, as on the real site,
its images under `/image/`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, ClassVar

from flask import Response, jsonify

from channels.simulators.upward import Refusal, Refused, Submission, UpwardSimulator
from channels.upward import UpwardApi, UpwardLimits
from channels.xuexi import XuexiChannel

CODES: Mapping[Refusal, int] = {
    Refusal.SIGNATURE_INVALID: 40001,
    Refusal.SIGNATURE_EXPIRED: 40002,
    Refusal.APP_UNKNOWN: 40003,
    Refusal.BAD_REQUEST: 40005,
    Refusal.FORBIDDEN: 40006,
    Refusal.NOT_FOUND: 40400,
    Refusal.ALREADY_ADOPTED: 40901,
    Refusal.ALREADY_CLOSED: 40902,
    Refusal.PACKAGE_INVALID: 41001,
    Refusal.CONTENT_REJECTED: 41002,
    Refusal.TITLE_LENGTH: 41003,
    Refusal.SIGN_OFF_MISSING: 41004,
    Refusal.PACKAGE_TOO_LARGE: 41005,
    Refusal.RATE_LIMITED: 42900,
    Refusal.UNAVAILABLE: 50300,
}
# Business errors come as HTTP 200; only these use the HTTP status too.
HTTP_STATUS: Mapping[Refusal, int] = {Refusal.RATE_LIMITED: 429, Refusal.UNAVAILABLE: 503}
AUDIT_STATUS = {"received": 0, "adopted": 1, "not_adopted": 2, "withdrawn": 3}


def _time(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


class XuexiSimulator(UpwardSimulator):
    name: ClassVar[str] = "xuexi"
    display_name: ClassVar[str] = "学习强国"
    api: ClassVar[UpwardApi] = XuexiChannel.api
    limits: ClassVar[UpwardLimits] = XuexiChannel.limits
    app_key: ClassVar[str] = "xxqg-qingpu-sim"
    app_secret: ClassVar[str] = "xxqg-sim-secret-5c1f0e"
    editorial_address: ClassVar[str] = "tougao@xuexi.sim"
    column_code: ClassVar[str] = "qingpu-zwfw"
    page_rule: ClassVar[str] = "/lgpage/detail/index.html"
    image_path: ClassVar[str] = "/image"
    cms_columns: ClassVar[tuple[tuple[str, str], ...]] = (
        ("qingpu-zwfw", "青浦政务服务"),
        ("sh-qxdt", "上海学习平台·区县动态"),
    )

    def platform_settings(self) -> dict[str, Any]:
        return {"column_code": self.column_code}

    def check_fields(self, form: dict[str, str]) -> None:
        if form.get("columnCode") != self.column_code:
            raise Refused(Refusal.FORBIDDEN, f"未获授权向栏目 {form.get('columnCode')} 投稿")

    def new_id(self, sequence: int, now: datetime) -> str:
        return f"MS{now:%Y%m%d}{sequence:06d}"

    def article_url(self, submission: Submission) -> str:
        return self.public_url(f"{self.page_rule}?id={submission.id}")

    def render(self, submission: Submission) -> dict[str, Any]:
        return {
            "manuscriptId": submission.id,
            "requestKey": submission.key,
            "title": submission.title,
            "auditStatus": AUDIT_STATUS[submission.state],
            "receiveTime": _time(submission.received_at),
            "articleUrl": submission.published_url or None,
            "publishTime": _time(submission.published_at),
            "auditOpinion": submission.reason or None,
            "packageSha256": submission.package_sha256,
            "source": submission.via,
        }

    def render_list(self, submissions: list[Submission]) -> dict[str, Any]:
        return {"total": len(submissions), "list": [self.render(s) for s in submissions]}

    def success(self, payload: Any, status: int = 200) -> Response:
        # 学习强国 answers 200 for a new manuscript too; `duplicate` tells them apart.
        return jsonify({"code": 0, "msg": "success", "data": payload})

    def failure(self, refused: Refused) -> Response:
        data = {"problems": refused.problems} if refused.problems else None
        response = jsonify({"code": CODES[refused.refusal], "msg": refused.message, "data": data})
        response.status_code = HTTP_STATUS.get(refused.refusal, 200)
        return response
