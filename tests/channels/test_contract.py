"""The contract every registered adapter keeps, checked against its simulator over real HTTP.

Parametrised over the `sanshen.channels` entry points (see conftest.py), so an adapter added
by a plugin runs through the same checks. Platform specifics stay out of this file: the sample
item meets every built-in platform's rules, the simulator supplies the settings.
"""

from __future__ import annotations

import http.client
import json
import logging
import socket
import struct
import sys
from collections.abc import Callable, Iterator, Mapping
from typing import Any
from urllib.parse import urlsplit

import pytest
from pydantic import SecretStr

from channels.base import Channel, ChannelSettings, Receipt, RemoteState
from channels.errors import (
    ChannelError,
    ConfigurationInvalid,
    ContentRejected,
    CredentialsExpired,
    NotSupported,
    OutcomeUnknown,
    RateLimited,
    Retryable,
    Unavailable,
)
from channels.item import Item
from channels.simulators.base import FaultKind, Simulator
from channels.simulators.server import SimulatorServer
from tests.channels.conftest import sample_item

pytestmark = pytest.mark.timeout(60)

SENT = {RemoteState.SUBMITTED, RemoteState.PUBLISHED}


def _fault(simulator: Simulator, **changes: Any) -> None:
    simulator.faults.update(changes)


def _no_faults(simulator: Simulator) -> None:
    simulator.faults.update({"rates": {}, "drop_reply_rate": 0.0})


def _settle(sims: SimulatorServer) -> None:
    assert sims.wait_idle(timeout=30), (
        f"a simulator request is still hanging:\n{sims.busy_report()}"
    )


# --- the happy path ------------------------------------------------------------------------


def test_publish_returns_a_receipt_for_the_key(
    adapter: Channel, item: Item, idempotency_key: str, simulator: Simulator
) -> None:
    receipt = adapter.publish(item, idempotency_key)

    assert receipt.channel == adapter.name
    assert receipt.idempotency_key == idempotency_key
    assert receipt.external_id
    assert receipt.state in SENT
    assert Receipt.from_dict(json.loads(json.dumps(receipt.as_dict()))) == receipt
    assert simulator.ledger.count(idempotency_key) == 1


def test_status_follows_a_publication(adapter: Channel, item: Item, idempotency_key: str) -> None:
    receipt = adapter.publish(item, idempotency_key)

    assert adapter.status(receipt).state in SENT


def test_retract_takes_the_article_down_or_says_not_supported(
    adapter: Channel, item: Item, idempotency_key: str, simulator: Simulator
) -> None:
    """Some platforms only withdraw before they confirm (upward: not once adopted), others
    only after (an article needs its final id): each must manage one of the two, and answer
    the other with NotSupported or a Retryable ("not yet"), never anything else."""
    retracted = []
    for delay in (0.0, 60.0):  # confirmed at once / still pending
        _fault(simulator, confirm_delay_s=delay)
        receipt = adapter.publish(item, f"{idempotency_key}-{delay:.0f}")
        try:
            status = adapter.retract(receipt, "信息有误，撤回")
        except (NotSupported, Retryable):
            continue
        assert status.state is RemoteState.RETRACTED
        assert adapter.status(receipt).state is RemoteState.RETRACTED
        retracted.append(delay)
    assert bool(retracted) == adapter.capabilities.retract


def test_find_by_key_returns_the_published_article(
    adapter: Channel, item: Item, idempotency_key: str
) -> None:
    receipt = adapter.publish(item, idempotency_key)

    if not adapter.capabilities.find_by_key:
        with pytest.raises(NotSupported):
            adapter.find(idempotency_key)
        return
    found = adapter.find(idempotency_key)
    assert found is not None
    assert found.external_id == receipt.external_id
    assert adapter.find(f"{idempotency_key}-never-sent") is None


def test_one_key_publishes_once(
    adapter: Channel, item: Item, idempotency_key: str, simulator: Simulator
) -> None:
    first = adapter.publish(item, idempotency_key)
    second = adapter.publish(item, idempotency_key)

    assert second.external_id == first.external_id
    assert simulator.ledger.count(idempotency_key) == 1
    assert simulator.ledger.duplicates() == {}


# --- faults --------------------------------------------------------------------------------

REFUSALS = [
    pytest.param(FaultKind.SERVER_ERROR, Unavailable, id="5xx"),
    pytest.param(FaultKind.RATE_LIMIT, RateLimited, id="rate_limit"),
    pytest.param(FaultKind.TOKEN_EXPIRED, CredentialsExpired, id="token_expired"),
    pytest.param(FaultKind.CONTENT_REJECTED, ContentRejected, id="content_rejected"),
]


