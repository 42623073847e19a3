"""The admin endpoints every simulator serves under `/_sim`, for tests, benches and operators.

GET  /_sim/faults   current knobs            PUT /_sim/faults   change some knobs (JSON)
GET  /_sim/ledger   publish counts, dups     POST /_sim/reset   forget everything
GET  /_sim/received the last requests (operator view)
GET  /_sim/pages    the live pages           PUT /_sim/pages    {"url": ..., knob: value}
"""

from __future__ import annotations

from collections import deque
from typing import Any, Protocol

from flask import Blueprint, jsonify, request
from flask.typing import ResponseReturnValue
from pydantic import ValidationError

from channels.simulators.faults import Faults
from channels.simulators.ledger import Ledger
from channels.simulators.live.knobs import KnobInvalid
from channels.simulators.live.registry import PageUnknown


class Administered(Protocol):
    """What the admin endpoints reach of a simulator."""

    faults: Faults
    ledger: Ledger
    received: deque[dict[str, Any]]

    def reset(self) -> None: ...

    def live_pages(self) -> list[dict[str, Any]]: ...

    def alter_page(self, url: str, **knobs: Any) -> dict[str, Any]: ...


def admin_blueprint(sim: Administered) -> Blueprint:
    admin = Blueprint("sim_admin", __name__, url_prefix="/_sim")

    @admin.get("/faults")
    def get_faults() -> ResponseReturnValue:
        return jsonify(sim.faults.config.model_dump(mode="json"))

    @admin.put("/faults")
    def put_faults() -> ResponseReturnValue:
        try:
            config = sim.faults.update(request.get_json(force=True) or {})
        except (ValidationError, TypeError) as exc:
            return jsonify({"error": "bad_fault_config", "message": str(exc)}), 400
        return jsonify(config.model_dump(mode="json"))

    @admin.get("/ledger")
    def get_ledger() -> ResponseReturnValue:
        return jsonify({"counts": sim.ledger.snapshot(), "duplicates": sim.ledger.duplicates()})

    @admin.get("/received")
    def get_received() -> ResponseReturnValue:
        return jsonify(list(sim.received))

    @admin.post("/reset")
    def post_reset() -> ResponseReturnValue:
        sim.reset()
        return jsonify({"ok": True})

    @admin.get("/pages")
    def get_pages() -> ResponseReturnValue:
        return jsonify(sim.live_pages())

    @admin.put("/pages")
    def put_pages() -> ResponseReturnValue:
        body = request.get_json(silent=True)
        if not isinstance(body, dict) or not isinstance(body.get("url"), str):
            message = "请求体须为 JSON 对象，并以 url 指明页面的完整地址"
            return jsonify({"error": "bad_page_knob", "message": message}), 400
        knobs = {k: v for k, v in body.items() if k != "url"}
        try:
            return jsonify(sim.alter_page(body["url"], **knobs))
        except KnobInvalid as exc:
            return jsonify({"error": "bad_page_knob", "message": exc.message}), 400
        except PageUnknown as exc:
            return jsonify({"error": "page_unknown", "message": exc.message}), 404

    return admin
