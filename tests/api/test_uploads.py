"""Uploads: one size limit for the API and the console's form, enforced before the body is read;
images whose bytes are not the image they claim to be are refused wherever they enter."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from orchestrator.demo import demo_cover, tiny_png
from tests.api.conftest import Server, b64, draft_body

LIMIT_MB = 20
HTML_AS_JPEG = b'<html><script>alert("x")</script></html>'
PHP_AS_JPEG = b"<?php system($_GET['c']); ?>"
JPEG_HEADER_THEN_PHP = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + PHP_AS_JPEG


@pytest.mark.parametrize(
    ("filename", "data"),
    [
        ("evil.jpg", PHP_AS_JPEG),
        ("page.jpg", HTML_AS_JPEG),
        ("shell.jpg", JPEG_HEADER_THEN_PHP),
        ("photo.jpg", tiny_png()),  # a real PNG, but not the JPEG its name says
    ],
)
def test_the_api_refuses_what_is_not_the_image_it_claims(
    server: Server, filename: str, data: bytes
) -> None:
    body = draft_body(images=[{"filename": filename, "data_base64": b64(data)}])
    body["body_html"] = f'<p>正文</p><p><img src="{filename}"></p>'
    reply = server.as_("wangfang").post("/submissions", json=body)
    assert reply.status_code == 422, reply.text
    assert reply.json()["error"] == "image_invalid"
    assert filename in reply.json()["message"]


def test_the_api_takes_real_images(server: Server) -> None:
    body = draft_body(cover={"filename": "封面.jpg", "data_base64": b64(demo_cover())})
    assert server.as_("wangfang").post("/submissions", json=body).status_code == 201


def multipart(filename: str, size: int) -> tuple[dict[str, str], bytes]:
    boundary = "sanshen-test-boundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="images"; filename="{filename}"'
        "\r\nContent-Type: image/jpeg\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    body = head + b"\0" * size + tail
    return {"content-type": f"multipart/form-data; boundary={boundary}"}, body


def test_the_console_form_has_the_apis_limit_before_the_body_is_read(server: Server) -> None:
    headers, body = multipart("big.jpg", (LIMIT_MB + 1) * 1024 * 1024)
    reply = server.as_("wangfang").post(
        server.url + "/submissions/new", content=body, headers=headers | {"accept": "text/html"}
    )
    assert reply.status_code == 413
    assert "上限为 20 MB" in reply.text and reply.headers["content-type"].startswith("text/html")


def test_a_body_without_a_length_is_cut_off_at_the_limit(server: Server) -> None:
    headers, body = multipart("big.jpg", (LIMIT_MB + 1) * 1024 * 1024)

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(body), 1024 * 1024):
            yield body[start : start + 1024 * 1024]

    for path in ("/submissions/new", "/api/v1/submissions"):
        reply = server.as_("wangfang").post(server.url + path, content=chunks(), headers=headers)
        assert reply.status_code == 413, (path, reply.text[:200])
    assert reply.json()["error"] == "body_too_large" and "20 MB" in reply.json()["message"]
