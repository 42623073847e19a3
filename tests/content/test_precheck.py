"""Refused before review, not at send: every requested channel's `validate` runs on the draft
(service, CLI), each problem named with its channel and fix, nothing written; 自动修正 turns a
PNG cover into a JPEG and shrinks an oversized image, visibly, as the version reviewers see."""

from __future__ import annotations

import io
import random
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import func, select

from channels.rendering import sniff_image
from gate.model import ChannelRequest
from orchestrator import autofix
from orchestrator.app import App
from orchestrator.errors import InvalidInput
from orchestrator.models import Submission
from orchestrator.services import submissions
from tests.clock import shanghai_tomorrow
from tests.orchestrator.test_cli import as_json, sanshen


def noisy(kind: str, size: tuple[int, int], seed: int = 7) -> bytes:
    """A photo-like picture (noise compresses badly, as photos do)."""
    rng = random.Random(seed)
    picture = Image.new("RGB", size)
    picture.putdata(
        [
            (rng.randrange(256), rng.randrange(256), rng.randrange(256))
            for _ in range(size[0] * size[1])
        ]
    )
    out = io.BytesIO()
    picture.save(out, format=kind)
    return out.getvalue()


def draft(**changes: Any) -> submissions.Draft:
    base: dict[str, Any] = {
        "title": "政务服务中心延时服务",
        "body_html": "<p>正文</p>",
        "channels": [ChannelRequest("wechat", shanghai_tomorrow())],
        "cover": submissions.ImageFile("封面.png", noisy("PNG", (300, 200))),
    }
    return submissions.Draft(**(base | changes))


def create(app: App, d: submissions.Draft, fixes: list[str] | None = None) -> int:
    with app.db.session() as session:
        return submissions.create(
            session, app.blobs, author="author", department="sjgl", draft=d, fixes=fixes
        ).id


def count(app: App) -> int:
    with app.db.read() as session:
        return int(session.scalar(select(func.count()).select_from(Submission)) or 0)


def test_a_png_cover_for_wechat_is_refused_with_the_channel_and_the_fix(org_app: App) -> None:
    with pytest.raises(InvalidInput) as refused:
        create(org_app, draft())
    assert refused.value.code == "channel_problems"
    kind, size = refused.value.details
    assert kind.startswith("微信公众号：图片 封面 的格式不受支持，仅限 JPEG")
    assert size.startswith("微信公众号：图片 封面 大小") and "超过上限 64 KB" in size
    assert all(line.endswith("（可自动修正：勾选“自动修正”后重新提交）") for line in (kind, size))
    assert count(org_app) == 0


def test_autofix_makes_the_cover_a_small_jpeg_and_says_so(org_app: App) -> None:
    fixed: list[str] = []
    sub = create(org_app, draft(autofix=True), fixed)
    (what,) = fixed
    assert what.startswith("封面：由 PNG 转为 JPG")
    with org_app.db.read() as session:
        version = submissions.get(session, sub).current
        data = org_app.blobs.get(version.cover_sha256 or "")
    assert data is not None and sniff_image(data) == "jpeg" and len(data) <= 64 * 1024
    with Image.open(io.BytesIO(data)) as picture:
        width, height = picture.size
    assert width / height == pytest.approx(1.5, rel=0.02)  # shrunk, never cropped


def test_an_oversized_body_image_is_downscaled_under_every_channels_limit(org_app: App) -> None:
    big = noisy("PNG", (1400, 1000))  # noise PNG: about 4 MB
    assert len(big) > 1024 * 1024
    body = '<p>现场</p><p><img src="现场.png"></p>'
    d = draft(
        body_html=body,
        images=[submissions.ImageFile("现场.png", big)],
        cover=submissions.ImageFile("c.jpg", noisy("JPEG", (120, 80))),
        channels=[
            ChannelRequest("wechat", shanghai_tomorrow()),
            ChannelRequest("gov_website", shanghai_tomorrow()),
        ],
    )
    with pytest.raises(InvalidInput) as refused:
        create(org_app, d)
    assert any(line.startswith("微信公众号：图片 现场.png 大小") for line in refused.value.details)
    d.autofix = True
    fixed: list[str] = []
    sub = create(org_app, d, fixed)
    assert fixed and fixed[0].startswith("图片 现场.png：由 PNG 转为 JPG")
    with org_app.db.read() as session:
        version = submissions.get(session, sub).current
        (image,) = version.images
        stored = org_app.blobs.get(image.sha256)
        assert image.filename == "现场.jpg" and f"sanshen-image:{image.sha256}" in version.body_html
    assert stored is not None and len(stored) < 1024 * 1024


def test_what_no_fix_can_mend_is_left_to_the_person(org_app: App) -> None:
    long_title = "关于进一步做好区政务服务中心周六延时服务工作并优化窗口布局和办事流程的通知"
    with pytest.raises(InvalidInput) as refused:
        create(org_app, draft(title=long_title, autofix=True))
    assert refused.value.details == [
        f"微信公众号：标题 {len(long_title)} 字，超过上限 32 字（请缩短标题）"
    ]
    assert count(org_app) == 0


def test_an_animated_gif_is_not_fixed() -> None:
    frames = [Image.new("RGB", (200, 200), c) for c in ((255, 0, 0), (0, 0, 255))]
    out = io.BytesIO()
    frames[0].save(out, format="GIF", save_all=True, append_images=frames[1:])
    assert autofix.fit(out.getvalue(), ("jpeg",), 1024 * 1024) is None


def test_the_command_line_offers_and_applies_the_fix(tmp_path: Path) -> None:
    from tests.orchestrator.conftest import ORG_YAML

    (tmp_path / "org.yaml").write_text(ORG_YAML, encoding="utf-8")
    (tmp_path / "body.html").write_text("<p>正文</p>", encoding="utf-8")
    (tmp_path / "封面.png").write_bytes(noisy("PNG", (300, 200)))
    d = tmp_path / "d"
    assert sanshen(d, "init", str(tmp_path / "org.yaml")).returncode == 0
    args = [
        "submission", "create", "--author", "author", "--department", "sjgl",
        "--title", "延时服务", "--body", str(tmp_path / "body.html"),
        "--channel", f"wechat:{shanghai_tomorrow().isoformat()}",
        "--cover", str(tmp_path / "封面.png"),
    ]  # fmt: skip
    refused = sanshen(d, *args, "--json")
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert as_json(refused)["error"] == "channel_problems"
    done = sanshen(d, *args, "--autofix", "--urgent")
    assert done.returncode == 0, done.stderr
    assert "已自动修正：封面：由 PNG 转为 JPG" in done.stdout
