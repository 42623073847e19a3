"""A demo walk: an organisation, one submission, every stage signed, the gate's verdict."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable
from datetime import UTC, date, datetime
from importlib.resources import files
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from gate import next_stage
from gate.model import STAGE_LABELS, ChannelRequest, Decision, ReviewStage
from orchestrator.app import App
from orchestrator.devstack import FolderBusy, FolderLock
from orchestrator.errors import Conflict
from orchestrator.migrate import ensure_schema
from orchestrator.models import Department, Submission
from orchestrator.services import org, review, submissions

WALK: tuple[tuple[ReviewStage, str, str], ...] = (
    (ReviewStage.FIRST, "wangfang", "demo-pass-1"),
    (ReviewStage.SECOND, "lijun", "demo-pass-2"),
    (ReviewStage.FINAL, "zhaomin", "demo-pass-3"),
    (ReviewStage.PRINCIPAL, "chenzhu", "demo-pass-4"),
    (ReviewStage.USAGE, "zhouzh", "demo-pass-6"),
    (ReviewStage.SIGN_OFF, "sunxuan", "demo-pass-5"),
)


def tiny_png(width: int = 8, height: int = 8, rgb: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    """A valid solid-colour PNG, made without an imaging library."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    row = b"\x00" + bytes(rgb) * width
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )


def ensure_organisation(app: App, say: Callable[[str], None] = lambda _line: None) -> None:
    """The demo organisation, created once per database."""
    with app.db.session() as session:
        if session.scalar(select(Department).where(Department.code == "zhk")) is not None:
            return
        text = files("orchestrator").joinpath("data/demo-organisation.yaml").read_text("utf-8")
        spec = org.parse_organisation(text)
        org.initialise(session, spec, kdf_profile=app.settings.kdf_profile, actor="demo")
    say(
        f"已建立演示组织：{spec.organisation}（{len(spec.people)} 人，密码见 "
        "orchestrator/data/demo-organisation.yaml）"
    )


def demo_draft(
    channels: tuple[str, ...] = ("gov_website", "wechat"),
    publish_date: date | None = None,
    **changes: Any,
) -> submissions.Draft:
    day = publish_date or datetime.now(UTC).astimezone(ZoneInfo("Asia/Shanghai")).date()
    fields: dict[str, Any] = {
        "title": "青浦区政务服务“一网通办”再添新功能",
        "body_html": "<p>近日，青浦区政务服务办公室推出“一网通办”新功能，企业群众办事更便捷。</p>"
        '<p><img src="photo.png" alt="办事大厅"></p>',
        "images": [submissions.ImageFile("photo.png", tiny_png())],
        "cover": submissions.ImageFile("cover.jpg", demo_cover()),
        "channels": [ChannelRequest(c, day) for c in channels],
        "digest": "“一网通办”新功能上线",
        "byline": "数据管理发展科",
        "major_event": True,
    }
    return submissions.Draft(**(fields | changes))


def demo_cover() -> bytes:
    return files("orchestrator").joinpath("data/demo-cover.jpg").read_bytes()


def submit_and_sign_off(
    app: App,
    draft: submissions.Draft,
    say: Callable[[str], None] = lambda _line: None,
    publish_time: str | None = None,
) -> int:
    """Submit as the demo contributor and walk every stage with the demo people."""
    with app.db.session() as session:
        sub = submissions.create(
            session, app.blobs, author="wangfang", department="sjgl", draft=draft
        )
        sub_id, fp = sub.id, sub.current.fingerprint
    say(f"稿件 {sub_id} 已提交：{draft.title}（版本指纹 {fp[:16]}…）")
    walk(app, sub_id, say, publish_time, major=draft.major_event or draft.special_content)
    return sub_id


def walk(
    app: App,
    sub_id: int,
    say: Callable[[str], None],
    publish_time: str | None = None,
    *,
    major: bool,
    until: ReviewStage | None = None,
) -> None:
    """Every stage the gate waits for, with the demo people, each approving (a repost of our own
    adopted item waits for 签发 alone); with `until`, stop before that stage."""
    for stage, username, password in WALK:
        if stage is until:
            return
        if stage is ReviewStage.PRINCIPAL and not major:
            continue
        with app.db.session() as session:
            record = review.review_record(submissions.get(session, sub_id))
            waiting = next_stage(record, app.policy, now=datetime.now(UTC))
            if waiting is None:
                break
            if waiting.rank > stage.rank:
                continue
            outcome = review.review(
                session,
                sub_id,
                stage=stage,
                decision=Decision.APPROVE,
                actor=username,
                password=password,
                policy=app.policy,
                app=app,
                comment="同意",
                default_publish_time=publish_time or app.settings.default_publish_time,
            )
            signature = outcome.action.signature.hex()[:16]
            say(f"  {STAGE_LABELS[stage]}：{username} 通过，签名 {signature}…")


ALL_DEMO_CHANNELS = ("gov_website", "suishenban", "wechat", "xuexi", "lvse_qingpu")


def run(
    app: App, echo: Callable[[str], None] | None = print, publish: bool = True
) -> dict[str, Any]:
    """The walk, then (with `publish`) the real pipeline. Publishing starts a worker and a
    scheduler of the demo's own, pointed at simulated platforms, so it holds the data folder
    as `sanshen up` does: beside a running `up` (or another demo) it refuses before anything
    is written, rather than share the queues and the Redis that the other one runs."""
    if not publish:
        return _walk(app, echo, publish=False)
    data_dir = app.settings.data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    lock = FolderLock(data_dir, command="demo")
    try:
        lock.acquire()
    except FolderBusy as busy:
        raise Conflict(
            f"数据目录 {data_dir} 已有一个 sanshen {busy.command} 在运行（进程 {busy.holder}）。"
            "sanshen demo 会启动自己的发送进程、调度器和模拟平台，不能与它共用一个数据目录："
            "请先停止它（Ctrl-C），或用 sanshen --data-dir 指定另一个数据目录再运行 sanshen demo",
            code="already_running",
        ) from None
    try:
        return _walk(app, echo, publish=True)
    finally:
        lock.release()


