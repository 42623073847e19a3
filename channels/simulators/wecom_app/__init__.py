"""企业微信 (WeCom) application messages on loopback: a 自建应用's token and message/send.

    GET  /cgi-bin/gettoken?corpid=ID&corpsecret=SECRET   {"access_token", "expires_in": 7200}
    POST /cgi-bin/message/send?access_token=TOKEN        text, textcard or markdown to touser

As documented (gettoken https://developer.work.weixin.qq.com/document/path/91039, message/send
/90236, global codes /90313): gettoken answers 40013 for a wrong corpid and 40001 for a wrong
secret, and the same token again while it is valid. message/send answers 41001 without a
token, 40014 for an unknown one, 42001 for an expired one, 40056 for a wrong agentid, 40008
for another msgtype, 44004 for empty text, 45002 for text over 2,048 bytes, 41016/41010 for a
card without title/url. A card's title over 128 bytes and description over 512 bytes are cut
by the platform (the doc: "超过会自动截断"), here byte-wise as a careless server would: a
character split at the cut comes out as U+FFFD, and the delivery is marked `truncated`.
Recipients match case-insensitively; unknown ones come back lowercased in `invaliduser` (errcode
0 while one is valid, 81013 when none is). `enable_duplicate_check`: the same request body
within `duplicate_check_interval` seconds (default 1,800) is answered again but not delivered.

Every delivery is stored per recipient (`inbox`) and in the shared operator log, so the shared
`GET /_sim/received` lists them, one entry per recipient. Admin, besides the shared /_sim ones:
    POST /_sim/fault          {"times": n, "errcode": X} | {"times": n, "status": Y}, optionally
                              "target": "send" (default) or "gettoken", "hang_s": s (answer
                              late), "drop_reply": true (deliver, then cut the connection)
    POST /_sim/expire_tokens  every token issued so far expires now
    GET  /_sim/users          the known userids (null: any well-formed userid is accepted)
    POST /_sim/users          {"users": ["zhangsan", ...]} or {"users": null}
    GET  /_sim/state          calls per API, tokens issued, inbox per user

Alone in a test: `with WeComAppServer() as wecom: ...` (127.0.0.1, a free port); in the
all-in-one simulator server it is mounted at `/wecom-app` (`SimulatorServer.wecom_app`).

By job: `messages.py` (errcodes, the message part checked and cut), `delivery.py`
(message/send), `simulator.py` (the corp, gettoken, the test faults), `standalone.py` (alone on
a port).
"""

from channels.simulators.wecom_app.messages import ERRCODES
from channels.simulators.wecom_app.simulator import MOUNT, Fault, WeComAppSimulator
from channels.simulators.wecom_app.standalone import WeComAppServer, main

__all__ = ["ERRCODES", "MOUNT", "Fault", "WeComAppServer", "WeComAppSimulator", "main"]
