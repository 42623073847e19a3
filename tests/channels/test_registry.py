"""Finding adapters through entry points: built-ins, a third-party plugin, and the start-up
errors (duplicates, mismatched names, broken targets, bad settings)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import ClassVar

import pytest
from pydantic import Field, SecretStr

from channels.base import Channel, ChannelKind, ChannelSettings, Receipt, Status
from channels.errors import Problem
from channels.gov_website import GovWebsiteChannel, GovWebsiteSettings
from channels.item import Item
from channels.registry import (
    ChannelEntry,
    InvalidChannel,
    ModuleMissing,
    SettingsInvalid,
    UnknownChannel,
    build_channel,
    channel_entries,
    channel_settings,
    load_channels,
    load_simulator,
)
from channels.simulators.base import Simulator

PLUGIN = Path(__file__).parent / "plugin_example"
REPO = Path(__file__).parents[2]
THIS = "tests.channels.test_registry"


# --- built-ins -----------------------------------------------------------------------------


def test_every_declared_channel_loads_with_its_simulator() -> None:
    channels = load_channels()

    assert {"gov_website", "suishenban"} <= set(channels)
    for name, cls in channels.items():
        assert issubclass(cls, Channel) and cls.name == name
        simulator = load_simulator(cls)
        assert issubclass(simulator, Simulator) and simulator.name == name


def test_entries_name_their_distribution() -> None:
    entries = {entry.name: entry for entry in channel_entries()}

    assert entries["gov_website"].distribution == "sanshen-publish"
    assert entries["gov_website"].target == "channels.gov_website:GovWebsiteChannel"


# --- broken entries ------------------------------------------------------------------------


class _Settings(ChannelSettings):
    token: SecretStr = Field(min_length=12)
    region: str = "qingpu"


class _Channel(Channel):
    name: ClassVar[str] = "registry_probe"
    display_name: ClassVar[str] = "探针"
    kind: ClassVar[ChannelKind] = ChannelKind.OWN
    settings_model: ClassVar[type[ChannelSettings]] = _Settings
    simulator: ClassVar[str | None] = None

    def validate(self, item: Item) -> list[Problem]:
        return []

    def publish(self, item: Item, idempotency_key: str) -> Receipt:
        raise NotImplementedError

    def status(self, receipt: Receipt) -> Status:
        raise NotImplementedError


class _NotAChannel:
    name = "registry_probe"


class _MisnamedSimulatorChannel(_Channel):
    simulator = "channels.simulators.gov_website:GovWebsiteSimulator"


class _NotASimulatorChannel(_Channel):
    simulator = f"{THIS}:_NotAChannel"


@pytest.mark.parametrize(
    ("target", "error", "words"),
    [
        (f"{THIS}:_Channel", None, []),
        (f"{THIS}:_NotAChannel", InvalidChannel, ["不是 Channel 的子类"]),
        (f"{THIS}:_Missing", InvalidChannel, ["不存在"]),
        ("channels.not_written_yet:Thing", ModuleMissing, ["channels.not_written_yet"]),
    ],
)
def test_an_entry_must_name_a_channel_class(
    target: str, error: type[Exception] | None, words: list[str]
) -> None:
    entry = ChannelEntry("registry_probe", target, "sanshen-probe")
    if error is None:
        assert entry.load() is _Channel
        return
    with pytest.raises(error) as caught:
        entry.load()
    assert all(word in str(caught.value) for word in words)


def test_an_entry_name_must_match_the_class_name() -> None:
    entry = ChannelEntry("probe_alias", f"{THIS}:_Channel", "sanshen-probe")

    with pytest.raises(InvalidChannel, match=r"probe_alias.*registry_probe.*sanshen-probe"):
        entry.load()


@pytest.mark.parametrize(
    "cls", [_Channel, _MisnamedSimulatorChannel, _NotASimulatorChannel], ids=lambda c: c.__name__
)
def test_a_simulator_must_be_declared_and_match(cls: type[Channel]) -> None:
    with pytest.raises(InvalidChannel):
        load_simulator(cls)


# --- settings from the environment ---------------------------------------------------------

PROBES: Mapping[str, type[Channel]] = {"registry_probe": _Channel}


def test_settings_come_from_prefixed_variables() -> None:
    env = {
        "SANSHEN_CHANNEL_REGISTRY_PROBE_BASE_URL": "https://probe.example.cn/api",
        "SANSHEN_CHANNEL_REGISTRY_PROBE_TOKEN": "a-long-enough-token",
        "SANSHEN_CHANNEL_REGISTRY_PROBE_READ_TIMEOUT": "2.5",
        "SANSHEN_CHANNEL_OTHER_TOKEN": "ignored",
    }

    settings = channel_settings("registry_probe", env, channels=PROBES)

    assert isinstance(settings, _Settings)
    assert settings.read_timeout == 2.5
    assert settings.token.get_secret_value() == "a-long-enough-token"
    assert settings.region == "qingpu"


def test_a_missing_variable_is_named() -> None:
    env = {"SANSHEN_CHANNEL_REGISTRY_PROBE_BASE_URL": "https://probe.example.cn/"}

    with pytest.raises(SettingsInvalid, match="缺少环境变量 SANSHEN_CHANNEL_REGISTRY_PROBE_TOKEN"):
        channel_settings("registry_probe", env, channels=PROBES)


def test_a_bad_value_is_named_but_never_echoed() -> None:
    env = {
        "SANSHEN_CHANNEL_REGISTRY_PROBE_BASE_URL": "not a url at all",
        "SANSHEN_CHANNEL_REGISTRY_PROBE_TOKEN": "short-pw",
        "SANSHEN_CHANNEL_REGISTRY_PROBE_READ_TIMEOUT": "-1",
    }

    with pytest.raises(SettingsInvalid) as caught:
        channel_settings("registry_probe", env, channels=PROBES)

    message = str(caught.value)
    for variable in ["BASE_URL", "TOKEN", "READ_TIMEOUT"]:
        assert f"SANSHEN_CHANNEL_REGISTRY_PROBE_{variable} 的值无效" in message
    assert "short-pw" not in message
    assert "not a url" not in message
    assert caught.value.__suppress_context__  # pydantic's error quotes the values: never shown


def test_the_built_in_settings_load_from_the_environment() -> None:
    env = {
        "SANSHEN_CHANNEL_GOV_WEBSITE_BASE_URL": "https://www.shqp.gov.cn/publish-gw",
        "SANSHEN_CHANNEL_GOV_WEBSITE_APP_KEY": "qp-zwfw",
        "SANSHEN_CHANNEL_GOV_WEBSITE_APP_SECRET": "s3cret-value",
        "SANSHEN_CHANNEL_GOV_WEBSITE_COLUMN_ID": "qpzwfw",
    }

    settings = channel_settings("gov_website", env)
    channel = build_channel("gov_website", settings)

    assert isinstance(settings, GovWebsiteSettings)
    assert isinstance(channel, GovWebsiteChannel)
    assert "s3cret-value" not in repr(channel) + repr(settings)


def test_an_unknown_channel_lists_the_known_ones() -> None:
    with pytest.raises(UnknownChannel, match=r"未知渠道 weibo.*gov_website"):
        channel_settings("weibo", {})


# --- a third-party plugin ------------------------------------------------------------------


def _install(source: Path, target: Path) -> None:
    """pip-install a plugin into `target` from a copy (the build writes next to its source)."""
    copy = target.parent / f"{target.name}-src"
    shutil.copytree(source, copy, ignore=shutil.ignore_patterns("build", "*.egg-info"))
    pip = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index"]
    subprocess.run(
        [*pip, "--no-build-isolation", "--target", str(target), str(copy)],
        check=True,
        capture_output=True,
        timeout=120,
    )


def _run(args: list[str], path: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = os.environ | {"PYTHONPATH": str(path)}
    return subprocess.run(
        [sys.executable, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=300
    )


LIST_CHANNELS = """
import json
from channels.registry import channel_entries, load_channels, load_simulator
channels = load_channels()
print(json.dumps({
    "names": sorted(channels),
    "origins": {e.name: e.distribution for e in channel_entries()},
    "simulators": {n: load_simulator(c).__name__ for n, c in channels.items()},
}))
"""


@pytest.fixture(scope="module")
def plugin_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("plugin") / "site"
    _install(PLUGIN, target)
    return target


def test_an_installed_plugin_is_a_channel(plugin_path: Path, tmp_path: Path) -> None:
    result = _run(["-c", LIST_CHANNELS], plugin_path, tmp_path)

    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    assert "example" in found["names"]
    assert {"gov_website", "suishenban"} <= set(found["names"])
    assert found["origins"]["example"] == "sanshen-channel-example"
    assert found["simulators"]["example"] == "ExampleSimulator"


def test_the_contract_suite_runs_an_installed_plugin(plugin_path: Path) -> None:
    pytest_args = ["-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider"]
    result = _run(
        [*pytest_args, "tests/channels/test_contract.py", "-k", "example"], plugin_path, REPO
    )

    assert result.returncode == 0, result.stdout[-3000:]
    assert " passed" in result.stdout and "skipped" not in result.stdout


def test_a_plugin_claiming_a_built_in_name_stops_start_up(tmp_path: Path) -> None:
    impostor = tmp_path / "impostor"
    shutil.copytree(PLUGIN, impostor, ignore=shutil.ignore_patterns("build", "*.egg-info"))
    pyproject = impostor / "pyproject.toml"
    text = pyproject.read_text(encoding="utf-8")
    text = text.replace('name = "sanshen-channel-example"', 'name = "sanshen-channel-impostor"')
    text = text.replace("example = ", "gov_website = ")
    pyproject.write_text(text, encoding="utf-8")
    target = tmp_path / "site"
    _install(impostor, target)

    result = _run(["-c", LIST_CHANNELS], target, tmp_path)

    assert result.returncode != 0
    assert "DuplicateChannel" in result.stderr
    assert "gov_website" in result.stderr
    assert "sanshen-publish" in result.stderr and "sanshen-channel-impostor" in result.stderr
