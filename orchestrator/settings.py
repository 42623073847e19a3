"""Configuration from environment variables (12-factor), with defaults that work locally."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


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
    timezone: str = Field(default="Asia/Shanghai", description="界面显示时区")

    @property
    def sqlalchemy_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'sanshen.db').resolve()}"

    @property
    def blob_dir(self) -> Path:
        return self.data_dir / "blobs"


@lru_cache
def get_settings() -> Settings:
    return Settings()