def _walk(app: App, echo: Callable[[str], None] | None, *, publish: bool) -> dict[str, Any]:
    say = echo or (lambda _line: None)
    ensure_schema(app.db)
    ensure_organisation(app, say)
    draft = demo_draft(ALL_DEMO_CHANNELS if publish else ("gov_website", "wechat"))
    # The demo's 审批表 says "today"; it goes out now rather than at the usual morning hour.
    sub_id = submit_and_sign_off(app, draft, say, publish_time="00:00")
    with app.db.session() as session:
        verdict, _waiting, aids = review.check(
            session, sub_id, policy=app.policy, store=app.blobs, sensitive_words=app.sensitive_words
        )
        fp = submissions.get(session, sub_id).current.fingerprint
    if verdict.passed:
        say(
            f"审核闸门：通过。稿件 {sub_id} 已按审批表排期"
            "（同时对上报送的，本单位平台先待上级采用）。"
        )
    else:
        say("审核闸门：未通过：" + "；".join(v.message for v in verdict.violations))
    result: dict[str, Any] = {
        "submission": sub_id,
        "fingerprint": fp,
        "passed": verdict.passed,
        "violations": [v.code for v in verdict.violations],
        "aids": aids,
    }
    if publish and verdict.passed:
        result["publications"] = publish_demo(app, sub_id, say)
    return result


def _settle(
    app: App, sub_id: int, sims: Any, say: Callable[[str], None], timeout: float
) -> dict[str, dict[str, Any]]:
    """Wait until every row of the submission is final (or needs a person); say each."""
    import time

    from orchestrator.models import Publication
    from orchestrator.states import FINAL, NEEDS_OPERATOR, State

    deadline = time.monotonic() + timeout
    settled = {s.value for s in FINAL | NEEDS_OPERATOR}
    rows: dict[str, dict[str, Any]] = {}
    while time.monotonic() < deadline:
        with app.db.session() as session:
            pubs = session.query(Publication).filter_by(submission_id=sub_id).all()
            rows = {
                p.channel: {
                    "state": p.state,
                    "url": p.url,
                    "error": p.last_error,
                    "note": p.note,
                    "repost": bool(p.source_platform),
                }
                for p in pubs
            }
        if rows and all(r["state"] in settled for r in rows.values()):
            break
        time.sleep(0.5)
    for channel, row in rows.items():
        label = State(row["state"]).label
        tag = "（转载）" if row["repost"] else ""
        detail = row["url"] or row["error"] or (row["note"] if row["state"] == "cancelled" else "")
        say(f"  {sims.simulator(channel).display_name}{tag}：{label} {detail or ''}")
    return rows


def publish_demo(
    app: App, sub_id: int, say: Callable[[str], None], timeout: float = 120.0
) -> dict[str, dict[str, Any]]:
    """Run the real pipeline on the embedded default: Redis from the data folder, a Celery
    worker and the scheduler as processes, every platform simulated on loopback."""

    from channels.simulators.server import SimulatorServer
    from orchestrator import redis_embedded
    from orchestrator.devstack import Processes, scheduler_argv, simulator_env, worker_argv

    data_dir = app.settings.data_dir.resolve()
    redis_url = app.settings.redis_url or redis_embedded.ensure_running(data_dir)
    with SimulatorServer() as sims:
        say(f"模拟平台运行中：{sims.url}/（运营视图）")
        env = {
            "SANSHEN_DATA_DIR": str(data_dir),
            "SANSHEN_REDIS_URL": redis_url,
            "SANSHEN_KDF_PROFILE": app.settings.kdf_profile,
            "SANSHEN_SCHEDULER_INTERVAL": "0.5",
            "SANSHEN_ALERT_INTERVAL": "2",
            "SANSHEN_CONFIRM_FIRST_CHECK": "1",
        }
        if app.settings.database_url:
            env["DATABASE_URL"] = app.settings.database_url
        env |= simulator_env({name: sims.client_settings(name) for name in sims.names})
        procs = Processes(data_dir / "logs", env)
        try:
            procs.start("worker", worker_argv())
            procs.start("scheduler", scheduler_argv())
            say("发送进程（Celery worker）与调度循环已启动，等待各渠道发布结果……")
            say("对上报送先行：本单位平台等待上级平台采用后转载（待上级采用）")
            rows = _settle(app, sub_id, sims, say, timeout)
            with app.db.session() as session:
                repost = session.scalar(
                    select(Submission).where(Submission.repost_origin_id == sub_id)
                )
                repost_id = repost.id if repost is not None else None
                source = repost.current.repost_platform if repost is not None else ""
                major = bool(repost and repost.current.major_event)
            if repost_id is None:
                return rows
            say(
                f"{source}率先采用：已生成转载稿 {repost_id}（来源：{source}），"
                "其余平台的采用只登记、不再转载；转载稿与原稿一致、仅加注来源，"
                "沿用原稿的三审，经宣传分管领导签发后在本单位平台发布"
            )
            walk(app, repost_id, say, "00:00", major=major)
            return rows | _settle(app, repost_id, sims, say, timeout)
        finally:
            procs.stop_all()
            redis_embedded.stop(data_dir)  # only if this run started it
