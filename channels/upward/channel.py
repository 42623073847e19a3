"""HTTP delivery of upward reports (`UpwardChannel`): submit, status, find by key, withdraw.

Each platform supplies its paths and field names (`UpwardApi`), its acceptance rules
(`UpwardLimits`) and its response envelope (`_unwrap`, `_submission`, `_submissions`).
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any, ClassVar, TypeVar
from urllib.parse import quote

import requests

from channels.base import (
    Capabilities,
    Channel,
    ChannelKind,
    ChannelSettings,
    Receipt,
    RemoteState,
    Status,
)
from channels.errors import (
    ChannelError,
    ContentRejected,
    OutcomeUnknown,
    Permanent,
    Problem,
    RateLimited,
    Unavailable,
)
from channels.http import call, json_body, platform_error, retry_after
from channels.item import Item
from channels.signed_http import SignedSettings, signed_session
from channels.upward.checks import UpwardLimits, upward_problems
from channels.upward.package import SubmissionPackage, build_package

_T = TypeVar("_T")


class UpwardSettings(SignedSettings):
    """An upward platform signs its requests like the office's own platforms (`HmacAuth`)."""


@dataclass(frozen=True, slots=True)
class UpwardApi:
    """Where one platform keeps its endpoints and what it calls things (paths under api_root)."""

    submit: str  # POST, multipart
    one: str  # GET, with "{id}"
    find: str  # GET, with the key in `find_param`
    find_param: str
    withdraw: str  # POST, with "{id}"
    package_field: str
    key_header: str = "Idempotency-Key"


@dataclass(frozen=True, slots=True)
class RemoteSubmission:
    """A submission as the platform describes it, in our words."""

    external_id: str
    idempotency_key: str
    state: RemoteState
    url: str = ""
    reason: str = ""
    published_at: str = ""
    duplicate: bool = False


class PlatformError(Exception):
    """A platform's error answer, raised by `_unwrap` and mapped through `error_codes`."""

    def __init__(self, code: str | int, message: str, problems: tuple[Problem, ...] = ()):
        super().__init__(message)
        self.code = code
        self.message = message
        self.problems = problems


