"""What an adapter is given: a rendered item, independent of our database."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

# The body refers to its images as <img src="sanshen-image:SHA256">; each adapter rewrites
# these to wherever the platform keeps the image (uploaded URL, attachment id, ...).
IMAGE_SRC_PREFIX = "sanshen-image:"


@dataclass(frozen=True, slots=True)
class Image:
    sha256: str
    filename: str
    mime: str  # image/jpeg, image/png, ...
    data: bytes = field(repr=False)

    @property
    def src(self) -> str:
        return IMAGE_SRC_PREFIX + self.sha256


@dataclass(frozen=True, slots=True)
class Attachment:
    filename: str
    mime: str
    data: bytes = field(repr=False)


@dataclass(frozen=True, slots=True)
class Source:
    """For a repost (转载): where the item was first published."""

    platform: str  # display name, e.g. 学习强国
    url: str
    published_at: datetime

    @property
    def line(self) -> str:
        """The source line shown on the reposted item."""
        return f"来源：{self.platform}"


@dataclass(frozen=True, slots=True)
class ReviewLine:
    """One signed step of the review record, carried in upward submission packages."""

    stage: str  # 初审, 复审, 终审, 主要领导审定, 签发
    person: str
    acted_at: datetime
    signature_fingerprint: str  # short hex of the signature's hash


@dataclass(frozen=True, slots=True)
class Item:
    """One approved version, rendered for one channel."""

    reference: str  # our stable id for this (version, channel); shown on operator views
    title: str
    body_html: str
    images: tuple[Image, ...] = ()
    cover: Image | None = None
    author: str = ""
    digest: str = ""
    department: str = ""
    publish_date: date | None = None
    source: Source | None = None
    attachments: tuple[Attachment, ...] = ()
    review: tuple[ReviewLine, ...] = ()
    fingerprint: str = ""  # the version fingerprint the gate approved
