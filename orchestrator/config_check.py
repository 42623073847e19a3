"""Configuration checked at start-up: one Chinese line per problem, naming the variable, the
value it has (never a secret's) and what is expected; `sanshen up`, worker, scheduler and api
exit with code 2 rather than a traceback.

load_settings(data_dir)     Settings, or ConfigInvalid listing every problem
check_channels(env)         which channels are configured; ConfigInvalid for a half-set one
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NoReturn

import typer
from pydantic import SecretStr, ValidationError
from pydantic_core import ErrorDetails

from channels.base import Channel, ChannelSettings
from channels.registry import (
    ENV_PREFIX,
    RegistryError,
    SettingsInvalid,
    channel_entries,
    channel_settings,
    env_variable,
    load_channels,
)
from orchestrator.errors import InvalidInput
from orchestrator.settings import Settings


class ConfigInvalid(InvalidInput):
    """The configuration cannot be used; `problems` holds one Chinese line each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(
            "配置有误：\n" + "\n".join(f"  - {p}" for p in problems), code="bad_config"
        )
        self.problems = problems


EXPECTED = {
    "float_parsing": "应为数字",
    "float_type": "应为数字",
    "int_parsing": "应为整数",
    "int_type": "应为整数",
    "int_from_float": "应为整数",
    "bool_parsing": "应为 true 或 false",
    "bool_type": "应为 true 或 false",
    "greater_than": "应大于 {gt}",
    "greater_than_equal": "应不小于 {ge}",
    "less_than": "应小于 {lt}",
    "less_than_equal": "应不大于 {le}",
    "literal_error": "应为以下之一：{expected}",
    "string_pattern_mismatch": "格式应为 {pattern}",
    "string_too_short": "不能为空",
    "url_parsing": "应为 http(s):// 开头的地址",
    "url_scheme": "应为 http(s):// 开头的地址",
    "path_type": "应为文件路径",
    "missing": "必须设置",
}
PATTERN_HINTS = {r"^\d{2}:\d{2}$": "HH:MM（如 09:00）"}


def load_settings(data_dir: Path | None = None) -> Settings:
    """Settings from the environment (and `--data-dir`); every bad variable named at once."""
    try:
        return Settings() if data_dir is None else Settings(data_dir=data_dir)
    except ValidationError as exc:
        raise ConfigInvalid([settings_problem(error) for error in exc.errors()]) from None


def settings_problem(error: ErrorDetails) -> str:
    if not error["loc"]:  # a rule across fields: its message already names the variables
        return str(error["msg"]).removeprefix("Value error, ")
    field = str(error["loc"][0])
    info = Settings.model_fields.get(field)
    variable = _variable(field, info)
    what = f"（{info.description}）" if info is not None and info.description else ""
    shown = _shown(error.get("input"), secret=_is_secret(info))
    return f"环境变量 {variable}{what}{shown}：{_expected(error)}"


def check_channels(env: Mapping[str, str] | None = None) -> dict[str, bool]:
    """Each registered channel: configured or not. A channel none of whose variables is set
    is simply not configured (it refuses to publish); one set only in part, or set wrong, is
    a start-up error."""
    env = os.environ if env is None else env
    try:
        classes = load_channels()
    except RegistryError as exc:
        raise ConfigInvalid([str(exc)]) from None
    problems: list[str] = []
    configured: dict[str, bool] = {}
    for entry in channel_entries():
        prefix = env_variable(entry.name, "")
        if not any(key.startswith(prefix) for key in env):
            configured[entry.name] = False
            continue
        fields = classes[entry.name].settings_model.model_fields
        assisted, mode_problem = _mode(entry.name, classes[entry.name], env)
        problems += mode_problem
        # an assisted channel is published by a person: its API settings may be left out
        api_set = any(env_variable(entry.name, f) in env for f in fields)
        if not assisted or api_set:
            try:
                channel_settings(entry.name, env, channels=classes)
            except SettingsInvalid as exc:
                problems += _channel_problems(entry.name, classes[entry.name], env) or [str(exc)]
        known = [*fields, *ORCHESTRATOR_FIELDS]
        problems += [
            f"环境变量 {key} 不是渠道 {entry.name} 的设置（可用：{'、'.join(known)}）"
            for key in sorted(env)
            if key.startswith(prefix) and key.removeprefix(prefix).lower() not in known
        ]
        configured[entry.name] = True
    unknown = _unknown_channel_variables(env, configured)
    problems += [f"环境变量 {v} 不属于任何已注册渠道（{'、'.join(configured)}）" for v in unknown]
    if problems:
        raise ConfigInvalid(problems)
    return configured


