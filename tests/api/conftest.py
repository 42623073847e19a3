"""A real API server for the tests: `uvicorn orchestrator.api:api` as a subprocess on a free
loopback port, over a temporary data folder with the demo organisation. Real HTTP via httpx.

No Celery worker runs: publications stay scheduled or queued, which is all these tests need.
"""

from __future__ import annotations

import base64
import os
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from orchestrator import redis_embedded
from orchestrator.app import App
from orchestrator.demo import demo_cover, ensure_organisation, tiny_png
from orchestrator.devstack import api_argv
from orchestrator.migrate import upgrade
from orchestrator.services import org
from orchestrator.settings import Settings
from orchestrator.web import auth

REPO = Path(__file__).resolve().parents[2]
MAX_FAILURES = 3
IDLE_MINUTES = 30
# The demo organisation (orchestrator/data/demo-organisation.yaml), one person per role.
PASSWORDS = {
    "wangfang": "demo-pass-1",  # contributor
    "lijun": "demo-pass-2",  # section_head
    "zhaomin": "demo-pass-3",  # leader_in_charge
    "chenzhu": "demo-pass-4",  # principal_leader
    "sunxuan": "demo-pass-5",  # publicity_leader
    "zhouzh": "demo-pass-6",  # general_office
    "wuyun": "demo-pass-7",  # web_operations
    "zhengop": "demo-pass-8",  # operator
}
WALK = (
    ("first", "wangfang"),
    ("second", "lijun"),
    ("final", "zhaomin"),
    ("principal", "chenzhu"),
    ("usage", "zhouzh"),
    ("sign_off", "sunxuan"),
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    url: str
    data_dir: Path
    app: App
    process: subprocess.Popen[bytes]
    tokens: dict[str, str] = field(default_factory=dict)
    clients: list[httpx.Client] = field(default_factory=list)

    def client(self, **kwargs: Any) -> httpx.Client:
        """A client of /api/v1, closed when the server stops."""
        client = httpx.Client(base_url=self.url + "/api/v1", timeout=30, **kwargs)
        self.clients.append(client)
        return client

    def as_(self, username: str) -> httpx.Client:
        """A client authenticated by an API token (no CSRF needed)."""
        if username not in self.tokens:
            with self.app.db.session() as session:
                self.tokens[username], _ = auth.create_token(session, username, "tests")
        return self.client(headers={"Authorization": f"Bearer {self.tokens[username]}"})

    def signed_in(self, username: str, password: str | None = None) -> tuple[httpx.Client, str]:
        """A browser-like client with the session cookie; returns it and its CSRF token."""
        client = self.client()
        reply = client.post(
            "/session", json={"username": username, "password": password or PASSWORDS[username]}
        )
        assert reply.status_code == 200, reply.text
        return client, reply.json()["csrf_token"]

    def new_person(self, roles: tuple[str, ...] = ()) -> tuple[str, str]:
        """A person of one's own, so a test may lock or expire them without touching others."""
        username, password = f"p{uuid.uuid4().hex[:10]}", "pw-" + uuid.uuid4().hex[:12]
        spec = org.PersonSpec(
            username=username,
            name="测试人员",
            department="sjgl",
            roles=list(roles),
            password=password,
        )
        with self.app.db.session() as session:
            org.add_person(session, spec, kdf_profile="min", actor="tests")
        return username, password


def start_server(data_dir: Path, **env: str) -> Server:
    settings = Settings(data_dir=data_dir, kdf_profile="min")
    app = App(settings)
    upgrade(app.db)
    ensure_organisation(app)
    port = free_port()
    environment = {
        **os.environ,
        "SANSHEN_DATA_DIR": str(data_dir),
        "SANSHEN_KDF_PROFILE": "min",
        "SANSHEN_LOGIN_MAX_FAILURES": str(MAX_FAILURES),
        "SANSHEN_SESSION_IDLE_MINUTES": str(IDLE_MINUTES),
        **env,
    }
    process = subprocess.Popen(
        api_argv("127.0.0.1", port),
        cwd=REPO,
        env=environment,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError("the API server did not start")
        time.sleep(0.1)
    return Server(url, data_dir, app, process)


def stop_server(server: Server) -> None:
    for client in server.clients:
        client.close()
    server.process.terminate()
    try:
        server.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()
    redis_embedded.shutdown(server.data_dir)  # started by the API server process, if it was
    server.app.db.dispose()


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = start_server(tmp_path_factory.mktemp("api") / "data")
    yield running
    stop_server(running)


def today_local() -> str:
    return datetime.now(UTC).astimezone(ZoneInfo("Asia/Shanghai")).date().isoformat()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def draft_body(
    channels: tuple[str, ...] = ("gov_website", "xuexi"), **changes: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "title": "青浦区政务服务“一网通办”再添新功能",
        "body_html": "<p>近日，青浦区政务服务办公室推出“一网通办”新功能。</p>"
        '<p><img src="photo.png" alt="办事大厅"></p>',
        "images": [{"filename": "photo.png", "data_base64": b64(tiny_png())}],
        "cover": {"filename": "cover.jpg", "data_base64": b64(demo_cover())},
        "channels": [{"channel": c, "publish_date": today_local()} for c in channels],
        "digest": "“一网通办”新功能上线",
        "byline": "数据管理发展科",
        "major_event": True,
    }
    body.update(changes)
    return body


def create_submission(server: Server, **changes: Any) -> dict[str, Any]:
    reply = server.as_("wangfang").post("/submissions", json=draft_body(**changes))
    assert reply.status_code == 201, reply.text
    return dict(reply.json())


def review(server: Server, submission_id: int, stage: str, username: str) -> dict[str, Any]:
    reply = server.as_(username).post(
        f"/submissions/{submission_id}/reviews",
        json={
            "stage": stage,
            "decision": "approve",
            "comment": "同意",
            "password": PASSWORDS[username],
        },
    )
    assert reply.status_code == 201, reply.text
    return dict(reply.json())


def walk(server: Server, submission_id: int, until: str = "sign_off") -> dict[str, Any]:
    """Approve stage by stage, up to and including `until`; the last outcome."""
    last: dict[str, Any] = {}
    for stage, username in WALK:
        last = review(server, submission_id, stage, username)
        if stage == until:
            break
    return last
