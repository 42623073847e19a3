"""The canonical bytes, pinned: every signature ever made is over exactly these.

JSON with sorted keys, no insignificant whitespace, UTF-8 text (not \\u escapes), times in UTC
with microseconds whatever zone they were given in. A change here breaks every stored
signature: such a change needs a new format tag, not an edit (gate/canonical.py).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from datetime import date, datetime, timedelta, timezone

import pytest
from nacl.signing import SigningKey

from gate.canonical import (
    amendment_payload,
    content_document,
    fingerprint,
    manual_payload,
    signing_payload,
)
from gate.model import (
    ChannelRequest,
    Content,
    DateAmendment,
    Decision,
    RepostSource,
    ReviewAction,
    ReviewStage,
)
from gate.signature import (
    amendment_signature_valid,
    sign_action,
    sign_amendment,
    signature_valid,
)

BEIJING = timezone(timedelta(hours=8))
AT = datetime(2024, 5, 6, 10, 0, 0, 123456, tzinfo=BEIJING)
F = "f" * 64
CONTENT = Content(
    title="标题",
    body_html="<p>正文</p>",
    image_hashes=("a" * 64, "b" * 64),
    cover_hash="c" * 64,
    digest="摘要",
    byline="区政务服务办公室",
    major_event=True,
    special_content=False,
    channels=(
        ChannelRequest("政府网站", date(2024, 5, 8), "头条"),
        ChannelRequest("学习强国", date(2024, 5, 9)),
    ),
    repost_source=RepostSource(
        "学习强国", "https://www.xuexi.cn/a.html", datetime(2024, 5, 6, 9, 30, tzinfo=BEIJING)
    ),
)
VERSION = (
    '{"body_html":"<p>正文</p>","byline":"区政务服务办公室","channels":[{"channel":"政府网站",'
    '"publish_date":"2024-05-08","remark":"头条"},{"channel":"学习强国","publish_date":'
    '"2024-05-09","remark":""}],"cover_hash":"' + "c" * 64 + '","digest":"摘要","format":'
    '"sanshen.version.v1","image_hashes":["' + "a" * 64 + '","' + "b" * 64 + '"],'
    '"major_event":true,"repost_source":{"platform":"学习强国","published_at":'
    '"2024-05-06T01:30:00.000000+00:00","url":"https://www.xuexi.cn/a.html"},'
    '"special_content":false,"title":"标题"}'
)


def canonical(document: object) -> bytes:
    return json.dumps(document, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def test_the_version_document_and_its_fingerprint() -> None:
    assert canonical(content_document(CONTENT)) == VERSION.encode()
    assert fingerprint(CONTENT) == hashlib.sha256(VERSION.encode()).hexdigest()
    assert (
        fingerprint(CONTENT) == "6beab7cd553dc01d4f46ce739d70b490e1e998aed021e8d7db2859c956dc06fa"
    )


def test_a_version_without_a_repost_source() -> None:
    plain = Content(title="通知", body_html="<p>一</p>")
    assert (
        canonical(content_document(plain))
        == (
            '{"body_html":"<p>一</p>","byline":"","channels":[],"cover_hash":null,"digest":"",'
            '"format":"sanshen.version.v1","image_hashes":[],"major_event":false,'
            '"repost_source":null,"special_content":false,"title":"通知"}'
        ).encode()
    )


def test_the_review_payload() -> None:
    payload = signing_payload(
        submission_id="S-1",
        fingerprint=F,
        stage=ReviewStage.SIGN_OFF,
        decision=Decision.RETURN,
        acted_at=AT,
        comment="请修改",
    )
    assert (
        payload
        == (
            '{"acted_at":"2024-05-06T02:00:00.123456+00:00","comment":"请修改","decision":"return",'
            '"fingerprint":"' + F + '","format":"sanshen.review.v1","stage":"sign_off",'
            '"submission":"S-1"}'
        ).encode()
    )


def test_the_reschedule_payload() -> None:
    payload = amendment_payload(
        submission_id="S-1",
        fingerprint=F,
        channel="政府网站",
        old_date=date(2024, 5, 8),
        new_date=date(2024, 5, 10),
        acted_at=AT,
        comment="改期",
    )
    assert (
        payload
        == (
            '{"acted_at":"2024-05-06T02:00:00.123456+00:00","channel":"政府网站","comment":"改期",'
            '"fingerprint":"' + F + '","format":"sanshen.reschedule.v1","new_date":"2024-05-10",'
            '"old_date":"2024-05-08","submission":"S-1"}'
        ).encode()
    )


def test_the_manual_payload() -> None:
    payload = manual_payload(
        submission_id="S-1",
        fingerprint=F,
        channel="学习强国",
        kind="published",
        url="https://www.xuexi.cn/a.html",
        external_id="x-1",
        acted_at=AT,
        comment="已发",
    )
    assert (
        payload
        == (
            '{"acted_at":"2024-05-06T02:00:00.123456+00:00","channel":"学习强国","comment":"已发",'
            '"external_id":"x-1","fingerprint":"' + F + '","format":"sanshen.manual.v1",'
            '"kind":"published","submission":"S-1","url":"https://www.xuexi.cn/a.html"}'
        ).encode()
    )


def test_a_naive_time_has_no_canonical_form() -> None:
    naive = AT.replace(tzinfo=None)
    with pytest.raises(ValueError, match="naive"):
        signing_payload(
            submission_id="S-1",
            fingerprint=F,
            stage=ReviewStage.FIRST,
            decision=Decision.APPROVE,
            acted_at=naive,
            comment="",
        )
    source = RepostSource("学习强国", "https://www.xuexi.cn/a.html", naive)
    with pytest.raises(ValueError, match="naive"):
        fingerprint(Content(title="t", body_html="b", repost_source=source))


KEY = SigningKey(bytes(range(32)))
OTHER = SigningKey(bytes(range(1, 33)))


def test_a_review_signature_covers_every_signed_field_and_nothing_else() -> None:
    action = sign_action(
        ReviewAction("S-1", F, ReviewStage.FIRST, Decision.APPROVE, "zhang", AT, b"", "好"), KEY
    )
    public = KEY.verify_key.encode()
    assert signature_valid(action, public)
    assert not signature_valid(action, OTHER.verify_key.encode())
    assert not signature_valid(action, b"short key")
    assert not signature_valid(_replace(action, signature=action.signature[:10]), public)
    for changed in (
        {"submission_id": "S-2"},
        {"fingerprint": "e" * 64},
        {"stage": ReviewStage.SECOND},
        {"decision": Decision.REJECT},
        {"acted_at": AT + timedelta(microseconds=1)},
        {"comment": "好。"},
    ):
        assert not signature_valid(_replace(action, **changed), public), changed
    # who signed is the key's business, and the row id is not signed
    assert signature_valid(_replace(action, actor_id="li", id="row-9"), public)


def test_a_reschedule_signature_covers_every_signed_field() -> None:
    amendment = sign_amendment(
        DateAmendment("S-1", F, "政府网站", date(2024, 5, 8), date(2024, 5, 10), "sun", AT, b""),
        KEY,
    )
    public = KEY.verify_key.encode()
    assert amendment_signature_valid(amendment, public)
    assert not amendment_signature_valid(amendment, OTHER.verify_key.encode())
    for changed in (
        {"submission_id": "S-2"},
        {"fingerprint": "e" * 64},
        {"channel": "学习强国"},
        {"old_date": date(2024, 5, 7)},
        {"new_date": date(2024, 5, 11)},
        {"acted_at": AT + timedelta(microseconds=1)},
        {"comment": "x"},
    ):
        assert not amendment_signature_valid(_replace(amendment, **changed), public), changed


def _replace(value: object, **changes: object) -> object:
    return dataclasses.replace(value, **changes)  # type: ignore[type-var]
