"""The review services over a real database: the happy walk, and every refusal writing nothing."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, text

from gate.model import ChannelRequest, Decision, RepostSource, ReviewStage
from orchestrator import audit
from orchestrator.app import App
from orchestrator.demo import tiny_png
from orchestrator.errors import (
    Conflict,
    Forbidden,
    GateRefused,
    InvalidInput,
    NotFound,
    SanshenError,
    WrongPassword,
)
from orchestrator.models import AuditEvent, ReviewAction, Submission, Version
from orchestrator.services import review, submissions
from tests.clock import shanghai_today
from tests.orchestrator.conftest import PASSWORDS

S = ReviewStage


def draft(**changes: Any) -> submissions.Draft:
    base: dict[str, Any] = {
        "title": "一网通办新功能上线",
        "body_html": '<p>正文内容。</p><p><img src="a.png"></p>',
        "images": [submissions.ImageFile("a.png", tiny_png())],
        "channels": [ChannelRequest("gov_website", shanghai_today() + timedelta(days=1))],
    }
    return submissions.Draft(**(base | changes))


def create(app: App, **changes: Any) -> int:
    with app.db.session() as session:
        return submissions.create(
            session, app.blobs, author="author", department="sjgl", draft=draft(**changes)
        ).id


def act(
    app: App,
    sub: int,
    stage: ReviewStage,
    actor: str,
    decision: Decision = Decision.APPROVE,
    password: str | None = None,
    comment: str = "同意",
) -> review.Outcome:
    with app.db.session() as session:
        return review.review(
            session,
            sub,
            stage=stage,
            decision=decision,
            actor=actor,
            password=password or PASSWORDS.get(actor, "whatever-password"),
            policy=app.policy,
            app=app,
            comment=comment,
        )


def verdict(app: App, sub: int) -> Any:
    with app.db.session() as session:
        v, waiting, aids = review.check(
            session, sub, policy=app.policy, store=app.blobs, sensitive_words=app.sensitive_words
        )
        return v, waiting, aids


FULL = [
    (S.FIRST, "author"),
    (S.SECOND, "head"),
    (S.FINAL, "leader"),
    (S.USAGE, "zhk"),
    (S.SIGN_OFF, "publicity"),
]


def walk(app: App, sub: int, steps: list[tuple[ReviewStage, str]] = FULL) -> None:
    for stage, actor in steps:
        act(app, sub, stage, actor)


def counts(app: App) -> tuple[int, int, int, int]:
    with app.db.session() as session:
        return tuple(
            session.scalar(select(func.count()).select_from(m)) or 0  # type: ignore[return-value]
            for m in (Submission, Version, ReviewAction, AuditEvent)
        )


def test_full_walk_passes_the_gate(org_app: App) -> None:
    sub = create(org_app)
    walk(org_app, sub)
    v, waiting, _ = verdict(org_app, sub)
    assert v.passed and waiting is None


def test_major_event_needs_the_principal_leader(org_app: App) -> None:
    sub = create(org_app, major_event=True)
    walk(org_app, sub, FULL[:3])
    with pytest.raises(Conflict) as info:
        act(org_app, sub, S.SIGN_OFF, "publicity")
    assert info.value.code == "stage_out_of_order"
    act(org_app, sub, S.PRINCIPAL, "chief")
    act(org_app, sub, S.USAGE, "zhk")
    act(org_app, sub, S.SIGN_OFF, "publicity")
    assert verdict(org_app, sub)[0].passed


def refused(app: App, call: Callable[[], object], error: type[SanshenError], code: str) -> None:
    """The call is refused with that error and code, and writes nothing at all."""
    before = counts(app)
    with pytest.raises(error) as info:
        call()
    assert info.value.code == code, info.value.message
    assert counts(app) == before


def test_refusals_name_the_problem_and_write_nothing(org_app: App) -> None:
    sub = create(org_app)
    a = org_app
    refused(a, lambda: act(a, 999, S.FIRST, "author"), NotFound, "unknown_submission")
    refused(a, lambda: act(a, sub, S.FIRST, "nobody"), NotFound, "unknown_person")
    refused(a, lambda: act(a, sub, S.FIRST, "head"), Forbidden, "role_not_held")
    refused(a, lambda: act(a, sub, S.SECOND, "head"), Conflict, "stage_out_of_order")
    refused(
        a,
        lambda: act(a, sub, S.FIRST, "author", password="wrong-pass"),
        WrongPassword,
        "wrong_password",
    )
    act(a, sub, S.FIRST, "author")
    refused(a, lambda: act(a, sub, S.FIRST, "editor"), Conflict, "duplicate_approval")


def test_one_person_cannot_sign_two_stages(org_app: App) -> None:
    with org_app.db.session() as session:
        from orchestrator.services import org

        org.grant_role(
            session,
            org.person_by_username(session, "head"),
            org.parse_role("leader_in_charge"),
            now=datetime(2020, 1, 1, tzinfo=UTC),
        )
    sub = create(org_app)
    walk(org_app, sub, FULL[:2])
    refused(
        org_app,
        lambda: act(org_app, sub, S.FINAL, "head"),
        Forbidden,
        "same_person_multiple_stages",
    )


def test_author_does_no_stage_after_the_first(org_app: App) -> None:
    with org_app.db.session() as session:
        from orchestrator.services import org

        org.grant_role(
            session,
            org.person_by_username(session, "author"),
            org.parse_role("section_head"),
            now=datetime(2020, 1, 1, tzinfo=UTC),
        )
        org.grant_role(  # an editor of 综合科 who also edits for 数据管理发展科
            session,
            org.person_by_username(session, "editor"),
            org.parse_role("contributor"),
            department=org.department_by_code(session, "sjgl"),
            now=datetime(2020, 1, 1, tzinfo=UTC),
        )
    sub = create(org_app)
    act(org_app, sub, S.FIRST, "editor")  # the editor may do 初审 for the author
    refused(
        org_app,
        lambda: act(org_app, sub, S.SECOND, "author"),
        Forbidden,
        "author_reviewed_later_stage",
    )


def test_an_edit_needs_a_new_review(org_app: App) -> None:
    sub = create(org_app)
    walk(org_app, sub)
    with org_app.db.session() as session:
        submissions.revise(
            session,
            org_app.blobs,
            sub,
            editor="author",
            draft=draft(body_html='<p>正文内容。 </p><p><img src="a.png"></p>'),
        )
    v, waiting, _ = verdict(org_app, sub)
    assert not v.passed and waiting is S.FIRST
    assert "approval_for_other_version" in v.codes


def test_return_voids_earlier_approvals_and_reject_is_final(org_app: App) -> None:
    sub = create(org_app)
    walk(org_app, sub, FULL[:2])
    act(org_app, sub, S.FINAL, "leader", Decision.RETURN, comment="数据需核实")
    assert verdict(org_app, sub)[1] is S.FIRST
    walk(org_app, sub, FULL[:2])
    act(org_app, sub, S.FINAL, "leader", Decision.REJECT, comment="不宜发布")
    refused(org_app, lambda: act(org_app, sub, S.FIRST, "author"), Conflict, "version_rejected")


def test_body_edited_in_the_database_fails_the_gate(org_app: App) -> None:
    sub = create(org_app)
    walk(org_app, sub)
    with org_app.db.engine.begin() as conn:
        conn.execute(text("UPDATE versions SET body_html = body_html || ' '"))
    v, _, _ = verdict(org_app, sub)
    assert not v.passed and "approval_for_other_version" in v.codes


def test_review_row_edited_in_the_database_fails_its_signature(org_app: App) -> None:
    sub = create(org_app)
    walk(org_app, sub)
    with org_app.db.engine.begin() as conn:
        conn.execute(text("UPDATE review_actions SET comment='已改' WHERE stage='final'"))
    v, _, _ = verdict(org_app, sub)
    assert not v.passed and "signature_invalid" in v.codes


def test_approvals_copied_to_another_submission_do_not_count(org_app: App) -> None:
    first, second = create(org_app), create(org_app)
    walk(org_app, first)
    with org_app.db.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO review_actions (submission_id, version_id, fingerprint, stage, decision,"
                " actor_id, acted_at, comment, signature) SELECT :second, (SELECT id FROM versions"
                " WHERE submission_id=:second), fingerprint, stage, decision, actor_id, acted_at,"
                " comment, signature FROM review_actions WHERE submission_id=:first"
            ),
            {"first": first, "second": second},
        )
    v, _, _ = verdict(org_app, second)
    assert not v.passed


def test_sign_off_is_refused_when_the_gate_fails(org_app: App) -> None:
    source = RepostSource("某自媒体", "https://example.org/a", datetime(2026, 1, 1, tzinfo=UTC))
    sub = create(org_app, repost=source)
    walk(org_app, sub, FULL[:-1])
    refused(
        org_app, lambda: act(org_app, sub, S.SIGN_OFF, "publicity"), GateRefused, "gate_refused"
    )


def test_bad_drafts_are_refused_with_every_problem(org_app: App) -> None:
    with org_app.db.session() as session, pytest.raises(InvalidInput) as info:
        submissions.create(
            session,
            org_app.blobs,
            author="author",
            department="sjgl",
            draft=draft(
                title=" ",
                channels=[
                    ChannelRequest("nowhere", shanghai_today()),
                    ChannelRequest("gov_website", shanghai_today() - timedelta(days=3)),
                ],
            ),
        )
    problems = info.value.details
    assert any("标题" in p for p in problems)
    assert any("nowhere" in p for p in problems)
    assert any("已过" in p for p in problems)


def test_reviews_are_in_the_audit_chain(org_app: App) -> None:
    sub = create(org_app)
    walk(org_app, sub)
    with org_app.db.session() as session:
        assert audit.verify(session).ok
        actions = session.scalars(select(AuditEvent.action)).all()
    assert actions.count("review.approve") == 5


def test_reviewer_aids_flag_markers_and_missing_images(org_app: App) -> None:
    sub = create(org_app, body_html='<p>本文件属机密，2023年2月30日发布</p><img src="a.png">')
    with org_app.db.session() as session:
        sha = session.get(Submission, sub).current.images[0].sha256  # type: ignore[union-attr]
    org_app.blobs.path(sha).unlink()
    _, _, aids = verdict(org_app, sub)
    codes = {a["code"] for a in aids}
    assert "image_missing" in codes
    assert len(codes) >= 3, aids


def test_the_body_is_cleaned_before_it_is_fingerprinted(org_app: App) -> None:
    body = '<p onclick="steal()">办事指南<script>steal()</script></p><style>p{}</style>'
    sub = create(org_app, body_html=body)
    with org_app.db.session() as session:
        stored = submissions.get(session, sub).current.body_html
    assert stored == "<p>办事指南</p>"


def test_only_writers_submit_or_revise(org_app: App) -> None:
    before = counts(org_app)

    def by_head() -> object:
        with org_app.db.session() as session:
            return submissions.create(
                session, org_app.blobs, author="head", department="sjgl", draft=draft()
            )

    refused(org_app, by_head, Forbidden, "not_permitted")
    assert counts(org_app) == before
    sub = create(org_app)
    with org_app.db.session() as session, pytest.raises(Forbidden):
        submissions.revise(session, org_app.blobs, sub, editor="leader", draft=draft())


@pytest.mark.parametrize("field", ["title", "body_html", "digest", "byline"])
def test_text_with_replacement_characters_is_refused(org_app: App, field: str) -> None:
    """Mojibake from any entry point (API JSON, console form, CLI) is never stored."""
    before = counts(org_app)
    with pytest.raises(InvalidInput) as info, org_app.db.session() as session:
        submissions.create(
            session,
            org_app.blobs,
            author="author",
            department="sjgl",
            draft=draft(**{field: "<p>青浦区\ufffd\ufffd办公室</p>"}),
        )
    assert info.value.code == "invalid_draft"
    assert any("乱码" in p and "UTF-8" in p for p in info.value.details)
    assert counts(org_app) == before


def test_body_files_decode_as_utf8_or_gb18030_strictly() -> None:
    text = "<p>青浦区政务服务办公室</p>"
    for encoded in (text.encode(), text.encode("utf-8-sig"), text.encode("gbk")):
        assert submissions.body_text(encoded, "x.html") == text
    with pytest.raises(InvalidInput) as info:
        submissions.body_text(b"\xff\xfe<\x00p\x00>\x00", "x.html")
    assert info.value.code == "body_not_text" and "x.html" in info.value.message


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("evil.jpg", b"<?php system($_GET['c']); ?>"),
        ("shell.jpg", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00<?php system($_GET['c']); ?>"),
        ("photo.gif", tiny_png()),
    ],
)
def test_images_that_are_not_the_image_they_claim_are_refused(
    org_app: App, name: str, data: bytes
) -> None:
    """The check every entry point shares (API, console, CLI): in the service."""
    with pytest.raises(InvalidInput) as info, org_app.db.session() as session:
        submissions.create(
            session,
            org_app.blobs,
            author="author",
            department="sjgl",
            draft=draft(images=[submissions.ImageFile(name, data)]),
        )
    assert info.value.code == "image_invalid" and name in info.value.message
