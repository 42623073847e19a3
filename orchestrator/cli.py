"""`sanshen`: the command line. Chinese for people; `--json` on every command for scripts."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any, NoReturn
from zoneinfo import ZoneInfo

import typer
from sqlalchemy.orm import Session

from gate.model import STAGE_LABELS, ChannelRequest, Decision, RepostSource, ReviewStage
from orchestrator import audit
from orchestrator.app import App
from orchestrator.errors import GateRefused, InvalidInput, SanshenError
from orchestrator.migrate import ensure_schema, upgrade
from orchestrator.services import org, prechecks, review, submissions
from orchestrator.settings import Settings

SHANGHAI = ZoneInfo("Asia/Shanghai")

app = typer.Typer(
    help="三审发布：政务信息“三审”审核与多渠道发布",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="数据库维护", no_args_is_help=True)
person_app = typer.Typer(help="人员与角色", no_args_is_help=True)
submission_app = typer.Typer(help="稿件与版本", no_args_is_help=True)
gate_app = typer.Typer(help="审核闸门", no_args_is_help=True)
audit_app = typer.Typer(help="审计日志", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(person_app, name="person")
app.add_typer(submission_app, name="submission")
app.add_typer(gate_app, name="gate")
app.add_typer(audit_app, name="audit")

JsonOpt = Annotated[bool, typer.Option("--json", help="以 JSON 输出（供脚本使用）")]
STAGE_BY_NAME = {s.value: s for s in ReviewStage} | {label: s for s, label in STAGE_LABELS.items()}
STAGE_BY_NAME["主要领导"] = ReviewStage.PRINCIPAL


class Context:
    def __init__(self, data_dir: Path | None) -> None:
        settings = Settings() if data_dir is None else Settings(data_dir=data_dir)
        self.app = App(settings)

    @contextmanager
    def session(self) -> Iterator[Session]:
        ensure_schema(self.app.db)
        with self.app.db.session() as session:
            yield session


_ctx: Context | None = None


@app.callback()
def _main(
    data_dir: Annotated[
        Path | None,
        typer.Option(
            "--data-dir", envvar="SANSHEN_DATA_DIR", help="数据目录（缺省 ./sanshen-data）"
        ),
    ] = None,
) -> None:
    global _ctx
    _ctx = Context(data_dir)


def ctx() -> Context:
    assert _ctx is not None
    return _ctx


def fail(error: SanshenError, as_json: bool) -> NoReturn:
    if as_json:
        typer.echo(json.dumps(error.as_dict(), ensure_ascii=False))
    else:
        typer.secho(f"错误：{error.message}", err=True, fg=typer.colors.RED)
    raise typer.Exit(error.exit_code)


def run(
    as_json: bool,
    work: Callable[[], Any],
    show: Callable[[Any], None],
    status: Callable[[Any], int] = lambda _: 0,
) -> None:
    """Do the work; print its result as JSON or for people; turn refusals into exit codes."""
    try:
        result = work()
    except SanshenError as error:
        fail(error, as_json)
    if as_json:
        typer.echo(json.dumps(result, ensure_ascii=False, indent=2, default=str))
    else:
        show(result)
    code = status(result)
    if code:
        raise typer.Exit(code)


def local(value: datetime) -> str:
    return value.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")


def read_password(password_stdin: bool, prompt: str = "请输入您的密码以解锁签名私钥") -> str:
    if password_stdin:
        line = sys.stdin.readline()
        if not line:
            raise InvalidInput("标准输入中没有密码", code="no_password")
        return line.rstrip("\n")
    return str(typer.prompt(prompt, hide_input=True))


# --- db -------------------------------------------------------------------------------------


@db_app.command("upgrade", help="把数据库结构升级到最新版本")
def db_upgrade(as_json: JsonOpt = False) -> None:
    def work() -> dict[str, str]:
        upgrade(ctx().app.db)
        return {"database": ctx().app.settings.sqlalchemy_url, "status": "upgraded"}

    run(as_json, work, lambda r: typer.echo(f"数据库已升级到最新结构：{r['database']}"))


# --- organisation ---------------------------------------------------------------------------


@app.command("init", help="初始化数据库，并按 YAML 文件建立科室和人员")
def init(
    org_file: Annotated[Path, typer.Argument(help="组织 YAML 文件", exists=False)],
    as_json: JsonOpt = False,
) -> None:
    def work() -> dict[str, Any]:
        try:
            text = org_file.read_text(encoding="utf-8")
        except OSError as exc:
            raise InvalidInput(
                f"无法读取组织文件 {org_file}：{exc.strerror}", code="bad_file"
            ) from None
        spec = org.parse_organisation(text)
        with ctx().session() as session:
            created = org.initialise(session, spec, kdf_profile=ctx().app.settings.kdf_profile)
            return {
                "organisation": spec.organisation,
                "people": [
                    org.describe_person(n.person)
                    | ({"initial_password": n.password} if n.generated else {})
                    for n in created
                ],
            }

    def show(result: dict[str, Any]) -> None:
        typer.echo(f"已初始化 {result['organisation']}，共 {len(result['people'])} 人：")
        for p in result["people"]:
            extra = f"  初始密码：{p['initial_password']}" if "initial_password" in p else ""
            typer.echo(f"  {p['username']:<12} {p['name']}  {','.join(p['roles'])}{extra}")

    run(as_json, work, show)


@person_app.command("add", help="新增人员（生成签名密钥，私钥以其密码加密保存）")
def person_add(
    username: str,
    name: Annotated[str, typer.Option(help="姓名")],
    department: Annotated[str | None, typer.Option(help="科室/窗口代码")] = None,
    role: Annotated[list[str] | None, typer.Option("--role", help="角色，可多次给出")] = None,
    password_stdin: Annotated[bool, typer.Option(help="从标准输入读取密码")] = False,
    as_json: JsonOpt = False,
) -> None:
    def work() -> dict[str, Any]:
        password = read_password(password_stdin, "为该人员设置密码（至少 8 位）")
        spec = org.PersonSpec(
            username=username, name=name, department=department, roles=role or [], password=password
        )
        with ctx().session() as session:
            created = org.add_person(
                session, spec, kdf_profile=ctx().app.settings.kdf_profile, actor="cli"
            )
            return org.describe_person(created.person)

    run(as_json, work, lambda r: typer.echo(f"已新增人员 {r['username']}（{r['name']}）"))


@person_app.command("grant", help="授予角色（自当前时刻起生效）")
def person_grant(username: str, role: str, as_json: JsonOpt = False) -> None:
    def work() -> dict[str, Any]:
        with ctx().session() as session:
            person = org.person_by_username(session, username)
            org.grant_role(session, person, org.parse_role(role), actor="cli")
            return org.describe_person(person)

    run(as_json, work, lambda r: typer.echo(f"{r['username']} 当前角色：{','.join(r['roles'])}"))


@person_app.command("revoke", help="撤销角色（自当前时刻起失效，历史签名不受影响）")
def person_revoke(username: str, role: str, as_json: JsonOpt = False) -> None:
    def work() -> dict[str, Any]:
        with ctx().session() as session:
            person = org.person_by_username(session, username)
            org.revoke_role(session, person, org.parse_role(role), actor="cli")
            return org.describe_person(person)

    run(as_json, work, lambda r: typer.echo(f"{r['username']} 当前角色：{','.join(r['roles'])}"))


@person_app.command("list", help="列出人员及其当前角色")
def person_list(as_json: JsonOpt = False) -> None:
    def work() -> list[dict[str, Any]]:
        with ctx().session() as session:
            return [org.describe_person(p) for p in org.all_people(session)]

    def show(rows: list[dict[str, Any]]) -> None:
        for p in rows:
            typer.echo(
                f"{p['username']:<12} {p['name']:<8} {p['department'] or '-':<8} "
                f"{','.join(p['roles'])}"
            )

    run(as_json, work, show)


# --- submissions ----------------------------------------------------------------------------


def parse_channel(text: str, catalogue: dict[str, str]) -> ChannelRequest:
    """渠道:日期[:备注], e.g. 政府网站:2026-12-01 or wechat:2026-12-01:头条."""
    parts = text.split(":", 2)
    if len(parts) < 2:
        raise InvalidInput(f"渠道“{text}”格式应为 渠道:YYYY-MM-DD[:备注]", code="bad_channel")
    try:
        when = date.fromisoformat(parts[1])
    except ValueError:
        raise InvalidInput(f"渠道“{text}”的发布日期“{parts[1]}”无效", code="bad_date") from None
    name = submissions.resolve_channel(parts[0], catalogue)
    return ChannelRequest(name, when, parts[2] if len(parts) == 3 else "")


def read_file(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InvalidInput(f"无法读取{what} {path}：{exc.strerror}", code="bad_file") from None


def build_draft(
    title: str,
    body: Path,
    image: list[Path] | None,
    cover: Path | None,
    channel: list[str],
    digest: str,
    byline: str,
    major_event: bool,
    special_content: bool,
    repost_platform: str | None,
    repost_url: str | None,
    repost_time: str | None,
) -> submissions.Draft:
    catalogue = submissions.channel_catalogue()
    repost = None
    if repost_platform or repost_url or repost_time:
        if not (repost_platform and repost_url and repost_time):
            raise InvalidInput(
                "转载须同时给出 --repost-platform、--repost-url 和 --repost-time",
                code="repost_incomplete",
            )
        try:
            published = datetime.fromisoformat(repost_time)
        except ValueError:
            raise InvalidInput(f"转载首发时间“{repost_time}”无效", code="bad_date") from None
        if published.tzinfo is None:
            published = published.replace(tzinfo=SHANGHAI)
        repost = RepostSource(repost_platform, repost_url, published)
    return submissions.Draft(
        title=title,
        body_html=read_file(body, "正文文件").decode("utf-8", errors="replace"),
        channels=[parse_channel(c, catalogue) for c in channel],
        images=[submissions.ImageFile(p.name, read_file(p, "图片")) for p in image or []],
        cover=submissions.ImageFile(cover.name, read_file(cover, "封面")) if cover else None,
        digest=digest,
        byline=byline,
        major_event=major_event,
        special_content=special_content,
        repost=repost,
    )


TitleOpt = Annotated[str, typer.Option(help="标题")]
BodyOpt = Annotated[Path, typer.Option(help='正文 HTML 文件；<img src="文件名"> 指向 --image')]
ImageOpt = Annotated[list[Path] | None, typer.Option("--image", help="图片文件，可多次给出")]
CoverOpt = Annotated[Path | None, typer.Option(help="封面图片（微信公众号需要）")]
ChannelOpt = Annotated[list[str], typer.Option("--channel", help="发布渠道:日期[:备注]，可多次")]
DigestOpt = Annotated[str, typer.Option(help="摘要")]
BylineOpt = Annotated[str, typer.Option(help="署名")]
MajorOpt = Annotated[bool, typer.Option("--major-event", help="涉及重大事件（需主要领导审定）")]
SpecialOpt = Annotated[
    bool, typer.Option("--special-content", help="涉及特殊内容（需主要领导审定）")
]
RepostPOpt = Annotated[str | None, typer.Option(help="转载来源平台，如 学习强国")]
RepostUOpt = Annotated[str | None, typer.Option(help="转载来源网址")]
RepostTOpt = Annotated[str | None, typer.Option(help="转载来源首发时间（ISO 格式）")]


@submission_app.command("create", help="新建稿件（第 1 版）")
def submission_create(
    author: Annotated[str, typer.Option(help="供稿人用户名")],
    department: Annotated[str, typer.Option(help="申请科室/窗口代码")],
    title: TitleOpt,
    body: BodyOpt,
    channel: ChannelOpt,
    image: ImageOpt = None,
    cover: CoverOpt = None,
    digest: DigestOpt = "",
    byline: BylineOpt = "",
    major_event: MajorOpt = False,
    special_content: SpecialOpt = False,
    repost_platform: RepostPOpt = None,
    repost_url: RepostUOpt = None,
    repost_time: RepostTOpt = None,
    as_json: JsonOpt = False,
) -> None:
    def work() -> dict[str, Any]:
        draft = build_draft(
            title,
            body,
            image,
            cover,
            channel,
            digest,
            byline,
            major_event,
            special_content,
            repost_platform,
            repost_url,
            repost_time,
        )
        with ctx().session() as session:
            created = submissions.create(
                session, ctx().app.blobs, author=author, department=department, draft=draft
            )
            return describe_submission(created)

    run(as_json, work, show_submission)


@submission_app.command("revise", help="修改稿件：生成新版本，旧版本的审核意见不再有效")
def submission_revise(
    submission_id: int,
    editor: Annotated[str, typer.Option(help="修改人用户名")],
    title: TitleOpt,
    body: BodyOpt,
    channel: ChannelOpt,
    image: ImageOpt = None,
    cover: CoverOpt = None,
    digest: DigestOpt = "",
    byline: BylineOpt = "",
    major_event: MajorOpt = False,
    special_content: SpecialOpt = False,
    repost_platform: RepostPOpt = None,
    repost_url: RepostUOpt = None,
    repost_time: RepostTOpt = None,
    as_json: JsonOpt = False,
) -> None:
    def work() -> dict[str, Any]:
        draft = build_draft(
            title,
            body,
            image,
            cover,
            channel,
            digest,
            byline,
            major_event,
            special_content,
            repost_platform,
            repost_url,
            repost_time,
        )
        with ctx().session() as session:
            submissions.revise(session, ctx().app.blobs, submission_id, editor=editor, draft=draft)
            return describe_submission(submissions.get(session, submission_id))

    run(as_json, work, show_submission)


@submission_app.command("show", help="查看稿件、版本和审核记录")
def submission_show(submission_id: int, as_json: JsonOpt = False) -> None:
    def work() -> dict[str, Any]:
        with ctx().session() as session:
            return describe_submission(submissions.get(session, submission_id))

    run(as_json, work, show_submission)


def describe_submission(sub: Any) -> dict[str, Any]:
    version = sub.current
    return {
        "id": sub.id,
        "uid": sub.uid,
        "department": sub.department.code,
        "author": sub.author.username,
        "version": version.number,
        "fingerprint": version.fingerprint,
        "title": version.title,
        "major_event": version.major_event,
        "special_content": version.special_content,
        "channels": [
            {"channel": c.channel, "publish_date": c.publish_date.isoformat(), "remark": c.remark}
            for c in version.channels
        ],
        "images": [{"filename": i.filename, "sha256": i.sha256} for i in version.images],
        "repost_source": None
        if not version.repost_platform
        else {
            "platform": version.repost_platform,
            "url": version.repost_url,
            "published_at": version.repost_published_at,
        },
        "reviews": [
            {
                "id": a.id,
                "stage": a.stage,
                "decision": a.decision,
                "actor": a.actor.username,
                "acted_at": a.acted_at,
                "comment": a.comment,
                "version_fingerprint": a.fingerprint,
                "for_current_version": a.fingerprint == version.fingerprint,
            }
            for a in sub.actions
        ],
    }


def show_submission(r: dict[str, Any]) -> None:
    typer.echo(
        f"稿件 {r['id']}：{r['title']}（第 {r['version']} 版，指纹 {r['fingerprint'][:16]}…）"
    )
    for c in r["channels"]:
        typer.echo(f"  发布形式 {c['channel']}  发布日期 {c['publish_date']}  {c['remark']}")
    for a in r["reviews"]:
        stage = STAGE_LABELS[ReviewStage(a["stage"])]
        old = "" if a["for_current_version"] else "（旧版本）"
        typer.echo(
            f"  {local(a['acted_at'])} {stage} {Decision(a['decision']).label} "
            f"{a['actor']} {a['comment']}{old}"
        )


# --- review ---------------------------------------------------------------------------------


def parse_stage(text: str) -> ReviewStage:
    stage = STAGE_BY_NAME.get(text.strip())
    if stage is None:
        names = "、".join(STAGE_LABELS.values())
        raise InvalidInput(f"未知审核环节“{text}”。可用：{names}", code="unknown_stage")
    return stage


def do_review(
    submission_id: int,
    stage_name: str,
    decision: Decision,
    actor: str,
    comment: str,
    password_stdin: bool,
    as_json: bool,
) -> None:
    def work() -> dict[str, Any]:
        stage = parse_stage(stage_name)
        password = read_password(password_stdin)
        with ctx().session() as session:
            outcome = review.review(
                session,
                submission_id,
                stage=stage,
                decision=decision,
                actor=actor,
                password=password,
                policy=ctx().app.policy,
                default_publish_time=ctx().app.settings.default_publish_time,
                comment=comment,
            )
            return {
                "action": outcome.action.id,
                "stage": stage.value,
                "decision": decision.value,
                "signature": outcome.action.signature.hex(),
                "waiting": outcome.waiting.value if outcome.waiting else None,
                "gate_passed": outcome.verdict.passed,
            }

    def show(r: dict[str, Any]) -> None:
        stage = STAGE_LABELS[ReviewStage(r["stage"])]
        typer.echo(f"已记录 {stage}{Decision(r['decision']).label}，签名 {r['signature'][:16]}…")
        if r["gate_passed"]:
            typer.secho("审核闸门：通过，可以发布", fg=typer.colors.GREEN)
        elif r["waiting"]:
            typer.echo(f"下一步：{STAGE_LABELS[ReviewStage(r['waiting'])]}")

    run(as_json, work, show)


ActorOpt = Annotated[str, typer.Option("--as", help="审核人用户名")]
CommentOpt = Annotated[str, typer.Option(help="审核意见")]
PwOpt = Annotated[bool, typer.Option(help="从标准输入读取密码（供脚本使用）")]


@app.command("review", help="审核：初审、复审、终审、主要领导审定（需再次输入密码以签名）")
def review_cmd(
    submission_id: int,
    stage: Annotated[str, typer.Option(help="审核环节：初审/复审/终审/主要领导审定")],
    actor: ActorOpt,
    approve: Annotated[bool, typer.Option("--approve", help="通过")] = False,
    return_: Annotated[bool, typer.Option("--return", help="退回")] = False,
    reject: Annotated[bool, typer.Option("--reject", help="驳回")] = False,
    comment: CommentOpt = "",
    password_stdin: PwOpt = False,
    as_json: JsonOpt = False,
) -> None:
    chosen = [
        d
        for d, on in (
            (Decision.APPROVE, approve),
            (Decision.RETURN, return_),
            (Decision.REJECT, reject),
        )
        if on
    ]
    if len(chosen) != 1:
        fail(
            InvalidInput(
                "请在 --approve、--return、--reject 中选择且只选择一个", code="decision_required"
            ),
            as_json,
        )
    do_review(submission_id, stage, chosen[0], actor, comment, password_stdin, as_json)


@app.command("signoff", help="签发（宣传分管领导）：审核闸门通过才会记录")
def signoff_cmd(
    submission_id: int,
    actor: ActorOpt,
    comment: CommentOpt = "",
    password_stdin: PwOpt = False,
    as_json: JsonOpt = False,
) -> None:
    do_review(
        submission_id,
        ReviewStage.SIGN_OFF.value,
        Decision.APPROVE,
        actor,
        comment,
        password_stdin,
        as_json,
    )


# --- gate -----------------------------------------------------------------------------------


@gate_app.command("check", help="审核闸门：列出全部违规原因和审核辅助提示")
def gate_check(submission_id: int, as_json: JsonOpt = False) -> None:
    def work() -> dict[str, Any]:
        a = ctx().app
        with ctx().session() as session:
            verdict, waiting, aids = review.check(
                session,
                submission_id,
                policy=a.policy,
                store=a.blobs,
                sensitive_words=a.sensitive_words,
            )
            return {
                "submission": submission_id,
                "passed": verdict.passed,
                "waiting": waiting.value if waiting else None,
                "violations": [
                    {
                        "code": v.code,
                        "message": v.message,
                        "stage": v.stage.value if v.stage else None,
                        "action": v.action_id,
                    }
                    for v in verdict.violations
                ],
                "aids": aids,
                "channel_problems": prechecks.channel_problems(session, a, submission_id),
            }

    def show(r: dict[str, Any]) -> None:
        if r["passed"]:
            typer.secho(f"稿件 {r['submission']}：审核闸门通过，可以发布", fg=typer.colors.GREEN)
        else:
            typer.secho(f"稿件 {r['submission']}：审核闸门未通过", fg=typer.colors.RED)
            for v in r["violations"]:
                typer.echo(f"  ✗ [{v['code']}] {v['message']}")
        for a in r["aids"]:
            typer.echo(f"  ! 审核提示 [{a['code']}] {a['message']}")
        for p in r["channel_problems"]:
            typer.echo(f"  ! 渠道预检 [{p['code']}] {p['message']}")

    run(as_json, work, show, status=lambda r: 0 if r["passed"] else GateRefused.exit_code)


# --- audit ----------------------------------------------------------------------------------


@audit_app.command("verify", help="重新计算审计哈希链，指出第一条被改动、插入或删除的记录")
def audit_verify(
    checkpoint: Annotated[str | None, typer.Option(help="此前保存的检查点（序号:哈希）")] = None,
    as_json: JsonOpt = False,
) -> None:
    def work() -> dict[str, Any]:
        with ctx().session() as session:
            return audit.verify(session, checkpoint).as_dict()

    def show(r: dict[str, Any]) -> None:
        if r["ok"]:
            typer.secho(f"审计链完整：共 {r['rows']} 条，链头 {r['head']}", fg=typer.colors.GREEN)
        else:
            typer.secho(f"审计链被破坏：{r['problem']}", fg=typer.colors.RED)

    run(as_json, work, show, status=lambda r: 0 if r["ok"] else 7)


@audit_app.command("checkpoint", help="输出当前链头（序号:哈希），请保存在数据库之外")
def audit_checkpoint(as_json: JsonOpt = False) -> None:
    def work() -> dict[str, str]:
        with ctx().session() as session:
            return {"checkpoint": audit.checkpoint(session)}

    run(as_json, work, lambda r: typer.echo(r["checkpoint"]))


# --- demo and simulators --------------------------------------------------------------------


@app.command(
    "demo",
    help="演示：建立演示组织，一篇稿件走完初审到签发，"
    "再经内置 Redis、发送进程和模拟平台发布到各渠道",
)
def demo_cmd(
    publish: Annotated[bool, typer.Option("--publish/--no-publish", help="签发后是否发布")] = True,
    as_json: JsonOpt = False,
) -> None:
    from orchestrator import demo

    def work() -> dict[str, Any]:
        return demo.run(ctx().app, echo=None if as_json else typer.echo, publish=publish)

    run(as_json, work, lambda r: None, status=lambda r: 0 if r["passed"] else GateRefused.exit_code)


@app.command("simulate", help="在本机回环地址上启动全部平台模拟器（含运营视图），Ctrl-C 停止")
def simulate_cmd(
    host: Annotated[str, typer.Option(help="监听地址（仅限本机回环）")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="端口")] = 8900,
    faults: Annotated[
        Path | None, typer.Option(help="故障注入配置 YAML：{平台名: {rates: {5xx: 0.1}, ...}}")
    ] = None,
) -> None:
    from channels.simulators import server

    config: dict[str, Any] = {}
    if faults is not None:
        import yaml

        try:
            config = yaml.safe_load(faults.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            fail(InvalidInput(f"故障配置文件无法读取：{exc}", code="bad_faults"), False)
    from channels.simulators.base import FaultConfig

    try:
        knobs = {name: FaultConfig.model_validate(value) for name, value in config.items()}
    except (ValueError, TypeError) as exc:
        fail(InvalidInput(f"故障配置有误：{exc}", code="bad_faults"), False)
    from channels.registry import RegistryError

    try:
        server.main(host=host, port=port, faults=knobs)
    except RegistryError as exc:
        fail(InvalidInput(f"故障配置有误：{exc}", code="bad_faults"), False)
    except OSError as exc:
        fail(
            InvalidInput(f"无法在 {host}:{port} 上启动：{exc.strerror}", code="port_unavailable"),
            False,
        )


@app.command("scheduler", help="调度循环：按时把到期的发布投入队列，并定期核对结果")
def scheduler_cmd() -> None:
    import logging
    import signal
    import threading

    from tasks import scheduler

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    typer.echo("调度循环已启动，Ctrl-C 停止")
    try:
        scheduler.run(stop)
    except KeyboardInterrupt:
        stop.set()


@app.command("worker", help="启动 Celery 发送进程（消费全部渠道队列）")
def worker_cmd(
    concurrency: Annotated[int, typer.Option(help="并发进程数")] = 2,
) -> None:
    from channels.registry import channel_entries
    from tasks.app import CONTROL_QUEUE, queue_for
    from tasks.app import app as celery_app

    queues = ",".join([CONTROL_QUEUE] + [queue_for(e.name) for e in channel_entries()])
    celery_app.worker_main(
        [
            "worker",
            "-Q",
            queues,
            "-c",
            str(concurrency),
            "--without-gossip",
            "--without-mingle",
            "-E",
            "--loglevel",
            "INFO",
        ]
    )


@app.command("api", help="启动 HTTP 服务（健康检查、平台回调）")
def api_cmd(
    host: Annotated[str, typer.Option(help="监听地址")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="端口")] = 8800,
) -> None:
    import uvicorn

    uvicorn.run("orchestrator.api:api", host=host, port=port, log_level="warning")


# --- publications ---------------------------------------------------------------------------

pub_app = typer.Typer(help="各渠道发布：查看、改期、取消、撤稿、重发、确认", no_args_is_help=True)
upward_app = typer.Typer(help="综合科：对上报送队列与转载", no_args_is_help=True)
app.add_typer(pub_app, name="publication")
app.add_typer(upward_app, name="upward")


def publisher() -> Any:
    from orchestrator.services.publishing import ChannelHub, MemoryRateGate, Publisher

    return Publisher(ctx().app, ChannelHub(), MemoryRateGate())


def describe_publication(pub: Any, with_attempts: bool = False) -> dict[str, Any]:
    from orchestrator.states import State

    out = {
        "id": pub.id,
        "submission": pub.submission_id,
        "version": pub.version.number,
        "title": pub.version.title,
        "channel": pub.channel,
        "state": pub.state,
        "state_label": State(pub.state).label,
        "scheduled_at": pub.scheduled_at,
        "late": pub.late,
        "attempts": pub.attempts,
        "external_id": pub.external_id,
        "url": pub.url,
        "source": {"platform": pub.source_platform, "url": pub.source_url}
        if pub.source_platform
        else None,
        "last_error": pub.last_error,
        "note": pub.note,
    }
    if with_attempts:
        out["attempt_log"] = [
            {
                "operation": a.operation,
                "started_at": a.started_at,
                "duration_ms": a.duration_ms,
                "outcome": a.outcome,
                "error_class": a.error_class,
                "message": a.message,
            }
            for a in pub.attempt_rows
        ]
    return out


def show_publications(rows: list[dict[str, Any]]) -> None:
    if not rows:
        typer.echo("（没有发布记录）")
    for r in rows:
        late = " [逾期]" if r["late"] else ""
        typer.echo(
            f"{r['id']:>5} 稿件{r['submission']:<4} {r['channel']:<12} {r['state_label']}{late}"
            f"  计划 {local(r['scheduled_at'])}  {r['url'] or r['last_error'] or ''}"
        )


@app.command("publications", help="列出各渠道发布状态（可按稿件、状态、渠道筛选）")
def publications_cmd(
    submission: Annotated[int | None, typer.Option(help="稿件编号")] = None,
    state: Annotated[str | None, typer.Option(help="状态，如 failed")] = None,
    channel: Annotated[str | None, typer.Option(help="渠道名")] = None,
    as_json: JsonOpt = False,
) -> None:
    from sqlalchemy import select

    from orchestrator.models import Publication

    def work() -> list[dict[str, Any]]:
        with ctx().session() as session:
            query = select(Publication).order_by(Publication.scheduled_at, Publication.id)
            if submission is not None:
                query = query.where(Publication.submission_id == submission)
            if state:
                query = query.where(Publication.state == state)
            if channel:
                query = query.where(Publication.channel == channel)
            return [describe_publication(p) for p in session.scalars(query)]

    run(as_json, work, show_publications)


@pub_app.command("show", help="查看一个发布及其每次尝试")
def publication_show(pub_id: int, as_json: JsonOpt = False) -> None:
    from orchestrator.services.publishing import get_publication

    def work() -> dict[str, Any]:
        with ctx().session() as session:
            return describe_publication(get_publication(session, pub_id), with_attempts=True)

    def show(r: dict[str, Any]) -> None:
        show_publications([r])
        for a in r["attempt_log"]:
            typer.echo(
                f"      {local(a['started_at'])} {a['operation']} {a['outcome']} "
                f"{a['duration_ms']}ms {a['message'] or ''}"
            )

    run(as_json, work, show)


def parse_when(text: str) -> datetime:
    if text in ("now", "现在"):
        return datetime.now(SHANGHAI)
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"时间“{text}”无效，应为 YYYY-MM-DD HH:MM", code="bad_time") from None
    return when if when.tzinfo else when.replace(tzinfo=SHANGHAI)


ReasonOpt = Annotated[str, typer.Option(help="原因")]


@pub_app.command("reschedule", help="改期（或 --at now 立即发布）：发送开始前均可")
def publication_reschedule(
    pub_id: int,
    at: Annotated[str, typer.Option(help="新的发布时间")],
    actor: ActorOpt,
    as_json: JsonOpt = False,
) -> None:
    def work() -> dict[str, Any]:
        publisher().reschedule(pub_id, when=parse_when(at), actor=actor)
        return {"publication": pub_id, "scheduled_at": parse_when(at)}

    run(as_json, work, lambda r: typer.echo(f"发布 {pub_id} 已改期至 {local(r['scheduled_at'])}"))


@pub_app.command("cancel", help="取消尚未开始发送的发布")
def publication_cancel(
    pub_id: int, actor: ActorOpt, reason: ReasonOpt = "", as_json: JsonOpt = False
) -> None:
    def work() -> dict[str, Any]:
        publisher().cancel(pub_id, reason=reason, actor=actor)
        return {"publication": pub_id, "state": "cancelled"}

    run(as_json, work, lambda r: typer.echo(f"发布 {pub_id} 已取消"))


@pub_app.command("retract", help="撤稿（单个渠道）")
def publication_retract(
    pub_id: int, actor: ActorOpt, reason: ReasonOpt, as_json: JsonOpt = False
) -> None:
    def work() -> dict[str, Any]:
        return {
            "publication": pub_id,
            "state": publisher().retract(pub_id, reason=reason, actor=actor),
        }

    run(as_json, work, lambda r: typer.echo(f"发布 {pub_id} 已撤稿"))


@app.command("retract", help="撤稿：撤回一篇稿件在所有渠道的发布")
def retract_all_cmd(
    submission_id: int, actor: ActorOpt, reason: ReasonOpt, as_json: JsonOpt = False
) -> None:
    def work() -> dict[str, str]:
        return publisher().retract_all(submission_id, reason=reason, actor=actor)

    def show(results: dict[str, str]) -> None:
        for channel, outcome in results.items():
            typer.echo(f"  {channel}: {'已撤稿' if outcome == 'retracted' else outcome}")

    run(as_json, work, show, status=lambda r: 0 if all(v == "retracted" for v in r.values()) else 5)


@pub_app.command("retry", help="重发失败的发布；“结果未确认”的须先在平台核对并加 --checked")
def publication_retry(
    pub_id: int,
    actor: ActorOpt,
    checked: Annotated[bool, typer.Option(help="已在平台核对确认未发布")] = False,
    as_json: JsonOpt = False,
) -> None:
    def work() -> dict[str, Any]:
        publisher().retry(pub_id, actor=actor, checked=checked)
        return {"publication": pub_id, "state": "queued"}

    run(as_json, work, lambda r: typer.echo(f"发布 {pub_id} 已重新排队"))


@pub_app.command("confirm", help="人工确认已在平台发布（或综合科登记上级平台已采用）")
def publication_confirm(
    pub_id: int,
    url: Annotated[str, typer.Option(help="发布链接")],
    actor: ActorOpt,
    as_json: JsonOpt = False,
) -> None:
    def work() -> dict[str, Any]:
        publisher().confirm_by_hand(pub_id, url=url, actor=actor)
        return {"publication": pub_id, "state": "published", "url": url}

    run(as_json, work, lambda r: typer.echo(f"发布 {pub_id} 已确认发布：{url}"))


@upward_app.command("queue", help="对上报送队列：学习强国、绿色青浦等的报送与采用情况")
def upward_queue(as_json: JsonOpt = False) -> None:
    from sqlalchemy import select

    from channels.base import ChannelKind
    from channels.registry import load_channels
    from orchestrator.models import Publication

    def work() -> list[dict[str, Any]]:
        upward = [n for n, c in load_channels().items() if c.kind is ChannelKind.UPWARD]
        with ctx().session() as session:
            query = (
                select(Publication)
                .where(Publication.channel.in_(upward))
                .order_by(Publication.scheduled_at)
            )
            return [describe_publication(p) for p in session.scalars(query)]

    run(as_json, work, show_publications)


@upward_app.command("repost", help="转载：为已被上级平台采用的报送生成转载稿（仍须三审）")
def upward_repost(
    pub_id: int,
    actor: ActorOpt,
    channel: Annotated[
        list[str] | None, typer.Option("--channel", help="转载渠道，缺省为本单位全部平台")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    from orchestrator.permissions import require
    from orchestrator.services import reposts
    from orchestrator.services.publishing import get_publication

    def work() -> dict[str, Any]:
        from channels.base import ChannelKind

        with ctx().session() as session:
            require(session, actor, "repost", ChannelKind.UPWARD, datetime.now(SHANGHAI))
            catalogue = submissions.channel_catalogue()
            names = [submissions.resolve_channel(c, catalogue) for c in channel or []]
            sub = reposts.draft_repost(
                session,
                ctx().app,
                get_publication(session, pub_id),
                actor=actor,
                channels=names or None,
            )
            return describe_submission(sub)

    run(as_json, work, show_submission)
