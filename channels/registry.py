"""Finding adapters: every channel, built-in or third-party, is an entry point in one group.

load_channels()                  name -> adapter class, checked (start-up errors, not logs)
channel_settings(name, env)      settings from SANSHEN_CHANNEL_<NAME>_<FIELD> variables
build_channel(name, settings)    an adapter instance
load_simulator(channel_cls)      the loopback simulator class of an adapter
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from pydantic import SecretStr, ValidationError

from channels.base import Channel, ChannelSettings, PlatformSimulator

ENTRY_POINT_GROUP = "sanshen.channels"
ENV_PREFIX = "SANSHEN_CHANNEL_"


class RegistryError(Exception):
    """A channel cannot be set up; the message (Chinese) names what to fix."""


class DuplicateChannel(RegistryError):
    pass


class InvalidChannel(RegistryError):
    pass


class ModuleMissing(InvalidChannel):
    """A channel or simulator names a module that does not exist (not installed, not written)."""

    def __init__(self, message: str, *, module: str) -> None:
        super().__init__(message)
        self.module = module


class UnknownChannel(RegistryError, KeyError):
    def __str__(self) -> str:
        return str(self.args[0])


class SettingsInvalid(RegistryError):
    pass


@dataclass(frozen=True, slots=True)
class ChannelEntry:
    """One entry point of the group, before it is imported."""

    name: str
    target: str  # "module:Class"
    distribution: str

    @property
    def origin(self) -> str:
        return f"{self.distribution}（{self.target}）"

    def load(self) -> type[Channel]:
        cls: type[Channel] = _load_class(
            self.target,
            what=f"渠道 {self.name}（{self.distribution}）",
            base=Channel,
            not_base=f"渠道 {self.name} 的入口 {self.origin} 不是 Channel 的子类",
            name=self.name,
            misnamed=lambda found: (
                f"渠道入口名 {self.name} 与类 {self.target} 声明的 name"
                f" {found!r} 不一致（{self.distribution}）"
            ),
        )
        return cls


def _entry(ep: EntryPoint) -> ChannelEntry:
    dist = ep.dist.name if ep.dist is not None else "未知发行包"
    return ChannelEntry(name=ep.name, target=ep.value, distribution=dist)


def channel_entries() -> list[ChannelEntry]:
    """The group's entry points, sorted by name; two with one name raise `DuplicateChannel`."""
    seen: dict[str, ChannelEntry] = {}
    for entry in sorted(map(_entry, entry_points(group=ENTRY_POINT_GROUP)), key=_sort_key):
        if entry.name in seen:
            raise DuplicateChannel(
                f"渠道名 {entry.name} 被注册了两次：{seen[entry.name].origin} 与 {entry.origin}"
            )
        seen[entry.name] = entry
    return list(seen.values())


def _sort_key(entry: ChannelEntry) -> tuple[str, str, str]:
    return (entry.name, entry.distribution, entry.target)


def load_channels() -> dict[str, type[Channel]]:
    """Every registered adapter by name; any broken entry point is a start-up error.

    An entry's name must equal its class's `name`, so two classes claiming one name are two
    entry points with that name: `DuplicateChannel`, before either is imported.
    """
    return {entry.name: entry.load() for entry in channel_entries()}


def _import(target: str, *, what: str) -> Any:
    module_name, _, attribute = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        message = f"{what} 的模块 {module_name} 无法导入：{exc}"
        if exc.name == module_name:
            raise ModuleMissing(message, module=module_name) from exc
        raise InvalidChannel(message) from exc
    except ImportError as exc:
        raise InvalidChannel(f"{what} 的模块 {module_name} 无法导入：{exc}") from exc
    obj: Any = module
    for part in filter(None, attribute.split(".")):
        try:
            obj = getattr(obj, part)
        except AttributeError as exc:
            raise InvalidChannel(f"{what} 的入口 {target} 不存在") from exc
    return obj


def _load_class(
    target: str,
    *,
    what: str,
    base: type,
    not_base: str,
    name: str,
    misnamed: Callable[[object], str],
) -> Any:
    """The class `target` names, which must be a `base` whose `name` is `name`."""
    cls = _import(target, what=what)
    if not (isinstance(cls, type) and issubclass(cls, base)):
        raise InvalidChannel(not_base)
    if getattr(cls, "name", None) != name:
        raise InvalidChannel(misnamed(getattr(cls, "name", None)))
    return cls


def load_simulator(channel_cls: type[Channel]) -> type[Any]:
    """The simulator class named by the adapter's `simulator` ("module:Class").

    It is checked against `PlatformSimulator`, not imported base classes: workers load adapters,
    never simulators (which pull in Flask), and the simulators import this registry. The caller
    that starts simulators knows their type (`channels.simulators.base.Simulator`).
    """
    if not channel_cls.simulator:
        raise InvalidChannel(f"渠道 {channel_cls.name} 没有声明模拟器")
    simulator: type[Any] = _load_class(
        channel_cls.simulator,
        what=f"渠道 {channel_cls.name} 的模拟器",
        base=PlatformSimulator,
        not_base=f"{channel_cls.simulator} 不是 Simulator 的子类",
        name=channel_cls.name,
        misnamed=lambda found: (
            f"模拟器 {channel_cls.simulator} 的 name {found!r} 与渠道 {channel_cls.name} 不一致"
        ),
    )
    return simulator


def env_variable(channel: str, field: str) -> str:
    return f"{ENV_PREFIX}{channel}_{field}".upper()


def channel_settings(
    name: str,
    env: Mapping[str, str],
    *,
    channels: Mapping[str, type[Channel]] | None = None,
) -> ChannelSettings:
    """Settings of channel `name` from `SANSHEN_CHANNEL_<NAME>_<FIELD>`; secrets never echoed."""
    model = _channel_class(name, channels).settings_model
    values = {
        field: env[env_variable(name, field)]
        for field in model.model_fields
        if env_variable(name, field) in env
    }
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        raise SettingsInvalid(_settings_message(name, model, exc)) from None


def _settings_message(name: str, model: type[ChannelSettings], exc: ValidationError) -> str:
    lines = []
    for error in exc.errors(include_input=False, include_url=False, include_context=False):
        field = str(error["loc"][0]) if error["loc"] else ""
        variable = env_variable(name, field)
        if error["type"] == "missing":
            lines.append(f"缺少环境变量 {variable}")
        elif _is_secret(model, field):
            lines.append(f"环境变量 {variable} 的值无效")
        else:
            lines.append(f"环境变量 {variable} 的值无效：{error['msg']}")
    return f"渠道 {name} 的配置有误：" + "；".join(lines)


def _is_secret(model: type[ChannelSettings], field: str) -> bool:
    info = model.model_fields.get(field)
    return info is not None and SecretStr in _types_in(info.annotation)


def _types_in(annotation: Any) -> set[Any]:
    found = {annotation}
    for arg in getattr(annotation, "__args__", ()):
        found |= _types_in(arg)
    return found


def _channel_class(name: str, channels: Mapping[str, type[Channel]] | None) -> type[Channel]:
    known = load_channels() if channels is None else channels
    if name not in known:
        raise UnknownChannel(f"未知渠道 {name}；已注册：{'、'.join(sorted(known)) or '无'}")
    return known[name]


def build_channel(
    name: str,
    settings: ChannelSettings,
    *,
    channels: Mapping[str, type[Channel]] | None = None,
) -> Channel:
    return _channel_class(name, channels)(settings)
