"""Upward reports: the package, 学习强国 and 绿色青浦 over real HTTP, 绿色青浦 over real SMTP."""

from __future__ import annotations

import email
import email.policy
import hashlib
import io
import json
import socket
import zipfile
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

import pytest
import requests
from pydantic import SecretStr, ValidationError

from channels.base import Receipt, RemoteState
from channels.errors import (
    ChannelError,
    ConfigurationInvalid,
    ContentRejected,
    CredentialsExpired,
    NotSupported,
    OutcomeUnknown,
    RateLimited,
    Unavailable,
)
from channels.item import Attachment, Image, ReviewLine
from channels.lvse_qingpu import (
    DOCUMENTED_ERROR_CODES as LVSE_CODES,
)
from channels.lvse_qingpu import (
    DOCUMENTED_SMTP_REPLIES,
    LvseQingpuChannel,
    LvseQingpuSettings,
)
from channels.signing import HmacAuth
from channels.simulators import lvse_qingpu as lvse_sim
from channels.simulators import xuexi as xuexi_sim
from channels.simulators.server import SimulatorServer
from channels.simulators.upward import UpwardSimulator
from channels.upward import (
    KEY_HEADER,
    MailRoute,
    PackageInvalid,
    UpwardChannel,
    build_package,
    read_package,
    send_by_mail,
    submission_mail,
)
from channels.xuexi import DOCUMENTED_ERROR_CODES as XUEXI_CODES
from channels.xuexi import XuexiChannel
from tests.channels.conftest import FIGURE, sample_item

PLATFORMS: dict[str, type[UpwardChannel]] = {
    "xuexi": XuexiChannel,
    "lvse_qingpu": LvseQingpuChannel,
}
PAGE_PATHS = {"xuexi": "/lgpage/detail/index.html?id=", "lvse_qingpu": "/news/"}
NO_AUTO_ADOPT = {"confirm_delay_s": 3600}
ACTED = datetime(2024, 5, 6, 2, 30, tzinfo=UTC)


