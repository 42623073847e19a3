"""What the office's own signed-JSON platforms share (政府网站, 随申办旗舰店).

Both take requests signed by `channels.signing.HmacAuth` under one API prefix, upload files
before the article, answer an article's state in a JSON object, and name their errors in a
documented code table. `SignedHttpChannel` holds that once; each platform's adapter keeps only
its paths, field names, answer envelope and limits.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import requests
from pydantic import Field, SecretStr

from channels import rendering
from channels.base import Channel, ChannelSettings, Receipt, RemoteState, Status
from channels.errors import (
    ChannelError,
    OutcomeUnknown,
    Permanent,
    Problem,
    RateLimited,
    Unavailable,
)
from channels.http import call, platform_error
from channels.item import Image, Item
from channels.signing import HmacAuth


@dataclass(frozen=True, slots=True)
class SignedApi:
    """Where one platform keeps its endpoints and what it calls things (paths under `prefix`)."""

    prefix: str  # under api_root: "/api/v1"
    article: str  # GET: one article, with "{id}"
    retract: str  # POST {"reason"}: withdraw it, with "{id}"
    upload: str  # POST multipart `file`
    upload_fields: tuple[str, ...]  # what an upload's answer must hold
    not_found_code: str  # the error code of "no such article"
    state_field: str  # where an article says its state
    reason_fields: tuple[str, ...]  # where a rejection or withdrawal says why


@dataclass(frozen=True, slots=True)
class SignedLimits:
    """One platform's limits that `validate` checks alike."""

    title_max_chars: int
    summary_max_chars: int
    image_max_bytes: int


class SignedSettings(ChannelSettings):
    """A platform that signs requests with an app key and its secret (`HmacAuth`)."""

    app_key: str = Field(min_length=1)
    app_secret: SecretStr


def signed_session(settings: SignedSettings) -> requests.Session:
    """A session whose every request is signed with the settings' app key and secret."""
    session = requests.Session()
    session.auth = HmacAuth(settings.app_key, settings.app_secret)
    return session


class SignedHttpChannel(Channel):
    """An own platform over signed JSON; subclasses set the class variables and the envelope."""

    settings: SignedSettings
    api: ClassVar[SignedApi]
    limits: ClassVar[SignedLimits]
    states: ClassVar[Mapping[str, RemoteState]]  # the platform's article states in ours
    # The class of an error answer whose code is not in `error_codes`, by HTTP status.
    status_classes: ClassVar[Mapping[int, type[ChannelError]]] = {429: RateLimited}

    def __init__(self, settings: SignedSettings) -> None:
        super().__init__(settings)
        self._session = signed_session(settings)

    # --- validate (pure) -------------------------------------------------------------------

    def validate(self, item: Item) -> list[Problem]:
        limits = self.limits
        problems = rendering.title_problems(item.title, max_chars=limits.title_max_chars)
        problems += rendering.body_problems(item.body_html)
        problems += rendering.body_image_problems(item, max_bytes=limits.image_max_bytes)
        problems += self._cover_problems(item.cover)
        if len(item.digest) > limits.summary_max_chars:
            problems.append(
                Problem("digest_too_long", f"摘要超过 {limits.summary_max_chars} 字", "digest")
            )
        problems += self._attachment_problems(item)
        return problems + rendering.source_problems(item.source)

    @abstractmethod
    def _cover_problems(self, cover: Image | None) -> list[Problem]:
        """What the platform would have against the cover image (or its absence)."""

    def _attachment_problems(self, item: Item) -> list[Problem]:
        """What the platform would have against the attachments; none takes any by default."""
        return []

    @staticmethod
    def render_content(item: Item, image_urls: Mapping[str, str]) -> str:
        """The article HTML: cleaned, images pointing at the platform, a 来源 line for reposts."""
        body = item.body_html
        if item.source is not None:
            body = rendering.with_source_line(body, item.source)
        return rendering.rewrite_images(body, image_urls)

    # --- status and retract ----------------------------------------------------------------

    def status(self, receipt: Receipt) -> Status:
        path = self.api.article.format(id=receipt.external_id)
        response = self._request("GET", path, changes_state=False)
        return self._article_status(response, changes_state=False)

    def retract(self, receipt: Receipt, reason: str) -> Status:
        response = self._request(
            "POST",
            self.api.retract.format(id=receipt.external_id),
            changes_state=True,
            json={"reason": reason},
        )
        return self._article_status(response, changes_state=True)

    def _article_status(self, response: requests.Response, *, changes_state: bool) -> Status:
        try:
            article = self._answer(response, changes_state=changes_state)
        except Permanent as exc:
            if exc.platform_code == self.api.not_found_code:
                return Status(RemoteState.NOT_FOUND)
            raise
        state = self.states.get(str(article.get(self.api.state_field)))
        if state is None:
            raise self._garbage(changes_state)
        reasons = (article.get(field) for field in self.api.reason_fields)
        reason = next((r for r in reasons if r), "")
        return Status(state, url=str(article.get("url") or ""), reason=str(reason))

    # --- HTTP and answers ------------------------------------------------------------------

    def _upload_image(self, image: Image) -> dict[str, Any]:
        return self._upload(image.filename, image.mime, image.data)

    def _upload(self, filename: str, mime: str, data: bytes) -> dict[str, Any]:
        # Uploads are content-addressed and show nowhere: repeating one is harmless, so a lost
        # answer is Unavailable (nothing published), not OutcomeUnknown.
        response = self._request(
            "POST", self.api.upload, changes_state=False, files={"file": (filename, data, mime)}
        )
        return self._answer(response, changes_state=False, required=self.api.upload_fields)

    def _request(
        self, method: str, path: str, *, changes_state: bool, **kwargs: Any
    ) -> requests.Response:
        return call(
            self._session,
            method,
            f"{self.settings.api_root}{self.api.prefix}{path}",
            channel=self.name,
            changes_state=changes_state,
            timeout=self.settings.timeout,
            **kwargs,
        )

    @abstractmethod
    def _answer(
        self, response: requests.Response, *, changes_state: bool, required: tuple[str, ...] = ()
    ) -> dict[str, Any]:
        """The payload of a successful answer, holding a string at each of `required`; the
        mapped error (`_error`) for an error answer; `_garbage` for anything else."""

    def _garbage(self, changes_state: bool) -> ChannelError:
        cls = OutcomeUnknown if changes_state else Unavailable
        return cls(f"{self.display_name}返回了不符合约定的内容", channel=self.name)

    def _error(
        self,
        response: requests.Response,
        code: str,
        *,
        meaning: str,
        detail: object,
        problems: tuple[Problem, ...],
        plain_code: str | int | None = None,
    ) -> ChannelError:
        """An error answer as the class `error_codes` (else `status_classes`) names."""
        message = f"{self.display_name}：{meaning}（{detail}）"
        kind = self.error_codes.get(code) or self.status_classes.get(
            response.status_code, Permanent
        )
        return platform_error(
            kind,
            message,
            response=response,
            channel=self.name,
            platform_code=code,
            problems=problems,
            plain_code=plain_code,
        )
