"""Configuration from environment variables (12-factor), with defaults that work locally."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


def _seconds(default: float, description: str) -> Any:
    """A duration in seconds: more than zero."""
    return Field(default=default, gt=0, description=description)


def _at_least_one(default: int, description: str) -> Any:
    """A count, or a whole number of minutes or hours: one at least."""
    return Field(default=default, ge=1, description=description)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SANSHEN_", extra="ignore")

    data_dir: Path = Field(default=Path("sanshen-data"), description="数据目录：数据库、图片、密钥")
    database_url: str | None = Field(
        default=None,
        validation_alias="DATABASE_URL",
        description="SQLAlchemy 连接串；缺省为数据目录下的 SQLite 文件",
    )
    kdf_profile: Literal["interactive", "moderate", "sensitive", "min"] = Field(
        default="interactive",
        description="签名私钥口令派生（argon2id）强度；min 仅供测试",
    )
    policy_file: Path | None = Field(
        default=None, description="审核策略 YAML 文件（缺省为《三审制度》的规则）"
    )
    sensitive_words_file: Path | None = Field(
        default=None, description="敏感词表文件（每行一个词），追加到内置词表"
    )
    redis_url: str | None = Field(
        default=None,
        description="Redis 地址（Celery 队列、限流闸、令牌共享）；缺省在数据目录启动内置 Redis",
    )
    default_publish_time: str = Field(
        default="09:00", pattern=r"^\d{2}:\d{2}$", description="审批表只写日期时的默认发布时刻"
    )
    scheduler_interval: float = _seconds(0.5, "celery beat 扫描到期发布的间隔（秒）")
    scheduler_safety_scan: float = _seconds(
        5.0, "sanshen scheduler 的安全扫描间隔（秒）：到期即唤醒，唤醒消息丢失时最迟在此后发现"
    )
    max_queued_per_channel: int = _at_least_one(
        20, "每个渠道同时排队的发布上限（其余留在数据库中待调度）"
    )
    reconcile_interval: float = _seconds(
        1.0, "核对（对账）轮次间隔（秒）：每轮只查已到查询时间的稿件，轮次密则查询分散、不扎堆"
    )
    reconcile_batch: int = _at_least_one(
        20, "每轮最多核对的稿件数（发送中、已提交各计），其余留待下一轮"
    )
    reconcile_concurrency: int = Field(
        default=4, ge=1, le=32, description="核对时同时向平台查询的条数（线程数）"
    )
    alert_interval: float = _seconds(15.0, "告警扫描与推送间隔（秒）")
    verify_interval: float = _seconds(
        10.0,
        "发布核验（巡检）轮次间隔（秒）：小批常轮，CPU 不集中占用",
    )
    verify_every: float = _seconds(86400.0, "在线稿件的巡检周期（秒），缺省每天一次")
    verify_first_day_every: float = _seconds(
        3600.0, "发布后第一天内的巡检周期（秒），缺省每小时一次"
    )
    verify_retry_after: float = _seconds(600.0, "页面无法访问时，多久后再核验（秒）")
    verify_batch: int = _at_least_one(8, "每轮最多核验的页面数")
    verify_concurrency: int = Field(
        default=4, ge=1, le=32, description="核验时同时抓取的页面数（每个主机另有限制）"
    )
    verify_per_host: int = Field(
        default=2, ge=1, le=16, description="同一主机同时抓取的页面数上限（礼貌抓取）"
    )
    verify_host_rate: float = Field(
        default=2.0, gt=0, description="同一主机每秒最多开始抓取的页面数"
    )
    verify_read_timeout: float = _seconds(10.0, "抓取页面的读取超时（秒）")
    verify_max_bytes: int = Field(
        default=5 * 1024 * 1024, ge=1024, description="抓取页面的大小上限（字节）"
    )
    takedown_check_interval: float = _seconds(
        300.0, "待人工撤下的稿件多久核验一次页面是否已删除（秒）"
    )
    retry_max_attempts: int = _at_least_one(6, "每个渠道最多发送尝试次数")
    retry_window: float = _seconds(3600, "自首次尝试起重试的最长时间（秒）")
    retry_base_delay: float = _seconds(5, "指数退避的起始间隔（秒）")
    retry_max_delay: float = _seconds(300, "单次退避上限（秒）")
    task_time_limit: int = Field(default=120, ge=5, description="单次发送任务的硬时限（秒）")
    settle_after: float = _seconds(150, "“发送中”超过此时间即向平台核对（秒，须大于任务时限）")
    settle_max_checks: int = _at_least_one(
        8, "“发送中”稿件向平台核对失败的最多次数，达到即转为“结果未确认”交人工核对"
    )
    settle_window: float = _seconds(
        3600, "自开始发送起向平台核对的最长时间（秒），超过即转为“结果未确认”"
    )
    queued_stale_after: float = _seconds(120, "排队超过此时间重新投递（秒）")
    unconfirmed_after: float = _seconds(
        7200, "本单位平台已提交但迟迟未确认，超过此时间转为“结果未确认”（秒）"
    )
    upward_unconfirmed_after: float = _seconds(
        14 * 86400, "对上报送等待采用的最长时间（秒），超过转为“结果未确认”"
    )
    confirm_first_check: float = _seconds(30, "提交后首次向平台查询结果（秒）")
    confirm_max_interval: float = _seconds(3600, "查询结果的最长间隔（秒）")
    upward_hold_days: int = Field(
        default=3,
        ge=1,
        le=30,
        description="同时对上报送的稿件，本单位平台等待上级采用的工作日数；超过即告警，由综合科放行或撤下",
    )
    auto_repost: bool = Field(
        default=True, description="对上报送被采用后自动生成转载稿（仍须三审）"
    )

    worker_concurrency: int = Field(
        default=8,
        ge=1,
        le=64,
        description="发送进程（Celery 进程池）的并发数：发布多在等平台应答，可多于 CPU 核数",
    )
    worker_max_memory_mb: int = Field(
        default=150,
        ge=50,
        description="发送进程单个子进程的内存上限（MB），超过则在当前任务完成后换新进程",
    )
    alert_wecom_url: SecretStr | None = Field(
        default=None,
        description="企业微信群机器人 Webhook 地址（含 key，按密钥保管）；留空则不推送",
    )
    alert_webhook_url: SecretStr | None = Field(
        default=None,
        description="告警 Webhook 地址（POST JSON：kind、publication_id、channel、title、state、"
        "message、at）；留空则不推送",
    )
    alert_overdue_after: float = _seconds(
        900, "到了发布时间仍未发出（待发布或排队中）超过此时长即告警“逾期未发”（秒）"
    )
    alert_max_attempts: int = _at_least_one(8, "每条告警最多推送几次，之后标记为推送失败")
    alert_retry_base_delay: float = _seconds(30, "告警推送失败后首次重试的间隔（秒），之后每次加倍")
    alert_retry_max_delay: float = _seconds(3600, "告警推送重试的最长间隔（秒）")
    public_url: str = Field(
        default="http://127.0.0.1:8000",
        description="控制台对外地址：通知中的链接以此开头（如 https://sanshen.example.gov.cn）",
    )
    wecom_corp_id: str | None = Field(
        default=None, description="企业微信企业 ID（通知用）；留空则不发企业微信通知"
    )
    wecom_secret: SecretStr | None = Field(
        default=None, description="企业微信自建应用的 Secret（按密钥保管）"
    )
    wecom_agent_id: int | None = Field(default=None, description="企业微信自建应用的 AgentId")
    wecom_base_url: str = Field(
        default="https://qyapi.weixin.qq.com", description="企业微信服务端 API 地址"
    )
    smtp_host: str | None = Field(
        default=None, description="通知邮件的 SMTP 服务器；留空则不发邮件通知"
    )
    smtp_port: int = Field(default=465, ge=1, le=65535, description="SMTP 端口")
    smtp_username: str = Field(default="", description="SMTP 登录名（可空）")
    smtp_password: SecretStr | None = Field(default=None, description="SMTP 密码（按密钥保管）")
    smtp_tls: Literal["none", "starttls", "ssl"] = Field(
        default="ssl", description="SMTP 加密方式：none、starttls 或 ssl"
    )
    smtp_sender: str = Field(default="sanshen@localhost", description="通知邮件的发件人地址")
    notify_interval: float = _seconds(10.0, "通知扫描与发送间隔（秒）")
    notify_digest_at: str = Field(
        default="08:30",
        pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$",
        description="选择每日汇总的人，每天几点（上海时间）收到前一段时间的通知汇总",
    )
    notify_max_attempts: int = _at_least_one(8, "每条通知最多发送几次")
    holidays_file: Path | None = Field(
        default=None,
        description="本单位节假日文件（YAML：holidays 休息日、workdays 调休上班日），优先于内置",
    )
    stage_working_days: int = Field(
        default=1,
        ge=1,
        le=30,
        description="每个审核环节的办理时限（工作日）；超过提醒，超过两倍告知分管领导",
    )
    stage_urgent_hours: float = Field(
        default=2.0, gt=0, le=72, description="标为紧急（如工作动态）的稿件每个环节的时限（小时）"
    )
    channel_daily_limits: dict[str, int] = Field(
        default_factory=lambda: {"wechat": 1},
        description=(
            '各渠道每天最多发布几条（JSON，如 {"wechat": 1, "gov_website": 20}）；'
            "排期日历标出超出的日子，并在改期前提醒。微信订阅号每天可群发 1 次"
        ),
    )
    log_format: Literal["text", "json"] = Field(
        default="text",
        description="日志格式：text 便于阅读；json 每行一个 JSON 对象，供日志系统采集",
    )
    session_idle_minutes: int = _at_least_one(120, "网页会话闲置多久失效（分钟）")
    session_max_hours: int = _at_least_one(12, "网页会话最长有效期（小时）")
    login_max_failures: int = _at_least_one(5, "连续输错密码几次后暂时锁定账户")
    login_lockout_minutes: int = _at_least_one(15, "账户锁定时长（分钟）")
    upload_max_mb: int = Field(
        default=20,
        ge=1,
        le=1024,
        description="一次请求（含上传的图片）的大小上限（MB），API 与控制台表单相同",
    )
    cookie_secure: bool = Field(
        default=False, description="会话 Cookie 仅经 HTTPS 发送（生产环境在 HTTPS 之后应设为 true）"
    )

    @field_validator(
        "wecom_corp_id",
        "wecom_secret",
        "wecom_agent_id",
        "smtp_host",
        "holidays_file",
        mode="before",
    )
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        """`SANSHEN_WECOM_AGENT_ID=` in a .env means "not set", not a bad number."""
        return None if isinstance(value, str) and not value.strip() else value

    @model_validator(mode="after")
    def _consistent(self) -> Settings:
        if self.settle_after <= self.task_time_limit:
            raise ValueError(
                f"SANSHEN_SETTLE_AFTER（{self.settle_after}）必须大于 SANSHEN_TASK_TIME_LIMIT"
                f"（{self.task_time_limit}）：否则仍在发送的任务会被当作卡住而去核对"
            )
        if self.settle_window <= self.settle_after:
            raise ValueError(
                f"SANSHEN_SETTLE_WINDOW（{self.settle_window}）必须大于 SANSHEN_SETTLE_AFTER"
                f"（{self.settle_after}）：否则卡住的发送来不及向平台核对一次"
            )
        return self

    @property
    def sqlalchemy_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'sanshen.db').resolve()}"

    @property
    def blob_dir(self) -> Path:
        return self.data_dir / "blobs"


@lru_cache
def get_settings() -> Settings:
    return Settings()