class UpwardChannel(Channel):
    """An upward platform over HTTP; subclasses supply `api`, `limits` and the envelope."""

    kind: ClassVar[ChannelKind] = ChannelKind.UPWARD
    capabilities: ClassVar[Capabilities] = Capabilities(
        async_confirmation=True, dedupes_by_key=True
    )
    settings_model: ClassVar[type[ChannelSettings]] = UpwardSettings
    settings: UpwardSettings
    api: ClassVar[UpwardApi]
    limits: ClassVar[UpwardLimits]
    not_found_code: ClassVar[str | int]

    def __init__(self, settings: ChannelSettings) -> None:
        super().__init__(settings)
        self._session = signed_session(self.settings)

    @abstractmethod
    def _unwrap(self, status_code: int, body: Any) -> Any:
        """The payload of a success answer; raise `PlatformError` for an error answer."""

    @abstractmethod
    def _submission(self, data: Any) -> RemoteSubmission:
        """One submission from the platform's payload."""

    @abstractmethod
    def _submissions(self, data: Any) -> list[RemoteSubmission]:
        """The list the platform answers a find-by-key with."""

    @abstractmethod
    def _submit_fields(self, item: Item, package: SubmissionPackage) -> dict[str, str]:
        """The form fields sent beside the package."""

    def validate(self, item: Item) -> list[Problem]:
        return upward_problems(item, self.limits, self.display_name)

    def publish(self, item: Item, idempotency_key: str) -> Receipt:
        if problems := self.validate(item):
            message = f"稿件未通过{self.display_name}报送前检查"
            raise ContentRejected(message, problems=tuple(problems), channel=self.name)
        return self._deliver(item, build_package(item, idempotency_key))

    def _deliver(self, item: Item, package: SubmissionPackage) -> Receipt:
        name = f"{package.sha256[:16]}.zip"
        data = self._request(
            "POST",
            self.api.submit,
            changes_state=True,
            headers={self.api.key_header: package.idempotency_key},
            data=self._submit_fields(item, package),
            files={self.api.package_field: (name, package.data, "application/zip")},
        )
        submission = self._parse(self._submission, data, changes_state=True)
        extra = {"via": "http", "package_sha256": package.sha256, "duplicate": submission.duplicate}
        return self._receipt(submission, extra)

    def status(self, receipt: Receipt) -> Status:
        external_id = receipt.external_id or self._external_id(receipt.idempotency_key)
        if not external_id:
            return Status(RemoteState.NOT_FOUND)
        try:
            data = self._request("GET", self._path(self.api.one, external_id), changes_state=False)
        except ChannelError as exc:
            if exc.platform_code == self.not_found_code:
                return Status(RemoteState.NOT_FOUND)
            raise
        submission = self._parse(self._submission, data, changes_state=False)
        return Status(submission.state, submission.url, submission.reason)

    def find(self, idempotency_key: str, since: datetime | None = None) -> Receipt | None:
        params = {self.api.find_param: idempotency_key}
        data = self._request("GET", self.api.find, changes_state=False, params=params)
        found = self._parse(self._submissions, data, changes_state=False)
        matching = [s for s in found if s.idempotency_key == idempotency_key]
        return self._receipt(matching[0], {}) if matching else None

    def retract(self, receipt: Receipt, reason: str) -> Status:
        """Withdraw (撤稿) a submission not yet adopted; after adoption: `NotSupported`."""
        external_id = receipt.external_id or self._external_id(receipt.idempotency_key)
        if not external_id:
            return Status(RemoteState.NOT_FOUND)
        path = self._path(self.api.withdraw, external_id)
        try:
            data = self._request("POST", path, changes_state=True, json={"reason": reason})
        except ChannelError as exc:
            if exc.platform_code == self.not_found_code:
                return Status(RemoteState.NOT_FOUND)
            raise
        submission = self._parse(self._submission, data, changes_state=True)
        return Status(submission.state, submission.url, submission.reason)

    def _external_id(self, idempotency_key: str) -> str:
        found = self.find(idempotency_key)
        return found.external_id if found else ""

    def _receipt(self, submission: RemoteSubmission, extra: dict[str, Any]) -> Receipt:
        if submission.published_at:
            extra = extra | {"published_at": submission.published_at}
        return Receipt(
            channel=self.name,
            idempotency_key=submission.idempotency_key,
            external_id=submission.external_id,
            state=submission.state,
            url=submission.url,
            extra=extra,
        )

    @staticmethod
    def _path(template: str, external_id: str) -> str:
        return template.format(id=quote(external_id, safe=""))

    def _request(self, method: str, path: str, *, changes_state: bool, **kwargs: Any) -> Any:
        response = call(
            self._session,
            method,
            self.settings.api_root + path,
            channel=self.name,
            changes_state=changes_state,
            timeout=self.settings.timeout,
            **kwargs,
        )
        if response.status_code == 429 and "json" not in response.headers.get("Content-Type", ""):
            raise RateLimited(retry_after=retry_after(response), channel=self.name)
        body = json_body(response, channel=self.name, changes_state=changes_state)
        try:
            return self._parse(partial(self._unwrap, response.status_code), body, changes_state)
        except PlatformError as error:
            raise self._mapped(error, response) from None

    def _parse(self, parse: Callable[[Any], _T], data: Any, changes_state: bool) -> _T:
        try:
            return parse(data)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            message = f"{self.display_name}的答复格式不符合约定（{type(exc).__name__}）"
            if changes_state:
                raise OutcomeUnknown(message, channel=self.name) from exc
            raise Unavailable(message, channel=self.name) from exc

    def _mapped(self, error: PlatformError, response: requests.Response) -> ChannelError:
        kind = self.error_codes.get(error.code)
        if kind is None:
            kind = Unavailable if response.status_code >= 500 else Permanent
        return platform_error(
            kind,
            error.message,
            response=response,
            channel=self.name,
            platform_code=error.code,
            problems=error.problems,
        )
