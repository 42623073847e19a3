"""The 微信公众号 adapter's settings (SANSHEN_CHANNEL_WECHAT_<FIELD>)."""

from __future__ import annotations

from pydantic import Field, HttpUrl, SecretStr, field_validator

from channels.base import ChannelSettings


class WeChatSettings(ChannelSettings):
    base_url: HttpUrl = HttpUrl("https://api.weixin.qq.com/")  # the API root
    app_id: str = Field(min_length=1, max_length=64)
    app_secret: SecretStr
    callback_token: SecretStr  # 服务器配置的 Token: signs the callback events
    encoding_aes_key: SecretStr | None = None  # set = 安全模式: callbacks are encrypted
    use_stable_token: bool = True  # POST cgi-bin/stable_token; False = GET cgi-bin/token
    token_refresh_margin_s: int = Field(default=300, ge=0, le=3600)
    redis_url: SecretStr | None = None  # shares token, send log, status quota between workers
    status_checks_per_day: int = Field(default=80, ge=0, le=100)  # of freepublish/get's 100
    # How far `find` may page back, per list, in pages of 20 (each page is one API call);
    # given the time the key was first sent, it stops as soon as it is past that time.
    find_pages: int = Field(default=10, ge=1, le=50)
    callback_max_age_s: int = Field(default=600, ge=0)  # 0: do not check the timestamp

    @field_validator("encoding_aes_key")
    @classmethod
    def _aes_key_length(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) != 43:
            raise ValueError("EncodingAESKey 须为 43 个字符")
        return value
