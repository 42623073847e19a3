"""The HTTP side of an upward platform: faults and the signature before each call, submit,
look up, find by key, withdraw, and the editors' admin endpoints:

    POST /_sim/adopt/<id>    adopt (采用) now; optional JSON {"url": ...}
    POST /_sim/reject/<id>   not adopted (未采用); JSON {"reason": ...}
    GET  /_sim/submissions   everything filed, in the platform's own format
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, Flask, Response, jsonify, request
from flask.typing import ResponseReturnValue
from pydantic import SecretStr

from channels.signing import SignatureRejected, SignatureVerifier
from channels.simulators.faults import FaultConfig, FaultKind, cut_connection
from channels.simulators.upward.desk import UpwardDesk
from channels.simulators.upward.records import SIGNATURE_REFUSALS, Refusal, Refused


class UpwardHttp(UpwardDesk):
    """The platform's API over the desk."""

    def __init__(self, faults: FaultConfig | None = None) -> None:
        super().__init__(faults)
        self._verifier = SignatureVerifier({self.app_key: SecretStr(self.app_secret)})

    def _verify_signature(self) -> None:
        target = request.environ.get("RAW_URI") or request.script_root + request.full_path
        target = target.rstrip("?")
        try:
            self._verifier.verify(
                request.method, target, dict(request.headers), request.get_data(cache=True)
            )
        except SignatureRejected as exc:
            refusal = SIGNATURE_REFUSALS.get(exc.failure, Refusal.SIGNATURE_INVALID)
            raise Refused(refusal, f"签名校验失败：{exc.failure.value}") from exc

    def _fault(self, *, submitting: bool) -> Refused | None:
        """The fault this request gets, if any, as the platform's refusal."""
        kind = self.inject()
        if kind is FaultKind.SERVER_ERROR or kind is FaultKind.RESET:
            return Refused(Refusal.UNAVAILABLE, "系统繁忙，请稍后再试")
        if kind is FaultKind.RATE_LIMIT:
            return Refused(Refusal.RATE_LIMITED, "调用过于频繁，请稍后再试")
        if kind is FaultKind.TOKEN_EXPIRED:
            return Refused(Refusal.SIGNATURE_EXPIRED, "签名已过期")
        if kind is FaultKind.CONTENT_REJECTED and submitting:
            problem = {"code": "sensitive_content", "message": "稿件含有需人工复核的表述"}
            return Refused(Refusal.CONTENT_REJECTED, "稿件内容未通过平台预审", [problem])
        return None

    def _answer(self, handler: Callable[[], Response], *, submitting: bool = False) -> Response:
        fault = self._fault(submitting=submitting)
        if fault is not None:
            return self._failure(fault)
        try:
            self._verify_signature()
            return handler()
        except Refused as refused:
            if refused.refusal not in (Refusal.NOT_FOUND,):
                self.note("refused", refusal=refused.refusal.value, message=refused.message)
            return self._failure(refused)

    def _failure(self, refused: Refused) -> Response:
        response = self.failure(refused)
        if refused.refusal is Refusal.RATE_LIMITED:
            response.headers["Retry-After"] = str(self.faults.config.retry_after_s)
        return response

    def _submit(self) -> Response:
        key = request.headers.get(self.api.key_header, "").strip()
        upload = request.files.get(self.api.package_field)
        if not key or upload is None:
            message = f"缺少 {self.api.key_header} 请求头或 {self.api.package_field} 文件"
            raise Refused(Refusal.BAD_REQUEST, message)
        self.check_fields(request.form.to_dict())
        package = self.verify_package(upload.read(), key)
        submission, created = self.file(key, package, via="api")
        payload = self.render(submission) | {"duplicate": not created}
        if self.faults.drop_reply():
            cut_connection()
        return self.success(payload, 201 if created else 200)

    def routes(self, app: Flask) -> None:
        api = self.api

        @app.post(api.submit, endpoint="submit")
        def submit() -> ResponseReturnValue:
            return self._answer(self._submit, submitting=True)

        @app.get(api.one.replace("{id}", "<submission_id>"), endpoint="one")
        def one(submission_id: str) -> ResponseReturnValue:
            return self._answer(lambda: self.success(self.render(self.submission(submission_id))))

        @app.get(api.find, endpoint="find")
        def find() -> ResponseReturnValue:
            key = request.args.get(api.find_param, "")
            return self._answer(lambda: self.success(self.render_list(self.by_key(key))))

        @app.post(api.withdraw.replace("{id}", "<submission_id>"), endpoint="withdraw")
        def withdraw(submission_id: str) -> ResponseReturnValue:
            def handler() -> Response:
                reason = str((request.get_json(silent=True) or {}).get("reason", ""))
                return self.success(self.render(self.withdraw(submission_id, reason)))

            return self._answer(handler)

        app.get(self.page_rule, endpoint="page")(self.serve_page)
        app.get(f"{self.image_path}/<name>", endpoint="image")(self._image)
        app.register_blueprint(self._editor_admin())

    def _editor_admin(self) -> Blueprint:
        admin = Blueprint("upward_admin", __name__, url_prefix="/_sim")

        def decided(submission_id: str, *, adopt: bool) -> ResponseReturnValue:
            body = request.get_json(silent=True) or {}
            try:
                submission = self.decide(
                    submission_id,
                    adopt=adopt,
                    url=str(body.get("url", "")),
                    reason=str(body.get("reason", "")),
                )
            except Refused as refused:
                status = 404 if refused.refusal is Refusal.NOT_FOUND else 409
                return jsonify({"error": refused.refusal.value, "message": refused.message}), status
            return jsonify(self.render(submission))

        @admin.post("/adopt/<submission_id>")
        def adopt(submission_id: str) -> ResponseReturnValue:
            return decided(submission_id, adopt=True)

        @admin.post("/reject/<submission_id>")
        def reject(submission_id: str) -> ResponseReturnValue:
            return decided(submission_id, adopt=False)

        @admin.get("/submissions")
        def submissions() -> ResponseReturnValue:
            return jsonify([self.render(s) for s in self.all_submissions()])

        return admin
