"""Submissions, the review walk, the board and people's actions on publications, over HTTP."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import update

from orchestrator.models import Publication, utcnow
from tests.api.conftest import (
    PASSWORDS,
    Server,
    b64,
    create_submission,
    draft_body,
    review,
    today_local,
    walk,
)


def set_publication(server: Server, pub_id: int, **values: Any) -> None:
    """Put a row where a worker would have left it (no worker runs in these tests)."""
    with server.app.db.session() as session:
        session.execute(update(Publication).where(Publication.id == pub_id).values(**values))


def publications_of(server: Server, submission_id: int) -> dict[str, dict[str, Any]]:
    reply = server.as_("zhengop").get("/publications", params={"submission": submission_id})
    assert reply.status_code == 200, reply.text
    return {p["channel"]: p for p in reply.json()["items"]}


def test_the_whole_review_walk_ends_with_scheduled_publications(server: Server) -> None:
    sub = create_submission(server)
    assert (sub["state"], sub["waiting"], sub["author"]) == ("in_review", "first", "wangfang")
    assert sub["current"]["images"][0]["filename"] == "photo.png"
    assert "sanshen-image:" in sub["current"]["body_html"]
    expected_next = ["second", "final", "principal", "usage", "sign_off", None]
    for (stage, username), following in zip(
        [
            ("first", "wangfang"),
            ("second", "lijun"),
            ("final", "zhaomin"),
            ("principal", "chenzhu"),
            ("usage", "zhouzh"),
            ("sign_off", "sunxuan"),
        ],
        expected_next,
        strict=True,
    ):
        outcome = review(server, sub["id"], stage, username)
        assert outcome["waiting"] == following
    assert outcome["gate_passed"] is True
    assert len(outcome["publications"]) == 2
    pubs = publications_of(server, sub["id"])
    assert set(pubs) == {"gov_website", "xuexi"}
    # upward first: the website waits for 学习强国's adoption (then a repost) or 综合科's release
    assert {c: p["state"] for c, p in pubs.items()} == {"gov_website": "held", "xuexi": "scheduled"}
    assert pubs["gov_website"]["state_label"] == "待上级采用"
    assert pubs["xuexi"]["channel_label"] == "学习强国"
    assert pubs["gov_website"]["scheduled_at"].endswith("Z")
    assert len(pubs["gov_website"]["scheduled_at_local"]) == 19
    shown = server.as_("lijun").get(f"/submissions/{sub['id']}").json()
    assert shown["state"] == "signed_off"
    assert [r["stage_label"] for r in shown["reviews"]] == [
        "初审",
        "复审",
        "终审",
        "主要领导审定",
        "稿件用途",
        "签发",
    ]
    gate = server.as_("lijun").get(f"/submissions/{sub['id']}/gate").json()
    assert gate["passed"] is True and gate["violations"] == []


def test_the_general_office_decides_the_use_and_the_sign_off_covers_it(server: Server) -> None:
    """稿件用途 over the API: 综合科 keeps 政府网站 and drops 学习强国; the rows it decides are a
    new version with the same content, the department's reviews carry over, and 签发 signs the
    decided rows (so nothing waits for an upward adoption)."""
    sub = create_submission(server)
    walk(server, sub["id"], until="principal")
    client = server.as_("zhouzh")
    refused = client.post(
        f"/submissions/{sub['id']}/reviews",
        json={"stage": "usage", "decision": "reject", "comment": "不用", "password": "x"},
    )
    assert refused.status_code == 422 and refused.json()["error"] == "decision_not_allowed"
    row = {"channel": "政府网站", "publish_date": today_local(), "remark": "综合科定"}
    decided = client.post(
        f"/submissions/{sub['id']}/reviews",
        json={
            "stage": "usage",
            "decision": "approve",
            "comment": "仅本单位网站发布",
            "password": PASSWORDS["zhouzh"],
            "channels": [row],
        },
    )
    assert decided.status_code == 201, decided.text
    assert decided.json()["version"] == 2 and decided.json()["waiting"] == "sign_off"
    shown = client.get(f"/submissions/{sub['id']}").json()
    assert [c["channel"] for c in shown["current"]["channels"]] == ["gov_website"]
    signed = review(server, sub["id"], "sign_off", "sunxuan")
    assert signed["gate_passed"] is True and signed["version"] == 2
    pubs = publications_of(server, sub["id"])
    assert {c: p["state"] for c, p in pubs.items()} == {"gov_website": "scheduled"}


def test_an_approval_with_the_wrong_password_records_nothing(server: Server) -> None:
    sub = create_submission(server)
    reply = server.as_("wangfang").post(
        f"/submissions/{sub['id']}/reviews",
        json={"stage": "first", "decision": "approve", "password": "not-mine"},
    )
    assert reply.status_code == 403
    assert reply.json()["error"] == "wrong_password"
    assert server.as_("wangfang").get(f"/submissions/{sub['id']}").json()["reviews"] == []


def test_stages_out_of_turn_and_sign_off_before_the_gate_are_refused(server: Server) -> None:
    sub = create_submission(server)
    early = server.as_("zhaomin").post(
        f"/submissions/{sub['id']}/reviews",
        json={"stage": "final", "decision": "approve", "password": PASSWORDS["zhaomin"]},
    )
    assert early.status_code == 409
    assert early.json()["error"] == "stage_out_of_order"
    gate = server.as_("zhaomin").get(f"/submissions/{sub['id']}/gate").json()
    assert gate["passed"] is False
    assert gate["waiting"] == "first" and gate["waiting_label"] == "初审"
    assert gate["violations"]


def test_a_returned_submission_is_revised_and_the_versions_compared(server: Server) -> None:
    sub = create_submission(server)
    returned = server.as_("wangfang").post(
        f"/submissions/{sub['id']}/reviews",
        json={"stage": "first", "decision": "return", "comment": "错字", "password": "demo-pass-1"},
    )
    assert returned.status_code == 201, returned.text
    listed = server.as_("wangfang").get("/submissions", params={"state": "returned"}).json()
    assert sub["id"] in [s["id"] for s in listed["items"]]
    body = draft_body(title="青浦区政务服务“一网通办”新功能上线", byline="综合科")
    body["body_html"] = body["body_html"].replace("近日", "11月")
    revised = server.as_("wangfang").post(f"/submissions/{sub['id']}/versions", json=body)
    assert revised.status_code == 201, revised.text
    assert revised.json()["version"] == 2
    assert revised.json()["state"] == "in_review"
    assert [r["for_current_version"] for r in revised.json()["reviews"]] == [False]
    diff = (
        server.as_("lijun")
        .get(f"/submissions/{sub['id']}/diff", params={"from": 1, "to": 2})
        .json()
    )
    assert diff["title_changed"] is True
    assert "-青浦区政务服务“一网通办”再添新功能" in diff["title_diff"]
    assert any(line.startswith("+11月") for line in diff["body_diff"])
    assert diff["other_changes"] == ["署名已修改"]
    first = server.as_("lijun").get(f"/submissions/{sub['id']}/versions/1").json()
    assert first["title"] == "青浦区政务服务“一网通办”再添新功能"


def test_the_list_of_submissions_filters_and_pages(server: Server) -> None:
    marker = "筛选标记" + str(id(server) % 997)
    made = [create_submission(server, title=f"{marker} 第{i}篇") for i in range(3)]
    client = server.as_("zhouzh")
    page = client.get("/submissions", params={"q": marker, "per_page": 2}).json()
    assert page["total"] == 3 and len(page["items"]) == 2
    assert page["items"][0]["id"] == made[-1]["id"]  # newest first
    second = client.get("/submissions", params={"q": marker, "per_page": 2, "page": 2}).json()
    assert [s["id"] for s in second["items"]] == [made[0]["id"]]
    other = client.get("/submissions", params={"q": marker, "department": "zhk"}).json()
    assert other["total"] == 0
    bad = client.get("/submissions", params={"state": "draft"})
    assert bad.status_code == 422 and bad.json()["error"] == "unknown_state"


def test_the_board_shows_overdue_and_failed_first(server: Server) -> None:
    a, b, c = (create_submission(server, channels=("gov_website",)) for _ in range(3))
    ids = []
    for sub in (a, b, c):
        walk(server, sub["id"])
        ids.append(publications_of(server, sub["id"])["gov_website"]["id"])
    future = utcnow() + timedelta(days=3)
    set_publication(server, ids[0], scheduled_at=future)
    set_publication(server, ids[1], scheduled_at=future + timedelta(days=1), state="failed")
    set_publication(server, ids[2], scheduled_at=utcnow() - timedelta(hours=2))
    board = (
        server.as_("wuyun")
        .get("/publications", params={"channel": "gov_website", "per_page": 200})
        .json()
    )
    order = [p["id"] for p in board["items"] if p["id"] in ids]
    assert order == [ids[2], ids[1], ids[0]]
    flagged = {p["id"]: p["attention"] for p in board["items"] if p["id"] in ids}
    assert flagged == {ids[2]: True, ids[1]: True, ids[0]: False}
    failed = server.as_("wuyun").get("/publications", params={"state": "failed"}).json()
    assert ids[1] in [p["id"] for p in failed["items"]]
    day = (future + timedelta(hours=8)).date().isoformat()
    dated = server.as_("wuyun").get("/publications", params={"from": day, "to": day}).json()
    assert ids[0] in [p["id"] for p in dated["items"]]
    assert ids[2] not in [p["id"] for p in dated["items"]]


def test_board_filters_are_checked(server: Server) -> None:
    client = server.as_("wuyun")
    for params, code in (
        ({"state": "lost"}, "unknown_state"),
        ({"channel": "weibo"}, "unknown_channel"),
        ({"department": "nope"}, "unknown_department"),
        ({"from": "2026-12-02", "to": "2026-12-01"}, "bad_date_range"),
        ({"per_page": 201}, "invalid_input"),
        ({"page": 0}, "invalid_input"),
        ({"submission": "abc"}, "invalid_input"),
    ):
        reply = client.get("/publications", params=params)
        assert reply.status_code == 422, params
        assert reply.json()["error"] == code
        assert reply.json()["message"]


def test_people_act_on_publications(server: Server) -> None:
    own_sub = create_submission(server, channels=("gov_website",))
    walk(server, own_sub["id"])
    upward_sub = create_submission(server, channels=("xuexi",))  # both ways: held, see below
    walk(server, upward_sub["id"])
    own = publications_of(server, own_sub["id"])["gov_website"]["id"]
    upward = publications_of(server, upward_sub["id"])["xuexi"]["id"]
    later = (utcnow() + timedelta(days=2)).isoformat()
    new_day = (utcnow() + timedelta(days=2, hours=8)).date().isoformat()
    moved = server.as_("wuyun").post(f"/publications/{own}/reschedule", json={"at": later})
    assert moved.status_code == 409 and moved.json()["error"] == "needs_date_amendment"
    amend = {"new_date": new_day, "at": "10:30", "comment": "活动延期", "password": "wrong"}
    refused = server.as_("sunxuan").post(f"/publications/{own}/amend-date", json=amend)
    assert refused.status_code == 403 and refused.json()["error"] == "wrong_password"
    amended = server.as_("sunxuan").post(
        f"/publications/{own}/amend-date", json=amend | {"password": PASSWORDS["sunxuan"]}
    )
    assert amended.status_code == 200, amended.text
    assert amended.json()["scheduled_at_local"].startswith(f"{new_day} 10:30")
    moved = server.as_("wuyun").post(f"/publications/{own}/reschedule", json={"at": later})
    assert moved.status_code == 200, moved.text  # within the amended day: 政府网站运行科's act
    assert moved.json()["scheduled_at_local"].startswith(new_day)
    both = server.as_("wuyun").post(
        f"/publications/{own}/reschedule", json={"at": later, "now": True}
    )
    assert both.status_code == 422
    cancelled = server.as_("wuyun").post(f"/publications/{own}/cancel", json={"reason": "取消活动"})
    assert cancelled.json()["state"] == "cancelled"
    again = server.as_("wuyun").post(f"/publications/{own}/cancel", json={})
    assert again.status_code == 409 and again.json()["error"] == "too_late_to_cancel"
    set_publication(server, upward, state="submitted")
    adopted = server.as_("zhouzh").post(
        f"/publications/{upward}/confirm", json={"url": "https://www.xuexi.cn/a/1.html"}
    )
    assert adopted.status_code == 200, adopted.text
    assert adopted.json()["state"] == "published"
    detail = server.as_("zhouzh").get(f"/publications/{upward}").json()
    assert detail["url"] == "https://www.xuexi.cn/a/1.html"
    assert detail["published_at_local"] is not None


def test_a_failed_publication_is_retried_and_an_unconfirmed_one_needs_a_check(
    server: Server,
) -> None:
    sub = create_submission(server, channels=("gov_website", "suishenban"))
    walk(server, sub["id"])
    pubs = publications_of(server, sub["id"])
    failed, unsure = pubs["gov_website"]["id"], pubs["suishenban"]["id"]
    set_publication(server, failed, state="failed", last_error="平台拒绝")
    set_publication(server, unsure, state="unconfirmed")
    retried = server.as_("zhengop").post(f"/publications/{failed}/retry", json={})
    assert retried.json()["state"] == "queued"
    blind = server.as_("zhengop").post(f"/publications/{unsure}/retry", json={})
    assert blind.status_code == 409 and blind.json()["error"] == "check_platform_first"
    checked = server.as_("zhengop").post(f"/publications/{unsure}/retry", json={"checked": True})
    assert checked.json()["state"] == "queued"


def test_upward_queue_and_repost(server: Server) -> None:
    sub = create_submission(server, channels=("xuexi",))
    walk(server, sub["id"])
    upward = publications_of(server, sub["id"])["xuexi"]["id"]
    queue = server.as_("zhouzh").get("/upward/queue", params={"per_page": 200}).json()
    assert upward in [p["id"] for p in queue["items"]]
    assert {p["channel"] for p in queue["items"]} <= {"xuexi", "lvse_qingpu"}
    early = server.as_("zhouzh").post(f"/upward/{upward}/repost", json={})
    assert early.status_code == 409 and early.json()["error"] == "not_adopted"
    set_publication(
        server,
        upward,
        state="published",
        url="https://www.xuexi.cn/a/2.html",
        published_at=utcnow(),
    )
    made = server.as_("zhouzh").post(f"/upward/{upward}/repost", json={"channels": ["政府网站"]})
    assert made.status_code == 201, made.text
    repost = made.json()
    assert repost["repost_of"] == upward
    assert repost["current"]["repost_source"]["platform"] == "学习强国"
    assert [c["channel"] for c in repost["current"]["channels"]] == ["gov_website"]
    assert repost["waiting"] == "sign_off"  # the original's content with the source


def test_unknown_ids_are_404(server: Server) -> None:
    client = server.as_("zhouzh")
    sub = create_submission(server)
    for method, path, body in (
        ("GET", "/submissions/987654", None),
        ("GET", "/submissions/987654/gate", None),
        ("GET", f"/submissions/{sub['id']}/versions/9", None),
        ("GET", f"/submissions/{sub['id']}/diff?from=1&to=9", None),
        ("GET", "/publications/987654", None),
        ("POST", "/submissions/987654/versions", draft_body()),
        ("POST", "/submissions/987654/retract", {"reason": "错误"}),
        (
            "POST",
            "/submissions/987654/reviews",
            {"stage": "first", "decision": "approve", "password": "x"},
        ),
        ("POST", "/publications/987654/cancel", {}),
        ("POST", "/publications/987654/retry", {}),
        ("POST", "/upward/987654/repost", {}),
        ("DELETE", "/tokens/987654", None),
    ):
        reply = client.request(method, path, json=body)
        assert reply.status_code == 404, (path, reply.text)
        assert reply.json()["message"]


def test_wrong_types_and_unknown_fields_are_422(server: Server) -> None:
    client = server.as_("wangfang")
    good = draft_body()
    changes: tuple[dict[str, Any], ...] = (
        {"major_event": 0},
        {"title": 5},
        {"channels": [{"channel": "gov_website", "publish_date": "2026/12/01"}]},
        {"channels": [{"channel": "gov_website", "publish_date": 20261201}]},
        {"channels": []},
        {"author": "lijun"},  # the actor is never taken from the body
        {"images": [{"filename": "a.png", "data_base64": "***"}]},
        {"channels": [{"channel": "微博", "publish_date": "2030-01-01"}]},
    )
    for change in changes:
        reply = client.post("/submissions", json={**good, **change})
        assert reply.status_code == 422, change
        body = reply.json()
        assert set(body) >= {"error", "message"} and body["message"], body
    review_reply = client.post(
        "/submissions/1/reviews", json={"stage": "初审", "decision": "approve", "password": "x"}
    )
    assert review_reply.status_code == 422
    assert "stage" in review_reply.json()["message"]
    assert client.get("/submissions/abc").status_code == 422
    malformed = client.post(
        "/submissions", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert malformed.status_code == 400 and malformed.json()["error"] == "bad_json"


def test_an_oversize_body_is_413(server: Server) -> None:
    huge = b64(b"\0" * (16 * 1024 * 1024))  # 21.3 MB once in Base64
    body = draft_body(images=[{"filename": "big.png", "data_base64": huge}])
    reply = server.as_("wangfang").post("/submissions", json=body)
    assert reply.status_code == 413
    assert reply.json()["error"] == "body_too_large"
    assert "20 MB" in reply.json()["message"]


def test_pages_follow_one_order_across_the_attention_boundary(server: Server) -> None:
    sub = create_submission(server, channels=("gov_website", "suishenban", "wechat"))
    walk(server, sub["id"])
    pubs = publications_of(server, sub["id"])
    now = utcnow()
    set_publication(server, pubs["wechat"]["id"], scheduled_at=now + timedelta(days=1))
    set_publication(server, pubs["suishenban"]["id"], scheduled_at=now + timedelta(days=2))
    set_publication(
        server, pubs["gov_website"]["id"], scheduled_at=now + timedelta(days=3), state="failed"
    )
    seen = []
    for page in (1, 2, 3, 4):
        reply = (
            server.as_("zhengop")
            .get("/publications", params={"submission": sub["id"], "per_page": 1, "page": page})
            .json()
        )
        assert reply["total"] == 3
        seen += [p["channel"] for p in reply["items"]]
    assert seen == ["gov_website", "wechat", "suishenban"]


def test_a_row_held_for_the_adoption_is_released_or_dropped_by_the_general_office(
    server: Server,
) -> None:
    sub = create_submission(server, channels=("gov_website", "suishenban", "xuexi"))
    walk(server, sub["id"])
    pubs = publications_of(server, sub["id"])
    site, store = pubs["gov_website"]["id"], pubs["suishenban"]["id"]
    assert pubs["gov_website"]["state"] == "held"
    moved = server.as_("wuyun").post(f"/publications/{site}/release")
    assert moved.status_code == 403 and moved.json()["error"] == "not_permitted"
    released = server.as_("zhouzh").post(f"/publications/{site}/release")
    assert released.status_code == 200, released.text
    assert released.json()["state"] == "scheduled"
    again = server.as_("zhouzh").post(f"/publications/{site}/release")
    assert again.status_code == 409 and again.json()["error"] == "not_held"
    blank = server.as_("zhouzh").post(f"/publications/{store}/drop", json={"reason": " "})
    assert blank.status_code == 422
    dropped = server.as_("zhouzh").post(f"/publications/{store}/drop", json={"reason": "时效已过"})
    assert dropped.json()["state"] == "cancelled"
