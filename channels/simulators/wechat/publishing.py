"""微信公众号's publishing: jobs that finish later, the PUBLISHJOBFINISH callback (plain or
encrypted), the published articles and their pages, and deleting them."""

from __future__ import annotations

import html
import re
import secrets
import threading
import time
from datetime import datetime
from typing import Any

import requests
from flask import jsonify, request
from flask.typing import ResponseReturnValue
from wechatpy.crypto import WeChatCrypto

from channels.simulators.faults import cut_connection
from channels.simulators.live.page import LivePage
from channels.simulators.pages import LOCAL_TZ, PageArticle
from channels.simulators.wechat.calls import WeChatCalls
from channels.simulators.wechat.protocol import (
    MARKER,
    Job,
    PublishedArticle,
    error,
    new_id,
    paged,
    sign,
)


class WeChatPublishing(WeChatCalls):
    """freepublish/*: a submitted draft becomes a job, the job an article with its pages."""

    def _submit(self) -> ResponseReturnValue:
        media_id = str((request.get_json(force=True, silent=True) or {}).get("media_id", ""))
        with self._lock:
            if media_id not in self.drafts:
                return error(40007, "invalid media_id")
            self._seq += 1
            job = Job(
                publish_id=str(self._seq),
                media_id=media_id,
                msg_data_id=str(self._seq + 1000000),
                due_at=time.time() + self.faults.config.confirm_delay_s,
            )
            self.jobs[job.publish_id] = job
            self._advance(job)  # with no delay, published before the answer goes out
            self._timers = [t for t in self._timers if t.is_alive()]
            timer = threading.Timer(self.faults.config.confirm_delay_s, self._finish, [job])
            timer.daemon = True
            self._timers.append(timer)
        timer.start()
        self.note("freepublish/submit", media_id=media_id, publish_id=job.publish_id)
        if self.faults.drop_reply():
            cut_connection()
            return "", 500
        return jsonify(
            {
                "errcode": 0,
                "errmsg": "ok",
                "publish_id": job.publish_id,
                "msg_data_id": job.msg_data_id,
            }
        )

    def _advance(self, job: Job) -> None:
        """Finish a job that is due (under the lock); the callback goes from the timer."""
        if job.status != 1 or job.due_at > time.time():
            return
        draft = self.drafts.get(job.media_id)
        outcome = self.config.publish_status
        if draft is None or outcome != 0:
            job.status = outcome if draft is not None else 3
            job.fail_idx = list(self.config.fail_idx) if job.status in (2, 4) else []
            return
        job.status = 0
        job.article_id = new_id()
        news = [
            n | {"url": self.public_url(f"/s/{job.article_id}_{i}"), "is_deleted": False}
            for i, n in enumerate(draft["news_item"], start=1)
        ]
        self.articles[job.article_id] = PublishedArticle(job.article_id, news, int(time.time()))
        del self.drafts[job.media_id]
        published = datetime.now(LOCAL_TZ)
        for item in news:
            found = MARKER.search(item["content"])
            self.ledger.published(html.unescape(found.group(1)) if found else item["title"])
            page = PageArticle(item["title"], item["content"], published, editor=item["author"])
            item_id = item["url"].rsplit("/", 1)[-1]
            self.pages.add(LivePage(item["url"], self.name, item_id, page))

    def _finish(self, job: Job) -> None:
        with self._lock:
            self._advance(job)
            if job.callback_sent or not self.callback_url:
                return
            job.callback_sent = True
            url, event = self.callback_url, self._event_xml(job)
        self._post_callback(url, event)

    def _event_xml(self, job: Job) -> str:
        info = [f"<publish_id>{job.publish_id}</publish_id>"]
        info.append(f"<publish_status>{job.status}</publish_status>")
        if job.status == 0:
            urls = "".join(
                f"<item><idx>{i}</idx><article_url><![CDATA[{n['url']}]]></article_url></item>"
                for i, n in enumerate(self.articles[job.article_id].news_item, start=1)
            )
            count = len(self.articles[job.article_id].news_item)
            info.append(f"<article_id><![CDATA[{job.article_id}]]></article_id>")
            info.append(f"<article_detail><count>{count}</count>{urls}</article_detail>")
        info += [f"<fail_idx>{i}</fail_idx>" for i in job.fail_idx]
        return (
            f"<xml><ToUserName><![CDATA[{self.account}]]></ToUserName>"
            f"<FromUserName><![CDATA[oSimOperator0000000000000000]]></FromUserName>"
            f"<CreateTime>{int(time.time())}</CreateTime>"
            f"<MsgType><![CDATA[event]]></MsgType>"
            f"<Event><![CDATA[{self.config.callback_event}]]></Event>"
            f"<PublishEventInfo>{''.join(info)}</PublishEventInfo></xml>"
        )

    def signed_event(self, xml: str) -> tuple[dict[str, str], bytes]:
        """The query and body WeChat would send for this event, in the configured mode."""
        timestamp, nonce = str(int(time.time())), secrets.token_hex(5)
        query = {"timestamp": timestamp, "nonce": nonce}
        query["signature"] = sign(self.callback_token, timestamp, nonce)
        if not self.config.encoding_aes_key:
            return query, xml.encode()
        crypto = WeChatCrypto(self.callback_token, self.config.encoding_aes_key, self.app_id)
        encrypted = crypto.encrypt_message(xml, nonce, timestamp)
        found = re.search(r"<Encrypt><!\[CDATA\[(.*?)\]\]></Encrypt>", encrypted)
        query["encrypt_type"] = "aes"
        query["msg_signature"] = sign(
            self.callback_token, timestamp, nonce, found.group(1) if found else ""
        )
        return query, str(encrypted).encode()

    def _post_callback(self, url: str, xml: str) -> None:
        query, body = self.signed_event(xml)
        try:
            answer = requests.post(url, params=query, data=body, timeout=(2, 5))
            self.note("callback", url=url, http_status=answer.status_code)
        except requests.RequestException as exc:
            self.note("callback", url=url, error=type(exc).__name__)

    def _known_job(self) -> Job | ResponseReturnValue:
        publish_id = str((request.get_json(force=True, silent=True) or {}).get("publish_id", ""))
        with self._lock:
            job = self.jobs.get(publish_id)
            if job is None:
                return error(53502, "invalid publish_id")
            self._advance(job)
            return job

    def _get(self) -> ResponseReturnValue:
        job = self._known_job()
        if not isinstance(job, Job):
            return job
        answer: dict[str, Any] = {
            "publish_id": job.publish_id,
            "publish_status": job.status,
            "fail_idx": job.fail_idx,
        }
        with self._lock:
            article = self.articles.get(job.article_id)
        if article is not None:
            answer["article_id"] = job.article_id
            answer["article_detail"] = {
                "count": len(article.news_item),
                "item": [
                    {"idx": i, "article_url": n["url"]}
                    for i, n in enumerate(article.news_item, start=1)
                ],
            }
        return jsonify(answer)

    def _publish_batchget(self) -> ResponseReturnValue:
        with self._lock:
            for job in self.jobs.values():
                self._advance(job)
            entries = [
                {
                    "article_id": article.article_id,
                    "content": {"news_item": [dict(n) for n in article.news_item]},
                    "update_time": article.update_time,
                }
                for article in reversed(self.articles.values())  # newest first
            ]
        return paged(entries)

    def _getarticle(self) -> ResponseReturnValue:
        article_id = str((request.get_json(force=True, silent=True) or {}).get("article_id", ""))
        with self._lock:
            article = self.articles.get(article_id)
            news = [dict(n) for n in article.news_item] if article else None
        if news is None:
            return error(53600, "invalid article_id")
        return jsonify({"news_item": news})

    def _delete(self) -> ResponseReturnValue:
        body = request.get_json(force=True, silent=True) or {}
        article_id = str(body.get("article_id", ""))
        with self._lock:
            article = self.articles.get(article_id)
            if article is None:
                return error(53600, "invalid article_id")
            article.deleted = True
            for news in article.news_item:
                news["is_deleted"] = True
                self.pages.take_down(news["url"], 410)  # "该内容已被发布者删除"
            for job in self.jobs.values():
                if job.article_id == article_id:
                    job.status = 5
        self.note("freepublish/delete", article_id=article_id, index=body.get("index", 0))
        return jsonify({"errcode": 0, "errmsg": "ok"})