@pytest.fixture(params=list(PLATFORMS))
def platform(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def make(sims: SimulatorServer, name: str, **overrides: Any) -> UpwardChannel:
    cls = PLATFORMS[name]
    settings = cls.settings_model.model_validate(sims.client_settings(name, **overrides))
    channel = cls(settings)
    assert isinstance(channel, UpwardChannel)
    return channel


def desk(sims: SimulatorServer, name: str) -> UpwardSimulator:
    sim = sims.simulator(name)
    assert isinstance(sim, UpwardSimulator)
    return sim


def admin(sims: SimulatorServer, name: str, action: str, sid: str, **body: str) -> Any:
    response = requests.post(f"{sims.base_url(name)}/_sim/{action}/{sid}", json=body, timeout=5)
    assert response.status_code == 200, response.text
    return response.json()


def without_sign_off() -> tuple[ReviewLine, ...]:
    return tuple(line for line in sample_item().review if line.stage != "签发")


# --- the package ------------------------------------------------------------------------------


def rezip(data: bytes, change: Mapping[str, bytes | None]) -> bytes:
    """The zip with some entries replaced (bytes) or removed (None), manifest left as it was."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for name in src.namelist():
            if name not in change:
                dst.writestr(name, src.read(name))
        for name, content in change.items():
            if content is not None:
                dst.writestr(name, content)
    return out.getvalue()


def test_package_is_deterministic_per_item_and_key() -> None:
    item = sample_item()
    assert build_package(item, "k-1").data == build_package(item, "k-1").data
    assert build_package(item, "k-1").sha256 != build_package(item, "k-2").sha256


def test_package_round_trip_keeps_everything() -> None:
    attachment = Attachment("青浦区办事指南.pdf", "application/pdf", b"%PDF-1.4 test")
    item = sample_item(
        body_html=f'<p>正文<script>alert(1)</script></p><p><img src="{FIGURE.src}"></p>',
        attachments=(attachment,),
    )
    package = read_package(build_package(item, "key-rt").data)

    assert package.idempotency_key == "key-rt"
    assert package.title == item.title
    assert package.manifest["department"] == item.department
    assert package.manifest["version_fingerprint"] == item.fingerprint
    assert package.stages == ("初审", "复审", "终审", "签发")
    assert package.approval["review"][3]["person"] == "赵宣传"
    assert "<script>" not in package.manuscript_html
    assert f'src="images/{FIGURE.sha256}.png"' in package.manuscript_html
    assert package.files[f"images/{FIGURE.sha256}.png"] == FIGURE.data
    assert package.files["attachments/青浦区办事指南.pdf"] == attachment.data
    assert package.manifest["cover"] in package.files


def _approval_with_other_fingerprint(files: Mapping[str, bytes]) -> dict[str, bytes | None]:
    approval = json.loads(files["approval.json"])
    approval["version_fingerprint"] = "0" * 64
    new = json.dumps(approval).encode()
    manifest = json.loads(files["manifest.json"])
    manifest["files"]["approval.json"] = hashlib.sha256(new).hexdigest()
    return {"approval.json": new, "manifest.json": json.dumps(manifest).encode()}


@pytest.mark.parametrize(
    ("tamper", "code"),
    [
        (lambda f: {"manuscript.html": b"<p>changed</p>"}, "hash_mismatch"),
        (lambda f: {"extra.txt": b"smuggled"}, "unlisted_entry"),
        (lambda f: {next(n for n in f if n.endswith(".png")): None}, "missing_entry"),
        (lambda f: {"manifest.json": None}, "missing_entry"),
        (lambda f: {"../evil.txt": b"x"}, "unsafe_entry"),
        (_approval_with_other_fingerprint, "approval_mismatch"),
    ],
    ids=["body", "extra", "image_removed", "no_manifest", "unsafe", "approval"],
)
def test_tampered_package_is_refused(tamper: Any, code: str) -> None:
    package = build_package(sample_item(), "key-t")
    with pytest.raises(PackageInvalid) as caught:
        read_package(rezip(package.data, tamper(package.files)))
    assert caught.value.code == code


def test_truncated_package_is_refused() -> None:
    data = build_package(sample_item(), "key-t").data
    with pytest.raises(PackageInvalid) as caught:
        read_package(data[: len(data) // 2])
    assert caught.value.code == "not_a_zip"


# --- validate ---------------------------------------------------------------------------------


def _codes(channel_cls: type[UpwardChannel], **overrides: Any) -> set[str]:
    settings = channel_cls.settings_model.model_validate(
        {"base_url": "http://127.0.0.1:9/", "app_key": "k", "app_secret": "s"}
    )
    return {p.code for p in channel_cls(settings).validate(sample_item(**overrides))}


GIF = Image("a" * 64, "a.gif", "image/gif", b"GIF89a" + b"\0" * 20)


TWO_PDFS = (Attachment("a.pdf", "application/pdf", b"1"),) * 2
HUGE = (Attachment("大.bin", "application/octet-stream", bytes(21 * 1024 * 1024)),)


@pytest.mark.parametrize("name", list(PLATFORMS))
@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({}, set()),
        ({"review": without_sign_off()}, {"sign_off_missing"}),
        ({"review": ()}, {"review_missing"}),
        ({"fingerprint": ""}, {"fingerprint_missing"}),
        ({"title": "标题"}, {"title_too_short"}),
        ({"title": "很" * 41}, {"title_too_long"}),
        ({"body_html": "<p> </p><script>x</script>"}, {"body_empty"}),
        ({"images": ()}, {"image_missing"}),
        ({"attachments": TWO_PDFS}, {"attachment_name_duplicate"}),
        ({"attachments": HUGE}, {"package_too_large"}),
    ],
    ids=[
        "ok",
        "no_sign_off",
        "no_review",
        "no_fingerprint",
        "short",
        "long",
        "empty",
        "image_missing",
        "dup_attachment",
        "big",
    ],
)
def test_validate(name: str, overrides: dict[str, Any], expected: set[str]) -> None:
    assert _codes(PLATFORMS[name], **overrides) == expected


def test_platforms_differ_on_titles_and_image_types() -> None:
    assert "title_too_long" in _codes(XuexiChannel, title="很" * 31)
    assert "title_too_long" not in _codes(LvseQingpuChannel, title="很" * 31)
    gif_body = f'<p>图</p><img src="{GIF.src}">'
    assert "image_type" in _codes(XuexiChannel, images=(GIF,), body_html=gif_body)
    assert "image_type" not in _codes(LvseQingpuChannel, images=(GIF,), body_html=gif_body)


def test_publish_refuses_without_sign_off_and_sends_nothing(
    sims: SimulatorServer, platform: str
) -> None:
    with pytest.raises(ContentRejected) as caught:
        make(sims, platform).publish(sample_item(review=without_sign_off()), "key-nosign")
    assert "sign_off_missing" in {p.code for p in caught.value.problems}
    assert desk(sims, platform).ledger.snapshot() == {}


# --- over HTTP --------------------------------------------------------------------------------


def test_submit_received_then_adopted_by_the_editors(
    sims: SimulatorServer, platform: str, idempotency_key: str
) -> None:
    desk(sims, platform).faults.update(NO_AUTO_ADOPT)
    channel = make(sims, platform)

    receipt = channel.publish(sample_item(), idempotency_key)
    assert receipt.state is RemoteState.SUBMITTED
    assert receipt.external_id
    assert channel.status(receipt).state is RemoteState.SUBMITTED

    admin(sims, platform, "adopt", receipt.external_id)
    status = channel.status(receipt)
    assert status.state is RemoteState.PUBLISHED
    assert status.url.startswith(sims.base_url(platform) + PAGE_PATHS[platform])
    assert receipt.external_id in status.url


def test_adopted_by_itself_after_the_confirm_delay(
    sims: SimulatorServer, platform: str, idempotency_key: str
) -> None:
    desk(sims, platform).faults.update({"confirm_delay_s": 0})
    channel = make(sims, platform)
    receipt = channel.publish(sample_item(), idempotency_key)
    status = channel.status(receipt)
    assert status.state is RemoteState.PUBLISHED
    assert status.url.startswith(sims.base_url(platform) + PAGE_PATHS[platform])


def test_not_adopted_is_rejected_with_the_reason(
    sims: SimulatorServer, platform: str, idempotency_key: str
) -> None:
    desk(sims, platform).faults.update(NO_AUTO_ADOPT)
    channel = make(sims, platform)
    receipt = channel.publish(sample_item(), idempotency_key)
    admin(sims, platform, "reject", receipt.external_id, reason="选题与本期重点不符")
    status = channel.status(receipt)
    assert (status.state, status.reason) == (RemoteState.REJECTED, "选题与本期重点不符")


def test_resubmission_under_one_key_is_the_same_submission(
    sims: SimulatorServer, platform: str, idempotency_key: str
) -> None:
    desk(sims, platform).faults.update(NO_AUTO_ADOPT)
    channel = make(sims, platform)
    item = sample_item()
    first = channel.publish(item, idempotency_key)
    second = channel.publish(item, idempotency_key)
    assert second.external_id == first.external_id
    assert (first.extra["duplicate"], second.extra["duplicate"]) == (False, True)
    assert desk(sims, platform).ledger.count(idempotency_key) == 1


def test_find_by_key(sims: SimulatorServer, platform: str, idempotency_key: str) -> None:
    channel = make(sims, platform)
    receipt = channel.publish(sample_item(), idempotency_key)
    found = channel.find(idempotency_key)
    assert found is not None
    assert (found.external_id, found.idempotency_key) == (receipt.external_id, idempotency_key)
    assert channel.find("never-sent") is None


def test_withdraw_before_adoption_only(
    sims: SimulatorServer, platform: str, idempotency_key: str
) -> None:
    desk(sims, platform).faults.update(NO_AUTO_ADOPT)
    channel = make(sims, platform)
    withdrawn = channel.publish(sample_item(), idempotency_key)
    assert channel.retract(withdrawn, "数据需更正").state is RemoteState.RETRACTED
    assert channel.status(withdrawn).state is RemoteState.RETRACTED

    adopted = channel.publish(sample_item(), idempotency_key + "-2")
    admin(sims, platform, "adopt", adopted.external_id)
    with pytest.raises(NotSupported):
        channel.retract(adopted, "数据需更正")


def test_unknown_submission_is_not_found(sims: SimulatorServer, platform: str) -> None:
    ghost = Receipt(platform, "key-ghost", "NO-SUCH-ID", RemoteState.SUBMITTED)
    assert make(sims, platform).status(ghost).state is RemoteState.NOT_FOUND


def test_lost_reply_is_outcome_unknown_and_found_by_key(
    sims: SimulatorServer, platform: str, idempotency_key: str
) -> None:
    desk(sims, platform).faults.update({"drop_reply_rate": 1.0})
    channel = make(sims, platform)
    with pytest.raises(OutcomeUnknown):
        channel.publish(sample_item(), idempotency_key)
    found = channel.find(idempotency_key)
    assert found is not None
    assert desk(sims, platform).ledger.count(idempotency_key) == 1


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        ("5xx", Unavailable),
        ("rate_limit", RateLimited),
        ("token_expired", CredentialsExpired),
        ("content_rejected", ContentRejected),
    ],
)
def test_fault_answers_map_to_error_classes(
    sims: SimulatorServer, platform: str, fault: str, error: type[Exception]
) -> None:
    desk(sims, platform).faults.update({"rates": {fault: 1.0}, "retry_after_s": 7})
    with pytest.raises(error) as caught:
        make(sims, platform).publish(sample_item(), "key-fault")
    if isinstance(caught.value, RateLimited):
        assert caught.value.retry_after == 7
    if isinstance(caught.value, ContentRejected):
        assert caught.value.problems
    assert desk(sims, platform).ledger.snapshot() == {}


def test_wrong_secret_is_configuration_invalid(sims: SimulatorServer, platform: str) -> None:
    channel = make(sims, platform, app_secret="not-the-secret")
    with pytest.raises(ConfigurationInvalid):
        channel.publish(sample_item(), "key-badsig")


@pytest.mark.parametrize(
    ("name", "expected"),
    [("xuexi", (200, 41004)), ("lvse_qingpu", (422, "SIGN_OFF_MISSING"))],
)
def test_platform_refuses_a_package_without_sign_off(
    sims: SimulatorServer, name: str, expected: tuple[int, Any]
) -> None:
    """The platform checks the record itself, whatever the sender validated."""
    channel = make(sims, name)
    package = build_package(sample_item(review=without_sign_off()), "key-nosign")
    settings = sims.client_settings(name)
    response = requests.post(
        channel.settings.api_root + channel.api.submit,
        headers={channel.api.key_header: "key-nosign"},
        data={"title": package.title, "columnCode": settings.get("column_code", "")},
        files={channel.api.package_field: ("p.zip", package.data, "application/zip")},
        auth=HmacAuth(settings["app_key"], SecretStr(settings["app_secret"])),
        timeout=5,
    )
    body = response.json()
    code = body["code"] if name == "xuexi" else body["error"]["code"]
    assert (response.status_code, code) == expected


LVSE_DOCUMENTED: dict[str | int, tuple[str, type[ChannelError]]] = {
    code: entry for table in (LVSE_CODES, DOCUMENTED_SMTP_REPLIES) for code, entry in table.items()
}


@pytest.mark.parametrize(
    ("documented", "channel_cls", "simulator_codes"),
    [
        (XUEXI_CODES, XuexiChannel, set(xuexi_sim.CODES.values())),
        (
            LVSE_DOCUMENTED,
            LvseQingpuChannel,
            {code for code, _ in lvse_sim.CODES.values()},
        ),
    ],
    ids=["xuexi", "lvse_qingpu"],
)
def test_every_documented_code_is_mapped(
    documented: Mapping[Any, tuple[str, type[Exception]]],
    channel_cls: type[UpwardChannel],
    simulator_codes: set[Any],
) -> None:
    assert dict(channel_cls.error_codes) == {code: kind for code, (_, kind) in documented.items()}
    assert simulator_codes <= set(documented)


# --- by mail ----------------------------------------------------------------------------------


@pytest.fixture
def mailbox(sims: SimulatorServer) -> Iterator[UpwardSimulator]:
    sim = desk(sims, "lvse_qingpu")
    sim.start_smtp()
    yield sim
    sim.stop_smtp()


def mail_channel(sims: SimulatorServer, **overrides: Any) -> UpwardChannel:
    return make(sims, "lvse_qingpu", delivery="smtp", **overrides)


def test_mail_message_has_encoded_chinese_subject_key_and_zip() -> None:
    item = sample_item()
    package = build_package(item, "key-mail")
    route = MailRoute("127.0.0.1", 25, "none", "", SecretStr(""), 5, "a@qp.test", "t@lq.test")
    raw = submission_mail(item, package, route, subject="【投稿】" + item.title).as_bytes()

    head = raw.split(b"\r\n\r\n", 1)[0]
    assert head.isascii()
    assert b"Subject: =?utf-8?" in head
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert parsed["Subject"] == "【投稿】" + item.title
    assert parsed[KEY_HEADER] == "key-mail"
    assert "key-mail" in parsed["Message-ID"]
    [zipped] = [p for p in parsed.iter_attachments() if p.get_content_type() == "application/zip"]
    assert read_package(zipped.get_content()).sha256 == package.sha256


def test_mail_submission_is_filed_under_its_key(
    sims: SimulatorServer, mailbox: UpwardSimulator, idempotency_key: str
) -> None:
    mailbox.faults.update(NO_AUTO_ADOPT)
    channel = mail_channel(sims)
    item = sample_item()

    receipt = channel.publish(item, idempotency_key)
    assert (receipt.state, receipt.extra["via"]) == (RemoteState.SUBMITTED, "smtp")
    [filed] = mailbox.by_key(idempotency_key)
    assert (filed.via, filed.subject) == ("email", "【投稿】" + item.title)
    assert "manifest.json" in filed.files

    found = channel.find(idempotency_key)
    assert found is not None and found.external_id == filed.id
    assert channel.status(receipt).state is RemoteState.SUBMITTED
    admin(sims, "lvse_qingpu", "adopt", filed.id)
    assert channel.status(receipt).state is RemoteState.PUBLISHED


def test_mail_resent_under_one_key_is_one_submission(
    sims: SimulatorServer, mailbox: UpwardSimulator, idempotency_key: str
) -> None:
    channel = mail_channel(sims)
    item = sample_item()
    channel.publish(item, idempotency_key)
    channel.publish(item, idempotency_key)
    assert mailbox.ledger.count(idempotency_key) == 1


def test_mail_server_down_is_unavailable(sims: SimulatorServer, mailbox: UpwardSimulator) -> None:
    channel = mail_channel(sims)
    mailbox.stop_smtp()
    with pytest.raises(Unavailable):
        channel.publish(sample_item(), "key-down")


@pytest.mark.parametrize(
    ("fault", "error"),
    [("5xx", Unavailable), ("rate_limit", RateLimited), ("content_rejected", ContentRejected)],
)
def test_mail_replies_map_to_error_classes(
    sims: SimulatorServer, mailbox: UpwardSimulator, fault: str, error: type[Exception]
) -> None:
    mailbox.faults.update({"rates": {fault: 1.0}})
    with pytest.raises(error):
        mail_channel(sims).publish(sample_item(), "key-mailfault")
    assert mailbox.ledger.snapshot() == {}


@pytest.mark.parametrize(
    ("knobs", "filed"),
    [
        ({"drop_reply_rate": 1.0}, True),
        ({"rates": {"reset": 1.0}}, False),
        ({"rates": {"timeout": 1.0}, "hang_s": 5.0}, None),
    ],
    ids=["dropped_reply", "reset", "timeout"],
)
def test_mail_lost_after_data_is_outcome_unknown(
    sims: SimulatorServer,
    mailbox: UpwardSimulator,
    idempotency_key: str,
    knobs: dict[str, Any],
    filed: bool | None,
) -> None:
    mailbox.faults.update(knobs)
    with pytest.raises(OutcomeUnknown):
        mail_channel(sims, smtp_timeout=1.0).publish(sample_item(), idempotency_key)
    mailbox.faults.update({"rates": {}, "drop_reply_rate": 0.0})
    if filed is not None:  # a hung handler files the mail only once it wakes up
        assert (make(sims, "lvse_qingpu").find(idempotency_key) is not None) is filed


def test_mail_to_a_wrong_address_is_configuration_invalid(
    sims: SimulatorServer, mailbox: UpwardSimulator
) -> None:
    with pytest.raises(ConfigurationInvalid):
        mail_channel(sims, mail_to="nobody@lvseqingpu.sim").publish(sample_item(), "key-addr")


def test_mailed_package_without_sign_off_is_refused(
    sims: SimulatorServer, mailbox: UpwardSimulator
) -> None:
    item = sample_item(review=without_sign_off())
    package = build_package(item, "key-nosign")
    settings = LvseQingpuSettings.model_validate(sims.client_settings("lvse_qingpu"))
    route = settings.mail_route
    message = submission_mail(item, package, route, subject="【投稿】" + item.title)
    with pytest.raises(ContentRejected) as caught:
        send_by_mail(
            message, route, channel="lvse_qingpu", reply_codes=LvseQingpuChannel.error_codes
        )
    assert caught.value.platform_code == 554


def test_mail_settings_need_both_addresses_and_hide_the_password() -> None:
    base = {"base_url": "http://127.0.0.1:9/", "app_key": "k", "app_secret": "s"}
    with pytest.raises(ValidationError):
        LvseQingpuSettings.model_validate(base | {"delivery": "smtp", "mail_from": "a@b.c"})
    settings = LvseQingpuSettings.model_validate(
        base
        | {"delivery": "smtp", "mail_from": "a@b.c", "mail_to": "t@d.e"}
        | {"smtp_password": "hunter2-mail"}
    )
    assert "hunter2-mail" not in repr(settings) + repr(settings.mail_route)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_mail_to_a_closed_port_is_unavailable(sims: SimulatorServer) -> None:
    channel = mail_channel(
        sims,
        smtp_host="127.0.0.1",
        smtp_port=_free_port(),
        smtp_security="none",
        mail_from="a@qp.test",
        mail_to="t@lq.test",
    )
    with pytest.raises(Unavailable):
        channel.publish(sample_item(), "key-closed")
