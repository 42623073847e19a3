"""微信公众号 on loopback: the official request and response shapes under /cgi-bin/.

    GET  /cgi-bin/token                    POST /cgi-bin/stable_token
    POST /cgi-bin/material/add_material    POST /cgi-bin/media/uploadimg
    POST /cgi-bin/draft/add                POST /cgi-bin/draft/batchget
    POST /cgi-bin/freepublish/submit       POST /cgi-bin/freepublish/get
    POST /cgi-bin/freepublish/batchget     POST /cgi-bin/freepublish/getarticle
    POST /cgi-bin/freepublish/delete       GET  /mmbiz/<id>  (an uploaded image)
    GET  /s/<article_id>_<idx>             a published article's page (410 once deleted)

Every API call checks its access_token (41001 missing, 40001 unknown, 42001 expired) and its
daily quota (45009). A submitted job finishes `confirm_delay_s` later with `publish_status`
(0 by default) and, when a callback URL is set, POSTs a signed PUBLISHJOBFINISH event to it.
A successful publication removes the draft, as the platform does; a failed one keeps it.
The ledger counts publications by the `data-sanshen-key` marker the adapter embeds.

Admin, besides the shared /_sim endpoints:
    GET/PUT /_sim/config     token lifetime, quotas, job outcome, ... (`WeChatSimConfig`)
    PUT     /_sim/callback   {"url": "..."}: where PUBLISHJOBFINISH events go ("" = nowhere)
    POST    /_sim/expire_tokens               every token issued so far expires now
    POST    /_sim/finish_jobs                 every running job finishes now (callback too)
    GET     /_sim/state      calls per API, drafts, jobs, articles

By job: `protocol.py` (knobs, error answers, ids, records), `calls.py` (the checks before every
call, the token endpoints), `media.py` (images, drafts), `publishing.py` (jobs, callbacks,
published articles), `simulator.py` (the account, its routes and admin endpoints).
"""

from channels.simulators.wechat.protocol import WeChatSimConfig, sign
from channels.simulators.wechat.simulator import WeChatSimulator

__all__ = ["WeChatSimConfig", "WeChatSimulator", "sign"]
