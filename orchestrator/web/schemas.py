"""What every model of the REST API (/api/v1) builds on: the strict request body, the error
body, and the constrained strings and dates. Each resource's own models stand beside its routes
(orchestrator.web.v1).

Request bodies are strict and closed (`StrictBody`): a number is never a string, a flag never 0,
an unknown field is refused. Dates and times are ISO 8601 strings, and nothing else.
Times in responses are UTC ISO 8601, with a `*_local` Asia/Shanghai string where people read them.

Where a handler checks a string against a list (channels, states, roles), the schema lists it
too (`one_of`), read from the same source; the handler keeps its check and its message.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date
from typing import Annotated, Any

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    StringConstraints,
)

from channels.registry import load_channels
from orchestrator.services.org import ROLE_BY_NAME
from orchestrator.services.submissions import channel_catalogue


def _iso_text(value: Any) -> Any:
    if not isinstance(value, str):
        raise ValueError("应为 ISO 8601 格式的字符串")
    return value


def whole(value: Any) -> Any:
    """JSON has one kind of number: 385.0 is the integer 385 (JSON Schema agrees). For an
    integer in a strict model, which refuses 385.0 otherwise (and still refuses 385.5, "385").
    The bounds go before it in `Annotated`, or the schema loses them."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


# Strict models refuse a JSON string for a date; these accept exactly the ISO string.
IsoDate = Annotated[date, Strict(False), BeforeValidator(_iso_text)]
IsoDateTime = Annotated[AwareDatetime, Strict(False), BeforeValidator(_iso_text)]

DAY = r"^\d{4}-\d{2}-\d{2}$"
# A calendar day in a query: the pattern is checked before the handler, which refuses a day
# that does not exist (2026-13-01) with its own message; `format` says so to clients.
Day = Annotated[str, Field(pattern=DAY, json_schema_extra={"format": "date"})]


# What Python's str.isspace() calls space, spelled out: `\s` means something else to Python,
# to pydantic (Rust) and to JSON Schema (ECMA), and the services test a blank with strip().
SPACE = r"\t-\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
# PostgreSQL's text cannot hold U+0000 (SQLite can): no text we take may carry it, on either.
NO_NUL = r"^[^\x00]*$"
Text = Annotated[str, StringConstraints(pattern=NO_NUL)]
# Some character that is not space, and no NUL anywhere.
NOT_BLANK = f"^[^\\x00]*[^{SPACE}\\x00][^\\x00]*$"
# A web address: no space, no control character (C0, DEL, C1).
WEB_URL = f"^https?://[^{SPACE}\\x00-\\x1f\\x7f-\\x9f]+$"


def one_of(values: Callable[[], Iterable[str]]) -> Any:
    """A string the handler checks against `values()`: an enum in the schema, read when the
    schema is built (channels come from entry points, not from this module)."""

    def listed(schema: dict[str, Any]) -> None:
        schema["enum"] = list(values())

    return Field(json_schema_extra=listed)


def channel_names() -> list[str]:
    return list(load_channels())


def channel_names_and_labels() -> list[str]:
    """What resolve_channel takes: a name (wechat) or what people call it (微信公众号)."""
    catalogue = channel_catalogue()
    return [*catalogue, *catalogue.values()]


def role_names_and_labels() -> list[str]:
    """What org.parse_role takes: contributor or its label, say."""
    return list(ROLE_BY_NAME)


ChannelName = Annotated[str, one_of(channel_names)]
ChannelNameOrLabel = Annotated[str, one_of(channel_names_and_labels)]


class StrictBody(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")


class ErrorBody(BaseModel):
    """Every refusal: a stable English code, a Chinese message, sometimes details."""

    error: str
    message: str
    details: Any = None