@pytest.mark.parametrize(("kind", "expected"), REFUSALS)
def test_a_refusal_raises_its_class_and_publishes_nothing(
    adapter: Channel,
    item: Item,
    idempotency_key: str,
    simulator: Simulator,
    kind: FaultKind,
    expected: type[ChannelError],
) -> None:
    _fault(simulator, rates={kind: 1.0})

    with pytest.raises(expected) as caught:
        adapter.publish(item, idempotency_key)

    assert type(caught.value) is expected
    assert caught.value.channel == adapter.name
    if isinstance(caught.value, RateLimited):
        assert caught.value.retry_after > 0
    assert simulator.ledger.count(idempotency_key) == 0


def test_an_item_the_channel_refuses_names_every_reason_and_reaches_no_platform(
    adapter: Channel, idempotency_key: str, simulator: Simulator
) -> None:
    """What a failed row shows (str of the error) says what to fix, not only that it failed."""
    bad = sample_item(title="题" * 200)

    with pytest.raises(ContentRejected) as caught:
        adapter.publish(bad, idempotency_key)

    problems = caught.value.problems
    assert problems and problems == tuple(adapter.validate(bad))
    for problem in problems:
        assert problem.message in str(caught.value)
    assert simulator.ledger.count(idempotency_key) == 0


@pytest.mark.parametrize("kind", [FaultKind.TIMEOUT, FaultKind.RESET])
def test_a_lost_answer_is_never_taken_for_success_or_refusal(
    make_channel: Callable[..., Channel],
    item: Item,
    idempotency_key: str,
    simulator: Simulator,
    sims: SimulatorServer,
    kind: FaultKind,
) -> None:
    """OutcomeUnknown; or Unavailable when the lost call changed nothing, which must be true."""
    adapter = make_channel(read_timeout=0.5)
    _fault(simulator, rates={kind: 1.0}, hang_s=1.5)

    with pytest.raises((OutcomeUnknown, Unavailable)) as caught:
        adapter.publish(item, idempotency_key)

    _no_faults(simulator)
    _settle(sims)
    published = simulator.ledger.count(idempotency_key)
    assert published <= 1
    if isinstance(caught.value, Retryable):
        assert published == 0, "Unavailable promises that nothing was published"
    if adapter.capabilities.find_by_key and published:
        assert adapter.find(idempotency_key) is not None


def test_a_dropped_reply_is_outcome_unknown_and_find_settles_it(
    adapter: Channel, item: Item, idempotency_key: str, simulator: Simulator
) -> None:
    _fault(simulator, drop_reply_rate=1.0)

    with pytest.raises(OutcomeUnknown):
        adapter.publish(item, idempotency_key)

    _no_faults(simulator)
    assert simulator.ledger.count(idempotency_key) == 1
    if adapter.capabilities.find_by_key:
        found = adapter.find(idempotency_key)
        assert found is not None
        assert found.idempotency_key == idempotency_key
        assert adapter.publish(item, idempotency_key).external_id == found.external_id
    assert simulator.ledger.count(idempotency_key) == 1


def test_a_garbage_answer_is_trusted_neither_way(
    make_channel: Callable[..., Channel],
    adapter: Channel,
    item: Item,
    idempotency_key: str,
    garbage_url: str,
) -> None:
    receipt = adapter.publish(item, idempotency_key)
    confused = make_channel(base_url=garbage_url)

    with pytest.raises((OutcomeUnknown, Unavailable)):
        confused.publish(item, f"{idempotency_key}-2")
    with pytest.raises(Unavailable):
        confused.status(receipt)


def test_a_refused_connection_is_unavailable(
    make_channel: Callable[..., Channel], item: Item, idempotency_key: str
) -> None:
    nobody = make_channel(base_url=f"http://127.0.0.1:{_closed_port()}/")

    with pytest.raises(Unavailable):
        nobody.publish(item, idempotency_key)


# --- the simulators' own bookkeeping -------------------------------------------------------


def test_a_client_gone_mid_upload_leaves_no_request_running(sims: SimulatorServer) -> None:
    """The answer goes out before the body was read, then the connection is reset (a client
    giving up; a cut upload does the same). werkzeug's drain of the unread body then fails and
    it skips the response's close(): the server must still count the request done, or every
    later test waits for it."""
    address = urlsplit(sims.url)
    with socket.create_connection((str(address.hostname), address.port or 80)) as conn:
        head = b"POST /nowhere HTTP/1.1\r\nHost: sim\r\nContent-Length: 1000\r\n\r\n"
        conn.sendall(head + b"x" * 10)
        answer = http.client.HTTPResponse(conn)
        answer.begin()
        answer.read()  # all of it: the server is past writing and drains the body
        answer.close()
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    assert answer.status == 404

    idle = sims.wait_idle(timeout=10)
    report = sims.busy_report()
    sims.abandon_busy()
    assert idle, f"the server still counts the request as running:\n{report}"