# Channel variables the orchestrator reads itself (services.hub), beside the adapter's settings.
ORCHESTRATOR_FIELDS = ("mode", "page_hosts")


def _mode(name: str, cls: type[Channel], env: Mapping[str, str]) -> tuple[bool, list[str]]:
    """Whether the channel is assisted, and what is wrong with its MODE variable."""
    variable = env_variable(name, "mode")
    raw = env.get(variable, "").strip().lower() or "api"
    if raw not in ("api", "assisted"):
        return False, [f"环境变量 {variable} 的值无效：{raw}（可选 api 或 assisted）"]
    if raw == "assisted" and not cls.assisted:
        return False, [f"{cls.display_name}只能通过接口发布，不支持人工发布模式（{variable}）"]
    return raw == "assisted", []


def _channel_problems(name: str, cls: type[Channel], env: Mapping[str, str]) -> list[str]:
    """The registry's refusal, one line per variable, in the words `settings_problem` uses."""
    model = cls.settings_model
    values = {
        f: env[env_variable(name, f)] for f in model.model_fields if env_variable(name, f) in env
    }
    try:
        model.model_validate(values)
    except ValidationError as exc:
        return [_channel_problem(name, model, error) for error in exc.errors()]
    return []


def _channel_problem(name: str, model: type[ChannelSettings], error: ErrorDetails) -> str:
    field = str(error["loc"][0]) if error["loc"] else ""
    info = model.model_fields.get(field)
    shown = _shown(error.get("input"), secret=_is_secret(info))
    gap = " " if shown else ""
    return f"渠道 {name}：环境变量 {env_variable(name, field)}{gap}{shown}：{_expected(error)}"


def settings_or_exit(data_dir: Path | None = None) -> Settings:
    """For the commands: the settings, or the problems on stderr and exit code 2."""
    try:
        return load_settings(data_dir)
    except ConfigInvalid as exc:
        refuse(exc)


def channels_or_exit() -> dict[str, bool]:
    try:
        return check_channels()
    except ConfigInvalid as exc:
        refuse(exc)


def refuse(exc: ConfigInvalid) -> NoReturn:
    typer.secho(f"错误：{exc.message}", err=True, fg=typer.colors.RED)
    raise typer.Exit(exc.exit_code)


def _variable(field: str, info: Any) -> str:
    alias = getattr(info, "validation_alias", None)
    if isinstance(alias, str):
        return alias
    prefix = str(Settings.model_config.get("env_prefix", ""))
    return f"{prefix}{field}".upper()


def _is_secret(info: Any) -> bool:
    annotation = getattr(info, "annotation", None)
    return annotation is SecretStr or SecretStr in getattr(annotation, "__args__", ())


def _shown(value: Any, *, secret: bool) -> str:
    if value is None or isinstance(value, dict):  # missing: nothing to show
        return ""
    if secret:
        return "的值无效"
    text = _without_credentials(str(value))
    return f"的值“{text}”无效"


def _without_credentials(text: str) -> str:
    """user:password@ in a connection string is replaced, so a log never carries it."""
    return re.sub(r"(//)[^/@\s]*@", r"\1***@", text)


def _expected(error: ErrorDetails) -> str:
    template = EXPECTED.get(error["type"])
    if template is None:
        return str(error["msg"])
    context = {k: _readable(v) for k, v in (error.get("ctx") or {}).items()}
    try:
        return template.format(**context)
    except (KeyError, IndexError):
        return str(error["msg"])


def _readable(value: Any) -> Any:
    if isinstance(value, float):
        return f"{value:g}"
    return PATTERN_HINTS.get(str(value), value)


def _unknown_channel_variables(env: Mapping[str, str], channels: Mapping[str, bool]) -> list[str]:
    known = tuple(env_variable(name, "") for name in channels)
    return sorted(k for k in env if k.startswith(ENV_PREFIX) and not k.startswith(known))
