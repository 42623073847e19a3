"""企业微信's message/send: the token checked, the body checked, delivered to each recipient's
inbox (and the shared operator log), a duplicate within the check interval answered again."""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from collections import deque
from datetime import UTC, datetime
from typing import Any, ClassVar

from flask import Response, jsonify, request

from channels.simulators.cgi_bin import TokenApiSimulator
from channels.simulators.wecom_app.messages import (
    DUPLICATE_CHECK_DEFAULT_S,
    DUPLICATE_CHECK_MAX_S,
    MAX_RECIPIENTS,
    USERID,
    error,
    message_content,
    split_ids,
)


class MessageDelivery(TokenApiSimulator):
    """The message/send side of the 企业微信 simulator."""

    agent_id: ClassVar[int]
    users: frozenset[str] | None  # None: any well-formed userid is accepted
    inbox: dict[str, deque[dict[str, Any]]]
    _answered: dict[str, tuple[float, dict[str, Any]]]  # body digest -> answer

    def _tokenerror(self) -> Response | None:
        token = request.args.get("access_token", "")
        if not token:
            return error(41001)
        with self._lock:
            expires_at = self._tokens.get(token)
        if expires_at is None:
            return error(40014)
        return error(42001) if expires_at <= time.time() else None

    def _send(self) -> Response:
        refusal = self._tokenerror()
        if refusal is not None:
            return refusal
        body = request.get_json(force=True, silent=True)
        if not isinstance(body, dict):
            return error(40058)
        if body.get("agentid") in (None, ""):
            return error(41011)
        if str(body["agentid"]) != str(self.agent_id):
            return error(40056)
        content = message_content(body)
        if isinstance(content, int):
            return error(content)
        digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
        earlier = self._duplicate(body, digest)
        if earlier is not None:
            return jsonify(earlier)
        answer = self._deliver(body, content)
        if answer["errcode"] != 0:
            return error(answer["errcode"], **{k: v for k, v in answer.items() if k != "errcode"})
        if body.get("enable_duplicate_check") in (1, "1", True):
            with self._lock:
                self._answered[digest] = (time.time(), answer)
        return jsonify(answer)

    def _duplicate(self, body: dict[str, Any], digest: str) -> dict[str, Any] | None:
        if body.get("enable_duplicate_check") not in (1, "1", True):
            return None
        interval = body.get("duplicate_check_interval") or DUPLICATE_CHECK_DEFAULT_S
        interval = min(max(int(interval), 0), DUPLICATE_CHECK_MAX_S)
        with self._lock:
            at, answer = self._answered.get(digest, (0.0, None))
        return answer if answer is not None and time.time() - at < interval else None

    def _deliver(self, body: dict[str, Any], content: dict[str, Any]) -> dict[str, Any]:
        named = split_ids(body.get("touser"))
        parties, tags = split_ids(body.get("toparty")), split_ids(body.get("totag"))
        if not (named or parties or tags):
            return {"errcode": 82001}
        if len(named) > MAX_RECIPIENTS:
            return {"errcode": 40032}
        valid, invalid = self._recipients(named)
        answer: dict[str, Any] = {"errcode": 0, "errmsg": "ok", "invaliduser": "|".join(invalid)}
        if parties:  # the simulated corp has no departments or tags
            answer["invalidparty"] = "|".join(parties)
        if tags:
            answer["invalidtag"] = "|".join(tags)
        if not valid:
            del answer["errmsg"]
            return answer | {"errcode": 81013}
        answer["msgid"] = secrets.token_urlsafe(24)
        at = datetime.now(UTC).isoformat()
        msgtype = str(body["msgtype"])
        fingerprint = hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()
        with self._lock:
            for userid in valid:
                delivery = {
                    "at": at,
                    "operation": "message/send",
                    "userid": userid,
                    "msgid": answer["msgid"],
                    "agentid": body["agentid"],
                    "msgtype": msgtype,
                    **content,
                }
                self.inbox.setdefault(userid, deque(maxlen=500)).append(delivery)
                self.received.append(delivery)
                self.ledger.published(f"{userid}|{fingerprint[:16]}")
        return answer

    def _recipients(self, named: list[str]) -> tuple[list[str], list[str]]:
        """(valid, invalid) userids, lowercased as the platform answers them."""
        with self._lock:
            known = self.users
        if named == ["@all"]:
            return (sorted(known) if known is not None else ["@all"]), []
        valid: list[str] = []
        invalid: list[str] = []
        for userid in dict.fromkeys(u.lower() for u in named):
            ok = USERID.fullmatch(userid) and (known is None or userid in known)
            (valid if ok else invalid).append(userid)
        return valid, invalid
