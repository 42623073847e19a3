"""The adapter contract: one class per platform, found through the `sanshen.channels` entry points.

An adapter knows its platform, not our database. It is given settings and a rendered `Item`
and returns `Receipt`s and `Status`es, or raises from `channels.errors`. Every network call has
a timeout. `validate` is pure: it does no I/O and reports every problem at once.
"""

from __future__ import annotations

import enum
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field, HttpUrl

from channels.errors import ChannelError, NotSupported, Problem
from channels.item import Item


class ChannelKind(enum.StrEnum):
    OWN = "own"  # 本单位平台：两端一号
    UPWARD = "upward"  # 对上报送：学习强国、绿色青浦


class RemoteState(enum.StrEnum):
    """What the platform says about an article."""

    SUBMITTED = "submitted"  # accepted, result not yet known (async publish, upward review)
    PUBLISHED = "published"  # live (upward: adopted 采用)
    REJECTED = "rejected"  # refused after submission (upward: not adopted 未采用)
    RETRACTED = "retracted"  # withdrawn or deleted
    NOT_FOUND = "not_found"  # the platform has nothing under that id or key


@dataclass(frozen=True, slots=True)
class Capabilities:
    publish: bool = True
    status: bool = True
    retract: bool = True
    async_confirmation: bool = False  # the final result arrives later (callback or polling)
    find_by_key: bool = True  # can answer "what do you have for this idempotency key?"
    # publish() with the same key finishes an unpublished draft the platform already holds,
    # without a second article: the orchestrator may then resend after a lost reply.
    resumes_drafts: bool = False
    # The platform itself never makes a second article for one key, even while an earlier
    # request with that key is still being processed (its documented contract). After an
    # unknown outcome the worker may then ask at once and resend, instead of leaving the row
    # for the reconciler until any hung call is certainly over.
    dedupes_by_key: bool = False


@dataclass(frozen=True, slots=True)
class Receipt:
    """What a platform gave back for a send; JSON-serialisable through `as_dict`.

    `extra["draft"]` is true when the platform holds only an unpublished draft for the key
    (the publish step itself never took effect)."""

    channel: str
    idempotency_key: str
    external_id: str
    state: RemoteState
    url: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "channel": self.channel,
            "idempotency_key": self.idempotency_key,
            "external_id": self.external_id,
            "state": self.state.value,
            "url": self.url,
            "extra": dict(self.extra),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Receipt:
        return cls(
            channel=data["channel"],
            idempotency_key=data["idempotency_key"],
            external_id=data["external_id"],
            state=RemoteState(data["state"]),
            url=data.get("url", ""),
            extra=dict(data.get("extra", {})),
        )


@dataclass(frozen=True, slots=True)
class Status:
    state: RemoteState
    url: str = ""
    reason: str = ""  # the platform's own words when rejected or failed


class ChannelSettings(BaseModel):
    """Base settings; secrets are `SecretStr` so they never print."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    base_url: HttpUrl
    connect_timeout: float = Field(default=3.0, gt=0)
    read_timeout: float = Field(default=10.0, gt=0)

    @property
    def timeout(self) -> tuple[float, float]:
        return (self.connect_timeout, self.read_timeout)

    @property
    def api_root(self) -> str:
        return str(self.base_url).rstrip("/")


@runtime_checkable
class PlatformSimulator(Protocol):
    """What the loopback simulator a channel names in `Channel.simulator` must offer.

    `channels.simulators.base.Simulator` is the base every simulator extends (a plugin's too);
    this is the part of it that starting one needs, so that finding a simulator by its name
    (`channels.registry.load_simulator`) needs no import of the simulators (and of Flask).
    The class also sets `name`, the channel's name.
    """

    def create_app(self) -> Any:
        """The WSGI app speaking the platform's API."""

    def client_settings(self, base_url: str) -> dict[str, Any]:
        """The adapter's settings for talking to this simulator at `base_url`."""

    def reset(self) -> None:
        """Forget everything: articles, faults, the ledger."""

    def snapshot(self) -> dict[str, Any]:
        """The simulator's state, for the operator view."""


class Channel(ABC):
    """One platform. Subclasses set the class variables and implement the operations."""

    name: ClassVar[str]  # stable id: "gov_website"
    display_name: ClassVar[str]  # 发布形式 as people say it: "政府网站"
    kind: ClassVar[ChannelKind]
    capabilities: ClassVar[Capabilities]
    settings_model: ClassVar[type[ChannelSettings]]
    # The platform's error codes -> the class they raise; a test checks every documented one.
    error_codes: ClassVar[Mapping[str | int, type[ChannelError]]] = {}
    # "module:Class" of the loopback simulator speaking this platform's API (for tests, demos).
    simulator: ClassVar[str | None] = None
    # A person may publish on this platform by hand and record the URL (assisted mode,
    # SANSHEN_CHANNEL_<NAME>_MODE=assisted) instead of the adapter sending it.
    assisted: ClassVar[bool] = True
    # Where the platform serves its public article pages and their images: 发布核验 fetches only
    # from these hosts ("host" or "host:port"); SANSHEN_CHANNEL_<NAME>_PAGE_HOSTS replaces them.
    page_hosts: ClassVar[tuple[str, ...]] = ()

    def __init__(self, settings: ChannelSettings) -> None:
        if not isinstance(settings, self.settings_model):
            raise TypeError(f"{self.name} needs {self.settings_model.__name__}")
        self.settings = settings

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name} {self.settings.api_root}>"

    @abstractmethod
    def validate(self, item: Item) -> list[Problem]:
        """Every problem this platform would have with the item. Pure: no I/O."""

    @abstractmethod
    def publish(self, item: Item, idempotency_key: str) -> Receipt:
        """Send the item once. A timeout after sending raises OutcomeUnknown."""

    @abstractmethod
    def status(self, receipt: Receipt) -> Status:
        """Ask the platform where the article stands."""

    def retract(self, receipt: Receipt, reason: str) -> Status:
        """Withdraw a published article."""
        raise NotSupported(f"{self.display_name}不支持撤稿", channel=self.name)

    def find(self, idempotency_key: str, since: datetime | None = None) -> Receipt | None:
        """What the platform holds for this key, to settle an unknown outcome before resending.

        `since` is when the key was first sent, if known. None means the platform holds nothing
        for the key; a platform that can only list its recent articles answers None only when
        its listing reached back past `since`, and raises `SearchInconclusive` otherwise."""
        raise NotSupported(f"{self.display_name}无法按幂等键查询", channel=self.name)