# --- validate is pure ----------------------------------------------------------------------


def test_validate_accepts_the_sample_and_does_no_io(
    make_channel: Callable[..., Channel],
    item: Item,
    make_item: Callable[..., Item],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    offline = make_channel(base_url=f"http://127.0.0.1:{_closed_port()}/")
    too_long = make_item(title="长" * 200)
    monkeypatch.setattr(socket, "socket", _no_network)
    monkeypatch.setattr(socket, "create_connection", _no_network)
    monkeypatch.setattr(socket, "getaddrinfo", _no_network)

    assert offline.validate(item) == []
    problems = offline.validate(too_long)

    assert any(p.field == "title" for p in problems)
    assert all(p.code and p.message for p in problems)


def _no_network(*args: object, **kwargs: object) -> None:
    raise AssertionError("validate() touched the network")


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


# --- error codes ---------------------------------------------------------------------------


def test_every_error_code_maps_to_a_channel_error(channel_cls: type[Channel]) -> None:
    assert channel_cls.error_codes, "an adapter maps its platform's codes in `error_codes`"
    for code, cls in channel_cls.error_codes.items():
        assert isinstance(cls, type) and issubclass(cls, ChannelError), code


def test_every_documented_code_is_mapped(channel_cls: type[Channel]) -> None:
    tables = _documented_tables(channel_cls)
    assert tables, (
        f"{channel_cls.__module__} must expose its platform's documented codes in a"
        " module-level DOCUMENTED_ERROR_CODES table"
    )
    for table_name, codes in tables.items():
        missing = [code for code in codes if code not in channel_cls.error_codes]
        assert not missing, f"{table_name}: not in error_codes: {missing}"


def _documented_tables(channel_cls: type[Channel]) -> dict[str, list[str | int]]:
    module = sys.modules[channel_cls.__module__]
    return {
        name: list(value)
        for name, value in vars(module).items()
        if name.startswith("DOCUMENTED_") and isinstance(value, Mapping | set | frozenset)
    }


# --- secrets -------------------------------------------------------------------------------


def _secrets(settings: ChannelSettings) -> list[str]:
    found = [
        getattr(settings, name).get_secret_value()
        for name in type(settings).model_fields
        if isinstance(getattr(settings, name), SecretStr)
    ]
    found = [secret for secret in found if secret]  # an unset optional secret shows nothing
    assert found, "every platform has a credential, and it is a SecretStr"
    return found


@pytest.fixture
def everything_logged(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    with caplog.at_level(logging.DEBUG):
        yield caplog


def test_secrets_never_show(
    make_channel: Callable[..., Channel],
    adapter: Channel,
    item: Item,
    idempotency_key: str,
    simulator: Simulator,
    everything_logged: pytest.LogCaptureFixture,
) -> None:
    shown: list[str] = [repr(adapter), repr(adapter.settings), str(adapter.settings)]
    shown.append(repr(adapter.settings.model_dump()))
    shown.append(adapter.settings.model_dump_json())
    receipt = adapter.publish(item, idempotency_key)
    adapter.status(receipt)
    for kind in [FaultKind.SERVER_ERROR, FaultKind.RATE_LIMIT, FaultKind.TOKEN_EXPIRED]:
        _fault(simulator, rates={kind: 1.0})
        shown += _errors_of(adapter.publish, item, f"{idempotency_key}-{kind.value}")
    _no_faults(simulator)
    wrong = make_channel(**{name: "wrong-secret-0123456789" for name in _secret_fields(adapter)})
    shown += _errors_of(wrong.publish, item, f"{idempotency_key}-wrong")
    shown.append(json.dumps(simulator.snapshot(), ensure_ascii=False))
    shown.append(everything_logged.text)

    for secret in [*_secrets(adapter.settings), "wrong-secret-0123456789"]:
        for text in shown:
            assert secret not in text


def _secret_fields(adapter: Channel) -> list[str]:
    settings = adapter.settings
    return [n for n in type(settings).model_fields if isinstance(getattr(settings, n), SecretStr)]


def _errors_of(action: Callable[..., object], *args: object) -> list[str]:
    try:
        action(*args)
    except ChannelError as exc:
        texts = [str(exc), repr(exc)]
        cause = exc.__cause__
        while cause is not None:
            texts += [str(cause), repr(cause)]
            cause = cause.__cause__
        return texts
    raise AssertionError("expected the call to fail")


def test_wrong_credentials_are_a_configuration_error(
    make_channel: Callable[..., Channel], adapter: Channel, item: Item, idempotency_key: str
) -> None:
    wrong = make_channel(**{name: "wrong-secret-0123456789" for name in _secret_fields(adapter)})

    with pytest.raises(ConfigurationInvalid):
        wrong.publish(item, idempotency_key)
